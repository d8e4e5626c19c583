// Dev launcher: the dashboard on the real sources, built as src/cli.ts builds it for
// `delaytop` with no flags, plus what a test or benchmark needs: a fixed duration that
// also works without a terminal, and a deliberate crash.
//   node --import tsx test/e2e/launch-dashboard.ts [-d SEC] [-p PID] [-t TGID] [--seconds N]
//   --seconds N: quit by itself after N seconds (runs without a terminal too, e.g. < /dev/null)
//   --crash-after-ms N: throw an uncaught error after N ms (tests the crash path)
import { parseArgs } from 'node:util';
import { expandCpulist } from '../../src/args.js';
import { interrupted, onCleanup, runCleanups } from '../../src/lifecycle.js';
import { NetlinkExitSource } from '../../src/sources/exit-listener.js';
import { openStatsSource } from '../../src/sources/proc.js';
import { delayacctTracker, kernelRelease, readCpulist, writeDelayacct } from '../../src/sources/system.js';
import type { ExitSource, Target } from '../../src/sources/types.js';
import { runDashboard } from '../../src/ui/run.js';

const { values } = parseArgs({
  options: {
    delay: { type: 'string', short: 'd', default: '1' },
    pid: { type: 'string', short: 'p', multiple: true, default: [] },
    tgid: { type: 'string', short: 't', multiple: true, default: [] },
    seconds: { type: 'string' },
    'crash-after-ms': { type: 'string' },
  },
});

const opened = openStatsSource();
onCleanup(() => opened.source.close());
let exits: ExitSource | null = null;
let exitsOffReason: string | null = opened.privileged ? null : opened.exitsOffReason;
if (opened.privileged) {
  try {
    const possible = readCpulist('possible');
    const cpus = expandCpulist(readCpulist('online'));
    if (typeof cpus === 'string') throw new Error(`online CPUs: ${cpus}`);
    exits = new NetlinkExitSource({ cpus, possible });
    const ex = exits;
    onCleanup(() => ex.close());
  } catch (e) {
    exitsOffReason = `Exit feed off: ${(e as Error).message}`;
  }
}
const pinned: Target[] = [
  ...values.pid.map((id) => ({ kind: 'pid' as const, id: Number(id) })),
  ...values.tgid.map((id) => ({ kind: 'tgid' as const, id: Number(id) })),
];
if (values['crash-after-ms']) {
  setTimeout(() => {
    throw new Error('deliberate crash (--crash-after-ms)');
  }, Number(values['crash-after-ms']));
}
let changed: boolean | undefined;
const code = await runDashboard(
  {
    stats: opened.source,
    exits,
    exitsOffReason,
    pinned,
    intervalSec: Number(values.delay),
    delayacct: delayacctTracker(),
    setDelayacct: (on) => {
      const e = writeDelayacct(on);
      if (!e) changed = on;
      return e;
    },
    privileged: opened.privileged,
    banners: opened.privileged ? [] : opened.banner,
    kernelRelease: kernelRelease(),
  },
  values.seconds ? { durationMs: Number(values.seconds) * 1000 } : {},
);
void interrupted;
if (changed !== undefined)
  process.stderr.write(
    `delaytop: note: kernel.task_delayacct set to ${changed ? 1 : 0} during this session, and left so\n`,
  );
runCleanups();
process.exit(code);
