// The tmux plumbing of the end-to-end tests: a private server per test, a 120x40 pane
// with a plain shell, polling captures, and the check that the shell got its screen back.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { delay } from '../helpers.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

export class Tmux {
  readonly socket = `delaytop-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private started = false;
  private socketPath = '';
  /**
   * The session's XDG_CONFIG_HOME: its own, so a dashboard quit with q saves its settings
   * there, for no other test to start from (0755: a test's unprivileged user finds no file).
   */
  readonly configHome = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-config-'));

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  start(columns = 120, rows = 40): void {
    chmodSync(this.configHome, 0o755);
    // Ink renders nothing until exit when it thinks it runs in CI: the terminal must not say so.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && !k.startsWith('CI_')),
    );
    execFileSync(
      'tmux',
      [
        '-L',
        this.socket,
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        'e2e',
        '-x',
        String(columns),
        '-y',
        String(rows),
        '-c',
        ROOT,
        'env',
        'PS1=e2e$ ',
        'TERM=xterm-256color',
        `XDG_CONFIG_HOME=${this.configHome}`,
        'bash',
        '--norc',
        '--noprofile',
      ],
      { env },
    );
    this.started = true;
    this.socketPath = this.tmux('display-message', '-p', '#{socket_path}').trim();
  }

  kill(): void {
    rmSync(this.configHome, { recursive: true, force: true });
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

/** The real binary from source: `delaytop` with no flags in a terminal opens the dashboard. */
export const DASHBOARD_CMD = process.env.DELAYTOP_E2E_CMD ?? 'node --import tsx src/cli.ts';

/** Run the dashboard in the pane and wait for its first full frame (on the alternate screen). */
export async function startDashboard(tm: Tmux, cmd = DASHBOARD_CMD): Promise<string> {
  tm.keys(cmd, 'Enter');
  const s = await tm.waitFor(
    'the dashboard',
    (x) => /Processes \d+/.test(x) && x.includes('Exit feed') && x.includes('refreshed'),
    60_000,
  );
  assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');
  return s;
}

/** Start a tmux session with a shell showing a marker; kill it however the test ends. */
export async function session(t: TestContext, columns = 120, rows = 40): Promise<Tmux> {
  const tm = new Tmux();
  t.after(() => tm.kill());
  tm.start(columns, rows);
  tm.keys('clear; echo E2E-SHELL-MARKER', 'Enter');
  await tm.waitFor('the shell', (s) => s.includes('E2E-SHELL-MARKER'));
  return tm;
}

/** The shell is back: main screen, the marker still there, cursor shown, terminal not raw. */
export async function assertRestored(tm: Tmux): Promise<void> {
  await tm.waitFor('the main screen', () => tm.flag('alternate_on') === '0', 15_000);
  // and delaytop gone: keys typed while it is still exiting would be read by it, not the shell
  await tm.waitFor('the shell in the foreground', () => tm.flag('pane_current_command') === 'bash', 15_000);
  const s = tm.screen();
  assert.ok(s.includes('E2E-SHELL-MARKER'), `the shell's screen is back:\n${s}`);
  assert.ok(!s.includes('Exit feed'), 'no dashboard left on the main screen');
  assert.equal(tm.flag('cursor_flag'), '1', 'cursor shown');
  tm.keys(
    'clear; stty -a | tr " " "\\n" | grep -x -e icanon -e -icanon -e echo -e -echo | tr "\\n" " "; echo :STTY',
    'Enter',
  );
  // the output line, not the command line that mentions it
  const stty = await tm.waitFor('stty', (x) => /^-?\w+ -?\w+ :STTY\s*$/m.test(x));
  assert.match(stty, /^icanon echo :STTY\s*$/m, `raw mode is off:\n${stty}`);
  tm.keys('clear; echo E2E-SHELL-MARKER', 'Enter');
  await tm.waitFor('the shell', (x) => x.includes('E2E-SHELL-MARKER'));
}
