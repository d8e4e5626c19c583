// A command's report as text (getdelays-style tables) or as one JSON object.
import { num } from '../../kernel/decode.js';
import { jsonLine } from '../../kernel/json.js';
import type { Suspects } from '../../model/plausibility.js';
import { fmtCount, fmtNs, pad } from '../format.js';
import { printable } from '../text.js';
import { commandFlags, CTXSW_FIELDS, IO_FIELDS, type CommandCategory, type CommandReport } from './summary.js';

/** What the report shows beyond the whole process's delays. */
export interface CommandShow {
  /** also a table per thread */
  perThread: boolean;
  /** -i: IO accounting */
  io: boolean;
  /** -q: context switches */
  ctxsw: boolean;
}

const W = 11;
const cell = (s: string) => pad(s, W);

export function formatCommandReport(r: CommandReport, opts: CommandShow): string[] {
  return [
    ...headLines(r),
    ...(r.whole ? wholeLines(r, r.whole) : []),
    ...(opts.io && r.io ? ioLines(r.io) : []),
    ...(opts.ctxsw && r.ctxsw
      ? [`Context switches (summed over threads): voluntary ${r.ctxsw.nvcsw}  involuntary ${r.ctxsw.nivcsw}`]
      : []),
    ...(opts.perThread || !r.whole ? threadLines(r, opts) : []),
  ];
}

export function commandJson(r: CommandReport, opts: CommandShow): string {
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
    ...(opts.perThread ? { per_thread: threadsJson(r, opts) } : {}),
    lost: r.lost,
    ...(r.missing ? { warning: r.missing } : {}),
  });
}

/** The command, how it ended, and what the reader must know before the tables. */
function headLines(r: CommandReport): string[] {
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
  return out;
}

function statusText(r: CommandReport): string {
  if (r.signal !== null) return `was killed by ${r.signal} (status ${r.status})`;
  return `exited with status ${r.status}`;
}

function wholeLines(r: CommandReport, whole: readonly CommandCategory[]): string[] {
  const out = [
    r.wholeFrom === 'tgid'
      ? `Whole process (the kernel's TGID sum of ${r.threads.length} threads; max/min over the threads):`
      : 'Whole process (its only thread):',
    ...categoryTable(whole, r.wholeSuspect),
  ];
  if (r.cpuRunRealNs !== null)
    out.push(`  CPU run time: real ${fmtNs(r.cpuRunRealNs)}, virtual ${fmtNs(r.cpuRunVirtualNs)}`);
  if (whole.some((c) => c.key === 'IRQ' && !c.na))
    out.push('  IRQ count ticks with the scheduler clock: no average per event.');
  return out;
}

function ioLines(io: NonNullable<CommandReport['io']>): string[] {
  return [
    'IO accounting (summed over threads; the kernel rounds down to 1 KiB):',
    `  read_bytes ${io.read_bytes}  write_bytes ${io.write_bytes}  cancelled_write_bytes ${io.cancelled_write_bytes}`,
    `  read_char ${io.read_char}  write_char ${io.write_char}  read_syscalls ${io.read_syscalls}  write_syscalls ${io.write_syscalls}`,
  ];
}

function threadLines(r: CommandReport, opts: CommandShow): string[] {
  const out: string[] = [];
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
  return out;
}

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

function categoriesJson(cats: readonly CommandCategory[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of cats) {
    out[c.key] = c.na
      ? { na: c.na }
      : { count: c.count, total_ns: c.totalNs, avg_ns: c.avgNs, max_ns: c.maxNs, min_ns: c.minNs };
  }
  return out;
}

function threadsJson(r: CommandReport, opts: CommandShow): Record<string, unknown>[] {
  return r.threads.map((t) => ({
    pid: t.pid,
    comm: t.comm,
    delays: categoriesJson(t.categories),
    ...(t.suspect ? { suspect: t.suspect } : {}),
    ...(opts.io ? { io: Object.fromEntries(IO_FIELDS.map((f) => [f, num(t.stats, f) ?? 0])) } : {}),
    ...(opts.ctxsw ? { context_switches: Object.fromEntries(CTXSW_FIELDS.map((f) => [f, num(t.stats, f) ?? 0])) } : {}),
  }));
}
