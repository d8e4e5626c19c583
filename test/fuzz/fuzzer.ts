// The fuzzer shared by test/kernel/fuzz.test.ts (a few thousand inputs in npm test) and
// test/fuzz/long-run.ts (a million or more): seeded, so every input is reproducible from
// (seed, index). Each input is a mutated datagram fed to the native walker; whatever STATS
// slices it reports are fed to the decoder. Three kinds of check:
//   safety   - no crash, no exception other than DecodeError, reported slices inside the buffer;
//   model    - the native result equals refParse(), a TypeScript statement of the walker's rules;
//   decoding - every field decoded from a slice equals the bytes at its layout offset.
import { loadAddon, type ParsedMessage } from '../../src/kernel/addon.js';
import { decodeTaskstats, DecodeError, type RawValue, type Taskstats } from '../../src/kernel/decode.js';
import { FIELDS, STRUCT_SIZE } from '../../src/kernel/layout.js';
import {
  asU64,
  buildDatagram,
  buildError,
  buildStats,
  cat,
  distinctiveValues,
  fieldsIn,
  genlhdr,
  GENL_ID_CTRL,
  handWrittenV2,
  nla,
  NLMSG_DONE,
  NLMSG_NOOP,
  nlmsg,
  TASKSTATS_CMD_NEW,
  u32le,
} from '../kernel/fixtures.js';

// ---- deterministic randomness ----------------------------------------------------------

/** mulberry32: tiny, fast, good enough to drive mutations; same seed, same stream. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** The seed of input `index` of a run: any single input can be replayed on its own. */
export function inputSeed(runSeed: number, index: number): number {
  let h = (runSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- a reference statement of the native walker's rules -------------------------------

const NLMSG_ERROR = 2;
const NLMSG_OVERRUN = 4;
const align4 = (n: number) => (n + 3) & ~3;

type Step = { type: number; hdr: number; payload: number; payloadLen: number; next: number } | 'end' | 'bad';

/** Attribute at [off, end): libmnl's "next attribute, or stop", every length checked. */
function refNextAttr(dv: DataView, off: number, end: number): Step {
  if (off >= end) return 'end';
  if (end - off < 4) return 'bad';
  const nlaLen = dv.getUint16(off, true);
  if (nlaLen < 4 || nlaLen > end - off) return 'bad';
  return {
    type: dv.getUint16(off + 2, true) & 0x3fff,
    hdr: off,
    payload: off + 4,
    payloadLen: nlaLen - 4,
    next: Math.min(off + align4(nlaLen), end),
  };
}

interface RefAggr {
  id: number;
  offset: number;
  length: number;
  haveStats: boolean;
}

function refAggr(dv: DataView, off: number, end: number, idType: number, acc: RefAggr, hdrs: number[]): boolean {
  let haveId = false;
  for (;;) {
    const a = refNextAttr(dv, off, end);
    if (a === 'end') break;
    if (a === 'bad') return false;
    hdrs.push(a.hdr);
    if (a.type === idType) {
      if (a.payloadLen < 4) return false;
      acc.id = dv.getUint32(a.payload, true);
      haveId = true;
    } else if (a.type === 3) {
      // The last STATS of the nest wins; a nest with an id and no STATS of its own keeps
      // an earlier nest's STATS (native/nl.cc accumulates into one Aggr). The kernel sends
      // one nest of each kind, so this only matters to fuzzed input.
      acc.offset = a.payload;
      acc.length = a.payloadLen;
    }
    off = a.next;
  }
  return haveId && acc.length !== 0;
}

export interface RefResult {
  msgs: ParsedMessage[];
  /** offsets of every nlmsg_len (u32) and nla_len (u16) the walk met: targets for corruption */
  msgHdrs: number[];
  attrHdrs: number[];
}

/** What parseDatagram must return for buf, by the rules in native/nl.cc, written again in TS. */
export function refParse(buf: Uint8Array, familyId: number): RefResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = buf.byteLength;
  const msgs: ParsedMessage[] = [];
  const msgHdrs: number[] = [];
  const attrHdrs: number[] = [];
  let off = 0;
  while (off < len) {
    if (len - off < 16) {
      msgs.push({ error: 'truncated netlink header' });
      break;
    }
    const msgLen = dv.getUint32(off, true);
    msgHdrs.push(off);
    if (msgLen < 16 || msgLen > len - off) {
      msgs.push({ error: 'nlmsg_len out of bounds' });
      break;
    }
    const m: ParsedMessage = {
      type: dv.getUint16(off + 4, true),
      seq: dv.getUint32(off + 8, true),
      portId: dv.getUint32(off + 12, true),
      cmd: 0,
    };
    const end = off + msgLen;
    const next = Math.min(off + align4(msgLen), len);
    let bad: string | null = null;
    if (m.type === NLMSG_ERROR) {
      if (msgLen < 20) bad = 'nlmsg_len out of bounds';
      else m.errno = Math.min(Math.abs(dv.getInt32(off + 16, true)), 0x7fffffff); // positive errno; -INT32_MIN clamps
    } else if (m.type === NLMSG_NOOP || m.type === NLMSG_DONE || m.type === NLMSG_OVERRUN) {
      // no payload to look at
    } else if (m.type === familyId || m.type === GENL_ID_CTRL) {
      if (msgLen < 20) bad = 'nlmsg_len out of bounds';
      else {
        m.cmd = buf[off + 16]!;
        if (m.type === familyId) {
          const pid: RefAggr = { id: 0, offset: 0, length: 0, haveStats: false };
          const tgid: RefAggr = { id: 0, offset: 0, length: 0, haveStats: false };
          let pidOk = false;
          let tgidOk = false;
          let p = off + 20;
          for (;;) {
            const a = refNextAttr(dv, p, end);
            if (a === 'end') break;
            if (a === 'bad') {
              bad = 'malformed attribute';
              break;
            }
            attrHdrs.push(a.hdr);
            if (a.type === 4 || a.type === 5) {
              const ok =
                a.type === 4
                  ? refAggr(dv, a.payload, a.payload + a.payloadLen, 1, pid, attrHdrs)
                  : refAggr(dv, a.payload, a.payload + a.payloadLen, 2, tgid, attrHdrs);
              if (!ok) {
                bad = 'malformed attribute';
                break;
              }
              if (a.type === 4) pidOk = true;
              else tgidOk = true;
            }
            p = a.next;
          }
          if (pidOk) m.pid = { id: pid.id, offset: pid.offset, length: pid.length };
          if (tgidOk) m.tgid = { id: tgid.id, offset: tgid.offset, length: tgid.length };
        }
      }
    }
    if (bad) {
      msgs.push({ error: bad });
      break;
    }
    msgs.push(m);
    off = next;
  }
  return { msgs, msgHdrs, attrHdrs };
}

// ---- the seed corpus -------------------------------------------------------------------

export const FAMILIES = [0x1a, 0x17, 0x24] as const;

export interface Seed {
  name: string;
  familyId: number;
  bytes: Uint8Array;
}

/** Valid datagrams of every shape the kernel sends, plus hand-written oddities. */
export function seedCorpus(): Seed[] {
  const seeds: Seed[] = [];
  const vals = distinctiveValues();
  const fam = 0x1a;
  for (let v = 2; v <= 18; v++) {
    const stats = buildStats(v, vals);
    seeds.push({
      name: `v${v} pid`,
      familyId: fam,
      bytes: buildDatagram({ familyId: fam, seq: v, portId: 4242, pid: 1000 + v, statsPid: stats }),
    });
    seeds.push({
      name: `v${v} pid+tgid null-pad`,
      familyId: fam,
      bytes: buildDatagram({
        familyId: fam,
        seq: v,
        pid: 2000 + v,
        tgid: 2000,
        statsPid: stats,
        statsTgid: buildStats(v === 16 ? 0 : v, vals, { layoutVersion: v }),
        nullPad: true,
      }),
    });
  }
  seeds.push({
    name: 'tgid only',
    familyId: fam,
    bytes: buildDatagram({ familyId: fam, seq: 9, portId: 7, tgid: 77, statsTgid: buildStats(16) }),
  });
  seeds.push({
    name: 'nested flag',
    familyId: fam,
    bytes: buildDatagram({ familyId: fam, pid: 5, tgid: 6, nestedFlag: true }),
  });
  seeds.push({
    name: 'two messages',
    familyId: fam,
    bytes: cat(
      buildDatagram({ familyId: fam, seq: 1, pid: 11 }),
      buildDatagram({ familyId: fam, seq: 2, pid: 12, tgid: 12, statsPid: buildStats(14) }),
    ),
  });
  seeds.push({ name: 'error EPERM', familyId: fam, bytes: buildError(1, 5, 4242, fam) });
  seeds.push({
    name: 'ack then reply',
    familyId: fam,
    bytes: cat(buildError(0, 5, 4242, fam), buildDatagram({ familyId: fam, seq: 6, pid: 3 })),
  });
  seeds.push({
    name: 'noop+done',
    familyId: fam,
    bytes: cat(nlmsg(NLMSG_NOOP, 0, 1, 0, new Uint8Array(0)), nlmsg(NLMSG_DONE, 2, 1, 0, u32le(0))),
  });
  seeds.push({
    name: 'ctrl reply',
    familyId: fam,
    bytes: nlmsg(
      GENL_ID_CTRL,
      0,
      3,
      9,
      cat(genlhdr(1, 2), nla(2, new TextEncoder().encode('TASKSTATS\0')), nla(1, Uint8Array.of(fam, 0))),
    ),
  });
  seeds.push({ name: 'other family', familyId: 0x17, bytes: buildDatagram({ familyId: fam, pid: 1 }) });
  seeds.push({
    name: 'unknown attrs',
    familyId: fam,
    bytes: nlmsg(
      fam,
      0,
      1,
      0,
      cat(genlhdr(TASKSTATS_CMD_NEW), nla(9, u32le(1)), nla(4, cat(nla(7), nla(1, u32le(8)), nla(3, buildStats(2))))),
    ),
  });
  seeds.push({ name: 'hand-written v2', familyId: 0x1a, bytes: handWrittenV2() });
  return seeds;
}

// ---- mutation --------------------------------------------------------------------------

const INTERESTING_U16 = [0, 1, 3, 4, 5, 7, 8, 12, 0x7fff, 0x8000, 0xfffc, 0xffff];
const INTERESTING_U32 = [0, 1, 15, 16, 17, 19, 20, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

function put16(b: Uint8Array, at: number, v: number) {
  if (at + 2 <= b.length) {
    b[at] = v & 0xff;
    b[at + 1] = (v >> 8) & 0xff;
  }
}
function put32(b: Uint8Array, at: number, v: number) {
  if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, true);
}

/** A length value near the truth or wildly off. */
function lengthValue(rng: Rng, truth: number, max: number): number {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(INTERESTING_U32);
    case 1:
      return truth + rng.int(17) - 8;
    case 2:
      return max + rng.int(9) - 4;
    default:
      return rng.u32();
  }
}

const SIZES = [...new Set(Object.values(STRUCT_SIZE))];
let VALUES: ReturnType<typeof distinctiveValues> | undefined;

/** A STATS payload of a random version and length, near the sizes the kernel uses. */
function randomStats(rng: Rng): Uint8Array {
  const version = rng.pick([
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    16,
    17,
    18,
    0xffff,
    rng.u32() & 0xffff,
  ]);
  const length = rng.chance(0.7)
    ? Math.max(1, rng.pick(SIZES) + rng.pick([0, 0, 0, -1, -8, 8, 1, 4]))
    : 1 + rng.int(800);
  if (rng.chance(0.3)) {
    const b = rng.bytes(length);
    if (length >= 2) {
      b[0] = version & 0xff;
      b[1] = version >> 8;
    }
    return b;
  }
  const layout = version >= 2 && version <= 17 ? version : rng.pick([2, 15, 16, 17]);
  return buildStats(version, (VALUES ??= distinctiveValues()), { layoutVersion: layout, length });
}

/** A datagram framed right around random STATS payloads: the decoder's input space via the walker. */
function wellFramed(rng: Rng): Seed {
  const familyId = rng.pick(FAMILIES);
  const tgid = rng.chance(0.3);
  const pid = !tgid || rng.chance(0.8);
  const bytes = buildDatagram({
    familyId,
    seq: rng.u32(),
    portId: rng.chance(0.5) ? 0 : rng.u32(),
    ...(pid ? { pid: rng.u32(), statsPid: randomStats(rng) } : {}),
    ...(tgid ? { tgid: rng.u32(), statsTgid: randomStats(rng) } : {}),
    nullPad: rng.chance(0.3),
  });
  return { name: 'well-framed', familyId, bytes };
}

export interface Input {
  bytes: Uint8Array;
  familyId: number;
  seed: string;
}

/** One fuzz input: a seed datagram with 1..5 mutations, or now and then pure garbage. */
export function makeInput(rng: Rng, seeds: readonly Seed[]): Input {
  if (rng.chance(0.04)) {
    return { bytes: rng.bytes(rng.int(1300)), familyId: rng.pick(FAMILIES), seed: 'garbage' };
  }
  const seed = rng.chance(0.25) ? wellFramed(rng) : rng.pick(seeds);
  let b = Uint8Array.from(seed.bytes);
  const { msgHdrs, attrHdrs } = refParse(seed.bytes, seed.familyId);
  const n = seed.name === 'well-framed' ? rng.int(2) : 1 + rng.int(5);
  for (let k = 0; k < n && b.length > 0; k++) {
    switch (rng.int(10)) {
      case 0: {
        // bit flips
        const flips = 1 + rng.int(8);
        for (let j = 0; j < flips; j++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      }
      case 1: // random bytes
        for (let j = 1 + rng.int(4); j > 0; j--) b[rng.int(b.length)] = rng.u32() & 0xff;
        break;
      case 2: // truncation (datagrams are cut short by MSG_TRUNC or a too-small buffer)
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 3: {
        // extension with junk
        const e = new Uint8Array(b.length + 1 + rng.int(64));
        e.set(b);
        e.set(rng.bytes(e.length - b.length), b.length);
        b = e;
        break;
      }
      case 4: // nlmsg_len corruption
        put32(b, msgHdrs.length ? rng.pick(msgHdrs) : 0, lengthValue(rng, b.length, b.length));
        break;
      case 5:
      case 6: {
        // nla_len corruption: the commonest way to lie
        const at = attrHdrs.length ? rng.pick(attrHdrs) : 20;
        put16(b, at, rng.chance(0.5) ? rng.pick(INTERESTING_U16) : lengthValue(rng, 4, b.length - at) & 0xffff);
        break;
      }
      case 7: // random nla_len anywhere 4-aligned
        put16(b, rng.int(b.length >> 2) << 2, rng.chance(0.5) ? rng.pick(INTERESTING_U16) : rng.u32() & 0xffff);
        break;
      case 8: // nla_type corruption (AGGR_PID <-> AGGR_TGID, STATS <-> NULL, nested flag)
        if (attrHdrs.length) put16(b, rng.pick(attrHdrs) + 2, rng.pick([1, 2, 3, 4, 5, 6, 7, 0x8004, 0x4003, 0xffff]));
        break;
      case 9: // an interesting u32 over a header word (nlmsg_type/flags, seq, error code, version)
        put32(b, rng.pick([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]), rng.pick(INTERESTING_U32));
        break;
    }
  }
  const familyId = rng.chance(0.05) ? rng.pick(FAMILIES) : seed.familyId;
  return { bytes: b, familyId, seed: seed.name };
}

/**
 * Put the input at a random (often odd) offset of a larger buffer: offsets are view-relative.
 * Nothing follows it, so under an ASan build of the addon a read past the end is caught.
 */
export function place(rng: Rng, bytes: Uint8Array): Uint8Array {
  const at = rng.int(8);
  const backing = new Uint8Array(at + bytes.length);
  backing.fill(0xa5);
  backing.set(bytes, at);
  return backing.subarray(at, at + bytes.length);
}

// ---- running one input -----------------------------------------------------------------

export class Violation extends Error {
  override name = 'Violation';
}

export interface Tally {
  inputs: number;
  /** messages the walker accepted / rejected with an error */
  msgsOk: number;
  msgsRejected: number;
  /** inputs whose walk ended in an error */
  inputsRejected: number;
  /** STATS slices decoded / rejected by the decoder with DecodeError */
  statsDecoded: number;
  statsRejected: number;
}

export function newTally(): Tally {
  return { inputs: 0, msgsOk: 0, msgsRejected: 0, inputsRejected: 0, statsDecoded: 0, statsRejected: 0 };
}

const KNOWN = new Set(FIELDS.map((f) => f.name));
const parse = () => loadAddon().parseDatagram;

/** Every decoded field must equal the bytes at its offset in the layout it was decoded by. */
export function checkDecoded(slice: Uint8Array, ts: Taskstats): void {
  if (ts.length !== slice.length) throw new Violation(`decoded length ${ts.length} != slice ${slice.length}`);
  if (ts.layoutVersion < 2) throw new Violation(`decoded with layout v${ts.layoutVersion}`);
  const dv = new DataView(slice.buffer, slice.byteOffset, slice.byteLength);
  const want = fieldsIn(ts.layoutVersion, slice.length);
  const got = Object.keys(ts.raw);
  if (got.length !== want.length)
    throw new Violation(
      `decoded ${got.length} fields, layout v${ts.layoutVersion} at ${slice.length} bytes has ${want.length}`,
    );
  for (const f of want) {
    const v: RawValue | undefined = ts.raw[f.name];
    let ok: boolean;
    switch (f.type) {
      case 'u64':
        ok = v === asU64(dv.getBigUint64(f.at, true));
        break;
      case 'u32':
        ok = v === dv.getUint32(f.at, true);
        break;
      case 'u16':
        ok = v === dv.getUint16(f.at, true);
        break;
      case 'u8':
        ok = v === dv.getUint8(f.at);
        break;
      case 'comm':
        ok = typeof v === 'string' && v.length <= 32;
        break;
      case 'timespec': {
        const t = v as { tv_sec: unknown; tv_nsec: unknown };
        ok = t.tv_sec === asU64(dv.getBigInt64(f.at, true)) && t.tv_nsec === asU64(dv.getBigInt64(f.at + 8, true));
        break;
      }
    }
    if (!ok || !KNOWN.has(f.name))
      throw new Violation(`field ${f.name} decoded as ${String(v)} at offset ${f.at} of v${ts.layoutVersion}`);
  }
}

function decodeSlice(
  buf: Uint8Array,
  at: unknown,
  what: string,
  tally: Tally,
  fallbackVersion?: number,
): Taskstats | undefined {
  const a = at as { id: unknown; offset: unknown; length: unknown };
  if (typeof a.id !== 'number' || !Number.isInteger(a.offset) || !Number.isInteger(a.length)) {
    throw new Violation(`${what}: malformed record ${JSON.stringify(at)}`);
  }
  const offset = a.offset as number;
  const length = a.length as number;
  // The slice must lie inside the datagram, after at least nlmsghdr + genlmsghdr + nest + STATS headers.
  if (offset < 28 || length <= 0 || offset + length > buf.length) {
    throw new Violation(`${what}: STATS [${offset}, ${offset + length}) outside the ${buf.length}-byte datagram`);
  }
  const slice = buf.subarray(offset, offset + length);
  try {
    const ts = decodeTaskstats(slice, fallbackVersion ? { fallbackVersion } : {});
    checkDecoded(slice, ts);
    tally.statsDecoded++;
    return ts;
  } catch (e) {
    if (e instanceof DecodeError) {
      tally.statsRejected++;
      return undefined;
    }
    if (e instanceof Violation) throw e;
    throw new Violation(`${what}: decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

/** Feed one input to the walker and the decoder; throws Violation when an invariant breaks. */
export function runInput(buf: Uint8Array, familyId: number, tally: Tally): ParsedMessage[] {
  tally.inputs++;
  let msgs: ParsedMessage[];
  try {
    msgs = parse()(buf, familyId);
  } catch (e) {
    throw new Violation(`parseDatagram threw ${(e as Error)?.message}`);
  }
  if (!Array.isArray(msgs)) throw new Violation('parseDatagram returned no array');
  const ref = refParse(buf, familyId).msgs;
  if (!sameMessages(msgs, ref)) {
    throw new Violation(
      `native walker disagrees with the model:\n  native ${JSON.stringify(msgs)}\n  model  ${JSON.stringify(ref)}`,
    );
  }
  checkMessages(buf, msgs, tally);
  return msgs;
}

/** The safety invariants of one walk, and the decoding of every STATS slice it reports. */
export function checkMessages(buf: Uint8Array, msgs: ParsedMessage[], tally: Tally): void {
  msgs.forEach((m, i) => {
    if (m.error !== undefined) {
      if (i !== msgs.length - 1) throw new Violation('walk went on after an error');
      tally.msgsRejected++;
      tally.inputsRejected++;
      return;
    }
    tally.msgsOk++;
    if (m.errno !== undefined && !(m.errno >= 0)) throw new Violation(`negative errno ${m.errno}`);
    let pidStats: Taskstats | undefined;
    if (m.pid) pidStats = decodeSlice(buf, m.pid, `message ${i} AGGR_PID`, tally);
    if (m.tgid) decodeSlice(buf, m.tgid, `message ${i} AGGR_TGID`, tally, pidStats?.layoutVersion);
  });
}

function sameMessages(a: ParsedMessage[], b: ParsedMessage[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Record<string, unknown>;
    const y = b[i] as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) {
      const u = x[k];
      const v = y[k];
      if (typeof u === 'object' && u !== null && typeof v === 'object' && v !== null) {
        const p = u as Record<string, unknown>,
          q = v as Record<string, unknown>;
        if (p.id !== q.id || p.offset !== q.offset || p.length !== q.length || Object.keys(p).length !== 3)
          return false;
      } else if (u !== v) return false;
    }
  }
  return true;
}

/** Run inputs [from, to) of run `runSeed`; calls onViolation and goes on (the long run counts them). */
export function fuzzRange(
  runSeed: number,
  from: number,
  to: number,
  tally: Tally,
  seeds: readonly Seed[],
  onViolation: (index: number, input: Input, e: Violation) => void,
): void {
  for (let i = from; i < to; i++) {
    const rng = new Rng(inputSeed(runSeed, i));
    const input = makeInput(rng, seeds);
    const buf = place(rng, input.bytes);
    try {
      runInput(buf, input.familyId, tally);
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      onViolation(i, input, e);
    }
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
