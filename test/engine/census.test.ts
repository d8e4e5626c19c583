// The engine with a process census (src/sources/process-census.ts): new ids are asked
// whether they are processes, and only processes become rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DashboardController } from '../../src/engine/refresh.js';
import { ProcessCensus, type CensusIo } from '../../src/sources/process-census.js';
import type { Target } from '../../src/sources/types.js';
import {
  counters,
  exitRecord,
  FakeStatsSource,
  FlushingExitSource,
  fakeOptions,
  sampleTasks,
} from '../fakes/dashboard-sources.js';

/** /proc as the fake source's tasks make it: processes listed and counted, every id handed out in turn. */
function censusOf(stats: FakeStatsSource) {
  const state = { last: Math.max(...stats.tasks.keys()), listings: 0 };
  const processes = () => [...stats.tasks.values()].filter((t) => t.id === t.tgid).map((t) => t.id);
  const io: CensusIo = {
    lastPid: () => state.last,
    linkCount: () => 10 + processes().length,
    listAll: async () => (state.listings++, processes().sort((a, b) => a - b)),
  };
  return { census: new ProcessCensus(io), state };
}

const asked = (q: readonly Target[]) => q.map((t) => `${t.kind}:${t.id}`);

test('with a census, a refresh lists no directory; a new id is asked, and a thread id makes no row', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const { census, state } = censusOf(stats);
  const c = new DashboardController(fakeOptions(stats, null, { census }));
  await c.refresh();
  await c.refresh();
  assert.equal(state.listings, 2);
  stats.add({ id: 301, tgid: 301, comm: 'delta', btime: 1_700_000_003, delays: {} });
  stats.add({ id: 302, tgid: 301, comm: 'delta-worker', btime: 1_700_000_003, delays: {} });
  state.last = 302;
  const before = stats.queries.length;
  await c.refresh();
  assert.equal(state.listings, 2, 'no directory read');
  assert.deepEqual(asked(stats.queries[before]!), ['pid:301', 'pid:302'], 'the new ids, asked for their process');
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => [r.id, r.comm]),
    [
      [100, 'alpha'],
      [200, 'bravo'],
      [300, 'charlie'],
      [301, 'delta'],
    ],
  );
  stats.tasks.delete(300);
  await c.refresh();
  assert.deepEqual(
    c.getSnapshot().rows.map((r) => r.id),
    [100, 200, 301],
  );
  assert.equal(state.listings, 2);
  c.stop();
});

test("a new id whose end the feed reported (by the census's start) is not asked; the others are", async (t) => {
  const stats = new FakeStatsSource(sampleTasks());
  const { census, state } = censusOf(stats);
  const exits = new FlushingExitSource();
  const c = new DashboardController(fakeOptions(stats, exits, { census }));
  t.after(() => c.stop());
  c.start();
  await c.refresh();
  await c.refresh();
  // 301 started and ended (the feed has its exit, not yet handed over); 302 lives
  stats.add({ id: 302, tgid: 302, comm: 'echo', btime: 1_700_000_003, delays: {} });
  exits.queue({ records: [exitRecord({ pid: 301, comm: 'true' })], counters: [counters(0, 1)] });
  state.last = 302;
  const before = stats.queries.length;
  await c.refresh();
  assert.deepEqual(asked(stats.queries[before]!), ['pid:302'], 'only the id not known to have ended');
  assert.ok(
    c.getSnapshot().rows.some((r) => r.id === 302),
    'the new process is a row',
  );
  // both ended: no batch at all for the census
  stats.tasks.delete(302);
  exits.queue({
    records: [exitRecord({ pid: 302, comm: 'echo' }), exitRecord({ pid: 303, comm: 'true' })],
    counters: [counters(0, 3)],
  });
  state.last = 303;
  const queries = stats.queries.length;
  await c.refresh();
  assert.ok(
    stats.queries.slice(queries).every((q) => !q.some((t) => t.kind === 'pid' && t.id === 303)),
    'no query asks the ended id',
  );
  assert.equal(state.listings, 2, 'the census still agrees with the link count: no directory read');
  // a main thread that ended alone (pthread_exit in main): its process lives on, and is asked
  stats.add({ id: 304, tgid: 304, comm: 'server', btime: 1_700_000_004, delays: {} });
  exits.queue({
    records: [exitRecord({ pid: 304, comm: 'server', processEnded: false })],
    counters: [counters(0, 4)],
  });
  state.last = 304;
  const later = stats.queries.length;
  await c.refresh();
  assert.deepEqual(asked(stats.queries[later]!), ['pid:304'], 'the id of a process still alive is asked');
  assert.ok(c.getSnapshot().rows.some((r) => r.id === 304));
});

test('with the group view on, processes come from the directory (the census may wait for a query, and the ledger must see the listing at once)', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const { census } = censusOf(stats);
  const taskInfo = { state: () => null, cmdline: () => null, io: () => null };
  const c = new DashboardController(fakeOptions(stats, null, { census, taskInfo }));
  await c.refresh();
  const asked = census.listings + census.skipped;
  c.cycleView(); // threads
  c.cycleView(); // groups
  await c.refresh();
  const listed = stats.listed.length;
  await c.refresh();
  assert.equal(census.listings + census.skipped, asked, 'the census is not asked in the group view');
  assert.ok(stats.listed.length > listed, 'the directory is listed');
  c.stop();
});
