// The addon's ioprio_get/ioprio_set on a real kernel: every class by its name, levels,
// arguments checked before the syscall, errors by errno name like the rest of the addon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { IO_CLASSES, loadAddon } from '../../src/kernel/addon.js';
import { exited, needsRoot, spawnTracked } from '../helpers.js';

test('every class set is the class read back, as ionice(1) reads it too', (t) => {
  if (!needsRoot(t)) return; // the realtime class needs CAP_SYS_ADMIN (or CAP_SYS_NICE)
  const addon = loadAddon();
  const child = spawnTracked('sleep', ['60']);
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  for (const ioClass of IO_CLASSES) {
    const level = ioClass === 'realtime' || ioClass === 'best-effort' ? 6 : 0;
    addon.ioprioSet(pid, ioClass, level);
    assert.deepEqual(addon.ioprioGet(pid), { ioClass, level }, ioClass);
    const said = execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim();
    assert.equal(said, ioClass === 'idle' ? 'idle' : `${ioClass}: prio ${level}`, `ionice -p after ${ioClass}`);
  }
});

test('bad arguments are a TypeError before any syscall; a task that is not there is ESRCH', async () => {
  const addon = loadAddon();
  for (const args of [
    [0, 'idle', 0],
    [1.5, 'idle', 0],
    [1, 'bogus', 0],
    [1, 'best-effort', 8],
    [1, 'best-effort', -1],
    ['1', 'idle', 0],
  ])
    assert.throws(() => (addon.ioprioSet as (...a: unknown[]) => void)(...args), TypeError, JSON.stringify(args));
  assert.throws(() => (addon.ioprioGet as (a: unknown) => void)('x'), TypeError);
  const child = spawnTracked('true', []);
  await exited(child);
  assert.throws(() => addon.ioprioGet(child.pid!), { code: 'ESRCH', syscall: 'ioprio_get' });
  assert.throws(() => addon.ioprioSet(child.pid!, 'idle', 0), { code: 'ESRCH', syscall: 'ioprio_set' });
});
