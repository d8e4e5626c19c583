// The dashboard engine's identity policy: which processes a refresh asks for their main
// thread (comm and start), given what the exit feed vouches for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatsSource, Target } from '../../src/sources/types.js';
import type { ListMode, TaskId } from '../../src/sources/proctasks.js';
import { DashboardController } from '../../src/engine/refresh.js';
import {
  counters,
  exitRecord,
  FakeExitSource,
  FakeStatsSource,
  fakeOptions,
  sampleTasks,
} from '../fakes/dashboard-sources.js';

const pidsAsked = (q: readonly Target[]) => q.filter((t) => t.kind === 'pid').map((t) => t.id);

// None of 100, 200, 300 falls in the recheck round (id + refresh) % 8 of refreshes 1 to 3.
test('with a lossless exit feed, a refresh asks only new, exited or every process after a loss for its identity', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const exits = new FakeExitSource();
  const c = new DashboardController(fakeOptions(stats, exits, { keepIdentities: true }));
  c.start(); // refresh 0 starts at once
  await c.refresh(); // and refresh 1 follows it
  assert.deepEqual(stats.queries.map(pidsAsked), [[100, 200, 300], []]);
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => [r.id, r.comm, r.lifetime]),
    [
      [100, 'alpha', false],
      [200, 'bravo', false],
      [300, 'charlie', false],
    ],
  );

  exits.emit({ records: [exitRecord({ pid: 300, comm: 'charlie' })], counters: [counters(0, 1), counters(1, 0)] });
  await c.refresh();
  assert.deepEqual(pidsAsked(stats.queries[2]!), [300], 'the process the feed saw exit is asked again');

  exits.emit({ records: [], counters: [counters(0, 1, 1), counters(1, 0)] });
  await c.refresh();
  assert.deepEqual(pidsAsked(stats.queries[3]!), [100, 200, 300], 'after a loss nothing is vouched for');
  c.stop();
});

test('exits taken by a refresh that failed still count for the next one', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const exits = new FakeExitSource();
  const c = new DashboardController(fakeOptions(stats, exits, { keepIdentities: true }));
  c.start();
  await c.refresh();
  exits.emit({ records: [exitRecord({ pid: 300, comm: 'charlie' })], counters: [counters(0, 1), counters(1, 0)] });
  const query = stats.query.bind(stats);
  stats.query = async () => {
    stats.query = query;
    throw new Error('netlink hiccup');
  };
  await c.refresh(); // refresh 2 fails
  await c.refresh(); // refresh 3: (id + 3) % 8 is not 0 for 100, 200, 300
  assert.equal(stats.queries.length, 3);
  assert.deepEqual(pidsAsked(stats.queries[2]!), [300]);
  c.stop();
});

test('a process where nothing ran is asked one refresh in 64; a child of a process whose end the feed reported, every refresh until the parent is gone', async () => {
  const stats = new FakeStatsSource([
    { id: 100, tgid: 100, comm: 'parent', btime: 1_700_000_000, delays: {} },
    { id: 204, tgid: 204, comm: 'child', btime: 1_700_000_000, ppid: 100, delays: {} },
    { id: 316, tgid: 316, comm: 'busy', btime: 1_700_000_000, delays: {} },
  ]);
  const exits = new FakeExitSource();
  const c = new DashboardController(fakeOptions(stats, exits, { keepIdentities: true }));
  const askedAt = (id: number) => stats.queries.flatMap((q, r) => (pidsAsked(q).includes(id) ? [r] : []));
  c.start(); // refresh 0
  for (let r = 1; r <= 20; r++) {
    stats.wait(316, 'CPU', 1, 1e6); // 316 runs in every interval
    await c.refresh();
  }
  // every id is 4 mod 8: its round is refresh 4, 12, 20...; in 64: 100's is 28, 204's 52
  assert.deepEqual(askedAt(316), [0, 4, 12, 20], 'one that runs: every 8th refresh');
  assert.deepEqual(askedAt(100), [0, 4], 'asked at 4 with the record of refresh 3, which its row still has');
  assert.deepEqual(askedAt(204), [0, 4]);

  // 100 ends: the feed reports it while it still answers (its memory is being freed)
  exits.emit({
    records: [exitRecord({ pid: 100, comm: 'parent', processEnded: true })],
    counters: [counters(0, 1), counters(1, 0)],
  });
  await c.refresh(); // 21
  await c.refresh(); // 22
  stats.tasks.delete(100);
  await c.refresh(); // 23: finds 100 gone (204's answer in this batch may still name it)
  stats.tasks.get(204)!.ppid = 1;
  await c.refresh(); // 24: 204 asked in a batch sent after 100 was gone, so after it was reparented
  await c.refresh(); // 25
  await c.refresh(); // 26
  assert.deepEqual(askedAt(204), [0, 4, 21, 22, 23, 24]);
  assert.deepEqual(askedAt(100), [0, 4, 21], 'asked when the feed reported its exit');
  assert.equal(c.getSnapshot().rows.find((r) => r.id === 204)?.ppid, 1, 'its new parent');
  c.stop();
});

test('without keepIdentities (no feed, a recording, a replay) every refresh asks every process', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const c = new DashboardController(fakeOptions(stats, new FakeExitSource()));
  c.start();
  await c.refresh();
  assert.deepEqual(stats.queries.map(pidsAsked), [
    [100, 200, 300],
    [100, 200, 300],
  ]);
  c.stop();
});

/** Every snapshot published for `ms`, and whether a refresh made it (atMs moved) or exits alone. */
async function publishes(c: DashboardController, exits: FakeExitSource, ms: number): Promise<('refresh' | 'feed')[]> {
  const out: ('refresh' | 'feed')[] = [];
  let atMs = c.getSnapshot().atMs;
  const off = c.subscribe(() => {
    const s = c.getSnapshot();
    out.push(s.atMs !== atMs ? 'refresh' : 'feed');
    atMs = s.atMs;
  });
  let pid = 1000;
  const timer = setInterval(
    () =>
      exits.emit({
        records: [exitRecord({ pid: pid++, comm: 'short' })],
        counters: [counters(0, pid - 1000), counters(1, 0)],
      }),
    50,
  );
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(timer);
  off();
  return out;
}

test('exits between refreshes ride on the next refresh when it comes before the feed would publish', async () => {
  const exits = new FakeExitSource();
  // the feed would publish 0.9 s after a refresh, the next refresh comes at 1 s
  const c = new DashboardController(fakeOptions(new FakeStatsSource(sampleTasks()), exits, { intervalSec: 1 }), {
    feedPublishMs: 900,
  });
  c.start();
  const seen = await publishes(c, exits, 2300);
  c.stop();
  assert.ok(seen.filter((x) => x === 'refresh').length >= 2, `refreshes went on: ${seen}`);
  assert.deepEqual(
    seen.filter((x) => x === 'feed'),
    [],
    'no frame for exits alone',
  );
  assert.ok(c.getSnapshot().feed!.pushedTotal > 20, 'and the feed has them');
});

test('with a refresh further away than the feed rate, exits publish on their own', async () => {
  const exits = new FakeExitSource();
  const c = new DashboardController(fakeOptions(new FakeStatsSource(sampleTasks()), exits, { intervalSec: 60 }), {
    feedPublishMs: 200,
  });
  c.start();
  await c.refresh();
  const seen = await publishes(c, exits, 700);
  c.stop();
  assert.ok(seen.filter((x) => x === 'feed').length >= 2, `feed frames: ${seen}`);
});

test("a process's interval is bounded by its live threads' lives plus those the exit feed saw end in it (only when the feed lost nothing)", async () => {
  const { FlushingExitSource, S } = await import('../fakes/dashboard-sources.js');
  const run = async (emit: (e: InstanceType<typeof FlushingExitSource>) => void) => {
    const stats = new FakeStatsSource(sampleTasks());
    const exits = new FlushingExitSource();
    const c = new DashboardController(fakeOptions(stats, exits));
    c.start();
    await c.refresh();
    // a thread of bravo (not its main thread) reports 5000 s of IO ending in this interval:
    // its two live threads have lived about 2 x 1001 s
    stats.wait(201, 'IO', 1, 5000 * S, 5000 * S);
    emit(exits);
    await c.refresh();
    c.stop();
    return c.getSnapshot().rows.find((r) => r.id === 200)!.suspect?.IO ?? null;
  };
  assert.match(
    (await run(() => {})) ?? '',
    /IO waits of 5000 s ended in this interval, more than its threads have lived \(2\d\d\d s\)/,
  );
  // a thread of bravo that lived 4000 s ended in the interval (the feed hands it over before the figures are judged)
  assert.equal(
    await run((e) =>
      e.queue({
        records: [exitRecord({ pid: 202, tgid: 200, comm: 'bravo', processEnded: false, lifeUs: 4000e6 })],
        counters: [counters(0, 1), counters(1, 0)],
      }),
    ),
    null,
  );
  // the feed lost an exit in the interval: what ended is not known, so nothing is claimed
  assert.equal(await run((e) => e.queue({ records: [], counters: [counters(0, 0, 1), counters(1, 0)] })), null);
});

/** A source whose listing waits for `release()` (a long listing taken in slices). */
function slowListing(stats: FakeStatsSource) {
  let release = () => {};
  const listed: string[] = [];
  const source: StatsSource = stats;
  source.listYielding = (mode: ListMode) =>
    new Promise<TaskId[]>((resolve) => {
      listed.push(mode);
      release = () => resolve(stats.list(mode));
    });
  return { listed, release: () => release() };
}

test('a mode toggled while a refresh lists stores nothing of that refresh; the next one lists the new mode', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const slow = slowListing(stats);
  const c = new DashboardController(fakeOptions(stats, null));
  const first = c.refresh();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(slow.listed, ['process']);
  c.toggleMode(); // asks for another refresh, which runs once this one ends
  slow.release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(slow.listed, ['process', 'thread']);
  assert.equal(stats.queries.length, 0, 'the process listing was not queried');
  slow.release();
  await first;
  assert.equal(c.getSnapshot().mode, 'thread');
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 200, 201, 300],
  );
  c.stop();
});

test('stop() while a refresh lists: it queries nothing and publishes nothing more', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const slow = slowListing(stats);
  const c = new DashboardController(fakeOptions(stats, null));
  const pending = c.refresh();
  await new Promise((r) => setImmediate(r));
  const seq = c.getSnapshot().seq;
  c.stop();
  slow.release();
  await pending;
  assert.equal(stats.queries.length, 0);
  assert.equal(c.getSnapshot().seq, seq);
});
