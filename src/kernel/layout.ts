// struct taskstats: the project's one layout table. Every layer that needs a field's
// name, offset or version reads it from here (decoder, JSON output, fixtures, tests).
// Source: include/uapi/linux/taskstats.h, x86_64 (aligned(8) makes other arches equal).
// v16 offsets were checked against a 6.18 kernel; v15 and v17 come from the headers.

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'comm' | 'timespec';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** offset in every version except 15 */
  readonly offset: number;
  /** offset in v15 (Linux 6.14.0-6.14.8), which interleaved *_delay_max/min; null = absent */
  readonly offsetV15: number | null;
  /** first struct version that has the field */
  readonly since: number;
}

export const FIELD_SIZE: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, u64: 8, comm: 32, timespec: 16 };

const ROWS: ReadonlyArray<readonly [string, FieldType, number, number | null, number]> = [
  ['version', 'u16', 0, 0, 1],
  ['ac_exitcode', 'u32', 4, 4, 2],
  ['ac_flag', 'u8', 8, 8, 2],
  ['ac_nice', 'u8', 9, 9, 2],
  ['cpu_count', 'u64', 16, 16, 1],
  ['cpu_delay_total', 'u64', 24, 24, 1],
  ['blkio_count', 'u64', 32, 48, 1],
  ['blkio_delay_total', 'u64', 40, 56, 1],
  ['swapin_count', 'u64', 48, 80, 1],
  ['swapin_delay_total', 'u64', 56, 88, 1],
  ['cpu_run_real_total', 'u64', 64, 112, 1],
  ['cpu_run_virtual_total', 'u64', 72, 120, 1],
  ['ac_comm', 'comm', 80, 128, 2],
  ['ac_sched', 'u8', 112, 160, 2],
  ['ac_uid', 'u32', 120, 168, 2],
  ['ac_gid', 'u32', 124, 172, 2],
  ['ac_pid', 'u32', 128, 176, 2],
  ['ac_ppid', 'u32', 132, 180, 2],
  ['ac_btime', 'u32', 136, 184, 2],
  ['ac_etime', 'u64', 144, 192, 2],
  ['ac_utime', 'u64', 152, 200, 2],
  ['ac_stime', 'u64', 160, 208, 2],
  ['ac_minflt', 'u64', 168, 216, 2],
  ['ac_majflt', 'u64', 176, 224, 2],
  ['coremem', 'u64', 184, 232, 2],
  ['virtmem', 'u64', 192, 240, 2],
  ['hiwater_rss', 'u64', 200, 248, 2],
  ['hiwater_vm', 'u64', 208, 256, 2],
  ['read_char', 'u64', 216, 264, 2],
  ['write_char', 'u64', 224, 272, 2],
  ['read_syscalls', 'u64', 232, 280, 2],
  ['write_syscalls', 'u64', 240, 288, 2],
  ['read_bytes', 'u64', 248, 296, 3],
  ['write_bytes', 'u64', 256, 304, 3],
  ['cancelled_write_bytes', 'u64', 264, 312, 3],
  ['nvcsw', 'u64', 272, 320, 4],
  ['nivcsw', 'u64', 280, 328, 4],
  ['ac_utimescaled', 'u64', 288, 336, 5],
  ['ac_stimescaled', 'u64', 296, 344, 5],
  ['cpu_scaled_run_real_total', 'u64', 304, 352, 5],
  ['freepages_count', 'u64', 312, 360, 7],
  ['freepages_delay_total', 'u64', 320, 368, 7],
  ['thrashing_count', 'u64', 328, 392, 9],
  ['thrashing_delay_total', 'u64', 336, 400, 9],
  ['ac_btime64', 'u64', 344, 424, 10],
  ['compact_count', 'u64', 352, 432, 11],
  ['compact_delay_total', 'u64', 360, 440, 11],
  ['ac_tgid', 'u32', 368, 464, 12],
  ['ac_tgetime', 'u64', 376, 472, 12],
  ['ac_exe_dev', 'u64', 384, 480, 12],
  ['ac_exe_inode', 'u64', 392, 488, 12],
  ['wpcopy_count', 'u64', 400, 496, 13],
  ['wpcopy_delay_total', 'u64', 408, 504, 13],
  ['irq_count', 'u64', 416, 528, 14],
  ['irq_delay_total', 'u64', 424, 536, 14],
  ['cpu_delay_max', 'u64', 432, 32, 15],
  ['cpu_delay_min', 'u64', 440, 40, 15],
  ['blkio_delay_max', 'u64', 448, 64, 15],
  ['blkio_delay_min', 'u64', 456, 72, 15],
  ['swapin_delay_max', 'u64', 464, 96, 15],
  ['swapin_delay_min', 'u64', 472, 104, 15],
  ['freepages_delay_max', 'u64', 480, 376, 15],
  ['freepages_delay_min', 'u64', 488, 384, 15],
  ['thrashing_delay_max', 'u64', 496, 408, 15],
  ['thrashing_delay_min', 'u64', 504, 416, 15],
  ['compact_delay_max', 'u64', 512, 448, 15],
  ['compact_delay_min', 'u64', 520, 456, 15],
  ['wpcopy_delay_max', 'u64', 528, 512, 15],
  ['wpcopy_delay_min', 'u64', 536, 520, 15],
  ['irq_delay_max', 'u64', 544, 544, 15],
  ['irq_delay_min', 'u64', 552, 552, 15],
  ['cpu_delay_max_ts', 'timespec', 560, null, 17],
  ['blkio_delay_max_ts', 'timespec', 576, null, 17],
  ['swapin_delay_max_ts', 'timespec', 592, null, 17],
  ['freepages_delay_max_ts', 'timespec', 608, null, 17],
  ['thrashing_delay_max_ts', 'timespec', 624, null, 17],
  ['compact_delay_max_ts', 'timespec', 640, null, 17],
  ['wpcopy_delay_max_ts', 'timespec', 656, null, 17],
  ['irq_delay_max_ts', 'timespec', 672, null, 17],
];

export const FIELDS: readonly FieldSpec[] = ROWS.map(([name, type, offset, offsetV15, since]) => ({
  name,
  type,
  offset,
  offsetV15,
  since,
}));

/** The offset of a field in a layout version, or null when that layout lacks it. */
export function offsetIn(f: FieldSpec, layoutVersion: number): number | null {
  if (f.since > layoutVersion) return null;
  return layoutVersion === 15 ? f.offsetV15 : f.offset;
}

/** Fields a (layout version, length) record carries: added by then and inside the length. */
export function fieldsIn(layoutVersion: number, length: number): Array<FieldSpec & { at: number }> {
  const out: Array<FieldSpec & { at: number }> = [];
  for (const f of FIELDS) {
    const at = offsetIn(f, layoutVersion);
    if (at !== null && at + FIELD_SIZE[f.type] <= length) out.push({ ...f, at });
  }
  return out;
}

/** sizeof(struct taskstats) by version, as the kernel sends it. */
export const STRUCT_SIZE: Readonly<Record<number, number>> = {
  2: 248,
  3: 272,
  4: 288,
  5: 312,
  6: 312,
  7: 328,
  8: 328,
  9: 344,
  10: 352,
  11: 368,
  12: 400,
  13: 416,
  14: 432,
  15: 560,
  16: 560,
  17: 688,
};

export const MIN_VERSION = 2;
export const MAX_KNOWN_VERSION = 17;

const category = <K extends string, P extends string>(key: K, prefix: P, since: number) =>
  ({
    key,
    prefix,
    since,
    // the four field names, built once: every row reads them (docs/performance.md)
    count: `${prefix}_count`,
    total: `${prefix}_delay_total`,
    max: `${prefix}_delay_max`,
    min: `${prefix}_delay_min`,
  }) as const;

/** The delay categories, in the order getdelays prints them, with their field names. */
export const CATEGORIES = [
  category('CPU', 'cpu', 1),
  category('IO', 'blkio', 1),
  category('SWAP', 'swapin', 1),
  category('RECLAIM', 'freepages', 7),
  category('THRASHING', 'thrashing', 9),
  category('COMPACT', 'compact', 11),
  category('WPCOPY', 'wpcopy', 13),
  category('IRQ', 'irq', 14),
] as const;

export type CategoryKey = (typeof CATEGORIES)[number]['key'];

/** Version whose size equals len, for records that carry version 0 (old TGID exits). */
export function versionForSize(len: number): number | undefined {
  let best: number | undefined;
  for (const [v, size] of Object.entries(STRUCT_SIZE)) {
    // 560 is both v15 and v16; v16 is what every kernel but 6.14.0-6.14.8 sends.
    if (size === len && Number(v) !== 15) best = Math.max(best ?? 0, Number(v));
  }
  return best;
}
