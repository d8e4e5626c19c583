// The watch pane: for each pinned task, its delay table with a sparkline per category.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { CATEGORIES } from '../kernel/layout.js';
import type { CategoryDelay, TaskDelays } from '../model/delays.js';
import type { WatchEntry } from '../model/watch.js';
import { clock, figureMark, fmtCount, fmtNs, fmtPercent, pad } from '../output/format.js';
import { printable } from '../output/text.js';
import { exitStatusText } from '../output/format.js';
import { clip, type PaneBox } from './layout.js';
import { PaneFrame } from './pane-frame.js';
import { sparkline } from './sparkline.js';
import { selectedPinned, type WatchPaneState } from './watch-pane-reducer.js';

/** a task's title, one row per category, and a line for why a figure is marked ! (the column header is shown once, above all) */
export const BLOCK_LINES = 1 + CATEGORIES.length + 1;

/** The column header's lines, shown once above every table. */
export const HEADER_LINES = 2;

/** How many pinned tasks' tables fit in `lines` (below the pane title). */
export function blocksThatFit(lines: number): number {
  return Math.max(1, Math.floor((lines - HEADER_LINES) / BLOCK_LINES));
}

const LABEL = 9; // THRASHING
// delay% and avg cover the last interval; count, max and total the task's whole life
const COLS = [
  { title: 'delay%', width: 7 },
  { title: 'avg', width: 7 },
  { title: 'count', width: 7 },
  { title: 'max', width: 7 },
  { title: 'total', width: 7 },
] as const;
const INTERVAL_COLS = 2;
/** each figure is followed by its mark (! impossible, ~ lifetime average) */
const FIXED = LABEL + COLS.reduce((s, c) => s + c.width + 1, 0);

/** The header: which columns are the last interval's and which the whole life's, then their names. */
export function watchHeader(width: number, tgid: boolean, lifetime = false): string[] {
  const spark = Math.max(0, width - FIXED - 2);
  const span = (cols: readonly (typeof COLS)[number][]) => cols.reduce((s, c) => s + c.width + 1, 0);
  const group = (text: string, w: number) => pad(`${text} `.padStart(w), w);
  const groups =
    pad('', LABEL, true) +
    group(lifetime ? 'lifetime avg' : 'last interval', span(COLS.slice(0, INTERVAL_COLS))) +
    group('since start', span(COLS.slice(INTERVAL_COLS)));
  const cols = COLS.map((c) => pad(c.title === 'max' && tgid ? 'max*' : c.title, c.width) + ' ').join('');
  return [clip(groups, width), clip(pad('', LABEL, true) + cols + (spark >= 8 ? '  history' : ''), width)];
}

export function watchRow(c: CategoryDelay, e: WatchEntry, width: number): string {
  const spark = Math.max(0, width - FIXED - 2);
  const label = pad(c.key, LABEL, true);
  if (c.na) {
    const cells = COLS.map((col) => pad('n/a', col.width) + ' ').join('');
    return clip(label + cells + (spark >= 8 ? '  ' + c.na : ''), width);
  }
  const d = e.delays;
  const spanMark = figureMark(!!d?.suspect?.[c.key], !!d?.lifetime);
  const lifeMark = figureMark(!!d?.totalsSuspect?.[c.key], false);
  const max = e.target.kind === 'tgid' ? (e.threadMaxNs?.[c.key] ?? null) : c.maxNs;
  const cells = [
    [fmtPercent(c.delayPercent, 7), spanMark],
    [fmtNs(c.avgDelayNs, 7), spanMark],
    [fmtCount(c.count, 7), ' '],
    [fmtNs(max, 7), lifeMark],
    [fmtNs(c.totalNs, 7), lifeMark],
  ].map(([v, m], i) => pad(v!, COLS[i]!.width) + m);
  return clip(label + cells.join('') + (spark >= 8 ? '  ' + sparkline(e.history[c.key], spark) : ''), width);
}

/** Why the entry's figures marked ! cannot have happened, in words; '' when none is. */
export function suspectNote(d: TaskDelays | null): string {
  if (!d) return '';
  const notes: string[] = [];
  for (const c of d.categories) {
    const span = d.suspect?.[c.key];
    const totals = d.totalsSuspect?.[c.key];
    if (span) notes.push(`${c.key}: ${span}`);
    else if (totals) notes.push(`${c.key} since start: ${totals}`);
  }
  return notes.length ? `! ${notes.join('; ')}` : '';
}

function entryTitle(e: WatchEntry): string {
  const who = e.target.kind === 'tgid' ? `tgid ${e.target.id}` : `pid ${e.target.id}`;
  return `${who} ${e.comm === null ? '?' : printable(e.comm)}`;
}

function entryScope(e: WatchEntry): string {
  if (e.target.kind === 'pid') return 'one thread';
  return e.threads ? `sum of ${e.threads} thread${e.threads === 1 ? '' : 's'}` : 'threads summed';
}

function exitText(e: WatchEntry): string | null {
  if (!e.exited) return null;
  const s = e.exited.status;
  return s ? `EXITED ${exitStatusText(s)} ${clock(new Date(s.receivedMs))}` : 'EXITED (status unknown)';
}

function Block({ e, width, selected, focused }: { e: WatchEntry; width: number; selected: boolean; focused: boolean }) {
  const exited = exitText(e);
  const lines: ReactNode[] = [
    <Text key="t" wrap="truncate">
      <Text color={selected && focused ? 'cyan' : undefined} bold={selected}>
        {selected ? '▶ ' : '  '}
        {entryTitle(e)}
      </Text>
      {exited ? (
        <Text color="red" bold>
          {' '}
          · {exited}
        </Text>
      ) : (
        <Text color="green"> · running</Text>
      )}
      <Text dimColor> · {entryScope(e)}</Text>
    </Text>,
  ];
  if (!e.delays) {
    lines.push(
      <Text key="w" dimColor wrap="truncate">
        {exited ? '  no sample was taken before it ended' : '  waiting for the first sample…'}
      </Text>,
    );
  } else {
    for (const c of e.delays.categories) {
      lines.push(
        <Text key={c.key} dimColor={!!c.na || !!e.exited} wrap="truncate">
          {watchRow(c, e, width)}
        </Text>,
      );
    }
  }
  lines.push(
    <Text key="why" color="yellow" wrap="truncate">
      {suspectNote(e.delays) || ' '}
    </Text>,
  );
  return <>{lines}</>;
}

export interface WatchPaneProps {
  entries: readonly WatchEntry[];
  state: WatchPaneState;
  box: PaneBox;
  focused: boolean;
}

export function WatchPane({ entries, state, box, focused }: WatchPaneProps) {
  const inner = box.width - 2;
  const bodyLines = box.height - 3;
  const sel = selectedPinned(
    state,
    entries.map((e) => e.key),
  );
  const fit = blocksThatFit(bodyLines);
  // the selected task first in view, then the ones after it
  const start = Math.max(0, Math.min(sel, entries.length - fit));
  const shown = entries.slice(start, start + fit);
  const hidden = entries.length - shown.length;
  const tgidShown = shown.some((e) => e.target.kind === 'tgid');
  return (
    <PaneFrame box={box} focused={focused}>
      <Text wrap="truncate">
        <Text bold color={focused ? 'cyan' : undefined}>
          Watch
        </Text>
        <Text dimColor>
          {entries.length
            ? ` ${entries.length} pinned${hidden ? ` (${hidden} more: ↑/↓)` : ''}${tgidShown ? ' · max*: of its threads' : ''} · ! impossible (why below)`
            : ''}
        </Text>
      </Text>
      {entries.length === 0 ? (
        <Box flexDirection="column">
          <Text dimColor wrap="truncate">
            No task pinned.
          </Text>
          <Text dimColor wrap="wrap">
            Highlight a process with ↑/↓ in the process pane and press Enter to watch its delays here.
          </Text>
        </Box>
      ) : (
        <>
          {watchHeader(
            inner,
            tgidShown,
            shown.some((e) => e.delays?.lifetime),
          ).map((h, i) => (
            <Text key={`h${i}`} dimColor wrap="truncate">
              {h}
            </Text>
          ))}
          {shown.map((e, i) => (
            <Block key={e.key} e={e} width={inner} selected={start + i === sel} focused={focused} />
          ))}
        </>
      )}
    </PaneFrame>
  );
}
