// The typed face of native/ (delaytop.node). Nothing else in src/ touches the addon.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeQuerySocket {
  /**
   * One batch, one crossing: result layout in queryEntryBytes entries + payloads, at the start
   * of scratch when it is given and the result fills from a quarter of it to all of it, else
   * in a new buffer (with a quarter more room when scratch was given: the next scratch).
   */
  querySync(ids: Uint32Array, tgid: Uint8Array, scratch?: ArrayBuffer): ArrayBuffer;
  query(ids: Uint32Array, tgid: Uint8Array, scratch?: ArrayBuffer): Promise<ArrayBuffer>;
  close(): void;
  info(): { familyId: number; portId: number; rcvbufBytes: number; overruns: number; timeouts: number };
}

export interface NativeListenerOptions {
  rcvbufBytes: number;
  /** the reader thread (0, 1, ... none left out) of each CPU's socket; default a thread each */
  threadOf?: number[];
  forceRcvbuf: boolean;
  pin: boolean;
  /** run reader threads at SCHED_FIFO 2 (default true; needs CAP_SYS_NICE) */
  realtime?: boolean;
  maxQueueBytes: number;
  /** full, the queue lets its oldest records give way (counted summarized) rather than refuse new ones */
  keepNewest?: boolean;
  /** after a drain of this many bytes or less, notify only at the high-water mark (0: never) */
  quietBytes?: number;
  /** cpulist of possible CPUs: cleared for our port ids before registering */
  possible: string;
}

export interface NativeReaderInfo {
  cpu: number;
  portId: number;
  rcvbufBytes: number;
  /** index of the reader thread that serves this socket */
  thread: number;
  /** the reader thread runs at SCHED_FIFO 2 */
  realtime: boolean;
  realtimeError: string;
  /** errno name when pinning the thread to its CPU failed ('' = pinned, or not asked) */
  pinError: string;
  /** errno name of a wait or read that failed and ended reading this socket early ('' = none) */
  readError: string;
  registered: boolean;
  deregisterError: string;
}

export interface NativeListener {
  /**
   * Everything queued: the batch is data's first length bytes, in scratch when it is given and
   * large enough, else in a new buffer (twice scratch's size, at most the queue's limit, when
   * one was given and the batch is smaller).
   */
  drain(scratch?: ArrayBuffer): { data: ArrayBuffer; length: number; counters: Float64Array };
  close(): void;
  info(): { readers: NativeReaderInfo[]; threads: number; familyId: number; counterCount: number };
}

/** One taskstats version as native/exit-lines.h reads it (src/kernel/exit-lines.ts builds it). */
export interface NativeLinePlan {
  length: number;
  fields: { name: string; type: string; offset: number }[];
  /** offsets; -1 where the version has no such field */
  exitcode: number;
  flag: number;
  comm: number;
  uid: number;
  gid: number;
  ppid: number;
  tgid: number;
  etime: number;
  runVirtual: number;
  cats: { key: string; count: number; total: number; max: number }[];
}

export interface NativeExitLines {
  /** lines of batch[from..length) into out; holes[2i]: a record left to JS, holes[2i+1]: where its line goes */
  format(
    batch: ArrayBuffer,
    length: number,
    from: number,
    out: Uint8Array,
    switchedOnMs: number,
    holes: Uint32Array,
  ): { next: number; used: number; holes: number };
}

export interface ParsedMessage {
  error?: string;
  type?: number;
  seq?: number;
  portId?: number;
  cmd?: number;
  errno?: number;
  pid?: { id: number; offset: number; length: number };
  tgid?: { id: number; offset: number; length: number };
}

export interface Addon {
  QuerySocket: new (timeoutMs?: number) => NativeQuerySocket;
  Listener: new (cpus: number[], opts: NativeListenerOptions, notify: () => void) => NativeListener;
  ExitLines: new (config: {
    json: boolean;
    signalNames: string[];
    plans: (NativeLinePlan | null)[];
  }) => NativeExitLines;
  /** every thread not yet real-time (the calling one, V8's and node's helpers) to SCHED_FIFO 1, below the exit readers (2): '' or the errno name */
  realtimeWriter(): string;
  parseDatagram(buf: Uint8Array, familyId: number): ParsedMessage[];
  /** CGROUPSTATS_CMD_GET on a cgroup v1 directory: the struct cgroupstats payload (EINVAL on v2) */
  cgroupStats(path: string): ArrayBuffer;
  /** ioprio_get(IOPRIO_WHO_PROCESS, tid): one task's IO class (by ionice(1)'s name, or "class N") and level */
  ioprioGet(tid: number): { ioClass: string; level: number };
  /** ioprio_set(IOPRIO_WHO_PROCESS, tid, ...): level 0-7, ignored for none and idle */
  ioprioSet(tid: number, ioClass: IoClass, level: number): void;
  /** the byte layouts it hands over, as native/ defines them: read through loadContract() */
  contract: NativeContract;
}

/** The kernel's IO scheduling classes (IOPRIO_CLASS_NONE, _RT, _BE, _IDLE) by the names native/ioprio.cc uses. */
export const IO_CLASSES = ['none', 'realtime', 'best-effort', 'idle'] as const;
export type IoClass = (typeof IO_CLASSES)[number];

/** One field of a struct the addon hands over (little-endian), as native/contract.h describes it. */
export interface NativeField {
  offset: number;
  size: number;
  signed: boolean;
}

export interface NativeStruct {
  bytes: number;
  fields: Record<string, NativeField>;
}

/** The addon's exported contract (native/addon.cc), written once on the native side. */
export interface NativeContract {
  /** one CPU's slice of Listener.drain().counters, in order */
  counterNames: string[];
  /** the header of each record in Listener.drain().data */
  exitRecordHeader: NativeStruct;
  /** one per id at the start of a query result */
  queryEntry: NativeStruct;
}

// What the TypeScript side reads of that contract. Only names and wire types live here;
// offsets, sizes and order come from the addon, checked against these when it loads.

/** The per-CPU listener counters delaytop reads (by name: their order is the addon's). */
export const COUNTER_NAMES = [
  'received',
  'seqGapLost',
  'kernelDrops',
  'enobufs',
  'truncated',
  'malformed',
  'queueDropped',
  'unsolicited',
  'summarized',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

type Wire = 'u32' | 'i32' | 'u64';
const WIRE: Record<Wire, { size: number; signed: boolean }> = {
  u32: { size: 4, signed: false },
  i32: { size: 4, signed: true },
  u64: { size: 8, signed: false },
};

/** The exit-record header fields decodeExitBatch reads, as it reads them. */
const EXIT_RECORD_HEADER = {
  recLen: 'u32',
  cpu: 'u32',
  seq: 'u32',
  pid: 'u32',
  tgid: 'u32',
  pidStatsLen: 'u32',
  tgidStatsLen: 'u32',
  receivedRealtimeNs: 'u64',
} as const satisfies Record<string, Wire>;

/** The query-result entry fields decodeQueryResult reads, as it reads them. */
const QUERY_ENTRY = { status: 'i32', offset: 'u32', length: 'u32' } as const satisfies Record<string, Wire>;

/** A struct resolved to plain numbers: each field's byte offset, and the struct's size. */
export type Offsets<F extends string> = Readonly<Record<F, number>> & { readonly bytes: number };
export type ExitRecordHeader = Offsets<keyof typeof EXIT_RECORD_HEADER>;
export type QueryEntry = Offsets<keyof typeof QUERY_ENTRY>;

/** The contract checked and resolved once, when the addon loads. */
export interface Contract {
  /** where each counter sits in one CPU's slice of the counters */
  counterIndex: Readonly<Record<CounterName, number>>;
  /** the length of one CPU's slice */
  counterCount: number;
  exitRecordHeader: ExitRecordHeader;
  queryEntry: QueryEntry;
}

/** The addon and this TypeScript disagree on the bytes between them: a stale or foreign build. */
export class AddonContractError extends Error {
  override name = 'AddonContractError';
  readonly code = 'EADDONCONTRACT';
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

function checkStruct<F extends string>(
  what: string,
  s: unknown,
  want: Record<F, Wire>,
  problems: string[],
): Offsets<F> | undefined {
  if (!isObject(s) || !isCount(s.bytes) || !isObject(s.fields)) {
    problems.push(`${what}: not a {bytes, fields} layout`);
    return undefined;
  }
  const bytes = s.bytes;
  const fields = s.fields;
  const out: Record<string, number> = { bytes };
  const spans: [string, number, number][] = [];
  for (const [name, wire] of Object.entries(want) as [F, Wire][]) {
    const f = fields[name];
    const w = WIRE[wire];
    if (!isObject(f) || !isCount(f.offset) || !isCount(f.size)) {
      problems.push(`${what}.${name}: missing (the TypeScript side reads it as ${wire})`);
      continue;
    }
    if (f.size !== w.size || Boolean(f.signed) !== w.signed)
      problems.push(
        `${what}.${name}: the addon writes ${f.signed ? 'i' : 'u'}${f.size * 8}, the TypeScript side reads ${wire}`,
      );
    if (f.offset + f.size > bytes)
      problems.push(`${what}.${name}: bytes ${f.offset}..${f.offset + f.size} lie beyond the ${bytes}-byte ${what}`);
    for (const [other, start, end] of spans)
      if (f.offset < end && start < f.offset + f.size) problems.push(`${what}.${name}: overlaps ${what}.${other}`);
    spans.push([name, f.offset, f.offset + f.size]);
    out[name] = f.offset;
  }
  return out as Offsets<F>;
}

/**
 * Check the addon's contract against what this TypeScript reads, and resolve it to plain
 * numbers. Throws an AddonContractError naming every mismatch.
 */
export function checkContract(c: unknown): Contract {
  const problems: string[] = [];
  const counterIndex = {} as Record<CounterName, number>;
  let counterCount = 0;
  if (!isObject(c)) {
    problems.push('the addon exports no contract');
  } else {
    const names = c.counterNames;
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      problems.push('counterNames: not a list of names');
    } else {
      counterCount = names.length;
      if (new Set(names).size !== names.length)
        problems.push(`counterNames: a name appears twice (${names.join(', ')})`);
      const missing = COUNTER_NAMES.filter((n) => !names.includes(n));
      if (missing.length)
        problems.push(`counterNames: the addon has no ${missing.join(', ')} (it has ${names.join(', ') || 'none'})`);
      for (const n of COUNTER_NAMES) counterIndex[n] = names.indexOf(n);
    }
  }
  const exitRecordHeader = checkStruct(
    'exitRecordHeader',
    isObject(c) && c.exitRecordHeader,
    EXIT_RECORD_HEADER,
    problems,
  );
  const queryEntry = checkStruct('queryEntry', isObject(c) && c.queryEntry, QUERY_ENTRY, problems);
  if (problems.length || !exitRecordHeader || !queryEntry)
    throw new AddonContractError(
      `the native addon does not match this delaytop (rebuild it: npm run build):\n  ${problems.join('\n  ')}`,
    );
  return { counterIndex, counterCount, exitRecordHeader, queryEntry };
}

let cached: { addon: Addon; contract: Contract } | undefined;

/** delaytop's own directory: the nearest above this module (src/kernel/ under tsx, dist/ in
 * the bundle) that holds a package.json. Never a directory outside the package. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** The addon, once its contract has been checked (an AddonContractError if it disagrees). */
export function loadAddon(): Addon {
  if (cached) return cached.addon;
  const require = createRequire(import.meta.url);
  let addon: Addon;
  try {
    addon = require(path.join(packageRoot(), 'native/build/Release/delaytop.node')) as Addon;
  } catch (e) {
    const err = new Error(
      `the native addon is not built (${(e as Error).message.split('\n')[0]}).\n` +
        '  Build it with: npm run build   (needs python3, make and g++)',
    );
    (err as NodeJS.ErrnoException).code = 'ENOADDON';
    throw err;
  }
  cached = { addon, contract: checkContract(addon.contract) };
  return addon;
}

/** The addon's checked contract: offsets and counter positions as plain numbers. */
export function loadContract(): Contract {
  loadAddon();
  return cached!.contract;
}
