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
      // A second signal, or one the program is not waiting on: stop now, cleanly.
      if (signalCount > 1) {
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
