// The table as shown: kernel threads and idle tasks hidden on request, one user's tasks, the tree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIdle, isKernelThread, shownTable, usersOf, type TableView } from '../../src/model/table-view.js';
import { taskRow } from '../fakes/rows.js';

const busy = (id: number, ppid: number, uid = 0, cpu = 1) =>
  taskRow(id, { ppid, uid, cpuUse: cpu, percent: { ...taskRow(0).percent, CPU: cpu } });
const rows = [
  busy(1, 0),
  taskRow(2, { ppid: 0, comm: 'kthreadd' }),
  busy(40, 2), // a kernel thread
  busy(100, 1, 1000, 5),
  busy(101, 100, 1000, 3),
  taskRow(102, { ppid: 100, uid: 1000 }), // idle
  busy(200, 1, 0, 9),
];
const view = (over: Partial<TableView>): TableView => ({
  sort: 'CPU',
  descending: true,
  filter: '',
  hideKernel: false,
  hideIdle: false,
  uid: null,
  tree: false,
  ...over,
});
const idsOf = (v: Partial<TableView>) => shownTable(rows, 'process', view(v)).rows.map((r) => r.id);

test('kernel threads are kthreadd and its children; idle is no use and no delay', () => {
  assert.deepEqual(
    rows.filter(isKernelThread).map((r) => r.id),
    [2, 40],
  );
  assert.deepEqual(
    rows.filter(isIdle).map((r) => r.id),
    [2, 102],
  );
});

test('filters combine: hidden kernel threads, hidden idle tasks, one user', () => {
  assert.deepEqual(idsOf({}), [200, 100, 101, 1, 40, 2, 102]);
  assert.deepEqual(idsOf({ hideKernel: true }), [200, 100, 101, 1, 102]);
  assert.deepEqual(idsOf({ hideKernel: true, hideIdle: true }), [200, 100, 101, 1]);
  assert.deepEqual(idsOf({ uid: 1000 }), [100, 101, 102]);
  assert.deepEqual(idsOf({ uid: 1000, hideIdle: true, filter: '101' }), [101]);
  assert.deepEqual(usersOf(rows), [0, 1000]);
});

test('the tree puts processes under their parents, siblings in sort order, with depths', () => {
  const t = shownTable(rows, 'process', view({ tree: true }));
  assert.deepEqual(
    t.rows.map((r) => `${r.id}@${t.depth!.get(r.key)}`),
    // roots in sort order (1 before 2: 2 is idle), each parent's children in sort order below it
    ['1@0', '200@1', '100@1', '101@2', '102@2', '2@0', '40@1'],
  );
  // a parent filtered out: its children become roots
  const kids = shownTable(rows, 'process', view({ tree: true, uid: 1000 }));
  assert.deepEqual(
    kids.rows.map((r) => `${r.id}@${kids.depth!.get(r.key)}`),
    ['100@0', '101@1', '102@1'],
  );
});

test('in thread mode the tree puts threads under their process', () => {
  const threads = [
    taskRow(300, { key: 'pid:300', tgid: 300, cpuUse: 1 }),
    taskRow(302, { key: 'pid:302', tgid: 300, cpuUse: 5, percent: { ...taskRow(0).percent, CPU: 5 } }),
    taskRow(301, { key: 'pid:301', tgid: 300 }),
    taskRow(400, { key: 'pid:400', tgid: 400, percent: { ...taskRow(0).percent, CPU: 9 } }),
  ];
  const t = shownTable(threads, 'thread', view({ tree: true }));
  assert.deepEqual(
    t.rows.map((r) => `${r.id}@${t.depth!.get(r.key)}`),
    ['400@0', '300@0', '302@1', '301@1'],
  );
});

test('the same rows seen the same way make one table, shared (the engine and the view sort a refresh once)', () => {
  const a = shownTable(rows, 'process', view({ sort: 'PID' }));
  assert.equal(shownTable(rows, 'process', view({ sort: 'PID' })), a, 'an equal view of the same rows');
  assert.notEqual(shownTable(rows, 'process', view({ sort: 'PID', descending: false })), a, 'another view');
  assert.notEqual(shownTable([...rows], 'process', view({ sort: 'PID' })), a, 'another refresh');
  assert.deepEqual(
    shownTable([...rows], 'process', view({ sort: 'PID' })).rows.map((r) => r.id),
    a.rows.map((r) => r.id),
  );
});

test("a shown table's keys are its rows' keys in its order, flat, filtered and as a tree", () => {
  for (const v of [{}, { uid: 1000 }, { tree: true }, { tree: true, hideKernel: true, descending: false }]) {
    const t = shownTable(rows, 'process', view(v));
    assert.deepEqual(
      t.keys,
      t.rows.map((r) => r.key),
      JSON.stringify(v),
    );
    assert.ok(t.keys.length > 0);
  }
});
