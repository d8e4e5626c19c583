// The help: every binding of the keymap, by where it applies (nothing here is written by
// hand), laid out as lines of the pane's width and scrolled when they do not fit.
import { Box, Text } from 'ink';
import { helpSections } from './keymap.js';
import { clip, wrapText } from './layout.js';

export interface HelpLine {
  kind: 'title' | 'note' | 'section' | 'row' | 'blank';
  /** the key column (rows only; '' on a row's continuation lines) */
  keys?: string;
  text: string;
}

const INTRO: readonly HelpLine[] = [
  {
    kind: 'title',
    text: 'delaytop help · ? F1 h or Esc closes · ↑/↓ PgUp/PgDn scroll',
  },
  {
    kind: 'note',
    text:
      'D% columns (CPUD% IOD% SWPD% ...) are delay: the share of the interval the task spent waiting for a CPU, ' +
      'for block IO, for swap-in... (as htop names them); CPU% is use.',
  },
  {
    kind: 'note',
    text: "Watch: delay%, avg = last interval; count, max, total = since the task started; max* = largest of a process's threads.",
  },
  {
    kind: 'note',
    text:
      '~ a first sample (lifetime average) · ! impossible (a wait longer than the task lived, or timed from a stale ' +
      'stamp across a delayacct switch-on): never sorted on top, left out of sums, the reason in Watch',
  },
];

/** The whole help as lines `width` columns wide (the pane's inner width). */
export function helpLines(width: number): HelpLine[] {
  const sections = helpSections();
  const keysW = Math.min(Math.max(...sections.flatMap((s) => s.rows.map((r) => r.keys.length))) + 2, 20);
  const out: HelpLine[] = [];
  for (const l of INTRO) {
    for (const text of wrapText(l.text, width)) out.push({ kind: l.kind, text });
    if (l.kind === 'title') out.push({ kind: 'blank', text: '' });
  }
  for (const s of sections) {
    out.push({ kind: 'blank', text: '' }, { kind: 'section', text: s.title });
    for (const r of s.rows) {
      const keys = wrapText(r.keys, keysW - 1);
      const help = wrapText(r.help, Math.max(10, width - keysW));
      for (let i = 0; i < Math.max(keys.length, help.length); i++)
        out.push({ kind: 'row', keys: keys[i] ?? '', text: help[i] ?? '' });
    }
  }
  return out.map((l) => (l.kind === 'row' ? { ...l, keys: (l.keys ?? '').padEnd(keysW) } : l));
}

/** Lines the help shows at once in a pane of this height (border excluded, a line for "more"). */
export function helpPageSize(height: number): number {
  return Math.max(1, height - 3);
}

export function HelpOverlay({ width, height, top }: { width: number; height: number; top: number }) {
  const inner = width - 2;
  const lines = helpLines(inner);
  const page = helpPageSize(height);
  const first = Math.max(0, Math.min(top, lines.length - page));
  const shown = lines.slice(first, first + page);
  const below = lines.length - first - shown.length;
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="cyan" overflow="hidden">
      {shown.map((l, i) =>
        l.kind === 'row' ? (
          <Text key={i} wrap="truncate">
            <Text bold>{l.keys}</Text>
            {l.text}
          </Text>
        ) : (
          <Text
            key={i}
            wrap="truncate"
            bold={l.kind === 'title' || l.kind === 'section'}
            color={l.kind === 'section' ? 'cyan' : undefined}
            dimColor={l.kind === 'note'}
          >
            {clip(l.text, inner) || ' '}
          </Text>
        ),
      )}
      <Text dimColor wrap="truncate">
        {below > 0 || first > 0
          ? `${first > 0 ? `↑ ${first} above` : ''}${first > 0 && below > 0 ? ' · ' : ''}${below > 0 ? `↓ ${below} more` : ''} (↑/↓ PgUp/PgDn)`
          : ' '}
      </Text>
    </Box>
  );
}
