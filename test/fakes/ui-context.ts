// What the UI reducers are given in tests: the context around the table's rows, and keys
// pressed one at a time.
import type { TaskRow } from '../../src/model/scan.js';
import { applyKey, type Effect, type UiContext, type UiState } from '../../src/ui/dashboard-reducer.js';
import { NO_EXITS } from '../../src/ui/exit-feed-reducer.js';
import type { KeyEvent } from '../../src/ui/keymap.js';
import { taskRow } from './rows.js';

/** A row of thread `tid` of process `tgid`. */
export const threadRow = (tid: number, tgid: number): TaskRow =>
  taskRow(tid, { key: `pid:${tid}`, target: { kind: 'pid', id: tid }, tgid });

export function uiContext(rows: TaskRow[], over: Partial<UiContext> = {}): UiContext {
  return {
    rows,
    rowKeys: rows.map((r) => r.key),
    tablePageSize: 5,
    pinnedKeys: [],
    feed: { ...NO_EXITS, pageSize: 4 },
    help: { lines: 50, pageSize: 10 },
    columns: ['PID', 'CPU', 'IO', 'SWAP'],
    sortable: ['PID', 'CPU', 'IO', 'SWAP', 'COMMAND'],
    users: [],
    actionsOff: null,
    inspected: null,
    ...over,
  };
}

export function press(state: UiState, c: UiContext, ...evs: KeyEvent[]): { state: UiState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const ev of evs) {
    const r = applyKey(state, ev, c);
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}
