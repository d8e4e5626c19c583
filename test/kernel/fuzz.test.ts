// Property test of the native attribute walker and the decoder: thousands of seeded
// mutations of valid datagrams (npm run fuzz does a million). Invariants in test/fuzz/fuzzer.ts:
// no crash, no exception but DecodeError, STATS slices inside the buffer, the walker agrees
// with its TypeScript model, every decoded field equals the bytes at its layout offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkMessages,
  fuzzRange,
  hex,
  inputSeed,
  makeInput,
  newTally,
  place,
  refParse,
  Rng,
  runInput,
  seedCorpus,
  Violation,
} from '../fuzz/fuzzer.js';

const INPUTS = 50_000;

test('every seed datagram parses whole, as the model says', () => {
  const tally = newTally();
  for (const s of seedCorpus()) {
    const msgs = runInput(s.bytes, s.familyId, tally);
    assert.ok(msgs.length > 0 && msgs.every((m) => m.error === undefined), `${s.name}: ${JSON.stringify(msgs)}`);
    assert.deepEqual(msgs, refParse(s.bytes, s.familyId).msgs, s.name);
  }
  assert.equal(tally.inputsRejected, 0);
  assert.ok(tally.statsDecoded > 30);
});

test(`${INPUTS} mutated datagrams: walker and decoder keep every invariant`, () => {
  const tally = newTally();
  const failures: string[] = [];
  fuzzRange(0xdec0de, 0, INPUTS, tally, seedCorpus(), (i, input, e) => {
    if (failures.length < 5) failures.push(`#${i} (${input.seed}): ${e.message}\n  ${hex(input.bytes)}`);
  });
  assert.deepEqual(failures, []);
  assert.equal(tally.inputs, INPUTS);
  // The mix must exercise both outcomes of both layers, or the test proves little.
  assert.ok(tally.inputsRejected > INPUTS / 10, `walker rejected only ${tally.inputsRejected}`);
  assert.ok(tally.inputs - tally.inputsRejected > INPUTS / 10, 'too few inputs parsed whole');
  assert.ok(tally.statsDecoded > INPUTS / 10, `only ${tally.statsDecoded} STATS decoded`);
  assert.ok(tally.statsRejected > INPUTS / 50, `only ${tally.statsRejected} STATS rejected by the decoder`);
});

test('the fuzzer is deterministic: the same (seed, index) gives the same input', () => {
  const seeds = seedCorpus();
  for (const i of [0, 1, 977, 19_999]) {
    const a = new Rng(inputSeed(7, i));
    const b = new Rng(inputSeed(7, i));
    const x = makeInput(a, seeds);
    const y = makeInput(b, seeds);
    assert.deepEqual([hex(x.bytes), x.familyId], [hex(y.bytes), y.familyId]);
    assert.deepEqual(hex(place(a, x.bytes)), hex(place(b, y.bytes)));
  }
});

test('the invariant checks do fire on a lying walker result', () => {
  // Guard against checks that pass everything: hand them results the walker must never give.
  const s = seedCorpus()[0]!;
  const good = runInput(s.bytes, s.familyId, newTally())[0]!;
  const lies = [
    [{ ...good, pid: { id: 1, offset: 36, length: s.bytes.length } }], // runs past the end
    [{ ...good, pid: { id: 1, offset: -4, length: 8 } }],
    [{ ...good, pid: { id: 1, offset: 10, length: 8 } }], // inside the headers
    [{ ...good, errno: -1 }],
    [{ error: 'malformed attribute' }, good], // a walk that went on after an error
  ];
  for (const msgs of lies) {
    assert.throws(() => checkMessages(s.bytes, msgs, newTally()), Violation, JSON.stringify(msgs));
  }
  assert.doesNotThrow(() => checkMessages(s.bytes, [good], newTally()));
});
