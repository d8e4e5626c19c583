// npm run fuzz [-- INPUTS [SEED]]: the fuzzer of test/kernel/fuzz.test.ts for a long run
// (default 1,000,000 inputs). Prints inputs/s, how many parsed ok or were rejected, and
// every invariant violation with the index and bytes to replay it; exits 1 on any.
import { performance } from 'node:perf_hooks';
import { fuzzRange, hex, newTally, seedCorpus, type Input, type Violation } from './fuzzer.js';

const inputs = Number(process.argv[2] ?? 1_000_000);
const runSeed = Number(process.argv[3] ?? 0x5eed) >>> 0;
if (!Number.isInteger(inputs) || inputs <= 0) {
  console.error('usage: npm run fuzz -- [INPUTS] [SEED]');
  process.exit(2);
}

const seeds = seedCorpus();
const tally = newTally();
const violations: Array<{ index: number; input: Input; e: Violation }> = [];
const t0 = performance.now();
let lastReport = t0;
const CHUNK = 10_000;

console.log(`delaytop fuzz: ${inputs} inputs, seed ${runSeed}, ${seeds.length} seed datagrams`);
for (let from = 0; from < inputs; from += CHUNK) {
  fuzzRange(runSeed, from, Math.min(inputs, from + CHUNK), tally, seeds, (index, input, e) => {
    if (violations.length < 20) violations.push({ index, input, e });
    else violations.length++; // count the rest without keeping them
  });
  const now = performance.now();
  if (now - lastReport > 5000) {
    lastReport = now;
    console.log(
      `  ${tally.inputs} inputs, ${Math.round(tally.inputs / ((now - t0) / 1000))}/s, ${violations.length} violations`,
    );
  }
}
const secs = (performance.now() - t0) / 1000;

const pct = (n: number, d: number) => `${((100 * n) / Math.max(d, 1)).toFixed(1)}%`;
console.log(
  `inputs:              ${tally.inputs} in ${secs.toFixed(1)} s (${Math.round(tally.inputs / secs)} inputs/s)`,
);
console.log(
  `walk parsed whole:   ${tally.inputs - tally.inputsRejected} (${pct(tally.inputs - tally.inputsRejected, tally.inputs)})`,
);
console.log(
  `walk rejected:       ${tally.inputsRejected} (${pct(tally.inputsRejected, tally.inputs)}) with an error field`,
);
console.log(`messages parsed ok:  ${tally.msgsOk}`);
console.log(`STATS decoded:       ${tally.statsDecoded}`);
console.log(`STATS rejected:      ${tally.statsRejected} (DecodeError)`);
console.log(`violations:          ${violations.length}`);
for (const v of violations.filter(Boolean)) {
  console.log(
    `\n#${v.index} (seed ${v.input.seed}, familyId ${v.input.familyId}): ${v.e.message}\n  bytes ${hex(v.input.bytes)}`,
  );
}
process.exit(violations.length ? 1 : 0);
