// Where each pane goes for a terminal size. Pure, so a resize is just new numbers.

export interface PaneBox {
  width: number;
  height: number;
}

export interface Layout {
  width: number;
  /** the root box: never the full terminal height (Ink 6.8 clears the screen every frame at rows) */
  height: number;
  headerLines: number;
  procs: PaneBox;
  watch: PaneBox;
  feed: PaneBox;
  /** the per-CPU bars' share of the feed pane's inner width */
  cpuWidth: number;
}

/** Smallest terminal the layout is drawn for; below it the panes are clipped. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** What the body shows besides the process pane. */
export interface Shown {
  /** the watch pane (something is pinned, or w asked for it) */
  watch: boolean;
  /** null: the exit feed is live; else the text saying why it is off (the pane takes the lines it needs, up to 5) */
  feedOff: string | null;
}

/** The process pane's width when the watch pane is beside it: at 80 columns, 15+ for names. */
const PROCS_MIN_WIDTH = 46;
/** The watch pane needs no more: labels, five figures and a sparkline. */
const WATCH_MAX_WIDTH = 80;

export function layoutFor(columns: number, rows: number, bannerLines: number, shown: Shown): Layout {
  const width = Math.max(MIN_COLUMNS, columns);
  const height = Math.max(MIN_ROWS, rows) - 1;
  const headerLines = 2 + Math.min(bannerLines, 3);
  const footer = 1;
  const body = Math.max(8, height - headerLines - footer);
  // an exit feed that is off says why in its border and a line or three
  // (wrapped as Ink wraps words; a line of its own after each newline)
  const offLines =
    shown.feedOff === null
      ? 0
      : clamp(
          shown.feedOff.split('\n').reduce((n, l) => n + Math.max(1, wrapText(l, width - 2).length), 0),
          1,
          5,
        );
  const feedHeight = shown.feedOff === null ? clamp(Math.round(body * 0.38), 5, body - 5) : 3 + offLines;
  const topHeight = body - feedHeight;
  const procsWidth = shown.watch ? Math.max(PROCS_MIN_WIDTH, width - WATCH_MAX_WIDTH, Math.round(width * 0.5)) : width;
  const feedInner = width - 2;
  return {
    width,
    height,
    headerLines,
    procs: { width: procsWidth, height: topHeight },
    watch: { width: width - procsWidth, height: topHeight },
    feed: { width, height: feedHeight },
    // the exit list wants about 82 columns; the bars get the rest
    cpuWidth: clamp(feedInner - 82, 22, 44),
  };
}

/** Cut text to a width. Not padded: Ink fills the rest of the line, and every extra
 * character costs a pass through its ANSI tokenizer on each frame. */
export function clip(s: string, width: number): string {
  return s.length > width ? s.slice(0, width) : s;
}

/** Greedy word wrap (a word longer than the width is cut): banners, the help. */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word;
    while (line.length > width) {
      out.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) out.push(line);
  return out;
}
