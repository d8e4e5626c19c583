// Names that any local user chooses reach root's terminal only escaped: the one printable-text
// function, then the real binary's -b, -l, -c, JSON, and the dashboard in tmux.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { decodeName, surrogateEscape } from '../src/kernel/decode.js';
import { displayWidth, fitText, printable } from '../src/output/text.js';
import { delay, needsRoot, spawnTracked } from './helpers.js';
import { assertRestored, hasTmux, session } from './e2e/tmux.js';

// What an attacker names a program (the kernel keeps its first 15 bytes as comm).
const CLEAR_AND_TITLE = '\x1b[2J\x1b]0;pwn\x07x';
const OSC52_OPEN = '\x1b]52;c;AAAA';
const FORGED_LINE = 'a\r\nFAKE exit 0';
const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x61, 0x62]);

test('printable(): control, format and non-UTF-8 characters are escaped visibly; printable UTF-8 stays itself', () => {
  assert.equal(printable(CLEAR_AND_TITLE), '\\x1b[2J\\x1b]0;pwn\\x07x');
  assert.equal(printable(FORGED_LINE), 'a\\x0d\\x0aFAKE exit 0');
  assert.equal(
    printable('del\x7f c1\x9b'),
    'del\\x7f c1\\u{9b}',
    'a C1 character (a decoded U+009B) is not shown as the byte 0x9b',
  );
  assert.equal(printable(surrogateEscape(Buffer.from([0x9b]))), '\\x9b', 'the byte 0x9b that was not UTF-8');
  assert.equal(
    printable(decodeName(Buffer.from([0xef, 0xbb, 0xbf, 0x73, 0x73, 0x68, 0x64]))),
    '\\u{feff}sshd',
    'a leading BOM is kept and shown: no fake "sshd"',
  );
  assert.equal(printable('safe\u202egnp.exe'), 'safe\\u{202e}gnp.exe', 'a bidi override cannot reorder the line');
  assert.equal(
    printable('a\\x1b'),
    'a\\\\x1b',
    'a backslash in the name is doubled: an escape on screen is always one',
  );
  assert.equal(printable('héllo→w'), 'héllo→w', 'valid UTF-8 is not turned into ?');
  assert.equal(printable(surrogateEscape(NOT_UTF8)), '\\xff\\xfeab', 'bytes that are not UTF-8 show as \\xNN');
  assert.equal(displayWidth('中文ab'), 6, 'wide characters take two cells');
  assert.equal(fitText('中文中文中文中文', 15), '中文中文中文中 ', 'cut at a whole character, padded to the width');
  assert.equal(fitText('\x1b\x1b\x1b\x1b', 10), '\\x1b\\x1b  ', 'an escape is never cut in half');
  assert.equal(
    JSON.parse(JSON.stringify(surrogateEscape(NOT_UTF8))),
    '\udcff\udcfeab',
    'JSON keeps the bytes as \\udcNN',
  );
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;

/** bash's $'...' quoting of arbitrary bytes. */
const ansiC = (b: Buffer) => `$'${[...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')}'`;

/**
 * A shell command that runs a copy of sleep under a hostile file name (its comm is the
 * name; node cannot pass a name that is not UTF-8 to execve, bash can).
 */
function hostileCmd(name: string | Buffer, secs: string): string {
  const sub = path.join(dir, String(seq++));
  const file = Buffer.concat([Buffer.from(sub + '/'), Buffer.isBuffer(name) ? name : Buffer.from(name)]);
  return `mkdir -p ${sub} && cp /bin/sleep ${ansiC(file)} && exec ${ansiC(file)} ${secs}`;
}

const hostileSleep = (name: string | Buffer, secs = '30') => spawnTracked('bash', ['-c', hostileCmd(name, secs)]);
const hostileRun = (name: string | Buffer) => spawnSync('bash', ['-c', hostileCmd(name, '0')]);

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'latin1', timeout: 30000 });

/** Nothing a terminal would act on: no ESC, BEL, CR, C1 byte; the only LFs end lines. */
function assertInert(out: string, what: string) {
  assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, `${what}: no control byte reaches the terminal`);
}

test('-b text and --json: a hostile comm is escaped in text, exact in JSON', async (t) => {
  if (!needsRoot(t)) return;
  const children = [CLEAR_AND_TITLE, OSC52_OPEN, FORGED_LINE].map((n) => hostileSleep(n));
  const raw = hostileSleep(NOT_UTF8);
  t.after(() => [...children, raw].forEach((c) => c.kill('SIGKILL')));
  await delay(300); // copied and exec'd
  const ids = [...children, raw].flatMap((c) => ['-p', String(c.pid)]);
  const text = cli(['-b', '-n', '1', ...ids]);
  assert.equal(text.status, 0, text.stderr);
  assertInert(text.stdout, '-b');
  assert.ok(text.stdout.includes('\\x1b[2J\\x1b]0;'), text.stdout);
  assert.ok(text.stdout.includes('\\x1b]52;c;AAAA'), 'an unterminated OSC cannot swallow what follows');
  assert.ok(text.stdout.includes('a\\x0d\\x0aFAKE exi'), 'CR/LF cannot forge a line');
  assert.ok(text.stdout.includes('\\xff\\xfeab'));
  assert.equal(text.stdout.split('\n').filter((l) => l.startsWith('pid ')).length, 4, 'one line per task');
  const json = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '-b', '--json', '-n', '1', ...ids], {
    encoding: 'utf8',
    timeout: 30000,
  });
  const comms = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).comm);
  assert.ok(comms.includes(CLEAR_AND_TITLE), 'JSON carries the name exactly');
  assert.ok(comms.includes('\udcff\udcfeab'), 'non-UTF-8 bytes kept as U+DC00+byte');
});

test('-l and -c: exit lines and the report escape the name; a CR/LF cannot forge a line', async (t) => {
  if (!needsRoot(t)) return;
  const listen = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '-l', '--duration', '6'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errOut = '';
  listen.stdout.setEncoding('latin1').on('data', (d) => (out += d));
  listen.stderr.setEncoding('latin1').on('data', (d) => (errOut += d));
  for (let i = 0; i < 100 && !errOut.includes('listening'); i++) await delay(100);
  for (const n of [CLEAR_AND_TITLE, FORGED_LINE]) hostileRun(n);
  await new Promise((r) => listen.on('exit', r));
  assertInert(out, '-l');
  assert.ok(out.includes('\\x1b[2J\\x1b]0;pwn\\x07x'), out);
  assert.equal(out.split('\n').filter((l) => l.includes('FAKE exit 0')).length, 1);
  assert.ok(!out.split('\n').some((l) => l.startsWith('FAKE')), 'no forged line');
  const c = cli(['-c', 'bash', '-c', hostileCmd(CLEAR_AND_TITLE, '0')]);
  assert.equal(c.status, 0, c.stderr);
  assertInert(c.stdout, '-c');
  assert.match(c.stdout, /^\\x1b\[2J\\x1b\]0;pwn\\x07x \(pid \d+, 1 thread\) exited with status 0/m);
});

test(
  'dashboard (tmux): a hostile process and a recording with a hostile hostname leave the screen and the title alone',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const child = hostileSleep(CLEAR_AND_TITLE, '60');
    t.after(() => child.kill('SIGKILL'));
    await delay(300);
    // a recording of that process whose header names its machine with escape codes
    const rec = path.join(dir, 'rec.jsonl');
    const made = cli(['-w', rec, '-b', '-t', String(child.pid), '-n', '2', '-d', '0.2']);
    assert.equal(made.status, 0, made.stderr);
    const lines = readFileSync(rec, 'utf8').split('\n');
    const header = JSON.parse(lines[0]!);
    header.hostname = '\x1b]0;owned\x07\x1b[31mevil';
    writeFileSync(rec, [JSON.stringify(header), ...lines.slice(1)].join('\n'));
    const tm = await session(t);
    tm.tmux('set-option', '-t', 'e2e', 'set-titles', 'on');
    const titleBefore = tm.flag('pane_title');
    tm.keys(`node --import tsx src/cli.ts --replay ${rec} --speed 0.5`, 'Enter');
    const s = await tm.waitFor('the replayed dashboard', (x) => x.includes('evil') && /\\x1b\[2J/.test(x), 60_000);
    assert.ok(s.includes('recorded on \\x1b]0;owned\\x07\\x1b[31mevil'), `the hostname, escaped:\n${s}`);
    assert.match(s, /^delaytop · kernel /m, 'the title line was not cleared away');
    assert.equal(tm.flag('pane_title'), titleBefore, 'the window title is unchanged');
    tm.keys('q');
    await assertRestored(tm);
  },
);
