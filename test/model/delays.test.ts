// The pure delay model: intervals, lifetime figures, overflow resets, pid reuse, n/a rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodedRecord } from '../fakes/records.js';
import { CATEGORIES, type CategoryKey } from '../../src/kernel/layout.js';
import {
  computeDelays,
  delayPercentOf,
  isReused,
  largestDelay,
  spanOf,
  stillPercentOf,
  type CategoryDelay,
  type Recording,
  type Sample,
  type TaskDelays,
} from '../../src/model/delays.js';
import { recordingFor } from '../../src/model/delayacct.js';

const rec = decodedRecord;

const S = 1e9; // ns per second
const sample = (
  atNs: number,
  fields: Record<string, number | bigint | string>,
  extra: Partial<Sample> = {},
  version = 16,
): Sample => ({
  stats: rec({ ac_btime: 1_700_000_000, ...(version >= 10 ? { ac_btime64: 1_700_000_000 } : {}), ...fields }, version),
  atNs,
  ...extra,
});
const cat = (d: TaskDelays, key: CategoryKey): CategoryDelay => d.categories.find((c) => c.key === key)!;
const near = (a: number | null, b: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

test('interval figures from two samples: percent of wall time, average, events per second', () => {
  const prev = sample(5 * S, {
    cpu_count: 100,
    cpu_delay_total: 1e8,
    blkio_count: 10,
    blkio_delay_total: 0,
    irq_count: 1000,
    irq_delay_total: 5e6,
  });
  const cur = sample(7 * S, {
    cpu_count: 300,
    cpu_delay_total: 5e8,
    cpu_delay_max: 9e6,
    cpu_delay_min: 1e3,
    blkio_count: 14,
    blkio_delay_total: 2e8,
    irq_count: 3000,
    irq_delay_total: 2.5e7,
  });
  const d = computeDelays(prev, cur);
  assert.equal(d.lifetime, false);
  assert.equal(d.reused, false);
  assert.equal(d.intervalNs, 2 * S);
  assert.deepEqual(
    d.categories.map((c) => c.key),
    CATEGORIES.map((c) => c.key),
  );

  const cpu = cat(d, 'CPU');
  near(cpu.delayPercent, 20, 'cpu %'); // 4e8 ns waited in 2 s
  near(cpu.avgDelayNs, 2e6, 'cpu avg'); // 4e8 / 200 events
  near(cpu.eventsPerSec, 100, 'cpu events/s');
  assert.deepEqual(
    [cpu.count, cpu.totalNs, cpu.maxNs, cpu.minNs, cpu.na, cpu.reset],
    [300, 5e8, 9e6, 1e3, null, false],
  );

  const io = cat(d, 'IO');
  near(io.delayPercent, 10, 'io %');
  near(io.avgDelayNs, 5e7, 'io avg');
  near(io.eventsPerSec, 2, 'io events/s');

  // No events in the interval: 0% and no average (not NaN).
  const swap = cat(d, 'SWAP');
  assert.deepEqual([swap.delayPercent, swap.avgDelayNs, swap.eventsPerSec], [0, null, 0]);

  // IRQ: irq_count ticks with the scheduler clock, so no average per event; total and rate stay.
  const irq = cat(d, 'IRQ');
  near(irq.delayPercent, 1, 'irq %');
  near(irq.eventsPerSec, 1000, 'irq events/s');
  assert.equal(irq.avgDelayNs, null);
});

test('the first sample gives lifetime figures over ac_etime, marked lifetime', () => {
  const cur = sample(123 * S, {
    ac_etime: 10_000_000,
    cpu_count: 500,
    cpu_delay_total: 1e9,
    blkio_count: 4,
    blkio_delay_total: 4e8,
  });
  const d = computeDelays(undefined, cur);
  assert.equal(d.lifetime, true);
  assert.equal(d.reused, false);
  assert.equal(d.intervalNs, 10 * S); // ac_etime is in µs
  near(cat(d, 'CPU').delayPercent, 10, 'cpu %');
  near(cat(d, 'CPU').avgDelayNs, 2e6, 'cpu avg');
  near(cat(d, 'CPU').eventsPerSec, 50, 'cpu events/s');
  near(cat(d, 'IO').delayPercent, 4, 'io %');
  near(cat(d, 'IO').avgDelayNs, 1e8, 'io avg');
  // A task with no elapsed time yet: no percentages, but averages from the totals.
  const fresh = computeDelays(undefined, sample(0, { ac_etime: 0, cpu_count: 2, cpu_delay_total: 10 }));
  assert.deepEqual(
    [cat(fresh, 'CPU').delayPercent, cat(fresh, 'CPU').eventsPerSec, cat(fresh, 'CPU').avgDelayNs],
    [null, null, 5],
  );
});

test('a sample no later than the previous one falls back to lifetime figures', () => {
  const prev = sample(5 * S, { cpu_count: 1, cpu_delay_total: 1 });
  const cur = sample(5 * S, { ac_etime: 1_000_000, cpu_count: 3, cpu_delay_total: 1e7 });
  const d = computeDelays(prev, cur);
  assert.equal(d.lifetime, true);
  assert.equal(d.reused, false);
  assert.equal(d.intervalNs, 1 * S);
  near(cat(d, 'CPU').delayPercent, 1, 'cpu %');
});

test('a total that goes back (u64 overflow resets it) counts from 0 and sets reset', () => {
  const prev = sample(0, { cpu_count: 1000, cpu_delay_total: 9e15, blkio_count: 7, blkio_delay_total: 3e8 });
  const cur = sample(1 * S, { cpu_count: 1010, cpu_delay_total: 2e8, blkio_count: 9, blkio_delay_total: 5e8 });
  const d = computeDelays(prev, cur);
  const cpu = cat(d, 'CPU');
  assert.equal(cpu.reset, true);
  near(cpu.delayPercent, 20, 'cpu % counts the new total from 0');
  near(cpu.avgDelayNs, 2e7, 'cpu avg over the 10 events the count says');
  assert.equal(cat(d, 'IO').reset, false);
  near(cat(d, 'IO').delayPercent, 20, 'io %');
  // A count that goes back never gives negative rates.
  const back = computeDelays(
    sample(0, { cpu_count: 50, cpu_delay_total: 10 }),
    sample(S, { cpu_count: 40, cpu_delay_total: 20 }),
  );
  assert.deepEqual([cat(back, 'CPU').eventsPerSec, cat(back, 'CPU').avgDelayNs], [0, null]);
});

test('pid reuse: a new start id or ac_btime means lifetime again, reused = true', () => {
  const prev = sample(0, { cpu_count: 900, cpu_delay_total: 9e8 }, { startId: 'A' });
  const cur = sample(S, { ac_etime: 2_000_000, cpu_count: 10, cpu_delay_total: 2e7 }, { startId: 'B' });
  const d = computeDelays(prev, cur);
  assert.deepEqual([d.lifetime, d.reused, d.intervalNs], [true, true, 2 * S]);
  near(cat(d, 'CPU').delayPercent, 1, 'lifetime % of the new task');
  assert.equal(cat(d, 'CPU').reset, false, 'a new task is not an overflow');

  // Without start ids, ac_btime64 (or ac_btime on records older than v10) tells, beyond the
  // one second the kernel's wall-clock arithmetic flips it by between queries of one task.
  assert.equal(isReused(sample(0, { ac_btime64: 100 }), sample(1, { ac_btime64: 102 })), true);
  assert.equal(isReused(sample(0, { ac_btime64: 100 }), sample(1, { ac_btime64: 101 })), false);
  assert.equal(isReused(sample(0, { ac_btime64: 100 }), sample(1, { ac_btime64: 100 })), false);
  // ... and run time that goes back is another task, whatever btime says.
  assert.equal(
    isReused(
      sample(0, { ac_btime64: 100, cpu_run_virtual_total: 5e6 }),
      sample(1, { ac_btime64: 100, cpu_run_virtual_total: 1e6 }),
    ),
    true,
  );
  assert.equal(isReused(sample(0, { ac_btime: 100 }, {}, 9), sample(1, { ac_btime: 102 }, {}, 9)), true);
  // Start ids win over btime when both samples have one.
  assert.equal(
    isReused(sample(0, { ac_btime64: 1 }, { startId: 7 }), sample(1, { ac_btime64: 2 }, { startId: 7 })),
    false,
  );
  // TGID records have no btime (0): no evidence either way.
  assert.equal(isReused(sample(0, { ac_btime: 0, ac_btime64: 0 }), sample(1, { ac_btime: 0, ac_btime64: 5 })), false);
  assert.equal(
    computeDelays(sample(0, { ac_btime64: 0, ac_btime: 0 }), sample(S, { ac_btime64: 0, ac_btime: 0 })).lifetime,
    false,
  );
});

test('recording off now or at fork: every category but CPU is n/a, with the reason', () => {
  const prev = sample(0, { cpu_count: 1, cpu_delay_total: 1e6, blkio_count: 0 });
  const cur = sample(S, { cpu_count: 11, cpu_delay_total: 1e8, blkio_count: 0 });
  for (const recording of ['off-now', 'off-at-fork'] as const) {
    const d = computeDelays(prev, cur, { recording });
    const cpu = cat(d, 'CPU');
    assert.equal(cpu.na, null, `${recording}: CPU is scheduler data, recorded regardless`);
    near(cpu.delayPercent, 9.9, `${recording}: cpu %`);
    for (const c of d.categories.filter((c) => c.key !== 'CPU')) {
      assert.ok(c.na && /delay accounting/.test(c.na), `${recording}: ${c.key} n/a, got ${c.na}`);
      assert.deepEqual([c.delayPercent, c.avgDelayNs, c.eventsPerSec], [null, null, null], `${recording}: ${c.key}`);
    }
  }
  assert.match(cat(computeDelays(prev, cur, { recording: 'off-now' }), 'IO').na!, /is off/);
  assert.match(cat(computeDelays(prev, cur, { recording: 'off-at-fork' }), 'IO').na!, /when this task started/);
  assert.equal(cat(computeDelays(prev, cur, { recording: 'yes' }), 'IO').na, null);
});

test("categories newer than the record's version are n/a; max/min only from v15 on", () => {
  const d = computeDelays(
    undefined,
    sample(0, { ac_etime: 1e6, freepages_count: 2, freepages_delay_total: 10 }, {}, 8),
  );
  const na = Object.fromEntries(d.categories.map((c) => [c.key, c.na]));
  assert.deepEqual([na.CPU, na.IO, na.SWAP, na.RECLAIM], [null, null, null, null]);
  assert.match(na.THRASHING!, /needs taskstats v9/);
  assert.match(na.COMPACT!, /needs taskstats v11/);
  assert.match(na.WPCOPY!, /needs taskstats v13/);
  assert.match(na.IRQ!, /needs taskstats v14/);
  assert.equal(cat(d, 'RECLAIM').avgDelayNs, 5);
  assert.equal(cat(d, 'CPU').maxNs, null, 'v8 has no *_delay_max');
  const v14 = computeDelays(undefined, sample(0, { ac_etime: 1e6 }, {}, 14));
  assert.ok(v14.categories.every((c) => c.na === null && c.maxNs === null && c.minNs === null));
  const v16 = computeDelays(undefined, sample(0, { ac_etime: 1e6, irq_delay_max: 77, irq_delay_min: 3 }));
  assert.deepEqual([cat(v16, 'IRQ').maxNs, cat(v16, 'IRQ').minNs], [77, 3]);
});

test('u64 totals above 2^53 (bigint in the record) still give figures', () => {
  const prev = sample(0, { cpu_count: 2n ** 60n, cpu_delay_total: 2n ** 60n });
  const cur = sample(S, { cpu_count: 2n ** 60n + 4096n, cpu_delay_total: 2n ** 60n + 2n ** 30n });
  const cpu = cat(computeDelays(prev, cur), 'CPU');
  assert.equal(cpu.reset, false);
  assert.ok(cpu.delayPercent !== null && cpu.delayPercent > 90 && cpu.delayPercent < 125, `${cpu.delayPercent}`);
});

test('largestDelay picks the biggest total among available categories', () => {
  const cur = sample(0, { ac_etime: 1e6, cpu_delay_total: 5, blkio_delay_total: 50, swapin_delay_total: 500 });
  assert.equal(largestDelay(computeDelays(undefined, cur))!.key, 'SWAP');
  assert.equal(largestDelay(computeDelays(undefined, cur, { recording: 'off-now' }))!.key, 'CPU');
  assert.equal(largestDelay(computeDelays(undefined, sample(0, {}))), undefined);
});

test('recordingFor: off now, on since an unknown time, forked before or after it was turned on', () => {
  const ON_SINCE = 1_700_000_500;
  const task = (btime: number, counts: Record<string, number> = {}, version = 16) =>
    rec({ ac_btime: btime, ...(version >= 10 ? { ac_btime64: btime } : {}), cpu_count: 9, ...counts }, version);
  assert.equal(recordingFor(task(ON_SINCE + 1), { on: false, onSinceSec: null }), 'off-now');
  assert.equal(recordingFor(task(ON_SINCE - 100), { on: false, onSinceSec: ON_SINCE }), 'off-now');
  assert.equal(recordingFor(task(ON_SINCE - 100), { on: true, onSinceSec: null }), 'yes');
  assert.equal(recordingFor(task(ON_SINCE + 2), { on: true, onSinceSec: ON_SINCE }), 'yes');
  assert.equal(recordingFor(task(ON_SINCE + 100), { on: true, onSinceSec: ON_SINCE }), 'yes');
  // Forked before a switch-on that an older recording knows only the second of: every
  // non-CPU count is 0, but whether it was on at fork is not known.
  assert.equal(recordingFor(task(ON_SINCE - 100), { on: true, onSinceSec: ON_SINCE }), 'unknown-at-fork');
  // ... unless a non-CPU count says it was recorded after all (CPU counts are no evidence).
  assert.equal(recordingFor(task(ON_SINCE - 100, { blkio_count: 1 }), { on: true, onSinceSec: ON_SINCE }), 'yes');
  assert.equal(recordingFor(task(ON_SINCE - 100, { irq_count: 3 }), { on: true, onSinceSec: ON_SINCE }), 'yes');
  // TGID records have no btime: no evidence against.
  assert.equal(recordingFor(task(0), { on: true, onSinceSec: ON_SINCE }), 'yes');
  // Before v10 only ac_btime exists; from v10 ac_btime64 wins (ac_btime is u32 and wraps in 2106).
  assert.equal(recordingFor(task(ON_SINCE - 100, {}, 9), { on: true, onSinceSec: ON_SINCE }), 'unknown-at-fork');
  assert.equal(
    recordingFor(rec({ ac_btime: ON_SINCE + 100, ac_btime64: ON_SINCE - 100 }), { on: true, onSinceSec: ON_SINCE }),
    'unknown-at-fork',
  );
});

test('recordingFor judges "off at fork" only from what delaytop read: off between two readings that saw it off', () => {
  const T = 1_700_000_000; // s
  const task = (btime: number) => rec({ ac_btime64: btime, cpu_count: 9 });
  // delaytop found it on at T, saw it off from T+100 (last on reading at T+99), on again at T+300 (last off at T+299)
  const seen = {
    firstMs: T * 1000,
    firstOn: true,
    changes: [
      { fromMs: (T + 99) * 1000, toMs: (T + 100) * 1000, on: false },
      { fromMs: (T + 299) * 1000, toMs: (T + 300) * 1000, on: true },
    ],
  };
  const sys = { on: true, onSinceSec: T + 300, seen };
  // started before delaytop looked, while it was on as far as anyone knows: the old code said off-at-fork
  assert.equal(recordingFor(task(T - 1000), sys), 'yes');
  assert.equal(recordingFor(task(T + 50), sys), 'yes', 'started while delaytop saw it on');
  assert.equal(recordingFor(task(T + 200), sys), 'off-at-fork', 'started while delaytop saw it off');
  assert.equal(recordingFor(task(T + 99), sys), 'unknown-at-fork', 'started around the switch-off');
  assert.equal(recordingFor(task(T + 300), sys), 'unknown-at-fork', 'started around the switch-on');
  assert.equal(recordingFor(task(T + 400), sys), 'yes');
  // found off at first: before that, unknown
  const offFirst = {
    on: true,
    onSinceSec: T + 10,
    seen: { firstMs: T * 1000, firstOn: false, changes: [{ fromMs: (T + 9) * 1000, toMs: (T + 10) * 1000, on: true }] },
  };
  assert.equal(recordingFor(task(T - 100), offFirst), 'unknown-at-fork');
  assert.equal(recordingFor(task(T + 5), offFirst), 'off-at-fork');
  const na = computeDelays(undefined, sample(0, { ac_btime64: T - 100, ac_etime: 1e6 }), {
    recording: 'unknown-at-fork',
  }).categories;
  assert.match(na.find((c) => c.key === 'IO')!.na!, /may have been off/);
  assert.equal(na.find((c) => c.key === 'CPU')!.na, null, 'CPU is always recorded');
});

test('delayPercentOf (the table rows) gives what computeDelays gives as delayPercent, in every case', () => {
  const a = sample(10 * S, {
    ac_etime: 5e6,
    cpu_count: 10,
    cpu_delay_total: 4e8,
    blkio_count: 3,
    blkio_delay_total: 9e8,
    swapin_delay_total: 7e8,
    cpu_run_virtual_total: 5e9,
  });
  const cases: [Sample | undefined, Sample, Recording][] = [
    [undefined, a, 'yes'], // lifetime
    [
      a,
      sample(11 * S, {
        ac_etime: 6e6,
        cpu_count: 12,
        cpu_delay_total: 6e8,
        blkio_count: 4,
        blkio_delay_total: 1e9,
        swapin_delay_total: 1e8,
        cpu_run_virtual_total: 6e9,
      }),
      'yes',
    ], // swap total wrapped
    [a, sample(11 * S, { ac_etime: 6e6, cpu_count: 12, cpu_delay_total: 6e8, cpu_run_virtual_total: 1e9 }), 'yes'], // run time went back: another task
    [a, sample(11 * S, { ac_etime: 6e6, cpu_count: 12, cpu_delay_total: 6e8, cpu_run_virtual_total: 6e9 }), 'off-now'],
    [a, sample(10 * S, { ac_etime: 6e6, cpu_delay_total: 6e8, cpu_run_virtual_total: 6e9 }), 'off-at-fork'], // no time passed
  ];
  for (const [prev, cur, recording] of cases) {
    const d = computeDelays(prev, cur, { recording });
    const span = spanOf(prev, cur);
    for (const c of CATEGORIES)
      assert.equal(delayPercentOf(c, prev, cur, span, recording), cat(d, c.key).delayPercent, `${c.key} ${recording}`);
  }
});

test('stillPercentOf is delayPercentOf over an interval in which a total did not move: 0, or null where n/a, for every category, version and recording', () => {
  const recordings: Recording[] = ['yes', 'off-now', 'off-at-fork', 'unknown-at-fork'];
  for (const version of [8, 12, 16]) {
    const fields = { cpu_count: 3, cpu_delay_total: 5e6, blkio_count: 2, blkio_delay_total: 1e6 };
    const prev = sample(5 * S, { ...fields, ac_etime: 5e6 }, {}, version);
    for (const [atNs, etime] of [
      [7 * S, 7e6],
      [5 * S + 1, 5e6],
    ] as const) {
      const cur = sample(atNs, { ...fields, ac_etime: etime }, {}, version);
      const span = spanOf(prev, cur);
      assert.equal(span.lifetime, false, 'an interval (the scan takes this path for intervals only)');
      for (const recording of recordings)
        for (const c of CATEGORIES)
          assert.equal(
            stillPercentOf(c, cur, span, recording),
            delayPercentOf(c, prev, cur, span, recording),
            `${c.key} v${version} ${recording} interval ${span.intervalNs}`,
          );
    }
  }
});
