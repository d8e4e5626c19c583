import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expandCpulist,
  parseBytes,
  parseCount,
  parseCpumask,
  parseIds,
  parseSeconds,
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
