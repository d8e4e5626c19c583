#!/usr/bin/env node
// delaytop's entry: yargs, then batch output, the exit feed, or the dashboard.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseCount, parseIds, parseSeconds, UsageError } from './args.js';
import { DELAYACCT_OFF_ADVICE, TaskstatsError } from './kernel/errors.js';
import { interrupted, onCleanup } from './lifecycle.js';
import type { DelayacctState } from './model/recording.js';
import { runBatch } from './output/batch.js';
import { NetlinkSource } from './sources/netlink.js';
import { delayacctAtBoot, readDelayacct, readPidMax } from './sources/system.js';

function delayacctTracker(): () => DelayacctState {
  let onSinceSec: number | null = delayacctAtBoot() ? 0 : null;
  let last = readDelayacct();
  return () => {
    const on = readDelayacct();
    if (on && last === false) onSinceSec = Math.floor(Date.now() / 1000);
    if (on === false) onSinceSec = delayacctAtBoot() ? 0 : null;
    last = on;
    return { on, onSinceSec };
  };
}

async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('delaytop')
    .usage('$0 [options]\n\nWhich tasks are waiting, and on what: per-task delay accounting from the kernel\'s taskstats.')
    .option('batch', { alias: 'b', type: 'boolean', describe: 'Print plain-text tables instead of the dashboard (as top -b)' })
    .option('pid', { alias: 'p', type: 'string', array: true, describe: 'Thread id(s) to watch (per-thread query)' })
    .option('tgid', { alias: 't', type: 'string', array: true, describe: 'Process id(s) to watch, all threads summed' })
    .option('delay', { alias: 'd', type: 'string', default: '1', describe: 'Refresh interval in seconds' })
    .option('iterations', { alias: 'n', type: 'string', describe: 'Number of refreshes, then exit' })
    .option('json', { type: 'boolean', describe: 'JSON Lines output (one object per task per refresh)' })
    .example('$0 -b -p 1234 -n 3', 'three refreshes of thread 1234 as text')
    .example('$0 -b --json -t 1234 -d 0.5', 'process 1234 every half second as JSON Lines')
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

  const pidMax = readPidMax();
  const targets = [...parseIds('-p', 'pid', args.pid, pidMax), ...parseIds('-t', 'tgid', args.tgid, pidMax)];
  const intervalSec = parseSeconds('-d', args.delay);
  const iterations = args.iterations === undefined ? Infinity : parseCount('-n', args.iterations);
  if (targets.length === 0) throw new UsageError('no tasks given: name them with -p PID or -t TGID (e.g. delaytop -b -t 1)');

  const sysState = delayacctTracker();
  const source = new NetlinkSource();
  onCleanup(() => source.close());
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
