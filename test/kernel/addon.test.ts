// The contract between native/ and src/kernel/: the addon exports its byte layouts and
// counter names; the TypeScript side checks them when it loads the addon and reads offsets
// from them. Here: the real addon's contract passes, wrong ones fail naming the mismatch,
// and the decoders follow whatever offsets and order the contract gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AddonContractError,
  checkContract,
  COUNTER_NAMES,
  loadAddon,
  loadContract,
  type NativeContract,
} from '../../src/kernel/addon.js';
import { fromNative } from '../../src/kernel/errors.js';
import { decodeCounters, decodeExitBatch } from '../../src/kernel/exitrecord.js';
import { buildStats, distinctiveValues } from './fixtures.js';

const real = (): NativeContract => structuredClone(loadAddon().contract);

/** The AddonContractError checkContract throws for c. */
function errorOf(c: unknown): AddonContractError {
  try {
    checkContract(c);
  } catch (e) {
    assert.ok(e instanceof AddonContractError, String(e));
    return e;
  }
  assert.fail('checkContract accepted a wrong contract');
}
/** The error's message for the real contract after `change`. */
const messageOf = (change: (c: NativeContract) => void) => {
  const c = real();
  change(c);
  return errorOf(c).message;
};

test("the real addon's contract passes and resolves to offsets inside each struct", () => {
  const native = loadAddon().contract;
  const c = loadContract();
  assert.deepEqual(checkContract(native), c);
  assert.equal(c.counterCount, native.counterNames.length);
  for (const n of COUNTER_NAMES) assert.equal(native.counterNames[c.counterIndex[n]], n);
  const h = c.exitRecordHeader;
  assert.equal(h.bytes % 8, 0, 'STATS payloads after the header stay 8-aligned');
  for (const [name, f] of Object.entries(native.exitRecordHeader.fields)) {
    assert.ok(f.offset + f.size <= h.bytes, name);
  }
  assert.equal(h.cpu, native.exitRecordHeader.fields.cpu!.offset);
  assert.equal(c.queryEntry.bytes, native.queryEntry.bytes);
  assert.equal(c.queryEntry.status, native.queryEntry.fields.status!.offset);
});

test('a wrong contract fails, naming each mismatch', () => {
  assert.match(
    messageOf((c) => (c.counterNames = c.counterNames.filter((n) => n !== 'kernelDrops'))),
    /counterNames: the addon has no kernelDrops/,
  );
  assert.match(
    messageOf((c) => c.counterNames.push('received')),
    /counterNames: a name appears twice/,
  );
  assert.match(
    messageOf((c) => (c.exitRecordHeader.fields.cpu!.size = 8)),
    /exitRecordHeader\.cpu: the addon writes u64, the TypeScript side reads u32/,
  );
  assert.match(
    messageOf((c) => (c.queryEntry.fields.status!.signed = false)),
    /queryEntry\.status: the addon writes u32, the TypeScript side reads i32/,
  );
  assert.match(
    messageOf((c) => delete c.queryEntry.fields.length),
    /queryEntry\.length: missing/,
  );
  assert.match(
    messageOf((c) => (c.exitRecordHeader.fields.receivedRealtimeNs!.offset = c.exitRecordHeader.bytes)),
    /exitRecordHeader\.receivedRealtimeNs: bytes 40\.\.48 lie beyond the 40-byte exitRecordHeader/,
  );
  // a header smaller than its fields
  assert.match(
    messageOf((c) => (c.exitRecordHeader.bytes = 32)),
    /exitRecordHeader\.receivedRealtimeNs: bytes 32\.\.40 lie beyond the 32-byte exitRecordHeader/,
  );
  assert.match(
    messageOf((c) => (c.queryEntry.fields.length!.offset = 4)),
    /queryEntry\.length: overlaps queryEntry\.offset/,
  );
  // several at once: every one is named, with what to do
  const all = messageOf((c) => {
    c.counterNames = [];
    c.queryEntry = { bytes: 12 } as never;
  });
  assert.match(all, /does not match this delaytop \(rebuild it: npm run build\)/);
  assert.match(all, /counterNames: the addon has no received, seqGapLost/);
  assert.match(all, /queryEntry: not a \{bytes, fields\} layout/);
  assert.match(errorOf(undefined).message, /the addon exports no contract/);
});

test('a contract error reaches the user as itself, not as a generic failure', () => {
  const e = fromNative(errorOf({}), 'load native addon');
  assert.equal((e as { code?: string }).code, 'EADDONCONTRACT');
  assert.match(e.message, /^the native addon does not match this delaytop/);
});

test('decodeCounters takes each counter from where the contract puts it', () => {
  const c = real();
  c.counterNames = [...c.counterNames].reverse().concat('futureCounter');
  const contract = checkContract(c);
  const n = contract.counterCount;
  const raw = new Float64Array(2 * n);
  c.counterNames.forEach((name, k) => {
    raw[k] = name.length; // cpu 0
    raw[n + k] = 100 + name.length; // cpu 1
  });
  const [a, b] = decodeCounters(raw, [0, 1], [0, 0], contract);
  for (const name of COUNTER_NAMES) {
    assert.equal(a![name], name.length, name);
    assert.equal(b![name], 100 + name.length, name);
  }
});

test('decodeExitBatch reads the header where the contract says, whatever the order', () => {
  // A header laid out differently from the real one: fields reversed, 48 bytes.
  const c = real();
  const names = Object.keys(c.exitRecordHeader.fields).reverse();
  let at = 0;
  c.exitRecordHeader.fields = {};
  for (const name of names) {
    const size = name === 'receivedRealtimeNs' ? 8 : 4;
    c.exitRecordHeader.fields[name] = { offset: at, size, signed: false };
    at += size;
  }
  c.exitRecordHeader.bytes = 48;
  const header = checkContract(c).exitRecordHeader;

  const stats = buildStats(16, { ...distinctiveValues(), ac_pid: 4242, ac_flag: 0 });
  const recLen = header.bytes + ((stats.length + 7) & ~7);
  const batch = new ArrayBuffer(recLen);
  const dv = new DataView(batch);
  const put = (name: keyof typeof header, v: number) => dv.setUint32(header[name], v, true);
  put('recLen', recLen);
  put('cpu', 1);
  put('seq', 77);
  put('pid', 4242);
  put('tgid', 0);
  put('pidStatsLen', stats.length);
  put('tgidStatsLen', 0);
  dv.setBigUint64(header.receivedRealtimeNs, 1_700_000_000_123_000_000n, true);
  new Uint8Array(batch, header.bytes, stats.length).set(stats);

  const bad: string[] = [];
  const [r, ...rest] = decodeExitBatch(batch, header, (_cpu, why) => bad.push(why));
  assert.deepEqual(bad, []);
  assert.equal(rest.length, 0);
  assert.equal(r!.cpu, 1);
  assert.equal(r!.seq, 77);
  assert.equal(r!.pid, 4242);
  assert.equal(r!.receivedMs, 1_700_000_000_123);
  assert.equal(r!.tgidStats, undefined);
});
