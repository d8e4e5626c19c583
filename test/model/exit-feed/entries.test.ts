// A feed entry is made from a partial decode of the exit record (EXIT_FIELDS) and a lean
// summary (lifeSummary): the same entry as from the whole record, and the same largest
// category and flags as computeDelays gives, for records of every kind the rules judge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTaskstats } from '../../../src/kernel/decode.js';
import { exitRecordFrom, lazyExitRecord } from '../../../src/kernel/exitrecord.js';
import { FIELDS, FIELD_SIZE, STRUCT_SIZE } from '../../../src/kernel/layout.js';
import { EXIT_FIELDS, toFeedEntry } from '../../../src/model/exit-feed/entries.js';
import { LEDGER_FIELDS } from '../../../src/model/groups.js';
import { computeDelays, largestDelay } from '../../../src/model/delays.js';
import { exitContext } from '../../../src/model/plausibility.js';

test('a feed entry from the fields it reads is the entry from the whole record', () => {
  let seed = 5;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits repeat with a short period
  };
  const receivedMs = 1_800_000_000_000;
  // values across the rules: zero, small, a second, the task's age, an uptime, a wrapped u64
  const values = [0, 1, 3, 1e6, 1e9, 5e9, 3.2e12, 2 ** 53 + 2];
  let suspects = 0;
  for (let n = 0; n < 3000; n++) {
    for (const version of [9, 14, 15, 16]) {
      const bytes = new Uint8Array(STRUCT_SIZE[version]!);
      const dv = new DataView(bytes.buffer);
      dv.setUint16(0, version, true);
      for (const f of FIELDS) {
        const o = version === 15 ? f.offsetV15 : f.offset;
        if (f.since > version || o === null || f.name === 'version' || f.type !== 'u64') continue;
        if (o + FIELD_SIZE.u64 > bytes.length || rnd(3) === 0) continue;
        const v = f.name === 'ac_btime64' ? receivedMs / 1000 - rnd(100) : values[rnd(values.length)]!;
        dv.setBigUint64(o, BigInt(v), true);
      }
      const env = { cpu: 0, seq: n, receivedMs, pid: 100 + n, tgid: 100 + n };
      // delay accounting unknown, on since boot, or switched on during the task's life
      const sys = ([null, { on: true, onSinceSec: 0 }, { on: true, onSinceSec: receivedMs / 1000 - rnd(60) }] as const)[
        rnd(3)
      ]!;
      const partial = toFeedEntry(lazyExitRecord(env, bytes), sys);
      const whole = toFeedEntry(exitRecordFrom(env, decodeTaskstats(bytes)), sys);
      assert.deepEqual(partial, whole, `v${version} record ${n}`);
      // the summary is what the general computation gives
      const d = computeDelays(
        undefined,
        { stats: decodeTaskstats(bytes), atNs: 0 },
        { check: exitContext(decodeTaskstats(bytes), receivedMs, sys) },
      );
      const big = largestDelay(d);
      assert.deepEqual(
        whole.largest,
        big ? { key: big.key, totalNs: big.totalNs } : null,
        `largest, v${version} record ${n}`,
      );
      assert.deepEqual(whole.suspect, d.totalsSuspect, `suspect, v${version} record ${n}`);
      if (partial.suspect) suspects++;
    }
  }
  assert.ok(suspects > 100, `the records reach the plausibility rules (${suspects} flagged)`);
});

test("the exit fields hold all the group ledger reads of a process's final totals", () => {
  for (const f of LEDGER_FIELDS) assert.ok(EXIT_FIELDS.includes(f), f);
});
