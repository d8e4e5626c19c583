// One place that owns "leave nothing half-done": cleanups run once, in reverse order,
// on normal end, SIGINT, SIGTERM, SIGHUP and uncaught errors.
type Cleanup = () => void;

const cleanups: Cleanup[] = [];
let installed = false;
let ran = false;
let interruptResolve: (() => void) | undefined;
/** resolves on the first SIGINT/SIGTERM/SIGHUP; the program then ends its work cleanly */
export const interrupted: Promise<void> = new Promise((r) => { interruptResolve = r; });
let signalCount = 0;
let held = 0;

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
      process.stderr.write(`delaytop: cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      signalCount++;
      interruptResolve?.();
      // The first signal asks the program to finish its work; a second one stops it now,
      // cleanly (unless a -c command holds them).
      if (signalCount > 1 && held === 0) {
        runCleanups();
        process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig]);
      }
    });
  }
  // A closed pipe (delaytop -l | head) ends the run quietly, as it does for other tools.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    runCleanups();
    process.exit(0);
  });
  process.on('uncaughtException', (e) => {
    runCleanups();
    process.stderr.write(`delaytop: internal error: ${e.stack ?? e}\n`);
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    runCleanups();
    process.stderr.write(`delaytop: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exit(70);
  });
}
