// struct taskstats decoding, from payloads built out of the layout table plus hand-made bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTaskstats, DecodeError, num } from '../../src/kernel/decode.js';
import { FIELDS, STRUCT_SIZE } from '../../src/kernel/layout.js';
import { checkDecoded, Rng } from '../fuzz/fuzzer.js';
import { buildStats, comm, distinctiveValues, expectedRaw, TWO53 } from './fixtures.js';

const VERSIONS = Array.from({ length: 16 }, (_, i) => i + 2); // 2..17
const isDecodeError = (re: RegExp) => (e: unknown) => e instanceof DecodeError && re.test(e.message);

for (const v of VERSIONS) {
  test(`v${v}: every field it has decodes exactly, and none it lacks`, () => {
    const bytes = buildStats(v);
    assert.equal(bytes.byteOffset % 2, 1, 'fixture sits at an unaligned offset');
    assert.equal(bytes.length, STRUCT_SIZE[v]);
    const ts = decodeTaskstats(bytes);
    assert.equal(ts.version, v);
    assert.equal(ts.layoutVersion, v);
    assert.equal(ts.length, STRUCT_SIZE[v]);
    assert.deepEqual(ts.raw, expectedRaw(v));
    for (const f of FIELDS) assert.equal(f.name in ts.raw, f.since <= v, `${f.name} (since v${f.since}) in v${v}`);
  });
}

test('u64 values above 2^53 come back exact as bigint, below as number', () => {
  const ts = decodeTaskstats(buildStats(16));
  const vals = distinctiveValues();
  assert.equal(ts.raw.cpu_run_real_total, Number(TWO53 - 1n));
  assert.equal(ts.raw.cpu_run_virtual_total, TWO53);
  assert.equal(ts.raw.ac_etime, 2n ** 64n - 1n);
  assert.equal(typeof ts.raw.cpu_count, 'bigint');
  assert.equal(ts.raw.cpu_count, vals.cpu_count);
  assert.equal(typeof ts.raw.cpu_delay_total, 'number');
  assert.equal(BigInt(ts.raw.cpu_delay_total as number), vals.cpu_delay_total);
  assert.equal(num(ts, 'ac_etime'), 2 ** 64);
  assert.equal(num(ts, 'no_such_field'), undefined);
});

test('v15 interleaves max/min after each total; v16 has them at the end', () => {
  // Hand-placed, not from the table: distinct u64s at the v15 offsets of getdelays' order.
  const b = new Uint8Array(560);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 15, true);
  const at = (off: number, v: bigint) => dv.setBigUint64(off, v, true);
  at(16, 1n);
  at(24, 2n);
  at(32, 3n);
  at(40, 4n); // cpu count, total, max, min
  at(48, 5n);
  at(56, 6n);
  at(64, 7n);
  at(72, 8n); // blkio
  at(80, 9n);
  at(88, 10n);
  at(96, 11n);
  at(104, 12n); // swapin
  at(112, 13n);
  at(120, 14n); // cpu_run_real_total, cpu_run_virtual_total
  b.set([0x76, 0x31, 0x35], 128); // ac_comm "v15"
  dv.setUint32(176, 4321, true); // ac_pid
  at(360, 20n);
  at(368, 21n);
  at(376, 22n);
  at(384, 23n); // freepages
  at(392, 24n);
  at(400, 25n);
  at(408, 26n);
  at(416, 27n); // thrashing
  at(432, 28n);
  at(440, 29n);
  at(448, 30n);
  at(456, 31n); // compact
  at(496, 32n);
  at(504, 33n);
  at(512, 34n);
  at(520, 35n); // wpcopy
  at(528, 36n);
  at(536, 37n);
  at(544, 38n);
  at(552, 39n); // irq
  const r = decodeTaskstats(b).raw;
  assert.deepEqual(
    [
      r.cpu_count,
      r.cpu_delay_total,
      r.cpu_delay_max,
      r.cpu_delay_min,
      r.blkio_count,
      r.blkio_delay_total,
      r.blkio_delay_max,
      r.blkio_delay_min,
    ],
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.deepEqual(
    [
      r.swapin_count,
      r.swapin_delay_total,
      r.swapin_delay_max,
      r.swapin_delay_min,
      r.cpu_run_real_total,
      r.cpu_run_virtual_total,
    ],
    [9, 10, 11, 12, 13, 14],
  );
  assert.deepEqual(
    [r.freepages_count, r.freepages_delay_total, r.freepages_delay_max, r.freepages_delay_min],
    [20, 21, 22, 23],
  );
  assert.deepEqual(
    [r.thrashing_count, r.thrashing_delay_total, r.thrashing_delay_max, r.thrashing_delay_min],
    [24, 25, 26, 27],
  );
  assert.deepEqual(
    [r.compact_count, r.compact_delay_total, r.compact_delay_max, r.compact_delay_min],
    [28, 29, 30, 31],
  );
  assert.deepEqual([r.wpcopy_count, r.wpcopy_delay_total, r.wpcopy_delay_max, r.wpcopy_delay_min], [32, 33, 34, 35]);
  assert.deepEqual([r.irq_count, r.irq_delay_total, r.irq_delay_max, r.irq_delay_min], [36, 37, 38, 39]);
  assert.equal(r.ac_comm, 'v15');
  assert.equal(r.ac_pid, 4321);
  assert.ok(!('cpu_delay_max_ts' in r));
  // The same bytes labelled v16 put blkio_count at 32: the layouts really differ.
  dv.setUint16(0, 16, true);
  const r16 = decodeTaskstats(b).raw;
  assert.equal(r16.blkio_count, 3);
  assert.equal(r16.cpu_delay_max, 28);
});

test('v1 is rejected: it put cpu_count at offset 8', () => {
  const b = buildStats(1, distinctiveValues(), { layoutVersion: 2, length: 248 });
  assert.throws(() => decodeTaskstats(b), isDecodeError(/version 1 .*not supported/));
});

test('an unknown newer version (v18) with a longer length decodes the fields it knows', () => {
  const len = STRUCT_SIZE[17]! + 40;
  const b = buildStats(18, distinctiveValues(), { layoutVersion: 17, length: len });
  new DataView(b.buffer, b.byteOffset).setBigUint64(688, 0xdeadbeefn, true); // a field we do not know
  const ts = decodeTaskstats(b);
  assert.equal(ts.version, 18);
  assert.equal(ts.layoutVersion, 18);
  assert.equal(ts.length, len);
  const want = expectedRaw(17, distinctiveValues(), { length: len });
  want.version = 18;
  assert.deepEqual(ts.raw, want);
  // A newer version never shrinks the struct: shorter than v17 is damage.
  assert.throws(() => decodeTaskstats(b.subarray(0, 600)), isDecodeError(/too short for taskstats v18/));
  // Odd lengths beyond v17: only fields that fit are read.
  assert.deepEqual(Object.keys(decodeTaskstats(b.subarray(0, 689)).raw).length, FIELDS.length);
});

test("a payload longer than its version decodes that version's fields only", () => {
  const b = buildStats(14, distinctiveValues(), { length: 500 });
  const ts = decodeTaskstats(b);
  assert.equal(ts.layoutVersion, 14);
  assert.deepEqual(ts.raw, expectedRaw(14));
});

test('a payload shorter than its version is rejected with DecodeError', () => {
  for (const v of VERSIONS) {
    for (const cut of [1, 8, STRUCT_SIZE[v]! - 2]) {
      const b = buildStats(v).subarray(0, STRUCT_SIZE[v]! - cut);
      assert.throws(
        () => decodeTaskstats(b),
        isDecodeError(new RegExp(`shorter than taskstats v${v}`)),
        `v${v} cut by ${cut}`,
      );
    }
  }
  assert.throws(() => decodeTaskstats(new Uint8Array(0)), isDecodeError(/no version field/));
  assert.throws(() => decodeTaskstats(Uint8Array.of(16)), isDecodeError(/no version field/));
});

test('version 0 (old TGID exit records): the sibling version, else the length', () => {
  // A TGID record: sums of delays and times, no comm/pid/uid/IO/memory (all zero).
  const vals = distinctiveValues();
  for (const f of ['ac_uid', 'ac_gid', 'ac_pid', 'ac_ppid', 'ac_btime', 'read_bytes', 'write_bytes', 'hiwater_rss'])
    vals[f] = 0;
  vals.ac_comm = comm([], '');
  const b = buildStats(0, vals, { layoutVersion: 16 });

  const bySibling = decodeTaskstats(b, { fallbackVersion: 16 });
  assert.equal(bySibling.version, 0);
  assert.equal(bySibling.layoutVersion, 16);
  const want = expectedRaw(0, vals, { layoutVersion: 16 });
  assert.deepEqual(bySibling.raw, want);
  assert.equal(bySibling.raw.ac_comm, '');
  assert.equal(bySibling.raw.ac_pid, 0);

  // 560 bytes is v15 and v16; by length alone it is v16 (v15 lived in 6.14.0-6.14.8 only).
  assert.equal(decodeTaskstats(b).layoutVersion, 16);
  assert.deepEqual(decodeTaskstats(b).raw, want);
  // A v15 sibling says how to read it.
  const b15 = buildStats(0, vals, { layoutVersion: 15 });
  assert.deepEqual(decodeTaskstats(b15, { fallbackVersion: 15 }).raw, expectedRaw(0, vals, { layoutVersion: 15 }));

  const byLength: Array<[number, number]> = [
    [248, 2],
    [272, 3],
    [288, 4],
    [312, 6],
    [328, 8],
    [344, 9],
    [352, 10],
    [368, 11],
    [400, 12],
    [416, 13],
    [432, 14],
    [688, 17],
  ];
  for (const [len, v] of byLength) {
    const ts = decodeTaskstats(buildStats(0, vals, { layoutVersion: v, length: len }));
    assert.equal(ts.layoutVersion, v, `${len} bytes`);
    assert.deepEqual(ts.raw, expectedRaw(0, vals, { layoutVersion: v, length: len }), `${len} bytes`);
  }
  assert.throws(
    () => decodeTaskstats(buildStats(0, vals, { layoutVersion: 16, length: 500 })),
    isDecodeError(/version 0 with unrecognised length 500/),
  );
  assert.throws(() => decodeTaskstats(b, { fallbackVersion: 1 }), isDecodeError(/version 1/));
  // A sibling version larger than the record: shorter than that version.
  assert.throws(
    () => decodeTaskstats(b.subarray(0, 248), { fallbackVersion: 16 }),
    isDecodeError(/shorter than taskstats v16/),
  );
});

test('ac_comm: NUL padding, 32 bytes without NUL, bytes after the NUL, invalid UTF-8', () => {
  const cases: Array<[number[], string]> = [
    [[0x73, 0x68], 'sh'],
    [[], ''],
    [[0x61, 0x62, 0x00, 0x63, 0x64], 'ab'], // stop at the first NUL
    [Array.from({ length: 32 }, (_, i) => 0x41 + (i % 26)), 'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF'], // no NUL at all
    [[0x6b, 0x77, 0x6f, 0x72, 0x6b, 0x65, 0x72, 0x2f, 0x31, 0x3a, 0x32, 0x2d, 0x65, 0x76, 0x65], 'kworker/1:2-eve'], // 15, the kernel's cap
    [[0xe6, 0x97, 0xa5, 0xe6, 0x9c, 0xac], '\u65e5\u672c'],
    // bytes that are not UTF-8 are kept, each as U+DC00+byte (surrogateescape)
    [[0xc3, 0x28, 0x80, 0xfe], '\udcc3(\udc80\udcfe'],
    [[0xe6, 0x97], '\udce6\udc97'], // a character cut in the middle
    [[0xed, 0xa0, 0x80], '\udced\udca0\udc80'], // an encoded surrogate is not UTF-8
    [[0xc0, 0xaf], '\udcc0\udcaf'], // nor an overlong form
    [[0xf0, 0x9f, 0x98, 0x80, 0xff], '\u{1f600}\udcff'],
    [[0x09, 0x0a, 0x7f], '\t\n\u007f'],
  ];
  for (const [bytes, text] of cases) {
    const vals = distinctiveValues();
    vals.ac_comm = comm(bytes, text);
    const ts = decodeTaskstats(buildStats(16, vals));
    assert.equal(ts.raw.ac_comm, text, JSON.stringify(bytes));
    assert.equal(ts.raw.ac_sched, vals.ac_sched, 'the byte after comm is not comm');
  }
});

test('the decoder reads the view it is given, not the ArrayBuffer around it', () => {
  const b = buildStats(16, distinctiveValues(), { placeAt: 7, slack: 64 });
  assert.deepEqual(decodeTaskstats(b).raw, expectedRaw(16));
  const copy = Uint8Array.from(b);
  assert.deepEqual(decodeTaskstats(copy).raw, expectedRaw(16));
});

test('random garbage: decoded right by its version and length, or DecodeError, never anything else', () => {
  const rng = new Rng(0x6a7ba6e);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const len = rng.chance(0.5) ? Object.values(STRUCT_SIZE)[rng.int(16)]! + rng.int(9) - 4 : rng.int(900);
    const b = rng.bytes(Math.max(0, len));
    if (b.length >= 2 && rng.chance(0.7)) {
      b[0] = rng.int(20);
      b[1] = rng.chance(0.9) ? 0 : rng.int(256);
    }
    try {
      const ts = decodeTaskstats(b);
      decoded++;
      assert.equal(ts.raw.version, ts.version);
      checkDecoded(b, ts); // every field equals the bytes at its offset in the layout used
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      rejected++;
    }
  }
  assert.ok(decoded > 300 && rejected > 300, `decoded ${decoded}, rejected ${rejected}`);
});
