// The terminal goes away under the dashboard (tmux's server killed: SIGHUP, then EIO on
// every write): delaytop ends, its recording ends with an end line, and nothing lands in
// stderr (node 20 used to abort with a core dump restoring the modes of the gone terminal).
// SIGTERM ends it with 143, as the other modes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { delay, needsRoot } from '../helpers.js';
import { hasTmux, session } from './tmux.js';

const CMD = 'node --import tsx src/cli.ts';

/** The dashboard's node process: the pane's shell's child. */
function dashboardPid(shellPid: number): number | null {
  try {
    const kids = readFileSync(`/proc/${shellPid}/task/${shellPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return kids.find((k) => k > 0) ?? null;
  } catch {
    return null;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await delay(100))
    if (!existsSync(`/proc/${pid}`)) return true;
  return false;
}

test('a hangup (the terminal gone) ends the dashboard and its recording cleanly', { timeout: 120_000 }, async (t) => {
  if (!needsRoot(t)) return;
  if (!hasTmux()) return t.skip('tmux is not installed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-hangup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tm = await session(t);
  const shell = Number(tm.flag('pane_pid'));
  tm.type(`${CMD} -w ${dir}/rec.jsonl 2>${dir}/stderr.txt`);
  tm.keys('Enter');
  await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
  const pid = dashboardPid(shell);
  assert.ok(pid, 'the dashboard process');
  tm.kill(); // the tmux server and its terminals go: SIGHUP
  assert.ok(await gone(pid, 20_000), 'the dashboard ended after the hangup');
  assert.equal(readFileSync(`${dir}/stderr.txt`, 'utf8'), '', 'nothing on stderr (no abort, no EIO message)');
  const lines = readFileSync(`${dir}/rec.jsonl`, 'utf8').trimEnd().split('\n');
  assert.match(lines.at(-1)!, /^\{"type":"end"/, 'the recording ends with its end line');
});

// The race behind a CI failure: the terminal's writes fail (EIO) before its SIGHUP is
// handled. Made certain here: the dashboard runs in a session of its own (setsid), so the
// terminal going away sends it no SIGHUP at all, only EIO on every write.
test(
  'the terminal gone with no hangup signal (EIO first) ends the dashboard cleanly too',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-hangup-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tm = await session(t);
    tm.type(`setsid -f sh -c 'echo $$ > ${dir}/pid; exec ${CMD} -w ${dir}/rec.jsonl 2>${dir}/stderr.txt'`);
    tm.keys('Enter');
    await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
    const pid = Number(readFileSync(`${dir}/pid`, 'utf8'));
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`), 'the dashboard process');
    tm.kill(); // the terminal goes; delaytop, in another session, gets no SIGHUP
    assert.ok(await gone(pid, 20_000), 'the dashboard ended when its terminal went');
    assert.equal(readFileSync(`${dir}/stderr.txt`, 'utf8'), '', 'nothing on stderr (no abort, no EIO message)');
    const lines = readFileSync(`${dir}/rec.jsonl`, 'utf8').trimEnd().split('\n');
    assert.match(lines.at(-1)!, /^\{"type":"end"/, 'the recording ends with its end line');
  },
);

test('SIGTERM ends the dashboard with 143 and the shell gets its screen back', { timeout: 120_000 }, async (t) => {
  if (!needsRoot(t)) return;
  if (!hasTmux()) return t.skip('tmux is not installed');
  const tm = await session(t);
  const shell = Number(tm.flag('pane_pid'));
  tm.type(`${CMD}; echo "STATUS=$?"`);
  tm.keys('Enter');
  await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
  process.kill(dashboardPid(shell)!, 'SIGTERM');
  await tm.waitFor('the exit status', (x) => /^STATUS=\d+/m.test(x));
  assert.match(tm.screen(), /^STATUS=143$/m);
});
