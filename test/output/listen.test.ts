// Real kernel: delaytop -l sees every exit with the right fields, counts loss exactly,
// and leaves no registration behind; and (with a fake source) what it says at the end.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { runListen } from '../../src/output/listen.js';
import { exitStorm, FakeExitSource } from '../fakes/dashboard-sources.js';
import { delay, needsRoot } from '../helpers.js';

const CLI = ['--import', 'tsx', 'src/cli.ts'];
const ncpu = os.cpus().length;

// A parsed line of `-l --json`: the tests read it field by field, as a consumer would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, checked by the assertions
type JsonLine = any;

interface Run {
  child: ChildProcess;
  lines: JsonLine[];
  listening: Promise<JsonLine>;
  done: Promise<number | null>;
}

function startListen(extra: string[] = []): Run {
  const child = spawn(process.execPath, [...CLI, '-l', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: JsonLine[] = [];
  let onListening: (v: JsonLine) => void;
  const listening = new Promise<JsonLine>((r) => (onListening = r));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const o = JSON.parse(l);
    lines.push(o);
    if (o.type === 'listening') onListening(o);
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      if (code !== 0) process.stderr.write(stderr);
      r(code);
    }),
  );
  return { child, lines, listening, done };
}

/** /proc/net/netlink Drops column for a port id (NETLINK_GENERIC rows). */
function procDrops(portId: number): number | undefined {
  for (const row of readFileSync('/proc/net/netlink', 'utf8').trim().split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f[1] === '16' && Number(f[2]) >>> 0 === portId >>> 0) return Number(f[8]);
  }
  return undefined;
}

test('children with known names, exit codes, signals and CPUs each appear exactly once', async (t) => {
  if (!needsRoot(t)) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dtc-'));
  const run = startListen();
  try {
    await run.listening;
    const expected: { pid: number; comm: string; cpu: number; code: number | null; signal: number | null }[] = [];
    const cases: [string, number | null, number | null][] = [
      ['exit 0', 0, null],
      ['exit 3', 3, null],
      ['exit 42', 42, null],
      ['exit 255', 255, null],
      ['kill -TERM $$', null, 15],
      ['kill -KILL $$', null, 9],
      ['kill -USR1 $$', null, 10],
    ];
    for (let i = 0; i < cases.length; i++) {
      const [script, code, signal] = cases[i]!;
      const comm = `dtc-${i}-x`;
      symlinkSync('/bin/sh', path.join(dir, comm));
      const cpu = i % ncpu;
      const r = spawnSync('taskset', ['-c', String(cpu), path.join(dir, comm), '-c', script]);
      expected.push({ pid: r.pid!, comm, cpu, code, signal });
    }
    await delay(300);
    run.child.kill('SIGINT');
    assert.equal(await run.done, 0);
    const exits = run.lines.filter((l) => l.type === 'exit');
    for (const e of expected) {
      const seen = exits.filter((x) => x.pid === e.pid);
      assert.equal(seen.length, 1, `pid ${e.pid} (${e.comm}) seen ${seen.length} times`);
      const x = seen[0];
      assert.equal(x.comm, e.comm);
      assert.equal(x.cpu, e.cpu, `${e.comm} exited on cpu ${x.cpu}, pinned to ${e.cpu}`);
      assert.equal(x.exit_code, e.code);
      assert.equal(x.signal, e.signal);
      assert.equal(x.tgid, e.pid);
      assert.equal(x.ppid, process.pid);
      assert.equal(x.process_ended, true);
      assert.equal(x.stats.ac_pid, e.pid);
      assert.equal(x.core_dumped, false);
    }
    const summary = run.lines.at(-1);
    assert.equal(summary.type, 'summary');
    assert.equal(summary.lost, 0);
    assert.equal(summary.received, exits.length);
    assert.equal(summary.per_cpu.length, ncpu);
  } finally {
    run.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a multi-threaded child yields its TGID record, attached to the last thread', async (t) => {
  if (!needsRoot(t)) return;
  const run = startListen();
  try {
    await run.listening;
    const code = `const { Worker } = require('node:worker_threads');
      const w = new Worker('let x = 0; for (let i = 0; i < 3e7; i++) x += i;', { eval: true });
      w.on('exit', () => process.exit(7));`;
    const r = spawnSync(process.execPath, ['-e', code]);
    assert.equal(r.status, 7);
    await delay(300);
    run.child.kill('SIGINT');
    assert.equal(await run.done, 0);
    const mine = run.lines.filter((l) => l.type === 'exit' && l.tgid === r.pid);
    assert.ok(mine.length >= 3, `expected several threads of ${r.pid}, saw ${mine.length}`);
    const withTgid = mine.filter((l) => l.tgid_stats);
    assert.equal(withTgid.length, 1, 'exactly one record carries the TGID aggregate');
    const last = withTgid[0];
    assert.equal(last.process_ended, true);
    // The aggregate covers every thread: the sum of their run time, less what each ran
    // between the kernel's two reads of it at its exit (taskstats_exit adds the thread to
    // the aggregate, then fills its own record; a running task's sum_exec_runtime is
    // brought up to date at a tick, 4 ms at HZ=250: a record can be that much ahead of its
    // share, which a loaded machine showed). The worker alone ran ~200 ms.
    const sum = mine.reduce((a, l) => a + BigInt(l.stats.cpu_run_virtual_total), 0n);
    const slack = BigInt(mine.length) * 5_000_000n;
    const tgid = BigInt(last.tgid_stats.cpu_run_virtual_total);
    assert.ok(tgid >= sum - slack, `TGID run time ${tgid} covers every thread's (${sum}, less ${slack})`);
    const worker = mine.reduce(
      (a, l) => (BigInt(l.stats.cpu_run_virtual_total) > a ? BigInt(l.stats.cpu_run_virtual_total) : a),
      0n,
    );
    assert.ok(worker > slack, `the worker's run time (${worker}) is larger than the slack (${slack})`);
    assert.ok(BigInt(last.tgid_stats.cpu_run_virtual_total) > 0n);
    const leader = mine.find((l) => l.pid === r.pid);
    assert.ok(leader, 'the main thread exit is there');
    assert.equal(leader.exit_code, 7);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('tiny receive buffer under a storm: reported loss equals the kernel drop count', async (t) => {
  if (!needsRoot(t)) return;
  const run = startListen(['-r', '4096']);
  try {
    const listening = await run.listening;
    const ports: Record<number, number> = {};
    for (const r of listening.readers) ports[r.cpu] = r.port_id;
    // Stop delaytop's readers so the kernel must drop, then let it see a few more.
    run.child.kill('SIGSTOP');
    const N = 400;
    const storm = spawnSync('sh', ['-c', `i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done`]);
    assert.equal(storm.status, 0);
    run.child.kill('SIGCONT');
    for (let i = 0; i < 20; i++) spawnSync('/bin/true');
    await delay(400);
    const drops = Object.fromEntries(Object.entries(ports).map(([cpu, port]) => [cpu, procDrops(port)]));
    run.child.kill('SIGINT');
    assert.equal(await run.done, 0);
    const summary = run.lines.at(-1);
    assert.equal(summary.type, 'summary');
    let kernelDrops = 0;
    for (const c of summary.per_cpu) {
      assert.equal(c.kernel_drops, drops[c.cpu], `cpu ${c.cpu}: our drop count vs /proc/net/netlink`);
      kernelDrops += c.kernel_drops;
      assert.equal(c.truncated + c.malformed + c.queue_dropped + c.decode_failed, 0);
      assert.equal(c.lost, Math.max(c.kernel_drops, c.seq_gap_lost));
    }
    assert.ok(kernelDrops > 0, 'the storm overflowed a 4 KiB buffer');
    assert.equal(summary.lost, kernelDrops);
    // every exit is accounted for: N + 20 + the shell itself, received or lost
    assert.ok(
      summary.received + summary.lost >= N + 21,
      `received ${summary.received} + lost ${summary.lost} < ${N + 21}`,
    );
    assert.ok(
      run.lines.some((l) => l.type === 'loss' && l.lost > 0),
      'a loss line was printed',
    );
  } finally {
    run.child.kill('SIGCONT');
    run.child.kill('SIGKILL');
  }
});

// The kernel side of deregistration, checked on a live socket (a closed one cannot be
// probed: the kernel purges a dead port's entry at the next exit on that CPU).
const REG_PROBE = `
import socket, struct, subprocess, sys, select
def attr(ty, data):
    return struct.pack('HH', 4 + len(data), ty) + data + b'\\0' * ((4 - len(data) % 4) % 4)
def req(s, fam, cmd, payload, seq, flags=0):
    msg = struct.pack('BBH', cmd, 1, 0) + payload
    s.send(struct.pack('IHHII', 16 + len(msg), fam, 1 | flags, seq, 0) + msg)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
s.bind((0, 0))
req(s, 0x10, 3, attr(2, b'TASKSTATS\\0'), 1)
data = s.recv(4096); off = 20; fam = None
while off < len(data):
    l, ty = struct.unpack_from('HH', data, off)
    if ty == 1: fam = struct.unpack_from('H', data, off + 4)[0]
    off += (l + 3) & ~3
def ack(seq):
    while True:
        d = s.recv(65536)
        ty, = struct.unpack_from('H', d, 4); sq, = struct.unpack_from('I', d, 8)
        if ty == 2 and sq == seq: return struct.unpack_from('i', d, 16)[0]
mask = sys.argv[1].encode() + b'\\0'
req(s, fam, 1, attr(3, mask), 2, 4); assert ack(2) == 0
if sys.argv[2] == 'dereg':
    req(s, fam, 1, attr(4, mask), 3, 4); assert ack(3) == 0
for _ in range(20): subprocess.run(['/bin/true'])
r, _, _ = select.select([s], [], [], 0.5)
print('RECEIVED' if r else 'NOTHING')
req(s, fam, 1, attr(4, mask), 4, 4)
`;

test('kernel: an acknowledged DEREGISTER stops exit events on a live socket (and without it they come)', async (t) => {
  if (!needsRoot(t)) return;
  const mask = `0-${ncpu - 1}`;
  const probe = (mode: string) => execFileSync('python3', ['-c', REG_PROBE, mask, mode], { encoding: 'utf8' }).trim();
  assert.equal(probe('keep'), 'RECEIVED');
  assert.equal(probe('dereg'), 'NOTHING');
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`after ${sig} every CPU's deregistration was acknowledged by the kernel`, async (t) => {
    if (!needsRoot(t)) return;
    const run = startListen();
    try {
      await run.listening;
      run.child.kill(sig);
      assert.equal(await run.done, 0);
      const summary = run.lines.at(-1);
      assert.equal(summary.type, 'summary');
      assert.equal(summary.per_cpu.length, ncpu);
      for (const c of summary.per_cpu) assert.equal(c.deregistered, true, `cpu ${c.cpu}`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
}

test('-l: a reader that stopped reading early, and a deregistration that failed, are each said at the end', async () => {
  const warned: string[] = [];
  const code = await runListen(new FakeExitSource([0, 1]), {
    json: false,
    durationSec: 0,
    write: () => {},
    warn: (l) => warned.push(l),
    interrupted: Promise.resolve(),
    registrations: () => [
      { cpu: 0, registered: false, deregisterError: '', readError: 'ENOMEM' },
      { cpu: 1, registered: true, deregisterError: 'ETIMEDOUT', readError: '' },
    ],
  });
  assert.equal(code, 0);
  assert.deepEqual(warned, [
    'delaytop: cpu 0: the listener stopped reading early (ENOMEM); exits on that CPU after it were not seen',
    'delaytop: cpu 1: deregistration failed (ETIMEDOUT); the kernel drops the stale entry at the next exit on that CPU',
  ]);
});

test('-l: a storm-sized batch is written as it is made, a few thousand lines at a time, every line in order', async () => {
  const source = new FakeExitSource([0]);
  const writes: string[] = [];
  let release!: () => void;
  const interrupted = new Promise<void>((r) => (release = r));
  const run = runListen(source, {
    json: true,
    durationSec: Infinity,
    write: (s) => writes.push(s),
    warn: () => {},
    interrupted,
  });
  const before = writes.length;
  source.emit(exitStorm(100, 10_000));
  const storm = writes.slice(before).join('\n').split('\n');
  release();
  assert.equal(await run, 0);
  assert.ok(writes.length - before >= 5, `written in pieces (${writes.length - before} writes)`);
  assert.ok(
    writes.slice(before).every((w) => w.split('\n').length <= 2048),
    'no write holds more than 2,048 lines',
  );
  const pids = storm.map((l) => (JSON.parse(l) as { pid: number }).pid);
  assert.deepEqual(
    pids,
    Array.from({ length: 10_000 }, (_, i) => 100 + i),
    'every exit, in order',
  );
});

test('-l --json into a pipe nobody reads for a while: every line arrives whole once it is read', async (t) => {
  if (!needsRoot(t)) return;
  // A full pipe keeps what it was given queued; the native lines' buffer must not be reused
  // under it (src/kernel/exit-lines.ts). stdout is paused, so the pipe fills after ~64 KiB.
  const child = spawn(process.execPath, [...CLI, '-l', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  while (!Buffer.concat(chunks).includes('"type":"listening"')) await delay(50);
  child.stdout!.pause();
  const N = 3000;
  const storm = spawnSync('sh', ['-c', `i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done`]);
  assert.equal(storm.status, 0);
  await delay(1500);
  child.stdout!.resume();
  await delay(1500);
  child.kill('SIGINT');
  assert.equal(await done, 0);
  const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
  const parsed: JsonLine[] = [];
  const broken: string[] = [];
  for (const l of lines) {
    try {
      parsed.push(JSON.parse(l));
    } catch {
      broken.push(l.slice(0, 120));
    }
  }
  assert.deepEqual(broken, [], 'every line is whole JSON');
  const exits = parsed.filter((o) => o.type === 'exit');
  const summary = parsed.at(-1);
  assert.equal(summary.type, 'summary');
  assert.equal(summary.lost, 0);
  assert.equal(exits.length, summary.received, 'a line for every exit received');
  assert.ok(exits.filter((o) => o.comm === 'true').length >= N, `all ${N} exits of the storm`);
  assert.ok(chunks.length > 1 && lines.join('\n').length > 1 << 20, 'more than the pipe holds was written');
});
