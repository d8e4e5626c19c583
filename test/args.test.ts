import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expandCpulist,
  parseBytes,
  parseCount,
  parseCpumask,
  parseGroupBy,
  parseIds,
  parseListenAddress,
  parseSeconds,
  parseTopCount,
  UsageError,
} from '../src/args.js';

test('ids: whole numbers 1..pid_max only, messages name the flag and value', () => {
  assert.deepEqual(parseIds('-p', 'pid', ['12', '7,9'], 32768), [
    { kind: 'pid', id: 12 },
    { kind: 'pid', id: 7 },
    { kind: 'pid', id: 9 },
  ]);
  for (const bad of ['0', '-1', '4294967296', 'abc', '1e3', '1.5', '', ' ', '0x10', '32769']) {
    assert.throws(
      () => parseIds('-t', 'tgid', [bad], 32768),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /^-t /);
        return true;
      },
      `-t ${bad}`,
    );
  }
});

test('cpulists expand, and bad cpumasks are refused with the possible CPUs named', () => {
  assert.deepEqual(expandCpulist('0-3,8'), [0, 1, 2, 3, 8]);
  assert.deepEqual(expandCpulist('1,1,0'), [0, 1]);
  assert.deepEqual(parseCpumask('-m', '0-1', '0-1'), [0, 1]);
  for (const bad of ['9999', '0-', 'a', '', '1'.repeat(10240), '2-1', '0,,1', '-1']) {
    assert.throws(
      () => parseCpumask('-m', bad, '0-1'),
      (e: unknown) => e instanceof UsageError && /^-m /.test(e.message),
      bad.slice(0, 10),
    );
  }
  assert.throws(() => parseCpumask('-m', '5', '0-3'), /possible CPUs: 0-3/);
});

test('sizes, seconds and counts', () => {
  assert.equal(parseBytes('-r', '16M'), 16 << 20);
  assert.equal(parseBytes('-r', '65536'), 65536);
  for (const bad of ['0', '-5', '1e12', '99999999999', 'lots', '3K'])
    assert.throws(() => parseBytes('-r', bad), UsageError, bad);
  assert.equal(parseSeconds('-d', '0.5'), 0.5);
  for (const bad of ['0', '-1', 'abc', '1e3', '']) assert.throws(() => parseSeconds('-d', bad), UsageError, bad);
  assert.equal(parseCount('-n', '3'), 3);
  for (const bad of ['0', '-2', '1.5', 'x']) assert.throws(() => parseCount('-n', bad), UsageError, bad);
});

test('--metrics [ADDR:]PORT: loopback unless an address is given; every interface only when asked', () => {
  assert.deepEqual(parseListenAddress('--metrics', '9400'), { host: '127.0.0.1', port: 9400 });
  assert.deepEqual(parseListenAddress('--metrics', '0.0.0.0:9400'), { host: '0.0.0.0', port: 9400 });
  assert.deepEqual(parseListenAddress('--metrics', '[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress('--metrics', 'localhost:9400'), { host: 'localhost', port: 9400 });
  for (const bad of [
    '',
    ':9400',
    '65536',
    'abc',
    '9400x',
    '::1:9400',
    'example.com:9400',
    '1.2.3:9400',
    '127.0.0.1:',
  ]) {
    assert.throws(
      () => parseListenAddress('--metrics', bad),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(`--metrics ${JSON.stringify(bad)}:`),
      bad,
    );
  }
});

test('--group-by and --metrics-top: the choices, and whole numbers from 0', () => {
  assert.equal(parseGroupBy('--group-by', 'user'), 'user');
  assert.throws(
    () => parseGroupBy('--group-by', 'pid'),
    /^UsageError: --group-by "pid": expected one of cgroup, comm, user$/,
  );
  assert.equal(parseTopCount('--metrics-top', '0'), 0);
  assert.equal(parseTopCount('--metrics-top', '100'), 100);
  for (const bad of ['-1', '101', '1.5', 'x'])
    assert.throws(() => parseTopCount('--metrics-top', bad), /^UsageError: --metrics-top /, bad);
});
