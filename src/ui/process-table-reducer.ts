// The process table's UI state: sort, filter, and a highlight that follows its task
// (by key) while rows re-sort on every refresh. Pure reducer; no React, no I/O.
import { SORT_COLUMNS, type SortColumn } from '../model/scan.js';
import { selectedIndex, windowTop } from '../model/table-view.js';
import type { ColumnId } from './columns.js';

export interface TableState {
  sort: SortColumn;
  descending: boolean;
  filter: string;
  /** the filter line has the keyboard */
  editing: boolean;
  /** the highlighted row's key; null = the first row */
  selectedKey: string | null;
  /** where the highlight was, for when its task disappears */
  selectedIndex: number;
  /** first visible row */
  top: number;
  /** the columns chosen (C); null: as many as fit the pane */
  columns: readonly ColumnId[] | null;
  hideKernel: boolean;
  hideIdle: boolean;
  /** only this user's tasks (u cycles); null: everyone's */
  uid: number | null;
  tree: boolean;
}

export const initialTableState: TableState = {
  sort: 'CPU',
  descending: true,
  filter: '',
  editing: false,
  selectedKey: null,
  selectedIndex: 0,
  top: 0,
  columns: null,
  hideKernel: false,
  hideIdle: false,
  uid: null,
  tree: false,
};

/** What the reducer needs to know about the rows on screen. */
export interface TableView {
  /** row keys in display order (sorted, filtered) */
  keys: readonly string[];
  /** rows visible at once */
  pageSize: number;
  /** what the shown columns sort by, in order (< and > step through them) */
  sortable?: readonly SortColumn[];
  /** users of the rows, by uid (u cycles through them) */
  users?: readonly number[];
}

export type TableAction =
  | { type: 'move'; delta: number }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'sort'; column: SortColumn }
  | { type: 'sortStep'; dir: 1 | -1 }
  | { type: 'reverse' }
  | { type: 'filterStart' }
  | { type: 'filterType'; text: string }
  | { type: 'filterErase' }
  | { type: 'filterAccept' }
  | { type: 'filterCancel' }
  | { type: 'toggle'; what: 'hideKernel' | 'hideIdle' | 'tree' }
  | { type: 'nextUser' }
  | { type: 'toggleColumn'; column: ColumnId; shown: readonly ColumnId[] }
  | { type: 'autoColumns' };

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

function select(state: TableState, index: number, view: TableView): TableState {
  if (view.keys.length === 0) return { ...state, selectedKey: null, selectedIndex: 0, top: 0 };
  const i = clamp(index, 0, view.keys.length - 1);
  return {
    ...state,
    selectedKey: view.keys[i]!,
    selectedIndex: i,
    top: windowTop(state.top, i, view.keys.length, view.pageSize),
  };
}

/** Figures start largest-first; pid, user and command smallest-first. */
const defaultDescending = (c: SortColumn) => c !== 'PID' && c !== 'COMMAND' && c !== 'USER';

export function reduceTable(state: TableState, action: TableAction, view: TableView): TableState {
  const cur = selectedIndex(state, view.keys);
  switch (action.type) {
    case 'move':
      return select(state, cur + action.delta, view);
    case 'home':
      return select(state, 0, view);
    case 'end':
      return select(state, view.keys.length - 1, view);
    case 'sort':
      // the active column again: reverse it (as top does)
      if (action.column === state.sort) return { ...state, descending: !state.descending };
      return { ...state, sort: action.column, descending: defaultDescending(action.column) };
    case 'sortStep': {
      const cols = view.sortable?.length ? view.sortable : SORT_COLUMNS;
      const i = cols.indexOf(state.sort);
      const next = i < 0 ? (action.dir > 0 ? 0 : cols.length - 1) : (i + action.dir + cols.length) % cols.length;
      const column = cols[next]!;
      return { ...state, sort: column, descending: defaultDescending(column) };
    }
    case 'reverse':
      return { ...state, descending: !state.descending };
    case 'filterStart':
      return { ...state, editing: true };
    case 'filterType':
      return { ...state, filter: (state.filter + action.text).slice(0, 40), top: 0 };
    case 'filterErase':
      return { ...state, filter: state.filter.slice(0, -1), top: 0 };
    case 'filterAccept':
      return { ...state, editing: false };
    case 'filterCancel':
      return { ...state, editing: false, filter: '', top: 0 };
    case 'toggle':
      return { ...state, [action.what]: !state[action.what], top: 0 };
    case 'nextUser': {
      // everyone -> each user of the rows, by uid -> everyone
      const users = view.users ?? [];
      const i = state.uid === null ? -1 : users.indexOf(state.uid);
      return { ...state, uid: i + 1 < users.length ? users[i + 1]! : null, top: 0 };
    }
    case 'toggleColumn': {
      const has = action.shown.includes(action.column);
      const columns = has ? action.shown.filter((c) => c !== action.column) : [...action.shown, action.column];
      return { ...state, columns };
    }
    case 'autoColumns':
      return { ...state, columns: null };
  }
}
