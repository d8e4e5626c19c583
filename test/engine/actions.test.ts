// The engine's side of the actions: it reads the task for the prompt (the snapshot carries
// it), acts on exactly what it read, says the result, and in a replay says why not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskActions } from '../../src/actions/task-actions.js';
import { ACTIONS_OFF_IN_REPLAY, DashboardController } from '../../src/engine/refresh.js';
import { FakeStatsSource, fakeOptions, sampleTasks } from '../fakes/dashboard-sources.js';
import { FakeSyscalls } from '../fakes/task-syscalls.js';

const PROC = { kind: 'tgid', id: 200 } as const;

function controller(withActions = true) {
  const sys = new FakeSyscalls().add(200, { tgid: 200, comm: 'bravo' }).add(201, { tgid: 200, comm: 'bravo-worker' });
  const opts = fakeOptions(
    new FakeStatsSource(sampleTasks()),
    null,
    withActions ? { actions: new TaskActions(sys) } : {},
  );
  return { sys, c: new DashboardController(opts) };
}

test('inspect publishes what it read; renice acts from that value and says what it read back', () => {
  const { sys, c } = controller();
  assert.equal(c.getSnapshot().actionsOff, null);
  const seq = c.getSnapshot().seq;
  c.inspect(PROC, 'bravo');
  const snap = c.getSnapshot();
  assert.ok(snap.seq > seq, 'published');
  assert.ok(snap.inspected?.ok && snap.inspected.task.nice === 0);
  // someone else renices it meanwhile: the prompt said "from 0 to 2", so 2 it is
  sys.tasks.get(200)!.nice = 7;
  c.renice(PROC, 2);
  assert.equal(c.getSnapshot().message, 'renice 200 (bravo): nice is now 2 (all 2 threads)');
  assert.equal(c.getSnapshot().inspected, null, 'the prompt is done with it');
  c.renice(PROC, 2);
  assert.equal(c.getSnapshot().message, 'renice: nothing done (the task was not read for the confirmation)');
});

test('ionice and signals act on what was read; a different target is not acted on', () => {
  const { sys, c } = controller();
  c.inspect(PROC, 'bravo');
  c.ionice(PROC, { level: 2 });
  assert.equal(c.getSnapshot().message, 'ionice 200 (bravo): IO priority is now best-effort 2 (all 2 threads)');
  c.inspect(PROC, 'bravo');
  c.sendSignal({ kind: 'tgid', id: 300 }, 'KILL');
  assert.match(c.getSnapshot().message!, /^signal: nothing done/);
  c.inspect(PROC, 'bravo');
  c.sendSignal(PROC, 'STOP');
  assert.equal(c.getSnapshot().message, 'sent SIGSTOP (19) to 200 (bravo)');
  assert.deepEqual(sys.log.slice(-1), ['kill 200 STOP']);
});

test('a task that had gone when read: the action says so', () => {
  const { sys, c } = controller();
  sys.tasks.clear();
  c.inspect(PROC, 'bravo');
  c.renice(PROC, 1);
  assert.equal(c.getSnapshot().message, 'renice: task 200 (bravo) has gone');
});

test('without actions (a replay): the snapshot says why, and nothing is read or done', () => {
  const { c } = controller(false);
  assert.equal(c.getSnapshot().actionsOff, ACTIONS_OFF_IN_REPLAY);
  c.inspect(PROC, 'bravo');
  assert.equal(c.getSnapshot().inspected, null);
  c.sendSignal(PROC, 'KILL');
  assert.equal(c.getSnapshot().message, `signal: ${ACTIONS_OFF_IN_REPLAY}`);
  c.notice('hello');
  assert.equal(c.getSnapshot().message, 'hello');
});
