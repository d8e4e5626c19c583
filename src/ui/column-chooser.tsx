// The column chooser (C, as htop's F2): every column of the process table, shown or not.
import { Box, Text } from 'ink';
import { COLUMNS, type ColumnId } from './columns.js';
import { clip } from './layout.js';

export interface ColumnChooserProps {
  width: number;
  height: number;
  /** the highlighted column (index into COLUMNS) */
  selected: number;
  /** the columns on screen now */
  shown: readonly ColumnId[];
  /** the columns are chosen by the pane's width (none chosen by hand) */
  automatic: boolean;
}

export function ColumnChooser({ width, height, selected, shown, automatic }: ColumnChooserProps) {
  const inner = width - 2;
  const page = Math.max(1, height - 4);
  const top = Math.max(0, Math.min(selected - Math.floor(page / 2), COLUMNS.length - page));
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="cyan" overflow="hidden">
      <Text bold wrap="truncate">
        Columns · Space shows/hides · a: as many as fit · Esc closes
      </Text>
      <Text dimColor wrap="truncate">
        {automatic
          ? 'now: as many as fit the pane (a column chosen here makes the choice yours)'
          : 'now: your choice (a column that does not fit the pane is left out; the name keeps 15+ columns)'}
      </Text>
      {COLUMNS.slice(top, top + page).map((c, i) => (
        <Text key={c.id} inverse={top + i === selected} wrap="truncate">
          {clip(`${shown.includes(c.id) ? '[x]' : '[ ]'} ${c.heading.padEnd(6)} ${c.help}`, inner)}
        </Text>
      ))}
    </Box>
  );
}
