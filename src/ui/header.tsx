// The header: what the kernel offers and what delaytop can use, refresh state, counts.
import { Box, Text } from 'ink';
import { clock } from '../output/format.js';
import { displayWidth, printable } from '../output/text.js';
import { wrapText } from './layout.js';
import type { DashboardSnapshot } from '../engine/refresh.js';

/**
 * At most `max` lines of banners: every banner keeps its first line (cut with … when it
 * does not fit whole), then the rest are filled in order. Banners lead with what matters.
 */
export function bannerLines(banners: readonly string[], width: number, max = 3): string[] {
  const wrapped = banners.map((b) => wrapText(b, width)).filter((w) => w.length > 0);
  const take = wrapped.map(() => 0);
  let room = max;
  for (let i = 0; i < wrapped.length && room > 0; i++, room--) take[i] = 1;
  for (let i = 0; i < wrapped.length && room > 0; i++) {
    const more = Math.min(room, wrapped[i]!.length - take[i]!);
    take[i] = take[i]! + more;
    room -= more;
  }
  return wrapped.flatMap((w, i) => {
    const lines = w.slice(0, take[i]);
    if (lines.length && lines.length < w.length) {
      const last = lines[lines.length - 1]!;
      lines[lines.length - 1] = (last.length >= width ? last.slice(0, Math.max(0, width - 1)) : last) + '…';
    }
    return lines;
  });
}

/** The header's banner texts: the session's, then the live PSI line (the layout counts the same). */
export function headerBanners(h: DashboardSnapshot['header']): readonly string[] {
  return h.pressure === null ? h.banners : [...h.banners, h.pressure];
}

const fmtInterval = (s: number) => (s < 1 ? `${s * 1000}ms` : `${s}s`);

/**
 * The end of the counts line (`counts`: the line before it, as shown): when the last
 * refresh was, and how to get help. The note that process rows sum their threads (the
 * table's title says so too) is left out where the line would not fit `width` with it, so
 * that the way to help stays on screen.
 */
export function statusText(
  snap: Pick<DashboardSnapshot, 'atMs' | 'refreshMs' | 'mode'>,
  counts: string,
  width: number,
): string {
  if (!snap.atMs) return 'reading tasks…';
  const took = snap.refreshMs !== null ? ` in ${snap.refreshMs.toFixed(0)} ms` : '';
  const refreshed = `refreshed ${clock(new Date(snap.atMs))}${took}`;
  const note = snap.mode === 'process' ? ' · process rows sum their threads' : '';
  const whole = `${refreshed}${note} · ? help`;
  return displayWidth(`${counts} · ${whole}`) <= width ? whole : `${refreshed} · ? help`;
}

export function Header({ snap, width, taskCount }: { snap: DashboardSnapshot; width: number; taskCount: number }) {
  const h = snap.header;
  const da = h.delayacct.on;
  const lost = snap.feed?.totals.lost ?? 0;
  const exits = snap.feed ? snap.feed.totals.received + lost : null;
  // a replayed recording's banners and kernel release are the file's words
  const banners = bannerLines(headerBanners(h).map(printable), width);
  // the counts line's pieces, drawn below and measured whole for statusText
  const tasks = `${taskCount} ${snap.mode === 'thread' ? 'threads' : 'processes'}`;
  const exitCounts =
    exits === null
      ? null
      : {
          exits: ` · ${exits} exits`,
          rate: ` (${(snap.feed?.exitsPerSec ?? 0).toFixed(1)}/s) · `,
          lost: `lost ${lost}`,
        };
  const feedOff = ' · exit feed off';
  const flagged = snap.flagged ? ` · ${snap.flagged} impossible (!)` : '';
  const counts = tasks + (exitCounts ? exitCounts.exits + exitCounts.rate + exitCounts.lost : feedOff) + flagged;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          delaytop
        </Text>
        <Text>
          {' '}
          · kernel {printable(h.kernelRelease)} · taskstats {h.taskstatsVersion ? `v${h.taskstatsVersion}` : 'n/a'}{' '}
          ·{' '}
        </Text>
        {da === undefined ? (
          <Text dimColor>delayacct n/a</Text>
        ) : da ? (
          <Text color="green">delayacct on{h.delayacctChanged ? ' (by delaytop)' : ''}</Text>
        ) : (
          <Text color="yellow" bold>
            delayacct OFF{h.delayacctChanged ? ' (by delaytop)' : ''} (Ctrl-T: on)
          </Text>
        )}
        <Text> · every {fmtInterval(snap.intervalSec)} (+/-) · </Text>
        {h.privileged ? (
          <Text color="green">privileged</Text>
        ) : (
          <Text color="red">unprivileged ({h.sourceName === 'proc' ? '/proc' : h.sourceName} only)</Text>
        )}
      </Text>
      <Text wrap="truncate">
        {snap.message ? <Text color="yellow">{snap.message} · </Text> : null}
        <Text bold>{tasks}</Text>
        {exitCounts === null ? (
          <Text dimColor>{feedOff}</Text>
        ) : (
          <>
            <Text bold>{exitCounts.exits}</Text>
            <Text>{exitCounts.rate}</Text>
            <Text color={lost ? 'white' : undefined} backgroundColor={lost ? 'red' : undefined} bold={lost > 0}>
              {exitCounts.lost}
            </Text>
          </>
        )}
        {flagged ? <Text color="yellow">{flagged}</Text> : null}
        {snap.message ? null : <Text dimColor> · {statusText(snap, counts, width)}</Text>}
      </Text>
      {banners.map((b, i) => (
        <Text key={i} color="yellow" wrap="truncate">
          {b}
        </Text>
      ))}
    </Box>
  );
}
