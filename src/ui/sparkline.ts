// Sparklines: recent values as block characters, scaled to the largest shown.
const BARS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` values as a sparkline; null (n/a, not sampled) is a blank. The scale
 * starts at `floor` so that noise near zero stays flat.
 */
export function sparkline(values: readonly (number | null)[], width: number, floor = 1): string {
  const shown = values.slice(-width);
  let max = floor;
  for (const v of shown) if (v !== null && Number.isFinite(v) && v > max) max = v;
  let out = '';
  for (const v of shown) {
    if (v === null || !Number.isFinite(v)) out += ' ';
    else out += BARS[Math.min(BARS.length - 1, Math.max(0, Math.round((v / max) * (BARS.length - 1))))];
  }
  return out.padStart(width);
}

/** A horizontal bar of `width` cells for value/max, in eighths. */
export function hbar(value: number, max: number, width: number): string {
  if (width <= 0) return '';
  const eighths = max > 0 ? Math.round(Math.min(1, Math.max(0, value / max)) * width * 8) : 0;
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return ('█'.repeat(full) + (part ? ('▏▎▍▌▋▊▉'[part - 1] ?? '') : '')).padEnd(width);
}
