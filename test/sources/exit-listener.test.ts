import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { parseCpumask } from '../../src/args.js';
import { loadAddon, loadContract, type NativeReaderInfo } from '../../src/kernel/addon.js';
import { decodeExitRecordAt, type ExitRecord } from '../../src/kernel/exitrecord.js';
import {
  NetlinkExitSource,
  readerWarnings,
  scratchAfter,
  type ListenOptions,
} from '../../src/sources/exit-listener.js';
import { listenerLayout } from '../../src/sources/listener-layout.js';
import { readCpulist } from '../../src/sources/system.js';
import type { ExitBatch } from '../../src/sources/types.js';
import { compileC } from '../bench/common.js';
import { delay, needsRoot } from '../helpers.js';

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

test("a storm past the dashboard's queue: the oldest records give way, counted as summarized; none lost, the newest kept (real kernel)", async (t) => {
  if (!needsRoot(t)) return;
  const online = readCpulist('online');
  const cpus = parseCpumask('-m', online, online);
  // room for about 130 records; keepNewest, as the dashboard's feed listens when not recording
  const src = new NetlinkExitSource({ cpus, keepNewest: true, maxQueueBytes: 64 << 10, batchMs: 10 });
  let closed = false;
  t.after(() => {
    if (!closed) src.close();
  });
  const batches: ExitBatch[] = [];
  src.start((b) => batches.push(b));
  // The event loop is blocked while 600 processes exit: nothing is drained meanwhile.
  const sh = spawnSync('sh', ['-c', 'i=0; while [ $i -lt 600 ]; do /bin/true; i=$((i+1)); done; echo $$'], {
    encoding: 'utf8',
  });
  const shPid = Number(sh.stdout.trim());
  await delay(300);
  batches.push(src.close());
  closed = true;
  const counters = batches.at(-1)!.counters;
  const total = (k: 'received' | 'summarized' | 'queueDropped' | 'lost') => counters.reduce((s, c) => s + c[k], 0);
  const records = batches.flatMap((b) => b.records);
  assert.ok(total('summarized') > 300, `most of the storm was summarized (${total('summarized')})`);
  assert.equal(total('queueDropped'), 0, 'nothing refused');
  assert.equal(total('lost'), 0, 'nothing lost');
  assert.equal(
    total('received'),
    records.length + total('summarized'),
    'every exit received is delivered or summarized',
  );
  assert.ok(
    records.some((r) => r.pid === shPid),
    'the newest exit (the shell that ran the loop) is among the records kept',
  );
});

test('drain(scratch): a batch that fits goes into the scratch, one that does not into a new buffer twice its size (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  const online = readCpulist('online');
  const cpus = parseCpumask('-m', online, online);
  const layout = listenerLayout(cpus.length, totalmem());
  const native = new (loadAddon().Listener)(
    cpus,
    {
      rcvbufBytes: layout.rcvbufBytes,
      threadOf: layout.threadOf,
      forceRcvbuf: false,
      pin: false,
      maxQueueBytes: 1 << 20,
      possible: readCpulist('possible'),
    },
    () => {},
  );
  t.after(() => native.close());
  const header = loadContract().exitRecordHeader;
  // The pids of the exits a drain took, the batch walked up to length alone.
  const pids = (data: ArrayBuffer, length: number) => {
    const dv = new DataView(data, 0, length);
    const recs: ExitRecord[] = [];
    for (let off = 0; off + header.bytes <= length;) off = decodeExitRecordAt(data, dv, off, header, () => {}, recs);
    return recs.map((r) => r.pid);
  };
  const exits = async () => {
    const sh = spawnSync('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do /bin/true; done; echo $$'], { encoding: 'utf8' });
    await delay(200);
    return Number(sh.stdout.trim());
  };

  const small = new ArrayBuffer(64);
  let shPid = await exits();
  let d = native.drain(small);
  assert.notEqual(d.data, small, 'too small: a new buffer');
  assert.ok(d.length > 64 && d.data.byteLength === Math.max(d.length, 128), `${d.data.byteLength} for ${d.length}`);
  assert.ok(pids(d.data, d.length).includes(shPid));

  const big = new ArrayBuffer(1 << 20);
  new Uint8Array(big).fill(0xff); // bytes past the batch must not be read as records
  shPid = await exits();
  d = native.drain(big);
  assert.equal(d.data, big, 'large enough: the same buffer');
  assert.ok(d.length > 0 && d.length < big.byteLength);
  const got = pids(d.data, d.length);
  assert.ok(got.includes(shPid), 'the batch is whole');
  assert.equal(new Set(got).size, got.length, 'each exit once');

  shPid = await exits();
  d = native.drain();
  assert.equal(d.data.byteLength, d.length, 'no scratch: a buffer of the batch');
  assert.ok(pids(d.data, d.length).includes(shPid));
});

test("lines keep their drain buffer through a storm, and let a storm's go when a batch is small again", () => {
  const small = new ArrayBuffer(256 << 10);
  const storm = new ArrayBuffer(16 << 20);
  assert.equal(scratchAfter(small, 1000), small, 'a small buffer is always kept');
  assert.equal(scratchAfter(storm, 2 << 20), storm, "kept while the storm's batches are large");
  assert.equal(scratchAfter(storm, 1 << 20), undefined, 'let go at the first small batch');
  const edge = new ArrayBuffer(4 << 20);
  assert.equal(scratchAfter(edge, 0), edge, 'up to 4 MiB is kept whatever the batch');
});

test('exits now and then are read with one wake-up of the reader each, not two (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  // one CPU, one reader thread; the children end there (taskset), the rest of the machine's exits mostly elsewhere
  const cpu = parseCpumask('-m', readCpulist('online'), readCpulist('online'))[0]!;
  const src = new NetlinkExitSource({ cpus: [cpu] });
  t.after(() => src.close());
  let received = 0;
  src.start((b) => {
    received += b.records.length;
  });
  // voluntary context switches of the reader threads: one for each time they slept
  const sleeps = () =>
    readdirSync('/proc/self/task')
      .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('exit-reader'))
      .reduce((n, tid) => {
        const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'));
        return n + Number(m?.[1] ?? NaN);
      }, 0);
  await delay(300);
  src.flush();
  const before = { sleeps: sleeps(), received, atMs: Date.now() };
  for (let i = 0; i < 20; i++) {
    assert.equal(spawnSync('taskset', ['-c', String(cpu), '/bin/true']).status, 0, 'taskset runs /bin/true');
    await delay(100);
  }
  await delay(200);
  src.flush();
  const exits = received - before.received;
  const woke = sleeps() - before.sleeps;
  // (the reader also wakes every ReaderGroup::kStopCheckMs, 10 s, to see whether to stop)
  const checks = Math.ceil((Date.now() - before.atMs) / 10000);
  assert.ok(exits >= 20, `the 20 exits were received (${exits})`);
  assert.ok(woke <= exits * 1.5 + checks + 2, `${woke} sleeps of the reader for ${exits} exits`);
});

/**
 * A listener on every online CPU (batches of 10 ms), started with `onBatch`, whose last
 * drain was a quiet one; closed when the test ends.
 */
async function afterQuietDrain(
  t: TestContext,
  opts: Pick<ListenOptions, 'quietBatchMs' | 'pollWhenQuiet'>,
  onBatch: (b: ExitBatch) => void,
): Promise<NetlinkExitSource> {
  const online = readCpulist('online');
  const src = new NetlinkExitSource({ cpus: parseCpumask('-m', online, online), batchMs: 10, ...opts });
  t.after(() => src.close());
  src.start(onBatch);
  await delay(300);
  src.flush();
  src.flush(); // a quiet drain (the first may hold what ended meanwhile on a busy machine)
  return src;
}

test('after a quiet drain, exits are gathered for quietBatchMs before they are handed over (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  const seen = new Map<number, number>();
  await afterQuietDrain(t, { quietBatchMs: 400 }, (b) => {
    for (const r of b.records) seen.set(r.pid, Date.now());
  });
  const t0 = Date.now();
  const pid = spawnSync('/bin/true').pid!;
  for (let i = 0; i < 100 && !seen.has(pid); i++) await delay(20);
  assert.ok(seen.has(pid), 'the exit was handed over');
  const waited = seen.get(pid)! - t0;
  assert.ok(waited >= 350, `handed over ${waited} ms after the exit (gathered for 400)`);
});

for (const pollWhenQuiet of [false, true])
  test(`a storm that begins while a quiet batch is gathered is handed over from the high-water mark, not after quietBatchMs${pollWhenQuiet ? ' (pollWhenQuiet)' : ''} (real kernel)`, async (t) => {
    if (!needsRoot(t)) return;
    let received = 0;
    // the next exit starts a quiet batch of 10 s
    await afterQuietDrain(t, { quietBatchMs: 10000, pollWhenQuiet }, (b) => {
      received += b.records.length;
    });
    const base = received;
    const storm = spawnSync(compileC('forker'), ['-n', '2000', '-w', '2'], { encoding: 'utf8' });
    assert.equal(storm.status, 0, storm.stderr);
    const made = JSON.parse(storm.stdout) as { taskExits: number; elapsedMs: number };
    const firstAt = Date.now() - made.elapsedMs;
    for (let i = 0; i < 200 && received - base < made.taskExits; i++) await delay(20);
    const after = Date.now() - firstAt;
    assert.ok(
      received - base >= made.taskExits,
      `the storm's ${made.taskExits} exits were handed over (${received - base})`,
    );
    assert.ok(
      after < 5000,
      `all handed over ${after} ms after the storm began (the quiet batch would have waited 10 s)`,
    );
  });

test('pollWhenQuiet: after a quiet drain, exits wake no one; a flush takes them, else a drain quietBatchMs after the last (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  const seen = new Map<number, number>();
  const src = await afterQuietDrain(t, { quietBatchMs: 600, pollWhenQuiet: true }, (b) => {
    for (const r of b.records) seen.set(r.pid, Date.now());
  });
  // the readers' notices, counted (the native side calls onNotify through the instance)
  let notices = 0;
  const notify = (src as unknown as { onNotify: () => void }).onNotify.bind(src);
  (src as unknown as { onNotify: () => void }).onNotify = () => {
    notices++;
    notify();
  };
  await delay(50); // (a notice sent before the quiet drain lands first)
  const before = notices;
  // a flush takes what ended, at once
  const a = spawnSync('/bin/true').pid!;
  await delay(100);
  assert.equal(seen.has(a), false, 'not handed over before a flush or the poll');
  src.flush();
  assert.ok(seen.has(a), 'the flush handed it over');
  // with no flush, the poll does, quietBatchMs after the last drain
  const t0 = Date.now();
  const b = spawnSync('/bin/true').pid!;
  for (let i = 0; i < 100 && !seen.has(b); i++) await delay(20);
  assert.ok(seen.has(b), 'the poll handed it over');
  const waited = seen.get(b)! - t0;
  assert.ok(waited >= 450 && waited < 1500, `handed over ${waited} ms after the exit (the poll every 600 ms)`);
  assert.equal(notices - before, 0, 'the readers woke the JS thread for none of these exits');
});
