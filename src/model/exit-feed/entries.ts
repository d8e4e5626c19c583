// One exit as the feed shows it: an exit record reduced to its line (status, lifetime, the
// category it waited in most, figures that cannot have happened). Pure.
import { num } from '../../kernel/decode.js';
import type { ExitRecord } from '../../kernel/exitrecord.js';
import { CATEGORIES } from '../../kernel/layout.js';
import { lifeSummary, type CategoryDelay } from '../delays.js';
import { checkedFields, exitContext, suspectCount, type Suspects } from '../plausibility.js';
import type { DelayacctState } from '../delayacct.js';

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

/**
 * What the feed (an entry) and the group ledger read of an exit record: every category's
 * figures and what the plausibility rules check, about half the struct; a storm's records
 * are decoded this far only (test/model/exit-feed/entries.test.ts: the same entries).
 */
export const EXIT_FIELDS: readonly string[] = [
  ...new Set(['version', ...CATEGORIES.flatMap((c) => [c.count, c.total, c.max, c.min]), ...checkedFields(CATEGORIES)]),
];

/** One exit as the feed shows it; `sys`: delay accounting as delaytop saw it (switch-ons). */
export function toFeedEntry(r: ExitRecord, sys: DelayacctState | null = null): FeedEntry {
  const stats = r.partialStats?.(EXIT_FIELDS).stats ?? r.stats;
  const { largest, suspect } = lifeSummary(stats, exitContext(stats, r.receivedMs, sys));
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
    lifetimeUs: num(stats, 'ac_etime') ?? 0,
    largest,
    suspect,
  };
}

/** Flagged figures of a feed entry. */
export const entryFlags = (e: FeedEntry): number => suspectCount(e.suspect);
