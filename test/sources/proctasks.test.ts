// Listing tasks from a /proc tree: in one go, or in slices that let the event loop run.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { listProcTasks, listProcTasksYielding } from '../../src/sources/proctasks.js';
import { withSlicedClock } from '../fakes/sliced-clock.js';

test('a thread listing in slices lets the event loop run between them, and lists the same tasks', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'delaytop-proc-'));
  try {
    for (let p = 1; p <= 300; p++) {
      for (let t = 0; t < 1 + (p % 3); t++)
        mkdirSync(path.join(root, String(p), 'task', String(p * 10 + t)), { recursive: true });
    }
    mkdirSync(path.join(root, 'sys')); // not a process
    const { result: sliced, turns } = await withSlicedClock(() => listProcTasksYielding('thread', root));
    assert.ok(turns >= 3, `the event loop ran between the slices (${turns} turns)`);
    const whole = listProcTasks('thread', root);
    assert.equal(whole.length, 600);
    assert.deepEqual(sliced, whole);
    assert.deepEqual(await listProcTasksYielding('process', root), listProcTasks('process', root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
