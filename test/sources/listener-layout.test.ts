import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandCpulist } from '../../src/args.js';
import {
  describeLayout,
  formatCpulist,
  listenerLayout,
  MAX_READER_THREADS,
  RCVBUF_BUDGET_MAX,
  RCVBUF_MIN_PER_SOCKET,
  rcvbufPlan,
  readerThreads,
  threadOf,
} from '../../src/sources/listener-layout.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const COUNTS = [1, 2, 64, 128, 256, 512];

test('receive buffer per socket from the budget: 16 MiB up to 64 CPUs, then an equal share of 1 GiB', () => {
  // 64 GiB of RAM and more: the budget is its 1 GiB cap
  for (const ram of [64 * GiB, 1024 * GiB]) {
    assert.deepEqual(
      COUNTS.map((n) => rcvbufPlan(n, ram).rcvbufBytes / MiB),
      [16, 16, 16, 8, 4, 2],
    );
    assert.deepEqual(
      COUNTS.map((n) => rcvbufPlan(n, ram).budgetBytes),
      COUNTS.map(() => RCVBUF_BUDGET_MAX),
    );
  }
  // 8 GiB: a 128 MiB budget
  assert.deepEqual(
    COUNTS.map((n) => rcvbufPlan(n, 8 * GiB).rcvbufBytes / MiB),
    [16, 16, 2, 1, 1, 1],
  );
});

test('1 and 2 CPUs keep 16 MiB a socket on any machine (the budget is never under 32 MiB)', () => {
  for (const ram of [512 * MiB, 1 * GiB, 2 * GiB, 25 * GiB, 4096 * GiB]) {
    assert.equal(rcvbufPlan(1, ram).rcvbufBytes, 16 * MiB, `${ram}`);
    assert.equal(rcvbufPlan(2, ram).rcvbufBytes, 16 * MiB, `${ram}`);
  }
  assert.equal(rcvbufPlan(2, 1 * GiB).budgetBytes, 32 * MiB);
});

test('the floor wins over the budget on a many-CPU machine with little RAM, and says so', () => {
  const l = listenerLayout(512, 16 * GiB);
  assert.equal(l.budgetBytes, 256 * MiB);
  assert.equal(l.rcvbufBytes, RCVBUF_MIN_PER_SOCKET);
  assert.equal(l.totalBytes, 512 * MiB);
  assert.match(describeLayout(l), /512 MiB in all \(over the 256 MiB budget: 1 MiB per socket is the floor\)/);
});

test('per socket: whole MiB, never more as CPUs are added, total within the budget unless at the floor', () => {
  for (const ram of [1 * GiB, 8 * GiB, 25 * GiB, 64 * GiB, 2048 * GiB]) {
    let prev = Infinity;
    for (let n = 1; n <= 1024; n++) {
      const { rcvbufBytes, budgetBytes } = rcvbufPlan(n, ram);
      assert.equal(rcvbufBytes % MiB, 0);
      assert.ok(rcvbufBytes <= prev, `${n} CPUs, ${ram} bytes of RAM`);
      assert.ok(rcvbufBytes * n <= budgetBytes! || rcvbufBytes === RCVBUF_MIN_PER_SOCKET);
      prev = rcvbufBytes;
    }
  }
});

test('-r sets every socket, whatever the CPU count and RAM: no budget', () => {
  for (const n of COUNTS) {
    assert.deepEqual(rcvbufPlan(n, 64 * GiB, 4096), { rcvbufBytes: 4096, budgetBytes: null });
    assert.deepEqual(rcvbufPlan(n, 1 * GiB, 64 * MiB), { rcvbufBytes: 64 * MiB, budgetBytes: null });
  }
  const l = listenerLayout(512, 64 * GiB, 64 * MiB);
  assert.equal(l.totalBytes, 32 * GiB);
  assert.match(describeLayout(l), /32 GiB in all \(set by -r\)/);
});

test('reader threads: one per 8 sockets, at most 64', () => {
  assert.deepEqual(
    COUNTS.map((n) => readerThreads(n)),
    [1, 1, 8, 16, 32, 64],
  );
  let prev = 0;
  for (let n = 1; n <= 4096; n++) {
    const t = readerThreads(n);
    assert.ok(t >= prev && t >= 1 && t <= Math.min(n, MAX_READER_THREADS), `${n} CPUs: ${t} threads`);
    prev = t;
  }
  assert.equal(readerThreads(8), 1);
  assert.equal(readerThreads(9), 2);
  assert.equal(readerThreads(1024), 64);
  assert.equal(readerThreads(0), 1);
});

test('thread split: contiguous runs of sockets, sizes within one of each other, every thread used', () => {
  for (const n of [...COUNTS, 3, 9, 100, 257, 511]) {
    for (const t of [1, 2, 7, readerThreads(n), n]) {
      const split = threadOf(n, t);
      const threads = Math.min(t, n);
      assert.equal(split.length, n);
      assert.equal(split[0], 0);
      for (let i = 1; i < n; i++) assert.ok(split[i] === split[i - 1] || split[i] === split[i - 1]! + 1);
      const sizes = Array.from({ length: threads }, (_, k) => split.filter((x) => x === k).length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n} sockets over ${t} threads: ${sizes}`);
      assert.ok(sizes.every((s) => s > 0));
    }
  }
});

test('the layout at 1-512 CPUs on a 64-GiB machine, as -v prints it', () => {
  const lines = COUNTS.map((n) => describeLayout(listenerLayout(n, 64 * GiB)));
  assert.deepEqual(lines, [
    'exit listener: 1 socket (one per CPU), 1 reader thread (1 socket), receive buffer 16 MiB per socket asked (the kernel grants twice), 16 MiB in all (of a 1 GiB budget)',
    'exit listener: 2 sockets (one per CPU), 1 reader thread (2 sockets), receive buffer 16 MiB per socket asked (the kernel grants twice), 32 MiB in all (of a 1 GiB budget)',
    'exit listener: 64 sockets (one per CPU), 8 reader threads (8 sockets each), receive buffer 16 MiB per socket asked (the kernel grants twice), 1 GiB in all (of a 1 GiB budget)',
    'exit listener: 128 sockets (one per CPU), 16 reader threads (8 sockets each), receive buffer 8 MiB per socket asked (the kernel grants twice), 1 GiB in all (of a 1 GiB budget)',
    'exit listener: 256 sockets (one per CPU), 32 reader threads (8 sockets each), receive buffer 4 MiB per socket asked (the kernel grants twice), 1 GiB in all (of a 1 GiB budget)',
    'exit listener: 512 sockets (one per CPU), 64 reader threads (8 sockets each), receive buffer 2 MiB per socket asked (the kernel grants twice), 1 GiB in all (of a 1 GiB budget)',
  ]);
  assert.match(describeLayout(listenerLayout(100, 64 * GiB)), /13 reader threads \(7-8 sockets each\)/);
  assert.match(describeLayout(listenerLayout(4, 64 * GiB, undefined, 4)), /4 reader threads \(1 socket each\)/);
});

test('a thread count given (a benchmark comparing designs) overrides the rule', () => {
  const l = listenerLayout(2, 25 * GiB, undefined, 2);
  assert.equal(l.threads, 2);
  assert.deepEqual(l.threadOf, [0, 1]);
  assert.deepEqual(listenerLayout(2, 25 * GiB).threadOf, [0, 0]);
  assert.equal(l.rcvbufBytes, 16 * MiB);
  assert.equal(listenerLayout(2, 25 * GiB, undefined, 9).threads, 2);
});

test('formatCpulist writes what expandCpulist reads', () => {
  assert.equal(formatCpulist([0, 1, 2, 3, 8]), '0-3,8');
  assert.equal(formatCpulist([8, 3, 2, 2, 1, 0]), '0-3,8');
  assert.equal(formatCpulist([5]), '5');
  assert.equal(formatCpulist([1, 3, 5, 6]), '1,3,5-6');
  assert.equal(formatCpulist([]), '');
  const all = Array.from({ length: 512 }, (_, i) => i).filter((i) => i % 7 !== 3);
  assert.deepEqual(expandCpulist(formatCpulist(all)), all);
});
