// Did delay accounting record a task's non-CPU categories? Pure: the caller supplies
// what it knows about the system.
import { CATEGORIES } from '../kernel/layout.js';
import { num, type Taskstats } from '../kernel/decode.js';
import type { Recording } from './delays.js';
import type { DelayacctChange, DelayacctState } from '../sources/system.js';

export type { DelayacctChange, DelayacctSeen, DelayacctState } from '../sources/system.js';

/**
 * The first switch-on delaytop saw that ends after `fromMs` and began before `toMs`: off
 * at its `fromMs`, on at its `toMs`. (Older recordings know only the second it came on.)
 */
export function switchedOnBetween(sys: DelayacctState, fromMs: number, toMs = Infinity): DelayacctChange | null {
  const seen = sys.seen;
  if (seen) {
    for (const c of seen.changes) if (c.on && c.toMs > fromMs && c.fromMs < toMs) return c;
    return null;
  }
  if (!sys.onSinceSec) return null;
  const c = { fromMs: sys.onSinceSec * 1000 - 1000, toMs: sys.onSinceSec * 1000, on: true };
  return c.toMs > fromMs && c.fromMs < toMs ? c : null;
}

/**
 * When the latest switch-on delaytop knows of was seen done, epoch ms (-Infinity: none): for
 * any fromMs at or after it, switchedOnBetween finds nothing.
 */
export function lastSwitchOnMs(sys: DelayacctState | null): number {
  if (!sys) return -Infinity;
  const seen = sys.seen;
  if (!seen) return sys.onSinceSec ? sys.onSinceSec * 1000 : -Infinity;
  let last = -Infinity;
  for (const c of seen.changes) if (c.on) last = Math.max(last, c.toMs);
  return last;
}

/**
 * How long delaytop saw the setting off before a switch-on, ms: from the first reading that
 * found it off to the last. A wait in flight at the switch-on was stamped before the
 * switch-off, so when it is timed from that stale stamp it lasts at least this long.
 */
export function offSeenMs(sys: DelayacctState, on: DelayacctChange): number {
  const seen = sys.seen;
  if (!seen) return 0;
  let offFrom: number | null = null;
  for (const c of seen.changes) {
    if (c === on) break;
    if (!c.on) offFrom = c.toMs;
    else offFrom = null;
  }
  if (offFrom === null) offFrom = seen.firstOn === false && seen.changes[0] === on ? seen.firstMs : on.fromMs;
  return Math.max(0, on.fromMs - offFrom);
}

/** Whether delay accounting was on at an instant, from what delaytop knows only. */
export function delayacctAt(sys: DelayacctState, tMs: number): 'on' | 'off' | 'unknown' {
  if (sys.onSinceSec === 0) return 'on'; // booted with it
  const seen = sys.seen;
  if (!seen) {
    // an older recording: only "on since" a second is known
    if (sys.onSinceSec === null) return 'on';
    return tMs >= sys.onSinceSec * 1000 ? 'on' : 'unknown';
  }
  let state: boolean | undefined = seen.firstOn;
  if (tMs < seen.firstMs) {
    // Before delaytop looked: found on, it is taken as on (nothing says otherwise); found
    // off, it may have been either.
    return state ? 'on' : 'unknown';
  }
  for (const c of seen.changes) {
    if (tMs < c.fromMs) break;
    if (tMs < c.toMs) return 'unknown'; // changed somewhere between two readings
    state = c.on;
  }
  return state === undefined ? 'unknown' : state ? 'on' : 'off';
}

export function recordingFor(ts: Taskstats, sys: DelayacctState): Recording {
  if (sys.on === false) return 'off-now';
  // Any non-CPU count proves the task has a delay struct (it was forked with accounting on).
  for (const c of CATEGORIES) if (c.key !== 'CPU' && (num(ts, c.count) ?? 0) > 0) return 'yes';
  const btime = num(ts, 'ac_btime64') || num(ts, 'ac_btime') || 0;
  if (!btime) return 'yes';
  // btime is whole seconds and jitters by one: judge the second before and after it.
  const a = delayacctAt(sys, (btime - 1) * 1000);
  const b = delayacctAt(sys, (btime + 1) * 1000);
  if (a === 'on' && b === 'on') return 'yes';
  if (a === 'off' && b === 'off') return 'off-at-fork';
  return 'unknown-at-fork';
}
