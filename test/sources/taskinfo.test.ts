// /proc reads for the rows on screen, and user names from a passwd file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readCmdline, readTaskIo, readTaskState } from '../../src/sources/taskinfo.js';
import { userNames } from '../../src/sources/users.js';

test('a live task: its state, start and command line; a kernel thread has none; a gone one is null', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'with) (odd args']);
  t.after(() => child.kill('SIGKILL'));
  // started and asleep in its timer (a loaded machine may take a while)
  let st = readTaskState(child.pid!);
  for (let i = 0; i < 100 && st?.state !== 'S'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    st = readTaskState(child.pid!);
  }
  assert.equal(st?.state, 'S');
  assert.match(st!.startTicks, /^\d+$/);
  assert.equal(readCmdline(child.pid!), `${process.execPath} -e setTimeout(() => {}, 30000) with) (odd args`);
  assert.equal(readCmdline(2), '', 'kthreadd has no command line');
  assert.match(readTaskState(2)!.state, /^[A-Z]$/);
  assert.equal(readTaskState(2 ** 22 + 1), null);
  assert.equal(readCmdline(2 ** 22 + 1), null);
});

test('user names from a passwd file, read again when it changes', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'delaytop-passwd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbad line\n');
  assert.deepEqual(
    [...userNames(file)],
    [
      [0, 'root'],
      [1000, 'alice'],
    ],
  );
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nbob\x1b[2J:x:1001:1001::/:/bin/sh\n');
  assert.equal(userNames(file).get(1001), 'bob\x1b[2J', 'kept as written: the view escapes it');
  assert.equal(userNames(path.join(dir, 'missing')).size, 0);
});

test("a task's storage IO so far: a process's, and one thread's", async (t) => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  t.after(() => child.kill('SIGKILL'));
  let io = readTaskIo(child.pid!);
  for (let i = 0; i < 100 && io === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    io = readTaskIo(child.pid!);
  }
  assert.ok(io && Number.isInteger(io.readBytes) && Number.isInteger(io.writeBytes), JSON.stringify(io));
  assert.ok(readTaskIo(child.pid!, child.pid!), 'the main thread as a thread');
  assert.equal(readTaskIo(2 ** 22 + 1), null);
});
