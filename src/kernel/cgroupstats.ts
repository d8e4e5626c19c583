// struct cgroupstats (include/uapi/linux/cgroupstats.h): five u64 task counts by state,
// the CGROUPSTATS_TYPE_CGROUP_STATS payload of a CGROUPSTATS_CMD_GET reply.
import { DecodeError, readU64, type U64 } from './decode.js';

export const CGROUPSTATS_FIELDS = [
  'nr_sleeping',
  'nr_running',
  'nr_stopped',
  'nr_uninterruptible',
  'nr_io_wait',
] as const;
export type CgroupStats = Record<(typeof CGROUPSTATS_FIELDS)[number], U64>;

/** Decode by length: the struct may grow at the end, never shrink. */
export function decodeCgroupStats(bytes: Uint8Array): CgroupStats {
  const need = CGROUPSTATS_FIELDS.length * 8;
  if (bytes.byteLength < need)
    throw new DecodeError(`cgroupstats payload of ${bytes.byteLength} bytes is shorter than ${need}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {} as CgroupStats;
  CGROUPSTATS_FIELDS.forEach((f, i) => {
    out[f] = readU64(dv, i * 8);
  });
  return out;
}
