// JSON lines: exact (a bigint as a decimal string, wherever it is), valid, and safe on a terminal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactRaw, jsonLine } from '../../src/kernel/json.js';

test('jsonLine writes a bigint anywhere as its decimal string, and plain values as JSON.stringify does', () => {
  const big = 2n ** 64n - 1n;
  assert.equal(
    jsonLine({ a: 1, b: [big, { c: big }] }),
    '{"a":1,"b":["18446744073709551615",{"c":"18446744073709551615"}]}',
  );
  assert.equal(jsonLine({ a: 1.5, s: 'x', n: null }), JSON.stringify({ a: 1.5, s: 'x', n: null }));
  assert.equal(
    jsonLine({ stats: exactRaw({ ac_pid: 7, cpu_run_real_total: 2n ** 53n + 1n }) }),
    '{"stats":{"ac_pid":7,"cpu_run_real_total":"9007199254740993"}}',
  );
});

test('jsonLine escapes what a terminal would act on (DEL, C1, U+2028, format characters), and stays valid JSON', () => {
  const comm = 'a\u007fb\u009bc\u2028d\u202ee\x1b';
  const line = jsonLine({ comm });
  assert.equal(line, '{"comm":"a\\u007fb\\u009bc\\u2028d\\u202ee\\u001b"}');
  assert.deepEqual(JSON.parse(line), { comm });
});

test('jsonLine still refuses what JSON cannot hold (a cycle), rather than writing half of it', () => {
  const o: Record<string, unknown> = {};
  o.self = o;
  assert.throws(() => jsonLine(o), TypeError);
});
