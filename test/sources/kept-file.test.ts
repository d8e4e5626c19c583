// Kept /proc descriptors read at offset 0, on this machine's kernel.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KeptFiles } from '../../src/sources/kept-file.js';
import { readTaskState } from '../../src/sources/taskinfo.js';

const openFds = () => readdirSync('/proc/self/fd').length;
const stateIn = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(25);
  assert.ok(ok(), what);
}

test("a kept task's file is read afresh each time, and fails once its task is gone", async (t) => {
  const files = new KeptFiles();
  t.after(() => files.close());
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const path = `/proc/${child.pid}/stat`;
  await until('the child sleeps', () => readTaskState(child.pid!)?.state === 'S');
  const fds = openFds();
  assert.equal(stateIn(files.read(path)), 'S');
  assert.equal(files.size, 1);
  assert.equal(openFds(), fds + 1, 'the descriptor stays open');
  child.kill('SIGSTOP');
  await until('the kept descriptor shows the stop', () => stateIn(files.read(path)) === 'T');
  assert.equal(openFds(), fds + 1, 'read again without opening the file again');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await until('a read of the reaped task fails', () => {
    try {
      files.read(path);
      return false;
    } catch {
      return true;
    }
  });
  assert.equal(files.size, 0, 'the stale descriptor is closed');
  assert.equal(openFds(), fds);
});

test('a kept sysctl follows the kernel: ns_last_pid after a new process', () => {
  const files = new KeptFiles();
  try {
    const before = Number(files.read('/proc/sys/kernel/ns_last_pid'));
    const child = spawnSync('true');
    assert.equal(child.status, 0);
    const after = Number(files.read('/proc/sys/kernel/ns_last_pid'));
    assert.ok(
      child.pid !== undefined && after >= child.pid && after !== before,
      `${before} -> ${after}, child ${child.pid}`,
    );
    assert.equal(files.size, 1);
  } finally {
    files.close();
  }
});

test('files not read for more sweeps than allowed are closed; beyond the limit nothing is kept', () => {
  const fds = openFds();
  const files = new KeptFiles(2, 1);
  try {
    files.read('/proc/self/stat');
    files.read('/proc/self/io');
    files.read('/proc/self/status'); // over the limit: read, not kept
    assert.equal(files.size, 2);
    assert.equal(openFds(), fds + 2);
    files.sweep(); // one round without a read of either is allowed
    assert.equal(files.size, 2);
    files.read('/proc/self/stat');
    files.sweep(); // io: two rounds
    assert.equal(files.size, 1);
    assert.equal(openFds(), fds + 1);
    assert.throws(() => files.read('/proc/self/no-such-file'), { code: 'ENOENT' });
    assert.equal(files.size, 1);
  } finally {
    files.close();
  }
  assert.equal(files.size, 0);
  assert.equal(openFds(), fds);
  const once = new KeptFiles(0);
  assert.match(once.read('/proc/self/stat'), /^\d+ \(/);
  assert.equal(once.size, 0);
  assert.equal(openFds(), fds);
});

test('a file longer than the read buffer is read whole, again and again, through its kept descriptor', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'delaytop-kept-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'long');
  const text = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
  writeFileSync(file, text);
  const files = new KeptFiles();
  t.after(() => files.close());
  assert.equal(files.read(file), text);
  assert.equal(files.read(file), text, 'read again in full');
  assert.equal(files.size, 1);
});
