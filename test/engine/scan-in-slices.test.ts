// The engine's scan in slices: the event loop runs between them, and the result is computeScan's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeScanInSlices } from '../../src/engine/scan-in-slices.js';
import { computeScan, scanTargets } from '../../src/model/scan.js';
import { FakeStatsSource, S } from '../fakes/dashboard-sources.js';
import { withSlicedClock } from '../fakes/sliced-clock.js';

const ON = { on: true, onSinceSec: 0 };

test('a scan in slices lets the event loop run between them, with the same result as in one go', async () => {
  const threads = Array.from({ length: 5000 }, (_, i) => ({
    id: 1000 + i,
    tgid: 1000 + (i % 50),
    comm: `w${i}`,
    btime: 1_700_000_000,
    delays: { CPU: { count: i, totalNs: i * 1000 } },
  }));
  const src = new FakeStatsSource(threads);
  const tasks = src.list('thread');
  const b1 = await src.query(scanTargets('thread', tasks));
  const prev = computeScan('thread', tasks, b1, { samples: new Map() }, ON);
  src.wait(1000, 'CPU', 5, 0.2 * S);
  const b2 = await src.query(scanTargets('thread', tasks));
  const checks = { wallMs: 0, exitedLivesNs: null };
  const { result: sliced, turns } = await withSlicedClock(() =>
    computeScanInSlices('thread', tasks, b2, prev, ON, [], checks),
  );
  assert.ok(turns >= 4, `the event loop ran between the slices (${turns} turns)`);
  assert.deepEqual(sliced, computeScan('thread', tasks, b2, prev, ON, [], checks));
});
