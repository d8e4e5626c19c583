// Terminal conventions, through the real binary in a pseudo-terminal (util-linux script):
// NO_COLOR leaves no colour in the dashboard (bold and inverse stay), a dashboard run
// writes nothing to stderr, and TERM=dumb (no cursor movement) gets batch output.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT } from './tmux.js';

const CLI = 'node --import tsx src/cli.ts';

/** Ink renders nothing until exit when it thinks it runs in CI: the terminal must not say so. */
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && !k.startsWith('CI_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR',
  ),
);

/**
 * Run a shell command in a 120x40 pseudo-terminal; once its output matches `until`, type
 * `keys` (if any). Resolves with everything the terminal received.
 */
function inPty(
  command: string,
  until: RegExp,
  keys: string | null,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ out: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${command}`, '/dev/null'], {
      cwd: ROOT,
      env: { ...ENV, TERM: 'xterm-256color', ...env },
    });
    let out = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; the terminal got:\n${out.slice(-3000)}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (!typed && until.test(out)) {
        typed = true;
        if (keys !== null) setTimeout(() => child.stdin.write(keys), 300);
      }
    });
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ out, status });
    });
  });
}

/** Every SGR parameter list in the stream (ESC [ ... m). */
const sgrParams = (s: string) => [...s.matchAll(/\x1b\[([0-9;:]*)m/g)].map((m) => m[1]!);
/** Does an SGR parameter list set a colour (30-49, 90-107, 38/48/58 forms)? */
const setsColour = (params: string) => params.split(';').some((p) => /^(3\d|4\d|9[0-7]|10[0-7]|58|59)(:|$)/.test(p));

function skipWithoutScript(t: TestContext): boolean {
  if (spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0) return false;
  t.skip('script (util-linux) is not installed');
  return true;
}

// both on screen, in either order (an unchanged line is not written again)
const DASHBOARD_UP = /^(?=[\s\S]*refreshed)(?=[\s\S]*Exit feed)/;

test('the dashboard writes nothing to stderr, and colour by default', { timeout: 90_000 }, async (t) => {
  if (skipWithoutScript(t)) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-term-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errFile = path.join(dir, 'stderr');
  const r = await inPty(`${CLI} 2>${errFile}`, DASHBOARD_UP, 'q');
  assert.equal(r.status, 0);
  assert.ok(r.out.includes('\x1b[?1049l'), 'the main screen is back');
  assert.ok(r.out.lastIndexOf('\x1b[?25h') > r.out.lastIndexOf('\x1b[?25l'), 'the cursor is shown at the end');
  assert.equal(JSON.stringify(readFileSync(errFile, 'utf8')), '""', 'nothing on stderr (no ESC[?25h)');
  assert.ok(sgrParams(r.out).some(setsColour), 'colour without NO_COLOR (so the check below can see it)');
});

test(
  'NO_COLOR=1: no colour in the dashboard, bold and inverse stay; FORCE_COLOR=1 brings colour back',
  { timeout: 120_000 },
  async (t) => {
    if (skipWithoutScript(t)) return;
    const r = await inPty(CLI, DASHBOARD_UP, 'q', { NO_COLOR: '1' });
    assert.equal(r.status, 0);
    const params = sgrParams(r.out);
    assert.deepEqual(params.filter(setsColour), [], 'no colour escapes');
    assert.ok(params.includes('7'), 'the highlight is still inverse video');
    assert.ok(params.includes('1'), 'bold stays');

    const forced = await inPty(CLI, DASHBOARD_UP, 'q', { NO_COLOR: '1', FORCE_COLOR: '1' });
    assert.ok(sgrParams(forced.out).some(setsColour), 'FORCE_COLOR wins over NO_COLOR (force-color.org)');
  },
);

test(
  'TERM=dumb: batch output and a note why, no cursor movement or alternate screen',
  { timeout: 60_000 },
  async (t) => {
    if (skipWithoutScript(t)) return;
    const r = await inPty(`TERM=dumb timeout -s INT 3 ${CLI}`, /$^/, null);
    assert.match(r.out, /TERM=dumb: this terminal cannot move the cursor, so batch output instead of the dashboard/);
    assert.match(r.out, /^delaytop - \d\d:\d\d:\d\d/m, 'a batch table');
    assert.match(r.out, /^KIND +ID +COMMAND +CPUD%/m);
    assert.doesNotMatch(r.out, /\x1b/, 'not one escape sequence');
  },
);
