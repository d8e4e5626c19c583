// End to end: the real dashboard in a real terminal (tmux, 120x40, a private socket).
// Pick a process with the arrow keys, see its delay table, see a short-lived process in
// the exit feed, quit, and find the shell's screen as it was. Then the other ways out.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { delay, needsRoot, spawnTracked } from '../helpers.js';

/** The real binary from source: `delaytop` with no flags in a terminal opens the dashboard. */
const DASHBOARD_CMD = process.env.DELAYTOP_E2E_CMD ?? 'node --import tsx src/cli.ts';
const ROOT = path.resolve(import.meta.dirname, '../..');

function hasTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

class Tmux {
  readonly socket = `delaytop-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private started = false;
  private socketPath = '';

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  start(): void {
    // Ink renders nothing until exit when it thinks it runs in CI: the terminal must not say so.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && !k.startsWith('CI_')));
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'e2e', '-x', '120', '-y', '40', '-c', ROOT,
      'env', 'PS1=e2e$ ', 'TERM=xterm-256color', 'bash', '--norc', '--noprofile'], { env });
    this.started = true;
    this.socketPath = this.tmux('display-message', '-p', '#{socket_path}').trim();
  }

  kill(): void {
    if (!this.started) return;
    this.started = false;
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    if (this.socketPath) rmSync(this.socketPath, { force: true }); // kill-server leaves it behind
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'e2e', ...keys);
  }

  /** Literal text (no key names). */
  type(text: string): void {
    this.tmux('send-keys', '-t', 'e2e', '-l', text);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 'e2e');
  }

  flag(name: string): string {
    return this.tmux('display-message', '-p', '-t', 'e2e', `#{${name}}`).trim();
  }

  async waitFor(what: string, pred: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let s = '';
    while (Date.now() < until) {
      s = this.screen();
      if (pred(s)) return s;
      await delay(150);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${s}`);
  }
}

/** Start a tmux session with a shell showing a marker; kill it however the test ends. */
async function session(t: TestContext): Promise<Tmux> {
  const tm = new Tmux();
  t.after(() => tm.kill());
  tm.start();
  tm.keys('clear; echo E2E-SHELL-MARKER', 'Enter');
  await tm.waitFor('the shell', (s) => s.includes('E2E-SHELL-MARKER'));
  return tm;
}

/** The dev launcher can crash on purpose (--crash-after-ms); the CLI has no such flag. */
const LAUNCHER_CMD = 'node --import tsx test/e2e/launch-dashboard.ts';

async function startDashboard(tm: Tmux, cmd = DASHBOARD_CMD): Promise<string> {
  tm.keys(cmd, 'Enter');
  const s = await tm.waitFor('the dashboard', (x) => /Processes \d+/.test(x) && x.includes('Exit feed') && x.includes('refreshed'), 60_000);
  assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');
  return s;
}

/** The shell is back: main screen, the marker still there, cursor shown, terminal not raw. */
async function assertRestored(tm: Tmux): Promise<void> {
  await tm.waitFor('the main screen', () => tm.flag('alternate_on') === '0', 15_000);
  // and delaytop gone: keys typed while it is still exiting would be read by it, not the shell
  await tm.waitFor('the shell in the foreground', () => tm.flag('pane_current_command') === 'bash', 15_000);
  const s = tm.screen();
  assert.ok(s.includes('E2E-SHELL-MARKER'), `the shell's screen is back:\n${s}`);
  assert.ok(!s.includes('Exit feed'), 'no dashboard left on the main screen');
  assert.equal(tm.flag('cursor_flag'), '1', 'cursor shown');
  tm.keys('clear; stty -a | tr " " "\\n" | grep -x -e icanon -e -icanon -e echo -e -echo | tr "\\n" " "; echo :STTY', 'Enter');
  // the output line, not the command line that mentions it
  const stty = await tm.waitFor('stty', (x) => /^-?\w+ -?\w+ :STTY\s*$/m.test(x));
  assert.match(stty, /^icanon echo :STTY\s*$/m, `raw mode is off:\n${stty}`);
  tm.keys('clear; echo E2E-SHELL-MARKER', 'Enter');
  await tm.waitFor('the shell', (x) => x.includes('E2E-SHELL-MARKER'));
}

const rowsOf = (screen: string, comm: string) =>
  screen.split('\n').filter((l) => l.includes(comm) && /│[ *]\s*\d+ /.test(l)).map((l) => Number(/│[ *]\s*(\d+) /.exec(l)![1]));

test('pick a process with the arrow keys, watch its delays, see an exit, quit to a clean shell', { timeout: 180_000 }, async (t) => {
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
  s = await tm.waitFor('the delay table of the third', (x) => x.includes(`tgid ${pids[2]} dte2e-target`) && /│\s*\*\s*\d+/.test(x));
  for (const row of ['CPU', 'IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ']) assert.match(s, new RegExp(`│${row} +(\\d|n/a)`), row);
  assert.match(s, new RegExp(`│\\*\\s*${pids[2]} `), 'the pinned row is marked');
  // it stays live: the next refreshes keep drawing it (history grows)
  await tm.waitFor('a refresh of the pinned task', (x) => x.includes(`tgid ${pids[2]} dte2e-target · running · sum of 1 thread`));

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
  for (let page = 0; page < 80 && !found.test(s = tm.screen()); page++) {
    tm.keys('PgDn');
    await delay(250);
  }
  assert.match(s, found, `the exit of dte2e-exit in the feed:\n${s}`);
  assert.match(s, /lost \d+/, 'the loss counter is on screen');
  tm.keys('Home'); // back to the live feed
  tm.keys('Tab');

  // a pinned task that exits stays, marked exited
  kids[2]!.kill('SIGKILL');
  s = await tm.waitFor('the pinned task marked exited', (x) => x.includes(`tgid ${pids[2]} dte2e-target`) && x.includes('· EXITED SIGKILL'));

  tm.type('q');
  await assertRestored(tm);
});

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
      const s = await tm.waitFor('the crash report on the main screen', (x) => /deliberate crash/.test(x) && tm.flag('alternate_on') === '0', 30_000);
      assert.match(s, /delaytop: internal error/, 'the error is reported on the main screen');
    }
    await assertRestored(tm).catch((e: Error) => {
      throw new Error(`after ${how}: ${e.message}`);
    });
  }
});
