// End to end: the dashboard's settings file in a real terminal (tmux, 120x40, a private
// socket, an XDG_CONFIG_HOME of the session's own). Run 1 changes the sort, the thread mode
// and the interval and quits with q; run 2 starts with them on screen; -d beats the saved
// interval without being saved; a corrupt file, or one of another user's (sudo -E), gives
// one warning and the defaults; --no-config neither reads nor writes the file.
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { needsRoot } from '../helpers.js';
import { assertRestored, hasTmux, session, type Tmux } from './tmux.js';

const CMD = process.env.DELAYTOP_E2E_CMD ?? 'node --import tsx src/cli.ts';

async function start(tm: Tmux, cmd: string, what: string, pred: (screen: string) => boolean): Promise<string> {
  tm.keys(cmd, 'Enter');
  const s = await tm.waitFor(what, (x) => x.includes('refreshed') && pred(x), 60_000);
  assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');
  return s;
}

/** q, then the shell's screen as the dashboard left it (wrapped lines joined), before assertRestored clears it. */
async function quit(tm: Tmux): Promise<string> {
  tm.type('q');
  await tm.waitFor('the main screen', () => tm.flag('alternate_on') === '0', 15_000);
  await tm.waitFor('the shell in the foreground', () => tm.flag('pane_current_command') === 'bash', 15_000);
  const s = tm.tmux('capture-pane', '-p', '-J', '-t', 'e2e');
  await assertRestored(tm);
  return s;
}

/** A tmux session for a test that needs root and tmux (else skipped, saying why), and its settings file. */
async function settingsSession(t: TestContext): Promise<{ tm: Tmux; file: string } | null> {
  if (!needsRoot(t)) return null;
  if (!hasTmux()) {
    t.skip('tmux is not installed');
    return null;
  }
  const tm = await session(t);
  return { tm, file: path.join(tm.configHome, 'delaytop', 'config.json') };
}

const warnings = (screen: string) => screen.split('\n').filter((l) => l.startsWith('delaytop: warning:'));
const fileState = (file: string) => ({ text: readFileSync(file, 'utf8'), ino: statSync(file).ino });

test(
  'settings persist: run 1 changes sort, thread mode and interval and quits; run 2 starts with them',
  { timeout: 240_000 },
  async (t) => {
    const x = await settingsSession(t);
    if (!x) return;
    const { tm, file } = x;

    let s = await start(tm, CMD, 'the dashboard, defaults', (x) => /Processes \d+/.test(x));
    assert.match(s, /CPUD%▼/);
    assert.match(s, /every 1s/);
    tm.type('i');
    await tm.waitFor('sort by IO', (x) => /IOD%▼/.test(x));
    tm.type('r');
    await tm.waitFor('IO ascending', (x) => /IOD%▲/.test(x));
    tm.type('t');
    await tm.waitFor('every thread', (x) => /Threads \d+/.test(x) && /TID +TGID/.test(x));
    tm.type('+');
    await tm.waitFor('every 2s', (x) => /every 2s/.test(x));
    let after = await quit(tm);
    assert.deepEqual(warnings(after), []);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      sortColumn: 'IO',
      sortDescending: false,
      threads: true,
      intervalSec: 2,
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);

    // run 2: the first frame with rows already shows them
    s = await start(tm, CMD, 'the saved settings', (x) => /Threads \d+/.test(x));
    assert.match(s, /IOD%▲/);
    assert.match(s, /TID +TGID/);
    assert.match(s, /every 2s/);
    const saved = fileState(file);
    after = await quit(tm);
    assert.deepEqual(warnings(after), []);
    assert.deepEqual(fileState(file), saved, 'nothing changed: nothing written');

    // -d beats the saved interval, and a flag is not saved (only a change made in the dashboard is)
    s = await start(tm, `${CMD} -d 0.5`, 'the interval of -d', (x) => /Threads \d+/.test(x));
    assert.match(s, /every 500ms/);
    tm.type('n');
    await tm.waitFor('sort by pid', (x) => /TID▲/.test(x));
    await quit(tm);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      sortColumn: 'PID',
      sortDescending: false,
      threads: true,
      intervalSec: 2,
    });
  },
);

test(
  'a corrupt file: one warning, the defaults, not saved over; --no-config ignores the file both ways',
  { timeout: 240_000 },
  async (t) => {
    const x = await settingsSession(t);
    if (!x) return;
    const { tm, file } = x;
    mkdirSync(path.dirname(file), { mode: 0o700 });
    writeFileSync(file, '{"sortColumn": "IO", "threads": tru', { mode: 0o600 });
    const corrupt = fileState(file);

    let s = await start(tm, CMD, 'the dashboard, defaults', (x) => /Processes \d+/.test(x));
    assert.match(s, /CPUD%▼/);
    tm.type('n');
    await tm.waitFor('sort by pid', (x) => /PID▲/.test(x));
    let after = await quit(tm);
    const w = warnings(after);
    assert.equal(w.length, 1, `one warning:\n${after}`);
    assert.match(
      w[0]!,
      /config\.json is not valid JSON.*; the dashboard starts with the default settings and will not save them/,
    );
    assert.doesNotMatch(after, /internal error|\n\s+at /);
    assert.deepEqual(fileState(file), corrupt, 'not saved over');

    writeFileSync(file, '{"sortColumn": "IO", "threads": true}');
    const valid = fileState(file);
    s = await start(tm, `${CMD} --no-config`, 'the dashboard, defaults', (x) => /Processes \d+/.test(x));
    assert.match(s, /CPUD%▼/, 'the file was not read');
    tm.type('s');
    await tm.waitFor('sort by SWAP', (x) => /SWPD%▼/.test(x));
    after = await quit(tm);
    assert.deepEqual(warnings(after), []);
    assert.deepEqual(fileState(file), valid, 'nor written');
  },
);

test(
  "another user's settings (sudo -E: HOME is theirs): one warning, the defaults, nothing written there",
  { timeout: 120_000 },
  async (t) => {
    const x = await settingsSession(t);
    if (!x) return;
    const { tm } = x;
    const theirs = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-theirs-'));
    t.after(() => rmSync(theirs, { recursive: true, force: true }));
    const file = path.join(theirs, 'delaytop', 'config.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, '{"threads": true}');
    for (const p of [theirs, path.dirname(file), file]) chownSync(p, 65534, 65534);
    const before = fileState(file);

    const s = await start(tm, `XDG_CONFIG_HOME=${theirs} ${CMD}`, 'the dashboard, defaults', (x) =>
      /Processes \d+/.test(x),
    );
    assert.match(s, /CPUD%▼/);
    tm.type('i');
    await tm.waitFor('sort by IO', (x) => /IOD%▼/.test(x));
    const after = await quit(tm);
    const w = warnings(after);
    assert.equal(w.length, 1, `one warning, at start only:\n${after}`);
    assert.match(
      w[0]!,
      /config\.json: it belongs to uid 65534, not to you \(uid 0\) \(HOME or XDG_CONFIG_HOME is another user's/,
    );
    assert.deepEqual(fileState(file), before);
    assert.equal(statSync(file).uid, 65534);
  },
);
