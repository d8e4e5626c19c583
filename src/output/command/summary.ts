// A command's report from its exit records (pure): its delays in every category for the
// whole process and per thread, what cannot have happened, IO and context switches, and
// its own status.
import os from 'node:os';
import { num, type Taskstats } from '../../kernel/decode.js';
import type { ExitRecord } from '../../kernel/exitrecord.js';
import { CATEGORIES } from '../../kernel/layout.js';
import { computeDelays, type CategoryDelay } from '../../model/delays.js';
import { recordingFor, type DelayacctState } from '../../model/delayacct.js';
import {
  exitSuspects,
  mergeSuspects,
  processLifeSuspects,
  suspectCount,
  switchSuspects,
  type Suspects,
} from '../../model/plausibility.js';

/** One category's figures over the command's life, getdelays style. */
export interface CommandCategory {
  key: CategoryDelay['key'];
  count: number | null;
  totalNs: number;
  avgNs: number | null;
  maxNs: number | null;
  minNs: number | null;
  na: string | null;
}

export interface CommandTask {
  pid: number;
  comm: string;
  categories: CommandCategory[];
  stats: Taskstats;
  /** categories whose figures cannot have happened (model/plausibility), with why */
  suspect: Suspects | null;
}

export const IO_FIELDS = [
  'read_bytes',
  'write_bytes',
  'cancelled_write_bytes',
  'read_char',
  'write_char',
  'read_syscalls',
  'write_syscalls',
] as const;
export const CTXSW_FIELDS = ['nvcsw', 'nivcsw'] as const;

export interface CommandReport {
  argv: string[];
  pid: number;
  /** the command's status: its exit code, or 128 + signal */
  status: number;
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  /** 'tgid': the kernel's TGID record (a multi-threaded process); 'pid': its only thread's record */
  wholeFrom: 'tgid' | 'pid' | 'none';
  whole: CommandCategory[] | null;
  /** categories of the whole process whose figures cannot have happened */
  wholeSuspect: Suspects | null;
  /** cpu_run_real_total / cpu_run_virtual_total of the whole process, ns */
  cpuRunRealNs: number | null;
  cpuRunVirtualNs: number | null;
  /** summed over the thread records (the TGID record has no IO or context switches) */
  io: Record<(typeof IO_FIELDS)[number], number> | null;
  ctxsw: Record<(typeof CTXSW_FIELDS)[number], number> | null;
  threads: CommandTask[];
  /** exit records the listener lost while the command ran (0 = none) */
  lost: number;
  /** why the report is incomplete, if it is */
  missing: string | null;
}

/** How the command ended, as the listener and the child process saw it. */
export interface CommandEnd {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  lost: number;
}

/**
 * The report from the command's exit records (pure). A process that ever had more than one
 * thread ends with a TGID record (the kernel's sum of its threads' delays); its max/min are
 * those of the last thread visited, so the true max/min come from the thread records.
 * A single-threaded process gets no TGID record: its one PID record is the whole process.
 */
export function summarizeCommand(
  pid: number,
  records: readonly ExitRecord[],
  sys: DelayacctState,
  end: CommandEnd,
): CommandReport {
  const mine = records.filter((r) => r.tgid === pid).sort((a, b) => a.pid - b.pid);
  const threads: CommandTask[] = mine.map((r) => ({
    pid: r.pid,
    comm: r.comm,
    stats: r.stats,
    categories: categoriesOf(r.stats, sys),
    suspect: exitSuspects(r.stats, r.receivedMs, sys),
  }));
  const { wholeFrom, whole, wholeStats } = wholeOf(pid, mine, threads, sys);
  const wholeSuspect = whole && wholeStats ? wholeSuspectOf(wholeFrom, wholeStats, mine, threads, sys, end.lost) : null;
  return {
    argv: end.argv,
    pid,
    status: statusOf(end),
    exitCode: end.exitCode,
    signal: end.signal,
    wallMs: end.wallMs,
    wholeFrom,
    whole,
    wholeSuspect,
    cpuRunRealNs: wholeStats ? (num(wholeStats, 'cpu_run_real_total') ?? null) : null,
    cpuRunVirtualNs: wholeStats ? (num(wholeStats, 'cpu_run_virtual_total') ?? null) : null,
    io: mine.length ? sumFields(mine, IO_FIELDS) : null,
    ctxsw: mine.length ? sumFields(mine, CTXSW_FIELDS) : null,
    threads,
    lost: end.lost,
    missing: missingOf(pid, mine, whole, end.lost),
  };
}

/** Flagged categories in the report: the whole process's and each thread's. */
export function commandFlags(r: CommandReport): number {
  return suspectCount(r.wholeSuspect) + r.threads.reduce((s, t) => s + suspectCount(t.suspect), 0);
}

function categoriesOf(stats: Taskstats, sys: DelayacctState): CommandCategory[] {
  const d = computeDelays(undefined, { stats, atNs: 0 }, { recording: recordingFor(stats, sys) });
  return d.categories.map((c, i) => ({
    key: c.key,
    count: stats.raw[CATEGORIES[i]!.count] === undefined ? null : c.count,
    totalNs: c.totalNs,
    avgNs: c.key === 'IRQ' || c.count === 0 ? null : c.totalNs / c.count,
    // no events: no max or min to speak of
    maxNs: c.count === 0 ? null : c.maxNs,
    minNs: c.count === 0 ? null : c.minNs,
    na: c.na,
  }));
}

function sumFields<K extends string>(records: readonly ExitRecord[], fields: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const f of fields) {
    let sum = 0;
    for (const r of records) sum += num(r.stats, f) ?? 0;
    out[f] = sum;
  }
  return out;
}

/** The whole process's figures: the kernel's TGID sum (max/min from the threads), or its only thread's. */
function wholeOf(
  pid: number,
  mine: readonly ExitRecord[],
  threads: readonly CommandTask[],
  sys: DelayacctState,
): { wholeFrom: CommandReport['wholeFrom']; whole: CommandCategory[] | null; wholeStats: Taskstats | undefined } {
  const tgidRec = mine.find((r) => r.tgidStats);
  if (tgidRec?.tgidStats) {
    const whole = categoriesOf(tgidRec.tgidStats, sys).map((c, i) => {
      if (c.na) return c;
      let max: number | null = null;
      let min: number | null = null;
      for (const t of threads) {
        const tc = t.categories[i]!;
        if (t.suspect?.[tc.key]) continue; // an impossible wait is left out of the largest
        if (tc.maxNs !== null && (max === null || tc.maxNs > max)) max = tc.maxNs;
        if (tc.minNs !== null && (tc.count ?? 0) > 0 && (min === null || tc.minNs < min)) min = tc.minNs;
      }
      return { ...c, maxNs: c.maxNs === null ? null : max, minNs: c.minNs === null ? null : min };
    });
    return { wholeFrom: 'tgid', whole, wholeStats: tgidRec.tgidStats };
  }
  const leader = mine.find((r) => r.pid === pid);
  if (leader && mine.length === 1) return { wholeFrom: 'pid', whole: threads[0]!.categories, wholeStats: leader.stats };
  return { wholeFrom: 'none', whole: null, wholeStats: undefined };
}

/** What cannot have happened in the whole process's figures. */
function wholeSuspectOf(
  wholeFrom: CommandReport['wholeFrom'],
  wholeStats: Taskstats,
  mine: readonly ExitRecord[],
  threads: readonly CommandTask[],
  sys: DelayacctState,
  lost: number,
): Suspects | null {
  if (wholeFrom === 'pid') return threads[0]!.suspect;
  // the kernel's sum holds each thread's figures; and with no exit lost every thread's
  // record is here, so the sum cannot exceed their lives added up
  let suspect: Suspects | null = null;
  for (const t of threads) suspect = mergeSuspects(suspect, t.suspect);
  if (lost === 0) {
    const livesNs = mine.reduce((sum, r) => sum + r.lifeUs * 1000, 0);
    suspect = mergeSuspects(suspect, processLifeSuspects(wholeStats, livesNs, mine.length));
  }
  // (loops: a spread of one argument per thread overflows the stack past ~120k threads)
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const r of mine) {
    startMs = Math.min(startMs, r.receivedMs - r.lifeUs / 1000);
    endMs = Math.max(endMs, r.receivedMs);
  }
  return switchSuspects(wholeStats, sys, startMs, CATEGORIES, suspect ? { ...suspect } : null, endMs);
}

/** The command's status as a shell gives it: its exit code, or 128 + the signal that killed it. */
function statusOf(end: CommandEnd): number {
  return end.signal !== null ? 128 + (os.constants.signals[end.signal as NodeJS.Signals] ?? 0) : (end.exitCode ?? 1);
}

/** Why the report is incomplete, if it is. */
function missingOf(
  pid: number,
  mine: readonly ExitRecord[],
  whole: CommandCategory[] | null,
  lost: number,
): string | null {
  let missing: string | null = null;
  if (mine.length === 0) missing = `no exit record of pid ${pid} arrived`;
  else if (!mine.some((r) => r.processEnded) || whole === null)
    missing = `the exit record of the process as a whole (pid ${pid}) did not arrive; figures below are per thread only`;
  if (missing && lost > 0) missing += ` (the listener lost ${lost} exit records)`;
  return missing;
}
