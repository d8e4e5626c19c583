// The exit lines native makes (native/exit-lines.h through src/kernel/exit-lines.ts) against
// the JS formatters of -l (src/output/listen.ts), byte for byte: records built from the
// layout table, with figures around every bound the plausibility rules draw, names of every
// kind, signals, versions 2-17 and switch-ons of delay accounting. Native may leave any
// record to JS; it must never write a line JS would not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon, loadContract, type ExitRecordHeader } from '../../src/kernel/addon.js';
import { decodeExitBatch, type ExitRecord } from '../../src/kernel/exitrecord.js';
import { ExitLineWriter, exitLinePlans } from '../../src/kernel/exit-lines.js';
import { CATEGORIES, MAX_KNOWN_VERSION, STRUCT_SIZE } from '../../src/kernel/layout.js';
import { lastSwitchOnMs, switchedOnBetween, type DelayacctState } from '../../src/model/delayacct.js';
import { exitJson, exitText } from '../../src/output/listen.js';
import { toFeedEntry } from '../../src/model/exit-feed/entries.js';
import { signalName } from '../../src/output/format.js';
import { buildStats, comm, distinctiveValues, type FixtureValues } from './fixtures.js';

const header = loadContract().exitRecordHeader;
const signalNames = Array.from({ length: 128 }, (_, i) => signalName(i));

interface Rec {
  cpu: number;
  seq: number;
  pid: number;
  tgid: number;
  receivedNs: bigint;
  pidStats: Uint8Array;
  tgidStats?: Uint8Array;
}

/** A drained batch as native/exit-reader.h lays it out (offsets from the contract). */
function pack(recs: Rec[], h: ExitRecordHeader = header): ArrayBuffer {
  const a8 = (n: number) => (n + 7) & ~7;
  const lens = recs.map((r) => h.bytes + a8(r.pidStats.length) + a8(r.tgidStats?.length ?? 0));
  const data = new ArrayBuffer(lens.reduce((a, b) => a + b, 0));
  const dv = new DataView(data);
  let off = 0;
  recs.forEach((r, i) => {
    const put = (at: number, v: number) => dv.setUint32(off + at, v, true);
    put(h.recLen, lens[i]!);
    put(h.cpu, r.cpu);
    put(h.seq, r.seq);
    put(h.pid, r.pid);
    put(h.tgid, r.tgid);
    put(h.pidStatsLen, r.pidStats.length);
    put(h.tgidStatsLen, r.tgidStats?.length ?? 0);
    dv.setBigUint64(off + h.receivedRealtimeNs, r.receivedNs, true);
    new Uint8Array(data, off + h.bytes).set(r.pidStats);
    if (r.tgidStats) new Uint8Array(data, off + h.bytes + a8(r.pidStats.length)).set(r.tgidStats);
    off += lens[i]!;
  });
  return data;
}

/** What -l writes for a batch, by the JS formatters alone. */
function jsLines(data: ArrayBuffer, json: boolean, sys: DelayacctState | null): string {
  return decodeExitBatch(data, header, () => {})
    .map((r) => jsLine(r, json, sys) + '\n')
    .join('');
}
const jsLine = (r: ExitRecord, json: boolean, sys: DelayacctState | null) =>
  json ? exitJson(r, sys) : exitText(r, toFeedEntry(r, sys));

/**
 * What -l writes with native lines for the batch (data's first length bytes), which records
 * native left to JS, and the CPUs of those that failed to decode.
 */
function nativeLines(data: ArrayBuffer, json: boolean, sys: DelayacctState | null, length = data.byteLength) {
  const writer = new ExitLineWriter(loadAddon(), { json, signalNames });
  const out: Buffer[] = [];
  const left: ExitRecord[] = [];
  const bad: number[] = [];
  writer.write(
    data,
    length,
    header,
    { switchedOnMs: lastSwitchOnMs(sys), lineOf: (r) => (left.push(r), jsLine(r, json, sys)) },
    (b) => (out.push(Buffer.from(b)), true),
    (cpu) => bad.push(cpu),
  );
  return { text: Buffer.concat(out).toString('utf8'), left, bad };
}

// A small deterministic generator (xorshift), so a failure names its seed.
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const NOW_MS = 1_796_000_000_000; // 2026-11
const names = ['forker', 'sh', 'a"b', 'back\\slash', 'x'.repeat(15), 'y'.repeat(31), '', 'kworker/0:1'];
const oddNames = [
  comm([0x64, 0x74, 0xc3, 0xa9], 'dté'),
  comm([0x1b, 0x5b, 0x33, 0x31, 0x6d], '\x1b[31m'),
  comm([0x7f], '\x7f'),
  comm([0xff, 0x41], '\udcffA'),
  comm([0xe2, 0x80, 0xae, 0x41], '\u202eA'),
];

/** A value near a bound: equal, just under or over, far under, or 0. */
function near(g: Rng, bound: number): bigint {
  const b = Math.max(0, Math.round(bound));
  const v = g.pick([b, b - 1, b + 1, b + 10_000_001, Math.floor(b / 3), 0, b * 2]);
  return BigInt(Math.max(0, v));
}

function randomStats(g: Rng, lifeUs: number): FixtureValues {
  const v: FixtureValues = { ...distinctiveValues() };
  for (const k of Object.keys(v)) if (typeof v[k] !== 'object') v[k] = BigInt(g.int(1000));
  for (const k of ['ac_flag', 'ac_nice', 'ac_sched']) v[k] = g.int(256);
  for (const k of ['ac_uid', 'ac_gid', 'ac_pid', 'ac_ppid', 'ac_btime'])
    v[k] = g.chance(0.1) ? 0xffffffff : g.int(100_000);
  v.ac_tgid = g.chance(0.2) ? 0 : g.int(100_000);
  v.ac_exitcode = g.pick([0, 1 << 8, 255 << 8, 9, 15, 11 | 0x80, 6 | 0x80, 34, 64, 0x7f, 2 | 0x80]);
  const lifeNs = lifeUs * 1000;
  v.ac_etime = BigInt(lifeUs);
  v.cpu_run_virtual_total = near(g, lifeNs / 2);
  v.cpu_run_real_total = near(g, lifeNs / 2);
  for (const c of CATEGORIES) {
    const total = g.chance(0.3) ? 0n : near(g, g.pick([lifeNs, lifeNs / 2, lifeNs / 10]));
    v[c.total] = total;
    v[c.count] = total === 0n && g.chance(0.7) ? 0n : g.pick([0n, 1n, 3n, 1000n]);
    v[c.max] = g.chance(0.5) ? total : near(g, g.pick([Number(total), lifeNs]));
    v[c.min] = 0n;
  }
  if (g.chance(0.5)) {
    // possible figures, some right on a bound: each total within the life, its max within it
    const share = (n: number) => BigInt(g.chance(0.1) ? Math.round(n) : g.int(Math.round(n) + 1));
    for (const c of CATEGORIES) {
      v[c.total] = share(lifeNs / 4);
      v[c.count] = v[c.total] === 0n && g.chance(0.5) ? 0n : 1n + BigInt(g.int(5));
      v[c.max] = g.chance(0.3) ? v[c.total]! : BigInt(g.int(Number(v[c.total]) + 1));
    }
    v.cpu_run_virtual_total = share(lifeNs / 4);
  }
  if (g.chance(0.05)) v[g.pick(CATEGORIES).total] = 2n ** 60n + 7n; // past 2^53: a string in JSON, and impossible
  if (g.chance(0.05)) v.ac_minflt = 2n ** 64n - 1n;
  v.ac_comm = g.chance(0.85) ? comm(g.pick(names), g.pick(names)) : g.pick(oddNames);
  if (typeof v.ac_comm === 'object' && 'bytes' in v.ac_comm && v.ac_comm.bytes.length === 0) v.ac_comm = comm('', '');
  return v;
}

function randomRecords(g: Rng, n: number): Rec[] {
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const version = g.chance(0.6) ? 16 : g.int(MAX_KNOWN_VERSION + 2); // 0, 1 and 18 among them
    const lifeUs = g.pick([0, 1, 5, 999, 1000, 1234, 99_999, 5_000_000, 86_400_000_000, 200_000_000_000]);
    const layout = STRUCT_SIZE[version] ? version : 16;
    const values = randomStats(g, lifeUs);
    const opts = { placeAt: 0, slack: 0, ...(version === layout ? {} : { layoutVersion: layout }) };
    const pidStats = buildStats(version, values, opts);
    const withTgid = g.chance(0.3);
    // mostly the PID record's version; some 0 (older kernels), 1 (refused) or cut short
    const tgidVersion = g.pick([version, version, version, 0, 1]);
    const tgidLength = g.chance(0.1) ? STRUCT_SIZE[layout]! - 8 : undefined;
    recs.push({
      cpu: g.int(4),
      seq: g.int(1 << 20),
      pid: 1 + g.int(4_000_000),
      tgid: withTgid ? 1 + g.int(4_000_000) : 0,
      receivedNs: BigInt(NOW_MS + g.int(86_400_000)) * 1_000_000n + BigInt(g.int(1_000_000)),
      pidStats,
      ...(withTgid
        ? {
            tgidStats: buildStats(tgidVersion, randomStats(g, lifeUs), {
              ...opts,
              layoutVersion: layout,
              ...(tgidLength ? { length: tgidLength } : {}),
            }),
          }
        : {}),
    });
  }
  return recs;
}

/** Delay accounting as delaytop may have seen it: never switched, or switched on around now. */
function randomDelayacct(g: Rng): DelayacctState | null {
  switch (g.int(4)) {
    case 0:
      return null;
    case 1:
      return { on: true, onSinceSec: 0, seen: { firstMs: NOW_MS - 1e9, firstOn: true, changes: [] } };
    case 2: {
      const toMs = NOW_MS + g.int(86_400_000);
      return {
        on: true,
        onSinceSec: Math.floor(toMs / 1000),
        seen: {
          firstMs: NOW_MS - 1e6,
          firstOn: false,
          changes: [{ fromMs: toMs - 1000, toMs, on: true }],
        },
      };
    }
    default:
      return { on: true, onSinceSec: Math.floor((NOW_MS + g.int(86_400_000)) / 1000) };
  }
}

/** One exit on CPU 1, received at NOW_MS, with these STATS bytes. */
const oneExit = (pidStats: Uint8Array): Rec => ({
  cpu: 1,
  seq: 1,
  pid: 9,
  tgid: 0,
  receivedNs: BigInt(NOW_MS) * 1_000_000n,
  pidStats,
});

/** n exits of a 1-ms life that waited for nothing, named by name(i). */
function waitless(g: Rng, n: number, name: (i: number) => FixtureValues[string]): Rec[] {
  return Array.from({ length: n }, (_, i) => {
    const values = randomStats(g, 1000);
    for (const c of CATEGORIES) {
      values[c.total] = 0n;
      values[c.count] = 0n;
      values[c.max] = 0n;
    }
    values.ac_comm = name(i);
    return {
      cpu: i % 2,
      seq: i,
      pid: 1000 + i,
      tgid: 0,
      receivedNs: BigInt(NOW_MS) * 1_000_000n,
      pidStats: buildStats(16, values),
    };
  });
}

test('native lines equal the JS formatters over random records (text and JSON)', () => {
  let native = 0;
  let total = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const g = rng(seed);
    const data = pack(randomRecords(g, 80));
    const sys = randomDelayacct(g);
    for (const json of [false, true]) {
      const got = nativeLines(data, json, sys);
      const want = jsLines(data, json, sys);
      if (got.text !== want) {
        const a = got.text.split('\n');
        const b = want.split('\n');
        const i = a.findIndex((l, k) => l !== b[k]);
        assert.equal(a[i], b[i], `seed ${seed}, ${json ? 'JSON' : 'text'}, line ${i}`);
      }
      assert.equal(got.text, want);
      total += 80;
      native += 80 - got.left.length;
    }
  }
  // the random records are half impossible or odd by design; plenty are still written natively
  assert.ok(native > total / 4, `native wrote ${native} of ${total} lines`);
});

test('plain exits are written natively, every one', () => {
  const g = rng(7);
  const recs: Rec[] = [];
  for (let i = 0; i < 200; i++) {
    const lifeUs = 1 + g.int(10_000_000);
    const values = randomStats(g, lifeUs);
    for (const c of CATEGORIES) {
      values[c.total] = BigInt(g.int(lifeUs * 100));
      values[c.count] = 1n;
      values[c.max] = values[c.total]!;
    }
    values.cpu_run_virtual_total = BigInt(g.int(lifeUs * 100));
    values.ac_comm = comm(g.pick(names), '');
    values.ac_exitcode = g.pick([0, 9, 1 << 8, 11 | 0x80]);
    recs.push({
      cpu: g.int(2),
      seq: i,
      pid: 100 + i,
      tgid: 0,
      receivedNs: BigInt(NOW_MS) * 1_000_000n,
      pidStats: buildStats(16, values),
    });
  }
  const data = pack(recs);
  const sys: DelayacctState = { on: true, onSinceSec: 0 };
  for (const json of [false, true]) {
    const got = nativeLines(data, json, sys);
    assert.equal(got.left.length, 0, `${json ? 'JSON' : 'text'}: records left to JS`);
    assert.equal(got.text, jsLines(data, json, sys));
  }
});

test('a record that lived through a switch-on of delay accounting is left to the rules', () => {
  // a 3 s IO wait in a 5 s life, nothing else
  const values = randomStats(rng(3), 5_000_000);
  for (const c of CATEGORIES) {
    values[c.total] = c.key === 'IO' ? 3_000_000_000n : 0n;
    values[c.count] = c.key === 'IO' ? 1n : 0n;
    values[c.max] = values[c.total]!;
  }
  values.cpu_run_virtual_total = 0n;
  values.ac_comm = comm('sleepy', 'sleepy');
  const receivedMs = NOW_MS;
  const data = pack([
    { cpu: 0, seq: 1, pid: 5, tgid: 0, receivedNs: BigInt(receivedMs) * 1_000_000n, pidStats: buildStats(16, values) },
  ]);
  // seen off for 1 s, then on 2 s before it exited: it started 5 s before it exited
  const toMs = receivedMs - 2000;
  const sys: DelayacctState = {
    on: true,
    onSinceSec: Math.floor(toMs / 1000),
    seen: { firstMs: toMs - 2000, firstOn: false, changes: [{ fromMs: toMs - 1000, toMs, on: true }] },
  };
  const got = nativeLines(data, false, sys);
  assert.equal(got.left.length, 1);
  assert.match(got.text, /!IO: delay accounting was switched on during this task's life/);
  // and one that started after the switch-on is not
  const later = nativeLines(data, false, {
    ...sys,
    seen: { ...sys.seen!, changes: [{ fromMs: toMs - 6000, toMs: receivedMs - 6000, on: true }] },
  });
  assert.equal(later.left.length, 0);
});

test('lastSwitchOnMs: no switch-on is found for a life that begins at or after it', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const g = rng(seed);
    const sys = randomDelayacct(g);
    if (!sys) continue;
    const last = lastSwitchOnMs(sys);
    const from = Number.isFinite(last) ? last + g.int(5000) : NOW_MS;
    assert.equal(switchedOnBetween(sys, from), null, `seed ${seed}`);
  }
});

test('a corrupt record ends the batch as the JS walker does, and is counted', () => {
  const values = randomStats(rng(5), 1000);
  values.ac_comm = comm('ok', 'ok');
  const good = oneExit(buildStats(16, values));
  const data = pack([good, good, good]);
  const recLen = data.byteLength / 3;
  new DataView(data).setUint32(recLen + header.recLen, 3 * recLen, true); // the second runs past the end
  const writer = new ExitLineWriter(loadAddon(), { json: false, signalNames });
  const out: string[] = [];
  const bad: number[] = [];
  writer.write(
    data,
    data.byteLength,
    header,
    { switchedOnMs: -Infinity, lineOf: (r) => exitText(r) },
    (b) => (out.push(Buffer.from(b).toString()), true),
    (cpu) => bad.push(cpu),
  );
  assert.equal(out.join('').split('\n').filter(Boolean).length, 1);
  assert.deepEqual(bad, [-1]);
});

test('a batch at the start of a larger buffer (a drain into the kept scratch) ends at its length', () => {
  // records native writes and records it leaves to JS, then the bytes of an older, longer
  // batch behind them: none of those may become a line or a corrupt record
  const batch = pack(waitless(rng(19), 40, (i) => (i % 3 ? comm(`t${i}`, '') : comm([0x1b, 0x5b, 0x6d], ''))));
  const older = pack(waitless(rng(23), 90, (i) => comm(`old${i}`, '')));
  const scratch = new Uint8Array(batch.byteLength + older.byteLength);
  scratch.set(new Uint8Array(batch), 0);
  scratch.set(new Uint8Array(older), batch.byteLength); // whole records: read, they would be lines
  for (const json of [false, true]) {
    const got = nativeLines(scratch.buffer, json, null, batch.byteLength);
    assert.equal(got.text, jsLines(batch, json, null));
    assert.deepEqual(got.bad, []);
  }
});

test('a record whose STATS lengths run past its own end is counted, never read from the bytes after it', () => {
  const values = randomStats(rng(29), 1000);
  values.ac_comm = comm('ok', 'ok');
  const good = oneExit(buildStats(16, values));
  const data = pack([good, good, good]);
  const recLen = data.byteLength / 3;
  new DataView(data).setUint32(recLen + header.pidStatsLen, recLen, true); // the second's runs into the third
  const bad: string[] = [];
  assert.equal(decodeExitBatch(data, header, (_cpu, why) => bad.push(why)).length, 2);
  assert.match(bad.join(), /STATS lengths \d+ \+ \d+ run past its \d+ bytes/);
  for (const json of [false, true]) {
    const got = nativeLines(data, json, null);
    assert.equal(got.text.split('\n').filter(Boolean).length, 2);
    assert.equal(got.bad.length, 1);
  }
});

test('format refuses a length past its buffer, a from past the length, and lengths that are not whole', () => {
  const lines = new (loadAddon().ExitLines)({ json: false, signalNames, plans: exitLinePlans() });
  const batch = new ArrayBuffer(64);
  const out = new Uint8Array(64 << 10);
  const holes = new Uint32Array(8);
  for (const [length, from] of [
    [65, 0],
    [64, 65],
    [-1, 0],
    [8.5, 0],
    [64, -8],
    [64, 0.5],
  ] as const) {
    assert.throws(() => lines.format(batch, length, from, out, -Infinity, holes), RangeError, `${length}, ${from}`);
  }
  assert.deepEqual({ ...lines.format(batch, 0, 0, out, -Infinity, holes) }, { next: 0, used: 0, holes: 0 });
});

test('bytes a writer keeps (a full pipe) are never written over by the next lines', () => {
  const data = pack(waitless(rng(11), 1500, (i) => comm(`task${i}`, '')));
  const kept: Uint8Array[] = [];
  const writer = new ExitLineWriter(loadAddon(), { json: true, signalNames });
  // a writer that keeps every piece as it was given, as a full pipe's queue does
  writer.write(
    data,
    data.byteLength,
    header,
    { switchedOnMs: -Infinity, lineOf: (r) => exitJson(r) },
    (b) => (kept.push(b), false),
    () => {},
  );
  assert.ok(kept.length > 1, 'the batch took more than one buffer');
  assert.equal(Buffer.concat(kept).toString('utf8'), jsLines(data, true, null));
});

test('more records left to JS than one call takes (1,024), between native lines, stay in order', () => {
  // every other name needs escaping: a record for JS
  const data = pack(
    waitless(rng(13), 3000, (i) => (i % 2 ? comm([0x1b, 0x5b, 0x6d, 0x30 + (i % 10)], '') : comm(`t${i}`, ''))),
  );
  for (const json of [false, true]) {
    const got = nativeLines(data, json, null);
    assert.equal(got.left.length, 1500);
    assert.equal(got.text, jsLines(data, json, null));
  }
});

test('a batch of nothing but records JS refuses writes nothing, counts each, and ends', () => {
  const values = randomStats(rng(17), 1000);
  // version 1 put cpu_count elsewhere: the decoder refuses it
  const bad = oneExit(buildStats(1, values, { layoutVersion: 16 }));
  const writer = new ExitLineWriter(loadAddon(), { json: false, signalNames });
  const out: Uint8Array[] = [];
  const failed: number[] = [];
  for (const data of [pack([bad]), pack([bad, bad, bad])]) {
    failed.length = 0;
    writer.write(
      data,
      data.byteLength,
      header,
      { switchedOnMs: -Infinity, lineOf: (r) => exitText(r) },
      (b) => (out.push(b), true),
      (cpu) => failed.push(cpu),
    );
    assert.equal(out.length, 0);
    assert.deepEqual(failed, data.byteLength === pack([bad]).byteLength ? [1] : [1, 1, 1]);
  }
});
