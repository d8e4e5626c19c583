// model/id-table.ts: a table from task id to value, emptied and filled again each refresh.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdTable } from '../../src/model/id-table.js';

test('an id table answers as a Map does, across growth and ids that collide', () => {
  const table = new IdTable<string>();
  const map = new Map<number, string>();
  // consecutive ids, ids a power of two apart (the same low bits), pid_max's top, and 0
  const ids = [0, 4_194_304, ...Array.from({ length: 3000 }, (_, i) => 300 + i)];
  for (let i = 0; i < 2000; i++) ids.push(i * 65_536);
  for (const id of ids) {
    table.set(id, `v${id}`);
    map.set(id, `v${id}`);
  }
  table.set(301, 'again'); // a second set replaces, and adds no entry
  map.set(301, 'again');
  assert.equal(table.size, map.size);
  for (const id of [...ids, 1, 299, 3300, 65_535, 4_194_303]) {
    assert.equal(table.get(id), map.get(id), `get(${id})`);
    assert.equal(table.has(id), map.has(id), `has(${id})`);
  }
});

test('an id table knows no negative or fractional id, and refuses to store one', () => {
  const table = new IdTable<number>();
  table.set(5, 1);
  // (-1 marks an empty slot inside: it must not read as an entry)
  assert.equal(table.has(-1), false);
  assert.equal(table.get(-1), undefined);
  assert.equal(table.has(5.5), false);
  for (const bad of [-1, 5.5, NaN, 2 ** 31])
    assert.throws(
      () => table.set(bad, 0),
      (e: Error) => e instanceof RangeError && e.message.includes(String(bad)),
    );
  assert.equal(table.size, 1);
});

test('an emptied id table holds nothing, and fills again to the same answers', () => {
  const table = new IdTable<number>();
  for (let round = 0; round < 3; round++) {
    for (let id = 1000; id < 6000; id++) table.set(id, id * round);
    assert.equal(table.size, 5000);
    assert.equal(table.get(4321), 4321 * round);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.has(4321), false);
    assert.equal(table.get(4321), undefined);
  }
  // emptied, a table keeps its storage for a fill like the last; after a fill far smaller
  // than its storage, it gives the storage back, and still answers
  for (let id = 0; id < 5000; id++) table.set(id, id);
  const big = table.capacity;
  assert.ok(big >= 10_000);
  table.clear();
  assert.equal(table.capacity, big);
  table.set(7, 7);
  table.clear(); // (the fill before was one entry)
  assert.ok(table.capacity < big / 8, `capacity ${table.capacity}`);
  for (let id = 0; id < 100; id++) table.set(id, -id);
  assert.equal(table.size, 100);
  assert.equal(table.get(99), -99);
  assert.equal(table.has(100), false);
});
