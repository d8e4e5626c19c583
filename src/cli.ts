#!/usr/bin/env -S node --v8-pool-size=1 --no-memory-reducer --heap-growing-percent=50
// (The one place delaytop's node flags live; the benchmarks read them here. They keep the
// dashboard's steady once-a-second allocation from inflating memory and GC work: why and
// the figures in docs/performance.md.)
// delaytop's entry: yargs, then one of: the dashboard, batch output, the exit feed (-l),
// a command's delays (-c), a cgroup's (-C). Every mode reads the same sources.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseBytes, parseCount, parseCpumask, parseIds, parseSeconds, UsageError } from './args.js';
import { parseGroupBy, parseListenAddress, parseTopCount } from './args.js'; // --metrics
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
import { runCommand } from './output/command.js';
import { runListen } from './output/listen.js';
import { formatCgroup, formatPressureLine } from './output/pressure.js';
import { Recorder, systemFacts } from './output/recorder.js';
import { DEFAULT_RCVBUF_BYTES, NetlinkExitSource } from './sources/exit-listener.js';
import { readCgroup, readSystemPressure } from './sources/pressure.js';
import { openStatsSource } from './sources/proc.js';
import { ReplayEnded, ReplaySource } from './sources/replay.js';
import {
  delayacctTracker,
  kernelRelease,
  readCpulist,
  readDelayacct,
  readPidMax,
  watchDelayacct,
  writeDelayacct,
} from './sources/system.js';
import type { ExitSource, StatsSource } from './sources/types.js';
import type { DashboardOptions } from './engine/options.js';
import { DashboardController } from './engine/refresh.js';
import { printable } from './output/text.js';
import { markStartup } from './startup.js';

// A file as stdout (-b > out.txt) fails inside write(); a pipe or terminal emits 'error'.
const out = (s: string) => {
  try {
    process.stdout.write(s + '\n');
  } catch (e) {
    outputFailed('stdout', e);
  }
};
// Messages can quote a recording's or a process's text: each line goes out escaped.
const err = (s: string) => writeStderr(s.split('\n').map(printable).join('\n') + '\n');

/** -c takes the rest of the command line as the command's argv (getdelays' -c). */
export function splitCommand(argv: string[]): { own: string[]; command: string[] | null } {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '-c' || argv[i] === '--command') {
      const command = argv.slice(i + 1);
      if (command.length === 0)
        throw new UsageError(`${argv[i]}: no command given (e.g. delaytop -c dd if=/dev/zero of=/dev/null count=1000)`);
      return { own: argv.slice(0, i), command };
    }
  }
  return { own: argv, command: null };
}

function parser(argv: string[]) {
  return yargs(argv)
    .scriptName('delaytop')
    .usage(
      '$0 [options]\n\nWhich tasks are waiting, and on what: per-task delay accounting (CPU, IO, SWAP, RECLAIM, THRASHING,\n' +
        "COMPACT, WPCOPY, IRQ) from the kernel's taskstats, and a feed of exiting tasks with an exact loss count.\n" +
        'In a terminal it opens the dashboard; otherwise (or with -b) it prints batch output.',
    )
    .option('batch', {
      alias: 'b',
      type: 'boolean',
      describe: 'Plain-text tables instead of the dashboard, as top -b. Example: -b -t 1234 -n 3',
    })
    .option('pid', {
      alias: 'p',
      type: 'string',
      array: true,
      describe: 'Thread id(s) to watch (one thread each). Example: -p 1234 -p 1240',
    })
    .option('tgid', {
      alias: 't',
      type: 'string',
      array: true,
      describe: 'Process id(s) to watch, all threads summed. Example: -t 1234',
    })
    .option('delay', {
      alias: 'd',
      type: 'string',
      default: '1',
      describe: 'Seconds between refreshes. Example: -d 0.5',
    })
    .option('iterations', {
      alias: 'n',
      type: 'string',
      describe: 'Refreshes to print, then exit (batch). Example: -n 10',
    })
    .option('json', {
      type: 'boolean',
      describe:
        'JSON Lines: one object per task per refresh, per exit with -l, one report with -c. Example: -b --json -t 1',
    })
    .option('listen', {
      alias: 'l',
      type: 'boolean',
      describe: 'Print the exit feed (one line per exiting task, loss lines, a summary). Example: -l --json',
    })
    .option('cpumask', {
      alias: 'm',
      type: 'string',
      describe:
        'CPUs whose exits to listen to (-l, dashboard), as a cpulist; default: every online CPU. Example: -m 0-3,8',
    })
    .option('rcvbuf', {
      alias: 'r',
      type: 'string',
      describe: `Receive buffer per listener socket in bytes, K/M/G allowed; default ${DEFAULT_RCVBUF_BYTES >> 20}M. Example: -r 64M`,
    })
    .option('duration', {
      type: 'string',
      describe: 'With -l: stop after this many seconds (default: until Ctrl-C). Example: --duration 10',
    })
    .option('pin', {
      type: 'boolean',
      describe: 'Pin each exit listener thread to the CPU it listens to. Example: -l --pin',
    })
    .option('command', {
      alias: 'c',
      type: 'string',
      describe:
        'Run a command (the rest of the line, no shell) and report its delays when it exits; exit with its status. Example: -c dd if=/dev/zero of=/tmp/x count=100',
    })
    .option('io', {
      alias: 'i',
      type: 'boolean',
      describe: 'With -c: IO accounting (bytes, chars, syscalls). Example: -i -c make',
    })
    .option('ctxsw', { alias: 'q', type: 'boolean', describe: 'With -c: context switches. Example: -q -c make' })
    .option('per-thread', {
      type: 'boolean',
      describe: 'With -c: a table per thread as well as the process total. Example: --per-thread -c ./server',
    })
    .option('write', {
      alias: 'w',
      type: 'string',
      describe:
        'Record what the session sees (samples, exits, loss) to FILE, JSON Lines, mode 0600. Example: -w /tmp/rec.jsonl',
    })
    .option('replay', {
      type: 'string',
      describe: 'Play a recording into the dashboard, batch, JSON or -l output. Example: --replay /tmp/rec.jsonl -b',
    })
    .option('speed', {
      type: 'string',
      describe: 'With --replay: N times the recorded pace, or "max". Example: --replay rec.jsonl --speed 4',
    })
    .option('cgroup', {
      alias: 'C',
      type: 'string',
      describe:
        'Show a cgroup: cgroupstats on cgroup v1, pressure files on v2. Example: -C /sys/fs/cgroup/system.slice',
    })
    .option('metrics', {
      type: 'string',
      describe:
        'Serve Prometheus metrics (per-group delay counters that include exited tasks) at http://[ADDR:]PORT/metrics until SIGINT/SIGTERM; ADDR defaults to 127.0.0.1. Example: --metrics 9400',
    })
    .option('group-by', {
      type: 'string',
      describe: 'With --metrics: group by cgroup (default), comm or user. Example: --metrics 9400 --group-by user',
    })
    .option('metrics-top', {
      type: 'string',
      describe:
        'With --metrics: also publish the N processes per category that waited most in the last interval (default 0). Example: --metrics-top 5',
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      describe:
        'Debug details on stderr (netlink family, port ids, buffer sizes; how the dashboard draws its frames). Example: -v -l',
    })
    .example('$0', 'the dashboard: pick processes with arrow keys and Enter, watch exits per CPU, ? for help')
    .example('$0 -b -p 1234 -n 3', 'three refreshes of thread 1234 as text')
    .example('$0 -b --json -t 1234 -d 0.5', 'process 1234 every half second as JSON Lines')
    .example('$0 -l -m 0-3 --json --duration 10', 'exits on CPUs 0-3 for ten seconds, as JSON Lines')
    .example('$0 -i -q -c tar xf big.tar', 'run tar, then print its delays, IO and context switches')
    .example('$0 --metrics 9400 --group-by cgroup', 'a Prometheus exporter on 127.0.0.1:9400/metrics')
    .example('$0 -w rec.jsonl -b -t 1 -n 60', 'record a minute of process 1; replay with: $0 --replay rec.jsonl')
    .strict()
    .help('help')
    .alias('help', 'h')
    .version()
    .alias('version', 'V')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, e) => {
      throw e ?? new UsageError(msg);
    });
}

type Args = Awaited<ReturnType<ReturnType<typeof parser>['parseAsync']>>;

async function main(argv: string[]): Promise<number> {
  markStartup('modules');
  watchOutput();
  const { own, command } = splitCommand(argv);
  const args = await parser(own).parseAsync();
  if (args.help || args.version) return 0;
  if (args.replay !== undefined && args.write !== undefined)
    throw new UsageError('--replay and -w together: record a live session, or replay one, not both');
  if (args.speed !== undefined && args.replay === undefined)
    throw new UsageError(`--speed ${args.speed}: only with --replay FILE`);
  if (args.cgroup !== undefined) return cgroup(args.cgroup);
  if (args.metrics !== undefined) return metricsMode(args, command !== null);
  for (const f of ['group-by', 'metrics-top'] as const)
    if (args[f] !== undefined) throw new UsageError(`--${f} ${args[f]}: only with --metrics [ADDR:]PORT`);
  if (command) return commandMode(command, args);
  if (args.listen) return listen(args);
  return statsMode(args);
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
  const s =
    args.speed === undefined ? 1 : args.speed === 'max' ? Infinity : parseSeconds('--speed', args.speed, 0.01, 1e6);
  const replay = new ReplaySource(args.replay!, { speed: s, exitsOnly });
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

function listenerCpus(args: Args): { cpus: number[]; possible: string; rcvbufBytes: number } {
  const possible = readCpulist('possible');
  return {
    cpus: parseCpumask('-m', args.cpumask ?? readCpulist('online'), possible),
    possible,
    rcvbufBytes: args.rcvbuf === undefined ? DEFAULT_RCVBUF_BYTES : parseBytes('-r', args.rcvbuf),
  };
}

function openListener(args: Args): NetlinkExitSource {
  const { cpus, possible, rcvbufBytes } = listenerCpus(args);
  const source = new NetlinkExitSource({ cpus, possible, rcvbufBytes, pin: !!args.pin });
  onCleanup(() => source.close());
  for (const w of source.warnings) err(`delaytop: warning: ${w.message}`);
  if (args.verbose) {
    const i = source.info();
    err(
      `delaytop: TASKSTATS family ${i.familyId}; ` +
        i.readers
          .map((r) => `cpu ${r.cpu}: port ${r.portId}, rcvbuf ${r.rcvbufBytes}${r.realtime ? ', SCHED_FIFO 1' : ''}`)
          .join('; '),
    );
  }
  return source;
}

async function listen(args: Args): Promise<number> {
  const durationSec = args.duration === undefined ? Infinity : parseSeconds('--duration', args.duration, 0.1, 1e7);
  let exits: ExitSource;
  let readers: { cpu: number; portId: number; rcvbufBytes: number }[] | undefined;
  let registrations: (() => { cpu: number; registered: boolean; deregisterError: string }[]) | undefined;
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
    const live = openListener(args);
    readers = live.info().readers;
    registrations = () => live.info().readers;
    delayacct = delayacctTracker();
    onCleanup(watchDelayacct(delayacct));
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
    warn: err,
    interrupted: ended,
    readers,
    registrations,
    delayacct,
  });
  return replay ? replayEnd(replay, code) : code;
}

async function commandMode(command: string[], args: Args): Promise<number> {
  if (args.replay !== undefined)
    throw new UsageError('-c with --replay: a command runs live; replay its recording with --replay alone');
  const delayacct = delayacctTracker();
  onCleanup(watchDelayacct(delayacct));
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

/** --metrics: the exporter, on the live sources (listeners as -m/-r say), until SIGINT/SIGTERM. */
async function metricsMode(args: Args, withCommand: boolean): Promise<number> {
  const other = (
    [
      ['-c', withCommand],
      ['-l', args.listen],
      ['-b', args.batch],
      ['--json', args.json],
      ['-n', args.iterations],
      ['-p', args.pid],
      ['-t', args.tgid],
      ['-w', args.write],
      ['--replay', args.replay],
    ] as const
  ).find(([, v]) => v !== undefined && v !== false);
  if (other) throw new UsageError(`--metrics with ${other[0]}: the exporter runs on its own (every process, live)`);
  const listenAt = parseListenAddress('--metrics', args.metrics);
  const groupBy = parseGroupBy('--group-by', args['group-by'] ?? 'cgroup');
  const topN = args['metrics-top'] === undefined ? 0 : parseTopCount('--metrics-top', args['metrics-top']);
  const intervalSec = parseSeconds('-d', args.delay);
  const delayacct = delayacctTracker();
  onCleanup(watchDelayacct(delayacct));
  const opened = openStatsSource();
  onCleanup(() => opened.source.close());
  let exits: ExitSource | null = null;
  if (opened.privileged) {
    try {
      exits = openListener(args);
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
    listen: listenAt,
    intervalSec,
    groupBy,
    topN,
    delayacct,
    warn: err,
    interrupted,
  });
}

function cgroup(path: string): number {
  for (const line of formatCgroup(readCgroup(path))) out(line);
  return 0;
}

async function statsMode(args: Args): Promise<number> {
  const pidMax = readPidMax();
  const targets = [...parseIds('-p', 'pid', args.pid, pidMax), ...parseIds('-t', 'tgid', args.tgid, pidMax)];
  const intervalSec = parseSeconds('-d', args.delay);
  const iterations = args.iterations === undefined ? Infinity : parseCount('-n', args.iterations);
  // The dashboard needs a terminal on both ends that can move its cursor; anything else gets batch output.
  const wantsDashboard =
    !args.batch && !args.json && args.iterations === undefined && !!process.stdout.isTTY && !!process.stdin.isTTY;
  const interactive = wantsDashboard && process.env.TERM !== 'dumb';
  if (wantsDashboard && !interactive)
    err('delaytop: TERM=dumb: this terminal cannot move the cursor, so batch output instead of the dashboard');

  if (args.replay !== undefined) {
    const replay = openReplay(args);
    if (interactive) {
      // The header describes the recorded machine, not this one.
      const h = replay.header;
      const code = await dashboard(
        args,
        {
          stats: replay,
          exits: h.exitCpus ? replay.exits() : null,
          exitsOffReason: h.exitCpus ? null : 'this recording holds no exit feed (it was recorded without listeners)',
          pinned: targets,
          intervalSec,
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
        targets: targets.length ? targets : withoutLeaders(replay.recordedTargets()),
        intervalSec: 0,
        iterations,
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

  const delayacct = delayacctTracker();
  onCleanup(watchDelayacct(delayacct));
  const opened = openStatsSource();
  onCleanup(() => opened.source.close());
  if (args.verbose && opened.privileged) err(`delaytop: statistics from netlink (CAP_NET_ADMIN present)`);
  let exits: ExitSource | null = null;
  let exitsOffReason: string | null = opened.privileged ? null : opened.exitsOffReason;
  const banners = opened.privileged ? [] : [...opened.banner];
  if (interactive && opened.privileged) {
    try {
      const live = openListener(args);
      banners.push(...live.warnings.map((w) => w.message));
      exits = live;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      exitsOffReason = `exit feed off: ${e instanceof TaskstatsError ? e.explain() : (e as Error).message}`;
    }
  }
  const rec = openRecorder(args, opened.privileged ? 'netlink' : 'proc', exits ? [...exits.cpus] : null, delayacct);
  const stats: StatsSource = rec ? rec.wrapStats(opened.source) : opened.source;
  if (rec && exits) exits = rec.wrapExits(exits);

  if (interactive) {
    const keepIdentities = opened.privileged && exits !== null && !rec;
    return dashboard(args, {
      stats,
      exits,
      exitsOffReason,
      keepIdentities,
      pinned: targets,
      intervalSec,
      delayacct,
      privileged: opened.privileged,
      banners,
    });
  }
  for (const line of banners) err(`delaytop: ${line}`);
  if (delayacct().on === false) err(`delaytop: ${DELAYACCT_OFF_ADVICE}`);
  return runBatch(stats, {
    targets,
    intervalSec,
    iterations,
    json: !!args.json,
    delayacct,
    write: out,
    warn: err,
    interrupted,
  });
}

/** What the modes decide; dashboard() adds what is the same for all of them. */
type DashboardSetup = Omit<DashboardOptions, 'setDelayacct' | 'kernelRelease'>;

/** kernel: the recorded one when replaying; live runs also get this machine's PSI line. */
async function dashboard(args: Args, d: DashboardSetup, recordedKernel?: string): Promise<number> {
  let changed: boolean | undefined;
  const before = readDelayacct();
  const opts: DashboardOptions = {
    ...d,
    ...(recordedKernel === undefined ? { pressure: () => formatPressureLine(readSystemPressure()) } : {}),
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
  return code;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`delaytop: ${e.message}\nTry 'delaytop --help' for more information.`);
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
