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

export function layoutFor(columns: number, rows: number, bannerLines: number): Layout {
  const width = Math.max(MIN_COLUMNS, columns);
  const height = Math.max(MIN_ROWS, rows) - 1;
  const headerLines = 2 + Math.min(bannerLines, 3);
  const footer = 1;
  const body = Math.max(8, height - headerLines - footer);
  const feedHeight = clamp(Math.round(body * 0.38), 5, body - 5);
  const topHeight = body - feedHeight;
  const procsWidth = clamp(Math.round(width * 0.475), 38, 64);
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
