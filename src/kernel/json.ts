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

// JSON.stringify escapes C0 controls and lone surrogates, but leaves DEL, C1 (U+009B is a
// CSI), format characters (U+202E reorders a line) and U+2028/2029 as they are: a JSON line
// read on a terminal must not act on it. \uXXXX keeps it valid JSON and exact.
const TERMINAL_UNSAFE = /[\u007f-\u009f\u2028\u2029\p{Cf}]/gu;
const escapeUnsafe = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

const bigintAsString = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** JSON.stringify that never throws on bigint (written as a decimal string), safe on a terminal. */
export function jsonLine(obj: unknown): string {
  let s: string;
  try {
    // without a replacer JSON.stringify stays native (a replacer is a call per value: it
    // made a -l --json line cost 3x); kernel values come here exact already (exactRaw)
    s = JSON.stringify(obj);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    s = JSON.stringify(obj, bigintAsString);
  }
  TERMINAL_UNSAFE.lastIndex = 0;
  return TERMINAL_UNSAFE.test(s) ? s.replace(TERMINAL_UNSAFE, escapeUnsafe) : s;
}
