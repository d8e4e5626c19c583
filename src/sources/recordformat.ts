// The recording format, both directions: versioned JSON Lines written by output/recorder.ts
// and read back by sources/replay/. Kernel records are stored as their raw STATS bytes
// (base64), so a replay decodes them with the very decoder the live session used.
//
//   {"type":"header","format":"delaytop-recording","version":1, ...system facts}
//   {"type":"query","t":ms,"atNs":..,"wallMs":..,"delayacct":{..},"results":[..]}
//   {"type":"exits","t":ms,"records":[..],"counters":[..]}
//   {"type":"loss","t":ms,"cpu":n,"lost":n,"kernelDrops":n,...}   (whenever a CPU's lost count grows)
//   {"type":"end","t":ms}                                        (clean close)
// t is ms since the recording started (monotonic); lines appear in time order.
import { decodeTaskstats, statsBytes, type RawValue, type Taskstats } from '../kernel/decode.js';
import {
  COUNTER_NAMES,
  decodeExitStats,
  exitRecordFrom,
  type CpuCounters,
  type ExitRecord,
  type ListenerCounters,
} from '../kernel/exitrecord.js';
import { FIELDS, MAX_KNOWN_VERSION, STRUCT_SIZE } from '../kernel/layout.js';
import { withChange, type DelayacctSeen, type DelayacctState } from './system.js';
import { exactRaw } from '../kernel/json.js';
import { withLost } from '../model/exit-feed/loss.js';
import type { ExitBatch, QueryBatch, QueryResult, Target } from './types.js';

export const RECORDING_FORMAT = 'delaytop-recording';
export const RECORDING_VERSION = 1;

/** What was true of the recording machine and session: shown on replay, used for its cpus. */
export interface RecordingFacts {
  /** epoch ms when recording started */
  startedMs: number;
  kernelRelease: string;
  hostname: string;
  cpusOnline: string;
  cpusPossible: string;
  /** taskstats struct version seen, when known */
  taskstatsVersion?: number;
  delayacct: DelayacctState;
  bootTimeSec?: number;
  /** the stats source recorded ('netlink', 'proc'), or null when only exits were recorded */
  statsSource: string | null;
  /** the exit listener's CPUs, or null when there was no exit feed */
  exitCpus: number[] | null;
  /** banner lines of the session (e.g. unprivileged mode) */
  banners: string[];
  /** anything else the CLI wants kept (command line, interval) */
  extra?: Record<string, unknown>;
}

export interface HeaderRec extends RecordingFacts {
  type: 'header';
  format: typeof RECORDING_FORMAT;
  version: number;
}

export interface QueryRec {
  type: 'query';
  t: number;
  wallMs: number;
  delayacct: DelayacctState | null;
  batch: QueryBatch;
}

export interface ExitsRec {
  type: 'exits';
  t: number;
  batch: ExitBatch;
}

export interface LossRec {
  type: 'loss';
  t: number;
  cpu: number;
  lost: number;
}

export interface EndRec {
  type: 'end';
  t: number;
}

export type Rec = QueryRec | ExitsRec | LossRec | EndRec;

// ---------------------------------------------------------------- writing

const b64 = (u8: Uint8Array) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');

/** A record's STATS bytes as base64 where it came from the kernel; its fields where it did not (/proc). */
function statsJson(ts: Taskstats): { stats: string } | { ts: Record<string, unknown> } {
  const bytes = statsBytes(ts);
  if (bytes) return { stats: b64(bytes) };
  return { ts: { version: ts.version, layoutVersion: ts.layoutVersion, length: ts.length, raw: exactRaw(ts.raw) } };
}

export function headerLine(facts: RecordingFacts): string {
  return JSON.stringify({ type: 'header', format: RECORDING_FORMAT, version: RECORDING_VERSION, ...facts });
}

function resultJson(r: QueryResult): Record<string, unknown> {
  const base = { kind: r.target.kind, id: r.target.id, status: r.status };
  if (r.status === 'ok') return { ...base, ...statsJson(r.stats) };
  if (r.status === 'error') return { ...base, code: r.code, message: r.message };
  return base;
}

export function queryLine(t: number, wallMs: number, delayacct: DelayacctState | null, batch: QueryBatch): string {
  return JSON.stringify({
    type: 'query',
    t,
    atNs: batch.atNs,
    wallMs,
    delayacct,
    results: batch.results.map(resultJson),
  });
}

function exitJson(r: ExitRecord): Record<string, unknown> {
  const bytes = r.payloads?.();
  // tgid as the listener saw it: the AGGR_TGID id, or 0 when the message had none.
  const out: Record<string, unknown> = {
    cpu: r.cpu,
    seq: r.seq,
    receivedMs: r.receivedMs,
    pid: r.pid,
    tgid: (bytes ? bytes.tgidStats : r.tgidStats) ? r.tgid : 0,
  };
  if (bytes) {
    // as received: written without decoding the record
    out.stats = b64(bytes.stats);
    if (bytes.tgidStats) out.tgidStats = b64(bytes.tgidStats);
    return out;
  }
  const s = statsJson(r.stats);
  if ('stats' in s) out.stats = s.stats;
  else out.ts = s.ts;
  if (r.tgidStats) {
    const g = statsJson(r.tgidStats);
    if ('stats' in g) out.tgidStats = g.stats;
    else out.tgidTs = g.ts;
  }
  return out;
}

function countersJson(c: CpuCounters): Record<string, number> {
  const out: Record<string, number> = { cpu: c.cpu, decodeFailed: c.decodeFailed };
  for (const n of COUNTER_NAMES) out[n] = c[n];
  return out;
}

export function exitsLine(t: number, batch: ExitBatch): string {
  return JSON.stringify({
    type: 'exits',
    t,
    records: batch.records.map(exitJson),
    counters: batch.counters.map(countersJson),
  });
}

export function lossLine(t: number, c: CpuCounters): string {
  return JSON.stringify({
    type: 'loss',
    t,
    cpu: c.cpu,
    lost: c.lost,
    kernelDrops: c.kernelDrops,
    seqGapLost: c.seqGapLost,
    queueDropped: c.queueDropped,
    received: c.received,
  });
}

export function endLine(t: number): string {
  return JSON.stringify({ type: 'end', t });
}

// ---------------------------------------------------------------- reading

/** A line that is not a valid record: the message says what is wrong with it. */
export class LineError extends Error {
  override name = 'LineError';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need<T>(ok: boolean, v: T, what: string): T {
  if (!ok) throw new LineError(what);
  return v;
}

const int = (o: Obj, k: string, ctx: string): number =>
  need(Number.isSafeInteger(o[k]) && (o[k] as number) >= 0, o[k] as number, `${ctx}: "${k}" is not a whole number`);
const finite = (o: Obj, k: string, ctx: string): number =>
  need(typeof o[k] === 'number' && Number.isFinite(o[k]), o[k] as number, `${ctx}: "${k}" is not a number`);

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

// The live decoder takes any newer version with a known prefix (a kernel can be newer than
// delaytop); a recording is only a file, so it is held to what a kernel could have sent.
// Versions: 17 in twenty years; 64 is decades away. Length: the struct grew at most 128
// bytes in one version (v15, v17): room for four more such steps past the largest known.
const MAX_RECORDED_VERSION = 64;
const MAX_RECORDED_STATS_BYTES = STRUCT_SIZE[MAX_KNOWN_VERSION]! + 4 * 128;

/** Refuse a record no kernel sent: too long, an implausible version, or version 0 where no sibling gives one. */
function checkPlausible(version: number, length: number, ctx: string, hasSibling: boolean): void {
  if (length > MAX_RECORDED_STATS_BYTES) {
    throw new LineError(
      `${ctx}: STATS of ${length} bytes is longer than any struct taskstats a kernel sends ` +
        `(v${MAX_KNOWN_VERSION} has ${STRUCT_SIZE[MAX_KNOWN_VERSION]}; a recording may hold up to ${MAX_RECORDED_STATS_BYTES})`,
    );
  }
  if (version > MAX_RECORDED_VERSION) {
    throw new LineError(
      `${ctx}: STATS version ${version} is not plausible (the newest known is ${MAX_KNOWN_VERSION}; a recording may hold up to ${MAX_RECORDED_VERSION})`,
    );
  }
  if (version === 0 && !hasSibling) {
    // older kernels left the version out of an exit's TGID record only; its PID record has it
    throw new LineError(`${ctx}: STATS version 0, where a kernel always sends the version`);
  }
}

/** The STATS bytes of a record; hasSibling: an exit's TGID record, whose PID record gives a version 0 one its version. */
function bytesOf(v: unknown, ctx: string, hasSibling = false): Uint8Array {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !B64.test(v))
    throw new LineError(`${ctx}: STATS bytes are not base64`);
  // the length is checked on the text first: a huge string is never decoded
  const length = (v.length / 4) * 3 - (v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0);
  if (length > MAX_RECORDED_STATS_BYTES) checkPlausible(0, length, ctx, hasSibling);
  const bytes = new Uint8Array(Buffer.from(v, 'base64'));
  if (bytes.length >= 2) checkPlausible(bytes[0]! | (bytes[1]! << 8), bytes.length, ctx, hasSibling);
  return bytes;
}

const FIELD_TYPE = new Map(FIELDS.map((f) => [f.name, f.type]));

function u64Of(v: unknown, ctx: string): number | bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) return BigInt(v);
  throw new LineError(`${ctx}: not an integer`);
}

/** A /proc-style record: exact integers back to number or bigint, by the layout table's types. */
function tsOf(v: unknown, ctx: string): Taskstats {
  if (!isObj(v) || !isObj(v.raw)) throw new LineError(`${ctx}: stats have no "raw" fields`);
  const raw: Record<string, RawValue> = {};
  for (const [k, x] of Object.entries(v.raw)) {
    const type = FIELD_TYPE.get(k);
    if (type === 'comm') raw[k] = need(typeof x === 'string', x as string, `${ctx}: ${k} is not text`);
    else if (type === 'timespec') {
      if (!isObj(x)) throw new LineError(`${ctx}: ${k} is not a timespec`);
      raw[k] = { tv_sec: u64Of(x.tv_sec, `${ctx}: ${k}`), tv_nsec: u64Of(x.tv_nsec, `${ctx}: ${k}`) };
    } else raw[k] = u64Of(x, `${ctx}: ${k}`);
  }
  const ts = {
    version: int(v, 'version', ctx),
    layoutVersion: int(v, 'layoutVersion', ctx),
    length: int(v, 'length', ctx),
    raw,
  };
  checkPlausible(ts.version, ts.length, ctx, true); // version 0: a /proc record, built without a kernel struct
  return ts;
}

function decodeBytes(bytes: Uint8Array, ctx: string, fallbackVersion?: number): Taskstats {
  try {
    return decodeTaskstats(bytes, { fallbackVersion });
  } catch (e) {
    throw new LineError(`${ctx}: ${(e as Error).message}`);
  }
}

/** The kernel's largest pid_max (include/linux/threads.h: PID_MAX_LIMIT on 64-bit). */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

function targetOf(o: Obj, ctx: string): Target {
  const kind = o.kind;
  if (kind !== 'pid' && kind !== 'tgid') throw new LineError(`${ctx}: "kind" is neither pid nor tgid`);
  const id = int(o, 'id', ctx);
  if (id > PID_MAX_LIMIT) throw new LineError(`${ctx}: "id" ${id} is past any pid the kernel gives`);
  return { kind, id };
}

function resultOf(v: unknown, i: number): QueryResult {
  const ctx = `result ${i + 1}`;
  if (!isObj(v)) throw new LineError(`${ctx} is not an object`);
  const target = targetOf(v, ctx);
  switch (v.status) {
    case 'ok':
      return { target, status: 'ok', stats: 'stats' in v ? decodeBytes(bytesOf(v.stats, ctx), ctx) : tsOf(v.ts, ctx) };
    case 'gone':
      return { target, status: 'gone' };
    case 'error':
      return { target, status: 'error', code: String(v.code ?? 'EIO'), message: String(v.message ?? '') };
    default:
      throw new LineError(`${ctx}: unknown status ${JSON.stringify(v.status)}`);
  }
}

function delayacctOf(v: unknown): DelayacctState | null {
  if (!isObj(v)) return null;
  const on = typeof v.on === 'boolean' ? v.on : undefined;
  const since = typeof v.onSinceSec === 'number' ? v.onSinceSec : null;
  const seen = seenOf(v.seen);
  return { on, onSinceSec: since, ...(seen ? { seen } : {}) };
}

/** delaytop's own readings of the setting, where the recording has them; anything malformed is dropped. */
function seenOf(v: unknown): DelayacctSeen | null {
  if (!isObj(v) || typeof v.firstMs !== 'number' || !Array.isArray(v.changes)) return null;
  let seen: DelayacctSeen = {
    firstMs: v.firstMs,
    firstOn: typeof v.firstOn === 'boolean' ? v.firstOn : undefined,
    changes: [],
  };
  for (const c of v.changes) {
    if (isObj(c) && typeof c.fromMs === 'number' && typeof c.toMs === 'number' && typeof c.on === 'boolean') {
      seen = withChange(seen, { fromMs: c.fromMs, toMs: c.toMs, on: c.on });
    }
  }
  return seen;
}

function exitOf(v: unknown, i: number): ExitRecord {
  const ctx = `exit record ${i + 1}`;
  if (!isObj(v)) throw new LineError(`${ctx} is not an object`);
  const env = {
    cpu: int(v, 'cpu', ctx),
    seq: int(v, 'seq', ctx),
    receivedMs: finite(v, 'receivedMs', ctx),
    pid: int(v, 'pid', ctx),
    tgid: int(v, 'tgid', ctx),
  };
  let stats: Taskstats, tgidStats: Taskstats | undefined;
  if ('stats' in v) {
    try {
      [stats, tgidStats] = decodeExitStats(
        bytesOf(v.stats, ctx),
        'tgidStats' in v ? bytesOf(v.tgidStats, `${ctx} (TGID)`, true) : undefined,
      );
    } catch (e) {
      if (e instanceof LineError) throw e;
      throw new LineError(`${ctx}: ${(e as Error).message}`);
    }
  } else {
    stats = tsOf(v.ts, ctx);
    tgidStats = 'tgidTs' in v ? tsOf(v.tgidTs, `${ctx} (TGID)`) : undefined;
  }
  return exitRecordFrom(env, stats, tgidStats);
}

const snakeCase = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Counters are written camelCase (kernelDrops), as every name in a recording is; the
// -l --json spelling (kernel_drops) is read too, so either can be fed back in.
function counter(o: Obj, k: string, ctx: string): number {
  const snake = snakeCase(k);
  return int(o, !(k in o) && snake in o ? snake : k, ctx);
}

function countersOf(v: unknown, i: number): CpuCounters {
  const ctx = `counters ${i + 1}`;
  if (!isObj(v)) throw new LineError(`${ctx} is not an object`);
  const c: Record<string, number> = { cpu: int(v, 'cpu', ctx), decodeFailed: counter(v, 'decodeFailed', ctx) };
  for (const n of COUNTER_NAMES) c[n] = n === 'summarized' && !(n in v) ? 0 : counter(v, n, ctx); // (summarized: not in older recordings)
  return withLost(c as ListenerCounters);
}

function arrayOf<T>(o: Obj, k: string, each: (v: unknown, i: number) => T): T[] {
  const a = o[k];
  if (!Array.isArray(a)) throw new LineError(`"${k}" is not a list`);
  return a.map(each);
}

/** Parse one line after the header. Throws LineError saying what is wrong. */
export function parseRecord(text: string): Rec {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new LineError('not valid JSON');
  }
  if (!isObj(o)) throw new LineError('not a JSON object');
  const t = need(typeof o.t === 'number' && Number.isFinite(o.t) && o.t >= 0, o.t as number, '"t" is not a time in ms');
  switch (o.type) {
    case 'query':
      return {
        type: 'query',
        t,
        wallMs: finite(o, 'wallMs', 'query'),
        delayacct: delayacctOf(o.delayacct),
        batch: { atNs: finite(o, 'atNs', 'query'), results: arrayOf(o, 'results', resultOf) },
      };
    case 'exits':
      return {
        type: 'exits',
        t,
        batch: { records: arrayOf(o, 'records', exitOf), counters: arrayOf(o, 'counters', countersOf) },
      };
    case 'loss':
      return { type: 'loss', t, cpu: int(o, 'cpu', 'loss'), lost: int(o, 'lost', 'loss') };
    case 'end':
      return { type: 'end', t };
    case 'header':
      throw new LineError('a second header');
    default:
      throw new LineError(`unknown record type ${JSON.stringify(o.type)}`);
  }
}

/** Parse the first line. Throws LineError. */
export function parseHeader(text: string): HeaderRec {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new LineError('not a delaytop recording (the first line is not a JSON header)');
  }
  if (!isObj(o) || o.type !== 'header' || o.format !== RECORDING_FORMAT) {
    throw new LineError(
      `not a delaytop recording (the first line is not a {"type":"header","format":"${RECORDING_FORMAT}"} header)`,
    );
  }
  const version = o.version;
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    throw new LineError(`unknown recording format version ${JSON.stringify(version)}`);
  if ((version as number) > RECORDING_VERSION) {
    throw new LineError(
      `recorded by a newer delaytop (format version ${version}); this one reads version ${RECORDING_VERSION}`,
    );
  }
  const exitCpus =
    Array.isArray(o.exitCpus) && o.exitCpus.every((c) => Number.isSafeInteger(c)) ? (o.exitCpus as number[]) : null;
  return {
    type: 'header',
    format: RECORDING_FORMAT,
    version: version as number,
    startedMs: typeof o.startedMs === 'number' ? o.startedMs : 0,
    kernelRelease: String(o.kernelRelease ?? ''),
    hostname: String(o.hostname ?? ''),
    cpusOnline: String(o.cpusOnline ?? ''),
    cpusPossible: String(o.cpusPossible ?? ''),
    ...(typeof o.taskstatsVersion === 'number' ? { taskstatsVersion: o.taskstatsVersion } : {}),
    delayacct: delayacctOf(o.delayacct) ?? { on: undefined, onSinceSec: null },
    ...(typeof o.bootTimeSec === 'number' ? { bootTimeSec: o.bootTimeSec } : {}),
    statsSource: typeof o.statsSource === 'string' ? o.statsSource : null,
    exitCpus,
    banners: Array.isArray(o.banners) ? o.banners.map(String) : [],
    ...(isObj(o.extra) ? { extra: o.extra } : {}),
  };
}
