// Hostile files and places through the real binary: a -w path that is another user's file,
// a hard link or a device; a disk that fills while recording; stdout and stderr that cannot
// be written; recordings with a gap of weeks, a line of 100 MB, STATS no kernel sent.
// Each ends with one line naming what failed and an exit code, never a stack trace.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { decodeTaskstats, keepStatsBytes } from '../src/kernel/decode.js';
import { exitRecordFrom, type CpuCounters } from '../src/kernel/exitrecord.js';
import { systemFacts } from '../src/output/recorder.js';
import { endLine, exitsLine, headerLine, queryLine } from '../src/sources/recordformat.js';
import { buildStats, distinctiveValues } from './kernel/fixtures.js';
import { delay, isRoot } from './helpers.js';
import { counters as cpuCounters } from './fakes/dashboard-sources.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-places-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'f') => path.join(dir, `${name}-${++n}`);

const CLI = ['--import', 'tsx', 'src/cli.ts'];
// Ink draws nothing until exit when it thinks it runs in CI; the pty must not say so.
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI' && !k.startsWith('CI_'))),
  TERM: 'xterm-256color',
};

/** The binary with stdout/stderr as given (a path opens that file), to the end. */
function run(args: string[], io: { stdout?: string; stderr?: string } = {}) {
  const r = spawnSync('sh', ['-c', `exec "$@" >"$OUT" 2>"$ERR"`, 'sh', process.execPath, ...CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...env, OUT: io.stdout ?? tmp('out'), ERR: io.stderr ?? tmp('err') },
  });
  return r;
}

/** Stdout and stderr captured, to the end. */
function runCaptured(args: string[], timeout = 30_000) {
  return spawnSync(process.execPath, [...CLI, ...args], {
    encoding: 'utf8',
    timeout,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function assertOneLine(stderr: string, re: RegExp): void {
  assert.match(stderr, re);
  assert.doesNotMatch(stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
  assert.doesNotMatch(stderr, /internal error/);
}

function needRoot(t: TestContext): boolean {
  if (isRoot) return true;
  t.skip('needs root (chown to uid 65534, mount a tmpfs)');
  return false;
}

const untouched = (file: string) => {
  const st = statSync(file);
  return { text: readFileSync(file, 'utf8'), uid: st.uid, mode: st.mode & 0o777, nlink: st.nlink };
};

// ------------------------------------------------------------------ -w FILE

test("-w onto another user's file (uid 65534): refused, exit 1, the file and its owner untouched", (t) => {
  if (!needRoot(t)) return;
  const file = tmp('theirs');
  writeFileSync(file, 'their notes\n');
  chmodSync(file, 0o644);
  chownSync(file, 65534, 65534);
  const before = untouched(file);
  const r = runCaptured(['-w', file, '-b', '-t', '1', '-n', '1']);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(
    r.stderr,
    new RegExp(`refusing to record to ${esc(file)}: it belongs to uid 65534, not to you \\(uid 0\\)`),
  );
  assert.match(r.stderr, /Remove it, or name a new file/);
  assert.equal(r.stdout, '', 'nothing ran');
  assert.deepEqual(untouched(file), before);
});

test('-w through a hard link (a copy of a passwd file): refused, exit 1, neither name changed', (t) => {
  if (!needRoot(t)) return;
  const original = tmp('passwd');
  writeFileSync(original, 'root:x:0:0:root:/root:/bin/sh\n');
  chmodSync(original, 0o644);
  const link = tmp('link');
  linkSync(original, link);
  const before = untouched(original);
  const r = runCaptured(['-w', link, '-b', '-t', '1', '-n', '1']);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(r.stderr, new RegExp(`refusing to record to ${esc(link)}: it has 2 hard links`));
  assert.deepEqual(untouched(original), before);
  assert.deepEqual(untouched(link), before);
});

test('-w onto a device (/dev/full): refused as not a regular file, exit 1', () => {
  const r = runCaptured(['-w', '/dev/full', '-b', '-t', '1', '-n', '1']);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(r.stderr, /refusing to record to \/dev\/full: it is a character device, not a regular file/);
});

test("-w onto an existing file of one's own (one link): truncated and made 0600", () => {
  const file = tmp('mine');
  writeFileSync(file, 'old contents\n'.repeat(100));
  chmodSync(file, 0o644);
  const r = runCaptured(['-w', file, '-b', '-t', '1', '-n', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('old contents'));
  assert.equal(JSON.parse(text.trimEnd().split('\n').at(-1)!).type, 'end');
});

/** A 64 KiB tmpfs: a recording of every process fills it within a refresh or two. */
function smallDisk(t: TestContext): string {
  const mnt = tmp('mnt');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a tmpfs: ${m.stderr.trim()}`);
    return '';
  }
  t.after(() => {
    spawnSync('umount', [mnt]);
  });
  return mnt;
}

/** The recording after a failed write: whole lines only, no end line, and a replay says so. */
function assertEndsOnWholeLine(file: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends on a whole line');
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string });
  assert.equal(lines[0]!.type, 'header');
  assert.notEqual(lines.at(-1)!.type, 'end');
  const r = runCaptured(['--replay', file, '-b', '--speed', 'max']);
  assert.equal(r.status, 0, r.stderr);
  assertOneLine(r.stderr, new RegExp(`note: the recording ${esc(file)} ends early \\(no end line\\)`));
}

test('-w on a disk that fills (batch): the run ends, exit 1, one line naming the file and ENOSPC; the file ends on a whole line', (t) => {
  if (!needRoot(t)) return;
  const mnt = smallDisk(t);
  if (!mnt) return;
  const file = path.join(mnt, 'rec.jsonl');
  const r = runCaptured(['-w', file, '-b', '-d', '0.2'], 20_000);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assertOneLine(
    r.stderr,
    new RegExp(
      `^delaytop: recording to ${esc(file)} failed: ENOSPC \\(no space left on device\\); the file keeps its first (line|\\d+ lines), without an end line\\n$`,
    ),
  );
  assertEndsOnWholeLine(file);
});

/** The binary in a pseudo-terminal (script(1)), so it opens the dashboard. */
function inPty(args: string[]): { child: ChildProcess; output: () => string; ended: Promise<number | null> } {
  const cmd = `exec '${process.execPath}' ${[...CLI, ...args].map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  track(child);
  return { child, output: () => out, ended };
}

const live = new Set<ChildProcess>();
function track(c: ChildProcess): void {
  live.add(c);
  c.on('exit', () => live.delete(c));
}
after(() => {
  for (const c of live) c.kill('SIGKILL');
});

async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await delay(20);
  }
}

const ALT_OFF = '\x1b[?1049l';

test('-w on a disk that fills (dashboard): the terminal is restored first, then the one line; exit 1', async (t) => {
  if (!needRoot(t)) return;
  const mnt = smallDisk(t);
  if (!mnt) return;
  const file = path.join(mnt, 'rec.jsonl');
  const p = inPty(['-w', file]);
  const code = await within(20_000, p.ended, 'the dashboard ending by itself');
  assert.equal(code, 1, p.output().slice(-500));
  const out = p.output();
  const restored = out.lastIndexOf(ALT_OFF);
  const said = out.indexOf(`delaytop: recording to ${file} failed: ENOSPC (no space left on device)`);
  assert.ok(restored >= 0, 'the alternate screen was left');
  assert.ok(said > restored, `the line comes after the terminal is restored (at ${said}, restored at ${restored})`);
  assert.doesNotMatch(out, /internal error/);
  assertEndsOnWholeLine(file);
});

// ------------------------------------------------------------------ stdout and stderr

test('stdout that cannot be written (-b > /dev/full, --json too): one line naming ENOSPC, exit 1', () => {
  for (const args of [
    ['-b', '-t', '1', '-n', '1'],
    ['-b', '--json', '-t', '1', '-n', '1'],
  ]) {
    const err = tmp('err');
    const r = run(args, { stdout: '/dev/full', stderr: err });
    const text = readFileSync(err, 'utf8');
    assert.equal(r.status, 1, `${args.join(' ')}: ${text}`);
    assert.equal(text, 'delaytop: cannot write to standard output: ENOSPC (no space left on device)\n');
  }
});

test('stdout closed by its reader (| head -c 1): quiet, exit 0', () => {
  const r = spawnSync(
    'sh',
    [
      '-c',
      `"$@" | head -c 1 >/dev/null; echo "status $?"`,
      'sh',
      process.execPath,
      ...CLI,
      '-b',
      '-t',
      '1',
      '-d',
      '0.1',
      '-n',
      '50',
    ],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env,
    },
  );
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'status 0');
});

test('stderr that cannot be written (-l 2> /dev/full): the run goes on to its summary, exit 1, no crash', () => {
  const out = tmp('out');
  const r = run(['-l', '--duration', '0.3'], { stdout: out, stderr: '/dev/full' });
  assert.equal(r.status, 1);
  assert.match(readFileSync(out, 'utf8'), /^summary: /m);
});

// ------------------------------------------------------------------ --replay

// Recordings written with the project's own line writers; the STATS bytes are the fixtures'.
keepStatsBytes(true);
const facts = systemFacts({ statsSource: 'netlink', exitCpus: [0], delayacct: { on: true, onSinceSec: null } });
const stats = (pid: number) => decodeTaskstats(buildStats(16, { ...distinctiveValues(), ac_pid: pid, ac_tgid: pid }));
const counters: CpuCounters[] = [cpuCounters(0, 1)];
const queryAt = (t: number) =>
  queryLine(t, 1_767_225_600_000 + t, null, {
    atNs: 1e9 + t * 1e6,
    results: [{ target: { kind: 'tgid', id: 4242 }, status: 'ok', stats: stats(4242) }],
  });
const exitsAt = (t: number, pid: number) =>
  exitsLine(t, {
    records: [
      exitRecordFrom({ cpu: 0, seq: pid, receivedMs: 1_767_225_600_000 + t, pid, tgid: 0 }, stats(pid), undefined),
    ],
    counters,
  });

function recording(lines: string[]): string {
  const file = tmp('rec');
  writeFileSync(file, [headerLine(facts), ...lines].join('\n') + '\n');
  return file;
}

// a gap past setTimeout's 2^31-1 ms (24.8 days)
const GAP_MS = 2 ** 31 + 5000;
const gapRecording = recording([queryAt(0), exitsAt(0, 5001), queryAt(GAP_MS), exitsAt(GAP_MS, 5002), endLine(GAP_MS)]);

/** utime + stime of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function startReplay(args: string[]) {
  const child = spawn(process.execPath, [...CLI, '--replay', gapRecording, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d;
  });
  const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, ended, stdout: () => stdout, stderr: () => stderr };
}

const SIGNAL_CODE = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

for (const [mode, sig] of [
  [['-b'], 'SIGINT'],
  [['-b', '--json'], 'SIGTERM'],
  [['-l'], 'SIGHUP'],
] as const) {
  test(`--replay ${mode.join(' ')} waiting out a gap of 2^31+ ms: no busy loop, the first ${sig} ends it at once (exit ${SIGNAL_CODE[sig]})`, async (t) => {
    const r = startReplay([...mode]);
    // the first records are played at once; then the replay waits for the one 24.8 days on
    await within(
      20_000,
      waitFor(() => r.stdout().includes('5001') || r.stdout().includes('4242'), 20_000, 'the first records'),
      'start',
    );
    await delay(100);
    const before = cpuTicks(r.child.pid!);
    await delay(600);
    const used = cpuTicks(r.child.pid!) - before;
    assert.ok(used <= 3, `${used * 10} ms of CPU in 600 ms of waiting`);
    const t0 = performance.now();
    r.child.kill(sig);
    const code = await within(3_000, r.ended, `the exit after the first ${sig}`);
    assert.equal(code, SIGNAL_CODE[sig], r.stderr());
    t.diagnostic(`exit ${code} ${(performance.now() - t0).toFixed(0)} ms after ${sig}`);
    assert.doesNotMatch(r.stderr(), /TimeoutOverflowWarning/);
    assert.doesNotMatch(r.stderr(), /internal error/);
  });
}

test('--replay into the dashboard waiting out a gap of 2^31+ ms: the first SIGINT ends it, exit 130, the terminal restored', async () => {
  const p = inPty(['--replay', gapRecording]);
  await within(
    20_000,
    waitFor(() => p.output().includes('replaying'), 20_000, 'the dashboard'),
    'start',
  );
  await delay(300);
  const node = spawnSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' }).stdout.trim();
  assert.match(node, /^\d+$/, 'script runs the binary as its one child');
  process.kill(Number(node), 'SIGINT');
  const code = await within(3_000, p.ended, 'the exit after the first SIGINT');
  assert.equal(code, 130);
  assert.ok(p.output().lastIndexOf(ALT_OFF) > p.output().indexOf('replaying'), 'the alternate screen was left');
  assert.doesNotMatch(p.output(), /TimeoutOverflowWarning|internal error/);
});

/** Peak RSS in KiB of the binary, through python's getrusage of its children. */
function maxRssKiB(args: string[]): { status: number | null; stderr: string; kib: number } {
  const py =
    'import resource, subprocess, sys\n' +
    'r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n' +
    'sys.stderr.write(r.stderr.decode(errors="replace"))\n' +
    'print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const r = spawnSync('python3', ['-c', py, process.execPath, ...CLI, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  const [status, kib] = r.stdout.trim().split(' ').map(Number);
  return { status: status ?? null, stderr: r.stderr, kib: kib ?? NaN };
}

test("--replay of a 100 MB line: an error naming line 2, memory bounded (not the line's size many times over)", () => {
  const small = recording([queryAt(0), endLine(1)]);
  const big = tmp('big');
  writeFileSync(big, headerLine(facts) + '\n{"type":"end","t":1,"x":"');
  writeFileSync(big, Buffer.alloc(100 << 20, 0x61), { flag: 'a' });
  writeFileSync(big, '"}\n', { flag: 'a' });
  const base = maxRssKiB(['--replay', small, '-b', '--speed', 'max']);
  assert.equal(base.status, 0, base.stderr);
  const r = maxRssKiB(['--replay', big, '-b', '--speed', 'max']);
  rmSync(big);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(r.stderr, new RegExp(`${esc(big)}:2: longer than 64 MiB`));
  const grewMiB = (r.kib - base.kib) / 1024;
  assert.ok(
    grewMiB < 100,
    `peak RSS grew by ${grewMiB.toFixed(0)} MiB over a small replay's (${(base.kib / 1024).toFixed(0)} MiB)`,
  );
});

test('--replay of STATS no kernel sent: too long, an implausible version, version 0 without a sibling; each names its line', () => {
  const b64 = (u8: Uint8Array) => Buffer.from(u8).toString('base64');
  const withStats = (bytes: Uint8Array) => {
    const o = JSON.parse(queryAt(5)) as { results: { stats: string }[] };
    o.results[0]!.stats = b64(bytes);
    return JSON.stringify(o);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    [
      '10,000 bytes',
      buildStats(17, distinctiveValues(), { length: 10_000 }),
      /STATS of 10000 bytes is longer than any struct taskstats a kernel sends/,
    ],
    [
      'version 4112',
      buildStats(4112, distinctiveValues(), { layoutVersion: 17 }),
      /STATS version 4112 is not plausible/,
    ],
    [
      'version 0 in a query reply',
      buildStats(0, distinctiveValues(), { layoutVersion: 17 }),
      /STATS version 0, where a kernel always sends the version/,
    ],
  ];
  for (const [what, bytes, re] of cases) {
    const file = recording([queryAt(0), withStats(bytes), endLine(10)]);
    const r = runCaptured(['--replay', file, '-b', '--speed', 'max']);
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assertOneLine(r.stderr, new RegExp(`${esc(file)}:3: result 1: ${re.source}`));
    assert.match(r.stdout, /4242/, `${what}: the valid batch before it was played`);
  }
  // an exit's PID record must carry the version; its TGID record may not (older kernels)
  const exit = JSON.parse(exitsAt(1, 6001)) as { records: { stats: string }[] };
  exit.records[0]!.stats = b64(buildStats(0, distinctiveValues(), { layoutVersion: 16 }));
  const file = recording([JSON.stringify(exit), endLine(2)]);
  const r = runCaptured(['--replay', file, '-l', '--speed', 'max']);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(r.stderr, new RegExp(`${esc(file)}:2: exit record 1: STATS version 0`));
});

test('--replay -b of a recording without samples (an -l recording): a clean end, exit 0', () => {
  const file = recording([exitsAt(0, 7001), endLine(1)]);
  const r = runCaptured(['--replay', file, '-b']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
