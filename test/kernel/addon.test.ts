// The contract between native/ and src/kernel/: the addon exports its byte layouts and
// counter names; the TypeScript side checks them when it loads the addon and reads offsets
// from them. Here: the real addon's contract passes, wrong ones fail naming the mismatch.
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
