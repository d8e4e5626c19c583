// Which of the kernel's delay figures cannot have happened. Every output asks here, so a
// figure is either the kernel's or marked with the reason. Pure: no I/O.
//
// Why the kernel reports impossible waits (kernel/delayacct.c, kernel/sched/core.c): a
// block-IO wait is timed as local_clock() - blkio_start, and nothing checks that the stamp
// belongs to this wait. A stamp never set is 0 (the "wait" is the time since boot); a wait
// that began while task_delayacct was off was never stamped, so when it ends after the
// switch-on it is timed from an older wait's stamp; on 6.12+ a delayed dequeue can stamp
// another task. Rules here catch what is provably impossible, and never flag what is merely
// large: a long CPU wait is credited whole where it ends, and a process sums its threads.
import { CATEGORIES, type CategoryKey } from '../kernel/layout.js';
import { num, type Taskstats } from '../kernel/decode.js';
import { offSeenMs, switchedOnBetween, type DelayacctState } from './delayacct.js';

/** category -> why its figures are not to be trusted, in words */
export type Suspects = Partial<Record<CategoryKey, string>>;

type Category = (typeof CATEGORIES)[number];

// Delays are timed on the scheduler clock, a task's life (ac_etime, rounded down to µs) on
// CLOCK_MONOTONIC: the two drift apart by parts per million, so a bound gets this much room.
const SLACK_NS = 10e6;
const SLACK_RATIO = 1e-3;
// (`lives`: how many lives the bound adds up, each timed on the two clocks)
const exceeds = (v: number, boundNs: number, lives = 1) => v > boundNs + SLACK_NS * lives + boundNs * SLACK_RATIO;

/** A duration for a reason text: three significant digits. */
export function reasonSecs(ns: number): string {
  const s = ns / 1e9;
  if (s >= 1e5) return `${(s / 86400).toFixed(1)} days`;
  if (s >= 1) return `${s.toPrecision(s >= 1000 ? 4 : 3)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${(s * 1e6).toPrecision(3)} µs`;
}

function add(out: Suspects | null, key: CategoryKey, why: string): Suspects {
  const s = out ?? {};
  s[key] ??= why;
  return s;
}

const CPU = CATEGORIES[0];
const IO = CATEGORIES[1];

/**
 * A thread's record (a PID query or an exit record): totals and single waits against the
 * thread's own life. `cats`: only these categories (what is shown).
 */
export function threadSuspects(ts: Taskstats, cats: readonly Category[] = CATEGORIES): Suspects | null {
  let out: Suspects | null = null;
  const etimeUs = num(ts, 'ac_etime');
  const lifeNs = etimeUs === undefined ? null : etimeUs * 1000;
  for (const cat of cats) {
    const total = num(ts, cat.total);
    if (total === undefined) continue;
    // a record built from /proc has IO totals but no counts: the count rules need one
    const count = num(ts, cat.count);
    const max = num(ts, cat.max);
    if (lifeNs !== null && exceeds(total, lifeNs)) {
      out = add(
        out,
        cat.key,
        `${cat.key} wait totals ${reasonSecs(total)} in a thread that lived ${reasonSecs(lifeNs)}`,
      );
    } else if (lifeNs !== null && max !== undefined && exceeds(max, lifeNs)) {
      out = add(out, cat.key, `one ${cat.key} wait of ${reasonSecs(max)} in a thread that lived ${reasonSecs(lifeNs)}`);
    } else if (cat !== CPU && count === 0 && total > 0) {
      // delayacct_end() adds to the total and the count together (CPU: the scheduler's
      // sched_info_dequeue adds run delay without a count, so not for CPU)
      out = add(out, cat.key, `${cat.key} wait totals ${reasonSecs(total)} with no wait counted`);
    } else if (max !== undefined && count !== undefined && count > 0 && exceeds(max, total)) {
      out = add(
        out,
        cat.key,
        `the longest ${cat.key} wait (${reasonSecs(max)}) is longer than all of them together (${reasonSecs(total)})`,
      );
    }
  }
  // A thread is in one of these states at a time: running, runnable and waiting for a CPU,
  // or blocked on IO; their sum cannot exceed its life. The CPU figures are the scheduler's
  // own (always kept; run time is cpu_run_virtual_total, sum_exec_runtime in ns, not the
  // tick-sampled cpu_run_real_total); the IO stamp is the one known to go stale. Per-event
  // room covers the wake-up handover being timed on two clocks.
  if (lifeNs !== null && cats.includes(IO) && !out?.IO) {
    const io = num(ts, IO.total);
    const cpu = num(ts, CPU.total);
    const run = num(ts, 'cpu_run_virtual_total');
    if (io !== undefined && cpu !== undefined && run !== undefined && io > 0) {
      const events = (num(ts, IO.count) ?? 0) + (num(ts, CPU.count) ?? 0);
      if (io + cpu + run > lifeNs * 1.02 + SLACK_NS + events * 1000) {
        out = add(
          out,
          'IO',
          `IO wait ${reasonSecs(io)} + CPU wait ${reasonSecs(cpu)} + run time ${reasonSecs(run)} exceed the thread's life of ${reasonSecs(lifeNs)}`,
        );
      }
    }
  }
  return out;
}

/** The record fields the rules read, for callers that decode only some. */
export function checkedFields(cats: readonly Category[]): string[] {
  return ['ac_etime', 'cpu_run_virtual_total', CPU.count, CPU.total, ...cats.flatMap((c) => [c.count, c.total, c.max])];
}

export interface IntervalCheck {
  /**
   * What the waits that ended in the interval can add up to at most, ns: a thread's age
   * (no wait is longer than its life); a process's live threads' summed ages plus the
   * lives of its threads that ended in the interval. null: not known.
   */
  boundNs: number | null;
  /** what the task is: for the reason text */
  what: 'thread' | 'process';
  /**
   * delay accounting was switched on between the two samples (as delaytop saw it): how long
   * delaytop saw it off before, ns (a stale-stamp wait lasts at least that); null: no switch-on
   */
  switchOffNs: number | null;
}

/** The figures of one interval: how much each total grew, against what could have. */
export function intervalSuspects(
  prev: Taskstats,
  cur: Taskstats,
  check: IntervalCheck,
  cats: readonly Category[] = CATEGORIES,
): Suspects | null {
  let out: Suspects | null = null;
  for (const cat of cats) {
    const total = num(cur, cat.total);
    const before = num(prev, cat.total);
    if (total === undefined || before === undefined) continue;
    const grew = total - before;
    if (grew <= 0) continue; // unchanged, or an overflow reset (counted from 0 elsewhere)
    const count = num(cur, cat.count);
    const countBefore = num(prev, cat.count);
    if (check.boundNs !== null && exceeds(grew, check.boundNs)) {
      out = add(
        out,
        cat.key,
        check.what === 'thread'
          ? `${cat.key} waits of ${reasonSecs(grew)} ended in this interval in a thread that has lived ${reasonSecs(check.boundNs)}`
          : `${cat.key} waits of ${reasonSecs(grew)} ended in this interval, more than its threads have lived (${reasonSecs(check.boundNs)})`,
      );
    } else if (
      check.what === 'thread' &&
      cat !== CPU &&
      count !== undefined &&
      countBefore !== undefined &&
      count === countBefore
    ) {
      // (threads only: a TGID sample can count an exiting thread twice, live and in
      // signal->stats, and the next one drops it, so a process's count can stand still)
      out = add(out, cat.key, `${cat.key} total grew by ${reasonSecs(grew)} with no new wait counted`);
    } else if (cat !== CPU && check.switchOffNs !== null && grew >= check.switchOffNs) {
      out = add(
        out,
        cat.key,
        `delay accounting was switched on in this interval after ${reasonSecs(check.switchOffNs)} off: a wait in flight then was timed from a stale stamp`,
      );
    }
  }
  return out;
}

/**
 * Totals over a life that spans a switch-on of delay accounting may hold a wait that was in
 * flight then, timed from a stale stamp; such a wait lasts at least as long as delaytop saw
 * the setting off, so a category whose longest wait (or, without one, whose total) is
 * shorter cannot hold it.
 */
export function switchSuspects(
  ts: Taskstats,
  sys: DelayacctState,
  startMs: number,
  cats: readonly Category[] = CATEGORIES,
  into: Suspects | null = null,
  endMs = Infinity,
): Suspects | null {
  const sw = switchedOnBetween(sys, startMs, endMs);
  if (!sw) return into;
  const offNs = offSeenMs(sys, sw) * 1e6;
  let out = into;
  for (const cat of cats) {
    const total = num(ts, cat.total) ?? 0;
    const longest = (num(ts, cat.count) ?? 0) > 0 ? num(ts, cat.max) : undefined;
    if (cat === CPU || total <= 0 || (longest ?? total) < offNs) continue;
    out = add(
      out,
      cat.key,
      `delay accounting was switched on during this task's life (${clockOf(sw.toMs)}, after ${reasonSecs(offNs)} off): a wait in flight then may have been timed from a stale stamp`,
    );
  }
  return out;
}

/** The interval form: how long delaytop saw the setting off before a switch-on between two samples (epoch ms), ns; null: none. */
function switchOffIn(sys: DelayacctState, fromMs: number, toMs: number): number | null {
  const sw = switchedOnBetween(sys, fromMs, toMs);
  return sw ? offSeenMs(sys, sw) * 1e6 : null;
}

const clockOf = (ms: number) => new Date(ms).toTimeString().slice(0, 8);

/**
 * A process's totals against the lives of all its threads added up: a bound only when
 * every thread's record is at hand (e.g. -c with no exit lost).
 */
export function processLifeSuspects(whole: Taskstats, livesNs: number, threads: number): Suspects | null {
  let out: Suspects | null = null;
  for (const cat of CATEGORIES) {
    const total = num(whole, cat.total) ?? 0;
    if (exceeds(total, livesNs, threads)) {
      const who = `${threads} thread${threads === 1 ? '' : 's'}`;
      out = add(
        out,
        cat.key,
        `${cat.key} wait totals ${reasonSecs(total)} in a process whose ${who} lived ${reasonSecs(livesNs)} in all`,
      );
    }
  }
  return out;
}

/** Merge b into a (a's reasons win); null when both are empty. */
export function mergeSuspects(a: Suspects | null, b: Suspects | null): Suspects | null {
  if (!b) return a;
  if (!a) return b;
  return { ...b, ...a };
}

/** How many categories are flagged. */
export function suspectCount(s: Suspects | null): number {
  return s ? Object.keys(s).length : 0;
}

/**
 * An exit record: its thread's figures, and the process aggregate the kernel attached (a
 * sum that holds this thread's, so what is impossible here is impossible there too).
 */
export function exitSuspects(stats: Taskstats, receivedMs: number, sys: DelayacctState | null): Suspects | null {
  return judge(undefined, stats, exitContext(stats, receivedMs, sys)).totals;
}

/** An exit record's context: a thread that lived ac_etime until it was received. */
export function exitContext(stats: Taskstats, receivedMs: number, sys: DelayacctState | null): CheckContext {
  return sys ? checkContext('pid', sys, (num(stats, 'ac_etime') ?? 0) * 1000, undefined, receivedMs) : { kind: 'pid' };
}

/** What a caller knows of a sample beyond its record, for judging it. */
export interface CheckContext {
  kind: 'pid' | 'tgid';
  /** delay accounting as delaytop saw it (switch-ons) */
  delayacct?: DelayacctState;
  /** epoch ms the task started, where known (for switch-ons during its life) */
  startMs?: number;
  /** epoch ms of the previous and this sample (for a switch-on between them) */
  fromMs?: number;
  toMs?: number;
  /** a process: the lives of its threads that ended since the previous sample, ns; null: unknown */
  exitedLivesNs?: number | null;
  /** a process: what is impossible in its main thread's record (the process sums it) */
  inherited?: Suspects | null;
  /** a process: what its main thread's interval says cannot have happened */
  inheritedSpan?: Suspects | null;
}

/**
 * The context of one sample: its kind, delay accounting as delaytop read it, when the task
 * started (its age at the sample, ns) and the span's wall times (epoch ms).
 */
export function checkContext(
  kind: 'pid' | 'tgid',
  sys: DelayacctState,
  ageNs: number | undefined,
  fromMs: number | undefined,
  toMs: number,
): CheckContext {
  // Every field set, in one order: one shape for every context. (Contexts given fields
  // later, a process's by inheritFromMainThread, had shapes that came and went; code
  // optimized for one was thrown away at the next: docs/performance.md.)
  return {
    kind,
    delayacct: sys,
    startMs: ageNs !== undefined && toMs ? toMs - ageNs / 1e6 : undefined,
    fromMs,
    toMs,
    exitedLivesNs: undefined,
    inherited: undefined,
    inheritedSpan: undefined,
  };
}

/**
 * A process's sample inherits from its main thread's record (taken in the same batch):
 * what is impossible there is impossible in the sum; `leadBefore`, the main thread's record
 * at the process's previous sample, says what grew in the interval.
 */
export function inheritFromMainThread(
  ctx: CheckContext,
  lead: Taskstats,
  leadBefore: Taskstats | undefined,
  cats: readonly Category[] = CATEGORIES,
): CheckContext {
  ctx.inherited = threadSuspects(lead, cats);
  const etimeUs = num(lead, 'ac_etime');
  if (leadBefore && etimeUs !== undefined) {
    ctx.inheritedSpan = intervalSuspects(
      leadBefore,
      lead,
      { boundNs: etimeUs * 1000, what: 'thread', switchOffNs: null },
      cats,
    );
  }
  return ctx;
}

export interface Judgement {
  /** the figures of this span: the interval's, or the lifetime's on a first sample */
  span: Suspects | null;
  /** totals and single waits since the task started */
  totals: Suspects | null;
}

/** Judge one sample against the previous one of the same task (prev undefined: a first sample). */
export function judge(
  prev: Taskstats | undefined,
  cur: Taskstats,
  ctx: CheckContext,
  cats: readonly Category[] = CATEGORIES,
): Judgement {
  let totals: Suspects | null =
    ctx.kind === 'pid' ? threadSuspects(cur, cats) : ctx.inherited ? { ...ctx.inherited } : null;
  if (ctx.delayacct && ctx.startMs !== undefined)
    totals = switchSuspects(cur, ctx.delayacct, ctx.startMs, cats, totals, ctx.toMs);
  if (!prev) return { span: totals, totals };
  const etimeUs = num(cur, 'ac_etime');
  let boundNs: number | null = null;
  if (ctx.kind === 'pid') boundNs = etimeUs === undefined ? null : etimeUs * 1000;
  else if (etimeUs !== undefined && ctx.exitedLivesNs !== undefined && ctx.exitedLivesNs !== null)
    boundNs = etimeUs * 1000 + ctx.exitedLivesNs;
  const switchOffNs =
    ctx.delayacct && ctx.fromMs !== undefined && ctx.toMs !== undefined
      ? switchOffIn(ctx.delayacct, ctx.fromMs, ctx.toMs)
      : null;
  const span = intervalSuspects(
    prev,
    cur,
    { boundNs, what: ctx.kind === 'pid' ? 'thread' : 'process', switchOffNs },
    cats,
  );
  return { span: mergeSuspects(span, ctx.inheritedSpan ?? null), totals };
}
