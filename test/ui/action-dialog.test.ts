// The action prompts as keys see them: F7/F8/[/] renice, I ionice, F9 signal, each asking
// y/n about a named task; n and Esc cancel; a row that goes before y is not acted on; in a
// replay the keys say why not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Inspected, Inspection } from '../../src/actions/task-actions.js';
import type { Target } from '../../src/sources/types.js';
import { promptParts } from '../../src/ui/action-dialog-reducer.js';
import { activeScopes, initialUiState, type UiState } from '../../src/ui/dashboard-reducer.js';
import { keyHints, type KeyEvent } from '../../src/ui/keymap.js';
import { taskRow } from '../fakes/rows.js';
import { press, threadRow, uiContext } from '../fakes/ui-context.js';

const ctx = uiContext;

/** What the engine would have read: nice 0, best-effort 4, three threads. */
function read(target: Target, over: Partial<Inspection> = {}): Inspected {
  return {
    target,
    ok: true,
    task: {
      target,
      comm: 'dd',
      startTicks: 1,
      tids: [target.id, target.id + 1, target.id + 2],
      nice: 0,
      niceMin: 0,
      niceMax: 0,
      io: { ioClass: 'best-effort', level: 4 },
      ioUniform: true,
      ...over,
    },
  };
}

const prompt = (s: UiState, inspected: Inspected | null) =>
  promptParts(s.dialog!, inspected)
    .map((p) => p.text)
    .join('');

const F7: KeyEvent = { name: 'f7' };
const F8: KeyEvent = { name: 'f8' };
const Y: KeyEvent = { ch: 'y' };
const PROC2: Target = { kind: 'tgid', id: 2 };

test('F8 asks to renice the highlighted task by +1, F7/F8 adjust, y does it', () => {
  const c = ctx([taskRow(1), taskRow(2)]);
  let r = press(initialUiState, c, { name: 'down' }, F8);
  assert.deepEqual(r.effects, [{ type: 'inspect', target: PROC2, comm: 'p2' }], 'the engine reads the task first');
  const withRead = ctx([taskRow(1), taskRow(2)], { inspected: read(PROC2) });
  assert.equal(prompt(r.state, withRead.inspected), 'renice 2 (dd) from 0 to 1, all 3 threads? y/n');
  assert.deepEqual(keyHints(activeScopes(r.state)), [
    { keys: 'F7/F8', help: 'nice' },
    { keys: 'y', help: 'yes' },
    { keys: 'n', help: 'no' },
    { keys: 'Ctrl-C', help: 'quit' },
  ]);
  r = press(r.state, withRead, F8, F8, { ch: ']' });
  assert.equal(prompt(r.state, withRead.inspected), 'renice 2 (dd) from 0 to 2, all 3 threads? y/n');
  r = press(r.state, withRead, { ch: 'q' }, { ch: 'j' }, { ch: '/' });
  assert.deepEqual(r.effects, [], 'the prompt has the keys: q does not quit, j does not move, / does not filter');
  assert.equal(r.state.table.editing, false);
  r = press(r.state, withRead, Y);
  assert.deepEqual(r.effects, [{ type: 'renice', target: PROC2, delta: 2 }]);
  assert.equal(r.state.dialog, null);
  assert.deepEqual(press(r.state, withRead, Y).effects, [], 'y again: nothing to confirm');
});

test('[ and ] are F8 and F7; the value stops at the ends of -20..19', () => {
  const c = ctx([taskRow(2)], { inspected: read(PROC2, { nice: 18, niceMin: 18, niceMax: 18 }) });
  let r = press(initialUiState, c, { ch: '[' }, { ch: '[' }, { ch: '[' });
  assert.match(prompt(r.state, c.inspected), /from 18 to 19,/);
  r = press(r.state, c, F7);
  assert.match(prompt(r.state, c.inspected), /from 18 to 18,/, 'one key back, not three');
  const mixed = read(PROC2, { nice: 0, niceMin: -5, niceMax: 0 });
  assert.equal(
    prompt(press(initialUiState, c, { ch: ']' }).state, mixed),
    'renice 2 (dd) from 0 (its threads -5..0) to -1, all 3 threads? y/n',
  );
});

test('n and Esc cancel: nothing is done; Ctrl-C still quits', () => {
  const c = ctx([taskRow(2)], { inspected: read(PROC2) });
  for (const cancel of [{ ch: 'n' }, { name: 'escape' }] as KeyEvent[]) {
    for (const open of [F8, { ch: 'I' }, { name: 'f9' }] as KeyEvent[]) {
      const r = press(initialUiState, c, open, cancel);
      assert.equal(r.state.dialog, null, JSON.stringify([open, cancel]));
      assert.deepEqual(
        r.effects.filter((e) => e.type !== 'inspect'),
        [],
      );
    }
  }
  assert.deepEqual(press(initialUiState, c, F8, { ctrl: 'c' }).effects.at(-1), { type: 'quit' });
});

test('a row that has gone from the table before y: nothing is done, and the footer says so', () => {
  let r = press(initialUiState, ctx([taskRow(1), taskRow(2)]), { name: 'down' }, F8);
  // the next refresh no longer lists it (the highlight falls on another row)
  r = press(r.state, ctx([taskRow(1), taskRow(3)], { inspected: read(PROC2) }), Y);
  assert.deepEqual(r.effects, [{ type: 'notice', text: 'renice: 2 (p2) has gone from the table: nothing done' }]);
  assert.equal(r.state.dialog, null);
});

test('what the engine could not read is said in the prompt, and y acts on nothing', () => {
  const c = ctx([taskRow(2)]);
  const { state } = press(initialUiState, c, F8);
  assert.equal(prompt(state, null), 'renice 2 (p2) by +1? (reading it…)');
  const gone: Inspected = { target: PROC2, ok: false, message: 'task 2 (p2) has gone' };
  assert.equal(prompt(state, gone), 'renice: task 2 (p2) has gone · Esc');
  // (the engine acts only on what it read: y sends the effect, the engine says gone)
  assert.deepEqual(press(state, ctx([taskRow(2)], { inspected: gone }), Y).effects, [
    { type: 'renice', target: PROC2, delta: 1 },
  ]);
});

test('I: class with r/b/i, level with 0-7 (a level means best-effort), y does it', () => {
  const c = ctx([taskRow(2)], { inspected: read(PROC2) });
  let r = press(initialUiState, c, { ch: 'I' });
  assert.equal(prompt(r.state, c.inspected), 'ionice 2 (dd) from best-effort 4 to best-effort 4, all 3 threads? y/n');
  assert.deepEqual(keyHints(activeScopes(r.state)).slice(0, 2), [
    { keys: 'r/b/i', help: 'class' },
    { keys: '0-7', help: 'level' },
  ]);
  r = press(r.state, c, { ch: 'i' });
  assert.match(prompt(r.state, c.inspected), /to idle, all/);
  r = press(r.state, c, { ch: '6' });
  assert.match(prompt(r.state, c.inspected), /to best-effort 6, all/);
  r = press(r.state, c, { ch: 'r' }, { ch: '8' });
  assert.match(prompt(r.state, c.inspected), /to realtime 6, all/, '8 is no level');
  r = press(r.state, c, Y);
  assert.deepEqual(r.effects, [{ type: 'ionice', target: PROC2, choice: { ioClass: 'realtime', level: 6 } }]);
});

test("F9: choose a signal, Enter, then y sends it to the row's process", () => {
  const thread = threadRow(201, 200);
  const proc: Target = { kind: 'tgid', id: 200 };
  const c = ctx([thread], { inspected: read(proc, { comm: 'server' }) });
  let r = press(initialUiState, c, { name: 'f9' });
  assert.deepEqual(r.effects, [{ type: 'inspect', target: proc, comm: 'p201' }], 'a signal goes to the process');
  const chooser = promptParts(r.state.dialog!, c.inspected);
  assert.equal(
    chooser.map((p) => p.text).join(''),
    'signal to 200 (server): TERM 15 KILL 9 INT 2 HUP 1 STOP 19 CONT 18 QUIT 3 USR1 10 USR2 12',
  );
  assert.deepEqual(
    chooser.filter((p) => p.chosen).map((p) => p.text),
    ['TERM 15'],
  );
  r = press(r.state, c, Y);
  assert.equal(r.state.dialog?.kind, 'signal', 'y in the chooser: not yet');
  assert.deepEqual(r.effects, []);
  r = press(r.state, c, { name: 'right' }, { name: 'down' }, { name: 'left' }, { name: 'return' });
  assert.equal(prompt(r.state, c.inspected), "send SIGKILL (9) to 200 (server) (thread 201's process)? y/n");
  r = press(r.state, c, Y);
  assert.deepEqual(r.effects, [{ type: 'signal', target: proc, signal: 'KILL' }]);
  const last = press(initialUiState, c, { name: 'f9' }, { name: 'left' }).state;
  assert.equal(
    promptParts(last.dialog!, c.inspected, 41)
      .map((p) => p.text)
      .join(''),
    'signal to 200 (server): … USR1 10 USR2 12',
    'in a narrow footer the chosen signal still shows',
  );
  assert.deepEqual(
    last.dialog,
    { kind: 'signal', task: { row: thread.target, target: proc, comm: 'p201' }, signal: 'USR2', confirming: false },
    'the choice wraps around',
  );
});

test('in a replay the keys say why not, and open nothing', () => {
  const c = ctx([taskRow(2)], { actionsOff: 'not available in a replay' });
  for (const [key, verb] of [
    [F8, 'renice'],
    [F7, 'renice'],
    [{ ch: 'I' }, 'ionice'],
    [{ name: 'f9' }, 'signal'],
  ] as [KeyEvent, string][]) {
    const r = press(initialUiState, c, key);
    assert.equal(r.state.dialog, null);
    assert.deepEqual(r.effects, [{ type: 'notice', text: `${verb}: not available in a replay` }]);
  }
  assert.deepEqual(press(initialUiState, ctx([]), F8).effects, [], 'no row, nothing to act on');
});
