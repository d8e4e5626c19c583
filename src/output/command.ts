// delaytop -c CMD [ARGS...] (getdelays -c): run a command directly (no shell), catch its
// exit records, print its delays in every category, optionally its IO accounting (-i) and
// context switches (-q), for the whole process and per thread; end with its own status.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { num, type Taskstats } from '../kernel/decode.js';
import type { ExitRecord } from '../kernel/exitrecord.js';
import { CATEGORIES } from '../kernel/layout.js';
import { computeDelays, type CategoryDelay } from '../model/delays.js';
import {
  exitSuspects,
  mergeSuspects,
  processLifeSuspects,
  suspectCount,
  switchSuspects,
  type Suspects,
} from '../model/plausibility.js';
import { holdSignals, onCleanup } from '../lifecycle.js';
import { recordingFor, type DelayacctState } from '../model/delayacct.js';
import { expandCpulist } from '../args.js';
import { NetlinkExitSource } from '../sources/exit-listener.js';
import type { ExitBatch, ExitSource } from '../sources/types.js';
import { readCpulist, readDelayacct } from '../sources/system.js';
import { fmtCount, fmtNs, pad } from './format.js';
import { printable } from './text.js';
import { jsonLine } from '../kernel/json.js';

export interface CommandOptions {
  /** also a table per thread */
  perThread: boolean;
  /** -i: IO accounting */
  io: boolean;
  /** -q: context switches */
  ctxsw: boolean;
  /** one JSON object instead of text */
  json?: boolean;
  /** the report (one call per line group) */
  write: (text: string) => void;
  /** errors and warnings */
  warn: (text: string) => void;
  /** kernel.task_delayacct as the session tracks it (default: the sysctl now) */
  delayacct?: () => DelayacctState;
  /** how long to wait for the exit records after the command ended */
  recordTimeoutMs?: number;
  /** the child's stdio (default: inherit ours) */
  stdio?: 'inherit' | 'ignore';
  /** e.g. a Recorder's wrapExits for -w */
  wrapExits?: (s: ExitSource) => ExitSource;
  /** the listener, for tests; default: every online CPU */
  openListener?: () => ExitSource;
}

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
  end: { argv: string[]; exitCode: number | null; signal: string | null; wallMs: number; lost: number },
): CommandReport {
  const mine = records.filter((r) => r.tgid === pid).sort((a, b) => a.pid - b.pid);
  const tgidRec = mine.find((r) => r.tgidStats);
  const leader = mine.find((r) => r.pid === pid);
  const threads: CommandTask[] = mine.map((r) => ({
    pid: r.pid,
    comm: r.comm,
    stats: r.stats,
    categories: categoriesOf(r.stats, sys),
    suspect: exitSuspects(r.stats, r.receivedMs, sys),
  }));
  let wholeFrom: CommandReport['wholeFrom'] = 'none';
  let whole: CommandCategory[] | null = null;
  let wholeStats: Taskstats | undefined;
  if (tgidRec?.tgidStats) {
    wholeFrom = 'tgid';
    wholeStats = tgidRec.tgidStats;
    whole = categoriesOf(tgidRec.tgidStats, sys).map((c, i) => {
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
  } else if (leader && mine.length === 1) {
    wholeFrom = 'pid';
    whole = threads[0]!.categories;
    wholeStats = leader.stats;
  }
  let wholeSuspect: Suspects | null = null;
  if (whole && wholeStats) {
    if (wholeFrom === 'pid') wholeSuspect = threads[0]!.suspect;
    else {
      // the kernel's sum holds each thread's figures; and with no exit lost every thread's
      // record is here, so the sum cannot exceed their lives added up
      for (const t of threads) wholeSuspect = mergeSuspects(wholeSuspect, t.suspect);
      if (end.lost === 0) {
        const livesNs = mine.reduce((sum, r) => sum + r.lifeUs * 1000, 0);
        wholeSuspect = mergeSuspects(wholeSuspect, processLifeSuspects(wholeStats, livesNs, mine.length));
      }
      // (loops: a spread of one argument per thread overflows the stack past ~120k threads)
      let startMs = Infinity;
      let endMs = -Infinity;
      for (const r of mine) {
        startMs = Math.min(startMs, r.receivedMs - r.lifeUs / 1000);
        endMs = Math.max(endMs, r.receivedMs);
      }
      wholeSuspect = switchSuspects(
        wholeStats,
        sys,
        startMs,
        CATEGORIES,
        wholeSuspect ? { ...wholeSuspect } : null,
        endMs,
      );
    }
  }
  const ended = mine.some((r) => r.processEnded);
  const status =
    end.signal !== null ? 128 + (os.constants.signals[end.signal as NodeJS.Signals] ?? 0) : (end.exitCode ?? 1);
  let missing: string | null = null;
  if (mine.length === 0) missing = `no exit record of pid ${pid} arrived`;
  else if (!ended || whole === null)
    missing = `the exit record of the process as a whole (pid ${pid}) did not arrive; figures below are per thread only`;
  if (missing && end.lost > 0) missing += ` (the listener lost ${end.lost} exit records)`;
  return {
    argv: end.argv,
    pid,
    status,
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
    missing,
  };
}

// ---------------------------------------------------------------- text and JSON

const W = 11;
const cell = (s: string) => pad(s, W);

function categoryTable(cats: readonly CommandCategory[], suspect: Suspects | null): string[] {
  const lines = [pad('', 10, true) + ['count ', 'total ', 'average ', 'max ', 'min '].map(cell).join('')];
  for (const c of cats) {
    const name = pad(c.key, 10, true);
    if (c.na) {
      lines.push(`${name}${cell('n/a')}  ${c.na}`);
      continue;
    }
    // a flagged category's figures carry ! and its footnote says why
    const m = suspect?.[c.key] ? '!' : ' ';
    lines.push(
      name +
        [
          (c.count === null ? '-' : fmtCount(c.count, W - 1)) + ' ',
          (c.totalNs === 0 ? '0' : fmtNs(c.totalNs, W - 1)) + m,
          fmtNs(c.avgNs, W - 1) + m,
          (c.maxNs === null ? '-' : fmtNs(c.maxNs, W - 1)) + m,
          (c.minNs === null ? '-' : fmtNs(c.minNs, W - 1)) + ' ',
        ]
          .map(cell)
          .join(''),
    );
  }
  for (const [k, why] of Object.entries(suspect ?? {})) lines.push(`  ! ${k}: ${why}`);
  return lines;
}

function statusText(r: CommandReport): string {
  if (r.signal !== null) return `was killed by ${r.signal} (status ${r.status})`;
  return `exited with status ${r.status}`;
}

export function formatCommandReport(
  r: CommandReport,
  opts: Pick<CommandOptions, 'perThread' | 'io' | 'ctxsw'>,
): string[] {
  const comm = printable(r.threads.find((t) => t.pid === r.pid)?.comm ?? r.argv[0] ?? '?');
  const nThreads = r.threads.length;
  const out = [
    `${comm} (pid ${r.pid}, ${nThreads} thread${nThreads === 1 ? '' : 's'}) ${statusText(r)} after ${fmtNs(r.wallMs * 1e6)}`,
  ];
  if (r.missing) out.push(`delaytop: warning: ${r.missing}`);
  const flagged = commandFlags(r);
  if (flagged)
    out.push(
      `delaytop: ${flagged} figure${flagged === 1 ? '' : 's'} marked ! cannot have happened (the kernel's numbers, shown as sent; see the notes under each table)`,
    );
  if (r.whole) {
    out.push(
      r.wholeFrom === 'tgid'
        ? `Whole process (the kernel's TGID sum of ${nThreads} threads; max/min over the threads):`
        : 'Whole process (its only thread):',
      ...categoryTable(r.whole, r.wholeSuspect),
    );
    if (r.cpuRunRealNs !== null)
      out.push(`  CPU run time: real ${fmtNs(r.cpuRunRealNs)}, virtual ${fmtNs(r.cpuRunVirtualNs)}`);
    if (r.whole.some((c) => c.key === 'IRQ' && !c.na))
      out.push('  IRQ count ticks with the scheduler clock: no average per event.');
  }
  if (opts.io && r.io) {
    const io = r.io;
    out.push(
      'IO accounting (summed over threads; the kernel rounds down to 1 KiB):',
      `  read_bytes ${io.read_bytes}  write_bytes ${io.write_bytes}  cancelled_write_bytes ${io.cancelled_write_bytes}`,
      `  read_char ${io.read_char}  write_char ${io.write_char}  read_syscalls ${io.read_syscalls}  write_syscalls ${io.write_syscalls}`,
    );
  }
  if (opts.ctxsw && r.ctxsw) {
    out.push(`Context switches (summed over threads): voluntary ${r.ctxsw.nvcsw}  involuntary ${r.ctxsw.nivcsw}`);
  }
  if (opts.perThread || !r.whole) {
    for (const t of r.threads) {
      out.push(`Thread ${t.pid} (${printable(t.comm)}):`, ...categoryTable(t.categories, t.suspect));
      if (opts.io) {
        const v = (f: string) => num(t.stats, f) ?? 0;
        out.push(
          `  IO: read_bytes ${v('read_bytes')}  write_bytes ${v('write_bytes')}  read_char ${v('read_char')}  write_char ${v('write_char')}`,
        );
      }
      if (opts.ctxsw)
        out.push(
          `  Context switches: voluntary ${num(t.stats, 'nvcsw') ?? 0}  involuntary ${num(t.stats, 'nivcsw') ?? 0}`,
        );
    }
  }
  return out;
}

/** Flagged categories in the report: the whole process's and each thread's. */
export function commandFlags(r: CommandReport): number {
  return suspectCount(r.wholeSuspect) + r.threads.reduce((s, t) => s + suspectCount(t.suspect), 0);
}

function categoriesJson(cats: readonly CommandCategory[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of cats) {
    out[c.key] = c.na
      ? { na: c.na }
      : { count: c.count, total_ns: c.totalNs, avg_ns: c.avgNs, max_ns: c.maxNs, min_ns: c.minNs };
  }
  return out;
}

export function commandJson(r: CommandReport, opts: Pick<CommandOptions, 'perThread' | 'io' | 'ctxsw'>): string {
  return jsonLine({
    type: 'command',
    argv: r.argv,
    pid: r.pid,
    status: r.status,
    exit_code: r.exitCode,
    signal: r.signal,
    wall_ms: r.wallMs,
    threads: r.threads.length,
    whole_from: r.wholeFrom,
    delays: r.whole ? categoriesJson(r.whole) : null,
    ...(r.wholeSuspect ? { suspect: r.wholeSuspect } : {}),
    suspect_values: commandFlags(r),
    cpu_run_real_total_ns: r.cpuRunRealNs,
    cpu_run_virtual_total_ns: r.cpuRunVirtualNs,
    ...(opts.io ? { io: r.io } : {}),
    ...(opts.ctxsw ? { context_switches: r.ctxsw } : {}),
    ...(opts.perThread
      ? {
          per_thread: r.threads.map((t) => ({
            pid: t.pid,
            comm: t.comm,
            delays: categoriesJson(t.categories),
            ...(t.suspect ? { suspect: t.suspect } : {}),
            ...(opts.io ? { io: Object.fromEntries(IO_FIELDS.map((f) => [f, num(t.stats, f) ?? 0])) } : {}),
            ...(opts.ctxsw
              ? { context_switches: Object.fromEntries(CTXSW_FIELDS.map((f) => [f, num(t.stats, f) ?? 0])) }
              : {}),
          })),
        }
      : {}),
    lost: r.lost,
    ...(r.missing ? { warning: r.missing } : {}),
  });
}

// ---------------------------------------------------------------- running it

/** A command that cannot be started: the shell's status for it (127 not found, 126 not executable). */
export class CommandNotStarted extends Error {
  override name = 'CommandNotStarted';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

function defaultListener(): ExitSource {
  const online = expandCpulist(readCpulist('online'));
  return new NetlinkExitSource({ cpus: typeof online === 'string' ? [0] : online, batchMs: 10 });
}

function spawnError(argv0: string, e: NodeJS.ErrnoException): CommandNotStarted {
  switch (e.code) {
    case 'ENOENT':
      return new CommandNotStarted(`${argv0}: command not found`, 127, e.code);
    case 'EACCES':
    case 'EPERM':
      return new CommandNotStarted(`${argv0}: permission denied (not executable)`, 126, e.code);
    case 'ENOEXEC':
      return new CommandNotStarted(`${argv0}: cannot execute (not a program the kernel can run)`, 126, e.code);
    default:
      return new CommandNotStarted(`${argv0}: cannot run: ${e.message}`, 126, e.code ?? 'EIO');
  }
}

/**
 * Run argv (no shell) with an exit listener registered first, print its report, and
 * return its status (exit code, or 128 + signal). A command that cannot be started prints
 * why and returns 127 (not found) or 126 (not executable), like a shell.
 * Throws TaskstatsError when the listener cannot be opened (e.g. EPERM without CAP_NET_ADMIN).
 */
export async function runCommand(argv: readonly string[], opts: CommandOptions): Promise<number> {
  if (argv.length === 0) throw new Error('runCommand: no command given');
  const sys = opts.delayacct?.() ?? { on: readDelayacct(), onSinceSec: null };
  // Registered before the spawn: the exit events of even the shortest command are caught.
  let listener = (opts.openListener ?? defaultListener)();
  if (opts.wrapExits) listener = opts.wrapExits(listener);
  const records: ExitRecord[] = [];
  let lost = 0;
  let pid = -1;
  let ended: () => void = () => {};
  const endSeen = new Promise<void>((r) => {
    ended = r;
  });
  const take = (b: ExitBatch) => {
    lost = b.counters.reduce((s, c) => s + c.lost, 0);
    for (const r of b.records) {
      if (r.tgid !== pid) continue;
      records.push(r);
      if (r.processEnded) ended();
    }
  };
  listener.start(take);
  onCleanup(() => listener.close()); // an error on the way must not leave it registered

  // While the command runs, terminal signals are its business (as system(3) does);
  // a SIGTERM or SIGHUP sent to delaytop is passed on to it.
  const ignore = () => {};
  let child: ReturnType<typeof spawn> | undefined;
  const forward = (sig: NodeJS.Signals) => () => {
    child?.kill(sig);
  };
  const fwdTerm = forward('SIGTERM');
  const fwdHup = forward('SIGHUP');
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  process.on('SIGTERM', fwdTerm);
  process.on('SIGHUP', fwdHup);
  const release = holdSignals();
  const restoreSignals = () => {
    release();
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
    process.off('SIGTERM', fwdTerm);
    process.off('SIGHUP', fwdHup);
  };

  const t0 = performance.now();
  let exit: { exitCode: number | null; signal: string | null };
  try {
    exit = await new Promise((resolve, reject) => {
      try {
        child = spawn(argv[0]!, argv.slice(1), { stdio: opts.stdio ?? 'inherit', shell: false });
      } catch (e) {
        reject(e);
        return;
      }
      pid = child.pid ?? -1;
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
    });
  } catch (e) {
    restoreSignals();
    take(listener.close());
    const err = spawnError(argv[0]!, e as NodeJS.ErrnoException);
    if (opts.json) opts.write(jsonLine({ type: 'command', argv, status: err.status, error: err.message }));
    opts.warn(`delaytop: ${err.message}`);
    return err.status;
  }
  const wallMs = performance.now() - t0;
  restoreSignals();
  // The kernel sends the exit event before the parent learns of the exit; give the
  // listener thread a moment to hand it over.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    endSeen,
    new Promise<void>((r) => {
      timer = setTimeout(r, opts.recordTimeoutMs ?? 2000);
    }),
  ]);
  clearTimeout(timer);
  take(listener.close());

  // switch-ons seen while it ran (the tracker's later readings), judged with the setting it started under
  const seen = opts.delayacct?.().seen;
  const report = summarizeCommand(pid, records, seen ? { ...sys, seen } : sys, {
    argv: [...argv],
    ...exit,
    wallMs,
    lost,
  });
  if (opts.json) opts.write(commandJson(report, opts));
  else opts.write(formatCommandReport(report, opts).join('\n'));
  return report.status;
}
