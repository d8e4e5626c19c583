// The dashboard engine's identity policy: which processes a refresh asks for their main
// thread (comm and start), given what the exit feed vouches for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Target } from '../../src/sources/types.js';
import { DashboardController } from '../../src/ui/controller.js';
import { counters, exitRecord, FakeExitSource, FakeStatsSource, fakeOptions, sampleTasks } from './fakes.js';

const pidsAsked = (q: readonly Target[]) => q.filter((t) => t.kind === 'pid').map((t) => t.id);

// None of 100, 200, 300 falls in the recheck round (id + refresh) % 8 of refreshes 1 to 3.
test('with a lossless exit feed, a refresh asks only new, exited or every process after a loss for its identity', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const exits = new FakeExitSource();
  const c = new DashboardController(fakeOptions(stats, exits, { keepIdentities: true }));
  c.start(); // refresh 0 starts at once
  await c.refresh(); // and refresh 1 follows it
  assert.deepEqual(stats.queries.map(pidsAsked), [[100, 200, 300], []]);
  assert.deepEqual(c.getSnapshot().rows.map((r) => [r.id, r.comm, r.lifetime]), [[100, 'alpha', false], [200, 'bravo', false], [300, 'charlie', false]]);

  exits.emit({ records: [exitRecord({ pid: 300, comm: 'charlie' })], counters: [counters(0, 1), counters(1, 0)] });
  await c.refresh();
  assert.deepEqual(pidsAsked(stats.queries[2]!), [300], 'the process the feed saw exit is asked again');

  exits.emit({ records: [], counters: [counters(0, 1, 1), counters(1, 0)] });
  await c.refresh();
  assert.deepEqual(pidsAsked(stats.queries[3]!), [100, 200, 300], 'after a loss nothing is vouched for');
  c.stop();
});

test('without keepIdentities (no feed, a recording, a replay) every refresh asks every process', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const c = new DashboardController(fakeOptions(stats, new FakeExitSource()));
  c.start();
  await c.refresh();
  assert.deepEqual(stats.queries.map(pidsAsked), [[100, 200, 300], [100, 200, 300]]);
  c.stop();
});
