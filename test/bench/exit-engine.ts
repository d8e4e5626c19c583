// The delaytop exit engine as a standalone process, for the exit benchmark: NetlinkExitSource
// with delaytop's defaults, every batch decoded and counted, nothing else.
//
//   node --import tsx test/bench/exit-engine.ts [--rcvbuf BYTES] [--threads N] [--batch-ms MS] [--pin]
//   stdout, one JSON line each:
//     {"ready":true,"cpus":[..],"portIds":[..],"rcvbufBytes":n,"threads":n}   once every CPU is registered
//     {"cpuMs":ms,"readerCpuMs":ms,"received":n,"lost":n}     for every line read on stdin (a mark)
//     {"received":..,"lost":..,"cpuMs":..,"perCpu":[counters..],"procNetlinkDrops":{portId:drops}}
//       at the end (stdin EOF, SIGTERM or SIGINT); procNetlinkDrops is /proc/net/netlink's Drops
//       column for our sockets, read just before close().
//   cpuMs is process.cpuUsage(): every thread of the process, user + system; readerCpuMs the
//   native reader threads' share (threads named exit-reader<N>, their schedstat run time).
import { readdirSync, readFileSync } from 'node:fs';
import { NetlinkExitSource } from '../../src/sources/exit-listener.js';
import type { ExitBatch } from '../../src/sources/types.js';
import { readCpulist } from '../../src/sources/system.js';
import type { CpuCounters } from '../../src/kernel/exitrecord.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Expand a cpulist such as "0-3,8" */
export function parseCpulist(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** /proc/net/netlink's Drops column by port id (the Pid column). */
export function procNetlinkDrops(portIds: number[]): Record<number, number> {
  const want = new Set(portIds);
  const out: Record<number, number> = {};
  const lines = readFileSync('/proc/net/netlink', 'utf8').trim().split('\n');
  const head = lines[0]!.trim().split(/\s+/);
  const pidCol = head.indexOf('Pid');
  const dropsCol = head.indexOf('Drops');
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const port = Number(f[pidCol]);
    if (want.has(port)) out[port] = Number(f[dropsCol]);
  }
  return out;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const readerCpuMs = () => {
  let ns = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (!readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('exit-reader')) continue;
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
};
const sumLost = (cs: CpuCounters[]) => cs.reduce((s, c) => s + c.lost, 0);

// Handlers first, so a SIGTERM during registration is not fatal: it is handled once this
// module has run, by close() (deregistration).
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
process.stdin.on('end', () => stop());
process.stdout.on('error', () => stop()); // EPIPE: whoever read us is gone; still deregister

const source = new NetlinkExitSource({
  cpus: parseCpulist(readCpulist('online')),
  possible: readCpulist('possible'),
  ...(arg('--rcvbuf') ? { rcvbufBytes: Number(arg('--rcvbuf')) } : {}),
  ...(arg('--threads') ? { readerThreads: Number(arg('--threads')) } : {}),
  pin: process.argv.includes('--pin'),
  batchMs: Number(arg('--batch-ms') ?? 50),
  maxQueueBytes: 64 << 20,
});
for (const w of source.warnings) process.stderr.write(`exit-engine: ${w.message}\n`);

let received = 0;
let counters: CpuCounters[] = [];
const consume = (b: ExitBatch) => {
  received += b.records.length;
  counters = b.counters;
};
source.start(consume);

const readers = source.info().readers;
const portIds = readers.map((r) => r.portId);
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
say({ ready: true, cpus: source.cpus, portIds, rcvbufBytes: readers[0]?.rcvbufBytes, threads: source.info().threads });

let stopped = false;
function stop(): void {
  if (stopped) return;
  stopped = true;
  const procDrops = procNetlinkDrops(portIds);
  consume(source.close());
  const info = source.info().readers;
  say({
    received,
    lost: sumLost(counters),
    cpuMs: cpuMs(),
    perCpu: counters.map((c, i) => ({
      ...c,
      portId: info[i]?.portId,
      registered: info[i]?.registered,
      deregisterError: info[i]?.deregisterError,
    })),
    procNetlinkDrops: procDrops,
  });
  process.exit(info.some((r) => r.registered || r.deregisterError) ? 1 : 0);
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    pending = pending.slice(nl + 1);
    say({ cpuMs: cpuMs(), readerCpuMs: readerCpuMs(), received, lost: sumLost(counters) });
  }
});
