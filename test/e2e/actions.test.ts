// End to end: an action on a task the test started, in the real dashboard in a real
// terminal (tmux sends F8 and F9 as the terminal would). Filter to it, F8 and y: its nice
// in /proc/PID/stat is 1. F9, Enter and y: it ends by SIGTERM.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { exited, needsRoot, spawnTracked, statField } from '../helpers.js';
import { assertRestored, hasTmux, session } from './tmux.js';

const CMD = process.env.DELAYTOP_E2E_CMD ?? 'node --import tsx src/cli.ts';
const NAME = 'dte2e-renice';

const niceOf = (pid: number): number => Number(statField(`/proc/${pid}/stat`, 19));

test('F8 and y renice the highlighted process; F9, Enter and y send it SIGTERM', { timeout: 120_000 }, async (t) => {
  if (!needsRoot(t)) return;
  if (!hasTmux()) return t.skip('tmux is not installed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-actions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync('/bin/sleep', path.join(dir, NAME));
  const kid = spawnTracked(path.join(dir, NAME), ['300']);
  t.after(() => kid.kill('SIGKILL'));
  const pid = kid.pid!;
  assert.equal(niceOf(pid), 0);

  const tm = await session(t);
  tm.keys(CMD, 'Enter');
  await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
  tm.type(`/${NAME}`);
  tm.keys('Enter');
  await tm.waitFor('the filtered table', (x) => x.includes('Processes 1/'));

  tm.keys('F8');
  await tm.waitFor('the renice prompt', (x) => x.includes(`renice ${pid} (${NAME}) from 0 to 1? y/n`));
  tm.type('y');
  await tm.waitFor('the result', (x) => x.includes(`renice ${pid} (${NAME}): nice is now 1`));
  assert.equal(niceOf(pid), 1, '/proc/PID/stat says nice 1');

  tm.keys('F9');
  await tm.waitFor('the signal chooser', (x) => x.includes(`signal to ${pid} (${NAME}): TERM 15 KILL 9`));
  tm.keys('Enter');
  await tm.waitFor('the signal prompt', (x) => x.includes(`send SIGTERM (15) to ${pid} (${NAME})? y/n`));
  tm.type('y');
  await exited(kid);
  assert.equal(kid.signalCode, 'SIGTERM');
  await tm.waitFor('the result', (x) => x.includes(`sent SIGTERM (15) to ${pid} (${NAME})`));

  tm.type('q');
  await assertRestored(tm);
});
