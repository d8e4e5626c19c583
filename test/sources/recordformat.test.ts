// The recording format's counters: written camelCase, read in either spelling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CpuCounters } from '../../src/kernel/exitrecord.js';
import { exitsLine, parseRecord, queryLine, type ExitsRec } from '../../src/sources/recordformat.js';

const counters: CpuCounters = {
  cpu: 3,
  received: 100,
  seqGapLost: 4,
  kernelDrops: 5,
  enobufs: 1,
  truncated: 1,
  malformed: 0,
  queueDropped: 2,
  unsolicited: 0,
  summarized: 3,
  decodeFailed: 1,
  // max(kernelDrops, seqGapLost) + truncated + malformed + queueDropped + decodeFailed (summarized
  // ones were received, and counted: not lost)
  lost: 9,
};

test('exit counters round-trip through a recording, lost recomputed from them', () => {
  const line = exitsLine(7, { records: [], counters: [counters] });
  assert.match(line, /"kernelDrops":5/);
  assert.doesNotMatch(line, /"lost"/, 'lost is derived, not stored');
  const rec = parseRecord(line) as ExitsRec;
  assert.deepEqual(rec.batch.counters, [counters]);
});

test('exit counters are also read as -l --json spells them (kernel_drops, seq_gap_lost...)', () => {
  const snake = exitsLine(7, { records: [], counters: [counters] }).replace(
    /"([a-z]+[A-Z][A-Za-z]*)":/g,
    (_, k: string) => `"${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}":`,
  );
  assert.match(snake, /"decode_failed":1,.*"kernel_drops":5,/);
  assert.deepEqual((parseRecord(snake) as ExitsRec).batch.counters, [counters]);
  assert.throws(() => parseRecord(snake.replace('"kernel_drops":5,', '')), /"kernelDrops" is not a whole number/);
});

test('a recording from before the summarized counter reads it as 0', () => {
  const old = exitsLine(7, { records: [], counters: [counters] }).replace(',"summarized":3', '');
  assert.doesNotMatch(old, /summarized/);
  assert.deepEqual((parseRecord(old) as ExitsRec).batch.counters, [{ ...counters, summarized: 0 }]);
});

test("a query's target id past any pid the kernel gives (4,194,304) is a bad line, not a row", () => {
  const line = (id: number) =>
    queryLine(1, 1_700_000_000_000, null, { atNs: 1e9, results: [{ target: { kind: 'tgid', id }, status: 'gone' }] });
  assert.equal(parseRecord(line(4_194_304)).type, 'query');
  assert.throws(() => parseRecord(line(4_194_305)), /result 1: "id" 4194305 is past any pid the kernel gives/);
  assert.throws(() => parseRecord(line(2 ** 40)), /past any pid/);
});
