// Two whole STATS payloads written out by hand, one v16 and one v15: every field at the
// offset include/uapi/linux/taskstats.h gives it on x86_64 (worked out from the header's
// types and aligned(8) attributes, not taken from src/kernel/layout.ts; checked against
// /work/shared/reference/taskstats_layout.json), with a value of its own. The decoder must
// give back exactly these fields and values. A slip in the layout table shows up here as
// a named field with the wrong value, which the table-built fixtures cannot catch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTaskstats, type RawValue } from '../../src/kernel/decode.js';

type Row = [name: string, offset: number, type: 'u8' | 'u16' | 'u32' | 'u64' | 'comm', value: number | bigint | string];

function payload(size: number, rows: readonly Row[]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [, off, type, v] of rows) {
    if (type === 'u8') dv.setUint8(off, Number(v));
    else if (type === 'u16') dv.setUint16(off, Number(v), true);
    else if (type === 'u32') dv.setUint32(off, Number(v), true);
    else if (type === 'u64') dv.setBigUint64(off, BigInt(v), true);
    else b.set(new TextEncoder().encode(String(v)), off);
  }
  return b;
}

function check(bytes: Uint8Array, rows: readonly Row[], version: number): void {
  const ts = decodeTaskstats(bytes);
  assert.equal(ts.version, version);
  assert.equal(ts.length, bytes.length);
  for (const [name, off, , v] of rows) {
    // u64s above 2^53-1 come back as bigint, the rest as numbers
    const want: RawValue =
      typeof v === 'bigint' && v > BigInt(Number.MAX_SAFE_INTEGER) ? v : typeof v === 'bigint' ? Number(v) : v;
    assert.deepEqual(ts.raw[name], want, `${name} at ${off}`);
  }
  assert.deepEqual(
    Object.keys(ts.raw).sort(),
    rows.map(([n]) => n).sort(),
    'no field more or less than the header has',
  );
}

// A `dd` thread that dumped core on SIGSEGV, as a v16 exit record (Linux 6.15+: 560 bytes,
// the *_delay_max/min pairs appended after irq_delay_total).
const V16: Row[] = [
  ['version', 0, 'u16', 16],
  ['ac_exitcode', 4, 'u32', 0x8b], // __u32 after a __u16: aligned to 4
  ['ac_flag', 8, 'u8', 0x01 | 0x08 | 0x20], // AFORK | ACORE | AGROUP
  ['ac_nice', 9, 'u8', 5],
  ['cpu_count', 16, 'u64', 1234n], // aligned(8): 10 -> 16
  ['cpu_delay_total', 24, 'u64', 5_000_000n],
  ['blkio_count', 32, 'u64', 17n],
  ['blkio_delay_total', 40, 'u64', 250_000_000n],
  ['swapin_count', 48, 'u64', 3n],
  ['swapin_delay_total', 56, 'u64', 9_000_000n],
  ['cpu_run_real_total', 64, 'u64', 800_000_000n],
  ['cpu_run_virtual_total', 72, 'u64', 790_000_000n],
  ['ac_comm', 80, 'comm', 'dd'], // char[32]: 80..111
  ['ac_sched', 112, 'u8', 0], // aligned(8); ac_pad[3] at 113..115 is not a field
  ['ac_uid', 120, 'u32', 1000], // aligned(8): 116 -> 120
  ['ac_gid', 124, 'u32', 1001],
  ['ac_pid', 128, 'u32', 4242],
  ['ac_ppid', 132, 'u32', 4200],
  ['ac_btime', 136, 'u32', 1_767_000_000],
  ['ac_etime', 144, 'u64', 2_000_000n], // aligned(8): 140 -> 144
  ['ac_utime', 152, 'u64', 300_000n],
  ['ac_stime', 160, 'u64', 490_000n],
  ['ac_minflt', 168, 'u64', 150n],
  ['ac_majflt', 176, 'u64', 2n],
  ['coremem', 184, 'u64', 7_000n],
  ['virtmem', 192, 'u64', 21_000n],
  ['hiwater_rss', 200, 'u64', 1_800n],
  ['hiwater_vm', 208, 'u64', 5_500n],
  ['read_char', 216, 'u64', 1_048_576n],
  ['write_char', 224, 'u64', 1_048_576n],
  ['read_syscalls', 232, 'u64', 1_024n],
  ['write_syscalls', 240, 'u64', 2_048n],
  ['read_bytes', 248, 'u64', 0n],
  ['write_bytes', 256, 'u64', 1_048_576n],
  ['cancelled_write_bytes', 264, 'u64', 4_096n],
  ['nvcsw', 272, 'u64', 31n],
  ['nivcsw', 280, 'u64', 7n],
  ['ac_utimescaled', 288, 'u64', 300_001n],
  ['ac_stimescaled', 296, 'u64', 490_001n],
  ['cpu_scaled_run_real_total', 304, 'u64', 800_000_001n],
  ['freepages_count', 312, 'u64', 4n],
  ['freepages_delay_total', 320, 'u64', 1_200_000n],
  ['thrashing_count', 328, 'u64', 1n],
  ['thrashing_delay_total', 336, 'u64', 600_000n],
  ['ac_btime64', 344, 'u64', 1_767_000_000n],
  ['compact_count', 352, 'u64', 2n],
  ['compact_delay_total', 360, 'u64', 80_000n],
  ['ac_tgid', 368, 'u32', 4242],
  ['ac_tgetime', 376, 'u64', 2_000_100n], // aligned(8): 372 -> 376
  ['ac_exe_dev', 384, 'u64', 0x10303n],
  ['ac_exe_inode', 392, 'u64', 2n ** 60n + 7n], // above 2^53: exact as bigint
  ['wpcopy_count', 400, 'u64', 6n],
  ['wpcopy_delay_total', 408, 'u64', 66_000n],
  ['irq_count', 416, 'u64', 900n],
  ['irq_delay_total', 424, 'u64', 45_000n],
  ['cpu_delay_max', 432, 'u64', 1_000_000n],
  ['cpu_delay_min', 440, 'u64', 400n],
  ['blkio_delay_max', 448, 'u64', 90_000_000n],
  ['blkio_delay_min', 456, 'u64', 1_000_000n],
  ['swapin_delay_max', 464, 'u64', 5_000_000n],
  ['swapin_delay_min', 472, 'u64', 1_500_000n],
  ['freepages_delay_max', 480, 'u64', 700_000n],
  ['freepages_delay_min', 488, 'u64', 100_000n],
  ['thrashing_delay_max', 496, 'u64', 600_000n],
  ['thrashing_delay_min', 504, 'u64', 600_000n],
  ['compact_delay_max', 512, 'u64', 50_000n],
  ['compact_delay_min', 520, 'u64', 30_000n],
  ['wpcopy_delay_max', 528, 'u64', 20_000n],
  ['wpcopy_delay_min', 536, 'u64', 5_000n],
  ['irq_delay_max', 544, 'u64', 900n],
  ['irq_delay_min', 552, 'u64', 10n],
];

// The same kind of thread as v15 (Linux 6.14.0-6.14.8, also 560 bytes): each category's
// max and min follow its total, so everything after cpu_delay_total moves.
const V15: Row[] = [
  ['version', 0, 'u16', 15],
  ['ac_exitcode', 4, 'u32', 0x0100], // exit(1)
  ['ac_flag', 8, 'u8', 0x01],
  ['ac_nice', 9, 'u8', 0],
  ['cpu_count', 16, 'u64', 77n],
  ['cpu_delay_total', 24, 'u64', 3_300_000n],
  ['cpu_delay_max', 32, 'u64', 700_000n],
  ['cpu_delay_min', 40, 'u64', 1_200n],
  ['blkio_count', 48, 'u64', 9n],
  ['blkio_delay_total', 56, 'u64', 45_000_000n],
  ['blkio_delay_max', 64, 'u64', 20_000_000n],
  ['blkio_delay_min', 72, 'u64', 800_000n],
  ['swapin_count', 80, 'u64', 1n],
  ['swapin_delay_total', 88, 'u64', 2_000_000n],
  ['swapin_delay_max', 96, 'u64', 2_000_000n],
  ['swapin_delay_min', 104, 'u64', 2_000_000n],
  ['cpu_run_real_total', 112, 'u64', 60_000_000n],
  ['cpu_run_virtual_total', 120, 'u64', 58_000_000n],
  ['ac_comm', 128, 'comm', 'tar'], // char[32]: 128..159
  ['ac_sched', 160, 'u8', 1],
  ['ac_uid', 168, 'u32', 0], // aligned(8): 164 -> 168
  ['ac_gid', 172, 'u32', 0],
  ['ac_pid', 176, 'u32', 999],
  ['ac_ppid', 180, 'u32', 998],
  ['ac_btime', 184, 'u32', 1_740_000_000],
  ['ac_etime', 192, 'u64', 150_000n], // aligned(8): 188 -> 192
  ['ac_utime', 200, 'u64', 20_000n],
  ['ac_stime', 208, 'u64', 38_000n],
  ['ac_minflt', 216, 'u64', 600n],
  ['ac_majflt', 224, 'u64', 12n],
  ['coremem', 232, 'u64', 400n],
  ['virtmem', 240, 'u64', 1_300n],
  ['hiwater_rss', 248, 'u64', 4_000n],
  ['hiwater_vm', 256, 'u64', 9_000n],
  ['read_char', 264, 'u64', 10_240n],
  ['write_char', 272, 'u64', 20_480n],
  ['read_syscalls', 280, 'u64', 10n],
  ['write_syscalls', 288, 'u64', 20n],
  ['read_bytes', 296, 'u64', 8_192n],
  ['write_bytes', 304, 'u64', 16_384n],
  ['cancelled_write_bytes', 312, 'u64', 0n],
  ['nvcsw', 320, 'u64', 40n],
  ['nivcsw', 328, 'u64', 3n],
  ['ac_utimescaled', 336, 'u64', 20_001n],
  ['ac_stimescaled', 344, 'u64', 38_001n],
  ['cpu_scaled_run_real_total', 352, 'u64', 60_000_001n],
  ['freepages_count', 360, 'u64', 2n],
  ['freepages_delay_total', 368, 'u64', 300_000n],
  ['freepages_delay_max', 376, 'u64', 200_000n],
  ['freepages_delay_min', 384, 'u64', 100_000n],
  ['thrashing_count', 392, 'u64', 0n],
  ['thrashing_delay_total', 400, 'u64', 0n],
  ['thrashing_delay_max', 408, 'u64', 0n],
  ['thrashing_delay_min', 416, 'u64', 0n],
  ['ac_btime64', 424, 'u64', 1_740_000_000n],
  ['compact_count', 432, 'u64', 1n],
  ['compact_delay_total', 440, 'u64', 11_000n],
  ['compact_delay_max', 448, 'u64', 11_000n],
  ['compact_delay_min', 456, 'u64', 11_000n],
  ['ac_tgid', 464, 'u32', 999],
  ['ac_tgetime', 472, 'u64', 150_500n], // aligned(8): 468 -> 472
  ['ac_exe_dev', 480, 'u64', 0x801n],
  ['ac_exe_inode', 488, 'u64', 131_077n],
  ['wpcopy_count', 496, 'u64', 5n],
  ['wpcopy_delay_total', 504, 'u64', 25_000n],
  ['wpcopy_delay_max', 512, 'u64', 9_000n],
  ['wpcopy_delay_min', 520, 'u64', 2_000n],
  ['irq_count', 528, 'u64', 60n],
  ['irq_delay_total', 536, 'u64', 3_000n],
  ['irq_delay_max', 544, 'u64', 400n],
  ['irq_delay_min', 552, 'u64', 5n],
];

test('a hand-written v16 payload (560 bytes) decodes to its values, field by field', () => {
  check(payload(560, V16), V16, 16);
});

test('a hand-written v15 payload (560 bytes, max/min interleaved) decodes to its values, field by field', () => {
  check(payload(560, V15), V15, 15);
});

test('both tables name the same fields: v15 and v16 differ in where, not what', () => {
  assert.deepEqual(V15.map(([n]) => n).sort(), V16.map(([n]) => n).sort());
});
