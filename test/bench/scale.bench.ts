// Scale benchmark (issue 15): 10,000 more processes (idle_procs.c) and one process of
// 50,000 threads (threads.c), pid_max raised for them and restored after. Measured, each
// for SCALE_BENCH_SECONDS after a warm-up, one after the other on the same load:
//   - the dashboard (`dist/cli.js -d 1`, tmux 120x40) in process mode, then in thread mode
//     (t): its refresh time (the header's "refreshed ... in N ms", every second), a key to
//     the screen (? opens the help, 10 times; sent, and its output seen, through a tmux
//     control-mode client: watchPane), its CPU;
//   - iotop-c in the same pane (-P for processes, then threads), when it is installed, for
//     the CPU ratio (target: the dashboard at most 0.3x iotop-c's);
//   - `-b --json -d 1` to /dev/null: CPU per refresh (informational).
// Targets: refresh <= 250 ms, key to screen <= 100 ms, CPU <= 0.3x iotop-c.
// Environment: SCALE_BENCH_PROCS (10000), SCALE_BENCH_THREADS (50000), SCALE_BENCH_SECONDS (30).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { compileC, procCpuMs, procPeakRssBytes, repoRoot, report, sleep, watchPane } from './common.js';

const PROCS = Number(process.env.SCALE_BENCH_PROCS ?? 10_000);
const THREADS = Number(process.env.SCALE_BENCH_THREADS ?? 50_000);
const SECONDS = Number(process.env.SCALE_BENCH_SECONDS ?? 30);
const WARMUP_SECONDS = 10;
const KEY_PRESSES = 10;
const SOCKET = `delaytop-scale-${process.pid}`;
const SESSION = 'scale';

const log = (s: string) => console.error(`scale.bench: ${s}`);
const live = new Set<ChildProcess>();
/** kernel limits raised for the load, with the values to put back */
const raised = new Map<string, string>();
let tmuxStarted = false;
const workDir = mkdtempSync(path.join(tmpdir(), 'delaytop-scale-'));

/** Synchronous, so that it can run from process.on('exit'): every child, tmux, pid_max. */
function cleanup(): void {
  if (tmuxStarted) spawnSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
  tmuxStarted = false;
  for (const c of live) c.kill('SIGTERM');
  // The limits first: a failure below must not leave them raised. (Ids and mappings
  // already given out stay valid when the limits go back down.)
  for (const [file, before] of raised) writeFileSync(file, before);
  raised.clear();
  // (a child still exiting can write into the directory: rmSync then retries on ENOTEMPTY)
  try {
    rmSync(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (e) {
    log(`could not remove ${workDir}: ${(e as Error).message}`);
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
const paneVar = (v: string) => tmux('display-message', '-p', '-t', SESSION, `#{${v}}`).trim();
const keys = (...k: string[]) => tmux('send-keys', '-t', SESSION, ...k);

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | null | undefined | false, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the pane shows:\n${screen()}`);
    await sleep(everyMs);
  }
}

/** A child that prints a line with "ready" once it is up; stdin EOF or SIGTERM ends it. */
async function startReady(bin: string, args: string[]): Promise<ChildProcess> {
  const proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  const first = await createInterface({ input: proc.stdout! })[Symbol.asyncIterator]().next();
  if (first.done || !/ready/.test(first.value)) throw new Error(`${path.basename(bin)} did not start`);
  return proc;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const refreshMsOnScreen = (s: string) => Number(/refreshed \d\d:\d\d:\d\d in (\d+) ms/.exec(s)?.[1] ?? NaN);

const paneChildren = (): number[] => {
  const shell = paneVar('pane_pid');
  return readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
};
const commOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The pid of `comm`, once the pane's shell runs it (and nothing else). */
const paneChild = (comm: string): Promise<number> =>
  waitFor(`${comm} to start`, 10_000, () => {
    const kids = paneChildren();
    return kids.length === 1 && commOf(kids[0]!) === comm ? kids[0]! : null;
  });

/** Quit what the pane runs (q) and wait for its shell to be alone again. */
async function quitPane(what: string): Promise<void> {
  keys('q');
  await waitFor(`${what} to quit`, 30_000, () => paneChildren().length === 0, 100);
}

interface Run {
  cpuPct: number;
  refreshMs: number[];
  keyMs: number[];
  peakRssMb: number;
}

/** The dashboard in the pane, in process or thread mode: CPU, refresh times and key lag over the window. */
async function dashboard(cli: string, threadMode: boolean): Promise<Run> {
  keys('-l', `XDG_CONFIG_HOME=${workDir} ${cli} --no-config -d 1`);
  keys('Enter');
  const pid = await paneChild('node');
  const rows = threadMode ? /(\d+) threads/ : /(\d+) processes/;
  await waitFor('the first frame', 30_000, () => /refreshed/.test(screen()));
  if (threadMode) keys('t');
  await waitFor(`the ${threadMode ? 'thread' : 'process'} list`, 30_000, () => {
    const n = Number(rows.exec(screen())?.[1] ?? 0);
    return n >= (threadMode ? THREADS : PROCS);
  });
  await sleep(WARMUP_SECONDS * 1000);
  const cpu0 = procCpuMs(pid);
  const t0 = performance.now();
  const refreshMs: number[] = [];
  while (performance.now() - t0 < SECONDS * 1000) {
    await sleep(1000);
    refreshMs.push(refreshMsOnScreen(screen()));
  }
  const cpuPct = ((procCpuMs(pid) - cpu0) / (performance.now() - t0)) * 100;
  const keyMs: number[] = [];
  const pane = watchPane(SOCKET, SESSION);
  live.add(pane.client);
  try {
    for (let i = 0; i < KEY_PRESSES; i++) {
      keyMs.push(await pane.keyToText('?', 'delaytop help', screen));
      keys('Escape');
      await waitFor('the help to close', 5000, () => !/delaytop help/.test(screen()));
      await sleep(700 + 97 * i); // the next press at another point of the refresh cycle
    }
  } finally {
    pane.close();
    live.delete(pane.client);
  }
  const peakRssMb = procPeakRssBytes(pid) / 2 ** 20;
  await quitPane('the dashboard');
  return { cpuPct: refreshMs.length ? cpuPct : NaN, refreshMs: refreshMs.filter(Number.isFinite), keyMs, peakRssMb };
}

/** iotop-c in the pane for the same window: its CPU (% of a core). */
async function iotop(processes: boolean): Promise<number> {
  keys('-l', `iotop-c --no-only${processes ? ' -P' : ''} -d 1`);
  keys('Enter');
  const pid = await paneChild('iotop-c');
  await sleep(WARMUP_SECONDS * 1000);
  const cpu0 = procCpuMs(pid);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const pct = ((procCpuMs(pid) - cpu0) / (performance.now() - t0)) * 100;
  await quitPane('iotop-c');
  return pct;
}

/** CPU ms (user + system) of `-b --json -d 1 -n N` to /dev/null, through bash's `times`. */
function batchCpuMs(cli: string, n: number): number {
  const out = execFileSync('bash', ['-c', `${cli} -b --json -d 1 -n ${n} > /dev/null; times`], {
    encoding: 'utf8',
  });
  const [, children] = out.trim().split('\n');
  const t = [...(children ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60_000 + Number(m[2]) * 1000);
  return (t[0] ?? NaN) + (t[1] ?? NaN);
}

/** Raise a kernel limit to at least `min` until the bench ends. */
function raiseTo(file: string, min: number): void {
  const before = readFileSync(file, 'utf8').trim();
  if (Number(before) >= min) return;
  raised.set(file, before);
  writeFileSync(file, String(min));
}

async function main(): Promise<boolean> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the dashboard queries every task');
  const cli = path.join(repoRoot, 'dist/cli.js');
  const built = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const idleBin = compileC('idle_procs');
  const threadsBin = compileC('threads');
  // every thread is a pid; its stack and guard page are two mappings of one process
  raiseTo('/proc/sys/kernel/pid_max', PROCS + THREADS + 40_000);
  raiseTo('/proc/sys/kernel/threads-max', PROCS + THREADS + 40_000);
  raiseTo('/proc/sys/vm/max_map_count', 2 * THREADS + 20_000);
  await startReady(idleBin, ['-n', String(PROCS)]);
  await startReady(threadsBin, [String(THREADS)]);
  log(`${PROCS} idle processes and a process of ${THREADS} threads are up`);

  spawnSync('tmux', [
    '-L',
    SOCKET,
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    '120',
    '-y',
    '40',
    `env -i PATH=${process.env.PATH} TERM=xterm-256color HOME=${workDir} PS1='scale$ ' bash --norc --noprofile`,
  ]);
  tmuxStarted = true;
  await waitFor('the shell', 10_000, () => screen().includes('scale$'));
  const haveIotop = spawnSync('iotop-c', ['--version'], { stdio: 'ignore' }).status === 0;

  let ok = true;
  for (const threadMode of [false, true]) {
    const mode = threadMode ? 'thread' : 'process';
    const d = await dashboard(cli, threadMode);
    const io = haveIotop ? await iotop(!threadMode) : NaN;
    log(
      `${mode} mode: dashboard ${d.cpuPct.toFixed(1)}% of a core, refresh ms median ${median(d.refreshMs)} ` +
        `(range ${Math.min(...d.refreshMs)}-${Math.max(...d.refreshMs)}), key to screen ms ${d.keyMs.map((k) => k.toFixed(0)).join(', ')}, ` +
        `peak RSS ${d.peakRssMb.toFixed(0)} MB; iotop-c${threadMode ? '' : ' -P'} ${haveIotop ? `${io.toFixed(1)}%` : 'not installed (apt-get install iotop-c)'}`,
    );
    const load = `${PROCS} processes + ${THREADS} threads, ${mode} mode, -d 1`;
    ok =
      report({
        bench: `scale_${mode}_refresh_ms`,
        value: median(d.refreshMs),
        unit: `ms a refresh (median over ${SECONDS} s; ${load})`,
        target: '<= 250',
      }) && ok;
    ok =
      report({
        bench: `scale_${mode}_key_ms`,
        value: median(d.keyMs),
        unit: `ms from a key (?) to the screen (median of ${KEY_PRESSES} at phases across the refresh, max ${Math.max(...d.keyMs).toFixed(0)}; ${load})`,
        target: '<= 100',
      }) && ok;
    if (haveIotop)
      ok =
        report({
          bench: `scale_${mode}_cpu_vs_iotop`,
          value: d.cpuPct / io,
          unit: `dashboard CPU / iotop-c${threadMode ? '' : ' -P'} CPU (${d.cpuPct.toFixed(1)}% / ${io.toFixed(1)}% of a core; ${load})`,
          target: '<= 0.3',
        }) && ok;
    else log('iotop-c is not installed: no CPU ratio (apt-get install iotop-c)');
  }
  const one = batchCpuMs(cli, 1);
  const many = batchCpuMs(cli, 6);
  report({
    bench: 'scale_batch_json_cpu_ms',
    value: (many - one) / 5,
    unit: `ms of CPU a refresh of -b --json (process mode, ${PROCS} processes + ${THREADS} threads); informational`,
    target: '>= 0',
  });
  return ok;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    log(`failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
