import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NativeReaderInfo } from '../../src/kernel/addon.js';
import { readerWarnings } from '../../src/sources/exit-listener.js';

const reader = (cpu: number, over: Partial<NativeReaderInfo> = {}): NativeReaderInfo => ({
  cpu,
  portId: 1000 + cpu,
  rcvbufBytes: 4 << 20,
  thread: cpu >> 3,
  realtime: true,
  realtimeError: '',
  pinError: '',
  readError: '',
  registered: true,
  deregisterError: '',
  ...over,
});

test('reader warnings: one line per kind for every CPU it concerns, not one per CPU', () => {
  const unprivileged = Array.from({ length: 512 }, (_, cpu) =>
    reader(cpu, { realtime: false, realtimeError: 'EPERM', rcvbufBytes: 425984 }),
  );
  const w = readerWarnings(unprivileged, 2 << 20);
  assert.equal(w.length, 2);
  assert.deepEqual(
    w.map((x) => x.cpu),
    [null, null],
  );
  assert.match(
    w[0]!.message,
    /^cpu 0-511: listener thread could not get real-time priority \(EPERM; needs CAP_SYS_NICE\)/,
  );
  assert.match(w[1]!.message, /^cpu 0-511: receive buffer is 425984 bytes, less than the 2097152 asked for/);
});

test('reader warnings: a kind that concerns one CPU names it; granted buffers of twice the ask are no warning', () => {
  const readers = [0, 1, 2, 3, 8].map((cpu) => reader(cpu, cpu === 2 ? { pinError: 'EINVAL' } : {}));
  assert.deepEqual(readerWarnings(readers, 2 << 20), [
    { cpu: 2, message: 'cpu 2: listener thread could not be pinned to its CPUs (EINVAL); it runs unpinned' },
  ]);
  const short = readers.map((r) => (r.cpu === 8 ? r : { ...r, rcvbufBytes: 1 << 20 }));
  assert.deepEqual(
    readerWarnings(short, 2 << 20).map((w) => w.message.slice(0, 16)),
    ['cpu 0-3: receive', 'cpu 2: listener '],
  );
});
