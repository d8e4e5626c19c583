import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBatch, type BatchOptions } from '../../src/output/batch.js';
import { ScriptedStatsSource } from '../fakes/scripted-stats.js';

function opts(over: Partial<BatchOptions>): BatchOptions & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    targets: [{ kind: 'pid', id: 42 }],
    intervalSec: 0.05,
    iterations: 3,
    json: true,
    delayacct: () => ({ on: true, onSinceSec: null }),
    write: (s) => out.push(...s.split('\n')),
    warn: (s) => err.push(s),
    interrupted: new Promise(() => {}),
    out,
    err,
    ...over,
  };
}

const base = {
  ac_comm: 'worker',
  ac_pid: 42,
  ac_btime64: 1000,
  ac_etime: 2_000_000,
  cpu_count: 10,
  cpu_delay_total: 1_000_000,
  blkio_count: 2,
  blkio_delay_total: 4_000_000,
};

test('JSON: lifetime first, then rates; exact integers; a gone line once', async () => {
  const src = new ScriptedStatsSource([
    () => ({ status: 'ok', values: base }),
    () => ({
      status: 'ok',
      values: { ...base, cpu_count: 20, cpu_delay_total: 101_000_000, blkio_delay_total: 2n ** 60n },
    }),
    () => ({ status: 'gone' }),
  ]);
  const o = opts({});
  assert.equal(await runBatch(src, o), 0);
  const lines = o.out.map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.type),
    ['sample', 'sample', 'gone'],
  );
  assert.equal(lines[0].lifetime, true);
  assert.ok(lines[0].lifetime_delays && !lines[0].rates);
  // lifetime: 1 ms of CPU delay over 2 s of life
  assert.equal(lines[0].lifetime_delays.CPU.delay_percent, 0.05);
  assert.equal(lines[1].lifetime, false);
  // 100 ms of CPU delay in a 1 s interval (the fake's clock) = 10%, 10 events, 10 ms each
  assert.equal(lines[1].rates.CPU.delay_percent, 10);
  assert.equal(lines[1].rates.CPU.avg_delay_ns, 10_000_000);
  assert.equal(lines[1].rates.CPU.events_per_sec, 10);
  assert.equal(lines[1].stats.blkio_delay_total, (2n ** 60n).toString());
  assert.equal(lines[1].stats.ac_comm, 'worker');
  assert.equal(lines[2].kind, 'pid');
  assert.equal(lines[2].id, 42);
  assert.equal(src.queries, 3);
});

test('a pid that does not exist: a clear message and exit 1', async () => {
  const src = new ScriptedStatsSource([() => ({ status: 'gone' })]);
  const o = opts({ iterations: 1 });
  assert.equal(await runBatch(src, o), 1);
  assert.deepEqual(o.out, []);
  assert.match(o.err.join('\n'), /pid 42: no such process/);
});

test('delay accounting off: non-CPU categories n/a, CPU still valid', async () => {
  const src = new ScriptedStatsSource([() => ({ status: 'ok', values: base })]);
  const o = opts({ iterations: 1, delayacct: () => ({ on: false, onSinceSec: null }) });
  assert.equal(await runBatch(src, o), 0);
  const [l] = o.out.map((x) => JSON.parse(x));
  assert.match(l.lifetime_delays.IO.na, /delay accounting is off/);
  assert.equal(typeof l.lifetime_delays.CPU.delay_percent, 'number');
});

test('text: a header and one row per task, n/a where not recorded', async () => {
  const src = new ScriptedStatsSource([() => ({ status: 'ok', values: base })]);
  const o = opts({ iterations: 1, json: false, delayacct: () => ({ on: false, onSinceSec: null }) });
  assert.equal(await runBatch(src, o), 0);
  assert.match(o.out[0]!, /^delaytop - \d\d:\d\d:\d\d .*delayacct off/);
  assert.match(o.out[1]!, /KIND +ID +COMMAND +CPUD% +IOD% +SWPD%/);
  assert.match(o.out[2]!, /^pid +42 +worker +0\.05~ +n\/a/, 'a first sample is marked ~ (a lifetime average)');
});

test('interrupted: stops before the next refresh', async () => {
  let stop!: () => void;
  const interrupted = new Promise<void>((r) => (stop = r));
  const src = new ScriptedStatsSource([() => ({ status: 'ok', values: base })]);
  const o = opts({ iterations: Infinity, intervalSec: 10, interrupted });
  setTimeout(stop, 50);
  const t0 = Date.now();
  assert.equal(await runBatch(src, o), 0);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(src.queries, 1);
});

test("sleep: beyond setTimeout's 2^31-1 ms limit it still waits (and Infinity waits for the interrupt)", async () => {
  const { sleep } = await import('../../src/output/batch.js');
  for (const ms of [3e9, Infinity]) {
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    let done = false;
    const p = sleep(ms, until).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, `sleep(${ms}) returned at once`);
    stop();
    await p;
    assert.equal(done, true);
  }
});
