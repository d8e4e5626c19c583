// runDashboard: the full-screen dashboard from start to a restored terminal. Every way
// out (q, Ctrl-C, SIGTERM/SIGHUP/SIGINT via lifecycle, a crash) ends in stop().
// Plain .ts, not .tsx: the compiler puts a JSX file's react/jsx-runtime import above
// everything, which would load React before production.js has chosen its build.
import './production.js';
import { render, type Instance } from 'ink';
import { createElement } from 'react';
import { interrupted, onCleanup } from '../lifecycle.js';
import { DashboardController } from '../engine/refresh.js';
import { Dashboard } from './dashboard.js';
import { initialUiState, type UiState } from './dashboard-reducer.js';
import { changedSettings } from '../settings/schema.js';
import { seedView, viewSettings } from './settings-state.js';
import type { DashboardOptions } from '../engine/options.js';
import { carryFramesOver } from './ink-output-cache.js';
import { markStartup, startupLine } from '../startup.js';
import { colourWanted, enterAltScreen, FullScreenStdout } from './terminal.js';

/** How long the first frame waits for the first refresh's rows before it shows "reading tasks…". */
const FIRST_REFRESH_WAIT_MS = 1000;

export interface RunOverrides {
  /** the engine, started by the caller so its first refresh runs while these modules load */
  controller?: DashboardController;
  /** end after this many ms (benchmarks, demos); default: until q or a signal */
  durationMs?: number;
  /** for tests: the module whose Output the frame cache patches (default: Ink's own) */
  inkOutputModule?: string;
}

/** Returns the process exit code. */
export async function runDashboard(opts: DashboardOptions, overrides: RunOverrides = {}): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  // Without a terminal on stdin (a benchmark) there are no keys: raw mode would throw.
  const interactive = !!stdin.isTTY;
  const frames = await carryFramesOver(overrides.inkOutputModule);
  // before the alternate screen: the line stays on the terminal after the dashboard
  opts.verbose?.(
    frames.carried
      ? 'dashboard frames: Ink 6.8 Output patched to reuse the previous frame'
      : `dashboard frames: drawn by Ink itself (its Output is not what the frame cache expects: ${frames.reason})`,
  );
  const controller = overrides.controller ?? new DashboardController(opts);
  const screen = enterAltScreen(stdout, stdin);
  const inkStdout = new FullScreenStdout(stdout, colourWanted());
  let app: Instance | undefined;
  let stopped = false;
  // Every way out: the engine stops, Ink unmounts (its last writes still land on the
  // alternate screen), then the terminal is restored and Ink can write nothing more.
  const stop = () => {
    if (stopped) return;
    stopped = true;
    controller.stop();
    opts.exits?.close();
    try {
      app?.unmount();
    } catch {
      // already unmounted, or unmounting after a render error
    }
    inkStdout.detach();
    screen.restore();
  };
  onCleanup(stop);

  let quit!: () => void;
  const quitting = new Promise<void>((r) => {
    quit = r;
  });
  // The view starts from the saved settings; the list mode and interval are the engine's.
  const engineView = () => {
    const snap = controller.getSnapshot();
    return { mode: snap.mode, intervalSec: snap.intervalSec };
  };
  const initialState = seedView(opts.settings ?? {}, { ui: initialUiState, ...engineView() }).ui;
  const atStart = viewSettings({ ui: initialState, ...engineView() });
  let quitState: UiState | null = null;
  const onQuit = (ui: UiState) => {
    quitState ??= ui;
    quit();
  };
  let timer: NodeJS.Timeout | undefined;
  if (overrides.durationMs !== undefined) timer = setTimeout(quit, overrides.durationMs);

  // -v: start-up ends with the first frame that has process rows
  const firstFrame = () => {
    if (controller.getSnapshot().rows.length === 0) return;
    markStartup('first frame');
    inkStdout.off('frame', firstFrame);
  };
  inkStdout.on('frame', firstFrame);
  controller.start(); // (a second start is a no-op: the caller may have started it)
  try {
    // Ink draws its first frame at once: with the first refresh's rows, if they come soon.
    const ended = await Promise.race([
      firstRefresh(controller, FIRST_REFRESH_WAIT_MS).then(() => false),
      quitting.then(() => true),
      interrupted.then(() => true),
    ]);
    if (ended) return 0;
    app = render(createElement(Dashboard, { controller, interactive, onQuit, initialState, sizeSource: stdout }), {
      stdout: inkStdout as unknown as NodeJS.WriteStream,
      stdin,
      exitOnCtrlC: false, // Ctrl-C is a key in the keymap (raw mode delivers it as input)
      patchConsole: false,
      incrementalRendering: true,
      maxFps: 10,
    });
    // Ink's own exit (it unmounts on signals too) or a render error ends it as well.
    await Promise.race([quitting, interrupted, app.waitUntilExit()]);
  } finally {
    clearTimeout(timer);
    stop();
  }
  // Kept only when the user quit: not after a signal, a crash or a timed run.
  if (quitState && opts.keepSettings) {
    const changed = changedSettings(atStart, viewSettings({ ui: quitState, ...engineView() }));
    if (Object.keys(changed).length) opts.keepSettings(changed);
  }
  opts.verbose?.(startupLine());
  return 0;
}

/** Resolves once the controller has published its first refresh, or after `ms`. */
function firstRefresh(controller: DashboardController, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const refreshed = () => controller.getSnapshot().atMs !== 0;
    const timer = setTimeout(done, ms);
    const off = controller.subscribe(() => {
      if (refreshed()) done();
    });
    if (refreshed()) done();
  });
}
