// Saved settings and the dashboard's state: the state a session starts from, and the
// settings it leaves. One entry per setting says where it lives, in the UI's state or the
// engine's (the list mode and the interval, which cli.ts resolves with the flags). Pure.
import type { SettingName, Settings } from '../settings/schema.js';
import type { ListMode } from '../sources/proctasks.js';
import type { UiState } from './dashboard-reducer.js';

/** Everything the settings describe. */
export interface DashboardView {
  ui: UiState;
  mode: ListMode;
  intervalSec: number;
}

interface Place<T> {
  get(v: DashboardView): T;
  set(v: DashboardView, value: T): DashboardView;
}

const withTable = (v: DashboardView, patch: Partial<UiState['table']>): DashboardView => ({
  ...v,
  ui: { ...v.ui, table: { ...v.ui.table, ...patch } },
});

/** Where each setting lives (the type asks for an entry per field of SETTINGS). */
const PLACES: { [K in SettingName]-?: Place<NonNullable<Settings[K]>> } = {
  sortColumn: { get: (v) => v.ui.table.sort, set: (v, sort) => withTable(v, { sort }) },
  sortDescending: { get: (v) => v.ui.table.descending, set: (v, descending) => withTable(v, { descending }) },
  threads: { get: (v) => v.mode === 'thread', set: (v, on) => ({ ...v, mode: on ? 'thread' : 'process' }) },
  intervalSec: { get: (v) => v.intervalSec, set: (v, intervalSec) => ({ ...v, intervalSec }) },
  columns: {
    get: (v) => [...(v.ui.table.columns ?? [])],
    set: (v, columns) => withTable(v, { columns: columns.length ? columns : null }),
  },
  hideKernelThreads: { get: (v) => v.ui.table.hideKernel, set: (v, hideKernel) => withTable(v, { hideKernel }) },
  hideIdle: { get: (v) => v.ui.table.hideIdle, set: (v, hideIdle) => withTable(v, { hideIdle }) },
  tree: { get: (v) => v.ui.table.tree, set: (v, tree) => withTable(v, { tree }) },
};

const NAMES = Object.keys(PLACES) as SettingName[];

/** `base` with every setting of `s` applied (a field `s` lacks keeps base's value). */
export function seedView(s: Settings, base: DashboardView): DashboardView {
  let v = base;
  for (const name of NAMES) {
    const value = s[name];
    if (value !== undefined) v = (PLACES[name] as Place<unknown>).set(v, value);
  }
  return v;
}

/** Every setting as the dashboard shows it now (e.g. at quit, to be saved). */
export function viewSettings(v: DashboardView): Required<Settings> {
  return Object.fromEntries(NAMES.map((name) => [name, PLACES[name].get(v)])) as Required<Settings>;
}
