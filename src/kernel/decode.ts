// struct taskstats decoder: by the STATS attribute's length plus its version field,
// never by a compiled sizeof (distro headers lag the kernel).
import { FIELD_SIZE, fieldsIn, MAX_KNOWN_VERSION, MIN_VERSION, STRUCT_SIZE, versionForSize } from './layout.js';

/** A u64 stays a number while exact (<= 2^53-1), and becomes a bigint above. */
export type U64 = number | bigint;
export interface Timespec {
  tv_sec: U64;
  tv_nsec: U64;
}
export type RawValue = U64 | string | Timespec;

export interface Taskstats {
  /** the version field as sent (0 for old TGID exit records) */
  version: number;
  /** the layout actually used to decode */
  layoutVersion: number;
  /** STATS attribute length in bytes */
  length: number;
  /** every field the record has, under its kernel name */
  raw: Record<string, RawValue>;
}

export class DecodeError extends Error {
  override name = 'DecodeError';
}

export interface DecodeOptions {
  /** version to assume when the record says 0 (e.g. the sibling PID record's) */
  fallbackVersion?: number;
  /** decode only these fields (a cheap partial record; validation is the same); pass a
   *  constant array: readers are compiled once per list */
  only?: readonly string[];
}

const TWO32 = 4294967296;
const SAFE_HI = 0x200000; // hi word below 2^21 keeps hi*2^32+lo under 2^53

export function readU64(dv: DataView, off: number): U64 {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  if (hi < SAFE_HI) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function readS64(dv: DataView, off: number): U64 {
  const v = dv.getBigInt64(off, true);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

// ignoreBOM: a leading U+FEFF is part of a name (stripped, "\uFEFFsshd" would show as sshd)
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** First of the lone surrogates that stand for bytes 0x80-0xff that were not UTF-8 (surrogateescape). */
export const RAW_BYTE_BASE = 0xdc00;

/**
 * ac_comm: NUL-terminated within 32 bytes, arbitrary bytes. UTF-8 where it is; a byte that
 * is not is kept as the lone surrogate U+DC00+byte (Python's "surrogateescape"), so nothing
 * is lost: JSON writes it as \udcNN, and output/text.ts shows it as \xNN.
 */
function readComm(bytes: Uint8Array, off: number): string {
  let end = off;
  const stop = off + FIELD_SIZE.comm;
  while (end < stop && bytes[end] !== 0) end++;
  return decodeName(bytes.subarray(off, end));
}

/** A name's bytes (comm from taskstats or /proc) as text, keeping every byte: see readComm. */
export function decodeName(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return surrogateEscape(b);
  }
}

/** Length of the valid UTF-8 sequence at b[i] (RFC 3629: no overlong forms, no surrogates), or 0. */
function utf8SeqLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

export function surrogateEscape(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length;) {
    const n = utf8SeqLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(RAW_BYTE_BASE + b[i]!);
      i++;
    } else {
      out += utf8.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

type Reader = (dv: DataView, bytes: Uint8Array) => Record<string, RawValue>;

const readers = { readU64, readS64, readComm };

/**
 * One reader per (layout version, length), built once: a function that returns a single
 * object literal with every field the record has. Adding 70 computed properties one by
 * one would leave V8 a slow dictionary-mode object per task; a literal gets one shape.
 * Field names and offsets come from the layout table only, never from input bytes.
 * The reader is called once with `blank` before use: its fields then hold any value, not
 * only numbers, and V8 keeps each number as the one boxed value it made instead of boxing
 * it again on every read of the field (reads by name, num()): docs/performance.md.
 */
function compileReader(layoutVersion: number, length: number, only?: readonly string[]): Reader {
  const parts: string[] = [];
  for (const f of fieldsIn(layoutVersion, length)) {
    if (only && !only.includes(f.name)) continue;
    const o = f.at;
    const expr = {
      u64: `r.readU64(dv, ${o})`,
      u32: `dv.getUint32(${o}, true)`,
      u16: `dv.getUint16(${o}, true)`,
      u8: `dv.getUint8(${o})`,
      comm: `r.readComm(bytes, ${o})`,
      timespec: `{ tv_sec: r.readS64(dv, ${o}), tv_nsec: r.readS64(dv, ${o + 8}) }`,
    }[f.type];
    parts.push(`${JSON.stringify(f.name)}: blank ? null : ${expr}`);
  }
  const body = `return function read(dv, bytes, blank) { return { ${parts.join(', ')} }; };`;
  const read = new Function('r', body)(readers) as (
    dv: DataView | null,
    bytes: Uint8Array | null,
    blank: boolean,
  ) => Record<string, RawValue>;
  read(null, null, true);
  return (dv, bytes) => read(dv, bytes, false);
}

const compiled = new Map<string, Reader>();
// Readers for partial decodes, keyed by the field list itself (callers pass constants), so
// that no key string is built per call.
const compiledOnly = new WeakMap<readonly string[], Map<string, Reader>>();

// A batch is thousands of records of one version, length and field list: the last reader
// is kept at hand, so the common case builds no cache key (a string) per record.
let last: { layoutVersion: number; length: number; only: readonly string[] | undefined; read: Reader } | null = null;

function readerFor(layoutVersion: number, length: number, only?: readonly string[]): Reader {
  if (last && last.layoutVersion === layoutVersion && last.length === length && last.only === only) return last.read;
  let cache = compiled;
  if (only) {
    let c = compiledOnly.get(only);
    if (!c) compiledOnly.set(only, (c = new Map()));
    cache = c;
  }
  const key = `${layoutVersion}:${length}`;
  let read = cache.get(key);
  if (!read) {
    if (cache.size > 64) cache.clear(); // only garbage makes many distinct lengths
    read = compileReader(layoutVersion, length, only);
    cache.set(key, read);
  }
  last = { layoutVersion, length, only, read };
  return read;
}

export function decodeTaskstats(bytes: Uint8Array, opts: DecodeOptions = {}): Taskstats {
  const length = bytes.byteLength;
  if (length < 2) throw new DecodeError(`STATS attribute of ${length} bytes has no version field`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, length);
  const version = dv.getUint16(0, true);
  let layoutVersion = version;
  if (version === 0) {
    // Older kernels sent TGID exit records with version 0.
    const guess = opts.fallbackVersion || versionForSize(length);
    if (!guess) throw new DecodeError(`STATS version 0 with unrecognised length ${length} and no sibling version`);
    layoutVersion = guess;
  }
  if (layoutVersion < MIN_VERSION) {
    throw new DecodeError(`taskstats version ${layoutVersion} is not supported (v1 put cpu_count at offset 8)`);
  }
  if (layoutVersion <= MAX_KNOWN_VERSION) {
    const need = STRUCT_SIZE[layoutVersion]!;
    if (length < need) {
      throw new DecodeError(
        `STATS attribute of ${length} bytes is shorter than taskstats v${layoutVersion} (${need} bytes)`,
      );
    }
  } else if (length < STRUCT_SIZE[MAX_KNOWN_VERSION]!) {
    // A newer version never shrinks the struct: a short one is damaged.
    throw new DecodeError(`STATS attribute of ${length} bytes is too short for taskstats v${layoutVersion}`);
  }
  const raw = readerFor(layoutVersion, length, opts.only)(dv, bytes);
  const ts: Taskstats = { version, layoutVersion, length, raw };
  if (keepBytes) sourceBytes.set(ts, bytes);
  return ts;
}

// While a recording is being made, the STATS bytes each record was decoded from (a view,
// not a copy), so the file holds exactly what the kernel sent and a replay decodes it with
// this same decoder. Off otherwise: the decode loop pays nothing for it.
const sourceBytes = new WeakMap<Taskstats, Uint8Array>();
let keepBytes = false;

/** Remember each decoded record's STATS bytes from now on (for -w recordings). */
export function keepStatsBytes(on: boolean): void {
  keepBytes = on;
}

/** Whether records decoded now keep views of their bytes (the bytes must then stay as they are). */
export function keepingStatsBytes(): boolean {
  return keepBytes;
}

/** The STATS payload a record was decoded from; undefined for records built otherwise (/proc). */
export function statsBytes(ts: Taskstats): Uint8Array | undefined {
  return sourceBytes.get(ts);
}

/** A numeric field as a JS number for arithmetic (rounded above 2^53), or undefined if absent. */
export function num(ts: Taskstats, name: string): number | undefined {
  const v = ts.raw[name];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** ac_exitcode is a wait status: code << 8 | signal, 0x80 = core dumped. */
export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
}

export function decodeExitStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { exitCode: (status >> 8) & 0xff, signal: null, coreDumped: false };
  return { exitCode: null, signal: sig, coreDumped: (status & 0x80) !== 0 };
}

/** ac_flag bits from <linux/acct.h>. */
export const AC_FLAG = { AFORK: 0x01, ASU: 0x02, ACORE: 0x08, AXSIG: 0x10, AGROUP: 0x20 } as const;
