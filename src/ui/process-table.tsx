// The process pane: one preformatted line per visible row, the highlight, the sort mark.
import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { TABLE_CATEGORIES, type SortColumn, type TaskRow } from '../model/scan.js';
import { figureMark, fmtPercent, pad, padNum } from '../output/format.js';
import { printable } from '../output/text.js';
import type { ListMode } from '../sources/proctasks.js';
import { clip, type PaneBox } from './layout.js';
import { selectedIndex, windowTop, type TableState } from './process-table-reducer.js';

const PCT_WIDTH = 6;
/** Delay columns as htop names them (D: delay, the share of the interval spent waiting), not CPU%/IO%, which read as use. */
const HEADING: Record<(typeof TABLE_CATEGORIES)[number], string> = { CPU: 'CPUD%', IO: 'IOD%', SWAP: 'SWPD%' };

/** Rows the table shows at once in a pane of this size (border, title and header excluded). */
export function tablePageSize(box: PaneBox): number {
  return Math.max(1, box.height - 4);
}

function sortMark(col: SortColumn, state: TableState): string {
  return state.sort === col ? (state.descending ? '▼' : '▲') : ' ';
}

interface Cell {
  col: SortColumn | null;
  text: string;
}

/** Header cells, each the width of its column plus the separator after it, which holds the sort mark. */
export function headerCells(mode: ListMode, state: TableState): Cell[] {
  const cells: Cell[] = [
    { col: null, text: ' ' },
    { col: 'PID', text: pad(mode === 'thread' ? 'TID' : 'PID', 7) + sortMark('PID', state) },
  ];
  if (mode === 'thread') cells.push({ col: null, text: pad('TGID', 7) + ' ' });
  for (const c of TABLE_CATEGORIES) cells.push({ col: c, text: pad(HEADING[c], PCT_WIDTH) + sortMark(c, state) });
  cells.push({ col: 'COMMAND', text: `  COMMAND${sortMark('COMMAND', state)}` });
  return cells;
}

export function formatRow(r: TaskRow, mode: ListMode, width: number, pinned: boolean): string {
  let s = (pinned ? '*' : ' ') + padNum(String(r.id), 7) + ' ';
  if (mode === 'thread') s += padNum(String(r.tgid), 7) + ' ';
  for (const c of TABLE_CATEGORIES) {
    const p = r.percent[c];
    s +=
      p === null
        ? pad('n/a', PCT_WIDTH) + ' '
        : pad(fmtPercent(p, PCT_WIDTH), PCT_WIDTH) + figureMark(!!r.suspect?.[c], r.lifetime);
  }
  s += '  ' + printable(r.comm);
  return clip(s, width);
}

export interface ProcessTableProps {
  /** rows in display order (sorted, filtered), and their keys */
  rows: readonly TaskRow[];
  rowKeys: readonly string[];
  /** every row before the filter */
  total: number;
  state: TableState;
  mode: ListMode;
  box: PaneBox;
  focused: boolean;
  pinnedKeys: ReadonlySet<string>;
  lifetime: boolean;
  waiting: boolean;
}

const anyFlagged = (rows: readonly TaskRow[]) => rows.some((r) => r.suspect !== null);

export function ProcessTable({
  rows,
  rowKeys,
  total,
  state,
  mode,
  box,
  focused,
  pinnedKeys,
  lifetime,
  waiting,
}: ProcessTableProps) {
  const inner = box.width - 2;
  const page = tablePageSize(box);
  const sel = selectedIndex(state, rowKeys);
  const top = windowTop(state.top, sel, rows.length, page);
  const visible = rows.slice(top, top + page);
  const flagged = anyFlagged(visible);
  const what = mode === 'thread' ? 'Threads' : 'Processes';
  const count = state.filter ? `${rows.length}/${total}` : `${total}`;
  const filterText = state.editing ? `/${state.filter}▏` : state.filter ? `/${state.filter}` : '';
  const lines: ReactNode[] = visible.map((r, i) => {
    const isSel = top + i === sel;
    return (
      <Text key={r.key} inverse={isSel && focused} color={isSel && !focused ? 'cyan' : undefined} wrap="truncate">
        {isSel
          ? pad(formatRow(r, mode, inner, pinnedKeys.has(r.key)), inner, true)
          : formatRow(r, mode, inner, pinnedKeys.has(r.key))}
      </Text>
    );
  });
  if (visible.length === 0) {
    lines.push(
      <Text key="empty" dimColor wrap="truncate">
        {waiting
          ? 'reading tasks…'
          : state.filter
            ? `no task matches "${state.filter}" (Esc clears the filter)`
            : 'no tasks'}
      </Text>,
    );
  }
  return (
    <Box
      flexDirection="column"
      width={box.width}
      height={box.height}
      borderStyle="round"
      borderColor={focused ? 'cyan' : 'gray'}
    >
      <Text wrap="truncate">
        <Text bold color={focused ? 'cyan' : undefined}>
          {what} {count}
        </Text>
        {filterText ? <Text color="yellow"> {filterText}</Text> : null}
        <Text dimColor>
          {mode === 'process' ? ' (threads summed)' : ''}
          {lifetime ? ' · lifetime averages' : ' · D% = waiting, % of interval · ~ lifetime avg'}
          {flagged ? ' · ! impossible' : ''}
        </Text>
      </Text>
      <Text wrap="truncate">
        {headerCells(mode, state).map((c, i) =>
          c.col !== null && c.col === state.sort ? (
            <Text key={i} bold underline>
              {c.text}
            </Text>
          ) : (
            <Text key={i} dimColor>
              {c.text}
            </Text>
          ),
        )}
      </Text>
      {lines}
    </Box>
  );
}
