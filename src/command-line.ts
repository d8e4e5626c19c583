// delaytop's command line: the flags (one table, from which yargs makes --help), and the
// step that turns argv into what to run, every flag value it needs checked first, or into
// a usage error (exit code 2) naming the flag and the value. It never exits the process.
import yargs, { type Options } from 'yargs';
import {
  parseBytes,
  parseCount,
  parseCpumask,
  parseGroupBy,
  parseIds,
  parseListenAddress,
  parseSeconds,
  parseTopCount,
  UsageError,
} from './args.js';
import type { GroupBy } from './sources/groups.js';
import { readCpulist, readPidMax } from './sources/system.js';
import type { Target } from './sources/types.js';

/** -d when neither the flag nor (in the dashboard) the settings file says */
export const DEFAULT_INTERVAL_SEC = 1;

/** The flags, in the order --help lists them. */
const OPTIONS = {
  batch: {
    alias: 'b',
    type: 'boolean',
    describe: 'Plain-text tables instead of the dashboard, as top -b. Example: -b -t 1234 -n 3',
  },
  pid: {
    alias: 'p',
    type: 'string',
    array: true,
    describe: 'Thread id(s) to watch (one thread each). Example: -p 1234 -p 1240',
  },
  tgid: {
    alias: 't',
    type: 'string',
    array: true,
    describe: 'Process id(s) to watch, all threads summed. Example: -t 1234',
  },
  delay: {
    alias: 'd',
    type: 'string',
    describe: `Seconds between refreshes (default ${DEFAULT_INTERVAL_SEC}; the dashboard: the saved interval). Example: -d 0.5`,
  },
  iterations: {
    alias: 'n',
    type: 'string',
    describe: 'Refreshes to print, then exit (batch). Example: -n 10',
  },
  json: {
    type: 'boolean',
    describe:
      'JSON Lines: one object per task per refresh, per exit with -l, one report with -c. Example: -b --json -t 1',
  },
  listen: {
    alias: 'l',
    type: 'boolean',
    describe: 'Print the exit feed (one line per exiting task, loss lines, a summary). Example: -l --json',
  },
  cpumask: {
    alias: 'm',
    type: 'string',
    describe:
      'CPUs whose exits to listen to (-l, dashboard), as a cpulist; default: every online CPU. Example: -m 0-3,8',
  },
  rcvbuf: {
    alias: 'r',
    type: 'string',
    describe:
      'Receive buffer per listener socket (one per CPU) in bytes, K/M/G allowed; default: an equal share of 1/64 of RAM (at least 32M, at most 1G in all), 1M to 16M per socket (-v says). Example: -r 64M',
  },
  duration: {
    type: 'string',
    describe: 'With -l: stop after this many seconds (default: until Ctrl-C). Example: --duration 10',
  },
  pin: {
    type: 'boolean',
    describe: 'Pin each exit listener thread to the CPUs it listens to. Example: -l --pin',
  },
  command: {
    alias: 'c',
    type: 'string',
    describe:
      'Run a command (the rest of the line, no shell) and report its delays when it exits; exit with its status. Example: -c dd if=/dev/zero of=/tmp/x count=100',
  },
  io: {
    alias: 'i',
    type: 'boolean',
    describe: 'With -c: IO accounting (bytes, chars, syscalls). Example: -i -c make',
  },
  ctxsw: { alias: 'q', type: 'boolean', describe: 'With -c: context switches. Example: -q -c make' },
  'per-thread': {
    type: 'boolean',
    describe: 'With -c: a table per thread as well as the process total. Example: --per-thread -c ./server',
  },
  write: {
    alias: 'w',
    type: 'string',
    describe:
      'Record what the session sees (samples, exits, loss) to FILE, JSON Lines, mode 0600. Example: -w /tmp/rec.jsonl',
  },
  replay: {
    type: 'string',
    describe: 'Play a recording into the dashboard, batch, JSON or -l output. Example: --replay /tmp/rec.jsonl -b',
  },
  speed: {
    type: 'string',
    describe: 'With --replay: N times the recorded pace, or "max". Example: --replay rec.jsonl --speed 4',
  },
  cgroup: {
    alias: 'C',
    type: 'string',
    describe: 'Show a cgroup: cgroupstats on cgroup v1, pressure files on v2. Example: -C /sys/fs/cgroup/system.slice',
  },
  metrics: {
    type: 'string',
    describe:
      'Serve Prometheus metrics (per-group delay counters that include exited tasks) at http://[ADDR:]PORT/metrics until SIGINT/SIGTERM; ADDR defaults to 127.0.0.1. Example: --metrics 9400',
  },
  'group-by': {
    type: 'string',
    describe: 'With --metrics: group by cgroup (default), comm or user. Example: --metrics 9400 --group-by user',
  },
  'metrics-top': {
    type: 'string',
    describe:
      'With --metrics: also publish the N processes per category that waited most in the last interval (default 0). Example: --metrics-top 5',
  },
  config: {
    type: 'boolean',
    default: true,
    describe:
      "The dashboard's settings file ($XDG_CONFIG_HOME/delaytop/config.json): read at start, written on quit; flags win over it. --no-config: neither read nor written. Example: --no-config",
  },
  verbose: {
    alias: 'v',
    type: 'boolean',
    describe:
      'Debug details on stderr (netlink family, port ids, buffer sizes; how the dashboard draws its frames). Example: -v -l',
  },
} as const satisfies Record<string, Options>;

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
    .options(OPTIONS)
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

export type Args = Awaited<ReturnType<ReturnType<typeof parser>['parseAsync']>>;

/** -m and -r: the exit listeners' CPUs and receive buffer. */
export interface ListenerFlags {
  cpus: number[];
  /** /sys/devices/system/cpu/possible, as the kernel spells it */
  possible: string;
  /** -r; undefined: the listener shares its budget (sources/listener-layout.ts) */
  rcvbufBytes: number | undefined;
}

/** What the command line asks to run, with the values of its flags checked. */
export type Run =
  /** --help or --version: yargs has printed it */
  | { mode: 'done' }
  | { mode: 'cgroup'; path: string }
  | { mode: 'command'; command: string[] }
  /** --metrics: the exporter */
  | {
      mode: 'metrics';
      listen: { host: string; port: number };
      groupBy: GroupBy;
      topN: number;
      intervalSec: number;
      listener: ListenerFlags;
    }
  /** -l; `listener` is null with --replay (the exits come from the recording) */
  | { mode: 'listen'; durationSec: number; listener: ListenerFlags | null }
  /** the dashboard or batch output; `intervalFlag` is -d, undefined when not given */
  | { mode: 'stats'; targets: Target[]; intervalFlag: number | undefined; iterations: number };

export type CommandLine = { ok: true; args: Args; run: Run } | { ok: false; exitCode: 2; message: string };

/** What checking the flags reads of this machine (tests give their own). */
export interface MachineFacts {
  pidMax: () => number;
  cpulist: (which: 'possible' | 'online') => string;
}

const THIS_MACHINE: MachineFacts = { pidMax: readPidMax, cpulist: readCpulist };

/**
 * argv (without node and the script) as what to run, or the usage error it makes. Checks
 * run in the order the modes read the flags; two are left to where they are read: --speed
 * when the replay opens (after the TERM=dumb note), and the dashboard's -m and -r when its
 * exit feed opens (a dashboard without one does not read them).
 */
export async function parseCommandLine(argv: string[], machine: MachineFacts = THIS_MACHINE): Promise<CommandLine> {
  try {
    const { own, command } = splitCommand(argv);
    const args = await parser(own).parseAsync();
    return { ok: true, args, run: runOf(args, command, machine) };
  } catch (e) {
    if (e instanceof UsageError) return { ok: false, exitCode: e.exitCode, message: e.message };
    throw e;
  }
}

/** A usage error as delaytop prints it. */
export function usageText(message: string): string {
  return `delaytop: ${message}\nTry 'delaytop --help' for more information.`;
}

function runOf(args: Args, command: string[] | null, machine: MachineFacts): Run {
  if (args.help || args.version) return { mode: 'done' };
  if (args.replay !== undefined && args.write !== undefined)
    throw new UsageError('--replay and -w together: record a live session, or replay one, not both');
  if (args.speed !== undefined && args.replay === undefined)
    throw new UsageError(`--speed ${args.speed}: only with --replay FILE`);
  if (args.cgroup !== undefined) return { mode: 'cgroup', path: args.cgroup };
  if (args.metrics !== undefined) return metricsRun(args, command !== null, machine);
  for (const f of ['group-by', 'metrics-top'] as const)
    if (args[f] !== undefined) throw new UsageError(`--${f} ${args[f]}: only with --metrics [ADDR:]PORT`);
  if (command) {
    if (args.replay !== undefined)
      throw new UsageError('-c with --replay: a command runs live; replay its recording with --replay alone');
    return { mode: 'command', command };
  }
  if (args.listen) {
    const durationSec = args.duration === undefined ? Infinity : parseSeconds('--duration', args.duration, 0.1, 1e7);
    return { mode: 'listen', durationSec, listener: args.replay === undefined ? listenerFlags(args, machine) : null };
  }
  const pidMax = machine.pidMax();
  return {
    mode: 'stats',
    targets: [...parseIds('-p', 'pid', args.pid, pidMax), ...parseIds('-t', 'tgid', args.tgid, pidMax)],
    intervalFlag: args.delay === undefined ? undefined : parseSeconds('-d', args.delay),
    iterations: args.iterations === undefined ? Infinity : parseCount('-n', args.iterations),
  };
}

/** --metrics and its flags; it runs alone (every process, live). */
function metricsRun(args: Args, withCommand: boolean, machine: MachineFacts): Run {
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
  return {
    mode: 'metrics',
    listen: parseListenAddress('--metrics', args.metrics),
    groupBy: parseGroupBy('--group-by', args['group-by'] ?? 'cgroup'),
    topN: args['metrics-top'] === undefined ? 0 : parseTopCount('--metrics-top', args['metrics-top']),
    intervalSec: parseSeconds('-d', args.delay ?? String(DEFAULT_INTERVAL_SEC)),
    listener: listenerFlags(args, machine),
  };
}

/** -m (default: every online CPU) and -r, checked. */
export function listenerFlags(args: Args, machine: MachineFacts = THIS_MACHINE): ListenerFlags {
  const possible = machine.cpulist('possible');
  return {
    cpus: parseCpumask('-m', args.cpumask ?? machine.cpulist('online'), possible),
    possible,
    rcvbufBytes: args.rcvbuf === undefined ? undefined : parseBytes('-r', args.rcvbuf),
  };
}

/** --speed: N times the recorded pace, or "max" (as fast as the consumer asks). */
export function replaySpeed(args: Args): number {
  return args.speed === undefined
    ? 1
    : args.speed === 'max'
      ? Infinity
      : parseSeconds('--speed', args.speed, 0.01, 1e6);
}
