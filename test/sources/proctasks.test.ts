// Listing tasks from a /proc tree: in one go, or in slices that let the event loop run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
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

test('a process listing is read on the thread pool: the event loop runs while the pool is busy', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'delaytop-proc-'));
  // each of the pool's threads held in an open() of a FIFO with no writer yet
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: poolSize }, (_, i) => path.join(root, `fifo${i}`));
  let held: Promise<FileHandle>[] = [];
  let closed = false;
  // pool threads of this process inside a FIFO's open, waiting for a writer
  const inFifoOpen = () =>
    readdirSync('/proc/self/task').filter((t) => {
      try {
        return readFileSync(`/proc/self/task/${t}/wchan`, 'utf8') === 'wait_for_partner';
      } catch {
        return false;
      }
    }).length;
  try {
    for (let p = 1; p <= 50; p++) mkdirSync(path.join(root, String(p)));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    held = fifos.map((f) => open(f, 'r'));
    for (const h of held) h.catch(() => {}); // (settled in finally, whatever happens)
    // every pool thread in its open before the listing is asked (a thread still busy with
    // an earlier test's work, or not yet started, would take the opens late)
    for (const until = Date.now() + 10_000; inFifoOpen() < poolSize;) {
      assert.ok(Date.now() < until, `${inFifoOpen()} of ${poolSize} pool threads in a FIFO's open after 10 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    let listed = false;
    const listing = listProcTasksYielding('process', root).then((l) => ((listed = true), l));
    for (let turns = 0; turns < 20; turns++) await new Promise((r) => setImmediate(r));
    assert.equal(listed, false, 'the listing waits for the pool: it was not read on the JS thread');
    // a writer for each (non-blocking: there is a reader), so the opens return
    for (const f of fifos) closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    for (const h of held) await (await h).close();
    closed = true;
    const got = await listing;
    assert.deepEqual(got, listProcTasks('process', root));
    assert.equal(got.length, 50);
  } finally {
    // Whatever failed, no pool thread is left waiting: each FIFO gets a writer that stays
    // until every open has returned (O_RDWR never waits; an open that begins later finds it).
    const writers = fifos.map((f) => {
      try {
        return openSync(f, constants.O_RDWR | constants.O_NONBLOCK);
      } catch {
        return -1;
      }
    });
    const settled = await Promise.race([
      Promise.allSettled(held),
      new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
    ]);
    for (const fd of writers) if (fd >= 0) closeSync(fd);
    if (!closed && settled)
      for (const s of settled) if (s.status === 'fulfilled') await s.value.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
});
