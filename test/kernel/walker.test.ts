// The native attribute walker (parseDatagram) over built and hand-damaged datagrams:
// the right ids and STATS offsets, or an `error` field; never a crash, never a read past the buffer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadAddon, loadContract, type ParsedMessage } from '../../src/kernel/addon.js';
import { decodeTaskstats } from '../../src/kernel/decode.js';
import { STRUCT_SIZE } from '../../src/kernel/layout.js';
import { needsRoot } from '../helpers.js';
import {
  buildDatagram,
  buildError,
  buildStats,
  cat,
  expectedRaw,
  genlhdr,
  GENL_ID_CTRL,
  handWrittenV2,
  nla,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  nlmsg,
  slice,
  TASKSTATS_CMD_NEW,
  TYPE_AGGR_PID,
  TYPE_NULL,
  TYPE_PID,
  TYPE_STATS,
  u32le,
  withU16,
  withU32,
} from './fixtures.js';

const FAM = 0x1a;
const parse = (b: Uint8Array, fam = FAM): ParsedMessage[] => loadAddon().parseDatagram(b, fam);
const MALFORMED = [{ error: 'malformed attribute' }];
const BAD_LENGTH = [{ error: 'nlmsg_len out of bounds' }];
const TRUNCATED = [{ error: 'truncated netlink header' }];

test('a v16 PID reply (x86 framing): 596 bytes, STATS at byte 36, ids and header echoed', () => {
  const b = buildDatagram({ familyId: FAM, seq: 41, portId: 0x8000_1234, pid: 4242 });
  assert.equal(b.length, 596);
  assert.deepEqual(parse(b), [
    { type: FAM, seq: 41, portId: 0x8000_1234, cmd: TASKSTATS_CMD_NEW, pid: { id: 4242, offset: 36, length: 560 } },
  ]);
  assert.deepEqual(decodeTaskstats(slice(b, parse(b)[0]!.pid!)).raw, expectedRaw(16));
});

test('every version 2..17 frames and walks to a STATS slice that decodes exactly', () => {
  for (let v = 2; v <= 17; v++) {
    const b = buildDatagram({ familyId: FAM, pid: v, statsPid: buildStats(v) });
    const [m] = parse(b);
    assert.deepEqual(m!.pid, { id: v, offset: 36, length: STRUCT_SIZE[v] }, `v${v}`);
    assert.deepEqual(decodeTaskstats(slice(b, m!.pid!)).raw, expectedRaw(v), `v${v}`);
  }
});

test('an exit of a multi-threaded process: AGGR_PID and AGGR_TGID in one 1172-byte message', () => {
  const tg = buildStats(0, undefined, { layoutVersion: 16 }); // version 0, as older kernels sent it
  const b = buildDatagram({ familyId: FAM, seq: 9, pid: 101, tgid: 100, statsTgid: tg });
  assert.equal(b.length, 1172);
  const [m] = parse(b);
  assert.deepEqual(m, {
    type: FAM,
    seq: 9,
    portId: 0,
    cmd: 2,
    pid: { id: 101, offset: 36, length: 560 },
    tgid: { id: 100, offset: 36 + 560 + 16, length: 560 },
  });
  const pidStats = decodeTaskstats(slice(b, m!.pid!));
  const tgidStats = decodeTaskstats(slice(b, m!.tgid!), { fallbackVersion: pidStats.layoutVersion });
  assert.equal(tgidStats.version, 0);
  assert.deepEqual(tgidStats.raw, expectedRaw(0, undefined, { layoutVersion: 16 }));
  // v17 grows it to 1428, as the reference says.
  assert.equal(
    buildDatagram({ familyId: FAM, pid: 1, tgid: 1, statsPid: buildStats(17), statsTgid: buildStats(17) }).length,
    1428,
  );
});

test('a TGID query reply carries AGGR_TGID only', () => {
  const b = buildDatagram({ familyId: FAM, seq: 3, portId: 77, tgid: 500 });
  assert.deepEqual(parse(b), [{ type: FAM, seq: 3, portId: 77, cmd: 2, tgid: { id: 500, offset: 36, length: 560 } }]);
});

test('TYPE_NULL padding (arches without efficient unaligned access) is skipped', () => {
  const b = buildDatagram({ familyId: FAM, pid: 7, tgid: 6, nullPad: true });
  // The pad moves the first STATS to 40 (8-aligned); the second is aligned without one.
  assert.equal(new DataView(b.buffer).getUint16(34, true), TYPE_NULL);
  const [m] = parse(b);
  assert.deepEqual(m!.pid, { id: 7, offset: 40, length: 560 });
  assert.deepEqual(m!.tgid, { id: 6, offset: 40 + 560 + 16, length: 560 });
  assert.equal(m!.tgid!.offset % 8, 0);
  assert.deepEqual(decodeTaskstats(slice(b, m!.pid!)).raw, expectedRaw(16));
  // A pad anywhere else in the nest, and unknown attribute types, are skipped too.
  const odd = nlmsg(
    FAM,
    0,
    1,
    0,
    cat(
      genlhdr(2),
      nla(9, u32le(5)),
      nla(TYPE_AGGR_PID, cat(nla(TYPE_NULL), nla(TYPE_STATS, buildStats(2)), nla(7), nla(TYPE_PID, u32le(8)))),
    ),
  );
  assert.deepEqual(parse(odd)[0]!.pid, { id: 8, offset: 20 + 8 + 4 + 4 + 4, length: 248 });
});

test('NLA_F_NESTED on the nests changes nothing', () => {
  const plain = parse(buildDatagram({ familyId: FAM, pid: 5, tgid: 4 }));
  assert.deepEqual(parse(buildDatagram({ familyId: FAM, pid: 5, tgid: 4, nestedFlag: true })), plain);
});

test('hand-written bytes of a v2 exit event', () => {
  const b = handWrittenV2();
  const [m] = parse(b);
  assert.deepEqual(m, { type: 0x1a, seq: 7, portId: 0, cmd: 2, pid: { id: 0x1234, offset: 36, length: 248 } });
  const ts = decodeTaskstats(slice(b, m!.pid!));
  assert.equal(ts.version, 2);
  assert.equal(ts.raw.ac_pid, 0x1234);
  assert.equal(ts.raw.ac_comm, 'sh');
  assert.equal(ts.raw.cpu_count, 0);
});

test('a truncated attribute is a malformed attribute', () => {
  const full = buildDatagram({ familyId: FAM, pid: 1 });
  for (const cut of [22, 26, 30, 33, 35, 36, 37, 300, 595]) {
    // Cut the datagram and make nlmsg_len agree, so the message itself is in bounds.
    const b = withU32(full.subarray(0, cut), 0, cut);
    assert.deepEqual(parse(b), MALFORMED, `cut at ${cut}`);
  }
  // Cut without fixing nlmsg_len: the message is past the buffer.
  assert.deepEqual(parse(full.subarray(0, 300)), BAD_LENGTH);
  // A STATS attribute one byte longer than its nest.
  assert.deepEqual(parse(withU16(full, 32, 4 + 560 + 1)), MALFORMED);
  // A nest that ends two bytes into the next attribute's header.
  assert.deepEqual(parse(withU16(full, 20, 4 + 8 + 2)), MALFORMED);
});

test('nla_len 0 (and 1..3) never loops and is rejected', () => {
  const full = buildDatagram({ familyId: FAM, pid: 1, tgid: 2 });
  for (const at of [20, 24, 32, 596, 600, 608]) {
    for (const len of [0, 1, 3]) assert.deepEqual(parse(withU16(full, at, len)), MALFORMED, `nla_len ${len} at ${at}`);
  }
  // nla_len 4 on STATS: an empty payload, which is no record.
  assert.deepEqual(parse(withU16(full, 32, 4)), MALFORMED);
  // A PID attribute with a payload shorter than a u32.
  const shortId = nlmsg(
    FAM,
    0,
    1,
    0,
    cat(genlhdr(2), nla(TYPE_AGGR_PID, cat(nla(TYPE_PID, Uint8Array.of(1, 2)), nla(TYPE_STATS, buildStats(2))))),
  );
  assert.deepEqual(parse(shortId), MALFORMED);
});

test('nla_len past the buffer is rejected', () => {
  const full = buildDatagram({ familyId: FAM, pid: 1 });
  for (const [at, len] of [
    [20, 0xffff],
    [20, 597],
    [24, 0x8000],
    [32, 4 + 560 + 4],
    [32, 0xfffc],
  ] as const) {
    assert.deepEqual(parse(withU16(full, at, len)), MALFORMED, `nla_len ${len} at ${at}`);
  }
});

test('nlmsg_len past the buffer, below a header, or a datagram shorter than a header', () => {
  const full = buildDatagram({ familyId: FAM, pid: 1 });
  for (const len of [full.length + 1, full.length + 4, 0xffffffff, 0x80000000])
    assert.deepEqual(parse(withU32(full, 0, len)), BAD_LENGTH, `nlmsg_len ${len}`);
  for (const len of [0, 1, 15]) assert.deepEqual(parse(withU32(full, 0, len)), BAD_LENGTH, `nlmsg_len ${len}`);
  // Long enough for nlmsghdr but not for genlmsghdr.
  assert.deepEqual(parse(withU32(full, 0, 19)), BAD_LENGTH);
  assert.deepEqual(parse(full.subarray(0, 15)), TRUNCATED);
  assert.deepEqual(parse(new Uint8Array(0)), []);
  // A message shorter than its buffer: the rest is walked as the next message.
  assert.deepEqual(parse(cat(full, new Uint8Array(8))).slice(1), TRUNCATED);
});

test('NLMSG_ERROR: the errno, positive; an ACK is 0; a short one is rejected', () => {
  assert.deepEqual(parse(buildError(1, 5, 99, FAM)), [{ type: NLMSG_ERROR, seq: 5, portId: 99, cmd: 0, errno: 1 }]);
  assert.deepEqual(parse(buildError(3, 6, 99, FAM))[0]!.errno, 3); // ESRCH: the task is gone
  assert.deepEqual(parse(buildError(0, 7, 99, FAM))[0]!.errno, 0);
  assert.deepEqual(parse(nlmsg(NLMSG_ERROR, 0, 1, 0, Uint8Array.of(0xff, 0xff))), BAD_LENGTH);
  // A positive code (never sent) and INT32_MIN (whose negation overflows) stay positive.
  assert.equal(parse(withU32(buildError(0, 1, 1, FAM), 16, 22))[0]!.errno, 22);
  assert.equal(parse(withU32(buildError(0, 1, 1, FAM), 16, 0x80000000))[0]!.errno, 0x7fffffff);
});

test('two messages in one datagram: both walked, offsets from the datagram start', () => {
  const a = buildDatagram({ familyId: FAM, seq: 1, pid: 11 });
  const b = buildDatagram({ familyId: FAM, seq: 2, pid: 12, tgid: 12, statsPid: buildStats(14) });
  const msgs = parse(cat(a, b));
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs[0]!.pid, { id: 11, offset: 36, length: 560 });
  assert.deepEqual(msgs[1]!.pid, { id: 12, offset: 596 + 36, length: 432 });
  assert.deepEqual(msgs[1]!.tgid, { id: 12, offset: 596 + 36 + 432 + 16, length: 560 });
  // An ACK followed by a reply, and a reply followed by a broken message.
  assert.deepEqual(
    parse(cat(buildError(0, 5, 1, FAM), a)).map((m) => m.type),
    [NLMSG_ERROR, FAM],
  );
  const tail = parse(cat(a, withU16(b, 20, 0)));
  assert.deepEqual(tail[0]!.pid!.id, 11);
  assert.deepEqual(tail.slice(1), MALFORMED);
});

test('other message types pass without attributes looked at', () => {
  assert.deepEqual(parse(nlmsg(NLMSG_NOOP, 0, 1, 2, new Uint8Array(0))), [
    { type: NLMSG_NOOP, seq: 1, portId: 2, cmd: 0 },
  ]);
  assert.deepEqual(parse(nlmsg(NLMSG_DONE, 0, 1, 2, u32le(0))), [{ type: NLMSG_DONE, seq: 1, portId: 2, cmd: 0 }]);
  // Another family's message, even with garbage attributes, is the caller's to skip.
  const other = withU16(buildDatagram({ familyId: 0x17, pid: 1 }), 20, 0);
  assert.deepEqual(parse(other), [{ type: 0x17, seq: 0, portId: 0, cmd: 0 }]);
  // CTRL replies: the command is read, the attributes are not.
  assert.deepEqual(parse(nlmsg(GENL_ID_CTRL, 0, 1, 0, cat(genlhdr(1, 2), Uint8Array.of(0, 0, 0, 0)))), [
    { type: GENL_ID_CTRL, seq: 1, portId: 0, cmd: 1 },
  ]);
  // A taskstats message with no record at all is fine; one whose nest lacks STATS or the id is not.
  assert.deepEqual(parse(nlmsg(FAM, 0, 1, 0, genlhdr(2))), [{ type: FAM, seq: 1, portId: 0, cmd: 2 }]);
  assert.deepEqual(parse(nlmsg(FAM, 0, 1, 0, cat(genlhdr(2), nla(TYPE_AGGR_PID, nla(TYPE_PID, u32le(5)))))), MALFORMED);
  assert.deepEqual(
    parse(nlmsg(FAM, 0, 1, 0, cat(genlhdr(2), nla(TYPE_AGGR_PID, nla(TYPE_STATS, buildStats(2)))))),
    MALFORMED,
  );
});

test('offsets are relative to the view passed in, at any alignment', () => {
  const d = buildDatagram({ familyId: FAM, pid: 3 });
  for (const at of [1, 3, 5, 8]) {
    const backing = new Uint8Array(at + d.length + 9).fill(0xff);
    backing.set(d, at);
    const view = backing.subarray(at, at + d.length);
    const [m] = parse(view);
    assert.deepEqual(m!.pid, { id: 3, offset: 36, length: 560 });
    assert.deepEqual(decodeTaskstats(slice(view, m!.pid!)).raw, expectedRaw(16));
  }
});

test('parseDatagram rejects wrong arguments with a TypeError', () => {
  const p = loadAddon().parseDatagram as unknown as (...a: unknown[]) => unknown;
  assert.throws(() => p(), TypeError);
  assert.throws(() => p('abc', FAM), TypeError);
  assert.throws(() => p(new Uint8Array(4)), TypeError);
});

test('a real kernel reply: our own pid and tgid decode, ac_pid matches', (t) => {
  if (!needsRoot(t)) return;
  const addon = loadAddon();
  const entry = loadContract().queryEntry;
  const sock = new addon.QuerySocket(1000);
  try {
    const ab = sock.querySync(Uint32Array.of(process.pid, process.pid), Uint8Array.of(0, 1));
    const dv = new DataView(ab);
    const comm = readFileSync('/proc/self/comm', 'utf8').trim();
    const decoded = [0, 1].map((i) => {
      const at = i * entry.bytes;
      const status = dv.getInt32(at + entry.status, true);
      assert.equal(status, 0, `query ${i} failed with errno ${status}`);
      const off = dv.getUint32(at + entry.offset, true);
      const len = dv.getUint32(at + entry.length, true);
      return decodeTaskstats(new Uint8Array(ab, off, len));
    });
    const [pid, tgid] = decoded as [ReturnType<typeof decodeTaskstats>, ReturnType<typeof decodeTaskstats>];
    assert.ok(pid.version >= 2, `version ${pid.version}`);
    if (STRUCT_SIZE[pid.version])
      assert.equal(pid.length, STRUCT_SIZE[pid.version], 'STATS length is the size of its version');
    assert.equal(pid.raw.ac_pid, process.pid);
    assert.equal(pid.raw.ac_ppid, process.ppid);
    assert.equal(pid.raw.ac_comm, comm);
    assert.equal(pid.raw.ac_uid, process.getuid!());
    assert.ok(typeof pid.raw.cpu_run_virtual_total === 'number' && pid.raw.cpu_run_virtual_total > 0, 'we have run');
    // A TGID record has no pid/comm of its own (zeroes), and sums at least our main thread.
    assert.equal(tgid.raw.ac_pid, 0);
    assert.ok((tgid.raw.cpu_run_virtual_total as number) >= (pid.raw.cpu_run_virtual_total as number));
    // The real payload framed as the kernel frames it walks back to the same bytes.
    const payload = new Uint8Array(ab, dv.getUint32(4, true), pid.length);
    const d = buildDatagram({ familyId: FAM, pid: process.pid, statsPid: payload });
    assert.deepEqual(parse(d)[0]!.pid, { id: process.pid, offset: 36, length: pid.length });
    assert.deepEqual(decodeTaskstats(d.subarray(36, 36 + pid.length)), pid);
  } finally {
    sock.close();
  }
});
