#!/usr/bin/env node
// delaytop's entry: yargs, then batch output, the exit feed, or the dashboard.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseBytes, parseCount, parseCpumask, parseIds, parseSeconds, UsageError } from './args.js';
import { DELAYACCT_OFF_ADVICE, TaskstatsError } from './kernel/errors.js';
import { interrupted, onCleanup } from './lifecycle.js';
import { runBatch } from './output/batch.js';
import { runListen } from './output/listen.js';
import { DEFAULT_RCVBUF_BYTES, NetlinkExitSource } from './sources/exits.js';
import { delayacctTracker, kernelRelease, readCpulist, readPidMax, writeDelayacct } from './sources/system.js';
import { openStatsSource } from './sources/proc.js';
import type { StatsSource, Target } from './sources/types.js';
import type { DelayacctState } from './model/recording.js';

async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('delaytop')
    .usage('$0 [options]\n\nWhich tasks are waiting, and on what: per-task delay accounting from the kernel\'s taskstats.')
    .option('batch', { alias: 'b', type: 'boolean', describe: 'Print plain-text tables instead of the dashboard (as top -b)' })
    .option('pid', { alias: 'p', type: 'string', array: true, describe: 'Thread id(s) to watch (per-thread query)' })
    .option('tgid', { alias: 't', type: 'string', array: true, describe: 'Process id(s) to watch, all threads summed' })
    .option('delay', { alias: 'd', type: 'string', default: '1', describe: 'Refresh interval in seconds' })
    .option('iterations', { alias: 'n', type: 'string', describe: 'Number of refreshes, then exit' })
    .option('json', { type: 'boolean', describe: 'JSON Lines output (one object per task per refresh, or per exit with -l)' })
    .option('listen', { alias: 'l', type: 'boolean', describe: 'Print the exit feed: one line per exiting task, a loss line whenever records are lost, a summary at the end' })
    .option('rcvbuf', { alias: 'r', type: 'string', describe: `Receive buffer per listener socket in bytes, K/M/G allowed (default ${DEFAULT_RCVBUF_BYTES >> 20}M)` })
    .option('duration', { type: 'string', describe: 'With -l: stop after this many seconds (default: until Ctrl-C)' })
    .option('cpumask', { alias: 'm', type: 'string', describe: 'CPUs whose exits to listen to (-l and the dashboard), as a cpulist such as 0-3,8 (default: every online CPU)' })
    .option('pin', { type: 'boolean', describe: 'Pin each listener thread to the CPU it listens to' })
    .example('$0 -b -p 1234 -n 3', 'three refreshes of thread 1234 as text')
    .example('$0 -b --json -t 1234 -d 0.5', 'process 1234 every half second as JSON Lines')
    .example('$0 -l -m 0-3 --json --duration 10', 'exits on CPUs 0-3 for ten seconds, as JSON Lines')
    .strict()
    .help('help')
    .alias('help', 'h')
    .version()
    .alias('version', 'V')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  const args = await parser.parseAsync();
  if (args.help || args.version) return 0;

  if (args.listen) return listen(args);

  const pidMax = readPidMax();
  const targets = [...parseIds('-p', 'pid', args.pid, pidMax), ...parseIds('-t', 'tgid', args.tgid, pidMax)];
  const intervalSec = parseSeconds('-d', args.delay);
  const iterations = args.iterations === undefined ? Infinity : parseCount('-n', args.iterations);
  const possible = readCpulist('possible');
  const cpus = parseCpumask('-m', args.cpumask ?? readCpulist('online'), possible);
  const rcvbufBytes = args.rcvbuf === undefined ? DEFAULT_RCVBUF_BYTES : parseBytes('-r', args.rcvbuf);
  // The dashboard needs a terminal on both ends; anything else gets batch output.
  const interactive = !args.batch && !args.json && args.iterations === undefined && !!process.stdout.isTTY && !!process.stdin.isTTY;

  const sysState = delayacctTracker();
  const opened = openStatsSource();
  const source = opened.source;
  onCleanup(() => source.close());
  if (interactive) {
    return dashboard({ source, privileged: opened.privileged, banners: opened.privileged ? [] : opened.banner,
      exitsOffReason: opened.privileged ? null : opened.exitsOffReason, targets, intervalSec, cpus, possible, rcvbufBytes, pin: !!args.pin, sysState });
  }
  if (!opened.privileged) for (const line of opened.banner) process.stderr.write(`delaytop: ${line}\n`);
  if (sysState().on === false) process.stderr.write(`delaytop: ${DELAYACCT_OFF_ADVICE}\n`);
  return runBatch(source, {
    targets,
    intervalSec,
    iterations,
    json: !!args.json,
    delayacct: sysState,
    write: (s) => process.stdout.write(s + '\n'),
    warn: (s) => process.stderr.write(s + '\n'),
    interrupted,
  });
}

interface DashboardSetup {
  source: StatsSource;
  privileged: boolean;
  banners: string[];
  exitsOffReason: string | null;
  targets: Target[];
  intervalSec: number;
  cpus: number[];
  possible: string;
  rcvbufBytes: number;
  pin: boolean;
  sysState: () => DelayacctState;
}

async function dashboard(d: DashboardSetup): Promise<number> {
  let exits: NetlinkExitSource | null = null;
  let exitsOffReason = d.exitsOffReason;
  const banners = [...d.banners];
  if (d.privileged) {
    try {
      exits = new NetlinkExitSource({ cpus: d.cpus, possible: d.possible, rcvbufBytes: d.rcvbufBytes, pin: d.pin, batchMs: 50, maxQueueBytes: 64 << 20 });
      const ex = exits;
      onCleanup(() => ex.close());
      banners.push(...exits.warnings.map((w) => w.message));
    } catch (e) {
      exitsOffReason = `exit feed off: ${e instanceof TaskstatsError ? e.explain() : (e as Error).message}`;
    }
  }
  const changedDelayacct: boolean[] = [];
  const { runDashboard } = await import('./ui/run.js');
  const code = await runDashboard({
    stats: d.source,
    exits,
    exitsOffReason,
    pinned: d.targets,
    intervalSec: d.intervalSec,
    delayacct: d.sysState,
    setDelayacct: (on) => {
      const err = writeDelayacct(on);
      if (!err) changedDelayacct.push(on);
      return err;
    },
    privileged: d.privileged,
    banners,
    kernelRelease: kernelRelease(),
  });
  if (changedDelayacct.length) {
    process.stderr.write(`delaytop: note: delaytop set kernel.task_delayacct=${changedDelayacct.at(-1) ? 1 : 0} during this session; it stays so (sysctl -w kernel.task_delayacct=${changedDelayacct.at(-1) ? 0 : 1} to undo).\n`);
  }
  return code;
}

interface ListenArgs {
  json?: boolean;
  cpumask?: string;
  rcvbuf?: string;
  duration?: string;
  pin?: boolean;
}

async function listen(args: ListenArgs): Promise<number> {
  const possible = readCpulist('possible');
  const cpus = parseCpumask('-m', args.cpumask ?? readCpulist('online'), possible);
  const rcvbufBytes = args.rcvbuf === undefined ? DEFAULT_RCVBUF_BYTES : parseBytes('-r', args.rcvbuf);
  const durationSec = args.duration === undefined ? Infinity : parseSeconds('--duration', args.duration, 0.1, 1e7);
  const source = new NetlinkExitSource({ cpus, possible, rcvbufBytes, pin: !!args.pin, batchMs: 50, maxQueueBytes: 64 << 20 });
  onCleanup(() => source.close());
  for (const w of source.warnings) process.stderr.write(`delaytop: warning: ${w.message}\n`);
  return runListen(source, {
    json: !!args.json,
    durationSec,
    write: (s) => process.stdout.write(s + '\n'),
    warn: (s) => process.stderr.write(s + '\n'),
    interrupted,
    readers: source.info().readers,
    registrations: () => source.info().readers,
  });
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`delaytop: ${e.message}\nTry 'delaytop --help' for more information.\n`);
      process.exitCode = 2;
    } else if (e instanceof TaskstatsError) {
      process.stderr.write(`delaytop: ${e.explain()}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`delaytop: internal error: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = 70;
    }
  },
);
