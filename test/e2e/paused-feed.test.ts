// End to end: a paused exit feed survives a storm. The real dashboard in tmux (120x40): focus
// the exit feed, pause it, run 5,000 exits (forker.c, five times the feed's ring), and find
// the same rows on screen with the title counting the exits that arrived since; PgDn still
// scrolls within what it froze on; Home is live again and shows an exit made after it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { compileC } from '../bench/common.js';
import { delay, needsRoot, spawnTracked } from '../helpers.js';
import { assertRestored, hasTmux, session, startDashboard, type Tmux } from './tmux.js';

const STORM = 5000;

/** The exit feed's rows on screen, top to bottom, as "pid comm" (the bars beside them move on their own). */
const feedRows = (screen: string) =>
  [...screen.matchAll(/│\d\d:\d\d:\d\d +\d+ +(\d+) +\d+ +(\S+)/g)].map((m) => `${m[1]} ${m[2]}`);

/** The feed pane's title: exits so far, the loss counter and, when frozen, the exits that arrived since. */
function feedTitle(screen: string): { exits: number; lost: number; mode: string; newer: number | null } | null {
  const m = /Exit feed (\d+) exits .*?lost (\d+) · (\S+)(?: · ([\d,]+) newer)?/.exec(screen);
  return m
    ? {
        exits: Number(m[1]),
        lost: Number(m[2]),
        mode: m[3]!,
        newer: m[4] ? Number(m[4].replaceAll(',', '')) : null,
      }
    : null;
}

/** The footer: the keys of the focused pane. */
const footer = (screen: string) =>
  screen
    .split('\n')
    .filter((l) => l.trim())
    .at(-1) ?? '';

/** The screen once two captures a moment apart agree on the feed's rows (no frame half drawn). */
async function steadyRows(tm: Tmux, what: string, pred: (s: string) => boolean): Promise<string> {
  let last = '';
  return tm.waitFor(what, (s) => {
    const rows = feedRows(s).join('\n');
    const steady = pred(s) && rows === last;
    last = rows;
    return steady;
  });
}

test(
  'a paused exit feed keeps its rows through 5,000 exits, counts them, and Home is live',
  {
    timeout: 180_000,
  },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    if (spawnSync('cc', ['--version']).status !== 0) return t.skip('no C compiler (cc) for the exit storm (forker.c)');
    const forker = compileC('forker');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const marker = path.join(dir, 'dtfeed-live');
    copyFileSync('/bin/true', marker);

    const tm = await session(t);
    await startDashboard(tm);
    // several pages to freeze on, whatever else the machine is doing (on a busy machine the
    // exit listener can start well after the first frame: exits before it are not in the feed)
    for (let i = 0; (feedTitle(tm.screen())?.exits ?? 0) < 60; i++) {
      assert.ok(i < 100, `exits reach the feed:\n${tm.screen()}`);
      spawnSync(forker, ['-n', '40', '-w', '1']);
      await delay(300);
    }
    await tm.waitFor('exits in the feed', (s) => feedRows(s).length >= 5);

    // Tab to the exit feed (its keys in the footer: the panes between may come and go); Space pauses it
    for (let i = 0; !/Home live/.test(tm.screen()); i++) {
      assert.ok(i < 3, `Tab reaches the exit feed:\n${tm.screen()}`);
      const before = footer(tm.screen());
      tm.keys('Tab');
      await tm.waitFor('the focus to move', (x) => footer(x) !== before, 5_000);
    }
    tm.keys('Space');
    let s = await steadyRows(tm, 'the paused feed', (x) => feedTitle(x)?.mode === 'PAUSED');
    const frozen = feedRows(s);
    assert.ok(frozen.length >= 5, `a page of exits on screen:\n${s}`);
    const before = feedTitle(s)!;

    const r = spawnSync(forker, ['-n', String(STORM)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `forker: ${r.stdout}${r.stderr}`);
    const storm = JSON.parse(r.stdout) as { taskExits: number };
    s = await tm.waitFor('the newer exits counted', (x) => {
      const now = feedTitle(x);
      return !!now && (now.newer ?? 0) + now.lost - before.lost >= storm.taskExits;
    });
    const after = feedTitle(s)!;
    assert.deepEqual(feedRows(s), frozen, `the same rows after the storm:\n${s}`);
    assert.equal(after.mode, 'PAUSED');
    assert.ok(
      after.newer! >= STORM || after.lost > before.lost,
      `every storm exit counted as newer (${after.newer}), none lost (${before.lost} -> ${after.lost}):\n${s}`,
    );
    assert.match(s, /PAUSED · [\d,]+ newer \(Home: live\)/);

    // PgDn scrolls within the snapshot: a page less one row older, its last row now the first
    tm.keys('PgDn');
    s = await steadyRows(tm, 'a page older', (x) => feedRows(x)[0] === frozen.at(-1));
    assert.equal(feedTitle(s)!.mode, 'PAUSED');
    tm.keys('PgUp');
    s = await steadyRows(tm, 'back to the top of the snapshot', (x) => feedRows(x)[0] === frozen[0]);
    assert.deepEqual(feedRows(s), frozen);

    // Home: live, and exits made now show up (a stream of them: one alone would scroll away
    // under the machine's other exits, this test's tmux clients among them, before a capture)
    tm.keys('Home');
    await tm.waitFor('the live feed', (x) => feedTitle(x)?.mode === 'LIVE');
    const stream = spawnTracked('/bin/sh', ['-c', `while :; do "${marker}"; done`]);
    t.after(() => stream.kill('SIGKILL'));
    s = await tm.waitFor('exits after the storm, live', (x) => feedRows(x).some((row) => row.endsWith(' dtfeed-live')));
    stream.kill('SIGKILL');
    assert.equal(feedTitle(s)!.mode, 'LIVE');
    assert.notDeepEqual(feedRows(s), frozen);

    tm.type('q');
    await assertRestored(tm);
  },
);
