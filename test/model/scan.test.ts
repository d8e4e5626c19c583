// The process table's model: one batch per refresh, rows from it, pid reuse, sort and filter.
import { taskRow } from '../fakes/rows.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computeScan,
  IDENTITY_RECHECK_REFRESHES,
  identityDue,
  QUIET_RECHECK_REFRESHES,
  matchesFilter,
  scanTargets,
  viewRows,
  type ExitsSince,
  type PrevScan,
  type TaskRow,
} from '../../src/model/scan.js';
import type { Sample } from '../../src/model/delays.js';
import type { DelayacctState } from '../../src/model/delayacct.js';
import { targetKey, type Target } from '../../src/sources/types.js';
import { FakeStatsSource, record, S, sampleTasks } from '../fakes/dashboard-sources.js';
import type { Taskstats } from '../../src/kernel/decode.js';
import type { Identity } from '../../src/model/scan.js';

const ON = { on: true, onSinceSec: 0 };

test('process mode queries every process as pid (identity) and tgid (the sum), once each', () => {
  const t = scanTargets(
    'process',
    [
      { id: 1, tgid: 1 },
      { id: 7, tgid: 7 },
    ],
    [
      { kind: 'tgid', id: 7 },
      { kind: 'pid', id: 8 },
    ],
  );
  assert.deepEqual(t, [
    { kind: 'pid', id: 1 },
    { kind: 'tgid', id: 1 },
    { kind: 'pid', id: 7 },
    { kind: 'tgid', id: 7 },
    { kind: 'pid', id: 8 },
  ]);
  assert.deepEqual(
    scanTargets('thread', [
      { id: 7, tgid: 7 },
      { id: 8, tgid: 7 },
    ]),
    [
      { kind: 'pid', id: 7 },
      { kind: 'pid', id: 8 },
    ],
  );
});

test('rows: process rows show the tgid sum with the main thread comm; second refresh gives interval figures', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  const b1 = await src.query(scanTargets('process', tasks));
  const s1 = computeScan('process', tasks, b1, { samples: new Map() }, ON);
  assert.deepEqual(
    s1.rows.map((r) => [r.id, r.comm, r.target.kind]),
    [
      [100, 'alpha', 'tgid'],
      [200, 'bravo', 'tgid'],
      [300, 'charlie', 'tgid'],
    ],
  );
  assert.ok(
    s1.rows.every((r) => r.lifetime),
    'first sample: lifetime figures',
  );
  assert.equal(s1.taskstatsVersion, 16);
  src.wait(200, 'CPU', 5, 0.2 * S);
  src.wait(201, 'CPU', 5, 0.3 * S);
  const b2 = await src.query(scanTargets('process', tasks));
  const s2 = computeScan('process', tasks, b2, s1, ON);
  const bravo = s2.rows.find((r) => r.id === 200)!;
  assert.equal(bravo.lifetime, false);
  assert.ok(Math.abs(bravo.percent.CPU! - 50) < 1e-9, `both threads summed over 1 s: ${bravo.percent.CPU}`);
  assert.equal(s2.rows.find((r) => r.id === 100)!.percent.CPU, 0);
});

test('a row that shows what it showed at the last refresh is that row; one whose figures moved is new, and its deltas stay exact', async () => {
  for (const mode of ['process', 'thread'] as const) {
    const src = new FakeStatsSource(sampleTasks());
    const tasks = src.list(mode);
    const scan = async (prev: PrevScan) =>
      computeScan(mode, tasks, await src.query(scanTargets(mode, tasks)), prev, ON);
    const byId = (s: { rows: TaskRow[] }, id: number) => s.rows.find((r) => r.id === id)!;
    const s1 = await scan({ samples: new Map() });
    const s2 = await scan(s1);
    assert.notEqual(byId(s2, 100), byId(s1, 100), `${mode}: a lifetime row, then an interval row`);
    src.wait(200, 'CPU', 5, 0.2 * S);
    const s3 = await scan(s2);
    assert.equal(byId(s3, 100), byId(s2, 100), `${mode}: nothing moved: the same row`);
    assert.equal(byId(s3, 300), byId(s2, 300), `${mode}: nothing moved: the same row`);
    assert.notEqual(byId(s3, 200), byId(s2, 200), `${mode}: bravo waited`);
    assert.ok(Math.abs(byId(s3, 200).percent.CPU! - 20) < 1e-9, `${mode}: ${byId(s3, 200).percent.CPU}`);
    const s4 = await scan(s3);
    assert.notEqual(byId(s4, 200), byId(s3, 200), `${mode}: bravo's figure fell to 0: a new row`);
    assert.equal(byId(s4, 200).percent.CPU, 0);
    const s5 = await scan(s4);
    assert.equal(byId(s5, 200), byId(s4, 200), `${mode}: still again: the same row`);
    assert.equal(
      byId(s5, 100),
      byId(s2, 100),
      `${mode}: still for three refreshes: still the row of the first interval`,
    );
    // The samples of the still refreshes kept their first record: the next interval's
    // figures are still over one second, not over the refreshes since the record was taken.
    src.wait(100, 'CPU', 1, 0.25 * S);
    const s6 = await scan(s5);
    assert.ok(Math.abs(byId(s6, 100).percent.CPU! - 25) < 1e-9, `${mode}: ${byId(s6, 100).percent.CPU}`);
    assert.equal(byId(s6, 100).lifetime, false);
  }
});

test("a still row's columns follow delay accounting switched off and on again, though its record is kept", async () => {
  for (const mode of ['process', 'thread'] as const) {
    const src = new FakeStatsSource(sampleTasks());
    const tasks = src.list(mode);
    // identities kept after the first refresh (process mode): the same identity record is
    // weighed under each setting
    const scan = async (prev: PrevScan, sys: DelayacctState) =>
      computeScan(mode, tasks, await src.query(scanTargets(mode, tasks, [], () => !prev.identities)), prev, sys);
    const io = (s: { rows: TaskRow[] }) => s.rows.find((r) => r.id === 100)!.percent.IO;
    const s1 = await scan({ samples: new Map() }, ON);
    const s2 = await scan(s1, ON);
    assert.equal(io(s2), 0, `${mode}: still, recorded: 0`);
    const s3 = await scan(s2, { on: false, onSinceSec: null });
    assert.equal(io(s3), null, `${mode}: accounting off now: n/a`);
    const s4 = await scan(s3, ON);
    assert.equal(io(s4), 0, `${mode}: on again (booted with it): 0`);
  }
});

test('a reused pid starts over as a lifetime sample instead of a bogus delta', async () => {
  const src = new FakeStatsSource([
    { id: 5, tgid: 5, comm: 'old', btime: 1000, delays: { CPU: { count: 100, totalNs: 50 * S } } },
  ]);
  const tasks = src.list('thread');
  const s1 = computeScan('thread', tasks, await src.query(scanTargets('thread', tasks)), { samples: new Map() }, ON);
  src.tasks.set(5, {
    id: 5,
    tgid: 5,
    comm: 'new',
    btime: 2000,
    startNs: src.nowNs + 0.5 * S,
    delays: { CPU: { count: 1, totalNs: 1e6 } },
  });
  const s2 = computeScan('thread', tasks, await src.query(scanTargets('thread', tasks)), s1, ON);
  assert.equal(s2.rows[0]!.lifetime, true);
  assert.equal(s2.rows[0]!.comm, 'new');
  assert.ok(s2.rows[0]!.percent.CPU! >= 0, 'no negative delta');
});

test('after a switch between processes and threads, rows start as lifetime samples, not deltas against the other kind', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const procs = src.list('process');
  const s1 = computeScan('process', procs, await src.query(scanTargets('process', procs)), { samples: new Map() }, ON);
  const threads = src.list('thread');
  const s2 = computeScan('thread', threads, await src.query(scanTargets('thread', threads)), s1, ON);
  assert.ok(s2.rows.length > 0);
  for (const r of s2.rows) assert.equal(r.lifetime, true, `thread ${r.id} has no thread sample before it`);
  const s3 = computeScan('process', procs, await src.query(scanTargets('process', procs)), s2, ON);
  for (const r of s3.rows) assert.equal(r.lifetime, true, `process ${r.id} has no process sample before it`);
});

test('a pinned process and its threads keep their history across a switch between processes and threads', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const pinned: Target[] = [
    { kind: 'tgid', id: 200 },
    { kind: 'pid', id: 200 },
    { kind: 'pid', id: 201 },
  ];
  const procs = src.list('process');
  const threads = src.list('thread');
  const s1 = computeScan(
    'process',
    procs,
    await src.query(scanTargets('process', procs, pinned)),
    { samples: new Map() },
    ON,
    pinned,
  );
  const s2 = computeScan('thread', threads, await src.query(scanTargets('thread', threads, pinned)), s1, ON, pinned);
  const s3 = computeScan('process', procs, await src.query(scanTargets('process', procs, pinned)), s2, ON, pinned);
  for (const [n, s] of [
    [2, s2],
    [3, s3],
  ] as const) {
    for (const t of pinned)
      assert.equal(
        s.delays.get(targetKey(t))?.lifetime,
        false,
        `scan ${n}: ${targetKey(t)} is an interval, not a lifetime`,
      );
  }
  assert.equal(s2.rows.find((r) => r.id === 201)?.lifetime, false, "the pinned thread's row too");
});

const VOUCHED: ExitsSince = { exited: new Set(), lost: false };

test('identityDue: a known process is asked again on evidence only, or in its recheck round', () => {
  const known: Pick<Identity, 'bornNs' | 'ppid' | 'quietFrom'> = { bornNs: 900 * S, ppid: 1, quietFrom: undefined }; // started 100 s before
  const now = 1001 * S;
  assert.equal(identityDue(7, undefined, VOUCHED, 1, now), true, 'never asked');
  assert.equal(identityDue(7, known, null, 1, now), true, 'no exit feed to vouch');
  assert.equal(identityDue(7, known, { exited: new Set(), lost: true }, 1, now), true, 'the feed lost exits');
  assert.equal(identityDue(7, known, { exited: new Set([7]), lost: false }, 1, now), true, 'it exited');
  assert.equal(identityDue(7, { ...known, bornNs: 998 * S }, VOUCHED, 1, now), true, 'young: exec may follow');
  const rounds = (k: typeof known, row?: Taskstats, ended?: ReadonlyMap<number, unknown>) =>
    Array.from({ length: 2 * QUIET_RECHECK_REFRESHES }, (_, r) =>
      identityDue(7, k, VOUCHED, r, now, row, ended),
    ).filter(Boolean).length;
  const n = 2 * QUIET_RECHECK_REFRESHES;
  assert.equal(rounds(known), n / IDENTITY_RECHECK_REFRESHES, 'one refresh in IDENTITY_RECHECK_REFRESHES');
  const kept = record({ cpu_count: 5 });
  const quiet = { ...known, quietFrom: kept };
  assert.equal(rounds(quiet, kept), 2, 'nothing ran since it was asked: one refresh in QUIET_RECHECK_REFRESHES');
  assert.equal(rounds(quiet, record({ cpu_count: 5 })), n / IDENTITY_RECHECK_REFRESHES, 'its row has another record');
  assert.equal(rounds(quiet), n / IDENTITY_RECHECK_REFRESHES, 'no row');
  assert.equal(rounds(quiet, kept, new Map([[1, 'live']])), n, 'its parent ended: asked every refresh');
  assert.equal(rounds(quiet, kept, new Map([[2, 'live']])), 2, "another process's end");
});

test('an identity asked again keeps the TGID record of the refresh before, where that was the same process', async () => {
  const src = new FakeStatsSource([
    { id: 5, tgid: 5, comm: 'five', btime: 1000, delays: {} },
    { id: 6, tgid: 6, comm: 'six', btime: 1000, delays: {} },
  ]);
  const tasks = src.list('process');
  const s1 = computeScan('process', tasks, await src.query(scanTargets('process', tasks)), { samples: new Map() }, ON);
  assert.equal(s1.identities.get(5)!.quietFrom, undefined, 'no refresh before');
  // 6 ends and its id goes to a process that started after the first refresh
  src.tasks.set(6, { id: 6, tgid: 6, comm: 'new', btime: 1001, startNs: src.nowNs + 0.5 * S, delays: {} });
  const s2 = computeScan('process', tasks, await src.query(scanTargets('process', tasks)), s1, ON);
  const row = (s: typeof s1, id: number) => s.rowSamples!.byId.get(id)!.stats;
  assert.equal(s2.identities.get(5)!.quietFrom, row(s1, 5));
  assert.equal(s2.identities.get(6)!.comm, 'new');
  assert.equal(s2.identities.get(6)!.quietFrom, undefined, 'another process had the id');
  const s3 = computeScan('process', tasks, await src.query(scanTargets('process', tasks, [], () => false)), s2, ON);
  assert.equal(row(s3, 5), s2.identities.get(5)!.quietFrom, 'a still row keeps that record');
  src.wait(5, 'CPU', 1, 1e6);
  const s4 = computeScan('process', tasks, await src.query(scanTargets('process', tasks, [], () => false)), s3, ON);
  assert.notEqual(row(s4, 5), s2.identities.get(5)!.quietFrom, 'a row that moved does not');
});

test('process rows keep a known identity: comm and interval figures without the main thread asked', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  const s1 = computeScan('process', tasks, await src.query(scanTargets('process', tasks)), { samples: new Map() }, ON);
  const targets = scanTargets('process', tasks, [], (id) =>
    identityDue(id, s1.identities.get(id), VOUCHED, 1, s1.atNs),
  );
  assert.deepEqual(targets, [
    { kind: 'tgid', id: 100 },
    { kind: 'tgid', id: 200 },
    { kind: 'tgid', id: 300 },
  ]);
  src.wait(200, 'CPU', 5, 0.5 * S);
  const s2 = computeScan('process', tasks, await src.query(targets), s1, ON);
  assert.deepEqual(
    s2.rows.map((r) => [r.id, r.comm, r.lifetime]),
    [
      [100, 'alpha', false],
      [200, 'bravo', false],
      [300, 'charlie', false],
    ],
  );
  assert.ok(Math.abs(s2.rows[1]!.percent.CPU! - 50) < 1e-9);
  assert.equal(s2.identities.get(200), s1.identities.get(200), 'kept as it was');
});

test('a kept identity is dropped when every live thread is younger than the interval (an exit not delivered yet)', async () => {
  const src = new FakeStatsSource([
    { id: 5, tgid: 5, comm: 'old', btime: 1000, delays: { CPU: { count: 100, totalNs: 50 * S } } },
  ]);
  const tasks = src.list('process');
  const s1 = computeScan('process', tasks, await src.query(scanTargets('process', tasks)), { samples: new Map() }, ON);
  // the id is reused: the next query (one second later) finds a process 0.3 s old
  src.tasks.set(5, {
    id: 5,
    tgid: 5,
    comm: 'new',
    btime: 2000,
    startNs: src.nowNs + 0.7 * S,
    delays: { CPU: { count: 1, totalNs: 1e6 } },
  });
  const s2 = computeScan('process', tasks, await src.query(scanTargets('process', tasks, [], () => false)), s1, ON);
  assert.deepEqual(s2.rows, [], 'no row under the old name');
  assert.equal(s2.identities.has(5), false);
  const due = (id: number) => identityDue(id, s2.identities.get(id), VOUCHED, 2, s2.atNs);
  const s3 = computeScan('process', tasks, await src.query(scanTargets('process', tasks, [], due)), s2, ON);
  assert.deepEqual(
    s3.rows.map((r) => [r.comm, r.lifetime]),
    [['new', true]],
  );
});

test('IO and SWAP are n/a (null) when delay accounting is off; CPU stays', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  const s = computeScan(
    'process',
    tasks,
    await src.query(scanTargets('process', tasks)),
    { samples: new Map<string, Sample>() },
    { on: false, onSinceSec: null },
  );
  for (const r of s.rows) {
    assert.equal(r.percent.IO, null);
    assert.equal(r.percent.SWAP, null);
    assert.notEqual(r.percent.CPU, null);
  }
});

test("a task gone between listing and query has no row; a pinned one's status says gone", async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  src.tasks.delete(300);
  const pinned: Target[] = [{ kind: 'tgid', id: 300 }];
  const s = computeScan(
    'process',
    tasks,
    await src.query(scanTargets('process', tasks, pinned)),
    { samples: new Map() },
    ON,
    pinned,
  );
  assert.deepEqual(
    s.rows.map((r) => r.id),
    [100, 200],
  );
  assert.equal(s.status.get('tgid:300'), 'gone');
  assert.equal(s.status.get('tgid:100'), undefined, 'status is kept for pinned tasks only');
});

const row = (id: number, cpu: number | null, io: number | null, comm = `c${id}`): TaskRow => {
  const r = taskRow(id, { comm });
  return { ...r, percent: { ...r.percent, CPU: cpu, IO: io } };
};

test('ac_btime64 flipping by a second between queries (as the kernel does) is not pid reuse', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  let prev: PrevScan = { samples: new Map<string, Sample>() };
  for (let i = 0; i < 4; i++) {
    const s = computeScan('process', tasks, await src.query(scanTargets('process', tasks)), prev, ON);
    if (i > 0) for (const r of s.rows) assert.equal(r.lifetime, false, `refresh ${i}: ${r.key} kept its deltas`);
    prev = s;
  }
});

test('sort by a delay column: n/a always last, ties by pid; filter by name or pid prefix', () => {
  const rows = [row(3, 1, null), row(1, 5, 2), row(2, 5, 9, 'bash'), row(4, null, 1)];
  assert.deepEqual(
    viewRows(rows, 'CPU', true, '').map((r) => r.id),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    viewRows(rows, 'CPU', false, '').map((r) => r.id),
    [3, 1, 2, 4],
  );
  assert.deepEqual(
    viewRows(rows, 'IO', true, '').map((r) => r.id),
    [2, 1, 4, 3],
  );
  assert.deepEqual(
    viewRows(rows, 'PID', false, '').map((r) => r.id),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    viewRows(rows, 'COMMAND', false, '').map((r) => r.comm),
    ['bash', 'c1', 'c3', 'c4'],
  );
  assert.deepEqual(
    viewRows(rows, 'CPU', true, 'BA').map((r) => r.id),
    [2],
  );
  assert.ok(matchesFilter(row(1234, 0, 0, 'x'), '12'));
  assert.ok(!matchesFilter(row(1234, 0, 0, 'x'), '34'), 'a pid matches by prefix only');
});

test('a still row kept from the last scan (sameStillRow) is the row the scan would have made, step by step', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const tasks = src.list('process');
  const OFF = { on: false, onSinceSec: null };
  const never = () => false;
  const steps: { due?: (id: number) => boolean; sys?: DelayacctState; change?: () => void }[] = [
    {}, // every identity asked
    { due: never }, // identities kept: still rows made
    { due: never }, // ... and kept
    { due: never, change: () => src.wait(200, 'IO', 1, 0.2 * S) }, // 200 moves
    { due: never },
    {}, // identities asked again: their rows are made again
    { due: never, sys: OFF }, // delay accounting switched off
    { due: never, sys: OFF },
    { due: never, sys: ON },
    {
      // 300 ends and its id names a new process (asked: the feed would have reported it)
      due: (id) => id === 300,
      change: () =>
        src.tasks.set(300, { id: 300, tgid: 300, comm: 'new', btime: 2000, startNs: src.nowNs, delays: {} }),
    },
    { due: never },
    { due: never },
  ];
  let fast: PrevScan = { samples: new Map() };
  let slow: PrevScan = { samples: new Map() };
  let kept = 0;
  for (const [i, step] of steps.entries()) {
    step.change?.();
    const batch = await src.query(scanTargets('process', tasks, [], step.due));
    const sys = step.sys ?? ON;
    const f = computeScan('process', tasks, batch, fast, sys);
    // the same scan with nothing to keep: every row made from the records
    const s = computeScan('process', tasks, batch, { ...slow, shown: undefined }, sys);
    assert.deepEqual(f.rows, s.rows, `step ${i + 1}`);
    assert.equal(f.rows.length, 3, `step ${i + 1}`);
    for (const r of f.rows) if (f.shown.get(r.id) === fast.shown?.get(r.id)) kept++;
    fast = f;
    slow = s;
  }
  assert.ok(kept >= 10, `rows were kept (${kept})`);
});
