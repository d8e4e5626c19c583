// The process table's columns: what each shows, how wide, what it sorts by, and which fit a
// pane of a given width. One table: the header, the rows, the chooser and the help use it.
import type { ListMode } from '../sources/proctasks.js';
import { TABLE_CATEGORIES, type SortColumn, type TableCategory, type TaskRow } from '../model/scan.js';
import { DELAY_HEADING, figureMark, fmtByteRate, fmtPercent, pad, padNum } from '../output/format.js';
import { fitText } from '../output/text.js';

import type { ColumnId } from '../model/table-view.js';
export type { ColumnId };

import type { RowDetail } from '../engine/details.js';
export type { RowDetail };

/** What a cell needs besides its row. */
export interface CellContext {
  detail: RowDetail | undefined;
  /** user names by uid */
  users: ReadonlyMap<number, string>;
}

export interface Column {
  id: ColumnId;
  heading: string;
  /** cells, not counting the one after it (a figure's mark, the sort arrow in the header) */
  width: number;
  sort: SortColumn | null;
  /** what the column means, for the chooser */
  help: string;
  /** the cell text, `width` wide, and the character after it */
  cell(r: TaskRow, c: CellContext): string;
}

const PCT = 6;
const delayHelp: Record<TableCategory, string> = {
  CPU: 'waiting for a CPU (run queue)',
  IO: 'waiting for block IO',
  SWAP: 'waiting for swap-in',
  RECLAIM: 'in memory reclaim',
  THRASHING: 'thrashing (refaulting pages)',
  COMPACT: 'in memory compaction',
  WPCOPY: 'in write-protect copy',
  IRQ: 'in IRQ/softirq handling',
};

const delayColumn = (k: TableCategory): Column => ({
  id: k,
  heading: DELAY_HEADING[k]!,
  width: PCT,
  sort: k,
  help: `% of the interval ${delayHelp[k]} (delay)`,
  cell: (r) => {
    const p = r.percent[k];
    return p === null ? pad('n/a', PCT) + ' ' : pad(fmtPercent(p, PCT), PCT) + figureMark(!!r.suspect?.[k], r.lifetime);
  },
});

/** Storage IO rate of a row on screen (engine/details.ts reads it), '-' until two refreshes saw it. */
function ioColumn(id: ColumnId, heading: string, field: 'readBps' | 'writeBps', help: string): Column {
  return {
    id,
    heading,
    width: 6,
    sort: null,
    help,
    cell: (_r, c) => {
      const v = c.detail?.[field];
      return pad(v === null || v === undefined ? '-' : fmtByteRate(v, 6), 6) + ' ';
    },
  };
}

export const COLUMNS: readonly Column[] = [
  {
    id: 'PID',
    heading: 'PID',
    width: 7,
    sort: 'PID',
    help: 'process id (TID in thread mode)',
    cell: (r) => padNum(String(r.id), 7) + ' ',
  },
  {
    id: 'TGID',
    heading: 'TGID',
    width: 7,
    sort: null,
    help: "a thread's process",
    cell: (r) => padNum(String(r.tgid), 7) + ' ',
  },
  {
    id: 'USER',
    heading: 'USER',
    width: 8,
    sort: 'USER',
    help: 'owner (sorts by uid)',
    cell: (r, c) => fitText(r.uid === null ? '?' : (c.users.get(r.uid) ?? String(r.uid)), 8) + ' ',
  },
  {
    id: 'S',
    heading: 'S',
    width: 1,
    sort: null,
    help: 'state: R running, S sleeping, D uninterruptible (often IO), Z zombie...',
    cell: (_r, c) => fitText(c.detail?.state ?? ' ', 1) + ' ',
  },
  {
    id: 'USE',
    heading: 'CPU%',
    width: PCT,
    sort: 'USE',
    help: 'CPU use (user + system) as % of one CPU: use, not delay',
    cell: (r) => pad(r.cpuUse === null ? 'n/a' : fmtPercent(r.cpuUse, PCT), PCT) + (r.lifetime ? '~' : ' '),
  },
  ...TABLE_CATEGORIES.map(delayColumn),
  ioColumn('READ', 'RD/s', 'readBps', 'bytes read from storage per second (rows on screen; not sortable)'),
  ioColumn('WRITE', 'WR/s', 'writeBps', 'bytes written to storage per second (rows on screen; not sortable)'),
];

const byId = new Map(COLUMNS.map((c) => [c.id, c]));
export const columnOf = (id: ColumnId): Column => byId.get(id)!;

/** What the automatic choice adds first, as width allows. */
const PRIORITY: readonly ColumnId[] = [
  'PID',
  'TGID',
  'CPU',
  'IO',
  'USER',
  'USE',
  'SWAP',
  'S',
  'READ',
  'WRITE',
  'RECLAIM',
  'THRASHING',
  'IRQ',
  'COMPACT',
  'WPCOPY',
];

/** The name column keeps this much: 15 (a kernel comm) on small panes, more on wide ones. */
export const commandWidth = (inner: number) => Math.max(15, Math.min(60, Math.round(inner * 0.3)));

const GAP = 2; // between the last column and the name
const SEL = 1; // the pin mark before the first column
const lineWidth = (cols: readonly Column[]) => SEL + cols.reduce((w, c) => w + c.width + 1, 0) + GAP;

/**
 * The columns shown in a pane `inner` cells wide, in table order: the chosen ones (null:
 * as many as fit, by priority), less any that would squeeze the name under its width.
 */
export function columnsFor(inner: number, mode: ListMode, chosen: readonly ColumnId[] | null): Column[] {
  const wanted = (chosen ?? PRIORITY).filter((id) => mode === 'thread' || id !== 'TGID');
  const room = inner - commandWidth(inner);
  const picked: Column[] = [];
  for (const id of chosen ? COLUMNS.map((c) => c.id).filter((x) => wanted.includes(x)) : wanted) {
    const col = columnOf(id);
    if (lineWidth([...picked, col]) <= room) picked.push(col);
  }
  const order = COLUMNS.map((c) => c.id);
  picked.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  // in thread mode the id is a thread's
  return mode === 'thread' ? picked.map((c) => (c.id === 'PID' ? { ...c, heading: 'TID' } : c)) : picked;
}

/** The name shown: the command line where read (a kernel thread's as [comm]), else the comm. */
export function commandText(r: TaskRow, c: CellContext): string {
  const cmd = c.detail?.cmdline;
  if (cmd === undefined || cmd === null) return r.comm;
  return cmd === '' ? `[${r.comm}]` : cmd;
}
