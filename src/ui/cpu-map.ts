// Exit activity per CPU when there are more CPUs than lines: a heat map with one cell per
// CPU (or per few CPUs, said in the legend, when even that does not fit), shaded by exits/s,
// a cell red where a CPU lost exits; then the busiest CPUs with their rates, and every CPU
// that lost exits with its loss (as many as fit, then how many more). Pure: lines of
// segments that the pane colours.
import type { CpuActivity } from '../model/exit-feed/loss.js';
import { fmtRate } from '../output/format.js';

export interface Segment {
  text: string;
  /** 'lost': the cells and names of CPUs that lost exits; 'dim': labels */
  tone?: 'lost' | 'dim';
}
export type MapLine = Segment[];

/** From no exits to the busiest cell's rate. */
export const SHADES = ' ░▒▓█';

const shade = (rate: number, max: number): string =>
  rate <= 0 || max <= 0 ? '·' : SHADES[Math.max(1, Math.round((rate / max) * (SHADES.length - 1)))]!;

/** The largest rate and the summed loss of the CPUs [from, to). */
function cellOf(perCpu: readonly CpuActivity[], from: number, to: number): { rate: number; lost: number } {
  let rate = 0;
  let lost = 0;
  for (let i = from; i < to && i < perCpu.length; i++) {
    rate = Math.max(rate, perCpu[i]!.exitsPerSec);
    lost += perCpu[i]!.lost;
  }
  return { rate, lost };
}

/** `items` after `head`, as many as fit `width`, then "+N" for the rest. */
function listLine(head: string, items: readonly string[], width: number, tone?: Segment['tone']): MapLine {
  let body = '';
  let i = 0;
  for (; i < items.length; i++) {
    const next = `${body} ${items[i]}`;
    const rest = items.length - i - 1;
    if (head.length + next.length + (rest > 0 ? ` +${rest}`.length : 0) > width) break;
    body = next;
  }
  if (i < items.length) body += ` +${items.length - i}`;
  return [{ text: head, tone: 'dim' }, tone ? { text: body, tone } : { text: body }];
}

/**
 * The per-CPU area in `width` columns and `lines` lines, for `perCpu` in CPU order. Every
 * CPU is in some cell; a cell that holds a CPU with a loss is a 'lost' segment.
 */
export function cpuMap(perCpu: readonly CpuActivity[], width: number, lines: number): MapLine[] {
  const n = perCpu.length;
  const max = Math.max(0, ...perCpu.map((c) => c.exitsPerSec));
  const losers = perCpu.filter((c) => c.lost > 0);
  const mapLines = Math.max(1, lines - 2 - (losers.length ? 1 : 0));
  const labelW = String(Math.max(0, n - 1)).length + 1;
  const cellsPerRow = Math.max(1, width - labelW);
  const perCell = Math.max(1, Math.ceil(n / (mapLines * cellsPerRow)));
  const cells = Math.ceil(n / perCell);
  const rowCells = Math.min(cellsPerRow, cells);
  const out: MapLine[] = [];
  for (let c0 = 0; c0 < cells; c0 += rowCells) {
    const line: MapLine = [{ text: String(c0 * perCell).padStart(labelW - 1) + ' ', tone: 'dim' }];
    for (let c = c0; c < Math.min(cells, c0 + rowCells); c++) {
      const cell = cellOf(perCpu, c * perCell, (c + 1) * perCell);
      const ch = shade(cell.rate, max);
      const last = line[line.length - 1]!;
      const tone = cell.lost > 0 ? 'lost' : undefined;
      if (last.tone === tone && line.length > 1) last.text += ch;
      else line.push(tone ? { text: ch, tone } : { text: ch });
    }
    out.push(line);
  }
  // the legend, shorter where narrow; how many CPUs a cell holds is never left out
  const long = `${SHADES.slice(1)} up to ${fmtRate(max)}/s${perCell > 1 ? ` · ${perCell} CPUs/cell` : ''}`;
  const short = `█=${fmtRate(max)}/s${perCell > 1 ? ` ${perCell}cpu/cell` : ''}`;
  out.push([{ text: long.length <= width ? long : short, tone: 'dim' }]);
  const busiest = [...perCpu]
    .filter((c) => c.exitsPerSec > 0)
    .sort((a, b) => b.exitsPerSec - a.exitsPerSec || a.cpu - b.cpu)
    .map((c) => `${c.cpu}:${fmtRate(c.exitsPerSec)}`);
  out.push(listLine('top', busiest.length ? busiest : ['-'], width));
  if (losers.length)
    out.push(
      listLine(
        'lost',
        losers.map((c) => `${c.cpu}:${c.lost}`),
        width,
        'lost',
      ),
    );
  return out;
}
