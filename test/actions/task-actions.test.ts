// The actions over a fake kernel: which threads they change, what they read back, and what
// they say when the task has gone, was replaced, or is not ours to change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ioniceTo, reniceTo, TaskActions, type Inspected, type Inspection } from '../../src/actions/task-actions.js';
import { FakeSyscalls } from '../fakes/task-syscalls.js';

const PROC = { kind: 'tgid', id: 100 } as const;

/** Process 100 (dd) with threads 101 and 102. */
function machine() {
  const sys = new FakeSyscalls()
    .add(100, { tgid: 100 })
    .add(101, { tgid: 100, nice: -2 })
    .add(102, { tgid: 100, io: { ioClass: 'idle', level: 0 } });
  return { sys, actions: new TaskActions(sys) };
}

function inspected(r: Inspected): Inspection {
  assert.ok(r.ok, JSON.stringify(r));
  return r.task;
}

test('a process is read with all its threads, its main thread first', () => {
  const { actions } = machine();
  const task = inspected(actions.inspect(PROC, 'row-comm'));
  assert.deepEqual(task.tids, [100, 101, 102]);
  assert.equal(task.comm, 'dd', "/proc's comm, not the row's");
  assert.deepEqual([task.nice, task.niceMin, task.niceMax], [0, -2, 0]);
  assert.deepEqual(task.io, { ioClass: 'none', level: 0 });
  assert.equal(task.ioUniform, false);
  const thread = inspected(actions.inspect({ kind: 'pid', id: 101 }, 'dd'));
  assert.deepEqual([thread.tids, thread.nice], [[101], -2]);
});

test('renice: a process changes in every thread, a thread alone; the value is read back', () => {
  const { sys, actions } = machine();
  const task = inspected(actions.inspect(PROC, 'dd'));
  assert.equal(reniceTo(task, 5), 5);
  assert.equal(reniceTo(task, 40), 19, 'within -20..19');
  assert.deepEqual(actions.renice(task, 5), { ok: true, text: 'renice 100 (dd): nice is now 5 (all 3 threads)' });
  assert.deepEqual(
    [...sys.tasks.values()].map((t) => t.nice),
    [5, 5, 5],
  );
  const thread = inspected(actions.inspect({ kind: 'pid', id: 102 }, 'dd'));
  assert.deepEqual(actions.renice(thread, 7), { ok: true, text: 'renice thread 102 (dd): nice is now 7' });
  assert.deepEqual(sys.log.slice(3), ['setNice 102 7']);
});

test('renice: not permitted, for the task itself or for some of its threads', () => {
  const { sys, actions } = machine();
  const task = inspected(actions.inspect(PROC, 'dd'));
  for (const code of ['EPERM', 'EACCES']) {
    sys.fails.set('setNice:100', code);
    assert.deepEqual(actions.renice(task, -5), {
      ok: false,
      text: "renice 100 (dd): not permitted (needs root or the task's owner; lowering nice needs CAP_SYS_NICE)",
    });
  }
  assert.deepEqual(sys.log, [], 'nothing changed when the task itself refused');
  sys.fails.clear();
  sys.fails.set('setNice:102', 'EPERM');
  assert.deepEqual(actions.renice(task, 3), {
    ok: false,
    text: 'renice 100 (dd): nice is now 3 on 2 of its threads (not on 1 EPERM)',
  });
});

test('gone: before acting, replaced by a new task with its id, or a thread that ended meanwhile', () => {
  const { sys, actions } = machine();
  const task = inspected(actions.inspect(PROC, 'dd'));
  sys.tasks.delete(101); // a thread ended: the others still change
  assert.deepEqual(actions.renice(task, 1), { ok: true, text: 'renice 100 (dd): nice is now 1 (all 2 threads)' });
  sys.tasks.get(100)!.startTicks += 500; // the id now names a task started since
  for (const r of [
    actions.renice(task, 2),
    actions.ionice(task, { ioClass: 'idle', level: 0 }),
    actions.signal(task, 'KILL'),
  ])
    assert.match(r.text, /^(renice|ionice|signal): task 100 \(dd\) has gone$/);
  sys.tasks.clear();
  assert.deepEqual(actions.inspect(PROC, 'dd'), { target: PROC, ok: false, message: 'task 100 (dd) has gone' });
  assert.deepEqual(sys.log, ['setNice 100 1', 'setNice 102 1'], 'nothing was done to the new task');
});

test('ionice: every thread, read back; the level of a class without one', () => {
  const { sys, actions } = machine();
  const task = inspected(actions.inspect(PROC, 'dd'));
  // class none follows nice: best-effort (0 + 20) / 5 = 4 unless a level is picked
  assert.deepEqual(ioniceTo(task, { ioClass: 'best-effort' }), { ioClass: 'best-effort', level: 4 });
  assert.deepEqual(ioniceTo(task, { level: 6 }), { ioClass: 'best-effort', level: 6 }, 'a level means best-effort');
  assert.deepEqual(ioniceTo(task, { ioClass: 'idle' }), { ioClass: 'idle', level: 0 });
  assert.deepEqual(ioniceTo(task, {}), { ioClass: 'none', level: 0 }, 'nothing picked: as it is');
  assert.deepEqual(actions.ionice(task, { ioClass: 'realtime', level: 2 }), {
    ok: true,
    text: 'ionice 100 (dd): IO priority is now realtime 2 (all 3 threads)',
  });
  assert.deepEqual(sys.log, ['setIoprio 100 realtime 2', 'setIoprio 101 realtime 2', 'setIoprio 102 realtime 2']);
  sys.fails.set('setIoprio:100', 'EPERM');
  assert.match(actions.ionice(task, { ioClass: 'realtime', level: 0 }).text, /not permitted .*realtime class needs/);
});

test('signal: to the process, named by number too; not permitted and gone said plainly', () => {
  const { sys, actions } = machine();
  const task = inspected(actions.inspect(PROC, 'dd'));
  assert.deepEqual(actions.signal(task, 'TERM'), { ok: true, text: 'sent SIGTERM (15) to 100 (dd)' });
  assert.deepEqual(sys.log, ['kill 100 TERM']);
  sys.fails.set('kill:100', 'EPERM');
  assert.deepEqual(actions.signal(task, 'KILL'), {
    ok: false,
    text: "signal 100 (dd): not permitted (needs root or the task's owner)",
  });
  sys.fails.set('kill:100', 'ESRCH');
  assert.deepEqual(actions.signal(task, 'KILL'), { ok: false, text: 'signal: task 100 (dd) has gone' });
});

test('without the addon (IO priority unreadable), renice still works and ionice says why not', () => {
  const { sys, actions } = machine();
  for (const tid of [100, 101, 102]) sys.fails.set(`getIoprio:${tid}`, 'ENOADDON');
  sys.fails.set('setIoprio:100', 'ENOADDON');
  const task = inspected(actions.inspect(PROC, 'dd'));
  assert.deepEqual(task.io, { ioClass: 'unknown', level: 0 });
  assert.ok(actions.renice(task, 1).ok);
  assert.match(actions.ionice(task, { ioClass: 'idle', level: 0 }).text, /^ionice 100 \(dd\): ENOADDON/);
});

test("a task's name is shown as printable text", () => {
  const sys = new FakeSyscalls().add(7, { tgid: 7, comm: 'evil\x1b[2J' });
  const actions = new TaskActions(sys);
  const task = inspected(actions.inspect({ kind: 'tgid', id: 7 }, 'x'));
  assert.equal(actions.renice(task, 1).text, 'renice 7 (evil\\x1b[2J): nice is now 1');
});
