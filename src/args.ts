// Command-line validation: pure functions that turn flag values into typed options or
// a UsageError naming the flag, the value and what to do (exit code 2).
import type { Target, TargetKind } from './sources/types.js';

export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

function list(values: unknown): string[] {
  const arr = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return arr.flatMap((v) => String(v).split(',')).map((s) => s.trim());
}

/** pids/tgids: decimal integers 1..pid_max, checked before any kernel call. */
export function parseIds(flag: string, kind: TargetKind, values: unknown, pidMax: number): Target[] {
  return list(values).map((s) => {
    if (!/^[0-9]+$/.test(s)) {
      throw new UsageError(`${flag} ${JSON.stringify(s)}: not a process id (expected a whole number from 1 to ${pidMax})`);
    }
    const id = Number(s);
    if (id < 1 || id > pidMax) {
      throw new UsageError(`${flag} ${s}: out of range (process ids run from 1 to pid_max = ${pidMax})`);
    }
    return { kind, id };
  });
}

/** A positive number of seconds (decimals allowed), e.g. -d 0.5. */
export function parseSeconds(flag: string, value: unknown, min = 0.05, max = 86400): number {
  const s = String(value).trim();
  const n = /^[0-9]+(\.[0-9]+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected seconds between ${min} and ${max}, e.g. ${flag} 1`);
  }
  return n;
}

/** A whole count >= 1. */
export function parseCount(flag: string, value: unknown, max = 1e9): number {
  const s = String(value).trim();
  if (!/^[0-9]+$/.test(s) || Number(s) < 1 || Number(s) > max) {
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected a whole number from 1 to ${max}`);
  }
  return Number(s);
}
