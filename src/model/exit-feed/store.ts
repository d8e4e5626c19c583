// The exit feed as the dashboard sees it: exit batches folded into a ring between
// refreshes, per-CPU rates taken once per refresh, and per snapshot a view of the ring that
// costs no copy and stays as it was (what a paused pane keeps showing).
import type { CpuCounters, ExitRecord } from '../../kernel/exitrecord.js';
import type { ExitBatch, Target } from '../../sources/types.js';
import type { DelayacctState } from '../delayacct.js';
import { exitInfoOf, exitMatches, type ExitEnding, type ExitInfo } from '../watch.js';
import { entryFlags, toFeedEntry, type FeedEntry } from './entries.js';
import { cpuActivity, feedTotals, type CpuActivity, type FeedTotals } from './loss.js';
import { Ring, type RingView } from './ring.js';

export interface FeedSnapshot {
  /** newest first; never changes, so a paused pane can keep it */
  entries: RingView<FeedEntry>;
  /** exits ever folded (those a storm pushed past the ring included): newer ones since a view are the difference */
  pushedTotal: number;
  totals: FeedTotals;
  exitsPerSec: number;
}

/**
 * How many recent exits are remembered by id, for pinned tasks that end between refreshes:
 * only their endings, not the records (whose decoded stats, kept for 8,192 records, were
 * most of the heap's churn in a soak).
 */
const RECENT_EXITS = 4096;

export class FeedStore {
  private ring: Ring<FeedEntry>;
  private pushed = 0;
  private counters: CpuCounters[];
  private prevCounters: CpuCounters[] | undefined;
  private prevAtMs: number | undefined;
  private rates: CpuActivity[];
  private recent = new Ring<ExitEnding>(RECENT_EXITS);
  private flaggedCount = 0;

  constructor(
    readonly cpus: readonly number[],
    capacity = 1000,
  ) {
    this.ring = new Ring(capacity);
    this.counters = cpus.map((cpu) => zeroCounters(cpu));
    this.rates = cpuActivity(undefined, this.counters, 0);
  }

  /** `sys`: delay accounting as delaytop saw it, for the plausibility rules */
  fold(batch: ExitBatch, sys: DelayacctState | null = null): void {
    const { records } = batch;
    // In a storm only the newest fit the ring: skip building entries that would be overwritten.
    for (let i = Math.max(0, records.length - this.ring.capacity); i < records.length; i++) {
      const e = toFeedEntry(records[i]!, sys);
      this.flaggedCount += entryFlags(e);
      this.ring.push(e);
    }
    this.pushed += records.length;
    for (let i = Math.max(0, records.length - RECENT_EXITS); i < records.length; i++)
      this.recent.push(endingOf(records[i]!));
    if (batch.counters.length) this.counters = batch.counters;
  }

  /** Take per-CPU rates since the last call (once per refresh). */
  sample(nowMs: number): void {
    const dt = this.prevAtMs === undefined ? 0 : nowMs - this.prevAtMs;
    this.rates = cpuActivity(this.prevCounters, this.counters, dt);
    this.prevCounters = this.counters;
    this.prevAtMs = nowMs;
  }

  /**
   * Exits the feed did not get one by one so far: lost, or summarized (counted without its record) in a storm
   * past the listener's queue. Who needs every exit (which processes ended, and how long
   * their threads lived) cannot vouch for an interval in which this grew.
   */
  unseen(): number {
    let n = 0;
    for (const c of this.counters) n += c.lost + c.summarized;
    return n;
  }

  /** Figures flagged in the exits the feed has shown (entries built), since start. */
  flagged(): number {
    return this.flaggedCount;
  }

  /** The newest exit record that ends this target, if one arrived recently. */
  exitOf(target: Target): ExitInfo | undefined {
    const recent = this.recent.view();
    for (let i = 0; i < recent.size; i++) {
      const r = recent.at(i)!;
      if (exitMatches(target, r)) return exitInfoOf(r);
    }
    return undefined;
  }

  snapshot(): FeedSnapshot {
    // counters move between refreshes; rates only at refreshes
    const perCpu = this.rates.map((a) => {
      const c = this.counters.find((x) => x.cpu === a.cpu);
      return c ? { ...a, received: c.received, lost: c.lost } : a;
    });
    let summarized = 0;
    for (const c of this.counters) summarized += c.summarized;
    const totals = feedTotals(perCpu, summarized);
    return {
      entries: this.ring.view(),
      pushedTotal: this.pushed,
      totals,
      exitsPerSec: perCpu.reduce((s, c) => s + c.exitsPerSec, 0),
    };
  }
}

/** A CPU's counters before anything happened (every counter 0). */
export function zeroCounters(cpu: number): CpuCounters {
  return {
    cpu,
    received: 0,
    seqGapLost: 0,
    kernelDrops: 0,
    enobufs: 0,
    truncated: 0,
    malformed: 0,
    queueDropped: 0,
    unsolicited: 0,
    summarized: 0,
    decodeFailed: 0,
    lost: 0,
  };
}

function endingOf(r: ExitRecord): ExitEnding {
  const { pid, tgid, processEnded, exitCode, signal, coreDumped, receivedMs } = r;
  return { pid, tgid, processEnded, exitCode, signal, coreDumped, receivedMs };
}
