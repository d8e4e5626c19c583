// The exit feed pane: recent exits newest first, exits/s per CPU as bars, and the loss
// counter, which is always on screen and turns red once anything was lost.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { FeedEntry } from '../model/exit-feed/entries.js';
import type { CpuActivity } from '../model/exit-feed/loss.js';
import type { FeedSnapshot } from '../model/exit-feed/store.js';
import { clock, fmtGrouped, fmtNs, fmtRate, pad, padNum } from '../output/format.js';
import { fitText } from '../output/text.js';
import { exitStatusText } from '../output/format.js';
import { clip, type PaneBox } from './layout.js';
import { LineBlock } from './line-block.js';
import { PaneFrame } from './pane-frame.js';
import { hbar } from './sparkline.js';
import { cpuMap } from './cpu-map.js';
import { isFrozen, newerExits, shownExits, type FeedPaneState } from './exit-feed-reducer.js';

/** Entries visible at once in a feed pane of this size (border, title and header excluded). */
export function feedPageSize(box: PaneBox): number {
  return Math.max(1, box.height - 4);
}

export function feedHeader(width: number): string {
  return clip(
    `${pad('TIME', 8, true)} ${pad('CPU', 3)} ${pad('PID', 7)} ${pad('TGID', 7)} ${pad('COMMAND', 15, true)} ${pad('STATUS', 11, true)} ${pad('LIFETIME', 8)} WAITED MOST (total)`,
    width,
  );
}

/** The category it waited in most, with that total; `!KEY` for each category whose figures cannot have happened. */
export function mostWaited(e: FeedEntry): string {
  const most = e.largest ? `${e.largest.key} ${fmtNs(e.largest.totalNs)}` : '-';
  return e.suspect
    ? `${most} ${Object.keys(e.suspect)
        .map((k) => `!${k}`)
        .join(' ')}`
    : most;
}

export function feedRow(e: FeedEntry, width: number): string {
  return clip(
    [
      clock(new Date(e.receivedMs)),
      padNum(String(e.cpu), 3),
      padNum(String(e.pid), 7),
      padNum(String(e.tgid), 7),
      fitText(e.comm, 15),
      pad(exitStatusText(e), 11, true),
      pad(fmtNs(e.lifetimeUs * 1000, 8), 8),
      mostWaited(e),
    ].join(' '),
    width,
  );
}

export interface FeedTitle {
  /** after "Exit feed": the exit count and rate, up to the loss counter */
  counts: string;
  lost: string;
  /** LIVE, or how the view is frozen and how many exits arrived since */
  mode: string;
}

/**
 * The pane's title line (after "Exit feed") in `width` columns. Where it does not fit, the
 * Home hint goes first, then the rate, then words; the loss counter and the count of newer
 * exits keep every digit.
 */
export function feedTitle(feed: FeedSnapshot, state: FeedPaneState, width: number): FeedTitle {
  const lost = `lost ${feed.totals.lost}`;
  const { summarized } = feed.totals;
  // a storm past the listener's queue: the newest are shown, the others counted
  const exits = `${feed.totals.received + feed.totals.lost} exits${summarized ? ` (${summarized} counted, not listed)` : ''} · `;
  const rate = `${fmtRate(feed.exitsPerSec)}/s · `;
  const newer = fmtGrouped(newerExits(state, feed));
  const word = state.paused ? 'PAUSED' : 'SCROLLED BACK';
  const fits: [string, string][] = isFrozen(state)
    ? [
        [exits + rate, `${word} · ${newer} newer (Home: live)`],
        [exits + rate, `${word} · ${newer} newer`],
        [exits, `${word} · ${newer} newer`],
        [exits, `${state.paused ? 'PAUSED' : 'BACK'} +${newer}`],
        ['', `${state.paused ? 'PAUSED' : 'BACK'} +${newer}`],
      ]
    : [[exits + rate, 'LIVE']];
  const title = (c: [string, string]) => ({ counts: c[0], lost, mode: c[1] });
  for (const c of fits) if (`Exit feed ${c[0]}${lost} · ${c[1]}`.length <= width) return title(c);
  return title(fits[fits.length - 1]!);
}

function CpuBars({ perCpu, width, lines }: { perCpu: CpuActivity[]; width: number; lines: number }) {
  const max = Math.max(1, ...perCpu.map((c) => c.exitsPerSec));
  const out: ReactNode[] = [];
  if (perCpu.length <= lines) {
    const labelW = Math.max(...perCpu.map((c) => String(c.cpu).length)) + 4;
    const lostW = Math.max(1, ...perCpu.map((c) => String(c.lost).length));
    const barW = Math.max(1, width - labelW - 8 - 6 - lostW);
    for (const c of perCpu) {
      out.push(
        <Text key={c.cpu} wrap="truncate">
          <Text dimColor>{pad(`cpu${c.cpu}`, labelW - 1, true)} </Text>
          <Text color="green">{hbar(c.exitsPerSec, max, barW)}</Text>
          <Text>{pad(fmtRate(c.exitsPerSec, 6), 6)}/s</Text>
          <Text
            color={c.lost ? 'red' : undefined}
            bold={c.lost > 0}
            dimColor={!c.lost}
          >{` lost ${pad(String(c.lost), lostW)}`}</Text>
        </Text>,
      );
    }
    return <>{out}</>;
  }
  // More CPUs than lines: a heat map, the busiest, and every CPU that lost exits
  cpuMap(perCpu, width, lines).forEach((line, i) =>
    out.push(
      <Text key={i} wrap="truncate">
        {line.map((seg, j) => (
          <Text
            key={j}
            color={seg.tone === 'lost' ? 'white' : undefined}
            backgroundColor={seg.tone === 'lost' ? 'red' : undefined}
            dimColor={seg.tone === 'dim'}
          >
            {seg.text}
          </Text>
        ))}
      </Text>,
    ),
  );
  return <>{out}</>;
}

export interface ExitFeedProps {
  feed: FeedSnapshot | null;
  offReason: string | null;
  state: FeedPaneState;
  box: PaneBox;
  cpuWidth: number;
  focused: boolean;
}

export function ExitFeed({ feed, offReason, state, box, cpuWidth, focused }: ExitFeedProps) {
  const inner = box.width - 2;
  const page = feedPageSize(box);
  if (!feed) {
    return (
      <PaneFrame box={box} focused={focused}>
        <Text bold color={focused ? 'cyan' : undefined}>
          Exit feed
        </Text>
        <Text color="yellow" wrap="wrap">
          {offReason ?? 'Exit feed off.'}
        </Text>
      </PaneFrame>
    );
  }
  const listW = inner - cpuWidth - 1;
  const shown = shownExits(state, feed);
  const start = state.start;
  const visible = shown.entries.slice(start, start + page);
  const lost = feed.totals.lost;
  const title = feedTitle(feed, state, inner);
  return (
    <PaneFrame box={box} focused={focused}>
      <Text wrap="truncate">
        <Text bold color={focused ? 'cyan' : undefined}>
          Exit feed
        </Text>
        <Text> {title.counts}</Text>
        <Text color={lost ? 'white' : undefined} backgroundColor={lost ? 'red' : undefined} bold={lost > 0}>
          {title.lost}
        </Text>
        <Text color={isFrozen(state) ? 'yellow' : 'green'}> · {title.mode}</Text>
      </Text>
      <Box flexDirection="row">
        <Box flexDirection="column" width={listW} marginRight={1}>
          <Text dimColor wrap="truncate">
            {feedHeader(listW)}
          </Text>
          {visible.length === 0 ? <Text dimColor>no exits yet</Text> : null}
          {visible.length > 0 ? (
            <LineBlock lines={visible.map((e) => feedRow(e, listW))} highlight={-1} width={listW} focused={false} />
          ) : null}
        </Box>
        <Box flexDirection="column" width={cpuWidth}>
          <Text dimColor wrap="truncate">
            exits/s per CPU
          </Text>
          <CpuBars perCpu={feed.totals.perCpu} width={cpuWidth} lines={page} />
        </Box>
      </Box>
    </PaneFrame>
  );
}
