// The dashboard uses the terminal it is given (tmux, the real binary from source): at 80x24
// a name gets its 15 columns, the help is complete and readable (paged), and at 200x60 the
// process pane takes the width until something is pinned.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { KEYMAP, keyLabel } from '../../src/ui/keymap.js';
import { needsRoot, spawnTracked } from '../helpers.js';
import { assertRestored, hasTmux, session, type Tmux } from './tmux.js';

const CMD = 'node --import tsx src/cli.ts';
/** 15 bytes: the longest name the kernel keeps (TASK_COMM_LEN - 1) */
const NAME = 'dte2e-layout-xy';

async function open(t: TestContext, columns: number, rows: number): Promise<Tmux> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-layout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync('/bin/sleep', path.join(dir, NAME));
  const kid = spawnTracked(path.join(dir, NAME), ['600']);
  t.after(() => kid.kill('SIGKILL'));
  const tm = await session(t, columns, rows);
  tm.keys(CMD, 'Enter');
  await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
  // only our process, so its row is on screen whatever the sort
  tm.type(`/${NAME}`);
  tm.keys('Enter');
  await tm.waitFor('the filtered table', (x) => x.includes('Processes 1/'));
  return tm;
}

/** The process pane's top border: its width in columns. */
const procsPaneWidth = (screen: string) => {
  const top = screen.split('\n').find((l) => l.startsWith('╭'))!;
  return [...top.slice(0, top.indexOf('╮') + 1)].length;
};

test(
  '80x24: names get 15 columns, no empty watch pane, and the help is complete when paged',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const tm = await open(t, 80, 24);
    // the command line (/tmp/.../NAME 600), read for the row once it is on screen, in a column of 15 or more
    let s = await tm.waitFor('the command line', (x) => x.includes('/tmp/delaytop-layout-'));
    const row = s.split('\n').find((l) => l.includes('/tmp/delaytop-layout-'));
    assert.ok(row, `the process's command line is shown:\n${s}`);
    const command = row.slice(row.indexOf('/tmp/'), row.lastIndexOf('│'));
    assert.ok([...command.trimEnd()].length >= 15, `the name's column is ${command.length} wide:\n${s}`);
    assert.doesNotMatch(s, /Watch|No task pinned/);
    assert.equal(procsPaneWidth(s), 80, `the process pane is the terminal's width:\n${s}`);

    tm.keys('?');
    s = await tm.waitFor('the help', (x) => x.includes('delaytop help'));
    let seen = s;
    // a page is known by how many rows remain below it: the screen also changes when a
    // refresh redraws the header, which is not the next page
    const remaining = (x: string) => /↓ (\d+) more/.exec(x)?.[1] ?? 'none';
    for (let i = 0; i < 30 && /↓ \d+ more/.test(s); i++) {
      const before = remaining(s);
      tm.keys('PageDown');
      s = await tm.waitFor('the next page', (x) => remaining(x) !== before);
      seen += '\n' + s;
    }
    assert.doesNotMatch(s, /↓ \d+ more/, `paged to the end:\n${s}`);
    for (const line of seen.split('\n')) assert.ok([...line].length <= 80, `no line wider than the terminal: ${line}`);
    // each binding on one line: its keys, then the first words of what it does
    for (const b of KEYMAP) {
      const keys = b.keys.map(keyLabel).join(' ');
      const words = b.help.split(' ').slice(0, 2).join(' ');
      assert.ok(
        seen.split('\n').some((l) => l.includes(keys) && l.includes(words)),
        `"${keys}" with "${words}" (${b.command}) on one line of the help`,
      );
    }
    tm.keys('Escape');
    await tm.waitFor('the help closed', (x) => !x.includes('delaytop help'));
    tm.keys('q');
    await assertRestored(tm);
  },
);

test(
  '200x60: the process pane takes the width; pinning brings the watch pane beside it',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const tm = await open(t, 200, 60);
    let s = tm.screen();
    assert.equal(procsPaneWidth(s), 200, s);
    tm.keys('Enter'); // pin the highlighted (only) row
    s = await tm.waitFor('the watch pane', (x) => x.includes(`▶ tgid`) && x.includes(NAME));
    const w = procsPaneWidth(s);
    assert.ok(w >= 100 && w <= 160, `the process pane keeps most of the width (${w}):\n${s}`);
    tm.keys('q');
    await assertRestored(tm);
  },
);

test(
  'g cycles processes, threads and a row per cgroup (exited processes included), then processes again',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const tm = await session(t);
    tm.keys(CMD, 'Enter');
    await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('refreshed'), 60_000);
    tm.keys('g');
    await tm.waitFor('the threads', (x) => /Threads \d+/.test(x));
    tm.keys('g');
    const s = await tm.waitFor(
      'the group view with its rows',
      (x) => /Groups \d+/.test(x) && /│ +\d+ +\d+ +\d/.test(x),
      30_000,
    );
    assert.match(s, /PROCS EXITED +CPUD% +IOD%/);
    assert.match(s, /│ +\d+ +\d+ .* \/\S*/, `a row names its cgroup:\n${s}`);
    tm.keys('g');
    await tm.waitFor('the processes again', (x) => /Processes \d+/.test(x));
    tm.keys('q');
    await assertRestored(tm);
  },
);
