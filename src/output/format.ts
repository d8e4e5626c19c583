// Plain-text formatting shared by batch output, the exit feed and the dashboard.
import os from 'node:os';

// Numbers never lose digits to a column: each formatter takes the width it has and, when
// the plain form is wider, switches to a compact one that keeps the magnitude (6.3M).

const SI = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];

/** v >= 1000 as "6.3M"/"63M"/"630M" in at most `width` characters (4 at least). */
function compact(v: number, width: number, unit = ''): string {
  let x = v;
  for (const suffix of SI) {
    x /= 1000;
    if (x >= 999.5) continue;
    for (const digits of [2, 1, 0]) {
      if (digits && x >= 10 ** (3 - digits)) continue;
      const s = `${x.toFixed(digits)}${suffix}${unit}`;
      if (s.length <= width) return s;
    }
    return `${x.toFixed(0)}${suffix}${unit}`;
  }
  return `${v.toExponential(0)}${unit}`;
}

/** Bytes per second in at most `width` characters: whole below 1000, then k, M, G... (1000s). */
export function fmtByteRate(r: number, width = Infinity): string {
  const plain = r.toFixed(0);
  return plain.length <= width && r < 1000 ? plain : compact(r, width);
}

/** A rate (per second) in at most `width` characters: one decimal below 100. */
export function fmtRate(r: number, width = Infinity): string {
  const plain = r >= 100 ? r.toFixed(0) : r.toFixed(1);
  return plain.length <= width || r < 1000 ? plain : compact(r, width);
}

/** A percentage in at most `width` characters (default: as wide as it takes). */
export function fmtPercent(p: number | null, width = Infinity): string {
  if (p === null || !Number.isFinite(p)) return '-';
  const plain = p >= 999.5 ? p.toFixed(0) : p.toFixed(p < 10 ? 2 : 1);
  if (plain.length <= width) return plain;
  if (p < 999.5) {
    // fewer decimals; rounding can carry a digit (99.96 -> 100.0), so check again
    for (let d = Math.max(0, width - String(Math.floor(p)).length - 1); d >= 0; d--) {
      const s = p.toFixed(d);
      if (s.length <= width) return s;
    }
  }
  return compact(p, width);
}

const UNITS: readonly [number, string][] = [
  [86400 * 365.25, 'y'],
  [86400, 'd'],
  [3600, 'h'],
  [60, 'm'],
];

/** A duration in ns, in the unit that keeps 3-4 significant digits, in at most `width` characters. */
export function fmtNs(ns: number | null, width = Infinity): string {
  if (ns === null || !Number.isFinite(ns)) return '-';
  let plain: string;
  if (ns < 1e3) plain = `${ns.toFixed(0)}ns`;
  else if (ns < 1e6) plain = `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)}us`;
  else if (ns < 1e9) plain = `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)}ms`;
  else plain = `${(ns / 1e9).toFixed(ns < 1e10 ? 2 : 1)}s`;
  if (plain.length <= width) return plain;
  const s = ns / 1e9;
  // Long waits: minutes, hours, days, years, with as many decimals as fit.
  for (const [per, unit] of UNITS) {
    if (s < per) continue;
    const v = s / per;
    for (const digits of [1, 0]) {
      const t = `${v.toFixed(digits)}${unit}`;
      if (t.length <= width) return t;
    }
    return v >= 1000 ? compact(v, width, unit) : `${v.toFixed(0)}${unit}`;
  }
  // Shorter than a minute but still too wide: fewer decimals.
  const m = /^([0-9.]+)(ns|us|ms|s)$/.exec(plain)!;
  return `${Number(m[1]).toFixed(0)}${m[2]}`;
}

/** A count: exact where it fits in `width`, else compact (123k, 4.3M). */
export function fmtCount(n: number, width = 7): string {
  const plain = String(n);
  if (plain.length <= width || n < 1000) return plain;
  return compact(n, width);
}

/** A count with every digit, in groups of three (5,000): for counts a reader compares. */
export function fmtGrouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** Text into a column: cut to `w` (for names; numbers go through the formatters above). */
export function pad(s: string, w: number, right = false): string {
  if (s.length > w) return s.slice(0, w);
  return right ? s.padEnd(w) : s.padStart(w);
}

/** After a figure: `!` it cannot have happened (model/plausibility), `~` a lifetime average (first sample). */
export function figureMark(suspect: boolean, lifetime: boolean): string {
  return suspect ? '!' : lifetime ? '~' : ' ';
}

/** A number into a column: padded, never cut (a wider one widens its line instead). */
export function padNum(s: string, w: number, right = false): string {
  return right ? s.padEnd(w) : s.padStart(w);
}

export function clock(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));

export function signalName(sig: number): string {
  return SIGNAL_NAMES.get(sig) ?? `signal ${sig}`;
}

/** How an exit looks in one cell: "exit 0", "SIGKILL", "SIGSEGV core". */
export function exitStatusText(s: { exitCode: number | null; signal: number | null; coreDumped: boolean }): string {
  if (s.signal !== null) return `${signalName(s.signal)}${s.coreDumped ? ' core' : ''}`;
  return `exit ${s.exitCode ?? '?'}`;
}

/**
 * Each delay category's column heading, as htop names its delay columns (D: delay, the
 * share of the interval spent waiting), so that it does not read as use (CPU%, IO%).
 */
export const DELAY_HEADING: Readonly<Record<string, string>> = {
  CPU: 'CPUD%',
  IO: 'IOD%',
  SWAP: 'SWPD%',
  RECLAIM: 'RCLD%',
  THRASHING: 'THRD%',
  COMPACT: 'CMPD%',
  WPCOPY: 'WPCD%',
  IRQ: 'IRQD%',
};
