// The process table as shown: the rows the filters keep, sorted, and in the tree view
// ordered under their parents (a process under its parent process, a thread under its
// process) with each row's depth. Pure.
import type { ListMode } from '../sources/proctasks.js';
import { TABLE_CATEGORIES, viewRows, type SortColumn, type TaskRow } from './scan.js';

/** The process table's columns besides the name, in table order (ui/columns.ts says how each is shown). */
export const COLUMN_IDS = ['PID', 'TGID', 'USER', 'S', 'USE', ...TABLE_CATEGORIES, 'READ', 'WRITE'] as const;
export type ColumnId = (typeof COLUMN_IDS)[number];

export interface TableView {
  sort: SortColumn;
  descending: boolean;
  /** the typed filter (name or pid) */
  filter: string;
  hideKernel: boolean;
  hideIdle: boolean;
  /** only this user's tasks; null: everyone's */
  uid: number | null;
  tree: boolean;
}

export interface ShownTable {
  rows: TaskRow[];
  /** the rows' keys, in order */
  keys: string[];
  /** tree view: depth by row key (0: a root); null otherwise */
  depth: Map<string, number> | null;
}

/** Where the table's window is: the first row shown, the highlight, how many rows fit. */
export interface TableWindow {
  top: number;
  /** the highlighted row's key; null = the first row */
  selectedKey: string | null;
  /** where the highlight was, for when its task disappears */
  selectedIndex: number;
  pageSize: number;
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** Index of the highlight in the current rows: its task if still there, else where it was. */
export function selectedIndex(w: Pick<TableWindow, 'selectedKey' | 'selectedIndex'>, keys: readonly string[]): number {
  if (keys.length === 0) return -1;
  if (w.selectedKey !== null) {
    const i = keys.indexOf(w.selectedKey);
    if (i >= 0) return i;
  }
  return clamp(w.selectedIndex, 0, keys.length - 1);
}

/** The first visible row that keeps `selected` on screen, moving as little as possible. */
export function windowTop(top: number, selected: number, count: number, pageSize: number): number {
  const page = Math.max(1, pageSize);
  let t = top;
  if (selected >= 0 && selected < t) t = selected;
  if (selected >= t + page) t = selected - page + 1;
  return clamp(t, 0, Math.max(0, count - page));
}

/** The rows on screen of a shown table (`keys`: its rows' keys, in order). */
export function windowRows<R>(rows: readonly R[], keys: readonly string[], w: TableWindow): R[] {
  const top = windowTop(w.top, selectedIndex(w, keys), rows.length, w.pageSize);
  return rows.slice(top, top + Math.max(1, w.pageSize));
}

/** What decides the rows on screen, for the engine to tell them from a refresh's rows alone. */
export interface TableViewport {
  view: TableView;
  window: TableWindow;
}

/** The rows a table viewport shows of all rows. */
export function viewportOf(all: readonly TaskRow[], mode: ListMode, v: TableViewport): TaskRow[] {
  const { rows, keys } = shownTable(all, mode, v.view);
  return windowRows(rows, keys, v.window);
}

/** kthreadd (pid 2) and what it starts. */
export const isKernelThread = (r: TaskRow): boolean => r.tgid === 2 || r.ppid === 2;

/** No CPU use and no delay in any category over the interval. */
export function isIdle(r: TaskRow): boolean {
  if (r.cpuUse !== null && r.cpuUse > 0) return false;
  for (const k of TABLE_CATEGORIES) {
    const p = r.percent[k];
    if (p !== null && p > 0) return false;
  }
  return true;
}

const sameView = (a: TableView, b: TableView): boolean =>
  a.sort === b.sort &&
  a.descending === b.descending &&
  a.filter === b.filter &&
  a.hideKernel === b.hideKernel &&
  a.hideIdle === b.hideIdle &&
  a.uid === b.uid &&
  a.tree === b.tree;

/**
 * The last table made, for the same rows seen the same way: the engine (viewportOf, before
 * it publishes a refresh) and the view (drawing it) ask for the same table once a refresh.
 * The result is shared: nobody changes it.
 */
let lastShown: { all: readonly TaskRow[]; mode: ListMode; view: TableView; shown: ShownTable } | null = null;

export function shownTable(all: readonly TaskRow[], mode: ListMode, v: TableView): ShownTable {
  if (lastShown && lastShown.all === all && lastShown.mode === mode && sameView(lastShown.view, v))
    return lastShown.shown;
  const shown = makeShownTable(all, mode, v);
  lastShown = { all, mode, view: { ...v }, shown };
  return shown;
}

function makeShownTable(all: readonly TaskRow[], mode: ListMode, v: TableView): ShownTable {
  const kept =
    v.hideKernel || v.hideIdle || v.uid !== null
      ? all.filter(
          (r) =>
            !(v.hideKernel && isKernelThread(r)) && !(v.hideIdle && isIdle(r)) && (v.uid === null || r.uid === v.uid),
        )
      : all;
  const sorted = viewRows(kept, v.sort, v.descending, v.filter);
  return v.tree ? asTree(sorted, mode) : { rows: sorted, keys: keysOf(sorted), depth: null };
}

/** Rows in tree order, siblings in their sorted order; a row whose parent is not shown is a root. */
function asTree(sorted: readonly TaskRow[], mode: ListMode): ShownTable {
  const parentOf = (r: TaskRow): number | null => (mode === 'thread' ? (r.id === r.tgid ? null : r.tgid) : r.ppid);
  const shown = new Set(sorted.map((r) => r.id));
  const children = new Map<number, TaskRow[]>();
  const roots: TaskRow[] = [];
  for (const r of sorted) {
    const p = parentOf(r);
    if (p === null || p === r.id || !shown.has(p)) roots.push(r);
    else {
      const list = children.get(p);
      if (list) list.push(r);
      else children.set(p, [r]);
    }
  }
  const rows: TaskRow[] = [];
  const depth = new Map<string, number>();
  const visit = (r: TaskRow, d: number) => {
    if (depth.has(r.key)) return; // (ids from different moments: never loop)
    rows.push(r);
    depth.set(r.key, d);
    for (const c of children.get(r.id) ?? []) visit(c, d + 1);
  };
  for (const r of roots) visit(r, 0);
  for (const r of sorted) visit(r, 0); // any row in a parent loop: a root
  return { rows, keys: keysOf(rows), depth };
}

// Loops, not callbacks made per refresh: see comparatorFor in model/scan.ts (a callback
// made per call is compiled again after every major GC).
function keysOf(rows: readonly TaskRow[]): string[] {
  const keys = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) keys[i] = rows[i]!.key;
  return keys;
}

const ascending = (a: number, b: number): number => a - b;

/** The users of these rows, by uid: what the user filter cycles through. */
export function usersOf(rows: readonly TaskRow[]): number[] {
  const uids = new Set<number>();
  for (const r of rows) if (r.uid !== null) uids.add(r.uid);
  return [...uids].sort(ascending);
}
