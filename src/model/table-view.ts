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
  /** tree view: depth by row key (0: a root); null otherwise */
  depth: Map<string, number> | null;
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

export function shownTable(all: readonly TaskRow[], mode: ListMode, v: TableView): ShownTable {
  const kept =
    v.hideKernel || v.hideIdle || v.uid !== null
      ? all.filter(
          (r) =>
            !(v.hideKernel && isKernelThread(r)) && !(v.hideIdle && isIdle(r)) && (v.uid === null || r.uid === v.uid),
        )
      : all;
  const sorted = viewRows(kept, v.sort, v.descending, v.filter);
  return v.tree ? asTree(sorted, mode) : { rows: sorted, depth: null };
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
  return { rows, depth };
}

/** The users of these rows, by uid: what the user filter cycles through. */
export function usersOf(rows: readonly TaskRow[]): number[] {
  return [...new Set(rows.flatMap((r) => (r.uid === null ? [] : [r.uid])))].sort((a, b) => a - b);
}
