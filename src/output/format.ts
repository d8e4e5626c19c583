// Plain-text formatting shared by batch output, the exit feed and the dashboard.
import os from 'node:os';

export function fmtPercent(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '-';
  if (p >= 999.5) return p.toFixed(0);
  return p.toFixed(p < 10 ? 2 : 1);
}

/** A duration in ns, in the unit that keeps 3-4 significant digits. */
export function fmtNs(ns: number | null): string {
  if (ns === null || !Number.isFinite(ns)) return '-';
  if (ns < 1e3) return `${ns.toFixed(0)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)}us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)}ms`;
  return `${(ns / 1e9).toFixed(ns < 1e10 ? 2 : 1)}s`;
}

export function fmtCount(n: number): string {
  if (n < 1e5) return String(n);
  if (n < 1e8) return `${(n / 1e3).toFixed(0)}k`;
  return `${(n / 1e6).toFixed(0)}M`;
}

export function pad(s: string, w: number, right = false): string {
  if (s.length > w) return s.slice(0, w);
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
