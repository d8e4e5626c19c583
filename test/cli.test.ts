// The real binary: a usage error, advice on kernel errors, delay accounting off.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path, { join } from 'node:path';
import { test } from 'node:test';
import { fromNative, TaskstatsError } from '../src/kernel/errors.js';
import { delay, exited, needsRoot, spawnTracked, statField } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');

const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 20000, env });

// The one usage error run through the built binary (the rest are in-process, in
// command-line.test.ts): the message, the hint, exit 2, nothing else on stderr or stdout.
test('the built binary (dist/cli.js) with a bad flag: exit 2, the message and the hint on stderr', (t) => {
  const bin = path.join(root, 'dist/cli.js');
  if (!existsSync(bin)) return t.skip('no dist/ in this checkout: run npm run build first');
  const r = spawnSync(bin, ['-b', '-p', '0'], { encoding: 'utf8', timeout: 20000 });
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  assert.equal(
    r.stderr,
    `delaytop: -p 0: out of range (process ids run from 1 to pid_max = ${pidMax})\n` +
      "Try 'delaytop --help' for more information.\n",
  );
  assert.equal(r.stdout, '');
});

test('kernel errors become advice', () => {
  const eperm = fromNative({ code: 'EPERM', message: 'x' }, 'taskstats query');
  assert.ok(eperm instanceof TaskstatsError);
  assert.match(eperm.explain(), /CAP_NET_ADMIN/);
  assert.match(eperm.explain(), /sudo/);
  assert.match(eperm.explain(), /scripts\/install-privileged\.sh/);
  assert.doesNotMatch(eperm.explain(), /setcap/, "never advise setcap on the system's node");
  const enoent = fromNative({ code: 'ENOENT', message: 'x' }, 'open taskstats socket');
  assert.ok(enoent instanceof TaskstatsError);
  assert.match(enoent.explain(), /CONFIG_TASKSTATS/);
});

test('a pid that does not exist: clear message, exit 1', (t) => {
  if (!needsRoot(t)) return;
  // pid_max is the largest id the kernel hands out; find one that is free now
  let pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) - 1;
  while (pid > 1) {
    try {
      readFileSync(`/proc/${pid}/stat`);
      pid--;
    } catch {
      break;
    }
  }
  const r = run(['-b', '-p', String(pid), '-n', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`pid ${pid}: no such process`));
});

test('delay accounting off: the advice says what is n/a and how to turn it on', (t) => {
  if (!needsRoot(t)) return;
  const path = '/proc/sys/kernel/task_delayacct';
  const before = readFileSync(path, 'utf8').trim();
  writeFileSync(path, '0');
  try {
    const r = run(['-b', '--json', '-p', String(process.pid), '-n', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Delay accounting is off/);
    assert.match(r.stderr, /sysctl -w kernel.task_delayacct=1/);
    assert.match(r.stderr, /CPU delay is still valid/);
    const o = JSON.parse(r.stdout.trim());
    assert.match(o.lifetime_delays.IO.na, /off/);
    assert.equal(typeof o.lifetime_delays.CPU.delay_percent, 'number');
  } finally {
    writeFileSync(path, before);
  }
});

test('batch output has no settings: the file is not read (a corrupt one says nothing), -d is 1 s unless given', (t) => {
  const xdg = mkdtempSync(join(os.tmpdir(), 'dt-cli-config-'));
  t.after(() => rmSync(xdg, { recursive: true, force: true }));
  mkdirSync(join(xdg, 'delaytop'));
  writeFileSync(join(xdg, 'delaytop', 'config.json'), '{"intervalSec": 0.05, "threads": tru');
  const env = { ...process.env, XDG_CONFIG_HOME: xdg };
  for (const args of [
    ['-b', '-p', String(process.pid), '-n', '1'],
    ['--no-config', '-b', '-p', String(process.pid), '-n', '1'],
  ]) {
    const r = run(args, env);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning|config\.json/, args.join(' '));
  }
  const started = Date.now();
  const r = run(['-b', '--json', '-p', String(process.pid), '-n', '2'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started >= 1000, 'two refreshes a second apart, not the saved 0.05 s');
});

// -l's JS thread writes at real-time priority, and waits for V8's helper threads in a GC: a
// helper left at normal priority can be kept off the CPU by an exit storm in another session
// while the queue fills (docs/performance.md, "Every exit written"). Every thread is real-time.
test('-l runs every thread of the process real-time: the readers at 2, the writer and its helpers at 1', async (t) => {
  if (!needsRoot(t)) return;
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'src/cli.ts', '-l', '--duration', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ended = exited(child);
  for (let i = 0; i < 300 && !err.includes('listening for exits'); i++) await delay(20);
  assert.match(err, /listening for exits/);
  const threads = readdirSync(`/proc/${child.pid}/task`).map((tid) => {
    const stat = `/proc/${child.pid}/task/${tid}/stat`;
    const comm = readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
    return { tid, comm, priority: Number(statField(stat, 40)), policy: Number(statField(stat, 41)) };
  });
  const shown = JSON.stringify(threads);
  assert.ok(threads.length > 3, shown);
  const SCHED_FIFO = 1;
  assert.ok(
    threads.every((th) => th.policy === SCHED_FIFO),
    `every thread SCHED_FIFO: ${shown}`,
  );
  const readers = threads.filter((th) => th.comm.startsWith('exit-reader'));
  assert.ok(readers.length > 0 && readers.every((th) => th.priority === 2), `readers at 2: ${shown}`);
  assert.ok(
    threads.filter((th) => !th.comm.startsWith('exit-reader')).every((th) => th.priority === 1),
    `the rest at 1: ${shown}`,
  );
  assert.equal(await ended, 0, err);
  assert.match(out, /^summary: \d+ exits received, 0 lost/m);
  assert.doesNotMatch(err, /warning/);
});
