// Pinned tasks: figures per refresh, the largest thread max for a process, exits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeScan, scanTargets, type PrevScan } from '../../src/model/scan.js';
import { FeedStore } from '../../src/model/exit-feed/store.js';
import { markExits, pinEntry, updateWatch, watchTargets, HISTORY_LEN } from '../../src/model/watch.js';
import { counters, exitRecord, FakeStatsSource, S, sampleTasks } from '../fakes/dashboard-sources.js';

const ON = { on: true, onSinceSec: 0 };

async function refresh(
  src: FakeStatsSource,
  pinned: ReturnType<typeof pinEntry>[],
  prev: PrevScan = { samples: new Map() },
) {
  const tasks = src.list('process');
  const threadsOf = (tgid: number) =>
    src
      .list('thread')
      .filter((t) => t.tgid === tgid)
      .map((t) => t.id);
  const extra = watchTargets(pinned, threadsOf);
  const scan = computeScan('process', tasks, await src.query(scanTargets('process', tasks, extra)), prev, ON, extra);
  return { scan, threadsOf };
}

test('a pinned process: the table per refresh, thread count, max over its threads, history', async () => {
  const src = new FakeStatsSource(sampleTasks());
  let pinned = [pinEntry({ kind: 'tgid', id: 200 })];
  let r = await refresh(src, pinned);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, () => undefined);
  src.wait(200, 'CPU', 1, 0.1 * S, 7e6);
  src.wait(201, 'CPU', 1, 0.1 * S, 9e6);
  r = await refresh(src, pinned, r.scan);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, () => undefined);
  const e = pinned[0]!;
  assert.equal(e.comm, 'bravo');
  assert.equal(e.threads, 2);
  assert.equal(e.threadMaxNs?.CPU, 9e6, 'the largest thread max, not the TGID record (last thread visited)');
  const cpu = e.delays!.categories.find((c) => c.key === 'CPU')!;
  assert.ok(Math.abs(cpu.delayPercent! - 20) < 1e-9);
  assert.equal(e.history.CPU.length, 2);
  assert.ok(Math.abs(e.history.CPU[1]! - 20) < 1e-9);
  for (let i = 0; i < HISTORY_LEN + 5; i++) {
    r = await refresh(src, pinned, r.scan);
    pinned = updateWatch(pinned, r.scan, r.threadsOf, () => undefined);
  }
  assert.equal(pinned[0]!.history.CPU.length, HISTORY_LEN);
});

test('a pinned task that ends stays, marked exited with the status from the exit feed', async () => {
  const src = new FakeStatsSource(sampleTasks());
  const feed = new FeedStore([0, 1]);
  let pinned = [pinEntry({ kind: 'tgid', id: 300 }), pinEntry({ kind: 'pid', id: 100 })];
  let r = await refresh(src, pinned);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, (t) => feed.exitOf(t));
  // pid 100 ends: its record arrives before the next refresh
  const rec = exitRecord({ pid: 100, comm: 'alpha', exitCode: 3 });
  feed.fold({ records: [rec], counters: [counters(0, 1)] });
  pinned = [...markExits(pinned, [rec])];
  assert.deepEqual(pinned[1]!.exited?.status?.exitCode, 3);
  // 300 ends with no record seen yet: gone, status unknown... until its record arrives
  src.tasks.delete(100);
  src.tasks.delete(300);
  r = await refresh(src, pinned, r.scan);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, (t) => feed.exitOf(t));
  assert.equal(pinned.length, 2, 'exited tasks stay pinned');
  assert.deepEqual(pinned[0]!.exited, { status: null });
  const late = exitRecord({ pid: 300, comm: 'charlie', signal: 9 });
  pinned = [...markExits(pinned, [late])];
  // through a local: tsc keeps pinned[0]!.exited narrowed by the deepEqual above across the assignment
  const charlie = pinned[0]!;
  assert.equal(charlie.exited?.status?.signal, 9);
  assert.deepEqual(
    watchTargets(pinned, () => []),
    [],
    'exited tasks are no longer queried (their id may be reused)',
  );
});

test('a thread exit does not end a pinned process; the last thread (AGROUP) does', () => {
  const pinned = [pinEntry({ kind: 'tgid', id: 200 })];
  assert.equal(markExits(pinned, [exitRecord({ pid: 201, tgid: 200, comm: 'w', processEnded: false })]), pinned);
  assert.ok(markExits(pinned, [exitRecord({ pid: 200, tgid: 200, comm: 'bravo', processEnded: true })])[0]!.exited);
});

test('feed store: newest first, per-CPU rates per refresh, losses in the totals', () => {
  const feed = new FeedStore([0, 1], 3);
  feed.sample(0);
  feed.fold({
    records: [1, 2, 3, 4].map((pid) => exitRecord({ pid, comm: `p${pid}`, cpu: pid % 2 })),
    counters: [counters(0, 2), counters(1, 2, 5)],
  });
  feed.sample(2000);
  const s = feed.snapshot();
  assert.deepEqual(
    s.entries.slice(0, s.entries.size).map((e) => e.pid),
    [4, 3, 2],
    'ring keeps the newest',
  );
  assert.equal(s.pushedTotal, 4);
  assert.equal(s.totals.lost, 5);
  assert.deepEqual(
    s.totals.perCpu.map((c) => [c.cpu, c.exitsPerSec, c.lost]),
    [
      [0, 1, 0],
      [1, 3.5, 5],
    ],
  );
  assert.equal(s.entries.at(0)!.largest?.key, 'IO');
});

test("a pinned process carries what is impossible in any of its threads' records (not only its main thread's)", async () => {
  const src = new FakeStatsSource(sampleTasks());
  let pinned = [pinEntry({ kind: 'tgid', id: 200 })];
  let r = await refresh(src, pinned);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, () => undefined);
  // bravo's second thread (not its main one) reports an IO wait of 5000 s in a life of about 1000 s
  src.wait(201, 'IO', 1, 5000 * S, 5000 * S);
  src.wait(201, 'IO', 1, 0.01 * S, 0.01 * S);
  r = await refresh(src, pinned, r.scan);
  pinned = updateWatch(pinned, r.scan, r.threadsOf, () => undefined);
  const e = pinned[0]!;
  assert.match(e.delays!.totalsSuspect?.IO ?? '', /IO wait totals 5000 s in a thread that lived/);
  assert.match(e.delays!.suspect?.IO ?? '', /ended in this interval in a thread/);
  assert.equal(e.threadMaxNs?.IO ?? 0, 0, "the impossible thread's max is left out of max*");
});

test('feed store: exitOf finds the newest ending of a target among the last 4,096 exits, and forgets older ones', () => {
  const feed = new FeedStore([0], 10);
  feed.fold({ records: [exitRecord({ pid: 7, tgid: 7, comm: 'old', exitCode: 1 })], counters: [] });
  feed.fold({ records: [exitRecord({ pid: 7, tgid: 7, comm: 'new', exitCode: 3 })], counters: [] });
  assert.equal(feed.exitOf({ kind: 'pid', id: 7 })?.exitCode, 3, 'the newest ending of a reused pid');
  assert.equal(feed.exitOf({ kind: 'tgid', id: 7 })?.exitCode, 3);
  assert.equal(feed.exitOf({ kind: 'pid', id: 8 }), undefined);
  const filler = Array.from({ length: 4095 }, (_, i) => exitRecord({ pid: 1000 + i, comm: 'f' }));
  feed.fold({ records: filler, counters: [] });
  assert.equal(feed.exitOf({ kind: 'pid', id: 7 })?.exitCode, 3, 'still within the last 4,096');
  feed.fold({ records: [exitRecord({ pid: 9999, comm: 'f' })], counters: [] });
  assert.equal(feed.exitOf({ kind: 'pid', id: 7 }), undefined, 'pushed out');
  assert.equal(feed.exitOf({ kind: 'pid', id: 1000 })?.exitCode, 0);
});
