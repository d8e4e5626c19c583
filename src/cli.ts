#!/usr/bin/env -S node --v8-pool-size=1 --no-memory-reducer --heap-growing-percent=50 --max-semi-space-size=8 --no-allocation-site-pretenuring --interrupt-budget=270336
// (The one place delaytop's node flags live; the benchmarks read them here. They keep the
// dashboard's steady once-a-second allocation from inflating memory and GC work: why and
// the figures in docs/performance.md.)
// delaytop's entry: the command line (command-line.ts), then one of: the dashboard, batch
// output, the exit feed (-l), a command's delays (-c), a cgroup's (-C). Every mode reads the
// same sources.
import { hideBin } from 'yargs/helpers';
import { UsageError } from './args.js';
import {
  DEFAULT_INTERVAL_SEC,
  listenerFlags,
  parseCommandLine,
  replaySpeed,
  usageText,
  type Args,
  type ListenerFlags,
  type Run,
} from './command-line.js';
import { DELAYACCT_OFF_ADVICE, TaskstatsError } from './kernel/errors.js';
import {
  failSession,
  interrupted,
  onCleanup,
  outputFailed,
  signalExitCode,
  watchOutput,
  writeStderr,
} from './lifecycle.js';
import type { DelayacctState } from './model/delayacct.js';
import { runBatch, withoutLeaders } from './output/batch.js';
import { runCommand } from './output/command/spawn.js';
import { runListen, type ListenRunOptions } from './output/listen.js';
import { formatCgroup, formatPressureLine } from './output/pressure.js';
import { Recorder, systemFacts } from './output/recorder.js';
import { NetlinkExitSource, type ListenOptions } from './sources/exit-listener.js';
import { loadAddon } from './kernel/addon.js';
import { describeLayout } from './sources/listener-layout.js';
import { readCgroup, readSystemPressure } from './sources/pressure.js';
import { openStatsSource } from './sources/proc.js';
import { ProcessCensus } from './sources/process-census.js';
import { ReplayEnded } from './sources/replay/errors.js';
import { ReplaySource } from './sources/replay/source.js';
import { kernelRelease, readDelayacct, watchedDelayacct, writeDelayacct } from './sources/system.js';
import type { ExitSource, StatsSource } from './sources/types.js';
import type { DashboardOptions } from './engine/options.js';
import { TaskActions } from './actions/task-actions.js';
import { DashboardController } from './engine/refresh.js';
import { printable } from './output/text.js';
import { taskInfoSource } from './sources/taskinfo.js';
import { userNames } from './sources/users.js';
import { markStartup } from './startup.js';
import { loadSettings, saveSettings, settingsPath } from './settings/file.js';
import type { Settings } from './settings/schema.js';

// A file as stdout (-b > out.txt) fails inside write(); a pipe or terminal emits 'error'.
// True when stdout is done with b: a pipe that is full keeps it queued until it drains.
const outBytes = (b: string | Uint8Array): boolean => {
  try {
    process.stdout.write(b);
  } catch (e) {
    outputFailed('stdout', e);
  }
  return process.stdout.writableLength === 0;
};
const out = (s: string) => outBytes(s + '\n');
// Messages can quote a recording's or a process's text: each line goes out escaped.
const err = (s: string) => writeStderr(s.split('\n').map(printable).join('\n') + '\n');

async function main(argv: string[]): Promise<number> {
  markStartup('modules');
  watchOutput();
  const line = await parseCommandLine(argv);
  if (!line.ok) {
    err(usageText(line.message));
    return line.exitCode;
  }
  const { args, run } = line;
  switch (run.mode) {
    case 'done':
      return 0;
    case 'cgroup':
      return cgroup(run.path);
    case 'command':
      return commandMode(run.command, args);
    case 'metrics':
      return metricsMode(args, run);
    case 'listen':
      return listen(args, run);
    case 'stats':
      return statsMode(args, run);
  }
}

/** kernel.task_delayacct, tracked and watched until cleanup (sources/system.ts). */
function trackDelayacct(): () => DelayacctState {
  const watched = watchedDelayacct();
  onCleanup(watched.stop);
  return watched.read;
}

/** --metrics: the exporter, on the live sources (listeners as -m/-r say), until SIGINT/SIGTERM. */
async function metricsMode(args: Args, run: Extract<Run, { mode: 'metrics' }>): Promise<number> {
  const delayacct = trackDelayacct();
  const opened = openStatsSource();
  onCleanup(() => opened.source.close());
  let exits: ExitSource | null = null;
  if (opened.privileged) {
    try {
      exits = openListener(args, run.listener);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      err(`delaytop: exit feed off: ${e instanceof TaskstatsError ? e.explain() : (e as Error).message}`);
    }
  } else {
    for (const line of opened.banner) err(`delaytop: ${line}`);
  }
  if (delayacct().on === false) err(`delaytop: ${DELAYACCT_OFF_ADVICE}`);
  const { runMetrics } = await import('./output/metrics.js');
  return runMetrics(opened.source, exits, {
    listen: run.listen,
    intervalSec: run.intervalSec,
    groupBy: run.groupBy,
    topN: run.topN,
    delayacct,
    warn: err,
    interrupted,
  });
}

/** -w: a recorder, closed (flushed, with an end line) on every way out; a write that fails ends the session. */
function openRecorder(
  args: Args,
  statsSource: 'netlink' | 'proc' | null,
  exitCpus: number[] | null,
  delayacct: () => DelayacctState,
): Recorder | null {
  if (args.write === undefined) return null;
  const rec = new Recorder(args.write, systemFacts({ statsSource, exitCpus, delayacct: delayacct() }), {
    delayacct,
    onError: (e) => failSession(e.message),
  });
  onCleanup(() => rec.close());
  return rec;
}

function openReplay(args: Args, exitsOnly = false): ReplaySource {
  const replay = new ReplaySource(args.replay!, { speed: replaySpeed(args), exitsOnly });
  onCleanup(() => replay.close());
  // A wait for the next record (the gap can be days) must not outlive the first signal.
  void interrupted.then(() => replay.close());
  return replay;
}

/** The exit code of a replay: its bad line (said here) if it had one, or the signal that stopped it. */
function replayEnd(replay: ReplaySource, code: number): number {
  if (replay.error) {
    err(`delaytop: ${replay.error.explain()}`);
    return 1;
  }
  if (replay.endsEarly) {
    err(
      `delaytop: note: the recording ${replay.file} ends early (no end line): the session that wrote it was cut off (killed, crashed, or out of disk space)`,
    );
  }
  return signalExitCode() ?? code;
}

function openListener(
  args: Args,
  flags: ListenerFlags = listenerFlags(args),
  feed: Pick<ListenOptions, 'keepNewest' | 'quietBatchMs' | 'pollWhenQuiet'> = {},
): NetlinkExitSource {
  const { cpus, possible, rcvbufBytes } = flags;
  const source = new NetlinkExitSource({ cpus, possible, rcvbufBytes, pin: !!args.pin, ...feed });
  onCleanup(() => source.close());
  for (const w of source.warnings) err(`delaytop: warning: ${w.message}`);
  if (args.verbose) {
    const i = source.info();
    err(`delaytop: ${describeLayout(source.layout)}`);
    err(
      `delaytop: TASKSTATS family ${i.familyId}; ` +
        i.readers
          .map(
            (r) =>
              `cpu ${r.cpu}: port ${r.portId}, rcvbuf ${r.rcvbufBytes}, thread ${r.thread}${r.realtime ? ' (SCHED_FIFO 2)' : ''}`,
          )
          .join('; '),
    );
  }
  return source;
}

/**
 * -l writes every exit: its thread runs at real-time priority (just below the readers'), or an exit storm
 * in another session can leave it unscheduled for seconds while the queue behind it fills; and so do
 * V8's helper threads, which it waits for in a GC (docs/performance.md, "Every exit written").
 */
function writeAtReaderPriority(): void {
  const e = loadAddon().realtimeWriter();
  if (e)
    err(
      `delaytop: warning: the writing threads could not get real-time priority (${e}; needs CAP_SYS_NICE): exits may be counted lost (queue_dropped) while other sessions run exit storms`,
    );
}

async function listen(args: Args, run: Extract<Run, { mode: 'listen' }>): Promise<number> {
  const { durationSec } = run;
  let exits: ExitSource;
  let readers: { cpu: number; portId: number; rcvbufBytes: number }[] | undefined;
  let registrations: ListenRunOptions['registrations'];
  let ended: Promise<void> = interrupted;
  let replay: ReplaySource | undefined;
  let delayacct: (() => DelayacctState) | undefined;
  if (args.replay !== undefined) {
    replay = openReplay(args, true);
    const r = replay;
    delayacct = () => r.delayacct();
    exits = replay.exits();
    ended = Promise.race([interrupted, replay.finished.then(() => new Promise<void>((r) => setTimeout(r, 100)))]);
  } else {
    const live = openListener(args, run.listener!);
    writeAtReaderPriority();
    readers = live.info().readers;
    registrations = () => live.info().readers;
    delayacct = trackDelayacct();
    const rec = openRecorder(args, null, [...live.cpus], delayacct);
    if (rec) {
      const wrapped = rec.wrapExits(live);
      // registered after the recorder, so it runs before it: the final batch is recorded
      onCleanup(() => wrapped.close());
      exits = wrapped;
    } else {
      exits = live;
    }
  }
  const code = await runListen(exits, {
    json: !!args.json,
    durationSec,
    write: out,
    writeBytes: outBytes,
    warn: err,
    interrupted: ended,
    readers,
    registrations,
    delayacct,
  });
  return replay ? replayEnd(replay, code) : code;
}

async function commandMode(command: string[], args: Args): Promise<number> {
  const delayacct = trackDelayacct();
  const rec = openRecorder(args, null, null, delayacct);
  if (delayacct().on === false) err(`delaytop: ${DELAYACCT_OFF_ADVICE}`);
  return runCommand(command, {
    perThread: !!args['per-thread'],
    io: !!args.io,
    ctxsw: !!args.ctxsw,
    json: !!args.json,
    write: out,
    warn: err,
    delayacct,
    ...(rec ? { wrapExits: (s: ExitSource) => rec.wrapExits(s) } : {}),
  });
}

function cgroup(path: string): number {
  for (const line of formatCgroup(readCgroup(path))) out(line);
  return 0;
}

/** What the dashboard takes from the settings file, and how it keeps what changed. */
interface DashboardSettings {
  intervalSec?: number;
  view: Pick<DashboardOptions, 'mode' | 'settings' | 'keepSettings'>;
}

/**
 * The dashboard's settings file (none with --no-config); a warning about it goes out now,
 * before the dashboard opens. A replay takes and keeps the view's settings, never the
 * interval: there it only says how often the recording is asked for its next batch.
 */
function dashboardSettings(args: Args, replaying: boolean): DashboardSettings {
  const file = args.config === false ? null : settingsPath();
  if (file === null) return { view: {} };
  const loaded = loadSettings(file);
  if (loaded.warning) err(`delaytop: warning: ${loaded.warning}`);
  const only = (s: Settings): Settings => {
    if (!replaying) return s;
    const { intervalSec: _, ...view } = s;
    return view;
  };
  const settings = only(loaded.settings);
  const keepSettings = (changed: Settings) => {
    const kept = only(changed);
    if (Object.keys(kept).length === 0) return;
    const warning = saveSettings(file, kept);
    if (warning) err(`delaytop: warning: ${warning}`);
  };
  return {
    ...(settings.intervalSec !== undefined ? { intervalSec: settings.intervalSec } : {}),
    view: { mode: settings.threads ? 'thread' : 'process', settings, ...(loaded.keepOut ? {} : { keepSettings }) },
  };
}

type StatsRun = Extract<Run, { mode: 'stats' }>;

/** How the stats modes show what they read. */
interface StatsView {
  /** the dashboard (else batch output) */
  interactive: boolean;
  intervalSec: number;
  /** the dashboard's settings (null in batch output) */
  saved: DashboardSettings | null;
}

async function statsMode(args: Args, run: StatsRun): Promise<number> {
  // The dashboard needs a terminal on both ends that can move its cursor; anything else gets batch output.
  const wantsDashboard =
    !args.batch && !args.json && args.iterations === undefined && !!process.stdout.isTTY && !!process.stdin.isTTY;
  const interactive = wantsDashboard && process.env.TERM !== 'dumb';
  if (wantsDashboard && !interactive)
    err('delaytop: TERM=dumb: this terminal cannot move the cursor, so batch output instead of the dashboard');
  // Only the dashboard has settings: batch output stays what its flags say.
  const saved = interactive ? dashboardSettings(args, args.replay !== undefined) : null;
  // a flag wins over the saved interval
  const intervalSec = run.intervalFlag ?? saved?.intervalSec ?? DEFAULT_INTERVAL_SEC;
  const view = { interactive, intervalSec, saved };
  return args.replay !== undefined ? replayStats(args, run, view) : liveStats(args, run, view);
}

/** --replay into the dashboard or batch output. */
async function replayStats(args: Args, run: StatsRun, view: StatsView): Promise<number> {
  const replay = openReplay(args);
  if (view.interactive) {
    // The header describes the recorded machine, not this one.
    const h = replay.header;
    const code = await dashboard(
      args,
      {
        stats: replay,
        exits: h.exitCpus ? replay.exits() : null,
        exitsOffReason: h.exitCpus ? null : 'this recording holds no exit feed (it was recorded without listeners)',
        pinned: run.targets,
        intervalSec: view.intervalSec,
        ...view.saved!.view,
        delayacct: () => replay.delayacct(),
        privileged: h.statsSource !== 'proc',
        banners: [
          `replaying ${args.replay}${h.kernelRelease ? ` (recorded on ${h.hostname || 'a machine'} running ${h.kernelRelease})` : ''}`,
          ...(h.banners ?? []),
        ],
      },
      h.kernelRelease || 'unknown',
    );
    return replayEnd(replay, code);
  }
  let code = 0;
  try {
    code = await runBatch(replay, {
      targets: run.targets.length ? run.targets : withoutLeaders(replay.recordedTargets()),
      intervalSec: 0,
      iterations: run.iterations,
      json: !!args.json,
      delayacct: () => replay.delayacct(),
      write: out,
      warn: err,
      interrupted: Promise.race([interrupted, replay.queriesDone]),
    });
  } catch (e) {
    // closed by a signal while waiting for a batch, or a recording with none
    if (!(e instanceof ReplayEnded)) throw e;
  }
  return replayEnd(replay, code);
}

/** This machine's tasks into the dashboard or batch output. */
async function liveStats(args: Args, run: StatsRun, view: StatsView): Promise<number> {
  const delayacct = trackDelayacct();
  const opened = openStatsSource();
  onCleanup(() => opened.source.close());
  if (args.verbose && opened.privileged) err(`delaytop: statistics from netlink (CAP_NET_ADMIN present)`);
  const feed = view.interactive && opened.privileged ? openDashboardFeed(args) : null;
  let exits = feed?.exits ?? null;
  const exitsOffReason = opened.privileged ? (feed?.offReason ?? null) : opened.exitsOffReason;
  const banners = opened.privileged ? [...(feed?.banners ?? [])] : [...opened.banner];
  const rec = openRecorder(args, opened.privileged ? 'netlink' : 'proc', exits ? [...exits.cpus] : null, delayacct);
  const stats: StatsSource = rec ? rec.wrapStats(opened.source) : opened.source;
  if (rec && exits) exits = rec.wrapExits(exits);

  if (view.interactive) {
    const keepIdentities = opened.privileged && exits !== null && !rec;
    return dashboard(args, {
      stats,
      exits,
      exitsOffReason,
      keepIdentities,
      carryStillThreads: opened.privileged && !rec,
      ...(opened.privileged && !rec ? { census: new ProcessCensus() } : {}),
      pinned: run.targets,
      intervalSec: view.intervalSec,
      ...view.saved!.view,
      delayacct,
      privileged: opened.privileged,
      actions: new TaskActions(),
      banners,
    });
  }
  for (const line of banners) err(`delaytop: ${line}`);
  if (delayacct().on === false) err(`delaytop: ${DELAYACCT_OFF_ADVICE}`);
  return runBatch(stats, {
    targets: run.targets,
    intervalSec: view.intervalSec,
    iterations: run.iterations,
    json: !!args.json,
    delayacct,
    write: out,
    warn: err,
    interrupted,
  });
}

/**
 * Exits now and then wait for the next refresh, which takes what is queued, or 1.2 s at most
 * (pollWhenQuiet): the feed is drawn once a refresh, or about once a second between slower
 * ones (engine/refresh.ts: feedPublishMs), and a notice of their own would wake the JS thread.
 * A storm wakes it at the queue's high-water mark. A little over the default refresh (1 s),
 * so that at -d 1 the refresh always drains first.
 */
const DASHBOARD_QUIET_BATCH_MS = 1200;

/**
 * The dashboard's exit feed: its listeners and their warnings, or why it is off. A bad -m
 * or -r is a usage error here, where they are first read.
 */
function openDashboardFeed(args: Args): { exits: ExitSource | null; offReason: string | null; banners: string[] } {
  try {
    // The feed shows the newest exits and counts them all: a storm past the queue counts the
    // oldest without their records (summarized), unless -w must write every one.
    const live = openListener(args, listenerFlags(args), {
      keepNewest: args.write === undefined,
      quietBatchMs: DASHBOARD_QUIET_BATCH_MS,
      pollWhenQuiet: true,
    });
    return { exits: live, offReason: null, banners: live.warnings.map((w) => w.message) };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return {
      exits: null,
      offReason: `exit feed off: ${e instanceof TaskstatsError ? e.explain() : (e as Error).message}`,
      banners: [],
    };
  }
}

/** What the modes decide; dashboard() adds what is the same for all of them. */
type DashboardSetup = Omit<DashboardOptions, 'setDelayacct' | 'kernelRelease'>;

/** kernel: the recorded one when replaying; live runs also get this machine's PSI line. */
async function dashboard(args: Args, d: DashboardSetup, recordedKernel?: string): Promise<number> {
  let changed: boolean | undefined;
  const before = readDelayacct();
  // the rows on screen keep their /proc files open between refreshes
  const taskInfo = recordedKernel === undefined ? taskInfoSource() : null;
  if (taskInfo) onCleanup(() => taskInfo.close());
  const opts: DashboardOptions = {
    ...d,
    ...(taskInfo
      ? {
          pressure: () => formatPressureLine(readSystemPressure()),
          taskInfo,
          users: () => userNames(),
        }
      : {}),
    setDelayacct: (on) => {
      if (recordedKernel !== undefined) return 'replaying a recording: delay accounting here is not what it shows';
      const e = writeDelayacct(on);
      if (!e) changed = on;
      return e;
    },
    kernelRelease: recordedKernel ?? kernelRelease(),
    ...(args.verbose ? { verbose: (line: string) => err(`delaytop: ${line}`) } : {}),
  };
  markStartup('sources');
  // The first refresh runs while the dashboard's modules (Ink, React) load.
  const controller = new DashboardController(opts);
  controller.start();
  let runDashboard: typeof import('./ui/run.js').runDashboard;
  try {
    ({ runDashboard } = await import('./ui/run.js'));
  } catch (e) {
    controller.stop();
    throw e;
  }
  markStartup('dashboard modules');
  const code = await runDashboard(opts, { controller });
  if (changed !== undefined && readDelayacct() !== before) {
    err(
      `delaytop: note: delaytop set kernel.task_delayacct=${changed ? 1 : 0} during this session, and left it so ` +
        `(sysctl -w kernel.task_delayacct=${changed ? 0 : 1} to undo).`,
    );
  }
  // a signal ended it: the usual 128 + its number (SIGHUP itself ends the process: lifecycle.ts)
  return signalExitCode() ?? code;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(usageText(e.message));
      process.exitCode = 2;
    } else if (e instanceof TaskstatsError) {
      err(`delaytop: ${e.explain()}`);
      process.exitCode = 1;
    } else {
      err(`delaytop: internal error: ${(e as Error)?.stack ?? e}`);
      process.exitCode = 70;
    }
  },
);
