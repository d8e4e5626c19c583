// The exit feed's model: a bounded ring of recent exits (newest first), per-CPU exit
// rates, and loss totals. Pure apart from the ring's in-place writes; no I/O.
import { num } from '../kernel/decode.js';
import type { CpuCounters, ExitRecord } from '../kernel/exitrecord.js';
import { computeDelays, largestDelay, type CategoryDelay } from './delays.js';
import { exitContext, suspectCount, type Suspects } from './plausibility.js';
import type { DelayacctState } from './delayacct.js';

export interface FeedEntry {
  receivedMs: number;
  cpu: number;
  pid: number;
  tgid: number;
  comm: string;
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
  processEnded: boolean;
  /** ac_etime: how long the task lived, µs */
  lifetimeUs: number;
  /** the category it waited in most (largest total over its life), among plausible ones */
  largest: Pick<CategoryDelay, 'key' | 'totalNs'> | null;
  /** categories whose figures cannot have happened (model/plausibility), with why */
  suspect: Suspects | null;
}

/** One exit as the feed shows it; `sys`: delay accounting as delaytop saw it (switch-ons). */
export function toFeedEntry(r: ExitRecord, sys: DelayacctState | null = null): FeedEntry {
  const d = computeDelays(undefined, { stats: r.stats, atNs: 0 }, { check: exitContext(r.stats, r.receivedMs, sys) });
  const big = largestDelay(d);
  return {
    receivedMs: r.receivedMs,
    cpu: r.cpu,
    pid: r.pid,
    tgid: r.tgid,
    comm: r.comm,
    exitCode: r.exitCode,
    signal: r.signal,
    coreDumped: r.coreDumped,
    processEnded: r.processEnded,
    lifetimeUs: num(r.stats, 'ac_etime') ?? 0,
    largest: big ? { key: big.key, totalNs: big.totalNs } : null,
    suspect: d.totalsSuspect,
  };
}

/** Flagged figures of a feed entry. */
export const entryFlags = (e: FeedEntry): number => suspectCount(e.suspect);

/** Fixed-capacity ring, newest first on read. */
export class Ring<T> {
  private buf: (T | undefined)[];
  private head = 0; // next write position
  private n = 0;
  constructor(readonly capacity: number) {
    this.buf = new Array(capacity);
  }
  push(item: T): void {
    this.buf[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    if (this.n < this.capacity) this.n++;
  }
  get size(): number {
    return this.n;
  }
  /** i = 0 is the newest */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.n) return undefined;
    return this.buf[(this.head - 1 - i + this.capacity * 2) % this.capacity];
  }
  /** newest-first slice [from, from+count) */
  slice(from: number, count: number): T[] {
    const out: T[] = [];
    for (let i = from; i < Math.min(this.n, from + count); i++) out.push(this.at(i)!);
    return out;
  }
}

export interface CpuActivity {
  cpu: number;
  exitsPerSec: number;
  received: number;
  lost: number;
}

export interface FeedTotals {
  received: number;
  lost: number;
  perCpu: CpuActivity[];
}

/** Exit counts per CPU between two counter readings, as rates. */
export function cpuActivity(prev: CpuCounters[] | undefined, cur: CpuCounters[], dtMs: number): CpuActivity[] {
  return cur.map((c, i) => {
    const p = prev?.find((x) => x.cpu === c.cpu) ?? prev?.[i];
    // exits that happened on this CPU = received + lost, whether or not we got them
    const now = c.received + c.lost;
    const before = p ? p.received + p.lost : now;
    return {
      cpu: c.cpu,
      exitsPerSec: dtMs > 0 ? ((now - before) * 1000) / dtMs : 0,
      received: c.received,
      lost: c.lost,
    };
  });
}

export function feedTotals(perCpu: CpuActivity[]): FeedTotals {
  let received = 0;
  let lost = 0;
  for (const c of perCpu) {
    received += c.received;
    lost += c.lost;
  }
  return { received, lost, perCpu };
}
