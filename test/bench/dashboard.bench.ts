// Dashboard benchmark: the real dashboard (`node dist/cli.js -d 1`) in a 120x40 tmux pane
// on a machine with at least 1,000 more processes (idle_procs.c starts them).
//   1. Scanning: CPU time (utime+stime of the dashboard's node process, every thread) over
//      60 s at a 1-second refresh once warmed up (the first 120 s, when V8 is still
//      compiling, are reported on their own), and its peak RSS (VmHWM) over its whole life.
//      Targets: <= 3% of one core, <= 150 MB (issue 15's limits, 1.5% and 100 MB, are
//      reported beside them). The bench starts no process meanwhile (the screen is read
//      through a tmux control-mode client), so the window has no exit unless the machine
//      makes one. Then 30 s with about five exits a second, what they cost (informational).
//   2. Storm: 100,000 exits (forker.c) with the dashboard still open. Target: the loss
//      counter on its screen stays 0 once the feed has drained (and every storm exit is
//      accounted for). Also reported: its CPU over the storm, and whether the screen stays
//      responsive: a key (?) pressed during the storm must open the help within 1 s of the
//      storm's end. The forker runs in this process's session, the dashboard in tmux's, as
//      a storm from anywhere but the dashboard's own terminal would. That matters: with the
//      scheduler's autogroups, a listener in another session than the storm gets almost no
//      CPU until the storm ends (measured here: even exit_listener.c loses ~44% of the
//      100,000 exits from another session, none from the same one or at SCHED_FIFO).
//   3. q quits and the shell's screen is back (alternate screen off, exit status 0).
// Everything started here is stopped on every way out, Ctrl-C included.
//
// Environment: DASHBOARD_BENCH_SECONDS (60), DASHBOARD_BENCH_WARMUP (120: seconds after the
// first frame before the scanning window, reported on their own), DASHBOARD_BENCH_PROCS (1000),
// DASHBOARD_BENCH_EXITS (100000), DASHBOARD_BENCH_TRICKLE_SECONDS (30: a window with ~5 exits a
// second after the quiet one; 0 skips it), DASHBOARD_BENCH_NO_BUILD=1 (use dist/ as it is),
// DASHBOARD_BENCH_PROFILE=<dir> (run the dashboard under --cpu-prof and print where the
// scanning and storm windows' JS time went), DASHBOARD_BENCH_VERBOSE=1 (print screens),
// DASHBOARD_BENCH_PREFIX='VAR=value ...' (put before `node` in the pane: what-if runs),
// DASHBOARD_BENCH_FIFO_READERS=1 (what-if: the exit reader threads at SCHED_FIFO 2 for the storm),
// DASHBOARD_BENCH_CLI=<path>/dist/cli.js (what-if: measure a patched copy of the build).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { compileC, procCpuMs, procPeakRssBytes, repoRoot, report, sleep, watchPane } from './common.js';

const SECONDS = Number(process.env.DASHBOARD_BENCH_SECONDS ?? 60);
const WARMUP_SECONDS = Number(process.env.DASHBOARD_BENCH_WARMUP ?? 120);
const PROCS = Number(process.env.DASHBOARD_BENCH_PROCS ?? 1000);
const EXITS = Number(process.env.DASHBOARD_BENCH_EXITS ?? 100_000);
const TRICKLE_SECONDS = Number(process.env.DASHBOARD_BENCH_TRICKLE_SECONDS ?? 30);
const PROFILE_DIR = process.env.DASHBOARD_BENCH_PROFILE ? path.resolve(process.env.DASHBOARD_BENCH_PROFILE) : null;
const VERBOSE = !!process.env.DASHBOARD_BENCH_VERBOSE;
/** put before `node` on the pane's command line, for what-if runs (e.g. NODE_ENV=production) */
const PREFIX = process.env.DASHBOARD_BENCH_PREFIX ?? '';
/** what-if: a patched build's cli.js to run instead of dist/cli.js (no build then) */
const CLI = process.env.DASHBOARD_BENCH_CLI ? path.resolve(process.env.DASHBOARD_BENCH_CLI) : null;
/** what-if: give the exit listener's reader threads SCHED_FIFO 2 before the storm */
const FIFO_READERS = !!process.env.DASHBOARD_BENCH_FIFO_READERS;
const COLS = 120;
const ROWS = 40;
const SOCKET = `delaytop-bench-${process.pid}`;
const SESSION = 'dash';
const EXIT_MARK = 'DASHBOARD-EXIT=';

const log = (s: string) => console.error(`dashboard.bench: ${s}`);

// --- everything we start, and stopping it on every path ---

let tmuxStarted = false;
let socketPath: string | null = null; // tmux leaves its socket file behind after kill-server
let workDir: string | null = null;
let dashPid: number | null = null;
const live = new Set<ChildProcess>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Synchronous, so that it can run from process.on('exit'). */
function cleanup(): void {
  // The dashboard first, by signal: it restores the terminal and deregisters its listeners.
  if (dashPid !== null && alive(dashPid)) {
    try {
      process.kill(dashPid, 'SIGTERM');
    } catch {}
  }
  if (tmuxStarted) {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server'], { stdio: 'ignore' });
    tmuxStarted = false;
  }
  if (socketPath) {
    rmSync(socketPath, { force: true });
    socketPath = null;
  }
  if (workDir) {
    rmSync(workDir, { recursive: true, force: true });
    workDir = null;
  }
  for (const c of live) c.kill('SIGTERM'); // idle_procs kills and reaps its children; the forker has PDEATHSIG
  if (dashPid !== null) {
    for (let i = 0; i < 60 && alive(dashPid); i++) sleepSync(50);
    if (alive(dashPid)) {
      log(`dashboard ${dashPid} still alive 3 s after SIGTERM: SIGKILL`);
      try {
        process.kill(dashPid, 'SIGKILL');
      } catch {}
    }
    dashPid = null;
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}, stopping`);
    process.exit(130);
  });
}

// --- tmux ---

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
const paneVar = (v: string) => tmux('display-message', '-p', '-t', SESSION, `#{${v}}`).trim();

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | null | false,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) {
      let s = '';
      try {
        s = screen();
      } catch {}
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the pane shows:\n${s}`);
    }
    await sleep(everyMs);
  }
}

// --- reading the dashboard's screen ---

interface Counters {
  /** exits the feed has accounted for (received + lost), from the feed pane's header */
  exits: number;
  /** largest of: the header's "lost N", the feed pane's "lost N", the per-CPU losses summed */
  lost: number;
  lostBy: string;
}

function counters(s: string): Counters | null {
  const lines = s.split('\n');
  const feedLine = lines.find((l) => l.includes('Exit feed'));
  const feed = feedLine && /Exit feed (\d+) exits.*?lost (\d+)/.exec(feedLine);
  if (!feed) return null; // the feed pane is hidden (help open) or not drawn yet
  const head = /\bprocesses\b.*?· lost (\d+)/.exec(s) ?? /\bthreads\b.*?· lost (\d+)/.exec(s);
  let perCpu = 0;
  for (const l of lines) {
    const m = /\bcpu\d+\s.*\/s lost\s+(\d+)/.exec(l);
    if (m) perCpu += Number(m[1]);
  }
  const byHead = head ? Number(head[1]) : 0;
  const byFeed = Number(feed[2]);
  const lost = Math.max(byHead, byFeed, perCpu);
  return {
    exits: Number(feed[1]),
    lost,
    lostBy: `header ${head ? byHead : 'n/a'}, feed pane ${byFeed}, per-CPU sum ${perCpu}`,
  };
}

const processCount = (s: string) => Number(/(\d+) processes/.exec(s)?.[1] ?? NaN);
const refreshMsOnScreen = (s: string) => {
  const m = /refreshed \d\d:\d\d:\d\d in (\d+) ms/.exec(s);
  return m ? Number(m[1]) : null;
};
const helpShown = (s: string) => /delaytop help/.test(s);

// --- the dashboard's process ---

const CLK_TCK = 100;

/** CPU ms per thread name (V8 workers, libuv pool, listener threads...) of a live process. */
function cpuByThread(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const name = tid === String(pid) ? 'main (JS)' : comm;
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
    } catch {} // a thread that just ended
  }
  return out;
}

function threadDelta(a: Map<string, number>, b: Map<string, number>): string {
  return [...b]
    .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');
}

/** Per thread: [cpu ns, run-queue wait ns] from /proc/<pid>/task/<tid>/schedstat. */
function schedByTid(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      out.set(tid === String(pid) ? `${tid} (main)` : tid, [run!, wait!]);
    } catch {}
  }
  return out;
}

/** The busiest threads over a window: CPU ms and ms spent runnable but waiting for a CPU. */
function schedDelta(a: Map<string, [number, number]>, b: Map<string, [number, number]>, n = 6): string {
  return [...b]
    .map(([k, [r, w]]) => [k, (r - (a.get(k)?.[0] ?? 0)) / 1e6, (w - (a.get(k)?.[1] ?? 0)) / 1e6] as const)
    .filter(([, r, w]) => r + w > 1)
    .sort((x, y) => y[1] + y[2] - x[1] - x[2])
    .slice(0, n)
    .map(([k, r, w]) => `tid ${k} ran ${r.toFixed(0)} waited ${w.toFixed(0)}`)
    .join('; ');
}

/** utime and stime of a live process (all threads), ms. */
function procTimes(pid: number): { user: number; system: number } {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / CLK_TCK, system: (Number(f[12]) * 1000) / CLK_TCK };
}

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
const mb = (b: number) => b / (1 << 20);

/** The node process running dist/cli.js (or DASHBOARD_BENCH_CLI) under the pane's shell. */
function findDashboard(shellPid: number): number | null {
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${shellPid}/task/${shellPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return null;
  }
  for (const k of kids) {
    try {
      const argv = readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith(CLI ?? 'dist/cli.js'))) return Number(k);
    } catch {}
  }
  return null;
}

/** Drops column of /proc/net/netlink summed over the netlink sockets the process holds. */
function netlinkDrops(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {}
  }
  const lines = readFileSync('/proc/net/netlink', 'utf8').trim().split('\n');
  const head = lines[0]!.trim().split(/\s+/);
  const drops = head.indexOf('Drops');
  const inode = head.indexOf('Inode');
  let sum = 0;
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/);
    if (inodes.has(f[inode]!)) sum += Number(f[drops]);
  }
  return sum;
}

// --- children ---

/** idle_procs: resolves once its N children exist; stdin EOF (or SIGTERM) stops them all. */
async function startIdle(bin: string, n: number): Promise<{ proc: ChildProcess; stop: () => Promise<string> }> {
  const proc = spawn(bin, ['-n', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !/"ready"/.test(first.value))
    throw new Error(`idle_procs did not start (${proc.exitCode ?? proc.signalCode})`);
  return {
    proc,
    stop: async () => {
      proc.stdin!.end();
      const last = await lines.next();
      return last.done ? `(no summary; exit ${proc.exitCode ?? proc.signalCode})` : last.value;
    },
  };
}

interface Storm {
  exited: number;
  taskExits: number;
  elapsedMs: number;
  exitsPerSec: number;
}

function startStorm(bin: string): { done: Promise<Storm>; proc: ChildProcess } {
  const p = spawn(bin, ['-n', String(EXITS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(p);
  let out = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<Storm>((resolve, reject) =>
    p.on('close', (code) => {
      live.delete(p);
      if (code !== 0) reject(new Error(`forker failed (${code ?? p.signalCode}): ${out}`));
      else resolve(JSON.parse(out) as Storm);
    }),
  );
  return { done, proc: p };
}

// --- CPU profile summary (DASHBOARD_BENCH_PROFILE) ---

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Inclusive time of these stages (function name, where it lives), to split the JS thread's work. */
const STAGES: [label: string, fn: string, url: string][] = [
  ['refresh: controller.refreshOnce (list + query + decode + model)', 'refreshOnce', 'engine/refresh.js'],
  ['  list /proc (listProcTasks)', 'listProcTasks', 'sources/proctasks.js'],
  ['  decode query results (decodeQueryResult)', 'decodeQueryResult', 'sources/netlink.js'],
  ['  model (computeScan)', 'computeScan', 'model/scan.js'],
  ['exit batches: controller.onExits (decode + feed fold)', 'onExits', 'engine/refresh.js'],
  ['React render + commit (performWorkOnRoot)', 'performWorkOnRoot', 'react-reconciler'],
  ['Ink frame: tree to text, diff, write (onRender)', 'onRender', 'ink/build/ink.js'],
  ['Ink layout: Yoga (calculateLayout)', 'calculateLayout', 'ink/build/ink.js'],
  ['garbage collector', '(garbage collector)', ''],
];

/**
 * A frame of a stage's function: by name and module, or in the bundle (dist/, one file of
 * chunks) by name alone, where esbuild may have added a digit to keep names apart.
 */
function stageMatches(f: ProfileNode['callFrame'], want: string, url: string): boolean {
  if (f.url.includes('/dist/')) return f.functionName === want || new RegExp(`^${want}\\d+$`).test(f.functionName);
  return f.functionName === want && f.url.includes(url);
}

/** Where the JS thread's time went within [fromMs, toMs] of the profile's start. */
function summariseProfile(file: string, fromMs: number, toMs: number, frames?: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const stage = new Map<string, number>();
  let t = 0;
  let total = 0;
  const short = (url: string) =>
    url
      .replace(/^file:\/\//, '')
      .replace(repoRoot + '/', '')
      .replace(/.*node_modules\//, 'node_modules/');
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]! / 1000;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // a sample covers the time until the next one
    if (t < fromMs || t > toMs) continue;
    const n = byId.get(p.samples[i]!)!;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') continue;
    const where = n.callFrame.url ? short(n.callFrame.url) : name;
    const k = `${name} ${where}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fn.set(k, (fn.get(k) ?? 0) + dt);
    const fk = where.replace(/^node_modules\/([^/]+)\/.*/, 'node_modules/$1 (package)');
    byFile.set(fk, (byFile.get(fk) ?? 0) + dt);
    total += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      for (const [label, want, url] of STAGES) {
        if (stageMatches(f, want, url) && !seen.has(label)) {
          seen.add(label);
          stage.set(label, (stage.get(label) ?? 0) + dt);
        }
      }
    }
  }
  const secs = (toMs - fromMs) / 1000;
  const pct = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `    ${v.toFixed(0).padStart(6)} ms ${pct(v)}  ${k}`)
      .join('\n');
  const stages = STAGES.map(([label]) => {
    const v = stage.get(label) ?? 0;
    const perFrame = frames && /^(React|Ink)/.test(label) ? `, ${(v / frames).toFixed(2)} ms per frame` : '';
    return `    ${v.toFixed(0).padStart(6)} ms ${pct(v)}  ${(v / secs).toFixed(1).padStart(5)} ms/s${perFrame}  ${label}`;
  }).join('\n');
  log(
    `  ${path.basename(file)}: ${total.toFixed(0)} ms of JS-thread work (idle excluded) in ${secs.toFixed(1)} s = ${(total / secs).toFixed(1)} ms/s (the profiler itself adds some)\n` +
      `  by stage (inclusive):\n${stages}\n  by file or package (self):\n${top(byFile, 12)}\n  by function (self):\n${top(fn, 20)}`,
  );
}

// --- the run ---

/** A process row of the process pane: `│ 1234 ...` or `│*1234 ...` (pinned). */
const hasProcessRow = (s: string) => /^│[ *] *\d+ /m.test(s);

/**
 * 0. Start-up: ms from exec (tmux starts the dashboard as the pane's command) to the first
 * screen with process rows, polled every 5 ms, on the machine as it is (before the idle
 * processes); median of 5. Target (issue 13): 300 ms.
 */
async function firstFrames(cli: string): Promise<boolean> {
  const shebang = /^#!.*\bnode\b(.*)$/.exec(readFileSync(cli, 'utf8').split('\n')[0] ?? '');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    tmux(
      'new-session',
      '-d',
      '-s',
      'first',
      '-x',
      String(COLS),
      '-y',
      String(ROWS),
      `exec node ${shebang?.[1]?.trim() ?? ''} ${cli} -d 1`,
    );
    tmuxStarted = true;
    try {
      await waitFor(
        'a first frame with process rows',
        10_000,
        () => hasProcessRow(tmux('capture-pane', '-p', '-t', 'first')),
        5,
      );
      times.push(performance.now() - t0);
    } finally {
      tmux('kill-session', '-t', 'first');
    }
    await sleep(300);
  }
  times.sort((a, b) => a - b);
  log(`first frames: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  return report({
    bench: 'dashboard_first_frame_ms',
    value: times[2]!,
    unit: `ms from exec to the first frame with process rows (120x40 tmux, median of 5; range ${times[0]!.toFixed(0)}-${times[4]!.toFixed(0)})`,
    target: '<= 300',
  });
}

async function main(): Promise<boolean> {
  if (!process.env.DASHBOARD_BENCH_NO_BUILD && !CLI) {
    log('building dist/ (node scripts/bundle.mjs)');
    const b = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    if (b.status !== 0) throw new Error(`scripts/bundle.mjs exited ${b.status}`);
  }
  const cli = CLI ?? path.join(repoRoot, 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`no ${cli}: build failed`);
  const idleBin = compileC('idle_procs');
  const forker = compileC('forker');

  const dir = mkdtempSync(path.join(tmpdir(), 'dashboard-bench-'));
  workDir = dir;
  // The dashboard as it ships, whatever settings the user running this saved: tmux's panes
  // inherit this settings directory (empty, and what a q would save stays in it).
  process.env.XDG_CONFIG_HOME = path.join(dir, 'config');

  const firstFrameOk = await firstFrames(cli);
  const before = Number(readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length);
  const idle = await startIdle(idleBin, PROCS);
  log(`${PROCS} idle processes started (${before} processes before)`);

  tmux(
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    String(COLS),
    '-y',
    String(ROWS),
    '-c',
    repoRoot,
    "exec env PS1='bench$ ' bash --norc --noprofile",
  );
  tmuxStarted = true;
  socketPath = paneVar('socket_path');
  // Should this process be SIGKILLed, nothing here runs: a watchdog outside it ends the tmux
  // server (and with it the dashboard) then. It waits for the end of its stdin, a pipe whose
  // other end only this process holds (close-on-exec), and so wakes once: when this process
  // is gone, however it ended. (It polled with `tmux has-session` and `sleep 1`: two exits a
  // second, which the dashboard took in the measured window.)
  const watchdog = spawn(
    'sh',
    ['-c', `cat > /dev/null; tmux -L ${SOCKET} kill-server 2>/dev/null; rm -rf '${socketPath}' '${dir}'`],
    { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
  );
  watchdog.unref();
  (watchdog.stdin as Socket).unref();
  const shellPid = Number(paneVar('pane_pid'));
  await waitFor('the shell prompt', 10_000, () => screen().includes('bench$'));
  const prof = PROFILE_DIR ? `--cpu-prof --cpu-prof-dir=${PROFILE_DIR} ` : '';
  const prefix = PREFIX ? `${PREFIX} ` : '';
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const profilesBefore = PROFILE_DIR ? new Set(readdirSync(PROFILE_DIR)) : new Set<string>();
  // the node flags the installed `delaytop` runs with: its shebang's
  const shebang = /^#!.*\bnode\b(.*)$/.exec(readFileSync(cli, 'utf8').split('\n')[0] ?? '');
  const nodeFlags = shebang ? shebang[1]!.trim() + ' ' : '';
  tmux(
    'send-keys',
    '-t',
    SESSION,
    '-l',
    `${prefix}node ${nodeFlags}${prof}${CLI ?? 'dist/cli.js'} -d 1; echo "${EXIT_MARK}$?"`,
  );
  tmux('send-keys', '-t', SESSION, 'Enter');
  const pid = await waitFor('the dashboard process', 10_000, () => findDashboard(shellPid), 20);
  dashPid = pid;
  const startedAt = Date.now();
  const first = await waitFor(`a first frame with at least ${PROCS} processes`, 30_000, () => {
    const s = screen();
    return refreshMsOnScreen(s) !== null && processCount(s) >= PROCS ? s : null;
  });
  const firstFrameMs = Date.now() - startedAt;
  log(
    `dashboard pid ${pid}: first frame after ${firstFrameMs} ms, ${processCount(first)} processes, ${(procCpuMs(pid) / 1000).toFixed(2)} s CPU so far, RSS ${mb(rssBytes(pid)).toFixed(0)} MB`,
  );
  if (VERBOSE) console.error(first);

  // 0. Warm-up: V8 compiles the hot code (TurboFan) and grows its heap. At one frame a
  // second a function takes a while to become hot: TurboFan still compiled ~1.3 functions
  // a second 15-75 s after start, and flattened out at ~0.5 a second after two minutes
  // (--trace-opt). The dashboard's CPU fell with it (2.4% at 15-75 s, ~1.9% at 2-7 min:
  // docs/performance.md). Measured and reported on its own; the scanning target is for the
  // steady state after it.
  if (WARMUP_SECONDS > 0) {
    const w0 = procCpuMs(pid);
    const wt0 = performance.now();
    await sleep(WARMUP_SECONDS * 1000);
    const wPct = ((procCpuMs(pid) - w0) / (performance.now() - wt0)) * 100;
    report({
      bench: 'dashboard_warmup_cpu',
      value: wPct,
      unit: `% of one core over the first ${WARMUP_SECONDS} s after the first frame (JIT warm-up); informational`,
      target: '>= 0',
    });
  }

  // 1. Scanning. What the dashboard writes to its terminal is copied to a file meanwhile, to
  // count the frames drawn: Ink wraps each frame that changes the screen in a synchronized
  // update (ESC[?2026h ... ESC[?2026l) on a terminal. The screen is read through a tmux
  // control-mode client: a tmux process a look would be an exit a second for the dashboard
  // to take, the bench's own, in the figure (docs/performance.md).
  const pane = watchPane(SOCKET, SESSION);
  live.add(pane.client);
  const paneScreen = () => pane.command(`capture-pane -p -t ${SESSION}`);
  const ptyCopy = path.join(dir, 'pane-output');
  await pane.command(`pipe-pane -t ${SESSION} -O 'cat > ${ptyCopy}'`);
  const feed0 = counters(await paneScreen());
  const cpu0 = procCpuMs(pid);
  const times0 = procTimes(pid);
  const threads0 = cpuByThread(pid);
  const schedScan0 = schedByTid(pid);
  const t0 = performance.now();
  const winFrom = Date.now() - startedAt;
  const refreshTimes: number[] = [];
  const rssTrace: string[] = [];
  for (let i = 1; i <= SECONDS; i++) {
    await sleep(t0 + i * 1000 - performance.now());
    const r = refreshMsOnScreen(await paneScreen());
    if (r !== null) refreshTimes.push(r);
    if (i % 10 === 0 || i === SECONDS) rssTrace.push(`${i}s ${mb(rssBytes(pid)).toFixed(0)}`);
  }
  const cpu1 = procCpuMs(pid);
  const times1 = procTimes(pid);
  const elapsedMs = performance.now() - t0;
  const feed1 = counters(await paneScreen());
  await pane.command(`pipe-pane -t ${SESSION}`); // stop copying
  await sleep(200);
  const written = readFileSync(ptyCopy, 'latin1');
  const frames = written.split('\x1b[?2026h').length - 1;
  const winTo = Date.now() - startedAt;
  const threads1 = cpuByThread(pid);
  const schedScan1 = schedByTid(pid);
  const peak = procPeakRssBytes(pid);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssParts = ['RssAnon', 'RssFile', 'RssShmem']
    .map((k) => `${k} ${(Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1]) / 1024).toFixed(0)}`)
    .join(', ');
  const cpuPct = ((cpu1 - cpu0) / elapsedMs) * 100;
  const sorted = [...refreshTimes].sort((a, b) => a - b);
  log(
    `scanning ${(elapsedMs / 1000).toFixed(1)} s: ${(cpu1 - cpu0).toFixed(0)} ms CPU = ${cpuPct.toFixed(2)}% of one core ` +
      `(${((cpu1 - cpu0) / (elapsedMs / 1000)).toFixed(1)} ms per 1-s refresh; user ${(times1.user - times0.user).toFixed(0)} ms, system ${(times1.system - times0.system).toFixed(0)} ms)\n` +
      `  frames drawn: ${frames} (${(frames / (elapsedMs / 1000)).toFixed(1)}/s), ${(written.length / 1024 / (elapsedMs / 1000)).toFixed(1)} KiB/s to the terminal; ` +
      `exits seen meanwhile: ${feed0 && feed1 ? feed1.exits - feed0.exits : 'n/a'} (each batch of exits may publish a frame, at most 4/s)\n` +
      `  by thread (ms): ${threadDelta(threads0, threads1)}\n` +
      `  busiest threads (ms, schedstat; the libuv pool thread runs the batched query, V8's workers the GC): ${schedDelta(schedScan0, schedScan1, 8)}\n` +
      `  refresh time on screen (list + query + model), ms: median ${sorted[sorted.length >> 1] ?? 'n/a'}, max ${sorted.at(-1) ?? 'n/a'}\n` +
      `  RSS (MB) along the window: ${rssTrace.join(', ')}; VmHWM ${mb(peak).toFixed(1)} MB; now ${rssParts} MB`,
  );
  let ok =
    report({
      bench: 'dashboard_scan_cpu',
      value: cpuPct,
      unit: `% of one core, ${SECONDS} s at -d 1 with ${processCount(await paneScreen())} processes`,
      target: '<= 3',
    }) && firstFrameOk;
  ok =
    report({
      bench: 'dashboard_peak_rss',
      value: mb(peak),
      unit: 'MB VmHWM of the dashboard process',
      target: '<= 150',
    }) && ok;
  // Issue 15's limits for the same figures (about 0.3x iotop-c): reported, not yet held to.
  report({
    bench: 'dashboard_scan_cpu_limit',
    value: cpuPct,
    unit: `% of one core (dashboard_scan_cpu against issue 15's limit)`,
    target: '<= 1.5',
  });
  report({
    bench: 'dashboard_peak_rss_limit',
    value: mb(peak),
    unit: `MB VmHWM (dashboard_peak_rss against issue 15's limit)`,
    target: '<= 100',
  });

  // 1b. Exits now and then (informational). The window above has none, as this machine at
  // rest has none; a machine in use has a few. A shell starting `sleep 0.2` in turn makes
  // about five a second: what each costs the dashboard beyond the quiet window's rate. (The
  // loop also ends with this process, SIGKILL included: `kill -0` is the shell's own.)
  if (TRICKLE_SECONDS > 0) {
    const trickle = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done`], {
      stdio: 'ignore',
    });
    live.add(trickle);
    await sleep(2000);
    const f0 = counters(await paneScreen());
    const c0 = procCpuMs(pid);
    const at = performance.now();
    await sleep(TRICKLE_SECONDS * 1000);
    const c1 = procCpuMs(pid);
    const ms = performance.now() - at;
    const f1 = counters(await paneScreen());
    trickle.kill('SIGKILL');
    live.delete(trickle);
    const exits = f0 && f1 ? f1.exits - f0.exits : NaN;
    const perExit = (c1 - c0 - (cpuPct / 100) * ms) / exits;
    report({
      bench: 'dashboard_trickle_cpu',
      value: ((c1 - c0) / ms) * 100,
      unit:
        `% of one core, ${TRICKLE_SECONDS} s with ${exits} exits (${(exits / (ms / 1000)).toFixed(1)}/s): ` +
        `${perExit.toFixed(2)} ms of CPU an exit beyond the quiet window's; informational`,
      target: '>= 0',
    });
  }

  // 2. Storm, the dashboard still open. First a key press without a storm, for comparison.
  /** When (performance.now()) the help overlay appeared after pressing ?, or NaN; then closes it. */
  const pressHelp = async (): Promise<{ pressedAt: number; shownAt: number }> => {
    const pressedAt = performance.now();
    let shownAt = NaN;
    try {
      shownAt = pressedAt + (await pane.keyToText('?', 'delaytop help', screen, 15_000));
      tmux('send-keys', '-t', SESSION, '?');
      await waitFor('the help overlay to close', 15_000, () => !helpShown(screen()) && counters(screen()), 20);
    } catch (e) {
      log((e as Error).message);
    }
    return { pressedAt, shownAt };
  };
  const quiet = await pressHelp();
  const quietKeyMs = quiet.shownAt - quiet.pressedAt;
  if (FIFO_READERS) {
    // The listener's reader threads are the ones asleep in poll()/ppoll() (libuv's are in
    // epoll_wait, V8's and the pool's in futex_wait).
    const readers = readdirSync(`/proc/${pid}/task`).filter((t) =>
      readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8').startsWith('poll_schedule_timeout'),
    );
    for (const t of readers) execFileSync('chrt', ['-f', '-p', '2', t]);
    log(`what-if: reader threads ${readers.join(', ')} set to SCHED_FIFO 2`);
  }
  const base = await waitFor('the exit feed pane', 5_000, () => counters(screen()));
  const s0 = procCpuMs(pid);
  const st0 = cpuByThread(pid);
  const drops0 = netlinkDrops(pid);
  const sched0 = schedByTid(pid);
  const storm0 = performance.now();
  const stormFrom = Date.now() - startedAt;
  const storm = startStorm(forker);
  let stormEndedAt = NaN;
  void storm.done.then(
    () => (stormEndedAt = performance.now()),
    () => (stormEndedAt = performance.now()),
  );
  await sleep(200);
  const keyDuringStorm = Number.isNaN(stormEndedAt);
  const key = await pressHelp();
  pane.close();
  live.delete(pane.client);
  const stormInfo = await storm.done;
  const want = base.exits + stormInfo.taskExits;
  let last = base;
  let lastChange = performance.now();
  const drained = await waitFor(
    'the feed to drain',
    120_000,
    () => {
      const c = counters(screen());
      if (!c) return null;
      if (c.exits !== last.exits) lastChange = performance.now();
      last = c;
      if (c.exits >= want) return c;
      if (performance.now() - lastChange > 10_000) {
        log(`feed stopped counting ${want - c.exits} short of the storm`);
        return c;
      }
      return null;
    },
    50,
  );
  const drainMs = performance.now() - storm0;
  const stormTo = Date.now() - startedAt;
  const s1 = procCpuMs(pid);
  const st1 = cpuByThread(pid);
  const drops1 = netlinkDrops(pid);
  const sched1 = schedByTid(pid);
  // The counters can still move for a moment (other exits on the machine, a late publish).
  await sleep(1500);
  const fin = counters(screen()) ?? drained;
  const stormKeyMs = key.shownAt - key.pressedAt;
  // While the storm runs the scheduler decides (see the report); what delaytop owns is how
  // soon it answers once the storm is over.
  const keyLagMs = Math.max(0, key.shownAt - stormEndedAt);
  const heard = fin.exits - base.exits;
  const stormCpuPct = ((s1 - s0) / drainMs) * 100;
  log(
    `storm: ${stormInfo.exited} exits in ${stormInfo.elapsedMs} ms = ${stormInfo.exitsPerSec} exits/s (${stormInfo.taskExits} task exits); ` +
      `the feed counted ${heard} (other exits on the machine included) and drained ${(drainMs / 1000).toFixed(1)} s after the start\n` +
      `  lost: ${fin.lostBy} (before the storm ${base.lost}); the kernel dropped ${drops1 - drops0} on the dashboard's sockets (/proc/net/netlink Drops), so ${fin.lost - base.lost - (drops1 - drops0)} were lost after the kernel (the listener's queue, decoding)\n` +
      `  dashboard CPU start to drained: ${(s1 - s0).toFixed(0)} ms = ${stormCpuPct.toFixed(0)}% of one core, ${(((s1 - s0) / stormInfo.taskExits) * 100_000).toFixed(0)} ms per 100,000 exits\n` +
      `  by thread (ms): ${threadDelta(st0, st1)}\n` +
      `  busiest threads (ms, schedstat): ${schedDelta(sched0, sched1)}\n` +
      `  key to screen: ${stormKeyMs.toFixed(0)} ms ${keyDuringStorm ? 'pressed during the storm' : 'pressed after the storm had ended (it was shorter than 200 ms)'}, ` +
      `of which ${keyLagMs.toFixed(0)} ms after the storm had ended; ${quietKeyMs.toFixed(0)} ms without a storm`,
  );
  if (VERBOSE) console.error(screen());
  ok =
    report({
      bench: 'dashboard_storm_lost',
      value: fin.lost,
      unit: `exits lost on the dashboard's screen, storm of ${EXITS}`,
      target: '<= 0',
    }) && ok;
  ok =
    report({
      bench: 'dashboard_storm_unaccounted',
      value: Math.max(0, stormInfo.taskExits - heard),
      unit: 'storm exits the feed never counted (received or lost)',
      target: '<= 0',
    }) && ok;
  report({
    bench: 'dashboard_storm_cpu',
    value: stormCpuPct,
    unit: `% of one core from the storm's start until the feed drained (${(drainMs / 1000).toFixed(1)} s); informational`,
    target: '>= 0',
  });
  ok =
    report({
      bench: 'dashboard_storm_key_lag',
      value: keyLagMs,
      unit: `ms a key (?) pressed ${keyDuringStorm ? 'during' : 'after'} the storm still waited once the storm was over (key to screen ${stormKeyMs.toFixed(0)} ms in all, ${quietKeyMs.toFixed(0)} ms without a storm)`,
      target: '<= 1000',
    }) && ok;

  // 3. Quit and check the shell's screen is back.
  tmux('send-keys', '-t', SESSION, 'q');
  const exitLine = await waitFor('the dashboard to quit', 10_000, () =>
    new RegExp(`${EXIT_MARK}(\\d+)`).exec(screen()),
  );
  await waitFor('the dashboard process to end', 5_000, () => !alive(pid));
  dashPid = null;
  const altScreen = paneVar('alternate_on');
  const after = screen();
  const restored = exitLine[1] === '0' && altScreen === '0' && after.includes('bench$');
  log(
    `quit: exit status ${exitLine[1]}, alternate screen ${altScreen === '0' ? 'off' : 'STILL ON'}, prompt ${after.includes('bench$') ? 'back' : 'MISSING'}`,
  );
  if (VERBOSE || !restored) console.error(after);
  ok =
    report({
      bench: 'dashboard_quit_restored',
      value: restored ? 1 : 0,
      unit: 'q restored the shell screen (exit 0, alternate screen off, prompt back)',
      target: '== 1',
    }) && ok;

  if (PROFILE_DIR) {
    const prof = readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile') && !profilesBefore.has(f));
    if (prof.length) {
      log('where the scanning window went:');
      summariseProfile(path.join(PROFILE_DIR, prof[0]!), winFrom, winTo, frames);
      log('where the storm window went:');
      summariseProfile(path.join(PROFILE_DIR, prof[0]!), stormFrom, stormTo);
    } else log(`no new .cpuprofile in ${PROFILE_DIR}`);
  }

  cleanup(); // the tmux server and its socket
  const idleSummary = await idle.stop();
  const survivors = await waitFor('no idle process left', 5_000, () => {
    const n = readdirSync('/proc').filter(
      (d) =>
        /^\d+$/.test(d) &&
        (() => {
          try {
            return readFileSync(`/proc/${d}/stat`, 'utf8').includes(' (idle_procs) ');
          } catch {
            return false;
          }
        })(),
    ).length;
    return n === 0 ? 'none' : null;
  }).catch(() => 'SOME (see ps)');
  log(`idle processes: ${idleSummary}; left afterwards: ${survivors}`);
  return ok;
}

let ok = false;
try {
  ok = await main();
} catch (e) {
  log(`failed: ${(e as Error).stack ?? e}`);
} finally {
  cleanup();
}
process.exit(ok ? 0 : 1);
