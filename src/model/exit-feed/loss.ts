// What the per-CPU listener counters say: how many exits each CPU's listener lost (the one
// loss formula), and exit rates and totals between two readings. Pure.
import type { CpuCounters, ListenerCounters } from '../../kernel/exitrecord.js';

export function lostOf(c: ListenerCounters): number {
  // A kernel drop shows up as a seq gap once a later message arrives, and in the drop
  // counter at once; the larger of the two is the kernel-side loss (SO_MEMINFO is
  // authoritative; gaps cover a failed skb clone, which no counter sees).
  return Math.max(c.kernelDrops, c.seqGapLost) + c.truncated + c.malformed + c.queueDropped + c.decodeFailed;
}

/** A source's counters with the loss they add up to (every source fills `lost` here). */
export function withLost(c: ListenerCounters): CpuCounters {
  return { ...c, lost: lostOf(c) };
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
  /** of those received, how many gave way to newer ones in a storm past the queue: counted, not shown */
  summarized: number;
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

export function feedTotals(perCpu: CpuActivity[], summarized = 0): FeedTotals {
  let received = 0;
  let lost = 0;
  for (const c of perCpu) {
    received += c.received;
    lost += c.lost;
  }
  return { received, lost, summarized, perCpu };
}
