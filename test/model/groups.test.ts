// The group ledger (model/groups.ts): counters per group that include exited processes,
// only grow, count nothing twice whatever the order of polls and exit batches, keep
// impossible figures out, and let groups go after their grace period.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazyExitRecord, type ExitRecord } from '../../src/kernel/exitrecord.js';
import { CATEGORIES } from '../../src/kernel/layout.js';
import type { DelayacctState } from '../../src/model/delayacct.js';
import {
  GroupLedger,
  groupRows,
  LEDGER_FIELDS,
  OTHER_GROUP,
  UNKNOWN_GROUP,
  type LedgerOptions,
  type PollTask,
} from '../../src/model/groups.js';
import { counters } from '../fakes/dashboard-sources.js';
import { decodedRecord } from '../fakes/records.js';

const IO = CATEGORIES.findIndex((c) => c.key === 'IO');
const CPU = CATEGORIES.findIndex((c) => c.key === 'CPU');
const SYS: DelayacctState = { on: true, onSinceSec: 0 };
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SEC = 1e9;

/** A process's figures: IO and CPU delay (ns), their waits, its run time and life. */
interface Figures {
  io?: number;
  ioWaits?: number;
  cpu?: number;
  cpuWaits?: number;
  run?: number;
  etimeUs?: number;
}

const tgidRecord = (f: Figures) =>
  decodedRecord({
    blkio_delay_total: f.io ?? 0,
    // (a wait per ms unless said: a total that grows without a wait counted is suspect)
    blkio_count: f.ioWaits ?? Math.ceil((f.io ?? 0) / 1e6),
    cpu_delay_total: f.cpu ?? 0,
    cpu_count: f.cpuWaits ?? Math.ceil((f.cpu ?? 0) / 1e6),
    cpu_run_virtual_total: f.run ?? 1e6,
    ac_etime: f.etimeUs ?? 100e6,
  });

function exitOf(p: {
  pid: number;
  tgid?: number;
  ppid?: number;
  receivedMs: number;
  lifeUs?: number;
  f: Figures;
  /** a multi-threaded process's last thread: the TGID record carries the process */
  tgidF?: Figures;
  ended?: boolean;
  comm?: string;
}): ExitRecord {
  const lifeUs = p.lifeUs ?? 500e3;
  return {
    cpu: 0,
    seq: 1,
    receivedMs: p.receivedMs,
    pid: p.pid,
    tgid: p.tgid ?? p.pid,
    ppid: p.ppid ?? 1,
    uid: 0,
    gid: 0,
    comm: p.comm ?? 'job',
    exitCode: 0,
    signal: null,
    coreDumped: false,
    processEnded: p.ended ?? true,
    lifeUs,
    stats: tgidRecord({ etimeUs: lifeUs, ...p.f }),
    ...(p.tgidF ? { tgidStats: tgidRecord({ etimeUs: 0, ...p.tgidF }) } : {}),
  };
}

/** A ledger driven as the exporter drives it: polls at T0 + i seconds. */
function harness(opts: LedgerOptions = {}) {
  const ledger = new GroupLedger({ exitFeed: true, ...opts });
  let i = 0;
  const groupOf = new Map<number, string>();
  return {
    ledger,
    /** list, then (between listing and folding) `during`, then fold the answers */
    poll(
      tasks: { tgid: number; f: Figures; group?: string }[],
      during?: () => void,
      listed = tasks.map((t) => t.tgid),
    ) {
      const listedMs = T0 + i * 1000;
      ledger.beginPoll(listedMs, listed);
      during?.();
      const polled: PollTask[] = tasks.map((t) => ({
        tgid: t.tgid,
        stats: tgidRecord(t.f),
        ...(ledger.groupDue(t.tgid) ? { group: t.group ?? groupOf.get(t.tgid) ?? 'g' } : {}),
      }));
      ledger.foldPoll({ listedMs, wallMs: listedMs + 5, atNs: (i + 1) * SEC, tasks: polled, delayacct: SYS });
      i++;
    },
    exits(records: ExitRecord[], lost = 0, group: (r: ExitRecord) => string | null = () => 'g') {
      ledger.foldExits({ records, counters: [counters(0, records.length, lost)] }, SYS, group);
    },
    nowMs: () => T0 + i * 1000,
    setGroup: (tgid: number, g: string) => groupOf.set(tgid, g),
  };
}

const counter = (ledger: GroupLedger, group: string, cat = IO) =>
  [...ledger.groups()].find((g) => g.key === group)?.delayNs[cat];
const waits = (ledger: GroupLedger, group: string, cat = IO) =>
  [...ledger.groups()].find((g) => g.key === group)?.waits[cat];

test('a process there at the first poll counts from its first reading; later growth counts', () => {
  const h = harness();
  h.poll([{ tgid: 10, f: { io: 50 * 1e6, ioWaits: 5, run: 1e9 } }]);
  assert.equal(counter(h.ledger, 'g'), 0, 'what it waited before delaytop is the baseline');
  h.poll([{ tgid: 10, f: { io: 80 * 1e6, ioWaits: 8, run: 2e9 } }]);
  assert.equal(counter(h.ledger, 'g'), 30e6);
  assert.equal(waits(h.ledger, 'g'), 3);
  assert.equal([...h.ledger.groups()][0]!.tasks, 1);
});

test('a process that ends moves from the live part to the exited part: the counter keeps growing to its final totals, once', () => {
  const h = harness();
  h.poll([{ tgid: 10, f: { io: 0, run: 1e9 } }]);
  h.poll([{ tgid: 10, f: { io: 10e6, run: 2e9 } }]);
  const seen: number[] = [counter(h.ledger, 'g')!];
  h.exits([exitOf({ pid: 10, receivedMs: h.nowMs(), lifeUs: 3e6, f: { io: 25e6, run: 2.5e9 } })]);
  seen.push(counter(h.ledger, 'g')!);
  // its zombie still listed: the kernel answers zeros for a process whose one thread has exited
  h.poll([{ tgid: 10, f: { io: 0, run: 0, etimeUs: 0 } }]);
  seen.push(counter(h.ledger, 'g')!);
  h.poll([]);
  seen.push(counter(h.ledger, 'g')!);
  assert.deepEqual(seen, [10e6, 25e6, 25e6, 25e6]);
  assert.equal([...h.ledger.groups()][0]!.processExits, 1);
  assert.equal([...h.ledger.groups()][0]!.tasks, 0);
});

test('an exit folded while a poll is in flight is not counted again by that poll, whichever answer it holds', () => {
  for (const answer of ['before the exit', 'the zombie', 'the multi-threaded zombie'] as const) {
    const h = harness();
    h.poll([{ tgid: 10, f: { io: 0, run: 1e9 } }]);
    const final = { io: 40e6, run: 3e9 };
    const f =
      answer === 'before the exit' ? { io: 30e6, run: 2e9 } : answer === 'the zombie' ? { run: 0, etimeUs: 0 } : final;
    h.poll([{ tgid: 10, f }], () =>
      h.exits([
        exitOf({
          pid: 10,
          receivedMs: h.nowMs() + 1,
          lifeUs: 5e6,
          f: final,
          ...(answer === 'the multi-threaded zombie' ? { tgidF: final } : {}),
        }),
      ]),
    );
    assert.equal(counter(h.ledger, 'g'), 40e6, answer);
    // still listed at the next poll, as a zombie: zeros, or signal->stats if it had threads
    h.poll([{ tgid: 10, f: answer === 'the multi-threaded zombie' ? final : { run: 0, etimeUs: 0 } }]);
    assert.equal(counter(h.ledger, 'g'), 40e6, `${answer}, next poll`);
  }
});

test('a new process polled, then its exit arriving after the poll: its life counts once', () => {
  const h = harness();
  h.poll([]);
  h.poll([{ tgid: 20, f: { io: 7e6, run: 1e8, etimeUs: 500e3 } }]);
  assert.equal(counter(h.ledger, 'g'), 7e6, 'started after the first listing: whole life');
  h.exits([exitOf({ pid: 20, receivedMs: h.nowMs(), lifeUs: 900e3, f: { io: 9e6, run: 2e8 } })]);
  assert.equal(counter(h.ledger, 'g'), 9e6);
});

test('a process the poll never saw counts its whole life if it started after the first listing, nothing if before', () => {
  const h = harness();
  h.poll([]);
  h.exits([
    exitOf({ pid: 30, receivedMs: h.nowMs() + 100, lifeUs: 500e3, f: { io: 3e6, ioWaits: 2 } }),
    // started 10 s before delaytop's first listing and never read: before the baseline
    exitOf({ pid: 31, receivedMs: h.nowMs() + 100, lifeUs: 12e6, f: { io: 5e6, ioWaits: 1 } }),
  ]);
  assert.equal(counter(h.ledger, 'g'), 3e6);
  assert.equal(waits(h.ledger, 'g'), 2);
  assert.equal([...h.ledger.groups()][0]!.processExits, 1);
});

test('thread exits of a live process are not counted on their own: its TGID reading holds them', () => {
  const h = harness();
  h.poll([{ tgid: 40, f: { io: 0, run: 1e9 } }]);
  h.exits([exitOf({ pid: 41, tgid: 40, ended: false, receivedMs: h.nowMs(), f: { io: 5e6 } })]);
  assert.equal(counter(h.ledger, 'g'), 0);
  h.poll([{ tgid: 40, f: { io: 5e6, run: 2e9 } }]);
  assert.equal(counter(h.ledger, 'g'), 5e6);
});

test("an impossible wait is kept out and counted as suspect: an exit's IO wait longer than its life", () => {
  const h = harness();
  h.poll([]);
  // a dd of 0.2 s whose blkio wait was timed from a stamp never set: ~an hour
  h.exits([exitOf({ pid: 50, receivedMs: h.nowMs() + 10, lifeUs: 200e3, f: { io: 3760 * SEC, cpu: 1e6, run: 1e8 } })]);
  assert.equal(counter(h.ledger, 'g'), 0);
  assert.equal(counter(h.ledger, 'g', CPU), 1e6, 'its other categories count');
  assert.equal(h.ledger.suspects[IO], 1);
});

test("an impossible growth between two polls is kept out, and the process's later growth counts", () => {
  const h = harness();
  h.poll([{ tgid: 60, f: { io: 0, run: 1e9, etimeUs: 5e6 } }]);
  // 1 h of IO waits ended in a process whose threads have lived 6 s: impossible
  h.poll([{ tgid: 60, f: { io: 3600 * SEC, run: 2e9, etimeUs: 6e6 } }]);
  assert.equal(counter(h.ledger, 'g'), 0);
  assert.equal(h.ledger.suspects[IO], 1);
  h.poll([{ tgid: 60, f: { io: 3600 * SEC + 2e6, run: 3e9, etimeUs: 7e6 } }]);
  assert.equal(counter(h.ledger, 'g'), 2e6);
});

test('a counter never goes back: a TGID reading that drops (an exiting thread counted twice) is absorbed', () => {
  const h = harness();
  h.poll([{ tgid: 70, f: { io: 0, run: 1e9 } }]);
  const seen: number[] = [];
  for (const io of [10e6, 14e6, 11e6, 13e6, 20e6]) {
    h.poll([{ tgid: 70, f: { io, run: 2e9 + seen.length } }]);
    seen.push(counter(h.ledger, 'g')!);
  }
  assert.deepEqual(seen, [10e6, 14e6, 14e6, 14e6, 20e6]);
});

test('a pid reused by a new process (its run time went back) restarts from zero, without a negative step', () => {
  const h = harness();
  h.poll([{ tgid: 80, f: { io: 50e6, run: 9e9 } }]);
  h.poll([{ tgid: 80, f: { io: 60e6, run: 10e9 } }]); // +10 ms
  h.poll([{ tgid: 80, f: { io: 3e6, run: 1e8, etimeUs: 300e3 } }]); // another process now
  assert.equal(counter(h.ledger, 'g'), 13e6);
});

test('a process that changes group leaves what it accrued in the old one', () => {
  const h = harness();
  h.setGroup(90, 'a');
  h.poll([{ tgid: 90, f: { io: 0, run: 1e9 } }]);
  h.poll([{ tgid: 90, f: { io: 4e6, run: 2e9 } }]);
  h.setGroup(90, 'b');
  h.poll([{ tgid: 90, f: { io: 6e6, run: 3e9 } }]); // still young: its group is read each poll
  assert.equal(counter(h.ledger, 'a'), 4e6);
  assert.equal(counter(h.ledger, 'b'), 2e6);
});

test("a short-lived child whose parent ended too joins the parent's group when the parent's record comes", () => {
  const h = harness();
  h.poll([]);
  const t = h.nowMs() + 10;
  const byRecord = (r: ExitRecord) => (r.pid === 101 ? 'parents-group' : null);
  h.exits([exitOf({ pid: 102, ppid: 101, receivedMs: t, f: { io: 1e6 } })], 0, byRecord);
  assert.equal(h.ledger.size().pending, 1);
  h.exits([exitOf({ pid: 101, ppid: 1, receivedMs: t + 5, f: { io: 2e6, run: 2e6 } })], 0, byRecord);
  assert.equal(counter(h.ledger, 'parents-group'), 3e6);
  assert.equal(h.ledger.size().pending, 0);
  // a parent whose record never comes: the child is counted, as (unknown), after a while
  h.exits([exitOf({ pid: 103, ppid: 999, receivedMs: h.nowMs(), f: { io: 4e6 } })], 0, () => null);
  h.poll([]);
  h.poll([]);
  h.poll([]);
  assert.equal(counter(h.ledger, UNKNOWN_GROUP), 4e6);
});

test('a group with no process stays with its last values for the grace period, then goes', () => {
  const h = harness({ graceMs: 2500 });
  h.setGroup(110, 'short');
  h.setGroup(111, 'long');
  h.poll([
    { tgid: 110, f: { io: 0, run: 1e9 } },
    { tgid: 111, f: { io: 0, run: 1e9 } },
  ]);
  h.poll([
    { tgid: 110, f: { io: 5e6, run: 2e9 } },
    { tgid: 111, f: { io: 0, run: 2e9 } },
  ]);
  h.exits([exitOf({ pid: 110, receivedMs: h.nowMs(), lifeUs: 5e6, f: { io: 6e6, run: 3e9 } })]);
  const keys = () => [...h.ledger.groups()].map((g) => g.key).sort();
  h.poll([{ tgid: 111, f: { io: 0, run: 3e9 } }]);
  h.poll([{ tgid: 111, f: { io: 0, run: 4e9 } }]);
  assert.deepEqual(keys(), ['long', 'short']);
  assert.equal(counter(h.ledger, 'short'), 6e6, 'its last values are still there');
  for (let i = 0; i < 2; i++) h.poll([{ tgid: 111, f: { io: 0, run: 5e9 + i } }]);
  assert.deepEqual(keys(), ['long']);
  assert.equal(h.ledger.droppedGroups, 1);
});

test('groups are capped: the rest share (other)', () => {
  const h = harness({ maxGroups: 2 });
  h.poll([]);
  for (const [pid, g] of [
    [1, 'a'],
    [2, 'b'],
    [3, 'c'],
    [4, 'd'],
  ] as const)
    h.exits([exitOf({ pid, receivedMs: h.nowMs() + 1, f: { io: 1e6 } })], 0, () => g);
  assert.deepEqual([...h.ledger.groups()].map((g) => g.key).sort(), ['(other)', 'a', 'b'].sort());
  assert.equal(counter(h.ledger, OTHER_GROUP), 2e6);
});

test('memory stays bounded by groups and live processes: a storm of never-polled exits leaves nothing behind', () => {
  const h = harness();
  h.poll([{ tgid: 5, f: { io: 0, run: 1e9 } }]);
  for (let b = 0; b < 100; b++) {
    const recs: ExitRecord[] = [];
    for (let k = 0; k < 1000; k++)
      recs.push(exitOf({ pid: 1000 + b * 1000 + k, ppid: 5, receivedMs: h.nowMs() + 1, f: { io: 1000 } }));
    h.exits(recs);
  }
  h.poll([{ tgid: 5, f: { io: 0, run: 2e9 } }]);
  assert.equal(counter(h.ledger, 'g'), 100_000 * 1000);
  assert.deepEqual(h.ledger.size(), { groups: 1, tracked: 1, ended: 0, pending: 0 });
});

test('top(): the processes whose counted delay grew most over the last interval, per category', () => {
  const h = harness({ topN: 1 });
  h.poll([
    { tgid: 1, f: { io: 0, run: 1e9 } },
    { tgid: 2, f: { io: 0, run: 1e9 } },
  ]);
  h.poll([
    { tgid: 1, f: { io: 100e6, run: 2e9 } },
    { tgid: 2, f: { io: 500e6, run: 2e9 } },
  ]);
  assert.deepEqual(h.ledger.top(), [{ tgid: 2, group: 'g', category: 'IO', ratio: 0.5 }]);
});

test('groupRows: a group view row sums the interval, the delays of processes that ended in it included', () => {
  const h = harness();
  h.poll([{ tgid: 1, f: { io: 0, run: 1e9 } }]);
  const a = h.ledger.snapshot(1 * SEC);
  h.exits([exitOf({ pid: 2, receivedMs: h.nowMs() + 1, lifeUs: 300e3, f: { io: 200e6, ioWaits: 4 } })]);
  h.poll([{ tgid: 1, f: { io: 300e6, ioWaits: 2, run: 2e9 } }]);
  const rows = groupRows(a, h.ledger.snapshot(2 * SEC));
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.percent[IO], 50);
  assert.equal(rows[0]!.avgDelayNs[IO], 500e6 / 6);
  assert.equal(rows[0]!.exited, 1);
  assert.equal(rows[0]!.tasks, 1);
});

test('an exit record as the listener hands it over (its bytes) is read partially, with the same verdicts', () => {
  const bytes = new Uint8Array(560);
  const dv = new DataView(bytes.buffer);
  dv.setUint16(0, 16, true);
  const u64 = (off: number, v: number) => {
    dv.setUint32(off, v % 2 ** 32, true);
    dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
  };
  bytes[8] = 0x20; // ac_flag AGROUP: the process ended
  u64(144, 200_000); // ac_etime: 0.2 s
  u64(16, 3); // cpu_count
  u64(24, 2e6); // cpu_delay_total: 2 ms
  u64(32, 1); // blkio_count
  u64(40, 3217.8e9); // blkio_delay_total: one wait of the uptime
  u64(72, 1e8); // cpu_run_virtual_total
  bytes.set(new TextEncoder().encode('dd'), 80);
  const h = harness();
  h.poll([]);
  const r = lazyExitRecord({ cpu: 0, seq: 1, receivedMs: h.nowMs() + 300, pid: 4242, tgid: 4242 }, bytes);
  const part = r.partialStats!(LEDGER_FIELDS);
  assert.equal(part.stats.raw.ac_comm, undefined, 'only the fields asked for');
  assert.equal(part.stats.raw.blkio_delay_total, 3217.8e9);
  h.exits([r]);
  assert.equal(counter(h.ledger, 'g', CPU), 2e6);
  assert.equal(counter(h.ledger, 'g'), 0);
  assert.equal(h.ledger.suspects[IO], 1);
});
