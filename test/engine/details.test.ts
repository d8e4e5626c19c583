// The state and command line of the rows on screen: read for those rows only, the command
// line again only for another task or a new name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowDetails, viewportRows } from '../../src/engine/details.js';
import { DashboardController } from '../../src/engine/refresh.js';
import { viewportOf } from '../../src/model/table-view.js';
import { FakeStatsSource, fakeOptions, sampleTasks } from '../fakes/dashboard-sources.js';

function fakeProc() {
  const tasks = new Map<number, { state: string; startTicks: string; cmdline: string; read?: number }>([
    [10, { state: 'S', startTicks: '100', cmdline: 'sleep 60' }],
    [11, { state: 'D', startTicks: '200', cmdline: 'dd if=/dev/sda', read: 0 }],
    [12, { state: 'R', startTicks: '300', cmdline: 'yes' }],
  ]);
  const reads = { state: 0, cmdline: 0, sweeps: 0 };
  const source = {
    sweep: () => {
      reads.sweeps++;
    },
    state: (id: number) => {
      reads.state++;
      const t = tasks.get(id);
      return t ? { state: t.state, startTicks: t.startTicks } : null;
    },
    cmdline: (id: number) => {
      reads.cmdline++;
      return tasks.get(id)?.cmdline ?? null;
    },
    io: (id: number) => {
      const t = tasks.get(id);
      return t ? { readBytes: t.read ?? 0, writeBytes: 0 } : null;
    },
  };
  return { tasks, reads, source };
}

test('only the rows on screen are read; a command line once per task and name', () => {
  const p = fakeProc();
  const d = new RowDetails(p.source);
  assert.equal(
    d.setViewport([
      { key: 'tgid:10', id: 10, comm: 'sleep' },
      { key: 'tgid:11', id: 11, comm: 'dd' },
    ]),
    true,
  );
  assert.deepEqual(
    { ...d.details.get('tgid:11'), io: undefined },
    {
      state: 'D',
      cmdline: 'dd if=/dev/sda',
      startTicks: '200',
      comm: 'dd',
      row: undefined,
      io: undefined,
      readBps: null,
      writeBps: null,
    },
  );
  assert.equal(d.details.has('tgid:12'), false);
  assert.deepEqual(p.reads, { state: 2, cmdline: 2, sweeps: 0 }, 'a change of rows on screen is not a round of reads');
  assert.equal(
    d.setViewport([
      { key: 'tgid:10', id: 10, comm: 'sleep' },
      { key: 'tgid:11', id: 11, comm: 'dd' },
    ]),
    false,
  );
  // a refresh reads states again, not command lines
  p.tasks.get(11)!.state = 'S';
  d.read(1000);
  assert.equal(d.details.get('tgid:11')!.state, 'S');
  assert.deepEqual(p.reads, { state: 4, cmdline: 2, sweeps: 1 }, 'a refresh is a round of reads');
  // storage IO: a rate from two refreshes of the same task
  assert.equal(d.details.get('tgid:11')!.readBps, null, 'one sample: no rate yet');
  p.tasks.get(11)!.read = 4_000_000;
  d.read(3000);
  assert.equal(d.details.get('tgid:11')!.readBps, 2_000_000);
  assert.equal(d.details.get('tgid:11')!.writeBps, 0);
  // an exec (new name) or another task under the id (new start): the command line again
  p.tasks.set(10, { state: 'R', startTicks: '100', cmdline: 'python3 x.py' });
  p.tasks.set(11, { state: 'R', startTicks: '999', cmdline: 'new task' });
  d.setViewport([
    { key: 'tgid:10', id: 10, comm: 'python3' },
    { key: 'tgid:11', id: 11, comm: 'dd' },
  ]);
  assert.equal(d.details.get('tgid:10')!.cmdline, 'python3 x.py', 'a new name: read when shown');
  assert.equal(d.details.get('tgid:11')!.cmdline, 'dd if=/dev/sda', 'the same name: kept until the next refresh');
  d.read(4000);
  assert.equal(d.details.get('tgid:11')!.cmdline, 'new task', 'a new start: read at the refresh');
  assert.equal(d.details.get('tgid:11')!.readBps, null, 'another task: its rate starts over');
  // gone: no state, no command line
  p.tasks.delete(10);
  d.read(5000);
  assert.deepEqual([d.details.get('tgid:10')!.state, d.details.get('tgid:10')!.cmdline], [null, null]);
});

test('told what decides the rows on screen, a refresh reads the rows it brings on screen before it publishes (one frame, not two)', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const info = {
    state: (id: number) => ({ state: 'S', startTicks: String(id) }),
    cmdline: (id: number) => `cmd-${id}`,
    io: () => ({ readBytes: 0, writeBytes: 0 }),
  };
  const c = new DashboardController(fakeOptions(stats, null, { taskInfo: info }));
  let frames = 0;
  c.subscribe(() => frames++);
  await c.refresh();
  // the view: newest pid first, one row on screen
  const viewport = {
    view: { sort: 'PID', descending: true, filter: '', hideKernel: false, hideIdle: false, uid: null, tree: false },
    window: { top: 0, selectedKey: null, selectedIndex: 0, pageSize: 1 },
  } as const;
  const onScreen = () => viewportRows(viewportOf(c.getSnapshot().rows, 'process', viewport), 'process');
  c.setViewport(onScreen(), viewport);
  assert.deepEqual(
    onScreen().map((r) => r.id),
    [300],
  );
  stats.add({ id: 400, tgid: 400, comm: 'delta', btime: 1_700_000_003, delays: {} });
  frames = 0;
  await c.refresh();
  assert.equal(frames, 1, 'the refresh published once');
  assert.deepEqual(
    onScreen().map((r) => r.id),
    [400],
    'the new process is on screen',
  );
  assert.equal(c.getSnapshot().details.get('tgid:400')?.cmdline, 'cmd-400', 'with its command line in that frame');
  c.setViewport(onScreen(), viewport); // what the view says after rendering it
  assert.equal(frames, 1, 'no second frame');
  c.stop();
});

test('a row where nothing moved since the last refresh (the same row object) is not read again: same state, no IO', async () => {
  const stats = new FakeStatsSource(sampleTasks());
  const reads: number[] = [];
  let readBytes = 1000;
  const info = {
    state: (id: number) => (reads.push(id), { state: 'S', startTicks: String(id) }),
    cmdline: (id: number) => `cmd-${id}`,
    io: () => ({ readBytes, writeBytes: 0 }),
  };
  let nowMs = 0;
  const c = new DashboardController(fakeOptions(stats, null, { taskInfo: info }), { now: () => nowMs });
  const refresh = () => ((nowMs += 1000), c.refresh());
  const viewport = {
    view: { sort: 'PID', descending: false, filter: '', hideKernel: false, hideIdle: false, uid: null, tree: false },
    window: { top: 0, selectedKey: null, selectedIndex: 0, pageSize: 3 },
  } as const;
  const onScreen = () => viewportRows(viewportOf(c.getSnapshot().rows, 'process', viewport), 'process');
  await refresh();
  c.setViewport(onScreen(), viewport);
  await refresh(); // the rows are interval ones now (new objects): read, with a first IO sample
  await refresh(); // nothing moved: the rows are kept, and not read
  reads.length = 0;
  await refresh();
  assert.deepEqual(reads, [], 'no row moved: none read');
  assert.equal(c.getSnapshot().details.get('tgid:200')?.readBps, 0);
  assert.equal(c.getSnapshot().details.get('tgid:200')?.state, 'S');
  // bravo's worker waits (and so ran): bravo's row moves and is read again
  stats.wait(201, 'CPU', 1, 1e6);
  readBytes = 3000;
  await refresh();
  assert.deepEqual(reads, [200]);
  assert.equal(c.getSnapshot().details.get('tgid:200')?.readBps, 2000, 'over the one-second interval');
  c.stop();
});
