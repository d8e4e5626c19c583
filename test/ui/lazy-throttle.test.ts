// Ink's throttle in the bundle (src/ui/lazy-throttle.ts): the first call runs at once and
// leaves no timer behind; calls within the wait run once, at its end, with the last arguments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyPressed, throttle } from '../../src/ui/lazy-throttle.js';
import { delay } from '../helpers.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a call with none before it within the wait runs at once and sets no timer', () => {
  const calls: string[] = [];
  const before = timers();
  const t = throttle((s: string) => calls.push(s), 100);
  t('a');
  assert.deepEqual(calls, ['a']);
  assert.equal(timers(), before, 'no timer after a lone call (es-toolkit sets one of 100 ms)');
  const log = throttle((s: string) => calls.push(s)); // Ink's write throttle: no wait
  log('b');
  log('c');
  assert.deepEqual(calls, ['a', 'b', 'c'], 'with no wait every call runs at once');
  assert.equal(timers(), before, 'and no timer is left (es-toolkit sets one of 1 ms)');
});

test('calls within the wait run once at its end, with the latest arguments; flush and cancel', async () => {
  const calls: string[] = [];
  const t = throttle((s: string) => calls.push(s), 40);
  t('a');
  t('b');
  t('c');
  assert.deepEqual(calls, ['a']);
  await delay(80);
  assert.deepEqual(calls, ['a', 'c'], 'the trailing call, once');
  await delay(80);
  assert.deepEqual(calls, ['a', 'c'], 'nothing more without a call');
  t('d'); // more than the wait after the last run: at once
  t('e');
  t.flush();
  assert.deepEqual(calls, ['a', 'c', 'd', 'e'], 'flush runs the waiting call now');
  t.flush();
  t('f');
  t.cancel();
  await delay(80);
  assert.deepEqual(calls, ['a', 'c', 'd', 'e'], 'a cancelled call never runs');
  t('g');
  assert.deepEqual(calls, ['a', 'c', 'd', 'e', 'g'], 'after a cancel and the wait, a call runs at once');
});

test('after a key, calls within the wait run at once (a frame that answers a key does not wait)', async () => {
  const calls: string[] = [];
  const t = throttle((s: string) => calls.push(s), 300);
  t('frame');
  t('waits'); // within the wait: for the timer
  keyPressed();
  t('key');
  assert.deepEqual(calls, ['frame', 'key'], 'the call after a key ran at once');
  await delay(350);
  assert.deepEqual(calls, ['frame', 'key'], 'and the call it overtook was dropped (the key frame drew the latest)');
  await delay(100);
  t('later');
  t('waits again');
  assert.deepEqual(calls, ['frame', 'key', 'later'], 'past the key window, the wait applies again');
  t.cancel();
});
