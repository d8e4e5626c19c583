// The real binary: usage errors, advice on kernel errors, delay accounting off.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromNative, TaskstatsError } from '../src/kernel/errors.js';
import { needsRoot } from './helpers.js';

const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 20000 });

test('usage errors: exit 2, the flag and value named, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['-b', '-p', '0'], /-p 0: out of range/],
    [['-b', '-p', '-1'], /-p "-1": not a process id/],
    [['-b', '-p', '4294967296'], /-p 4294967296: out of range/],
    [['-b', '-p', 'abc'], /-p "abc": not a process id/],
    [['-b', '-t', '1e3'], /-t "1e3": not a process id/],
    [['-b', '-p', '1', '-d', 'soon'], /-d "soon"/],
    [['-b', '-p', '1', '-n', '0'], /-n "0"/],
    [['--no-such-flag'], /Unknown argument/],
    [['-l', '-r', '0'], /-r "0"/],
    [['-l', '-r', '-5'], /-r "-5"/],
    [['-l', '-r', '1e12'], /-r "1e12"/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
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

test('--metrics usage errors: exit 2, naming the flag and value; its options only with it', () => {
  const cases: [string[], RegExp][] = [
    [['--metrics', ':9400'], /--metrics ":9400": "" is not an IP address/],
    [['--metrics', '70000'], /--metrics "70000": the port must be a number from 0 to 65535/],
    [['--metrics', '9400', '--group-by', 'pid'], /--group-by "pid": expected one of cgroup, comm, user/],
    [['--metrics', '9400', '--metrics-top', '-1'], /--metrics-top "-1"/],
    [['--metrics', '9400', '-d', 'soon'], /-d "soon"/],
    [['--metrics', '9400', '-l'], /--metrics with -l/],
    [['--metrics', '9400', '-b'], /--metrics with -b/],
    [['--group-by', 'user', '-b'], /--group-by user: only with --metrics/],
    [['--metrics-top', '3'], /--metrics-top 3: only with --metrics/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});
