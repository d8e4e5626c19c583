// The delay accounting watch (sources/system.ts, watchedDelayacct): a timer reads the
// setting only when no caller did for its period.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delayacctTracker, watchedDelayacct } from '../../src/sources/system.js';
import { delay } from '../helpers.js';

test('the watch reads the setting when nothing else did for its period; every read pushes it out', async (t) => {
  let readings = 0;
  let on = true;
  const tracker = delayacctTracker(() => {
    readings++;
    return on;
  });
  readings = 0;
  const { read, stop } = watchedDelayacct(300, tracker);
  t.after(stop);
  // callers reading every 20 ms for twice the period: the timer never reads
  for (let i = 0; i < 30; i++) {
    read();
    await delay(20);
  }
  assert.equal(readings, 30, 'only the callers read while they read more often than the period');
  // no caller: the timer reads, and sees a switch
  on = false;
  await delay(1000);
  assert.ok(readings >= 32 && readings <= 34, `the timer read about every 300 ms (${readings - 30} readings in 1 s)`);
  const seen = read().seen!;
  assert.equal(seen.changes.length, 1);
  assert.ok(seen.changes[0]!.toMs - seen.changes[0]!.fromMs <= 400, 'the switch is placed within the period');
  stop();
  const at = readings;
  await delay(400);
  assert.equal(readings, at, 'stopped: no more readings');
});
