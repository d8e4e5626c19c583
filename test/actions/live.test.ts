// The actions on a real kernel, on processes this test started: renice (every thread, as
// /proc/<pid>/task/*/stat shows), ionice (as ionice(1) reads it), SIGTERM; a reaped process
// is "gone"; and run as nobody, a root-owned process is "not permitted".
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { liveSyscalls } from '../../src/actions/syscalls.js';
import { TaskActions, type Inspection } from '../../src/actions/task-actions.js';
import { loadAddon } from '../../src/kernel/addon.js';
import { exited, needsRoot, spawnTracked, statField } from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** /proc/<pid>/task/<tid>/stat field 19, nice, of every thread. */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(statField(`/proc/${pid}/task/${tid}/stat`, 19)));
}

/** A node child: several threads of its own (V8's platform threads, libuv's). */
const threadedChild = () => spawnTracked(process.execPath, ['-e', 'setTimeout(() => {}, 300_000)']);

async function waitThreads(pid: number, atLeast: number): Promise<void> {
  for (let i = 0; i < 100 && readdirSync(`/proc/${pid}/task`).length < atLeast; i++)
    await new Promise((r) => setTimeout(r, 20));
}

function inspect(actions: TaskActions, pid: number, kind: 'tgid' | 'pid' = 'tgid'): Inspection {
  const r = actions.inspect({ kind, id: pid }, 'node');
  assert.ok(r.ok, JSON.stringify(r));
  return r.task;
}

test('renice and ionice a process: every thread changes, the value read back is said', async (t) => {
  if (!needsRoot(t)) return; // a nice below 0 and the realtime class need it
  const child = threadedChild();
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  await waitThreads(pid, 2);
  const actions = new TaskActions(liveSyscalls());
  let task = inspect(actions, pid);
  assert.ok(task.tids.length >= 2, `node has threads: ${task.tids}`);
  assert.equal(task.tids[0], pid, 'the main thread first');

  let r = actions.renice(task, 5);
  assert.ok(r.ok, r.text);
  assert.match(r.text, new RegExp(`^renice ${pid} \\(node\\): nice is now 5 \\(all \\d+ threads\\)$`));
  assert.deepEqual(new Set(threadNices(pid)), new Set([5]), 'every thread of the process');
  task = inspect(actions, pid);
  assert.ok(actions.renice(task, -3).ok, 'root may lower it');
  assert.deepEqual(new Set(threadNices(pid)), new Set([-3]));

  // one thread alone
  const other = task.tids[1]!;
  r = actions.renice(inspect(actions, other, 'pid'), 10);
  assert.equal(r.text, `renice thread ${other} (${task.comm}): nice is now 10`);
  assert.equal(threadNices(pid).filter((n) => n === 10).length, 1);

  r = actions.ionice(inspect(actions, pid), { ioClass: 'best-effort', level: 6 });
  assert.match(r.text, /IO priority is now best-effort 6 \(all \d+ threads\)$/);
  assert.equal(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim(), 'best-effort: prio 6');
  for (const tid of task.tids) assert.deepEqual(loadAddon().ioprioGet(tid), { ioClass: 'best-effort', level: 6 });
  r = actions.ionice(inspect(actions, pid), { ioClass: 'idle', level: 0 });
  assert.match(r.text, /IO priority is now idle/);
  assert.equal(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }).trim(), 'idle');
});

test('SIGTERM ends the process; once reaped it has gone, said so for every action', async (t) => {
  if (!needsRoot(t)) return;
  const child = spawnTracked('sleep', ['300']);
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  const actions = new TaskActions(liveSyscalls());
  const task = inspect(actions, pid);
  assert.equal(task.comm, 'sleep');
  assert.deepEqual(actions.signal(task, 'TERM'), { ok: true, text: `sent SIGTERM (15) to ${pid} (sleep)` });
  await exited(child);
  assert.equal(child.signalCode, 'SIGTERM');
  assert.deepEqual(actions.inspect({ kind: 'tgid', id: pid }, 'sleep'), {
    target: { kind: 'tgid', id: pid },
    ok: false,
    message: `task ${pid} (sleep) has gone`,
  });
  assert.equal(actions.renice(task, 1).text, `renice: task ${pid} (sleep) has gone`);
  assert.equal(actions.ionice(task, { ioClass: 'idle', level: 0 }).text, `ionice: task ${pid} (sleep) has gone`);
  assert.equal(actions.signal(task, 'KILL').text, `signal: task ${pid} (sleep) has gone`);
});

test("as nobody, another user's process: not permitted, and nothing changes", async (t) => {
  if (!needsRoot(t)) return; // to become nobody
  if (spawnSync('setpriv', ['--version']).status !== 0) return t.skip('setpriv (util-linux) is not installed');
  const child = spawnTracked('sleep', ['300']);
  t.after(() => child.kill('SIGKILL'));
  const pid = child.pid!;
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'env',
      'HOME=/tmp',
      'TMPDIR=/tmp',
      process.execPath,
      '--import',
      'tsx',
      'test/actions/act-as-caller.ts',
      String(pid),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0 && !r.stdout)
    return t.skip(`nobody cannot run this checkout's TypeScript: ${(r.stderr || `exit ${r.status}`).split('\n')[0]}`);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `renice ${pid} (sleep): not permitted (needs root or the task's owner; lowering nice needs CAP_SYS_NICE)`,
    `ionice ${pid} (sleep): not permitted (needs root or the task's owner; the realtime class needs CAP_SYS_NICE or CAP_SYS_ADMIN)`,
    `signal ${pid} (sleep): not permitted (needs root or the task's owner)`,
  ]);
  assert.deepEqual(threadNices(pid), [0]);
  assert.equal(child.exitCode, null);
});
