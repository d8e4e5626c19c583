// One place that owns "leave nothing half-done": cleanups run once, in reverse order,
// on normal end, SIGINT, SIGTERM, SIGHUP, uncaught errors and failures that end the
// session (a recording or stdout that cannot be written); what failed is said last, once
// the terminal is back.
import { describeErrno } from './kernel/errors.js';

type Cleanup = () => void;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type EndSignal = keyof typeof SIGNALS;

const cleanups: Cleanup[] = [];
let installed = false;
let ran = false;
let interruptResolve: (() => void) | undefined;
/** resolves on the first SIGINT/SIGTERM/SIGHUP or failSession(); the program then ends its work cleanly */
export const interrupted: Promise<void> = new Promise((r) => {
  interruptResolve = r;
});
let signalCount = 0;
let firstSignal: EndSignal | null = null;
let held = 0;
/** what ended the session early, printed after the cleanups */
let failure: string | null = null;
let stderrFailed = false;

/** 128 + the number of the first SIGINT/SIGTERM/SIGHUP received, or null if none came. */
export function signalExitCode(): number | null {
  return firstSignal ? 128 + SIGNALS[firstSignal] : null;
}

/**
 * While held, SIGINT/SIGTERM/SIGHUP only resolve `interrupted`: a command run with -c owns
 * the terminal's signals, and delaytop must outlive it to report. Returns the release.
 */
export function holdSignals(): () => void {
  held++;
  let released = false;
  return () => {
    if (!released) held--;
    released = true;
  };
}

export function onCleanup(fn: Cleanup): void {
  install();
  cleanups.push(fn);
}

export function runCleanups(): void {
  if (ran) return;
  ran = true;
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      fn();
    } catch (e) {
      writeStderr(`delaytop: cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

/**
 * A failure that ends the session (e.g. the recording cannot be written): every mode
 * finishes as on a signal; at exit, after the cleanups (the dashboard has given the
 * terminal back), `delaytop: MESSAGE` is printed and the exit code is 1. The first one wins.
 */
export function failSession(message: string): void {
  install();
  failure ??= message;
  interruptResolve?.();
}

/** stderr, where a failure to write cannot itself be reported (see outputFailed). */
export function writeStderr(s: string): void {
  try {
    process.stderr.write(s);
  } catch (e) {
    outputFailed('stderr', e);
  }
}

/**
 * A write to stdout or stderr failed. stdout: EPIPE (the reader left, as in `delaytop -l |
 * head`) ends the run quietly, as it does for other tools; EIO on a terminal is its hangup
 * (ends as SIGHUP does); any other error (a full disk, EIO on a file) ends it with one line
 * naming the error and exit 1. stderr: nothing is left to say it
 * on, so the run goes on and exits 1 (EPIPE: the reader left, nothing is lost that matters).
 */
export function outputFailed(stream: 'stdout' | 'stderr', e: unknown): void {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (stream === 'stderr') {
    if (code !== 'EPIPE') stderrFailed = true;
    return;
  }
  if (code === 'EPIPE') {
    runCleanups();
    process.exit(0);
  }
  // EIO on a terminal: it hung up. Its SIGHUP may come after this (or never, in another
  // session): end as on that hangup, quietly, for a write to a gone terminal is no news.
  if (code === 'EIO' && (firstSignal === 'SIGHUP' || process.stdout.isTTY)) {
    terminalGone();
    return;
  }
  failure ??= `cannot write to standard output: ${describeErrno(e)}`;
  process.exit(1);
}

let watching = false;

/** Route stdout/stderr errors to outputFailed rather than a crash; safe to call more than once. */
export function watchOutput(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (e) => outputFailed('stdout', e));
  process.stderr.on('error', (e) => outputFailed('stderr', e));
}

/** The terminal hung up (SIGHUP, or EIO writing to it): the session ends as on SIGHUP. */
function terminalGone(): void {
  firstSignal ??= 'SIGHUP';
  interruptResolve?.();
}

function atExit(): void {
  runCleanups();
  if (failure !== null) {
    writeStderr(`delaytop: ${failure}\n`);
    if (!process.exitCode) process.exitCode = 1;
  }
  if (stderrFailed && !process.exitCode) process.exitCode = 1;
  if (firstSignal === 'SIGHUP' && (process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY)) {
    // The terminal hung up: end by the signal itself, as a shell reports it (129), not
    // through node's exit, whose restoring of the terminal's modes aborts the process with
    // a core dump when the terminal is gone (node 20: ResetStdio's tcsetattr gets EIO).
    // Without a terminal there is nothing to restore: the mode's own exit code stands.
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  watchOutput();
  process.on('exit', atExit);
  for (const sig of Object.keys(SIGNALS) as EndSignal[]) {
    process.on(sig, () => {
      signalCount++;
      firstSignal ??= sig;
      interruptResolve?.();
      // The first signal asks the program to finish its work; a second one stops it now,
      // cleanly (unless a -c command holds them).
      if (signalCount > 1 && held === 0) {
        runCleanups();
        process.exit(128 + SIGNALS[sig]);
      }
    });
  }
  process.on('uncaughtException', (e) => {
    runCleanups();
    writeStderr(`delaytop: internal error: ${e.stack ?? e}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    runCleanups();
    writeStderr(`delaytop: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exit(70);
  });
}
