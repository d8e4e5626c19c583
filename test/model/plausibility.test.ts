// The plausibility rules, one by one, and the legitimate large figures they must leave alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodedRecord } from '../fakes/records.js';
import { computeDelays, type Sample } from '../../src/model/delays.js';
import { computeScan, viewRows, type TaskRow } from '../../src/model/scan.js';
import { checkContext, intervalSuspects, judge, threadSuspects } from '../../src/model/plausibility.js';
import type { DelayacctState } from '../../src/model/delayacct.js';
import { exitText, exitJson } from '../../src/output/listen.js';
import { fmtCount, fmtNs, fmtPercent } from '../../src/output/format.js';
import { lazyExitRecord } from '../../src/kernel/exitrecord.js';

const S = 1e9;
const US = 1e3;
const rec = (f: Record<string, number | string>) => decodedRecord({ ac_pid: 7, ac_comm: 'dd', ...f });
const tgidRec = (f: Record<string, number>) => decodedRecord(f); // no ac_pid, no comm: as the kernel sends it
const ON: DelayacctState = { on: true, onSinceSec: null, seen: { firstMs: 0, firstOn: true, changes: [] } };

test('a thread: a total or one wait longer than its life is flagged, with the figures in words', () => {
  // the 0 stamp: a wait as long as the uptime in a 0.3-s life
  const s = threadSuspects(
    rec({
      ac_etime: (0.3 * S) / US,
      blkio_count: 40,
      blkio_delay_total: 3214.6 * S + 0.1 * S,
      blkio_delay_max: 3214.6 * S,
    }),
  );
  assert.match(s?.IO ?? '', /IO wait totals 3215 s in a thread that lived 300 ms/);
  // the total fits its life but one wait does not (impossible: the max is one of the waits)
  const m = threadSuspects(
    rec({
      ac_etime: (10 * S) / US,
      blkio_count: 2,
      blkio_delay_total: 9 * S,
      blkio_delay_max: 12 * S,
      cpu_run_real_total: 0,
    }),
  );
  assert.match(m?.IO ?? '', /one IO wait of 12.0 s in a thread that lived 10.0 s/);
  // a non-CPU total with no wait counted; a max longer than all waits together
  assert.match(
    threadSuspects(rec({ ac_etime: (100 * S) / US, swapin_count: 0, swapin_delay_total: 5e6 }))?.SWAP ?? '',
    /no wait counted/,
  );
  assert.match(
    threadSuspects(rec({ ac_etime: (100 * S) / US, swapin_count: 3, swapin_delay_total: 5e7, swapin_delay_max: 9e7 }))
      ?.SWAP ?? '',
    /longer than all of them together/,
  );
  // blocked on IO, waiting for a CPU and running are one state at a time
  const both = threadSuspects(
    rec({
      ac_etime: (6 * S) / US,
      blkio_count: 9000,
      blkio_delay_total: 5.5 * S,
      blkio_delay_max: 0.02 * S,
      cpu_count: 9000,
      cpu_delay_total: 2 * S,
      cpu_run_virtual_total: 1 * S,
      cpu_run_real_total: 0,
    }),
  );
  assert.match(both?.IO ?? '', /exceed the thread's life of 6.00 s/);
  assert.equal(both?.CPU, undefined, "the scheduler's own CPU figures are not blamed");
});

test('legitimate large figures stay unflagged', () => {
  // a thread blocked almost its whole life, with the clocks' small disagreement
  assert.equal(
    threadSuspects(
      rec({ ac_etime: (100 * S) / US, blkio_count: 1, blkio_delay_total: 100.05 * S, blkio_delay_max: 100.05 * S }),
    ),
    null,
  );
  // a busy thread: IO + CPU wait + run just under its life
  assert.equal(
    threadSuspects(
      rec({
        ac_etime: (10 * S) / US,
        blkio_count: 50000,
        blkio_delay_total: 6 * S,
        cpu_count: 50000,
        cpu_delay_total: 2 * S,
        cpu_run_virtual_total: 1.9 * S,
        cpu_run_real_total: 2.5 * S,
      }),
    ),
    null,
    'the tick-sampled run time is not used',
  );
  // one 3.5-s CPU wait credited whole in the 1-s interval where it ends (350% of one thread)
  const prev = rec({ ac_etime: (600 * S) / US, cpu_count: 100, cpu_delay_total: 1 * S });
  const cur = rec({ ac_etime: (601 * S) / US, cpu_count: 101, cpu_delay_total: 4.5 * S, cpu_delay_max: 3.5 * S });
  const d = computeDelays({ stats: prev, atNs: 10 * S }, { stats: cur, atNs: 11 * S }, { check: { kind: 'pid' } });
  assert.equal(Math.round(d.categories[0]!.delayPercent!), 350);
  assert.equal(d.suspect, null);
  assert.equal(d.totalsSuspect, null);
  // a process of 10,000 threads each waiting the whole second: 1,000,000%
  const tp = tgidRec({ ac_etime: (10000 * 300 * S) / US, blkio_count: 0, blkio_delay_total: 0 });
  const tc = tgidRec({ ac_etime: (10000 * 301 * S) / US, blkio_count: 10000, blkio_delay_total: 10000 * S });
  const pd = computeDelays(
    { stats: tp, atNs: 0 },
    { stats: tc, atNs: S },
    { check: { kind: 'tgid', exitedLivesNs: 0 } },
  );
  assert.equal(Math.round(pd.categories[1]!.delayPercent!), 1_000_000);
  assert.equal(pd.suspect, null);
});

test('an interval: growth beyond what the task could have waited is flagged', () => {
  // a thread 2 s old whose IO total jumped by the uptime in the last second
  const prev = rec({ ac_etime: (1 * S) / US, blkio_count: 10, blkio_delay_total: 0.5 * S });
  const cur = rec({ ac_etime: (2 * S) / US, blkio_count: 11, blkio_delay_total: 0.5 * S + 3000 * S });
  const j = judge(prev, cur, { kind: 'pid' });
  assert.match(j.span?.IO ?? '', /ended in this interval in a thread that has lived 2.00 s/);
  // a process: its live threads' lives plus those that exited in the interval bound it
  const tp = tgidRec({ ac_etime: (2 * S) / US, blkio_count: 5, blkio_delay_total: 1 * S });
  const tc = tgidRec({ ac_etime: (3 * S) / US, blkio_count: 6, blkio_delay_total: 1 * S + 40 * S });
  assert.match(
    intervalSuspects(tp, tc, { boundNs: 3 * S, what: 'process', switchOffNs: null })?.IO ?? '',
    /more than its threads have lived/,
  );
  // ... unless the exit feed saw threads of it end that had lived that long
  assert.equal(judge(tp, tc, { kind: 'tgid', exitedLivesNs: 50 * S }).span, null);
  // ... and with no exit feed to say, a process's bound is not known: nothing is claimed
  assert.equal(judge(tp, tc, { kind: 'tgid', exitedLivesNs: null }).span, null);
  // a non-CPU total that grew with no new wait counted
  const np = rec({ ac_etime: (100 * S) / US, thrashing_count: 2, thrashing_delay_total: 1e6 });
  const nc = rec({ ac_etime: (101 * S) / US, thrashing_count: 2, thrashing_delay_total: 5e6 });
  assert.match(judge(np, nc, { kind: 'pid' }).span?.THRASHING ?? '', /no new wait counted/);
});

test('a switch-on of delay accounting flags the non-CPU categories that grew across it', () => {
  const sys: DelayacctState = {
    on: true,
    onSinceSec: 1_700_000_004,
    seen: {
      firstMs: 1_700_000_000_000,
      firstOn: true,
      changes: [
        { fromMs: 1_700_000_000_500, toMs: 1_700_000_001_000, on: false },
        { fromMs: 1_700_000_003_900, toMs: 1_700_000_004_000, on: true },
      ],
    },
  };
  const prev = rec({
    ac_etime: (10 * S) / US,
    cpu_count: 5,
    cpu_delay_total: 1e6,
    blkio_count: 5,
    blkio_delay_total: 1e6,
    swapin_count: 1,
    swapin_delay_total: 1e3,
  });
  const cur = rec({
    ac_etime: (11 * S) / US,
    cpu_count: 9,
    cpu_delay_total: 2e6,
    blkio_count: 6,
    blkio_delay_total: 4.1 * S,
    blkio_delay_max: 4.09 * S,
    swapin_count: 1,
    swapin_delay_total: 1e3,
    swapin_delay_max: 1e3,
  });
  const j = judge(prev, cur, { kind: 'pid', delayacct: sys, fromMs: 1_700_000_003_500, toMs: 1_700_000_004_500 });
  assert.match(j.span?.IO ?? '', /switched on in this interval/);
  assert.equal(j.span?.CPU, undefined, 'CPU is recorded whether or not it is on');
  assert.equal(j.span?.SWAP, undefined, 'SWAP did not grow');
  // the next interval is clean, but the totals since start still hold the stale wait
  const later = judge(cur, cur, {
    kind: 'pid',
    delayacct: sys,
    startMs: 1_699_999_990_000,
    fromMs: 1_700_000_004_500,
    toMs: 1_700_000_005_500,
  });
  assert.equal(later.span && later.span.IO && /interval/.test(later.span.IO) ? 'flagged' : null, null);
  assert.match(later.totals?.IO ?? '', /switched on during this task's life/);
  // delaytop saw it off for 2.9 s: a wait timed from a stale stamp lasts at least that, so a
  // task whose longest wait is shorter, or an interval that grew by less, holds none
  const short = rec({ ac_etime: (11 * S) / US, blkio_count: 60, blkio_delay_total: 5 * S, blkio_delay_max: 0.2 * S });
  assert.equal(
    judge(undefined, short, { kind: 'pid', delayacct: sys, startMs: 1_699_999_990_000, toMs: 1_700_000_005_500 })
      .totals,
    null,
  );
  const grewLittle = rec({
    ac_etime: (11 * S) / US,
    cpu_count: 9,
    cpu_delay_total: 2e6,
    blkio_count: 7,
    blkio_delay_total: 1e6 + 0.5 * S,
    blkio_delay_max: 0.4 * S,
  });
  assert.equal(
    judge(prev, grewLittle, { kind: 'pid', delayacct: sys, fromMs: 1_700_000_003_500, toMs: 1_700_000_004_500 }).span,
    null,
  );
  // a task that started after the switch-on, or a switch-on after the sample, is not affected
  assert.equal(
    judge(undefined, cur, { kind: 'pid', delayacct: sys, startMs: 1_700_000_004_100, toMs: 1_700_000_009_000 }).totals,
    null,
  );
  assert.equal(
    judge(undefined, cur, { kind: 'pid', delayacct: sys, startMs: 1_699_999_000_000, toMs: 1_700_000_003_000 }).totals,
    null,
  );
});

test('the process table: a flagged cell is marked and never tops a sort; a process inherits its main thread', () => {
  const sys: DelayacctState = ON;
  const mk = (id: number, etimeS: number, io: number): [Record<string, number | string>, Record<string, number>] => [
    {
      ac_pid: id,
      ac_comm: `p${id}`,
      ac_etime: (etimeS * S) / US,
      ac_btime64: 1_700_000_000,
      blkio_count: 3,
      blkio_delay_total: io,
      blkio_delay_max: io / 2,
    },
    { ac_etime: (etimeS * S) / US, blkio_count: 3, blkio_delay_total: io },
  ];
  const tasks = [
    { id: 10, tgid: 10 },
    { id: 11, tgid: 11 },
  ];
  const [p10, t10] = mk(10, 0.3, 3000 * S); // the stale stamp: uptime in a 0.3-s life
  const [p11, t11] = mk(11, 100, 20 * S); // plausible: 20% of its life
  const batch = {
    atNs: 500 * S,
    wallMs: 1_800_000_000_000,
    results: [
      { target: { kind: 'pid' as const, id: 10 }, status: 'ok' as const, stats: decodedRecord(p10) },
      { target: { kind: 'tgid' as const, id: 10 }, status: 'ok' as const, stats: decodedRecord(t10) },
      { target: { kind: 'pid' as const, id: 11 }, status: 'ok' as const, stats: decodedRecord(p11) },
      { target: { kind: 'tgid' as const, id: 11 }, status: 'ok' as const, stats: decodedRecord(t11) },
    ],
  };
  const scan = computeScan('process', tasks, batch, { samples: new Map() }, sys, [], {
    wallMs: 1_800_000_000_000,
    exitedLivesNs: null,
  });
  const row = (id: number) => scan.rows.find((r) => r.id === id)!;
  assert.ok(row(10).percent.IO! > 1e5, 'the kernel figure is kept');
  assert.match(row(10).suspect?.IO ?? '', /in a thread that lived 300 ms/);
  assert.equal(row(11).suspect, null);
  assert.equal(scan.flagged, 1);
  const order = (desc: boolean) => viewRows(scan.rows, 'IO', desc, '').map((r: TaskRow) => r.id);
  assert.deepEqual(order(true), [11, 10], 'descending: the flagged figure sinks');
  assert.deepEqual(order(false), [11, 10], 'ascending: it still comes after every plausible one');
});

test('exit records: -l text and JSON carry the mark, the reason and the suspect map; the largest plausible category is named', () => {
  const bytes = new Uint8Array(560);
  const dv = new DataView(bytes.buffer);
  dv.setUint16(0, 16, true);
  const u64 = (off: number, v: number) => {
    dv.setUint32(off, v % 2 ** 32, true);
    dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
  };
  u64(144, 571_400); // ac_etime µs: 0.5714 s
  u64(16, 3);
  u64(24, 2e6); // cpu 2 ms
  u64(32, 1);
  u64(40, 3217.8e9);
  u64(448, 3217.8e9); // blkio: one wait of the uptime
  bytes.set(new TextEncoder().encode('dd'), 80);
  const r = lazyExitRecord({ cpu: 1, seq: 5, receivedMs: Date.UTC(2026, 0, 1), pid: 4242, tgid: 4242 }, bytes);
  const text = exitText(r);
  assert.match(text, /waited-most CPU 2\.00ms !IO: IO wait totals 3218 s in a thread that lived 571 ms/);
  const j = JSON.parse(exitJson(r));
  assert.match(j.suspect.IO, /thread that lived 571 ms/);
  assert.equal(j.stats.blkio_delay_total, 3217.8e9, 'the raw kernel value stays as sent');
});

test('numbers never lose digits to their column: 0 to 2^64-1 ns, percentages up to 10^9', () => {
  const ns = [0, 1, 999, 1234, 99_999, 1.5e6, 1.2e9, 9.99e9, 3217.8e9, 274_784e9, 2 ** 53, 2 ** 64 - 1];
  const pct = [0, 0.004, 9.999, 99.99, 999.4, 999.6, 1234, 99_999, 358_849, 6_255_679, 5_833_889, 1e8, 1e9];
  for (const w of [5, 6, 7, 8, 10]) {
    for (const v of ns) {
      const s = fmtNs(v, w);
      assert.ok(s.length <= w, `fmtNs(${v}, ${w}) = ${s}`);
      assert.ok(/^[0-9.]+(ns|us|ms|s|m|h|d|y|[kMGTPE]y)$/.test(s), `${s} keeps a unit`);
    }
    for (const v of pct) {
      const s = fmtPercent(v, w);
      assert.ok(s.length <= w, `fmtPercent(${v}, ${w}) = ${s}`);
      // the magnitude survives: read back within 5%
      const back = Number(s.replace(/[kMG]$/, '')) * ({ k: 1e3, M: 1e6, G: 1e9 }[s.at(-1)!] ?? 1);
      assert.ok(v < 0.01 || Math.abs(back - v) / v < 0.05, `fmtPercent(${v}, ${w}) = ${s} reads back as ${back}`);
    }
    assert.ok(fmtCount(2 ** 64 - 1, w).length <= w);
  }
  assert.equal(fmtPercent(6_255_679, 6), '6.26M', 'the 625567 of before');
  assert.equal(fmtPercent(358_849, 6), '358849', 'exact where it fits');
  assert.equal(fmtNs(2 ** 64 - 1, 8), '584.5y');
});

test('a process first sample sums its threads over its wall age, as later samples do', () => {
  // two threads alive for 10 s each, 5 s of IO between them: 50% of the process's wall time
  const first = tgidRec({ ac_etime: (20 * S) / US, blkio_count: 2, blkio_delay_total: 5 * S });
  const byEtime = computeDelays(undefined, { stats: first, atNs: 0 });
  assert.equal(
    Math.round(byEtime.categories[1]!.delayPercent!),
    25,
    'the TGID ac_etime sums thread lives: a per-thread average',
  );
  const byAge = computeDelays(undefined, { stats: first, atNs: 0 }, { wallAgeNs: 10 * S });
  assert.equal(
    Math.round(byAge.categories[1]!.delayPercent!),
    50,
    'over the wall age: the same kind of figure as an interval',
  );
  void ({} as Sample);
});

test('a record built from /proc (IO in clock ticks, no counts) is judged by what it has: no count rule fires', () => {
  const proc = decodedRecord({
    ac_etime: (100 * S) / US,
    cpu_count: 50,
    cpu_delay_total: 1e9,
    cpu_run_virtual_total: 2e9,
    blkio_delay_total: 3e8,
  });
  delete proc.raw.blkio_count;
  delete proc.raw.swapin_count;
  delete proc.raw.cpu_run_real_total;
  proc.raw.cpu_run_virtual_total = 95 * S; // run time from schedstat: IO (ticks) + CPU wait + run could pass a life only by the ticks' rounding
  assert.equal(threadSuspects(proc), null);
  const later = decodedRecord({
    ac_etime: (101 * S) / US,
    cpu_count: 60,
    cpu_delay_total: 1.1e9,
    cpu_run_virtual_total: 2.1e9,
    blkio_delay_total: 4e8,
  });
  delete later.raw.blkio_count;
  assert.equal(intervalSuspects(proc, later, { boundNs: 101 * S, what: 'thread', switchOffNs: null }), null);
});

test('delay accounting readings: past MAX_CHANGES the first reading moves forward, so nothing before the kept changes is guessed', async () => {
  const { withChange, MAX_CHANGES } = await import('../../src/sources/system.js');
  const { delayacctAt } = await import('../../src/model/delayacct.js');
  let seen = {
    firstMs: 0,
    firstOn: true as boolean | undefined,
    changes: [] as { fromMs: number; toMs: number; on: boolean }[],
  };
  // toggles every 10 s: off at 10, on at 20, off at 30, ...
  for (let i = 1; i <= MAX_CHANGES + 5; i++)
    seen = withChange(seen, { fromMs: i * 10_000 - 100, toMs: i * 10_000, on: i % 2 === 0 });
  assert.equal(seen.changes.length, MAX_CHANGES);
  const sys = { on: true, onSinceSec: null, seen };
  const firstKept = seen.changes[0]!;
  assert.equal(
    seen.firstMs,
    firstKept.fromMs - 10_000 + 100,
    'the first reading is the dropped change that preceded the kept ones',
  );
  assert.equal(
    delayacctAt(sys, firstKept.fromMs - 1000),
    firstKept.on ? 'off' : 'on',
    'the state before the first kept change follows from it',
  );
  assert.equal(
    delayacctAt(sys, 1000),
    seen.firstOn ? 'on' : 'unknown',
    'before the first kept reading: as for any task older than delaytop',
  );
});

test('every check context has one shape: each field there from the start, in one order', () => {
  const sys = { onSinceSec: 0 } as unknown as DelayacctState;
  const a = Object.keys(checkContext('pid', sys, undefined, undefined, 1000));
  const b = Object.keys(checkContext('tgid', sys, 5e9, 500, 1000));
  assert.deepEqual(a, b);
  assert.deepEqual(a, [
    'kind',
    'delayacct',
    'startMs',
    'fromMs',
    'toMs',
    'exitedLivesNs',
    'inherited',
    'inheritedSpan',
  ]);
  assert.equal(checkContext('tgid', sys, 5e9, 500, 1000).startMs, 1000 - 5000);
});
