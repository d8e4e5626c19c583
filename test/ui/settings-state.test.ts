// Saved settings and the dashboard: the state a session starts from, the settings it leaves
// (pure), and runDashboard handing over what changed when the user quits, and only then.
import './not-in-ci.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedSettings, type Settings } from '../../src/settings/schema.js';
import { applyKey, initialUiState } from '../../src/ui/dashboard-reducer.js';
import type { KeyEvent } from '../../src/ui/keymap.js';
import { runDashboard } from '../../src/ui/run.js';
import { seedView, viewSettings, type DashboardView } from '../../src/ui/settings-state.js';
import { fakeOptions, FakeStatsSource, sampleTasks } from '../fakes/dashboard-sources.js';
import { FakeKeyboard, FakeTerminal } from '../fakes/terminal.js';
import { uiContext } from '../fakes/ui-context.js';

const base: DashboardView = { ui: initialUiState, mode: 'process', intervalSec: 1 };

test('no settings: the defaults, untouched', () => {
  assert.equal(seedView({}, base), base);
  assert.deepEqual(viewSettings(base), {
    sortColumn: 'CPU',
    sortDescending: true,
    threads: false,
    intervalSec: 1,
    columns: [],
    hideKernelThreads: false,
    hideIdle: false,
    tree: false,
  });
});

test('every setting seeds its place; a partial set keeps the defaults for the rest', () => {
  const all: Required<Settings> = {
    sortColumn: 'IO',
    sortDescending: false,
    threads: true,
    intervalSec: 5,
    columns: ['PID', 'USER', 'IO'],
    hideKernelThreads: true,
    hideIdle: true,
    tree: true,
  };
  const v = seedView(all, base);
  assert.deepEqual(v.ui.table.columns, ['PID', 'USER', 'IO']);
  assert.deepEqual([v.ui.table.hideKernel, v.ui.table.hideIdle, v.ui.table.tree], [true, true, true]);
  assert.equal(v.ui.table.sort, 'IO');
  assert.equal(v.ui.table.descending, false);
  assert.equal(v.mode, 'thread');
  assert.equal(v.intervalSec, 5);
  assert.deepEqual(viewSettings(v), all, 'what is seeded is what is extracted');
  assert.deepEqual(v.ui.table.filter, '', 'nothing else of the table changes');
  assert.equal(initialUiState.table.sort, 'CPU', 'the initial state is not modified');

  const partial = seedView({ sortColumn: 'PID' }, base);
  assert.deepEqual(viewSettings(partial), {
    sortColumn: 'PID',
    sortDescending: true,
    threads: false,
    intervalSec: 1,
    columns: [],
    hideKernelThreads: false,
    hideIdle: false,
    tree: false,
  });
  assert.equal(seedView({ columns: [] }, base).ui.table.columns, null, '[]: as many columns as fit');
});

test('the state after keys is extracted as settings; only what changed is to be saved', () => {
  const ctx = uiContext([]);

  const start = seedView({ sortColumn: 'IO' }, base);
  let ui = start.ui;
  for (const ev of [{ ch: 's' }, { ch: 'r' }, { ch: 'K' }, { ch: '/' }, { ch: 'x' }] as KeyEvent[])
    ui = applyKey(ui, ev, ctx).state;
  const end = viewSettings({ ...start, ui });
  assert.deepEqual(end, {
    sortColumn: 'SWAP',
    sortDescending: false,
    threads: false,
    intervalSec: 1,
    columns: [],
    hideKernelThreads: true,
    hideIdle: false,
    tree: false,
  });
  assert.deepEqual(changedSettings(viewSettings(start), end), {
    sortColumn: 'SWAP',
    sortDescending: false,
    hideKernelThreads: true,
  });
});

const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function session(keys: string | null, settings: Settings) {
  const terminal = new FakeTerminal();
  const keyboard = new FakeKeyboard();
  const kept: Settings[] = [];
  const opts = fakeOptions(new FakeStatsSource(sampleTasks()), null, {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: keyboard as unknown as NodeJS.ReadStream,
    settings,
    mode: settings.threads ? 'thread' : 'process',
    keepSettings: (c) => kept.push(c),
  });
  const run = runDashboard(opts, keys === null ? { durationMs: 500 } : {});
  await tick(400);
  const firstFrame = plain(terminal.written);
  if (keys !== null) keyboard.type(keys);
  assert.equal(await run, 0);
  return { firstFrame, kept };
}

test('runDashboard starts from the settings, and hands over what changed when the user quits', async () => {
  const { firstFrame, kept } = await session('tnq', { sortColumn: 'IO', sortDescending: false });
  assert.match(firstFrame, /Processes 3/);
  assert.match(firstFrame, /IOD%▲/, `the saved sort, ascending, is on screen:\n${firstFrame}`);
  // t: threads; n: sort by pid (ascending); q in the same burst quits with that state
  assert.deepEqual(kept, [{ sortColumn: 'PID', threads: true }]);
});

test('runDashboard: nothing changed, nothing to keep; ended other than by the user (a timed run), nothing kept', async () => {
  assert.deepEqual((await session('q', { threads: true })).kept, []);
  const timed = await session(null, {});
  assert.deepEqual(timed.kept, []);
});
