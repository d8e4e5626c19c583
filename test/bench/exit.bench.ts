// Exit-storm benchmark: 100,000 exits at the machine's top rate (forker.c), heard at once by
// the delaytop engine (exit-engine.ts: NetlinkExitSource with its defaults) and by a minimal C
// per-CPU listener (exit_listener.c) on the same kind of sockets, with the receive buffer the
// engine's layout gives each socket on this machine. Targets: delaytop loses none,
// hears every one, and spends at most 2x the C listener's CPU time per 100,000 exits.
// Then a tiny-buffer run checks that losses are counted: lost > 0, kernelDrops equal to the
// Drops column of /proc/net/netlink, and received + lost covering every exit of the storm.
// To compare listener designs: EXIT_BENCH_THREADS=N (the engine's reader threads) and
// EXIT_BENCH_RCVBUF=BYTES (both listeners' buffer per socket) override the layout.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { totalmem } from 'node:os';
import { expandCpulist } from '../../src/args.js';
import { listenerLayout } from '../../src/sources/listener-layout.js';
import { readCpulist } from '../../src/sources/system.js';
import { benchDir, compileC, repoRoot, report, sleep } from './common.js';

const EXITS = Number(process.env.EXIT_BENCH_EXITS ?? 100_000);
const ROUNDS = Number(process.env.EXIT_BENCH_ROUNDS ?? 3);
const TINY_RCVBUF_BYTES = 4096;
const THREADS = process.env.EXIT_BENCH_THREADS;
const online = expandCpulist(readCpulist('online'));
const RCVBUF_BYTES = Number(
  process.env.EXIT_BENCH_RCVBUF ?? listenerLayout(Array.isArray(online) ? online.length : 1, totalmem()).rcvbufBytes,
);

// Everything we start is stopped on every way out: children stop on stdin EOF or SIGTERM and
// deregister first (the C listener and the forker also have PR_SET_PDEATHSIG).
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGTERM');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`exit.bench: ${sig}, stopping`);
    process.exit(130);
  });
}

interface Mark {
  cpuMs: number;
  readerCpuMs?: number;
  received: number;
  lost: number;
}

/** A child that speaks JSON lines: a ready line, a reply per stdin line, a summary at EOF. */
class LineChild {
  private lines: string[] = [];
  private waiters: ((l: string | undefined) => void)[] = [];
  private closed = false;
  readonly proc: ChildProcess;
  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
  ) {
    // detached: each listener in a session of its own, as when delaytop runs in another
    // terminal than the storm (the scheduler's autogroups then compete for the CPU).
    this.proc = spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    live.add(this.proc);
    this.proc.on('exit', () => live.delete(this.proc));
    this.proc.stdin!.on('error', () => {}); // EPIPE if it died: reported through next()
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  async next<T>(timeoutMs = 20_000): Promise<T> {
    const l =
      this.lines.shift() ??
      (this.closed
        ? undefined
        : await new Promise<string | undefined>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`${this.name}: no answer in ${timeoutMs} ms`)), timeoutMs);
            this.waiters.push((x) => {
              clearTimeout(t);
              resolve(x);
            });
          }));
    if (l === undefined)
      throw new Error(`${this.name} ended early (exit ${this.proc.exitCode ?? this.proc.signalCode})`);
    return JSON.parse(l) as T;
  }

  mark(): Promise<Mark> {
    this.proc.stdin!.write('\n');
    return this.next<Mark>();
  }

  /** stdin EOF: the child deregisters, prints its summary and exits. */
  async end<T>(): Promise<{ summary: T; code: number | null }> {
    this.proc.stdin!.end();
    const summary = await this.next<T>();
    const code = await new Promise<number | null>((r) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) r(this.proc.exitCode);
      else this.proc.on('exit', (c) => r(c));
    });
    return { summary, code };
  }
}

interface Ready {
  ready: true;
  cpus: number[];
  portIds: number[];
  rcvbufBytes: number;
  threads?: number;
}
interface Storm {
  forks: number;
  exited: number;
  failed: number;
  workers: number;
  taskExits: number;
  elapsedMs: number;
  exitsPerSec: number;
}
interface EngineSummary {
  received: number;
  lost: number;
  cpuMs: number;
  perCpu: {
    cpu: number;
    portId: number;
    received: number;
    lost: number;
    kernelDrops: number;
    seqGapLost: number;
    enobufs: number;
    registered: boolean;
    deregisterError: string;
  }[];
  procNetlinkDrops: Record<string, number>;
}
interface CSummary {
  received: number;
  lost: number;
  kernelDrops: number;
  cpuMs: number;
}

const forker = compileC('forker');
const cListener = compileC('exit_listener');
const engineArgs = (extra: string[] = []) => ['--import', 'tsx', path.join(benchDir, 'exit-engine.ts'), ...extra];

async function runStorm(): Promise<Storm> {
  const p = spawn(forker, ['-n', String(EXITS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(p);
  let out = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
  live.delete(p);
  if (code !== 0) throw new Error(`forker failed (${code ?? p.signalCode}): ${out}`);
  return JSON.parse(out) as Storm;
}

/** Mark every listener until each has accounted (received + lost) for `want` exits since `from`. */
async function drained(kids: LineChild[], from: Mark[], want: number): Promise<Mark[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await Promise.all(kids.map((k) => k.mark()));
    const short = now.map((m, i) => want - (m.received + m.lost - from[i]!.received - from[i]!.lost));
    if (short.every((s) => s <= 0)) return now;
    if (Date.now() > deadline) {
      console.error(
        `exit.bench: not drained after 30 s: short by ${kids.map((k, i) => `${k.name} ${short[i]}`).join(', ')}`,
      );
      return now;
    }
    await sleep(100);
  }
}

interface Round {
  storm: Storm;
  engineLost: number;
  engineReceived: number; // in the storm window
  cReceived: number;
  cLost: number;
  engineCpuMs: number;
  readerCpuMs: number;
  cCpuMs: number;
  ratio: number;
  clean: boolean; // deregistered everywhere, exited 0
}

async function compareRound(n: number): Promise<Round> {
  // The C baseline gets what delaytop's reader threads give themselves: SCHED_FIFO 2.
  const c = new LineChild('exit_listener', 'chrt', ['-f', '2', cListener, '-r', String(RCVBUF_BYTES)]);
  const e = new LineChild(
    'exit-engine',
    process.execPath,
    engineArgs(['--rcvbuf', String(RCVBUF_BYTES), ...(THREADS ? ['--threads', THREADS] : [])]),
  );
  try {
    const [cr, er] = await Promise.all([c.next<Ready>(), e.next<Ready>()]);
    console.error(
      `round ${n}: both registered on cpus ${er.cpus.join(',')} (rcvbuf: engine ${er.rcvbufBytes}, C ${cr.rcvbufBytes} bytes as the kernel reports it; engine reader threads ${er.threads})`,
    );
    await sleep(300); // let the engine's start-up work (JIT, GC of module loading) settle
    const [c0, e0] = await Promise.all([c.mark(), e.mark()]);
    const storm = await runStorm();
    const [c1, e1] = (await drained([c, e], [c0, e0], storm.taskExits)) as [Mark, Mark];
    const [ce, ee] = await Promise.all([c.end<CSummary>(), e.end<EngineSummary>()]);
    const engineReceived = e1.received - e0.received;
    const cReceived = c1.received - c0.received;
    const engineCpuMs = e1.cpuMs - e0.cpuMs;
    const readerCpuMs = (e1.readerCpuMs ?? NaN) - (e0.readerCpuMs ?? NaN);
    const cCpuMs = c1.cpuMs - c0.cpuMs;
    const per100k = (ms: number, n: number) => (ms / n) * 100_000;
    const ratio = per100k(engineCpuMs, engineReceived) / per100k(cCpuMs, cReceived);
    const clean = ce.code === 0 && ee.code === 0;
    console.error(
      `round ${n}: storm ${storm.exited} exits in ${storm.elapsedMs} ms = ${storm.exitsPerSec} exits/s (${storm.taskExits} task exits with its workers)\n` +
        `  delaytop: received ${engineReceived} in the window, lost ${ee.summary.lost} (whole run; kernelDrops ${ee.summary.perCpu.map((p) => p.kernelDrops).join('+')}), ` +
        `${engineCpuMs.toFixed(0)} ms CPU = ${per100k(engineCpuMs, engineReceived).toFixed(0)} ms per 100,000 (reader threads ${per100k(readerCpuMs, engineReceived).toFixed(0)})\n` +
        `  C:        received ${cReceived} in the window, lost ${ce.summary.lost}, ${cCpuMs.toFixed(0)} ms CPU = ${per100k(cCpuMs, cReceived).toFixed(0)} ms per 100,000\n` +
        `  other exits on the machine in delaytop's window: ${engineReceived + e1.lost - e0.lost - storm.taskExits}; ratio ${ratio.toFixed(2)}x` +
        (clean ? '' : `  UNCLEAN EXIT: engine ${ee.code}, C ${ce.code}`),
    );
    return {
      storm,
      engineLost: ee.summary.lost,
      engineReceived,
      cReceived,
      cLost: ce.summary.lost,
      engineCpuMs,
      readerCpuMs,
      cCpuMs,
      ratio,
      clean,
    };
  } finally {
    for (const k of [c, e]) if (k.proc.exitCode === null && k.proc.signalCode === null) k.proc.kill('SIGTERM');
  }
}

/** A deliberately tiny buffer: losses must be counted, and counted the kernel's way. */
async function tinyRound(): Promise<boolean> {
  const e = new LineChild(
    'exit-engine(tiny)',
    process.execPath,
    engineArgs(['--rcvbuf', String(TINY_RCVBUF_BYTES), ...(THREADS ? ['--threads', THREADS] : [])]),
  );
  try {
    const er = await e.next<Ready>();
    await sleep(300);
    const e0 = await e.mark();
    const storm = await runStorm();
    const [e1] = (await drained([e], [e0], storm.taskExits)) as [Mark];
    const { summary: s, code } = await e.end<EngineSummary>();
    const accounted = e1.received + e1.lost - e0.received - e0.lost;
    const mismatch = s.perCpu.reduce(
      (sum, p) => sum + Math.abs(p.kernelDrops - (s.procNetlinkDrops[String(p.portId)] ?? NaN)),
      0,
    );
    console.error(
      `tiny buffer (${TINY_RCVBUF_BYTES} asked, ${er.rcvbufBytes} granted): storm ${storm.exited} exits at ${storm.exitsPerSec} exits/s\n` +
        `  received ${e1.received - e0.received} + lost ${e1.lost - e0.lost} = ${accounted} of ${storm.taskExits} task exits (other exits: ${accounted - storm.taskExits})\n` +
        s.perCpu
          .map(
            (p) =>
              `  cpu ${p.cpu} port ${p.portId}: kernelDrops ${p.kernelDrops}, /proc/net/netlink Drops ${s.procNetlinkDrops[String(p.portId)]}, ` +
              `seqGapLost ${p.seqGapLost}, enobufs ${p.enobufs}, received ${p.received}, lost ${p.lost}`,
          )
          .join('\n') +
        (code === 0 ? '' : `\n  UNCLEAN EXIT: engine ${code}`),
    );
    let ok = report({
      bench: 'exit_tinybuf_lost',
      value: s.lost,
      unit: `exits lost with a ${TINY_RCVBUF_BYTES}-byte buffer (must show)`,
      target: '> 0',
    });
    ok =
      report({
        bench: 'exit_tinybuf_drops_vs_proc',
        value: mismatch,
        unit: 'sum over CPUs of |kernelDrops - /proc/net/netlink Drops|',
        target: '<= 0',
      }) && ok;
    ok =
      report({
        bench: 'exit_tinybuf_unaccounted',
        value: Math.max(0, storm.taskExits - accounted),
        unit: 'storm exits neither received nor counted lost',
        target: '<= 0',
      }) && ok;
    return ok && code === 0;
  } finally {
    if (e.proc.exitCode === null && e.proc.signalCode === null) e.proc.kill('SIGTERM');
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const rounds: Round[] = [];
for (let i = 1; i <= ROUNDS; i++) rounds.push(await compareRound(i));
const engMs = median(rounds.map((r) => (r.engineCpuMs / r.engineReceived) * 100_000));
const readMs = median(rounds.map((r) => (r.readerCpuMs / r.engineReceived) * 100_000));
const cMs = median(rounds.map((r) => (r.cCpuMs / r.cReceived) * 100_000));
console.error(
  `median over ${ROUNDS} rounds: delaytop ${engMs.toFixed(0)} ms (reader threads ${readMs.toFixed(0)}), C ${cMs.toFixed(0)} ms CPU per 100,000 exits; ` +
    `storm ${median(rounds.map((r) => r.storm.exitsPerSec)).toFixed(0)} exits/s`,
);
let ok = report({
  bench: 'exit_storm_lost',
  value: Math.max(...rounds.map((r) => r.engineLost)),
  unit: `exits lost by delaytop, worst of ${ROUNDS} storms of ${EXITS}`,
  target: '<= 0',
});
ok =
  report({
    bench: 'exit_storm_received',
    value: Math.min(...rounds.map((r) => r.engineReceived)),
    unit: `exits received by delaytop in a storm of ${EXITS} (least of ${ROUNDS})`,
    target: `>= ${EXITS}`,
  }) && ok;
ok =
  report({
    bench: 'exit_storm_cpu_ratio',
    value: median(rounds.map((r) => r.ratio)),
    unit: `x C listener CPU per 100,000 exits (median of ${ROUNDS})`,
    target: '<= 2',
  }) && ok;
ok = (await tinyRound()) && ok;
ok = rounds.every((r) => r.clean) && ok;
process.exit(ok ? 0 : 1);
