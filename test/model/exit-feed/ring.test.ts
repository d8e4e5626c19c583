// The exit feed's ring: the newest `capacity` entries newest first, and views of it that
// stay as they were however much is pushed after them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ring } from '../../../src/model/exit-feed/ring.js';

/** what a plain array says the newest `capacity` of 0..pushed-1 are, newest first */
const newest = (pushed: number, capacity: number) =>
  Array.from({ length: Math.min(pushed, capacity) }, (_, i) => pushed - 1 - i);

test('the ring keeps the newest `capacity` entries, newest first, at any size and count', () => {
  for (const capacity of [1, 2, 3, 15, 16, 17, 33, 100]) {
    const ring = new Ring<number>(capacity);
    for (let pushed = 0; pushed <= capacity * 5 + 3; pushed++) {
      const v = ring.view();
      assert.equal(v.size, Math.min(pushed, capacity));
      assert.deepEqual(v.slice(0, capacity + 5), newest(pushed, capacity), `capacity ${capacity}, ${pushed} pushed`);
      assert.equal(v.at(v.size), undefined);
      assert.equal(v.at(-1), undefined);
      ring.push(pushed);
    }
  }
});

test('a view stays as it was, however much is pushed after it (many times the capacity)', () => {
  const ring = new Ring<number>(1000);
  for (let i = 0; i < 1500; i++) ring.push(i);
  const v = ring.view();
  const before = v.slice(0, v.size);
  for (let i = 1500; i < 20_000; i++) ring.push(i);
  assert.deepEqual(v.slice(0, v.size), before);
  assert.deepEqual(before, newest(1500, 1000));
  assert.deepEqual(v.slice(995, 1010), [504, 503, 502, 501, 500], 'slices stop at the view’s end');
  assert.deepEqual(ring.view().slice(0, 2), [19_999, 19_998], 'and the ring moved on');
});

test('a view is the same object until the next push (snapshots of a quiet feed are equal)', () => {
  const ring = new Ring<number>(10);
  ring.push(1);
  const v = ring.view();
  assert.equal(ring.view(), v);
  ring.push(2);
  assert.notEqual(ring.view(), v);
  assert.deepEqual(v.slice(0, 10), [1]);
});
