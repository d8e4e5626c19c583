// Byte-level fixtures for the decoder and the native walker, built from the layout table
// (src/kernel/layout.ts) plus hand-written edge cases. Nothing here is copied from a live
// run: every byte is placed by these builders, so a test can say exactly what it expects.
import { FIELDS, FIELD_SIZE, STRUCT_SIZE, type FieldSpec } from '../../src/kernel/layout.js';
import type { RawValue } from '../../src/kernel/decode.js';

// Wire constants (include/uapi/linux/netlink.h, genetlink.h, taskstats.h), written out
// again on purpose: the fixtures must not share a mistake with native/nl.h.
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const GENL_ID_CTRL = 0x10;
export const TASKSTATS_CMD_NEW = 2;
export const TASKSTATS_GENL_VERSION = 1;
export const TYPE_PID = 1;
export const TYPE_TGID = 2;
export const TYPE_STATS = 3;
export const TYPE_AGGR_PID = 4;
export const TYPE_AGGR_TGID = 5;
export const TYPE_NULL = 6;
export const NLA_F_NESTED = 0x8000;

/** ac_comm as bytes plus the text the decoder must make of them (written by hand). */
export interface CommValue {
  bytes: Uint8Array;
  text: string;
}
export interface TimespecValue {
  tv_sec: bigint;
  tv_nsec: bigint;
}
/** u8/u16/u32 as number, u64 as bigint (exact at any size), comm, timespec. */
export type FixtureValue = number | bigint | CommValue | TimespecValue;
export type FixtureValues = Record<string, FixtureValue>;

export const TWO53 = 2n ** 53n;

const enc = new TextEncoder();
export function comm(bytes: ArrayLike<number> | string, text: string): CommValue {
  return { bytes: typeof bytes === 'string' ? enc.encode(bytes) : Uint8Array.from(bytes), text };
}

/**
 * One distinctive value per field of the table. Every u64 uses all eight bytes with
 * bytes that differ from its neighbours', so a field read at the wrong offset or with the
 * wrong width cannot come out right; about half sit above 2^53 (exact only as bigint),
 * and two sit on the 2^53 boundary itself.
 */
export function distinctiveValues(): FixtureValues {
  const v: FixtureValues = {};
  FIELDS.forEach((f, i) => {
    const k = BigInt(i + 1);
    switch (f.type) {
      case 'u8':
        v[f.name] = 0x80 | (i + 1);
        break;
      case 'u16':
        v[f.name] = 0xa000 + i; // only 'version', which buildStats overwrites
        break;
      case 'u32':
        v[f.name] = (0x80000000 | ((i + 1) * 0x00010307)) >>> 0; // top bit set: must read unsigned
        break;
      case 'u64':
        v[f.name] =
          i % 2 === 0
            ? (0xc0n << 56n) | (k << 48n) | (0x5an << 40n) | (k << 32n) | (0xf1n << 24n) | (k << 8n) | 0x33n // > 2^53
            : (0x1fn << 48n) | (k << 40n) | (0xe7n << 32n) | (0x80n << 24n) | (k << 16n) | 0x0103n; // < 2^53, > 2^32
        break;
      case 'comm':
        break; // below
      case 'timespec':
        v[f.name] = { tv_sec: 1767225600n + k, tv_nsec: 100000000n + k * 1000n };
        break;
    }
  });
  // Boundaries of the number/bigint switch in the decoder.
  v.cpu_run_real_total = TWO53 - 1n; // largest exact number
  v.cpu_run_virtual_total = TWO53; // smallest value that must come back as bigint
  v.ac_etime = 2n ** 64n - 1n; // all ones
  v.cpu_delay_max = 0n;
  // A timespec that is negative (s64) and one above 2^53.
  v.blkio_delay_max_ts = { tv_sec: -1n, tv_nsec: -999999999n };
  v.irq_delay_max_ts = { tv_sec: 2n ** 62n + 5n, tv_nsec: 999999999n };
  // Non-ASCII comm: UTF-8 'é', a lone 0xff (invalid UTF-8: kept as U+DCFF), a control byte; NUL-padded.
  v.ac_comm = comm([0x64, 0x74, 0xc3, 0xa9, 0x2f, 0xff, 0x01, 0x20, 0x37], 'dt\u00e9/\udcff\u0001 7');
  return v;
}

// offsetIn and fieldsIn say again what src/kernel/layout.ts says, on purpose: fixtures built
// with the decoder's own reading of the table could not catch a mistake in it.

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

/** The struct size of a version; unknown newer versions get v17's plus 40 bytes. */
export function sizeOf(version: number): number {
  return STRUCT_SIZE[version] ?? STRUCT_SIZE[17]! + 40;
}

export interface StatsOptions {
  /** STATS length; default the version's struct size. Fields that do not fit are left out. */
  length?: number;
  /** layout to place fields by, when it differs from `version` (e.g. version 0 records) */
  layoutVersion?: number;
  /** where the payload starts inside a larger ArrayBuffer (odd = unaligned); default 3 */
  placeAt?: number;
  /** junk bytes after the payload inside that buffer; default 13 */
  slack?: number;
  /** fill for padding holes and bytes no field covers; default 0xee */
  fill?: number;
}

/**
 * A struct taskstats payload: `version` in the version field, every field the layout has
 * at its offset for that version (v15: offsetV15), holes filled with junk, returned as a
 * view at an unaligned offset inside a larger buffer that has junk on both sides.
 */
export function buildStats(
  version: number,
  values: FixtureValues = distinctiveValues(),
  opts: StatsOptions = {},
): Uint8Array {
  const layout = opts.layoutVersion ?? version;
  const length = opts.length ?? sizeOf(layout);
  const placeAt = opts.placeAt ?? 3;
  const slack = opts.slack ?? 13;
  const backing = new Uint8Array(placeAt + length + slack).fill(0xa5);
  const bytes = backing.subarray(placeAt, placeAt + length);
  bytes.fill(opts.fill ?? 0xee);
  const dv = new DataView(backing.buffer, placeAt, length);
  for (const f of fieldsIn(layout, length)) {
    const val = values[f.name];
    if (f.name === 'version') continue;
    if (val === undefined) throw new Error(`fixture: no value for ${f.name}`);
    writeField(dv, bytes, f.type, f.at, val);
  }
  if (length >= 2) dv.setUint16(0, version, true);
  return bytes;
}

function writeField(dv: DataView, bytes: Uint8Array, type: FieldSpec['type'], at: number, val: FixtureValue): void {
  switch (type) {
    case 'u8':
      dv.setUint8(at, val as number);
      break;
    case 'u16':
      dv.setUint16(at, val as number, true);
      break;
    case 'u32':
      dv.setUint32(at, val as number, true);
      break;
    case 'u64':
      dv.setBigUint64(at, BigInt(val as bigint | number), true);
      break;
    case 'comm': {
      const c = val as CommValue;
      if (c.bytes.length > FIELD_SIZE.comm) throw new Error('fixture: comm longer than 32 bytes');
      bytes.fill(0, at, at + FIELD_SIZE.comm);
      bytes.set(c.bytes, at);
      break;
    }
    case 'timespec': {
      const t = val as TimespecValue;
      dv.setBigInt64(at, t.tv_sec, true);
      dv.setBigInt64(at + 8, t.tv_nsec, true);
      break;
    }
  }
}

/** A u64 as the decoder must return it: a number while exact, a bigint from 2^53 on. */
export function asU64(v: bigint): number | bigint {
  return v < TWO53 && v > -TWO53 ? Number(v) : v;
}

/** What decodeTaskstats must return in `raw` for a buildStats payload (version field aside). */
export function expectedRaw(
  version: number,
  values: FixtureValues = distinctiveValues(),
  opts: StatsOptions = {},
): Record<string, RawValue> {
  const layout = opts.layoutVersion ?? version;
  const length = opts.length ?? sizeOf(layout);
  const out: Record<string, RawValue> = {};
  for (const f of fieldsIn(layout, length)) {
    if (f.name === 'version') {
      out.version = version;
      continue;
    }
    const val = values[f.name]!;
    switch (f.type) {
      case 'u64':
        out[f.name] = asU64(BigInt(val as bigint | number));
        break;
      case 'comm':
        out[f.name] = (val as CommValue).text;
        break;
      case 'timespec': {
        const t = val as TimespecValue;
        out[f.name] = { tv_sec: asU64(t.tv_sec), tv_nsec: asU64(t.tv_nsec) };
        break;
      }
      default:
        out[f.name] = val as number;
    }
  }
  return out;
}

// ---- netlink framing -------------------------------------------------------------------

const align4 = (n: number) => (n + 3) & ~3;

/** Concatenate parts, each padded to 4 bytes as netlink aligns them. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + align4(p.length), 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += align4(p.length);
  }
  return out;
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** One attribute: struct nlattr {u16 nla_len; u16 nla_type} + payload, padded to 4. */
export function nla(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(align4(4 + payload.length));
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 4 + payload.length, true);
  dv.setUint16(2, type, true);
  b.set(payload, 4);
  return b;
}

/** struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid} + payload (len unpadded). */
export function nlmsg(type: number, flags: number, seq: number, portId: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(align4(16 + payload.length));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 16 + payload.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, portId >>> 0, true);
  b.set(payload, 16);
  return b;
}

/** struct genlmsghdr {u8 cmd; u8 version; u16 reserved}. */
export function genlhdr(cmd: number, version = TASKSTATS_GENL_VERSION): Uint8Array {
  return Uint8Array.of(cmd, version, 0, 0);
}

export interface DatagramSpec {
  familyId: number;
  seq?: number;
  /** nlmsg_pid: the querying socket's port id, 0 for exit events */
  portId?: number;
  /** AGGR_PID nest with this pid (omitted when undefined, as in a TGID query reply) */
  pid?: number;
  /** AGGR_TGID nest with this tgid (exit of the last thread of a multi-threaded process) */
  tgid?: number;
  statsPid?: Uint8Array;
  statsTgid?: Uint8Array;
  /**
   * Frame as an arch without efficient unaligned access does: nla_reserve_64bit() puts a
   * zero-length TYPE_NULL attribute before STATS whenever that makes the payload 8-aligned.
   */
  nullPad?: boolean;
  /** set NLA_F_NESTED on the nests (the kernel does not; the walker must not care) */
  nestedFlag?: boolean;
}

/**
 * A TASKSTATS_CMD_NEW message framed as kernel/taskstats.c mk_reply() builds it:
 * nlmsghdr, genlmsghdr, then per record nla_nest_start(AGGR_*), nla_put(PID|TGID, u32),
 * nla_reserve_64bit(STATS, TYPE_NULL), nla_nest_end. On x86 framing the first STATS
 * payload starts at byte 36; with the pad at 40.
 */
export function buildDatagram(spec: DatagramSpec): Uint8Array {
  const records: Array<[number, number, number, Uint8Array]> = [];
  if (spec.pid !== undefined) records.push([TYPE_AGGR_PID, TYPE_PID, spec.pid, spec.statsPid ?? buildStats(16)]);
  if (spec.tgid !== undefined) records.push([TYPE_AGGR_TGID, TYPE_TGID, spec.tgid, spec.statsTgid ?? buildStats(16)]);
  let tail = 16 + 4; // skb tail, from the start of the message, as the kernel appends
  const attrs = records.map(([aggrType, idType, id, stats]) => {
    tail += 4 + 8; // nest header, id attribute
    const inner = [nla(idType, u32le(id))];
    if (spec.nullPad && tail % 8 === 0) {
      // nla_need_padding_for_64bit(): header aligned, payload not
      inner.push(nla(TYPE_NULL));
      tail += 4;
    }
    inner.push(nla(TYPE_STATS, stats));
    tail += align4(4 + stats.length);
    return nla(aggrType | (spec.nestedFlag ? NLA_F_NESTED : 0), cat(...inner));
  });
  return nlmsg(spec.familyId, 0, spec.seq ?? 0, spec.portId ?? 0, cat(genlhdr(TASKSTATS_CMD_NEW), ...attrs));
}

/**
 * NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK: nlmsghdr, s32 error (negative
 * errno, 0 = ACK), then the header of the request it answers.
 */
export function buildError(errno: number, seq: number, portId: number, requestType: number): Uint8Array {
  const body = new Uint8Array(4 + 16);
  const dv = new DataView(body.buffer);
  dv.setInt32(0, -errno, true);
  dv.setUint32(4, 36, true); // the request's nlmsg_len (PID query: 16 + 4 + 8)
  dv.setUint16(8, requestType, true);
  dv.setUint16(10, 0x0001, true); // NLM_F_REQUEST
  dv.setUint32(12, seq, true);
  dv.setUint32(16, portId, true);
  return nlmsg(NLMSG_ERROR, 0x100 /* NLM_F_CAPPED */, seq, portId, body);
}

/** Set a little-endian u16 / u32 in a copy of buf (length fields of hand-made damage). */
export function withU16(buf: Uint8Array, at: number, v: number): Uint8Array {
  const b = Uint8Array.from(buf);
  new DataView(b.buffer).setUint16(at, v, true);
  return b;
}
export function withU32(buf: Uint8Array, at: number, v: number): Uint8Array {
  const b = Uint8Array.from(buf);
  new DataView(b.buffer).setUint32(at, v >>> 0, true);
  return b;
}

/**
 * Hand-written bytes, independent of the builders above: a v2 exit event for pid 0x1234
 * (familyId 0x1a, seq 7) whose STATS payload is all zero except version, ac_pid and comm.
 */
export function handWrittenV2(): Uint8Array {
  const statsLen = 248;
  const total = 36 + statsLen;
  const b = new Uint8Array(total);
  b.set([total & 0xff, total >> 8, 0, 0, 0x1a, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]); // nlmsghdr
  b.set([2, 1, 0, 0], 16); // genlmsghdr: CMD_NEW, version 1
  const nest = 4 + 8 + 4 + statsLen;
  b.set([nest & 0xff, nest >> 8, 4, 0], 20); // AGGR_PID
  b.set([8, 0, 1, 0, 0x34, 0x12, 0, 0], 24); // PID = 0x1234
  b.set([(4 + statsLen) & 0xff, (4 + statsLen) >> 8, 3, 0], 32); // STATS
  b.set([2, 0], 36); // version 2
  b.set([0x34, 0x12, 0, 0], 36 + 128); // ac_pid
  b.set([0x73, 0x68, 0], 36 + 80); // ac_comm "sh"
  return b;
}

/** The STATS payloads a datagram reports, sliced out as the native walker located them. */
export function slice(buf: Uint8Array, at: { offset: number; length: number }): Uint8Array {
  return buf.subarray(at.offset, at.offset + at.length);
}
