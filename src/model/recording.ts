// Did delay accounting record a task's non-CPU categories? Pure: the caller supplies
// what it knows about the system.
import { CATEGORIES } from '../kernel/layout.js';
import { num, type Taskstats } from '../kernel/decode.js';
import type { Recording } from './delays.js';

export interface DelayacctState {
  /** kernel.task_delayacct now; undefined where the sysctl does not exist */
  on: boolean | undefined;
  /** epoch seconds since which it has been on, when known (boot time if booted with it) */
  onSinceSec: number | null;
}

export function recordingFor(ts: Taskstats, sys: DelayacctState): Recording {
  if (sys.on === false) return 'off-now';
  if (sys.onSinceSec === null) return 'yes'; // on, since an unknown time: no evidence against
  const btime = num(ts, 'ac_btime64') || num(ts, 'ac_btime') || 0;
  if (!btime || btime >= sys.onSinceSec) return 'yes';
  // Forked before it was turned on: the kernel gave it no delay struct, so every
  // non-CPU count stays 0. Any non-zero count proves otherwise.
  for (const c of CATEGORIES) if (c.key !== 'CPU' && (num(ts, c.count) ?? 0) > 0) return 'yes';
  return 'off-at-fork';
}
