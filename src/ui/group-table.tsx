// The group view (g): a row per cgroup, its processes' delays summed over the interval, the
// ones that exited in it included (model/groups.ts groupRows). Sorted by the table's sort
// column where that is a delay category, else by CPU delay.
import { Text } from 'ink';
import { CATEGORIES } from '../kernel/layout.js';
import type { GroupRow } from '../model/groups.js';
import type { SortColumn } from '../model/scan.js';
import { DELAY_HEADING, fmtPercent, pad, padNum } from '../output/format.js';
import { fitText } from '../output/text.js';
import type { PaneBox } from './layout.js';
import { PaneFrame } from './pane-frame.js';

const PCT = 6;

/** The group's row: processes now, processes that exited in the interval, delay % per category shown. */
export function groupLine(g: GroupRow, cats: readonly number[], width: number): string {
  let s = padNum(String(g.tasks), 6) + ' ' + padNum(String(g.exited), 6) + ' ';
  for (const i of cats) s += pad(fmtPercent(g.percent[i] ?? 0, PCT), PCT) + ' ';
  return s + ' ' + fitText(g.group, Math.max(0, width - s.length - 1)).trimEnd();
}

/** Delay categories that fit beside 24+ columns of group name, CPU first. */
function categoriesFor(inner: number): number[] {
  const room = Math.max(0, inner - 14 - 1 - 24);
  return CATEGORIES.map((_, i) => i).slice(0, Math.max(2, Math.floor(room / (PCT + 1))));
}

export function sortedGroups(rows: readonly GroupRow[], sort: SortColumn, descending: boolean): GroupRow[] {
  const at = Math.max(
    0,
    CATEGORIES.findIndex((c) => c.key === sort),
  );
  const dir = CATEGORIES.some((c) => c.key === sort) && !descending ? 1 : -1;
  return [...rows].sort(
    (a, b) => dir * ((a.percent[at] ?? 0) - (b.percent[at] ?? 0)) || a.group.localeCompare(b.group),
  );
}

export function GroupTable({
  rows,
  box,
  focused,
  sort,
  descending,
}: {
  rows: readonly GroupRow[];
  box: PaneBox;
  focused: boolean;
  sort: SortColumn;
  descending: boolean;
}) {
  const inner = box.width - 2;
  const cats = categoriesFor(inner);
  const page = Math.max(1, box.height - 4);
  const shown = sortedGroups(rows, sort, descending).slice(0, page);
  const header =
    pad('PROCS', 6) +
    ' ' +
    pad('EXITED', 6) +
    ' ' +
    cats.map((i) => pad(DELAY_HEADING[CATEGORIES[i]!.key]!, PCT) + ' ').join('') +
    ' CGROUP';
  return (
    <PaneFrame box={box} focused={focused}>
      <Text wrap="truncate">
        <Text bold color={focused ? 'cyan' : undefined}>
          Groups {rows.length}
        </Text>
        <Text dimColor> (cgroups: processes summed, those that exited in the interval included · g: processes)</Text>
      </Text>
      <Text dimColor wrap="truncate">
        {header}
      </Text>
      {shown.length === 0 ? (
        <Text dimColor>groups come with the next refresh…</Text>
      ) : (
        shown.map((g) => (
          <Text key={g.group} wrap="truncate">
            {groupLine(g, cats, inner)}
          </Text>
        ))
      )}
    </PaneFrame>
  );
}
