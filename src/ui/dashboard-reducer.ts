// The dashboard's whole UI state and the one place a key press becomes a change: the
// keymap turns it into a command for the mode and focused pane, the pane's pure reducer
// applies it, and what the engine must do (pin, quit...) comes back as effects.
import type { SignalName } from '../actions/syscalls.js';
import { taskName, type Inspected, type IoChoice } from '../actions/task-actions.js';
import type { SortColumn, TaskRow } from '../model/scan.js';
import { COLUMNS, type ColumnId } from './columns.js';
import { targetKey, type Target } from '../sources/types.js';
import { keyLabel, resolveIn, typedText, type ActiveScope, type Command, type KeyEvent, type Scope } from './keymap.js';
import { dialogScope, reduceDialog, type DialogAction, type DialogState } from './action-dialog-reducer.js';
import { initialFeedPaneState, reduceFeedPane, type FeedPaneState, type FeedView } from './exit-feed-reducer.js';
import { initialTableState, reduceTable, type TableAction, type TableState } from './process-table-reducer.js';
import { selectedIndex } from '../model/table-view.js';
import { initialWatchPaneState, reduceWatchPane, selectedPinned, type WatchPaneState } from './watch-pane-reducer.js';

export type Pane = 'procs' | 'watch' | 'feed';
export const PANES: readonly Pane[] = ['procs', 'watch', 'feed'];

export interface UiState {
  focus: Pane;
  help: boolean;
  /** the first help line shown */
  helpTop: number;
  /** w was pressed: the watch pane's visibility is the opposite of its default (shown while something is pinned) */
  watchToggled: boolean;
  /** the last key meant nothing here: a word on what does (cleared by the next key) */
  hint: string | null;
  /** the column chooser is open (C), with this column highlighted */
  chooser: number | null;
  table: TableState;
  watch: WatchPaneState;
  feed: FeedPaneState;
  /** an action on a task being chosen or confirmed: it has the keys */
  dialog: DialogState | null;
}

export const initialUiState: UiState = {
  focus: 'procs',
  help: false,
  helpTop: 0,
  watchToggled: false,
  hint: null,
  chooser: null,
  table: initialTableState,
  watch: initialWatchPaneState,
  feed: initialFeedPaneState,
  dialog: null,
};

/** What is on screen now, as the reducers need it. */
export interface UiContext {
  /** table rows in display order */
  rows: readonly TaskRow[];
  rowKeys: readonly string[];
  tablePageSize: number;
  pinnedKeys: readonly string[];
  feed: FeedView;
  /** the help's length and page, in lines */
  help: { lines: number; pageSize: number };
  /** the process table's columns on screen now, and what they sort by */
  columns: readonly ColumnId[];
  sortable: readonly SortColumn[];
  /** uids of the rows before the user filter */
  users: readonly number[];
  /** why actions on a task are not available (a replay); null when they are */
  actionsOff: string | null;
  /** the task an action prompt is for, as the engine read it */
  inspected: Inspected | null;
}

/** The watch pane is on screen: while something is pinned, unless w hid it (or shown by w). */
export function watchShown(state: UiState, pinned: number): boolean {
  return pinned > 0 !== state.watchToggled;
}

export type Effect =
  | { type: 'quit' }
  | { type: 'togglePin'; target: Target; comm: string }
  | { type: 'unpin'; key: string }
  | { type: 'toggleThreads' }
  | { type: 'cycleView' }
  | { type: 'interval'; dir: 1 | -1 }
  | { type: 'toggleDelayacct' }
  | { type: 'notice'; text: string }
  /** read the task for an action's prompt */
  | { type: 'inspect'; target: Target; comm: string }
  | { type: 'renice'; target: Target; delta: number }
  | { type: 'ionice'; target: Target; choice: IoChoice }
  | { type: 'signal'; target: Target; signal: SignalName };

// typing owns every key that types; Ctrl keys (Ctrl-C) keep their global meaning
const TYPING: readonly ActiveScope[] = [{ scope: 'filter' }, { scope: 'global', ctrlOnly: true }];
const IN_HELP: readonly ActiveScope[] = [{ scope: 'help' }, { scope: 'global' }];
const CHOOSING: readonly ActiveScope[] = [{ scope: 'columns' }, { scope: 'global' }];
const FOCUSED: Record<Pane, readonly ActiveScope[]> = {
  procs: [{ scope: 'global' }, { scope: 'procs' }],
  watch: [{ scope: 'global' }, { scope: 'watch' }],
  feed: [{ scope: 'global' }, { scope: 'feed' }],
};
// a prompt has every key but Ctrl-C; the renice and ionice prompts ask y/n at once
const CTRL_ONLY: ActiveScope = { scope: 'global', ctrlOnly: true };
const IN_DIALOG: Partial<Record<Scope, readonly ActiveScope[]>> = {
  renice: [{ scope: 'renice' }, { scope: 'confirm' }, CTRL_ONLY],
  ionice: [{ scope: 'ionice' }, { scope: 'confirm' }, CTRL_ONLY],
  signal: [{ scope: 'signal' }, CTRL_ONLY],
  confirm: [{ scope: 'confirm' }, CTRL_ONLY],
};

/** The keymap scopes a key is looked up in now, in order: key handling and the footer's hints both. */
export function activeScopes(state: UiState): readonly ActiveScope[] {
  if (state.dialog) return IN_DIALOG[dialogScope(state.dialog)]!;
  if (state.table.editing) return TYPING;
  if (state.help) return IN_HELP;
  if (state.chooser !== null) return CHOOSING;
  return FOCUSED[state.focus];
}

const NAV: Partial<Record<Command, number | 'home' | 'end'>> = {
  up: -1,
  down: 1,
  pageUp: -Infinity,
  pageDown: Infinity,
  home: 'home',
  end: 'end',
};

function navigate(state: UiState, command: Command, ctx: UiContext): UiState {
  const nav = NAV[command]!;
  if (state.help) {
    const last = Math.max(0, ctx.help.lines - ctx.help.pageSize);
    const page = Math.max(1, ctx.help.pageSize - 1);
    const at = Math.min(state.helpTop, last);
    const top = nav === 'home' ? 0 : nav === 'end' ? last : at + (Number.isFinite(nav) ? nav : Math.sign(nav) * page);
    return { ...state, helpTop: Math.max(0, Math.min(last, top)) };
  }
  if (state.chooser !== null) {
    const last = COLUMNS.length - 1;
    const at =
      nav === 'home' ? 0 : nav === 'end' ? last : state.chooser + (Number.isFinite(nav) ? nav : Math.sign(nav) * last);
    return { ...state, chooser: Math.max(0, Math.min(last, at)) };
  }
  switch (state.focus) {
    case 'procs': {
      const view = { keys: ctx.rowKeys, pageSize: ctx.tablePageSize };
      const page = Math.max(1, ctx.tablePageSize - 1);
      const action =
        nav === 'home'
          ? { type: 'home' as const }
          : nav === 'end'
            ? { type: 'end' as const }
            : { type: 'move' as const, delta: Number.isFinite(nav) ? nav : Math.sign(nav) * page };
      return { ...state, table: reduceTable(state.table, action, view) };
    }
    case 'watch': {
      const action =
        nav === 'home'
          ? { type: 'home' as const }
          : nav === 'end'
            ? { type: 'end' as const }
            : { type: 'move' as const, delta: Math.sign(nav) };
      return { ...state, watch: reduceWatchPane(state.watch, action, ctx.pinnedKeys) };
    }
    case 'feed': {
      const page = Math.max(1, ctx.feed.pageSize - 1);
      // newest first: down goes back in time (and freezes the view), up toward the newest
      const action =
        nav === 'home'
          ? { type: 'live' as const }
          : nav === 'end'
            ? { type: 'oldest' as const }
            : { type: 'scroll' as const, delta: Number.isFinite(nav) ? nav : Math.sign(nav) * page };
      return { ...state, feed: reduceFeedPane(state.feed, action, ctx.feed) };
    }
  }
}

export interface KeyResult {
  state: UiState;
  effects: Effect[];
}

/** Open an action's prompt for the highlighted row, and have the engine read its task. */
function openDialog(
  state: UiState,
  ctx: UiContext,
  kind: DialogState['kind'],
  make: (task: DialogState['task']) => DialogState,
): KeyResult {
  const row = ctx.rows[selectedIndex(state.table, ctx.rowKeys)];
  if (!row) return { state, effects: [] };
  if (ctx.actionsOff) return { state, effects: [{ type: 'notice', text: `${kind}: ${ctx.actionsOff}` }] };
  // a signal reaches the whole process whichever thread it names: say so by naming the process
  const target: Target = kind === 'signal' ? { kind: 'tgid', id: row.tgid } : row.target;
  return {
    state: { ...state, dialog: make({ row: row.target, target, comm: row.comm }) },
    effects: [{ type: 'inspect', target, comm: row.comm }],
  };
}

/** y: the effect the prompt asked about, unless its row has gone from the table meanwhile. */
function confirm(state: UiState, ctx: UiContext): KeyResult {
  const d = state.dialog;
  if (!d || (d.kind === 'signal' && !d.confirming)) return { state, effects: [] };
  const closed = { ...state, dialog: null };
  if (!ctx.rowKeys.includes(targetKey(d.task.row))) {
    const text = `${d.kind}: ${taskName(d.task.row, d.task.comm)} has gone from the table: nothing done`;
    return { state: closed, effects: [{ type: 'notice', text }] };
  }
  const { target } = d.task;
  const effect: Effect =
    d.kind === 'renice'
      ? { type: 'renice', target, delta: d.delta }
      : d.kind === 'ionice'
        ? { type: 'ionice', target, choice: d.choice }
        : { type: 'signal', target, signal: d.signal };
  return { state: closed, effects: [effect] };
}

/** Commands that are one action of the process table as they stand. */
const TABLE_ACTIONS = {
  sortCpu: { type: 'sort', column: 'CPU' },
  sortIo: { type: 'sort', column: 'IO' },
  sortSwap: { type: 'sort', column: 'SWAP' },
  sortPid: { type: 'sort', column: 'PID' },
  sortUse: { type: 'sort', column: 'USE' },
  hideKernel: { type: 'toggle', what: 'hideKernel' },
  hideIdle: { type: 'toggle', what: 'hideIdle' },
  toggleTree: { type: 'toggle', what: 'tree' },
  nextUser: { type: 'nextUser' },
  autoColumns: { type: 'autoColumns' },
  sortNext: { type: 'sortStep', dir: 1 },
  sortPrev: { type: 'sortStep', dir: -1 },
  sortReverse: { type: 'reverse' },
  clearFilter: { type: 'filterCancel' },
  filterErase: { type: 'filterErase' },
  filterAccept: { type: 'filterAccept' },
  filterCancel: { type: 'filterCancel' },
} satisfies Partial<Record<Command, TableAction>>;
type TableCommand = keyof typeof TABLE_ACTIONS;

/** Commands that are one action of the open prompt (none open: nothing happens). */
const DIALOG_ACTIONS = {
  ioRealtime: { type: 'ioClass', ioClass: 'realtime' },
  ioBestEffort: { type: 'ioClass', ioClass: 'best-effort' },
  ioIdle: { type: 'ioClass', ioClass: 'idle' },
  signalPrev: { type: 'signalStep', dir: -1 },
  signalNext: { type: 'signalStep', dir: 1 },
  signalPick: { type: 'signalPick' },
} satisfies Partial<Record<Command, DialogAction>>;
type DialogCommand = keyof typeof DIALOG_ACTIONS;

/** Commands that only ask the engine for something. */
const EFFECT_OF = {
  quit: { type: 'quit' },
  intervalUp: { type: 'interval', dir: 1 },
  intervalDown: { type: 'interval', dir: -1 },
  toggleDelayacct: { type: 'toggleDelayacct' },
  cycleView: { type: 'cycleView' },
} satisfies Partial<Record<Command, Effect>>;
type EffectCommand = keyof typeof EFFECT_OF;

const isTableCommand = (c: Command): c is TableCommand => Object.hasOwn(TABLE_ACTIONS, c);
const isDialogCommand = (c: Command): c is DialogCommand => Object.hasOwn(DIALOG_ACTIONS, c);
const isEffectCommand = (c: Command): c is EffectCommand => Object.hasOwn(EFFECT_OF, c);

const none = (s: UiState): KeyResult => ({ state: s, effects: [] });

/** Apply one key press. Pure: same state, key and context give the same result. */
export function applyKey(prev: UiState, ev: KeyEvent, ctx: UiContext): KeyResult {
  const command = resolveIn(activeScopes(prev), ev);
  if (!command) return { state: { ...prev, hint: `${keyLabel(ev)}: no such key here (? lists them)` }, effects: [] };
  const state = prev.hint === null ? prev : { ...prev, hint: null };
  const view = { keys: ctx.rowKeys, pageSize: ctx.tablePageSize, sortable: ctx.sortable, users: ctx.users };
  const table = (a: TableAction) => none({ ...state, table: reduceTable(state.table, a, view) });
  const dialog = (a: DialogAction) =>
    none(state.dialog ? { ...state, dialog: reduceDialog(state.dialog, a, ctx.inspected) } : state);
  if (isTableCommand(command)) return table(TABLE_ACTIONS[command]);
  if (isDialogCommand(command)) return dialog(DIALOG_ACTIONS[command]);
  if (isEffectCommand(command)) return { state, effects: [EFFECT_OF[command]] };
  switch (command) {
    case 'help':
      return none({ ...state, help: !state.help, helpTop: 0 });
    case 'toggleWatch':
      return none({ ...state, watchToggled: !state.watchToggled });
    case 'closeHelp':
      return none({ ...state, help: false });
    case 'focusNext':
    case 'focusPrev':
      return none({ ...state, focus: nextPane(state, ctx, command === 'focusNext' ? 1 : -1) });
    case 'filter':
      return none({
        ...state,
        focus: 'procs',
        help: false,
        table: reduceTable(state.table, { type: 'filterStart' }, view),
      });
    case 'toggleThreads':
      return {
        state: { ...state, table: { ...state.table, selectedKey: null, selectedIndex: 0, top: 0 } },
        effects: [{ type: 'toggleThreads' }],
      };
    case 'pauseFeed':
      return none({ ...state, feed: reduceFeedPane(state.feed, { type: 'togglePause' }, ctx.feed) });
    case 'up':
    case 'down':
    case 'pageUp':
    case 'pageDown':
    case 'home':
    case 'end':
      return none(navigate(state, command, ctx));
    case 'pin':
      return pin(state, ctx);
    case 'unpin': {
      const key = ctx.pinnedKeys[selectedPinned(state.watch, ctx.pinnedKeys)];
      return key ? { state, effects: [{ type: 'unpin', key }] } : none(state);
    }
    case 'chooseColumns':
      return none({ ...state, chooser: state.chooser === null ? 0 : null, help: false });
    case 'toggleColumn': {
      const col = COLUMNS[state.chooser ?? -1];
      // from the columns chosen so far, or (none yet) from those the pane shows
      const shown = state.table.columns ?? ctx.columns;
      return col ? table({ type: 'toggleColumn', column: col.id, shown }) : none(state);
    }
    case 'filterType': {
      const text = typedText(ev);
      return text === undefined ? none(state) : table({ type: 'filterType', text });
    }
    case 'niceDown':
    case 'niceUp': {
      const dir = command === 'niceUp' ? 1 : -1;
      if (state.dialog) return dialog({ type: 'nice', dir });
      return openDialog(state, ctx, 'renice', (task) => ({ kind: 'renice', task, delta: dir }));
    }
    case 'ionice':
      return openDialog(state, ctx, 'ionice', (task) => ({ kind: 'ionice', task, choice: {} }));
    case 'signal':
      return openDialog(state, ctx, 'signal', (task) => ({ kind: 'signal', task, signal: 'TERM', confirming: false }));
    case 'ioLevel':
      return 'ch' in ev ? dialog({ type: 'ioLevel', level: Number(ev.ch) }) : none(state);
    case 'actionYes':
      return confirm(state, ctx);
    case 'actionCancel':
      return none({ ...state, dialog: null });
  }
}

/** The pane Tab (dir 1) or Shift-Tab (-1) moves to; the watch pane only while it is shown. */
function nextPane(state: UiState, ctx: UiContext, dir: 1 | -1): Pane {
  const panes = watchShown(state, ctx.pinnedKeys.length) ? PANES : PANES.filter((p) => p !== 'watch');
  const i = Math.max(0, panes.indexOf(state.focus));
  const d = dir === 1 ? 1 : panes.length - 1;
  return panes[(i + d) % panes.length]!;
}

/** Enter on a process row: pin it (or unpin it if pinned). */
function pin(state: UiState, ctx: UiContext): KeyResult {
  const row = ctx.rows[selectedIndex(state.table, ctx.rowKeys)];
  if (!row) return none(state);
  // a newly pinned task becomes the watch pane's selection, so its table is in view
  const pinning = !ctx.pinnedKeys.includes(row.key);
  const watch = pinning ? { selectedKey: row.key, selectedIndex: ctx.pinnedKeys.length } : state.watch;
  // pinning shows the watch pane, even if w hid it
  const watchToggled = pinning ? false : state.watchToggled;
  return {
    state: { ...state, watch, watchToggled },
    effects: [{ type: 'togglePin', target: row.target, comm: row.comm }],
  };
}
