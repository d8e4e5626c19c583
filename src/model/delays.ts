// Per-category delay figures from two samples of one task: pure arithmetic, no I/O.
import { CATEGORIES, type CategoryKey } from '../kernel/layout.js';
import { num, type Taskstats } from '../kernel/decode.js';
import { judge, type CheckContext, type Suspects } from './plausibility.js';

export interface Sample {
  stats: Taskstats;
  /** monotonic time of the sample, ns */
  atNs: number;
  /** what identifies this incarnation of the id (start time); a change means pid reuse */
  startId?: number | string;
  /** epoch ms of the sample, where known (a switch-on of delay accounting between two samples) */
  wallMs?: number;
}

/** Whether delay accounting recorded a task's non-CPU categories. */
export type Recording = 'yes' | 'off-now' | 'off-at-fork' | 'unknown-at-fork';

export interface CategoryDelay {
  key: CategoryKey;
  count: number;
  /** *_delay_total, ns */
  totalNs: number;
  /** *_delay_max, ns, where the kernel has it (v15+) */
  maxNs: number | null;
  minNs: number | null;
  /** delay as a percentage of wall time over the interval (or the lifetime) */
  delayPercent: number | null;
  /** average delay per event, ns; null for IRQ (irq_count ticks with the clock) */
  avgDelayNs: number | null;
  eventsPerSec: number | null;
  /** why the figures are unavailable, or null */
  na: string | null;
  /** the total went back (u64 overflow resets it to 0): the delta counts from 0 */
  reset: boolean;
}

export interface TaskDelays {
  /** true on a first sample (or after pid reuse): figures are lifetime averages */
  lifetime: boolean;
  /** the id now names a different task than in the previous sample */
  reused: boolean;
  intervalNs: number;
  categories: CategoryDelay[];
  /** categories whose figures over this span cannot have happened, with why (model/plausibility) */
  suspect: Suspects | null;
  /** categories whose totals or longest wait since the task started cannot have happened */
  totalsSuspect: Suspects | null;
}

export interface DelayOptions {
  recording?: Recording;
  /** judge the figures' plausibility with what the caller knows (default: the record alone) */
  check?: CheckContext;
  /**
   * A process's first sample: its wall age, ns (its main thread's ac_etime). The TGID
   * record's ac_etime sums its live threads' lives, which would make a first sample an
   * average per thread while later ones sum the threads.
   */
  wallAgeNs?: number;
}

const NA_OFF_NOW = 'delay accounting is off (sysctl kernel.task_delayacct=0)';
const NA_OFF_AT_FORK = 'delay accounting was off when this task started';
const NA_UNKNOWN_AT_FORK = 'no waits recorded, and delay accounting may have been off when this task started';
export const NA_NO_NETLINK = 'not available without CAP_NET_ADMIN (run with sudo)';

function naFor(cat: (typeof CATEGORIES)[number], ts: Taskstats, recording: Recording): string | null {
  // length 0: not a struct taskstats but a record built from /proc, which has no version.
  if (ts.length > 0 && cat.since > ts.layoutVersion) return `kernel too old (needs taskstats v${cat.since})`;
  if (ts.raw[cat.count] === undefined && ts.raw[cat.total] === undefined) return NA_NO_NETLINK;
  if (cat.key === 'CPU') return null; // scheduler statistics: filled whether or not delayacct is on
  if (recording === 'off-now') return NA_OFF_NOW;
  if (recording === 'off-at-fork') return NA_OFF_AT_FORK;
  if (recording === 'unknown-at-fork') return NA_UNKNOWN_AT_FORK;
  return null;
}

/** True when the sample belongs to a different task than prev (pid reuse). */
export function isReused(prev: Sample, cur: Sample): boolean {
  if (prev.startId !== undefined && cur.startId !== undefined) return prev.startId !== cur.startId;
  const a = num(prev.stats, 'ac_btime64') ?? num(prev.stats, 'ac_btime');
  const b = num(cur.stats, 'ac_btime64') ?? num(cur.stats, 'ac_btime');
  // The kernel derives btime from the wall clock minus the task's age at each query, so
  // one task's btime flips by a second between samples. TGID records carry none (0).
  if (a && b && Math.abs(a - b) > 1) return true;
  // One task's run time never goes back (a TGID sum keeps its dead threads' share too).
  const pr = num(prev.stats, 'cpu_run_virtual_total');
  const cr = num(cur.stats, 'cpu_run_virtual_total');
  return pr !== undefined && cr !== undefined && cr < pr;
}

type Category = (typeof CATEGORIES)[number];

/** What a sample's figures cover: the interval since prev, or the task's life when prev is none or another task. */
export interface Span {
  lifetime: boolean;
  /** the id now names a different task than in prev */
  reused: boolean;
  intervalNs: number;
}

export function spanOf(prev: Sample | undefined, cur: Sample, wallAgeNs?: number): Span {
  const reused = prev !== undefined && isReused(prev, cur);
  let lifetime = prev === undefined || reused;
  let intervalNs = lifetime ? 0 : cur.atNs - prev!.atNs;
  if (!lifetime && intervalNs <= 0) lifetime = true;
  if (lifetime) {
    // ac_etime: elapsed µs since the task started (for a TGID record, summed over its live
    // threads: a process's wall age comes from its main thread instead, where known).
    intervalNs = wallAgeNs ?? (num(cur.stats, 'ac_etime') ?? 0) * 1000;
  }
  return { lifetime, reused, intervalNs };
}

/** How much a category's total grew over the span (from = undefined: the whole life). */
function totalDelta(cat: Category, from: Sample | undefined, cur: Sample): number {
  const total = num(cur.stats, cat.total) ?? 0;
  if (!from) return total;
  const d = total - (num(from.stats, cat.total) ?? 0);
  // The u64 total wrapped and restarted from 0 while the count went on.
  return d < 0 ? total : d;
}

/** One category's delay % over the span, null where n/a: computeDelays' delayPercent alone. */
export function delayPercentOf(
  cat: Category,
  prev: Sample | undefined,
  cur: Sample,
  span: Span,
  recording: Recording,
): number | null {
  if (naFor(cat, cur.stats, recording) || span.intervalNs <= 0) return null;
  return (totalDelta(cat, span.lifetime ? undefined : prev, cur) / span.intervalNs) * 100;
}

/** delayPercentOf where the category's total did not move over the span: 0, or null where n/a. */
export function stillPercentOf(cat: Category, cur: Sample, span: Span, recording: Recording): number | null {
  return naFor(cat, cur.stats, recording) || span.intervalNs <= 0 ? null : 0;
}

/**
 * CPU use (user + system, ac_utime + ac_stime, in µs) as % of one CPU over the span, null
 * where the record has no times (/proc rows). A process's TGID record sums its live threads
 * only: a thread that exited in the interval takes its time with it, so the figure can fall
 * short (never above), and a drop below the previous sum counts as no use, not negative.
 */
export function cpuUsePercentOf(prev: Sample | undefined, cur: Sample, span: Span): number | null {
  const u = num(cur.stats, 'ac_utime');
  const k = num(cur.stats, 'ac_stime');
  if (u === undefined || k === undefined || span.intervalNs <= 0) return null;
  let usedUs = u + k;
  if (!span.lifetime && prev) usedUs -= (num(prev.stats, 'ac_utime') ?? 0) + (num(prev.stats, 'ac_stime') ?? 0);
  return (Math.max(0, usedUs) * 1000 * 100) / span.intervalNs;
}

export function computeDelays(prev: Sample | undefined, cur: Sample, opts: DelayOptions = {}): TaskDelays {
  const recording = opts.recording ?? 'yes';
  const { lifetime, reused, intervalNs } = spanOf(prev, cur, opts.wallAgeNs);
  const from = lifetime ? undefined : prev;
  const categories = CATEGORIES.map((cat): CategoryDelay => {
    // /proc gives IO delay as a total without a count: a percentage, but no average or rate.
    const hasCount = cur.stats.raw[cat.count] !== undefined;
    const count = num(cur.stats, cat.count) ?? 0;
    const totalNs = num(cur.stats, cat.total) ?? 0;
    const maxNs = num(cur.stats, cat.max) ?? null;
    const minNs = num(cur.stats, cat.min) ?? null;
    const na = naFor(cat, cur.stats, recording);
    const base: CategoryDelay = {
      key: cat.key,
      count,
      totalNs,
      maxNs,
      minNs,
      delayPercent: null,
      avgDelayNs: null,
      eventsPerSec: null,
      na,
      reset: false,
    };
    if (na) return base;
    const dTotal = totalDelta(cat, from, cur);
    let dCount = count;
    if (from) {
      dCount = Math.max(0, count - (num(from.stats, cat.count) ?? 0));
      base.reset = totalNs < (num(from.stats, cat.total) ?? 0);
    }
    if (intervalNs > 0) {
      base.delayPercent = (dTotal / intervalNs) * 100;
      if (hasCount) base.eventsPerSec = dCount / (intervalNs / 1e9);
    }
    if (hasCount && cat.key !== 'IRQ' && dCount > 0) base.avgDelayNs = dTotal / dCount;
    return base;
  });
  // Without a context, the record says what it is: a TGID record has no ac_pid.
  const j = judge(from?.stats, cur.stats, opts.check ?? { kind: (num(cur.stats, 'ac_pid') ?? 0) > 0 ? 'pid' : 'tgid' });
  return {
    lifetime,
    reused,
    intervalNs,
    categories,
    suspect: withoutNa(j.span, categories),
    totalsSuspect: withoutNa(j.totals, categories),
  };
}

/** A category shown n/a carries no figure to flag. */
function withoutNa(s: Suspects | null, cats: readonly CategoryDelay[]): Suspects | null {
  if (!s) return null;
  let out: Suspects | null = null;
  for (const c of cats) if (!c.na && s[c.key]) (out ??= {})[c.key] = s[c.key];
  return out;
}

/**
 * A whole life's summary for one line (an exit): the category waited in most and the
 * flagged totals, as largestDelay and computeDelays(undefined, ...).totalsSuspect give
 * them, without building every category's figures (an exit storm's hot path; the model's
 * tests check the two agree).
 */
export function lifeSummary(
  stats: Taskstats,
  check: CheckContext,
): { largest: Pick<CategoryDelay, 'key' | 'totalNs'> | null; suspect: Suspects | null } {
  const totals = judge(undefined, stats, check).totals;
  let largest: Pick<CategoryDelay, 'key' | 'totalNs'> | null = null;
  let suspect: Suspects | null = null;
  for (const cat of CATEGORIES) {
    if (naFor(cat, stats, 'yes')) continue;
    const why = totals?.[cat.key];
    if (why) {
      (suspect ??= {})[cat.key] = why;
      continue;
    }
    const totalNs = num(stats, cat.total) ?? 0;
    if (totalNs > 0 && (!largest || totalNs > largest.totalNs)) largest = { key: cat.key, totalNs };
  }
  return { largest, suspect };
}

/**
 * The category the task waited in most (largest total), for one-line summaries (exit
 * feed); a flagged total is never chosen.
 */
export function largestDelay(td: TaskDelays): CategoryDelay | undefined {
  let best: CategoryDelay | undefined;
  for (const c of td.categories) {
    if (c.na || c.totalNs <= 0 || td.totalsSuspect?.[c.key]) continue;
    if (!best || c.totalNs > best.totalNs) best = c;
  }
  return best;
}
