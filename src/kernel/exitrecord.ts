// Decoding the native listener's drained batches: exit records and per-CPU counters.
import { COUNTER_NAMES, type Contract, type CounterName, type ExitRecordHeader } from './addon.js';
import { AC_FLAG, decodeExitStatus, decodeTaskstats, DecodeError, num, type Taskstats } from './decode.js';

export interface ExitRecord {
  cpu: number;
  /** the per-CPU nlmsg_seq of the exit message */
  seq: number;
  /** epoch ms when delaytop received it */
  receivedMs: number;
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  gid: number;
  comm: string;
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
  /** AGROUP: the last thread of its process ended, so the process ended */
  processEnded: boolean;
  /** ac_etime: how long the thread lived, µs */
  lifeUs: number;
  stats: Taskstats;
  /** the TGID aggregate the kernel attaches when a multi-threaded process ends */
  tgidStats?: Taskstats;
  /**
   * Only these fields of stats and tgidStats (cheaper than a full decode where the record
   * holds its bytes; else the records themselves). `only`: a constant list.
   */
  partialStats?(only: readonly string[]): { stats: Taskstats; tgidStats?: Taskstats };
  /** The STATS payloads as the kernel sent them, where the record holds them (a recording writes them without a decode). */
  payloads?(): { stats: Uint8Array; tgidStats?: Uint8Array };
}

// The per-CPU counters delaytop reads; their order is the addon's (native/exit-reader.h).
export { COUNTER_NAMES, type CounterName };

/** A CPU's counters as the listener reports them: what it received and every way it lost. */
export type ListenerCounters = Record<CounterName, number> & {
  cpu: number;
  /** records that reached delaytop but could not be decoded */
  decodeFailed: number;
};

export interface CpuCounters extends ListenerCounters {
  /** every exit this CPU's listener missed: lostOf (model/exit-feed/loss.ts), filled in by the source */
  lost: number;
}

/** One CPU's slice of the native counters per CPU, picked by the positions the addon gives. */
export function decodeCounters(
  counters: Float64Array,
  cpus: readonly number[],
  decodeFailed: readonly number[],
  { counterIndex, counterCount: n }: Pick<Contract, 'counterIndex' | 'counterCount'>,
): ListenerCounters[] {
  return cpus.map((cpu, i) => {
    const c = { cpu, decodeFailed: decodeFailed[i] ?? 0 } as ListenerCounters;
    for (const name of COUNTER_NAMES) (c as Record<string, number>)[name] = counters[i * n + counterIndex[name]] ?? 0;
    return c;
  });
}

const align8 = (n: number) => (n + 7) & ~7;

/** What the listener knows of an exit message besides its STATS payloads. */
export interface ExitEnvelope {
  cpu: number;
  seq: number;
  receivedMs: number;
  pid: number;
  /** the AGGR_TGID id, 0 when the message has no TGID record */
  tgid: number;
}

/** Decode an exit message's STATS payloads: the TGID record falls back to the PID record's version. */
export function decodeExitStats(pidBytes: Uint8Array, tgidBytes?: Uint8Array): [Taskstats, Taskstats | undefined] {
  const stats = decodeTaskstats(pidBytes);
  return [stats, tgidBytes ? decodeTaskstats(tgidBytes, { fallbackVersion: stats.layoutVersion }) : undefined];
}

/** What an exit record says besides its stats: envelope, ids, comm, status, flags. */
type ExitSummary = Omit<ExitRecord, 'stats' | 'tgidStats'>;

/** The one reading of those fields, for live (lazy) and replayed records alike. */
function summarize(env: ExitEnvelope, stats: Taskstats, hasTgidRecord: boolean): ExitSummary {
  const { cpu, seq, receivedMs, pid, tgid } = env;
  return {
    cpu,
    seq,
    receivedMs,
    pid,
    tgid: tgid || num(stats, 'ac_tgid') || pid,
    ppid: num(stats, 'ac_ppid') ?? 0,
    uid: num(stats, 'ac_uid') ?? 0,
    gid: num(stats, 'ac_gid') ?? 0,
    comm: (stats.raw.ac_comm as string | undefined) ?? '',
    ...decodeExitStatus(num(stats, 'ac_exitcode') ?? 0),
    processEnded: ((num(stats, 'ac_flag') ?? 0) & AC_FLAG.AGROUP) !== 0 || hasTgidRecord,
    lifeUs: num(stats, 'ac_etime') ?? 0,
  };
}

/**
 * One exit record from its envelope and decoded STATS (a replayed recording's; the live
 * listener's are LazyExitRecords with the same summary).
 */
export function exitRecordFrom(env: ExitEnvelope, stats: Taskstats, tgidStats?: Taskstats): ExitRecord {
  return { ...summarize(env, stats, tgidStats !== undefined), stats, ...(tgidStats ? { tgidStats } : {}) };
}

// What an exit line needs at once; the full record is decoded on first use of .stats.
// (constants: the decoder caches its readers by the list itself)
const NO_FIELDS: readonly string[] = [];
const SUMMARY_FIELDS = [
  'version',
  'ac_exitcode',
  'ac_flag',
  'ac_tgid',
  'ac_ppid',
  'ac_uid',
  'ac_gid',
  'ac_comm',
  'ac_etime',
] as const;

/**
 * An exit record whose full stats are decoded only when read: the engine hands records
 * over and counts them at the cost of a summary decode; whoever shows a record's delays
 * (a feed row, a JSON line) pays for the full decode of that record only. Both payloads
 * are validated now (version, length), so a bad one is counted lost here, not thrown later.
 */
class LazyExitRecord implements ExitRecord {
  declare cpu: number;
  declare seq: number;
  declare receivedMs: number;
  declare pid: number;
  declare tgid: number;
  declare ppid: number;
  declare uid: number;
  declare gid: number;
  declare comm: string;
  declare exitCode: number | null;
  declare signal: number | null;
  declare coreDumped: boolean;
  declare processEnded: boolean;
  declare lifeUs: number;
  private full: Taskstats | undefined;
  private fullTgid: Taskstats | undefined;
  constructor(
    env: ExitEnvelope,
    private pidBytes: Uint8Array,
    private tgidBytes: Uint8Array | undefined,
  ) {
    const s = decodeTaskstats(pidBytes, { only: SUMMARY_FIELDS });
    this.version = s.layoutVersion;
    if (tgidBytes) decodeTaskstats(tgidBytes, { fallbackVersion: s.layoutVersion, only: NO_FIELDS });
    Object.assign(this, summarize(env, s, tgidBytes !== undefined));
  }
  private version: number;
  get stats(): Taskstats {
    return (this.full ??= decodeTaskstats(this.pidBytes));
  }
  get tgidStats(): Taskstats | undefined {
    if (!this.tgidBytes) return undefined;
    return (this.fullTgid ??= decodeTaskstats(this.tgidBytes, { fallbackVersion: this.version }));
  }
  payloads(): { stats: Uint8Array; tgidStats?: Uint8Array } {
    return this.tgidBytes ? { stats: this.pidBytes, tgidStats: this.tgidBytes } : { stats: this.pidBytes };
  }
  partialStats(only: readonly string[]): { stats: Taskstats; tgidStats?: Taskstats } {
    const stats = this.full ?? decodeTaskstats(this.pidBytes, { only });
    if (!this.tgidBytes) return { stats };
    return {
      stats,
      tgidStats: this.fullTgid ?? decodeTaskstats(this.tgidBytes, { fallbackVersion: this.version, only }),
    };
  }
}

export function lazyExitRecord(env: ExitEnvelope, pidBytes: Uint8Array, tgidBytes?: Uint8Array): ExitRecord {
  return new LazyExitRecord(env, pidBytes, tgidBytes);
}

/**
 * Walk a drained batch: records, each a header (laid out as the addon's contract says:
 * native/exit-reader.h) and its STATS payloads. Records that fail to decode are reported
 * through onBad (counted as lost), never thrown.
 */
export function decodeExitBatch(
  data: ArrayBuffer,
  header: ExitRecordHeader,
  onBad: (cpu: number, why: string) => void,
): ExitRecord[] {
  const out: ExitRecord[] = [];
  const dv = new DataView(data);
  for (let off = 0; off + header.bytes <= data.byteLength;) off = decodeExitRecordAt(data, dv, off, header, onBad, out);
  return out;
}

/**
 * The record at byte `off` of a drained batch (dv's bytes: the batch may be the start of a
 * larger buffer), pushed to `into`; returns where the next one starts (the batch's length once
 * it cannot go on: a corrupt length ends the walk).
 */
export function decodeExitRecordAt(
  data: ArrayBuffer,
  dv: DataView,
  off: number,
  header: ExitRecordHeader,
  onBad: (cpu: number, why: string) => void,
  into: ExitRecord[],
): number {
  const { bytes: headerBytes, recLen: recLenAt, cpu: cpuAt, seq: seqAt, pid: pidAt, tgid: tgidAt } = header;
  const { pidStatsLen: pidLenAt, tgidStatsLen: tgidLenAt, receivedRealtimeNs: receivedAt } = header;
  const recLen = dv.getUint32(off + recLenAt, true);
  if (recLen < headerBytes || off + recLen > dv.byteLength) {
    onBad(-1, `corrupt batch at byte ${off}`);
    return dv.byteLength;
  }
  const cpu = dv.getUint32(off + cpuAt, true);
  const seq = dv.getUint32(off + seqAt, true);
  const pid = dv.getUint32(off + pidAt, true);
  const tgid = dv.getUint32(off + tgidAt, true);
  const pidLen = dv.getUint32(off + pidLenAt, true);
  const tgidLen = dv.getUint32(off + tgidLenAt, true);
  const receivedMs = Number(dv.getBigUint64(off + receivedAt, true) / 1000000n);
  // payloads inside their record: past it are the next record's bytes, or an older batch's
  if (headerBytes + align8(pidLen) + tgidLen > recLen) {
    onBad(cpu, `record at byte ${off}: STATS lengths ${pidLen} + ${tgidLen} run past its ${recLen} bytes`);
    return off + recLen;
  }
  try {
    const pidBytes = new Uint8Array(data, off + headerBytes, pidLen);
    const tgidBytes = tgidLen ? new Uint8Array(data, off + headerBytes + align8(pidLen), tgidLen) : undefined;
    into.push(lazyExitRecord({ cpu, seq, receivedMs, pid, tgid }, pidBytes, tgidBytes));
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    onBad(cpu, e.message);
  }
  return off + recLen;
}
