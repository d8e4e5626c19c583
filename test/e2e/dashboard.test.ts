// End to end: the real dashboard in a real terminal (tmux, 120x40, a private socket).
// Pick a process with the arrow keys, see its delay table, see a short-lived process in
// the exit feed, quit, and find the shell's screen as it was. Then the other ways out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { delay, needsRoot, spawnTracked } from '../helpers.js';
import { assertRestored, DASHBOARD_CMD, hasTmux, session, startDashboard } from './tmux.js';

/** The dev launcher can crash on purpose (--crash-after-ms); the CLI has no such flag. */
const LAUNCHER_CMD = 'node --import tsx test/e2e/launch-dashboard.ts';

const rowsOf = (screen: string, comm: string) =>
  screen
    .split('\n')
    .filter((l) => l.includes(comm) && /│[ *]\s*\d+ /.test(l))
    .map((l) => Number(/│[ *]\s*(\d+) /.exec(l)![1]));

test(
  'pick a process with the arrow keys, watch its delays, see an exit, quit to a clean shell',
  { timeout: 180_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    // Three processes with a name of their own, and a short-lived one for the exit feed.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const target = path.join(dir, 'dte2e-target');
    const quick = path.join(dir, 'dte2e-exit');
    copyFileSync('/bin/sleep', target);
    copyFileSync('/bin/false', quick);
    const kids = [0, 1, 2].map(() => spawnTracked(target, ['600']));
    t.after(() => kids.forEach((k) => k.kill('SIGKILL')));
    const pids = kids.map((k) => k.pid!).sort((a, b) => a - b);

    const tm = await session(t);
    await startDashboard(tm);

    // "/" filters to our three, "n" sorts them by pid, two Downs reach the third, Enter pins it.
    tm.type('/dte2e-target');
    tm.keys('Enter');
    let s = await tm.waitFor('the filtered table', (x) => x.includes('Processes 3/'));
    tm.type('n');
    s = await tm.waitFor('pid order', (x) => x.includes('PID▲') && rowsOf(x, 'dte2e-target').length === 3);
    assert.deepEqual(rowsOf(s, 'dte2e-target'), pids);
    tm.keys('Down');
    await delay(300);
    tm.keys('Down');
    await delay(300);
    tm.keys('Enter');
    // (pinning draws the entry at once; its table comes with the refresh that follows)
    s = await tm.waitFor(
      'the delay table of the third',
      (x) => x.includes(`tgid ${pids[2]} dte2e-target`) && /│\s*\*\s*\d+/.test(x) && /│CPU +(\d|n\/a)/.test(x),
    );
    for (const row of ['CPU', 'IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ'])
      assert.match(s, new RegExp(`│${row} +(\\d|n/a)`), row);
    assert.match(s, new RegExp(`│\\*\\s*${pids[2]} `), 'the pinned row is marked');
    // it stays live: the next refreshes keep drawing it (history grows)
    await tm.waitFor('a refresh of the pinned task', (x) =>
      x.includes(`tgid ${pids[2]} dte2e-target · running · sum of 1 thread`),
    );

    // A short-lived process shows up in the exit feed with its status. The feed is every
    // exit on the machine (tmux's own clients among them), so pause it and page back to it.
    spawnSync(quick);
    await tm.waitFor('the feed to take it in', (x) => /Exit feed \d+ exits/.test(x));
    await delay(1500);
    tm.type('p');
    await tm.waitFor('the paused feed', (x) => x.includes('PAUSED'));
    tm.keys('Tab');
    await delay(200);
    tm.keys('Tab');
    const found = /\d+ +\d+ +dte2e-exit +exit 1 /;
    for (let page = 0; page < 80 && !found.test((s = tm.screen())); page++) {
      tm.keys('PgDn');
      await delay(250);
    }
    assert.match(s, found, `the exit of dte2e-exit in the feed:\n${s}`);
    assert.match(s, /lost \d+/, 'the loss counter is on screen');
    tm.keys('Home'); // back to the live feed
    tm.keys('Tab');

    // a pinned task that exits stays, marked exited
    kids[2]!.kill('SIGKILL');
    s = await tm.waitFor(
      'the pinned task marked exited',
      (x) => x.includes(`tgid ${pids[2]} dte2e-target`) && x.includes('· EXITED SIGKILL'),
    );

    tm.type('q');
    await assertRestored(tm);
  },
);

test('Ctrl-C, SIGTERM, SIGHUP and a crash restore the terminal too', { timeout: 300_000 }, async (t) => {
  if (!needsRoot(t)) return;
  if (!hasTmux()) return t.skip('tmux is not installed');
  const tm = await session(t);
  const dashboardPid = () => {
    const shell = tm.flag('pane_pid');
    // the shell's child (node, possibly through npx) that has the dashboard
    const out = spawnSync('pgrep', ['-P', shell], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    assert.equal(out.length, 1, `one child of the shell: ${out}`);
    return Number(out[0]);
  };
  for (const how of ['Ctrl-C', 'SIGTERM', 'SIGHUP', 'crash'] as const) {
    await startDashboard(tm, how === 'crash' ? `${LAUNCHER_CMD} --crash-after-ms 3000` : DASHBOARD_CMD);
    if (how === 'Ctrl-C') tm.keys('C-c');
    if (how === 'SIGTERM') process.kill(dashboardPid(), 'SIGTERM');
    if (how === 'SIGHUP') process.kill(dashboardPid(), 'SIGHUP');
    if (how === 'crash') {
      // poll both: one capture can predate the switch back to the main screen
      const s = await tm.waitFor(
        'the crash report on the main screen',
        (x) => /deliberate crash/.test(x) && tm.flag('alternate_on') === '0',
        30_000,
      );
      assert.match(s, /delaytop: internal error/, 'the error is reported on the main screen');
    }
    await assertRestored(tm).catch((e: Error) => {
      throw new Error(`after ${how}: ${e.message}`);
    });
  }
});
