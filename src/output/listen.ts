// delaytop -l: the exit feed without the dashboard, as text lines (like the kernel's
// procacct) or JSON Lines, with loss lines whenever the lost count grows and a summary.
import type { CpuCounters, ExitRecord } from '../kernel/exitrecord.js';
import { toFeedEntry, type FeedEntry } from '../model/exit-feed/entries.js';
import { exitSuspects, suspectCount } from '../model/plausibility.js';
import { lastSwitchOnMs, type DelayacctState } from '../model/delayacct.js';
import type { ExitBatch, ExitLineSink, ExitSource } from '../sources/types.js';
import { sleep } from './batch.js';
import { exitStatusText, fmtNs, pad, padNum, signalName } from './format.js';
import { padText } from './text.js';
import { jsonLine } from '../kernel/json.js';

export interface ListenRunOptions {
  json: boolean;
  /** seconds; Infinity = until interrupted */
  durationSec: number;
  write: (line: string) => void;
  /** lines as bytes: given, a live source writes the exit lines itself (ExitLineSink.write) */
  writeBytes?: (bytes: Uint8Array) => boolean;
  warn: (line: string) => void;
  interrupted: Promise<void>;
  /** what the listeners are (cpus, port ids, buffer sizes): printed once when listening starts */
  readers?: { cpu: number; portId: number; rcvbufBytes: number }[];
  /** after close: whether each CPU's deregistration was acknowledged by the kernel, and any read that failed */
  registrations?: () => { cpu: number; registered: boolean; deregisterError: string; readError: string }[];
  /** delay accounting as delaytop sees it (switch-ons make waits in flight suspect) */
  delayacct?: () => DelayacctState;
}

// A batch's records share their receive time: its ISO text is made once, not per line.
let isoAtMs = NaN;
let iso = '';
const isoTime = (ms: number): string => (ms === isoAtMs ? iso : ((isoAtMs = ms), (iso = new Date(ms).toISOString())));

/** One exit as a text line; a flagged category gets `!KEY: why` at the end. */
export function exitText(r: ExitRecord, e: FeedEntry = toFeedEntry(r)): string {
  const t = isoTime(r.receivedMs).slice(11, 23);
  const big = e.largest ? `${e.largest.key} ${fmtNs(e.largest.totalNs)}` : '-';
  const flags = e.suspect
    ? Object.entries(e.suspect)
        .map(([k, why]) => ` !${k}: ${why}`)
        .join(';')
    : '';
  return [
    t,
    `cpu ${padNum(String(r.cpu), 3, true)}`,
    `pid ${padNum(String(r.pid), 7, true)}`,
    `tgid ${padNum(String(r.tgid), 7, true)}`,
    `ppid ${padNum(String(r.ppid), 7, true)}`,
    `uid ${padNum(String(r.uid), 5, true)}`,
    padText(r.comm, 15),
    pad(exitStatusText(r), 14, true),
    `${r.processEnded ? 'P' : 'T'}`,
    `life ${pad(fmtNs(e.lifetimeUs * 1000, 8), 8)}`,
    `waited-most ${big}${flags}`,
  ].join(' ');
}

/** One exit as a JSON line; `suspect` (the thread's figures that cannot have happened) holds for its process sum too. */
export function exitJson(
  r: ExitRecord,
  sys: DelayacctState | null = null,
  suspect = exitSuspects(r.stats, r.receivedMs, sys),
): string {
  return jsonLine({
    type: 'exit',
    time: isoTime(r.receivedMs),
    cpu: r.cpu,
    seq: r.seq,
    pid: r.pid,
    tgid: r.tgid,
    ppid: r.ppid,
    uid: r.uid,
    gid: r.gid,
    comm: r.comm,
    exit_code: r.exitCode,
    signal: r.signal,
    core_dumped: r.coreDumped,
    process_ended: r.processEnded,
    // (as decoded: jsonLine writes a bigint, which only a u64 past 2^53 is, as its decimal string)
    stats: r.stats.raw,
    ...(r.tgidStats ? { tgid_stats: r.tgidStats.raw } : {}),
    ...(suspect ? { suspect, ...(r.tgidStats ? { tgid_suspect: suspect } : {}) } : {}),
  });
}

function perCpuJson(c: CpuCounters) {
  return {
    cpu: c.cpu,
    received: c.received,
    lost: c.lost,
    kernel_drops: c.kernelDrops,
    seq_gap_lost: c.seqGapLost,
    enobufs: c.enobufs,
    truncated: c.truncated,
    malformed: c.malformed,
    queue_dropped: c.queueDropped,
    decode_failed: c.decodeFailed,
    unsolicited: c.unsolicited,
  };
}

const sum = (cs: CpuCounters[], k: 'received' | 'lost') => cs.reduce((a, c) => a + c[k], 0);

export async function runListen(source: ExitSource, opts: ListenRunOptions): Promise<number> {
  const started = Date.now();
  const feed = new FeedLines(opts);
  source.start((b) => feed.batch(b), feed.sink());
  if (opts.readers) announce(opts, opts.readers);
  await sleep(opts.durationSec * 1000, opts.interrupted);
  feed.batch(source.close());
  writeSummary(opts, feed, started);
  return 0;
}

/** The feed as lines: one per exit, a loss line whenever the lost count grows; and what the summary counts. */
/** lines written at once (a few MB of JSON at most) */
const WRITE_LINES = 2048;

class FeedLines {
  counters: CpuCounters[] = [];
  /** exits with figures that cannot have happened, and those figures */
  flaggedExits = 0;
  flagged = 0;
  private lastLost = 0;

  constructor(private opts: ListenRunOptions) {}

  /** For a live source to write the lines itself: the same lines as lineOf makes. */
  sink(): ExitLineSink | undefined {
    const { opts } = this;
    if (!opts.writeBytes) return undefined;
    return {
      json: opts.json,
      signalNames: Array.from({ length: 128 }, (_, i) => signalName(i)),
      batch: () => {
        const sys = opts.delayacct?.() ?? null;
        return { switchedOnMs: lastSwitchOnMs(sys), lineOf: (r) => this.lineOf(r, sys) };
      },
      write: opts.writeBytes,
    };
  }

  /** One exit's line; what it flags is counted. `sys`: delay accounting as of its batch. */
  lineOf(r: ExitRecord, sys: DelayacctState | null): string {
    const e = this.opts.json ? null : toFeedEntry(r, sys);
    const suspect = e ? e.suspect : exitSuspects(r.stats, r.receivedMs, sys);
    if (suspect) {
      this.flaggedExits++;
      this.flagged += suspectCount(suspect);
    }
    return e ? exitText(r, e) : exitJson(r, sys, suspect);
  }

  batch(b: ExitBatch): void {
    const { opts } = this;
    this.counters = b.counters;
    const sys = b.records.length && opts.delayacct ? opts.delayacct() : null;
    let lines: string[] = [];
    for (const r of b.records) {
      lines.push(this.lineOf(r, sys));
      // A storm's batch is up to a full queue (~110,000 records): written as it is made, so
      // its text is never held whole (1 GB of JSON lines and their join, measured).
      if (lines.length === WRITE_LINES) {
        opts.write(lines.join('\n'));
        lines = [];
      }
    }
    const lost = sum(b.counters, 'lost');
    if (lost > this.lastLost) {
      lines.push(lossLine(opts.json, b.counters, lost, lost - this.lastLost));
      this.lastLost = lost;
    }
    if (lines.length) opts.write(lines.join('\n'));
  }
}

function lossLine(json: boolean, counters: CpuCounters[], lost: number, newLost: number): string {
  return json
    ? jsonLine({
        type: 'loss',
        time: new Date().toISOString(),
        lost,
        new_lost: newLost,
        per_cpu: counters.map(perCpuJson),
      })
    : `LOSS: ${newLost} more exit records lost (total ${lost}: ${counters
        .filter((c) => c.lost)
        .map((c) => `cpu ${c.cpu} ${c.lost}`)
        .join(', ')})`;
}

/** Once listening: which CPUs (JSON: and each reader's port and buffer). */
function announce(opts: ListenRunOptions, readers: NonNullable<ListenRunOptions['readers']>): void {
  const cpus = readers.map((r) => r.cpu);
  if (opts.json) {
    opts.write(
      jsonLine({
        type: 'listening',
        time: new Date().toISOString(),
        cpus,
        readers: readers.map((r) => ({ cpu: r.cpu, port_id: r.portId, rcvbuf_bytes: r.rcvbufBytes })),
      }),
    );
  } else {
    opts.warn(`delaytop: listening for exits on cpu ${cpus.join(',')} (Ctrl-C to stop)`);
  }
}

/** After close: CPUs whose deregistration failed, then the totals. */
function writeSummary(opts: ListenRunOptions, feed: FeedLines, startedMs: number): void {
  const { counters, flaggedExits, flagged } = feed;
  const received = sum(counters, 'received');
  const lost = sum(counters, 'lost');
  const secs = (Date.now() - startedMs) / 1000;
  const regs = opts.registrations?.() ?? [];
  for (const r of regs.filter((r) => r.readError))
    opts.warn(
      `delaytop: cpu ${r.cpu}: the listener stopped reading early (${r.readError}); exits on that CPU after it were not seen`,
    );
  const stale = regs.filter((r) => r.registered);
  for (const r of stale)
    opts.warn(
      `delaytop: cpu ${r.cpu}: deregistration failed (${r.deregisterError || 'no answer'}); the kernel drops the stale entry at the next exit on that CPU`,
    );
  if (opts.json) {
    const perCpu = counters.map((c) => {
      const reg = regs.find((r) => r.cpu === c.cpu);
      return { ...perCpuJson(c), ...(reg ? { deregistered: !reg.registered } : {}) };
    });
    opts.write(
      jsonLine({
        type: 'summary',
        duration_s: Number(secs.toFixed(3)),
        received,
        lost,
        suspect_exits: flaggedExits,
        suspect_values: flagged,
        per_cpu: perCpu,
      }),
    );
  } else {
    opts.write(
      `summary: ${received} exits received, ${lost} lost in ${secs.toFixed(1)}s; ` +
        `${flaggedExits} with figures that cannot have happened (${flagged} flagged !); ` +
        counters.map((c) => `cpu ${c.cpu}: ${c.received} received, ${c.lost} lost`).join('; '),
    );
  }
}
