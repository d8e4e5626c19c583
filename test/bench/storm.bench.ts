// `delaytop -l --json > file` through a 1,000,000-exit storm: four forkers at once (two of
// them at nice 19) in a session of their own, as from another terminal, the listener in
// another. Every exit must be written: lost is the kernel's drops (its sockets' Drops, seq
// gaps, ENOBUFS) plus what delaytop could not keep (queue_dropped, decode_failed), each
// reported apart; the target is none of delaytop's own. Also reported: peak RSS, and CPU per
// 100,000 exits. Rounds: STORM_BENCH_ROUNDS (3); exits a round: STORM_BENCH_EXITS (1000000).
// The output file (~1.5 GB a round) is deleted after each round.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileC, procCpuMs, procPeakRssBytes, repoRoot, report, sleep } from './common.js';

const EXITS = Number(process.env.STORM_BENCH_EXITS ?? 1_000_000);
const ROUNDS = Number(process.env.STORM_BENCH_ROUNDS ?? 3);
const FORKERS = 4;
const log = (s: string) => console.error(`storm.bench: ${s}`);

const dir = mkdtempSync(path.join(process.env.STORM_BENCH_DIR ?? tmpdir(), 'delaytop-storm-'));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

const ended = (p: ChildProcess) =>
  new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.on('exit', () => r())));

interface PerCpu {
  kernel_drops: number;
  seq_gap_lost: number;
  enobufs: number;
  queue_dropped: number;
  decode_failed: number;
}
interface Round {
  received: number;
  lost: number;
  kernelLost: number;
  delaytopLost: number;
  peakRssMb: number;
  cpuMsPer100k: number;
  exitsPerSec: number;
}

/** The last line of a file (its summary), read from its end. */
function lastLine(file: string): string {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(Math.min(size, 64 << 10));
  readSync(fd, buf, 0, buf.length, size - buf.length);
  closeSync(fd);
  return buf.toString('utf8').trimEnd().split('\n').pop() ?? '';
}

async function round(n: number, cli: string, forker: string): Promise<Round> {
  const file = path.join(dir, 'exits.jsonl');
  const out = openSync(file, 'w');
  const err = openSync(`${file}.err`, 'w');
  // detached: a session of its own, as a listener started from its own terminal; run as the
  // installed `delaytop` is, with its shebang's node flags
  const l = spawn(cli, ['-l', '--json'], { stdio: ['ignore', out, err], detached: true });
  live.add(l);
  closeSync(out);
  closeSync(err);
  for (let t = 0; statSync(file).size === 0; t++) {
    if (t > 300) throw new Error('delaytop -l --json wrote nothing in 15 s');
    await sleep(50);
  }
  const cpu0 = procCpuMs(l.pid!);
  // the storm: its own session, two forkers niced
  const per = Math.round(EXITS / FORKERS);
  const script = Array.from({ length: FORKERS }, (_, i) => `${i % 2 ? 'nice -n 19 ' : ''}${forker} -n ${per} &`).join(
    ' ',
  );
  const storm = spawn('sh', ['-c', `${script} wait`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  live.add(storm);
  let stormOut = '';
  storm.stdout!.on('data', (d: Buffer) => (stormOut += d.toString()));
  const t0 = Date.now();
  await ended(storm);
  live.delete(storm);
  const stormMs = Date.now() - t0;
  const taskExits = stormOut
    .trim()
    .split('\n')
    .reduce((a, line) => a + (JSON.parse(line) as { taskExits: number }).taskExits, 0);
  // written out: the file stops growing for 2 s
  let size = -1;
  for (;;) {
    await sleep(2000);
    const now = statSync(file).size;
    if (now === size) break;
    size = now;
  }
  const cpuMs = procCpuMs(l.pid!) - cpu0;
  const peakRssMb = procPeakRssBytes(l.pid!) / 1e6;
  l.kill('SIGINT');
  await ended(l);
  live.delete(l);
  const summary = JSON.parse(lastLine(file)) as { type: string; received: number; lost: number; per_cpu: PerCpu[] };
  if (summary.type !== 'summary')
    throw new Error(`no summary at the end of the output: ${readFileSync(`${file}.err`, 'utf8')}`);
  rmSync(file);
  const sum = (k: keyof PerCpu) => summary.per_cpu.reduce((a, c) => a + c[k], 0);
  // the kernel's drops show as seq gaps (or its Drops counter): lost counts the larger
  const kernelLost = summary.lost - sum('queue_dropped') - sum('decode_failed');
  const r: Round = {
    received: summary.received,
    lost: summary.lost,
    kernelLost,
    delaytopLost: sum('queue_dropped') + sum('decode_failed'),
    peakRssMb,
    cpuMsPer100k: (cpuMs / Math.max(1, summary.received)) * 100_000,
    exitsPerSec: (taskExits / stormMs) * 1000,
  };
  log(
    `round ${n}: ${taskExits} storm exits in ${stormMs} ms (${r.exitsPerSec.toFixed(0)}/s); received ${r.received}, lost ${r.lost} ` +
      `(kernel ${r.kernelLost}: drops ${sum('kernel_drops')}, seq gaps ${sum('seq_gap_lost')}, ENOBUFS ${sum('enobufs')}; ` +
      `delaytop ${r.delaytopLost}: queue_dropped ${sum('queue_dropped')}, decode_failed ${sum('decode_failed')}); ` +
      `peak RSS ${peakRssMb.toFixed(0)} MB; ${r.cpuMsPer100k.toFixed(0)} ms of CPU per 100,000 exits`,
  );
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;

async function main(): Promise<void> {
  if (!process.env.STORM_BENCH_NO_BUILD) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  }
  const cli = path.join(repoRoot, 'dist/cli.js');
  const forker = compileC('forker');
  const rounds: Round[] = [];
  for (let i = 1; i <= ROUNDS; i++) rounds.push(await round(i, cli, forker));
  const ours = rounds.map((r) => r.delaytopLost);
  const rss = rounds.map((r) => r.peakRssMb);
  report({
    bench: 'storm_json_delaytop_lost',
    value: Math.max(...ours),
    unit: `exits delaytop received from the kernel but did not write, -l --json > file, worst of ${ROUNDS} storms of ${EXITS} (4 forkers, 2 niced, another session); per round ${ours.join(', ')}; the kernel's own drops per round ${rounds.map((r) => r.kernelLost).join(', ')}`,
    target: '<= 0',
  });
  const all = rounds.map((r) => r.lost);
  report({
    bench: 'storm_json_lost',
    value: Math.max(...all),
    unit: `exits lost in all (the kernel's drops too: a reader kept waiting drops them there), worst of ${ROUNDS}; per round ${all.join(', ')}`,
    target: '<= 0',
  });
  report({
    bench: 'storm_json_peak_rss',
    value: median(rss),
    unit: `MB peak RSS of -l --json through the storm (median of ${ROUNDS}, range ${range(rss)})`,
    target: '<= 400',
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
