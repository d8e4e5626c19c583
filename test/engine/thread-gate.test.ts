// Thread mode with the TGID gate (model/thread-gate.ts): a refresh asks every process's
// TGID record, then lists and asks the threads of only those where something moved;
// the other threads' rows are carried, and their figures stay exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Target } from '../../src/sources/types.js';
import { DashboardController } from '../../src/engine/refresh.js';
import { FakeStatsSource, fakeOptions, S, type FakeTask } from '../fakes/dashboard-sources.js';

const cpu = { CPU: { count: 10, totalNs: 1e6 } };
const tasks = (): FakeTask[] => [
  { id: 100, tgid: 100, comm: 'alpha', btime: 1_700_000_000, delays: { ...cpu } },
  { id: 101, tgid: 100, comm: 'alpha-io', btime: 1_700_000_000, delays: { ...cpu } },
  { id: 200, tgid: 200, comm: 'bravo', btime: 1_700_000_001, delays: { ...cpu } },
  { id: 201, tgid: 200, comm: 'bravo-1', btime: 1_700_000_001, delays: { ...cpu } },
  { id: 202, tgid: 200, comm: 'bravo-2', btime: 1_700_000_001, delays: { ...cpu } },
];

const asked = (q: readonly Target[]) => q.map((t) => `${t.kind}:${t.id}`);

async function threadMode(stats: FakeStatsSource, carry = true) {
  const c = new DashboardController(fakeOptions(stats, null, { mode: 'thread', carryStillThreads: carry }));
  await c.refresh();
  return c;
}

test('thread mode asks threads only of processes whose TGID record moved, and carries the others exactly', async () => {
  const stats = new FakeStatsSource(tasks());
  const c = await threadMode(stats);
  assert.deepEqual(stats.queries.map(asked), [
    ['tgid:100', 'tgid:200'],
    ['pid:100', 'pid:101', 'pid:200', 'pid:201', 'pid:202'],
  ]);
  const first = c.getSnapshot().rows;

  await c.refresh(); // nothing moved: no thread is listed or asked
  assert.deepEqual(stats.queries.slice(2).map(asked), [['tgid:100', 'tgid:200'], []]);
  const still = c.getSnapshot().rows;
  assert.deepEqual(
    still.map((r) => [r.id, r.comm, r.lifetime, r.percent.IO]),
    [
      [100, 'alpha', false, 0],
      [101, 'alpha-io', false, 0],
      [200, 'bravo', false, 0],
      [201, 'bravo-1', false, 0],
      [202, 'bravo-2', false, 0],
    ],
  );
  assert.notEqual(still[0], first[0], 'the first rows were lifetime ones');

  // 201 waits 0.6 s on IO (its run count grows with it, as the kernel's does)
  stats.wait(201, 'IO', 1, 0.6e9);
  stats.wait(201, 'CPU', 1, 0);
  const gateBefore = stats.nowNs - S; // the last refresh's TGID query: what the carried figures are as of
  await c.refresh();
  const [gate, threads] = stats.queries.slice(4).map(asked);
  assert.deepEqual(gate, ['tgid:100', 'tgid:200']);
  assert.deepEqual(threads, ['pid:200', 'pid:201', 'pid:202'], "only bravo's threads are asked");
  assert.deepEqual(stats.listed.at(-1), { mode: 'thread', of: [200] }, "only bravo's threads are listed");
  const rows = c.getSnapshot().rows;
  const io = rows.find((r) => r.id === 201)!.percent.IO!;
  // over the span from the carried sample (the last TGID query) to this thread query
  assert.ok(Math.abs(io - (0.6e9 / (stats.nowNs - gateBefore)) * 100) < 1e-9, `IO ${io}`);
  assert.equal(rows.find((r) => r.id === 200)!.percent.IO, 0);
  assert.equal(rows[0], still[0], "alpha's carried rows are the same objects");
  assert.equal(rows[1], still[1]);

  await c.refresh(); // bravo is still again: 201 shows 0 over this interval, not the old figure
  assert.deepEqual(stats.queries.at(-1), []);
  assert.equal(c.getSnapshot().rows.find((r) => r.id === 201)!.percent.IO, 0);
  c.stop();
});

test('a thread that starts or ends is seen: its process moved', async () => {
  const stats = new FakeStatsSource(tasks());
  const c = await threadMode(stats);
  await c.refresh();
  // a thread starts in alpha (alpha's main thread ran to make it)
  stats.add({ id: 102, tgid: 100, comm: 'alpha-new', btime: 1_700_000_100, startNs: stats.nowNs, delays: {} });
  stats.wait(100, 'CPU', 1, 0);
  await c.refresh();
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 101, 102, 200, 201, 202],
  );
  assert.equal(c.getSnapshot().rows.find((r) => r.id === 102)!.lifetime, true);
  // bravo-2 ends (it ran to end: its run count grew, and left the live threads' sum)
  stats.tasks.delete(202);
  await c.refresh();
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 101, 102, 200, 201],
  );
  assert.deepEqual(
    stats.queries.at(-1)!.map((t) => t.id),
    [200, 201],
  );
  c.stop();
});

test('a thread whose query failed between the listing and the query is asked again next time', async () => {
  const stats = new FakeStatsSource(tasks());
  const query = stats.query.bind(stats);
  stats.query = async (targets) => {
    const b = await query(targets);
    // 202 is gone from the first thread query only
    if (stats.queries.length === 2)
      b.results = b.results.map((r) => (r.target.id === 202 ? { target: r.target, status: 'gone' } : r));
    return b;
  };
  const c = await threadMode(stats);
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 101, 200, 201],
  );
  await c.refresh();
  assert.deepEqual(asked(stats.queries.at(-1)!), ['pid:200', 'pid:201', 'pid:202'], 'bravo was not seen whole');
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 101, 200, 201, 202],
  );
  c.stop();
});

test('a pinned thread of a still process is asked every refresh, with its whole record', async () => {
  const stats = new FakeStatsSource(tasks());
  const c = new DashboardController(
    fakeOptions(stats, null, { mode: 'thread', carryStillThreads: true, pinned: [{ kind: 'pid', id: 201 }] }),
  );
  await c.refresh();
  await c.refresh();
  assert.deepEqual(asked(stats.queries.at(-1)!), ['pid:201']);
  const rows = c.getSnapshot().rows;
  assert.deepEqual(
    rows.map((r) => r.id),
    [100, 101, 200, 201, 202],
  );
  assert.equal(c.getSnapshot().pinned[0]!.delays?.lifetime, false);
  c.stop();
});

test('the same figures with and without the gate, refresh after refresh', async () => {
  const run = async (carry: boolean) => {
    const stats = new FakeStatsSource(tasks());
    if (carry) {
      // the fake clock moves a second per query: here the TGID query takes it, and the
      // thread query after it none, so that both runs sample at the same times
      const query = stats.query.bind(stats);
      stats.query = (targets) => {
        if (!targets.every((t) => t.kind === 'tgid') || targets.length === 0) stats.nowNs -= S;
        return query(targets);
      };
    }
    const c = await threadMode(stats, carry);
    const out: unknown[] = [];
    const steps = [
      () => {},
      () => stats.wait(101, 'IO', 2, 0.25e9),
      () => {},
      () => (stats.wait(202, 'CPU', 3, 0.1e9), stats.wait(100, 'SWAP', 1, 0.2e9)),
      () => {},
    ];
    for (const step of steps) {
      step();
      await c.refresh();
      out.push(c.getSnapshot().rows.map((r) => [r.id, r.comm, r.lifetime, r.cpuUse, { ...r.percent }]));
    }
    c.stop();
    return out;
  };
  const [withGate, without] = [await run(true), await run(false)];
  assert.deepEqual(withGate, without);
});

test('carried rows follow a change of delay accounting: switched off, their delay columns turn n/a', async () => {
  const stats = new FakeStatsSource(tasks());
  let on = true;
  const c = new DashboardController(
    fakeOptions(stats, null, {
      mode: 'thread',
      carryStillThreads: true,
      delayacct: () => ({ on, onSinceSec: 0 }),
    }),
  );
  await c.refresh();
  await c.refresh(); // carried
  await c.refresh(); // carried again: the same rows
  const carried = c.getSnapshot().rows;
  assert.deepEqual(stats.queries.at(-1), [], 'no thread was asked');
  assert.deepEqual(
    carried.map((r) => [r.id, r.percent.CPU, r.percent.IO]),
    [100, 101, 200, 201, 202].map((id) => [id, 0, 0]),
  );
  on = false;
  await c.refresh();
  assert.deepEqual(stats.queries.at(-1), [], 'still carried');
  const off = c.getSnapshot().rows;
  assert.deepEqual(
    off.map((r) => [r.id, r.percent.CPU, r.percent.IO, r.percent.SWAP]),
    [100, 101, 200, 201, 202].map((id) => [id, 0, null, null]),
    'only CPU delay is recorded with delay accounting off',
  );
  c.stop();
});
