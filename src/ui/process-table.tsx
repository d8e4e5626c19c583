// The process pane: one preformatted line per visible row, the highlight, the sort mark.
import { memo } from 'react';
import { Text } from 'ink';
import type { SortColumn, TaskRow } from '../model/scan.js';
import { pad } from '../output/format.js';
import { cutText, displayWidth, fitText } from '../output/text.js';
import type { ListMode } from '../sources/proctasks.js';
import { commandText, type CellContext, type Column, type RowDetail } from './columns.js';
import type { PaneBox } from './layout.js';
import { LineBlock } from './line-block.js';
import { PaneFrame } from './pane-frame.js';
import { selectedIndex, windowTop } from '../model/table-view.js';
import type { TableState } from './process-table-reducer.js';

/** Rows the table shows at once in a pane of this size (border, title and header excluded). */
export function tablePageSize(box: PaneBox): number {
  return Math.max(1, box.height - 4);
}

type SortState = Pick<TableState, 'sort' | 'descending'>;

function sortMark(col: SortColumn | null, state: SortState): string {
  return col !== null && state.sort === col ? (state.descending ? '▼' : '▲') : ' ';
}

interface Cell {
  col: SortColumn | null;
  text: string;
}

/** Header cells, each the width of its column plus the character after it, which holds the sort mark. */
export function headerCells(columns: readonly Column[], state: SortState): Cell[] {
  const cells: Cell[] = [{ col: null, text: ' ' }];
  for (const c of columns) {
    const text =
      c.id === 'PID' || c.id === 'TGID'
        ? pad(c.heading, c.width)
        : pad(c.heading, c.width, c.id === 'USER' || c.id === 'S');
    cells.push({ col: c.sort, text: text + sortMark(c.sort, state) });
  }
  cells.push({ col: 'COMMAND', text: `  COMMAND${sortMark('COMMAND', state)}` });
  return cells;
}

/** One row: the pin mark, each column's cell, then the name (the command line where known). */
export function formatRow(
  r: TaskRow,
  columns: readonly Column[],
  width: number,
  pinned: boolean,
  cell: CellContext,
  indent = '',
): string {
  let s = pinned ? '*' : ' ';
  for (const c of columns) s += c.cell(r, cell);
  const used = displayWidth(s) + 2 + indent.length;
  // (cells wider than the pane: cut, as Ink would cut the line)
  if (used > width) return cutText(s, width);
  return s + '  ' + indent + fitText(commandText(r, cell), width - used).trimEnd();
}

/** The column headings, the sorted one underlined (memoised: they change with the columns and the sort only). */
const TableHeading = memo(function TableHeading({
  columns,
  sort,
  descending,
}: {
  columns: readonly Column[];
  sort: SortColumn;
  descending: boolean;
}) {
  return (
    <Text wrap="truncate">
      {headerCells(columns, { sort, descending }).map((c, i) =>
        c.col !== null && c.col === sort ? (
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
  );
});

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
  columns: readonly Column[];
  /** what the engine read for rows on screen, by key */
  details: ReadonlyMap<string, RowDetail>;
  users: ReadonlyMap<number, string>;
  /** tree view: each row's depth, by key */
  depth?: ReadonlyMap<string, number>;
  /** the filters besides the typed one, in words (e.g. "user alice, no kernel threads") */
  filters: string;
}

const indentOf = (depth: number | undefined): string => (depth ? '  '.repeat(depth - 1) + '└ ' : '');

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
  columns,
  details,
  users,
  depth,
  filters,
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
  const lines = visible.map((r) =>
    formatRow(
      r,
      columns,
      inner,
      pinnedKeys.has(r.key),
      { detail: details.get(r.key), users },
      indentOf(depth?.get(r.key)),
    ),
  );
  return (
    <PaneFrame box={box} focused={focused}>
      <Text wrap="truncate">
        <Text bold color={focused ? 'cyan' : undefined}>
          {what} {count}
        </Text>
        {filterText ? <Text color="yellow"> {filterText}</Text> : null}
        {filters ? <Text color="yellow"> ({filters})</Text> : null}
        <Text dimColor>
          {mode === 'process' ? ' (threads summed)' : ''}
          {lifetime ? ' · lifetime averages' : ' · D% = waiting, % of interval · ~ lifetime avg'}
          {flagged ? ' · ! impossible' : ''}
        </Text>
      </Text>
      <TableHeading columns={columns} sort={state.sort} descending={state.descending} />
      {lines.length > 0 ? (
        <LineBlock lines={lines} highlight={sel - top} width={inner} focused={focused} />
      ) : (
        <Text dimColor wrap="truncate">
          {waiting
            ? 'reading tasks…'
            : state.filter
              ? `no task matches "${state.filter}" (Esc clears the filter)`
              : filters
                ? `no task shown (${filters})`
                : 'no tasks'}
        </Text>
      )}
    </PaneFrame>
  );
}
