// delaytop -c CMD [ARGS...] (getdelays -c): run a command directly (no shell), catch its
// exit records, print its delays in every category, optionally its IO accounting (-i) and
// context switches (-q), for the whole process and per thread; end with its own status.
import { spawn, type ChildProcess } from 'node:child_process';
import { expandCpulist } from '../../args.js';
import type { ExitRecord } from '../../kernel/exitrecord.js';
import { jsonLine } from '../../kernel/json.js';
import { holdSignals, onCleanup } from '../../lifecycle.js';
import type { DelayacctState } from '../../model/delayacct.js';
import { NetlinkExitSource } from '../../sources/exit-listener.js';
import { readCpulist, readDelayacct } from '../../sources/system.js';
import type { ExitBatch, ExitSource } from '../../sources/types.js';
import { commandJson, formatCommandReport, type CommandShow } from './format.js';
import { summarizeCommand } from './summary.js';

export interface CommandOptions extends CommandShow {
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
  const exits = new CommandExits();
  listener.start((b) => exits.take(b));
  onCleanup(() => listener.close()); // an error on the way must not leave it registered

  const signals = passSignals();
  const t0 = performance.now();
  let exit: { exitCode: number | null; signal: string | null };
  try {
    exit = await runChild(argv, opts.stdio ?? 'inherit', signals, exits);
  } catch (e) {
    signals.restore();
    exits.take(listener.close());
    const err = spawnError(argv[0]!, e as NodeJS.ErrnoException);
    if (opts.json) opts.write(jsonLine({ type: 'command', argv, status: err.status, error: err.message }));
    opts.warn(`delaytop: ${err.message}`);
    return err.status;
  }
  const wallMs = performance.now() - t0;
  signals.restore();
  await exits.ended(opts.recordTimeoutMs ?? 2000);
  exits.take(listener.close());

  // switch-ons seen while it ran (the tracker's later readings), judged with the setting it started under
  const seen = opts.delayacct?.().seen;
  const report = summarizeCommand(exits.pid, exits.records, seen ? { ...sys, seen } : sys, {
    argv: [...argv],
    ...exit,
    wallMs,
    lost: exits.lost,
  });
  if (opts.json) opts.write(commandJson(report, opts));
  else opts.write(formatCommandReport(report, opts).join('\n'));
  return report.status;
}

/** The exit records of the command's process as the listener hands them over, and its loss count. */
class CommandExits {
  records: ExitRecord[] = [];
  lost = 0;
  /** the command's pid, once spawned */
  pid = -1;
  private seenEnd: () => void = () => {};
  private endSeen = new Promise<void>((r) => {
    this.seenEnd = r;
  });

  take(b: ExitBatch): void {
    this.lost = b.counters.reduce((s, c) => s + c.lost, 0);
    for (const r of b.records) {
      if (r.tgid !== this.pid) continue;
      this.records.push(r);
      if (r.processEnded) this.seenEnd();
    }
  }

  /**
   * The kernel sends the exit event before the parent learns of the exit; give the
   * listener thread a moment to hand it over.
   */
  async ended(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.endSeen,
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** Where SIGTERM and SIGHUP sent to delaytop go while the command runs, and how to stop that. */
interface PassedSignals {
  child: ChildProcess | undefined;
  restore(): void;
}

/**
 * While the command runs, terminal signals are its business (as system(3) does);
 * a SIGTERM or SIGHUP sent to delaytop is passed on to it.
 */
function passSignals(): PassedSignals {
  const ignore = () => {};
  const passed: PassedSignals = { child: undefined, restore: () => {} };
  const forward = (sig: NodeJS.Signals) => () => {
    passed.child?.kill(sig);
  };
  const fwdTerm = forward('SIGTERM');
  const fwdHup = forward('SIGHUP');
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  process.on('SIGTERM', fwdTerm);
  process.on('SIGHUP', fwdHup);
  const release = holdSignals();
  passed.restore = () => {
    release();
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
    process.off('SIGTERM', fwdTerm);
    process.off('SIGHUP', fwdHup);
  };
  return passed;
}

/** Spawn argv and wait for it to exit; rejects when it cannot be started. */
function runChild(
  argv: readonly string[],
  stdio: 'inherit' | 'ignore',
  signals: PassedSignals,
  exits: CommandExits,
): Promise<{ exitCode: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio, shell: false });
    } catch (e) {
      reject(e);
      return;
    }
    signals.child = child;
    exits.pid = child.pid ?? -1;
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
  });
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
