// The one keymap: every key the dashboard answers to, the command it means, and the
// help text. Key handling and the help overlay are both generated from this table.
export type Scope =
  'global' | 'procs' | 'watch' | 'feed' | 'filter' | 'help' | 'columns' | 'renice' | 'ionice' | 'signal' | 'confirm';

export type Command =
  | 'quit'
  | 'help'
  | 'focusNext'
  | 'focusPrev'
  | 'toggleThreads'
  | 'toggleWatch'
  | 'cycleView'
  | 'hideKernel'
  | 'hideIdle'
  | 'toggleTree'
  | 'nextUser'
  | 'chooseColumns'
  | 'toggleColumn'
  | 'autoColumns'
  | 'sortUse'
  | 'intervalUp'
  | 'intervalDown'
  | 'toggleDelayacct'
  | 'pauseFeed'
  | 'filter'
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'pin'
  | 'unpin'
  | 'sortCpu'
  | 'sortIo'
  | 'sortSwap'
  | 'sortPid'
  | 'sortNext'
  | 'sortPrev'
  | 'sortReverse'
  | 'clearFilter'
  | 'filterType'
  | 'filterErase'
  | 'filterAccept'
  | 'filterCancel'
  | 'closeHelp'
  | 'niceDown'
  | 'niceUp'
  | 'ionice'
  | 'signal'
  | 'ioRealtime'
  | 'ioBestEffort'
  | 'ioIdle'
  | 'ioLevel'
  | 'signalPrev'
  | 'signalNext'
  | 'signalPick'
  | 'actionYes'
  | 'actionCancel';

/** F1..F20 (F13..F20: VT220's, and what some terminals send for Shift-F1..F8). */
export const FUNCTION_KEYS = [
  'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9', 'f10',
  'f11', 'f12', 'f13', 'f14', 'f15', 'f16', 'f17', 'f18', 'f19', 'f20',
] as const; // prettier-ignore
export type FunctionKeyName = (typeof FUNCTION_KEYS)[number];

export type KeyName =
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'return'
  | 'escape'
  | 'tab'
  | 'shiftTab'
  | 'backspace'
  | 'space'
  | FunctionKeyName;

/** Modifiers of a named key, as xterm encodes them (its parameter minus one): a bit each. */
export const MOD = { shift: 1, alt: 2, ctrl: 4, meta: 8 } as const;

/**
 * One key press, parsed from what the terminal sent (terminal-keys.ts). `mods`: modifiers
 * held with a named key (absent: none); a binding matches only the modifiers it names.
 */
export type KeyEvent = { name: KeyName; mods?: number } | { ch: string } | { ctrl: string };

/** What a binding accepts: a named key, a character, one of a run of characters ("0-7"), Ctrl+letter, or any printable text. */
export type KeySpec = KeyEvent | { chars: string } | { printable: true };

export interface Binding {
  scope: Scope;
  command: Command;
  keys: KeySpec[];
  help: string;
  /** a word or two for the footer's key hints; bindings without one are only in the help */
  hint?: string;
}

const UP: KeySpec[] = [{ name: 'up' }, { ch: 'k' }];
const DOWN: KeySpec[] = [{ name: 'down' }, { ch: 'j' }];
const PGUP: KeySpec[] = [{ name: 'pageUp' }];
const PGDN: KeySpec[] = [{ name: 'pageDown' }];
const HOME: KeySpec[] = [{ name: 'home' }];
const END: KeySpec[] = [{ name: 'end' }, { ch: 'G' }];

export const KEYMAP: readonly Binding[] = [
  {
    scope: 'global',
    command: 'quit',
    keys: [{ ch: 'q' }, { name: 'f10' }, { ctrl: 'c' }],
    help: 'quit (the terminal is restored)',
    hint: 'quit',
  },
  {
    scope: 'global',
    command: 'help',
    keys: [{ ch: '?' }, { ch: 'h' }, { name: 'f1' }],
    help: 'show or hide this help',
    hint: 'help',
  },
  { scope: 'global', command: 'focusNext', keys: [{ name: 'tab' }], help: 'focus the next pane', hint: 'pane' },
  { scope: 'global', command: 'focusPrev', keys: [{ name: 'shiftTab' }], help: 'focus the previous pane' },
  {
    scope: 'global',
    command: 'filter',
    keys: [{ ch: '/' }, { name: 'f3' }],
    help: 'filter processes by name or pid',
    hint: 'filter',
  },
  {
    scope: 'global',
    command: 'toggleThreads',
    keys: [{ ch: 't' }, { ch: 'H' }],
    help: 'show every thread / every process',
    hint: 'threads',
  },
  {
    scope: 'global',
    command: 'cycleView',
    keys: [{ ch: 'g' }],
    help: 'processes, threads, then groups: a row per cgroup, its processes summed, exited ones included',
  },
  {
    scope: 'global',
    command: 'toggleWatch',
    keys: [{ ch: 'w' }],
    help: 'show / hide the watch pane (it shows while something is pinned)',
  },
  { scope: 'global', command: 'hideKernel', keys: [{ ch: 'K' }], help: 'hide / show kernel threads', hint: 'kthreads' },
  { scope: 'global', command: 'hideIdle', keys: [{ ch: 'z' }], help: 'hide / show idle tasks (no CPU use, no delay)' },
  {
    scope: 'global',
    command: 'toggleTree',
    keys: [{ ch: 'T' }, { name: 'f5' }],
    help: 'tree view: processes under their parents',
  },
  { scope: 'global', command: 'chooseColumns', keys: [{ ch: 'C' }, { name: 'f2' }], help: 'choose the columns' },
  { scope: 'global', command: 'intervalUp', keys: [{ ch: '+' }, { ch: '=' }], help: 'refresh less often' },
  { scope: 'global', command: 'intervalDown', keys: [{ ch: '-' }], help: 'refresh more often' },
  { scope: 'global', command: 'toggleDelayacct', keys: [{ ctrl: 't' }], help: 'delay accounting on/off (root only)' },
  { scope: 'global', command: 'pauseFeed', keys: [{ ch: 'p' }], help: 'pause / resume the exit feed' },

  { scope: 'procs', command: 'up', keys: UP, help: 'move the highlight up', hint: 'move' },
  { scope: 'procs', command: 'down', keys: DOWN, help: 'move the highlight down', hint: 'move' },
  { scope: 'procs', command: 'pageUp', keys: PGUP, help: 'move the highlight a page up' },
  { scope: 'procs', command: 'pageDown', keys: PGDN, help: 'move the highlight a page down' },
  { scope: 'procs', command: 'home', keys: HOME, help: 'highlight the first row' },
  { scope: 'procs', command: 'end', keys: END, help: 'highlight the last row' },
  {
    scope: 'procs',
    command: 'pin',
    keys: [{ name: 'return' }, { name: 'space' }],
    help: 'pin / unpin the highlighted task',
    hint: 'pin',
  },
  { scope: 'procs', command: 'sortCpu', keys: [{ ch: 'c' }], help: 'sort by CPU delay %', hint: 'sort' },
  { scope: 'procs', command: 'sortIo', keys: [{ ch: 'i' }], help: 'sort by IO delay %', hint: 'sort' },
  { scope: 'procs', command: 'sortSwap', keys: [{ ch: 's' }], help: 'sort by SWAP delay %', hint: 'sort' },
  { scope: 'procs', command: 'sortPid', keys: [{ ch: 'n' }], help: 'sort by pid', hint: 'sort' },
  { scope: 'procs', command: 'sortUse', keys: [{ ch: 'P' }], help: 'sort by CPU use %' },
  {
    scope: 'procs',
    command: 'nextUser',
    keys: [{ ch: 'u' }],
    help: "only one user's tasks (u again: the next user, then all)",
  },
  { scope: 'procs', command: 'sortNext', keys: [{ ch: '>' }, { name: 'f6' }], help: 'sort by the next column' },
  { scope: 'procs', command: 'sortPrev', keys: [{ ch: '<' }], help: 'sort by the previous column' },
  { scope: 'procs', command: 'sortReverse', keys: [{ ch: 'r' }], help: 'reverse the sort order' },
  { scope: 'procs', command: 'clearFilter', keys: [{ name: 'escape' }], help: 'clear the filter' },
  // htop's keys; a process row changes all its threads (see actions/task-actions.ts)
  {
    scope: 'procs',
    command: 'niceDown',
    keys: [{ name: 'f7' }, { ch: ']' }],
    help: 'renice the highlighted task: nice -1 (higher priority)',
    hint: 'nice',
  },
  {
    scope: 'procs',
    command: 'niceUp',
    keys: [{ name: 'f8' }, { ch: '[' }],
    help: 'renice the highlighted task: nice +1 (lower priority)',
    hint: 'nice',
  },
  // iotop-c's key is i, which sorts here; no footer hint (the footer is full at 120 columns)
  { scope: 'procs', command: 'ionice', keys: [{ ch: 'I' }], help: 'ionice the highlighted task: IO class and level' },
  // htop's other key, k, moves up here
  {
    scope: 'procs',
    command: 'signal',
    keys: [{ name: 'f9' }],
    help: "send a signal to the highlighted task's process",
    hint: 'signal',
  },

  { scope: 'watch', command: 'up', keys: UP, help: 'select the previous pinned task', hint: 'select' },
  { scope: 'watch', command: 'down', keys: DOWN, help: 'select the next pinned task', hint: 'select' },
  { scope: 'watch', command: 'home', keys: HOME, help: 'select the first pinned task' },
  { scope: 'watch', command: 'end', keys: END, help: 'select the last pinned task' },
  {
    scope: 'watch',
    command: 'unpin',
    keys: [{ name: 'return' }, { name: 'space' }, { ch: 'u' }],
    help: 'unpin the selected task',
    hint: 'unpin',
  },

  { scope: 'feed', command: 'up', keys: UP, help: 'one newer exit (top: live again)', hint: 'scroll' },
  { scope: 'feed', command: 'down', keys: DOWN, help: 'one older exit (freezes the view)', hint: 'scroll' },
  { scope: 'feed', command: 'pageUp', keys: PGUP, help: 'a page newer' },
  { scope: 'feed', command: 'pageDown', keys: PGDN, help: 'a page older' },
  { scope: 'feed', command: 'home', keys: HOME, help: 'back to the newest exits, live', hint: 'live' },
  { scope: 'feed', command: 'end', keys: END, help: 'the oldest exit kept' },
  {
    scope: 'feed',
    command: 'pauseFeed',
    keys: [{ name: 'space' }],
    help: 'pause / resume the exit feed',
    hint: 'pause',
  },

  { scope: 'filter', command: 'filterType', keys: [{ printable: true }], help: 'type a name or pid' },
  { scope: 'filter', command: 'filterErase', keys: [{ name: 'backspace' }], help: 'erase a character' },
  {
    scope: 'filter',
    command: 'filterAccept',
    keys: [{ name: 'return' }],
    help: 'keep the filter, back to the table',
    hint: 'keep',
  },
  { scope: 'filter', command: 'filterCancel', keys: [{ name: 'escape' }], help: 'drop the filter', hint: 'drop' },

  { scope: 'columns', command: 'up', keys: UP, help: 'the previous column', hint: 'move' },
  { scope: 'columns', command: 'down', keys: DOWN, help: 'the next column', hint: 'move' },
  {
    scope: 'columns',
    command: 'toggleColumn',
    keys: [{ name: 'space' }, { name: 'return' }],
    help: 'show / hide the column',
    hint: 'show/hide',
  },
  {
    scope: 'columns',
    command: 'autoColumns',
    keys: [{ ch: 'a' }],
    help: 'as many columns as fit (the default)',
    hint: 'auto',
  },
  {
    scope: 'columns',
    command: 'chooseColumns',
    keys: [{ name: 'escape' }, { ch: 'C' }],
    help: 'close the chooser',
    hint: 'close',
  },
  { scope: 'help', command: 'up', keys: UP, help: 'scroll the help up a line', hint: 'scroll' },
  { scope: 'help', command: 'down', keys: DOWN, help: 'scroll the help down a line', hint: 'scroll' },
  { scope: 'help', command: 'pageUp', keys: PGUP, help: 'a page up' },
  { scope: 'help', command: 'pageDown', keys: PGDN, help: 'a page down' },
  { scope: 'help', command: 'home', keys: HOME, help: 'the top of the help' },
  { scope: 'help', command: 'end', keys: END, help: 'the end of the help' },
  {
    scope: 'help',
    command: 'closeHelp',
    keys: [{ name: 'escape' }],
    help: 'close the help (or ? again)',
    hint: 'close',
  },

  { scope: 'renice', command: 'niceDown', keys: [{ name: 'f7' }, { ch: ']' }], help: 'nice one lower', hint: 'nice' },
  { scope: 'renice', command: 'niceUp', keys: [{ name: 'f8' }, { ch: '[' }], help: 'nice one higher', hint: 'nice' },

  { scope: 'ionice', command: 'ioRealtime', keys: [{ ch: 'r' }], help: 'class realtime (root only)', hint: 'class' },
  { scope: 'ionice', command: 'ioBestEffort', keys: [{ ch: 'b' }], help: 'class best-effort', hint: 'class' },
  {
    scope: 'ionice',
    command: 'ioIdle',
    keys: [{ ch: 'i' }],
    help: 'class idle (only when the disk is free)',
    hint: 'class',
  },
  {
    scope: 'ionice',
    command: 'ioLevel',
    keys: [{ chars: '01234567' }],
    help: 'level: 0 is served first, 7 last',
    hint: 'level',
  },

  { scope: 'signal', command: 'signalPrev', keys: [{ name: 'left' }, { name: 'up' }], help: 'the signal before' },
  { scope: 'signal', command: 'signalNext', keys: [{ name: 'right' }, { name: 'down' }], help: 'the signal after' },
  {
    scope: 'signal',
    command: 'signalPick',
    keys: [{ name: 'return' }],
    help: 'this one (then y sends it)',
    hint: 'pick',
  },
  { scope: 'signal', command: 'actionCancel', keys: [{ name: 'escape' }, { ch: 'n' }], help: 'cancel', hint: 'cancel' },

  { scope: 'confirm', command: 'actionYes', keys: [{ ch: 'y' }], help: 'yes: do it', hint: 'yes' },
  {
    scope: 'confirm',
    command: 'actionCancel',
    keys: [{ ch: 'n' }, { name: 'escape' }],
    help: 'no: nothing is done',
    hint: 'no',
  },
];

const NAME_LABEL: Record<KeyName, string> = {
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  pageUp: 'PgUp',
  pageDown: 'PgDn',
  home: 'Home',
  end: 'End',
  return: 'Enter',
  escape: 'Esc',
  tab: 'Tab',
  shiftTab: 'Shift-Tab',
  backspace: 'Backspace',
  space: 'Space',
  ...(Object.fromEntries(FUNCTION_KEYS.map((f) => [f, f.toUpperCase()])) as Record<FunctionKeyName, string>),
};

const MOD_LABEL: [number, string][] = [
  [MOD.ctrl, 'Ctrl-'],
  [MOD.alt, 'Alt-'],
  [MOD.meta, 'Meta-'],
  [MOD.shift, 'Shift-'],
];

export function keyLabel(k: KeySpec): string {
  if ('printable' in k) return 'text';
  if ('chars' in k) return `${k.chars[0]}-${k.chars[k.chars.length - 1]}`;
  if ('name' in k) return MOD_LABEL.map(([bit, l]) => ((k.mods ?? 0) & bit ? l : '')).join('') + NAME_LABEL[k.name];
  if ('ctrl' in k) return `Ctrl-${k.ctrl.toUpperCase()}`;
  return k.ch;
}

function matches(spec: KeySpec, ev: KeyEvent): boolean {
  if ('printable' in spec) return typedText(ev) !== undefined;
  if ('chars' in spec) return 'ch' in ev && spec.chars.includes(ev.ch);
  if ('name' in spec) return 'name' in ev && ev.name === spec.name && (ev.mods ?? 0) === (spec.mods ?? 0);
  if ('ctrl' in spec) return 'ctrl' in ev && ev.ctrl === spec.ctrl;
  return 'ch' in ev && ev.ch === spec.ch;
}

/** The command a key means in a scope, if any. */
export function resolveKey(scope: Scope, ev: KeyEvent): Command | undefined {
  for (const b of KEYMAP) if (b.scope === scope && b.keys.some((k) => matches(k, ev))) return b.command;
  return undefined;
}

/** A scope keys are looked up in; `ctrlOnly`: only its Ctrl keys answer (typing owns the rest). */
export interface ActiveScope {
  scope: Scope;
  ctrlOnly?: boolean;
}

/** The command a key means in the first of these scopes that binds it, if any. */
export function resolveIn(scopes: readonly ActiveScope[], ev: KeyEvent): Command | undefined {
  for (const { scope, ctrlOnly } of scopes) {
    if (ctrlOnly && !('ctrl' in ev)) continue;
    const c = resolveKey(scope, ev);
    if (c) return c;
  }
  return undefined;
}

/** Text a key event types into the filter (space included). */
export function typedText(ev: KeyEvent): string | undefined {
  if ('ch' in ev) return ev.ch;
  if ('name' in ev && ev.name === 'space') return ' ';
  return undefined;
}

export const SCOPE_TITLES: Record<Scope, string> = {
  global: 'Anywhere',
  procs: 'Process pane',
  watch: 'Watch pane (pinned tasks)',
  feed: 'Exit feed pane',
  filter: 'While typing a filter',
  help: 'In this help',
  columns: 'Choosing columns (C)',
  renice: 'Renice prompt (F7/F8)',
  ionice: 'Ionice prompt (I)',
  signal: 'Signal chooser (F9)',
  confirm: 'Confirming an action',
};

export interface HelpRow {
  keys: string;
  help: string;
}

/** The help overlay's content, generated from KEYMAP. */
export function helpSections(): { scope: Scope; title: string; rows: HelpRow[] }[] {
  const scopes: Scope[] = [
    'global',
    'procs',
    'watch',
    'feed',
    'filter',
    'columns',
    'help',
    'renice',
    'ionice',
    'signal',
    'confirm',
  ];
  return scopes.map((scope) => ({
    scope,
    title: SCOPE_TITLES[scope],
    rows: KEYMAP.filter((b) => b.scope === scope).map((b) => ({ keys: b.keys.map(keyLabel).join(' '), help: b.help })),
  }));
}

/** Footer hints for a scope: bindings with a hint, neighbours sharing one joined ("↑/↓ move"). */
export function footerHints({ scope, ctrlOnly }: ActiveScope): HelpRow[] {
  const out: HelpRow[] = [];
  for (const b of KEYMAP) {
    if (b.scope !== scope || !b.hint) continue;
    const first = ctrlOnly ? b.keys.find((k) => 'ctrl' in k) : b.keys[0];
    if (!first) continue;
    const key = keyLabel(first);
    const last = out[out.length - 1];
    if (last && last.help === b.hint) last.keys += `/${key}`;
    else out.push({ keys: key, help: b.hint });
  }
  return out;
}

/** The footer's hints for the scopes active now (activeScopes), in their order. */
export function keyHints(scopes: readonly ActiveScope[]): HelpRow[] {
  return scopes.flatMap(footerHints);
}
