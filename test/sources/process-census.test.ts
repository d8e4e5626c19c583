// The process census (src/sources/process-census.ts): the directory is read only until the
// counts agree, then the known processes plus the ids handed out since; anything the link
// count does not confirm sends the next refresh back to the directory.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { mergeIds, ProcessCensus, procCensusIo, type CensusIo } from '../../src/sources/process-census.js';
import { needsRoot, spawnTracked, exited } from '../helpers.js';

/** A machine: its processes, the last id handed out, and /proc's links beyond its processes (10). */
function machine(ids: number[]) {
  const m = { procs: new Set(ids), last: Math.max(...ids), fixed: 10, reads: 0 };
  const io: CensusIo = {
    lastPid: () => m.last,
    linkCount: () => m.fixed + m.procs.size,
    listAll: async () => (m.reads++, [...m.procs].sort((a, b) => a - b)),
  };
  const start = (id = m.last + 1) => {
    m.procs.add(id);
    m.last = id;
  };
  return { m, io, start };
}

/** One refresh: the census, the ids confirmed as processes (all of them here), and the queries' answer. */
async function refresh(
  c: ProcessCensus,
  alive: Set<number>,
  isProcess: (id: number) => boolean = () => true,
): Promise<number[]> {
  const got = await c.begin();
  const ids = 'listed' in got ? got.listed : mergeIds(got.known, got.newIds.filter(isProcess));
  const found = ids.filter((id) => alive.has(id));
  c.end(found);
  return found;
}

test('after two listings that agree, a refresh reads no directory: the known processes and the ids handed out since', async () => {
  const { m, io, start } = machine([1, 2, 50, 60]);
  const c = new ProcessCensus(io);
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 50, 60]);
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 50, 60]);
  assert.equal(m.reads, 2, 'two listings to learn the fixed links');
  start(); // 61
  m.last = 62; // a thread of 61: an id, not a process (the link count does not count it)
  const seen = await refresh(c, m.procs, (id) => id !== 62);
  assert.deepEqual(seen, [1, 2, 50, 60, 61]);
  m.procs.delete(50); // 50 ends
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 60, 61]);
  assert.equal(m.reads, 2, 'no directory read');
  assert.equal(c.skipped, 2);
  // an id taken for a process but counted as none (the counts differ): the directory next time
  start(); // 63
  m.procs.delete(63);
  m.last = 64;
  await refresh(c, new Set([...m.procs, 64]));
  await refresh(c, m.procs);
  assert.equal(m.reads, 3);
});

test('a process started with an id of its choosing (not after the last one) sends the next refresh to the directory', async () => {
  const { m, io } = machine([1, 2, 50]);
  const c = new ProcessCensus(io);
  await refresh(c, m.procs);
  await refresh(c, m.procs);
  m.procs.add(30); // restored with its old id: ns_last_pid does not move past it
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 50], 'not seen this time');
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 30, 50], 'the counts differed: the directory was read');
  assert.equal(m.reads, 3);
});

test('ids that wrapped past pid_max, or too many ids handed out, mean the directory', async () => {
  const { m, io, start } = machine([1, 2, 32760]);
  const c = new ProcessCensus(io);
  await refresh(c, m.procs);
  await refresh(c, m.procs);
  start(32766);
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 32760, 32766]);
  assert.equal(m.reads, 2);
  start(301); // wrapped (ids restart after the reserved ones)
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 301, 32760, 32766]);
  assert.equal(m.reads, 3);
  await refresh(c, m.procs);
  for (let i = 0; i < 300; i++) start();
  await refresh(c, m.procs);
  assert.equal(m.reads, 4, '300 new ids: the directory is cheaper');
});

test('a refresh that began and never ended leaves the next to the directory; so does an unreadable ns_last_pid', async () => {
  const { m, io, start } = machine([1, 2]);
  const c = new ProcessCensus(io);
  await refresh(c, m.procs);
  await refresh(c, m.procs);
  await c.begin(); // a refresh that failed after listing
  start();
  assert.deepEqual(await refresh(c, m.procs), [1, 2, 3]);
  assert.equal(m.reads, 3);
  io.lastPid = () => null;
  await refresh(c, m.procs);
  assert.equal(m.reads, 4);
});

test('listings while processes come and go do not teach a wrong link count', async () => {
  const { m, io } = machine([1, 2, 3]);
  let n = 0;
  const count = io.linkCount;
  io.linkCount = () => (count() ?? 0) + (n++ % 2); // every read differs from the last
  const c = new ProcessCensus(io);
  for (let i = 0; i < 5; i++) await refresh(c, m.procs);
  assert.equal(m.reads, 5, 'never trusted: every refresh reads the directory');
});

test("on this machine: the census finds what /proc's directory lists, with processes starting and ending", async (t) => {
  if (!needsRoot(t)) return;
  const c = new ProcessCensus(procCensusIo);
  const dir = () =>
    new Set(
      readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n))
        .map(Number),
    );
  // one refresh, the queries' answer taken from the directory itself (gone: no longer
  // listed); every process listed before it began and still listed after is found
  const step = async () => {
    const before = dir();
    const got = await c.begin();
    const ids = 'listed' in got ? got.listed : mergeIds(got.known, got.newIds);
    const after = dir();
    const found = ids.filter((id) => after.has(id));
    c.end(found);
    for (const id of before) if (after.has(id)) assert.ok(found.includes(id), `process ${id} was missed`);
  };
  await step();
  await step();
  for (let i = 0; i < 20; i++) {
    const child = spawnTracked('sleep', ['5']);
    await step();
    child.kill();
    await exited(child);
    await step();
  }
  // (other processes starting and ending meanwhile make a refresh read the directory)
  assert.ok(c.skipped > 0, `the census never skipped the directory (${c.listings} listings)`);
});
