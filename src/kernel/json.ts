// Kernel values as JSON Lines, exactly: a JSON number up to 2^53-1, a decimal string above.
// Shared by every writer of JSON (batch, -l, -c) and by recordings.
import type { RawValue } from './decode.js';

export function exactValue(v: RawValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object') return { tv_sec: exactValue(v.tv_sec), tv_nsec: exactValue(v.tv_nsec) };
  return v;
}

export function exactRaw(raw: Record<string, RawValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in raw) out[k] = exactValue(raw[k]!);
  return out;
}

/** JSON.stringify that never throws on bigint (written as a decimal string). */
export function jsonLine(obj: unknown): string {
  return JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
