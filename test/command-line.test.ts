// The command line in-process: what each usage error says (the flag and the value named)
// and its exit code 2, without spawning the binary. test/cli.test.ts runs the built binary
// once with a bad flag, for the wiring from here to stderr and the exit status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, usageText, type MachineFacts } from '../src/command-line.js';

/** The usage error argv makes, as delaytop prints it; fails if argv is accepted. */
async function usageError(args: string[], machine?: MachineFacts): Promise<{ exitCode: number; text: string }> {
  const r = await parseCommandLine(args, machine);
  assert.equal(r.ok, false, `${args.join(' ').slice(0, 60)}: accepted`);
  if (r.ok) throw new Error('unreachable');
  return { exitCode: r.exitCode, text: usageText(r.message) };
}

function assertUsage(args: string[], u: { exitCode: number; text: string }, re: RegExp): void {
  const name = args.map((a) => (a.length > 24 ? a.slice(0, 12) + `...(${a.length})` : a)).join(' ');
  assert.equal(u.exitCode, 2, `${name}: exit ${u.exitCode}: ${u.text}`);
  assert.match(u.text, re, name);
  assert.match(u.text, /^delaytop: .*\nTry 'delaytop --help' for more information\.$/s, name);
  assert.doesNotMatch(u.text, /\n\s+at /, `${name}: no stack trace`);
  assert.doesNotMatch(u.text, /at .*\.ts:\d+/, `${name}: no stack trace`);
  assert.doesNotMatch(u.text, /internal error/, name);
}

test('usage errors: exit 2, the flag and value named, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['-b', '-p', '0'], /-p 0: out of range/],
    [['-b', '-p', '-1'], /-p "-1": not a process id/],
    [['-b', '-p', '4294967296'], /-p 4294967296: out of range/],
    [['-b', '-p', 'abc'], /-p "abc": not a process id/],
    [['-b', '-p', '1e3'], /-p "1e3"/],
    [['-b', '-t', '1e3'], /-t "1e3": not a process id/],
    [['-b', '-p', '1', '-d', 'soon'], /-d "soon"/],
    [['-b', '-p', '1', '-n', '0'], /-n "0"/],
    [['--no-such-flag'], /Unknown argument/],
    [['-l', '-r', '0'], /-r "0"/],
    [['-l', '-r', '-1'], /-r "-1"/],
    [['-l', '-r', '-5'], /-r "-5"/],
    [['-l', '-r', '1e12'], /-r "1e12"/],
    [['-l', '-m', '9999'], /-m "9999"/],
    [['-l', '-m', '0-'], /-m "0-"/],
    [['-l', '-m', 'a'], /-m "a"/],
    [['-l', '-m', ''], /-m "": empty/],
    [['-l', '-m', '0,'.repeat(5120)], /-m .*10240 characters/],
    [['-c'], /-c: no command given/],
    [['--speed', '2', '-b', '-t', '1'], /--speed 2: only with --replay/],
  ];
  for (const [args, re] of cases) assertUsage(args, await usageError(args), re);
});

test('bad cpumasks are rejected before any kernel call, exit 2, naming the flag', async () => {
  for (const m of ['9999', '0-', 'a', '', '1'.repeat(10240), '3-1']) {
    const args = ['-l', '-m', m, '--duration', '0.1'];
    assertUsage(args, await usageError(args), /-m /);
  }
});

test('flags are checked against the facts of the machine given', async () => {
  const machine: MachineFacts = { pidMax: () => 100, cpulist: () => '0-3' };
  const pid = ['-b', '-p', '101'];
  assertUsage(
    pid,
    await usageError(pid, machine),
    /^delaytop: -p 101: out of range \(process ids run from 1 to pid_max = 100\)/,
  );
  const cpu = ['-l', '-m', '4'];
  assertUsage(cpu, await usageError(cpu, machine), /-m "4": no CPU 4 on this machine \(possible CPUs: 0-3\)/);
  const ok = await parseCommandLine(['-l', '-m', '1-2', '-r', '64M'], machine);
  assert.ok(ok.ok && ok.run.mode === 'listen');
  assert.deepEqual(ok.run.listener, { cpus: [1, 2], possible: '0-3', rcvbufBytes: 64 << 20 });
});

test('--metrics usage errors: exit 2, naming the flag and value; its options only with it', async () => {
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
  for (const [args, re] of cases) assertUsage(args, await usageError(args), re);
});
