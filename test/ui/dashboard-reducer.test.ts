// The UI reducers: the highlight follows its task, filter typing owns the keys, the feed freezes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEYMAP, keyHints, keyLabel, resolveIn, type KeyEvent } from '../../src/ui/keymap.js';
import { activeScopes, initialUiState, type UiContext, type UiState } from '../../src/ui/dashboard-reducer.js';
import { FeedStore } from '../../src/model/exit-feed/store.js';
import { newerExits, shownExits, type FeedView } from '../../src/ui/exit-feed-reducer.js';
import { selectedIndex, windowTop } from '../../src/model/table-view.js';
import { exitStorm } from '../fakes/dashboard-sources.js';
import { taskRow } from '../fakes/rows.js';
import { press, uiContext } from '../fakes/ui-context.js';

const ctx = (ids: number[], over: Partial<UiContext> = {}): UiContext =>
  uiContext(
    ids.map((id) => taskRow(id)),
    over,
  );

const down: KeyEvent = { name: 'down' };

test('the highlight moves by row, page, home and end, and scrolls the window', () => {
  const c = ctx([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  let { state } = press(initialUiState, c, down, down);
  assert.equal(selectedIndex(state.table, c.rowKeys), 2);
  ({ state } = press(state, c, { name: 'pageDown' }));
  assert.equal(selectedIndex(state.table, c.rowKeys), 6);
  assert.equal(windowTop(state.table.top, 6, 12, 5), 2);
  ({ state } = press(state, c, { name: 'end' }));
  assert.equal(state.table.selectedKey, 'tgid:12');
  ({ state } = press(state, c, { name: 'home' }));
  assert.equal(state.table.selectedKey, 'tgid:1');
});

test('the highlight stays on its task when rows re-sort, and pinning pins that task', () => {
  const { state } = press(initialUiState, ctx([1, 2, 3]), down);
  assert.equal(state.table.selectedKey, 'tgid:2');
  const resorted = ctx([3, 2, 1]);
  assert.equal(selectedIndex(state.table, resorted.rowKeys), 1);
  const r = press(state, ctx([2, 3, 1]), { name: 'return' });
  assert.deepEqual(r.effects, [{ type: 'togglePin', target: { kind: 'tgid', id: 2 }, comm: 'p2' }]);
  assert.equal(r.state.watch.selectedKey, 'tgid:2', 'the new pin is selected in the watch pane');
  // its task gone: the highlight stays at the same position
  assert.equal(selectedIndex(state.table, ctx([1, 3, 4]).rowKeys), 1);
});

test('"/" starts a filter that takes every typed key, q included; Enter keeps it, Esc drops it', () => {
  const c = ctx([1, 2]);
  let r = press(initialUiState, c, { ch: '/' }, { ch: 'q' }, { ch: 'x' }, { name: 'backspace' }, { name: 'space' });
  assert.deepEqual(r.effects, [], 'q typed into the filter does not quit');
  assert.equal(r.state.table.filter, 'q ');
  assert.equal(r.state.table.editing, true);
  r = press(r.state, c, { name: 'return' });
  assert.equal(r.state.table.editing, false);
  assert.equal(r.state.table.filter, 'q ');
  r = press(r.state, c, { name: 'escape' });
  assert.equal(r.state.table.filter, '');
  assert.deepEqual(
    press(initialUiState, c, { ch: '/' }, { ctrl: 'c' }).effects,
    [{ type: 'quit' }],
    'Ctrl-C still quits',
  );
});

test('while a filter is being typed the footer shows exactly the keys that work', () => {
  const c = ctx([1, 2]);
  const typing = press(initialUiState, c, { ch: '/' }).state;
  const hints = keyHints(activeScopes(typing));
  assert.deepEqual(hints, [
    { keys: 'Enter', help: 'keep' },
    { keys: 'Esc', help: 'drop' },
    { keys: 'Ctrl-C', help: 'quit' },
  ]);
  // every hinted binding of every scope: shown (by one of its keys that works) iff a key of it works now
  for (const b of KEYMAP) {
    if (!b.hint) continue;
    const working = b.keys.filter(
      (k): k is KeyEvent => !('printable' in k) && !('chars' in k) && resolveIn(activeScopes(typing), k) === b.command,
    );
    const shown = hints.filter(
      (h) => h.help === b.hint && h.keys.split('/').some((l) => working.map(keyLabel).includes(l)),
    );
    assert.equal(shown.length > 0, working.length > 0, `${b.scope} ${b.command}: shown iff it works while typing`);
  }
  // and each does what it says
  assert.equal(press(typing, c, { name: 'return' }).state.table.editing, false);
  assert.equal(press(typing, c, { ch: 'x' }, { name: 'escape' }).state.table.filter, '');
  assert.deepEqual(press(typing, c, { ctrl: 'c' }).effects, [{ type: 'quit' }]);
});

test('Tab cycles the panes shown (the watch pane only while something is pinned, or w); keys act on the focused one', () => {
  let { state } = press(initialUiState, ctx([1]), { name: 'tab' });
  assert.equal(state.focus, 'feed', 'nothing pinned: no watch pane to focus');
  ({ state } = press(initialUiState, ctx([1]), { ch: 'w' }, { name: 'tab' }));
  assert.equal(state.focus, 'watch', 'w shows it');
  const c = ctx([1], { pinnedKeys: ['tgid:1', 'pid:5'] });
  ({ state } = press(initialUiState, c, { name: 'tab' }));
  assert.equal(state.focus, 'watch');
  ({ state } = press(state, c, down));
  assert.equal(state.watch.selectedKey, 'pid:5');
  assert.deepEqual(press(state, c, { ch: 'u' }).effects, [{ type: 'unpin', key: 'pid:5' }]);
  ({ state } = press(state, c, { name: 'tab' }, { name: 'tab' }));
  assert.equal(state.focus, 'procs');
  ({ state } = press(state, c, { name: 'shiftTab' }));
  assert.equal(state.focus, 'feed');
});

test('sort keys: a new column, the same again reverses; < > step through the columns', () => {
  const c = ctx([1]);
  let { state } = press(initialUiState, c, { ch: 'i' });
  assert.deepEqual([state.table.sort, state.table.descending], ['IO', true]);
  ({ state } = press(state, c, { ch: 'i' }));
  assert.deepEqual([state.table.sort, state.table.descending], ['IO', false]);
  ({ state } = press(state, c, { ch: '>' }));
  assert.equal(state.table.sort, 'SWAP');
  ({ state } = press(state, c, { ch: 'n' }));
  assert.deepEqual([state.table.sort, state.table.descending], ['PID', false]);
});

test('feed keys: Down freezes the view on its exits as more arrive, Home is live, p pauses and resumes', () => {
  const store = new FeedStore([0], 50);
  store.fold(exitStorm(1, 100));
  const feed = (): FeedView => ({ ...store.snapshot(), pageSize: 4 });
  const top = (s: UiState, v: FeedView) => shownExits(s.feed, v).entries.at(s.feed.start)?.pid;
  let c = ctx([1], { feed: feed() });
  let { state } = press({ ...initialUiState, focus: 'feed' }, c, down, down);
  assert.equal(top(state, c.feed), 98);
  store.fold(exitStorm(101, 60));
  c = ctx([1], { feed: feed() });
  assert.equal(top(state, c.feed), 98, 'sixty newer exits (more than the ring holds): the same rows');
  assert.equal(newerExits(state.feed, c.feed), 60);
  ({ state } = press(state, c, { name: 'pageDown' }));
  assert.equal(top(state, c.feed), 95, 'a page (less one row) older, within the snapshot');
  ({ state } = press(state, c, { name: 'home' }));
  assert.equal(top(state, c.feed), 160, 'Home: live again');
  ({ state } = press(state, c, { ch: 'p' }));
  assert.equal(state.feed.paused, true);
  store.fold(exitStorm(161, 5));
  assert.equal(top(state, feed()), 160);
  ({ state } = press(state, c, { ch: 'p' }));
  assert.equal(top(state, feed()), 165);
});

test('K, z and T toggle kernel threads, idle tasks and the tree; u cycles through the users, then all', () => {
  const c = ctx([1], { users: [0, 1000] });
  let { state } = press(initialUiState, c, { ch: 'K' }, { ch: 'z' }, { ch: 'T' });
  assert.deepEqual([state.table.hideKernel, state.table.hideIdle, state.table.tree], [true, true, true]);
  ({ state } = press(state, c, { ch: 'K' }));
  assert.equal(state.table.hideKernel, false);
  const users: (number | null)[] = [];
  for (let i = 0; i < 3; i++) {
    ({ state } = press(state, c, { ch: 'u' }));
    users.push(state.table.uid);
  }
  assert.deepEqual(users, [0, 1000, null]);
});

test('C opens the column chooser: Space shows or hides the highlighted column, a goes back to automatic', () => {
  const c = ctx([1]);
  let { state } = press(initialUiState, c, { ch: 'C' });
  assert.equal(state.chooser, 0);
  assert.deepEqual(activeScopes(state)[0], { scope: 'columns' });
  ({ state } = press(state, c, { name: 'space' })); // PID: shown, so hidden
  assert.deepEqual(state.table.columns, ['CPU', 'IO', 'SWAP']);
  ({ state } = press(state, c, down, down, { name: 'space' })); // USER: shown now
  assert.deepEqual(state.table.columns, ['CPU', 'IO', 'SWAP', 'USER']);
  ({ state } = press(state, c, { ch: 'a' }));
  assert.equal(state.table.columns, null);
  ({ state } = press(state, c, { name: 'escape' }));
  assert.equal(state.chooser, null);
});

test('an unbound key says so in the footer until the next key', () => {
  let { state } = press(initialUiState, ctx([1]), { ch: 'Q' });
  assert.match(state.hint ?? '', /^Q: no such key here/);
  ({ state } = press(state, ctx([1]), down));
  assert.equal(state.hint, null);
});

test('< and > step through the sort columns on screen', () => {
  const c = ctx([1], { sortable: ['PID', 'USE', 'CPU', 'COMMAND'] });
  let { state } = press(initialUiState, c, { ch: '>' });
  assert.equal(state.table.sort, 'COMMAND');
  ({ state } = press(state, c, { ch: '>' }, { ch: '>' }));
  assert.equal(state.table.sort, 'USE');
  ({ state } = press(state, c, { ch: '<' }));
  assert.equal(state.table.sort, 'PID');
});
