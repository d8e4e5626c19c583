// Hostile input through the real binary: each gets a message naming the input and an
// exit code, never a stack trace, and leaves no process behind. (Hostile flag values are
// usage errors, tested in-process in command-line.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isRoot } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MARKER = 'DELAYTOP_HOSTILE_RUN';
const runMarker = `${process.pid}-${Date.now()}`;
const run = (args: string[], asNobody = false) => {
  const cmd = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args];
  const full = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd;
  return spawnSync(full[0]!, full.slice(1), {
    encoding: 'utf8',
    timeout: 30000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [MARKER]: runMarker },
  });
};

const header = JSON.stringify({ type: 'header', format: 'delaytop-recording', version: 1, startedMs: 0 });
const files = {
  empty: path.join(dir, 'empty.jsonl'),
  cut: path.join(dir, 'cut.jsonl'),
  garbage: path.join(dir, 'garbage.bin'),
  link: path.join(dir, 'link.jsonl'),
  unreadable: path.join(dir, 'unreadable.jsonl'),
};
writeFileSync(files.empty, '');
writeFileSync(files.cut, header + '\n{"type":"query","t":1,"res');
writeFileSync(files.garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
writeFileSync(files.unreadable, header + '\n');
chmodSync(files.unreadable, 0o600);
symlinkSync(files.unreadable, files.link);

const cases: { args: string[]; code: number; re: RegExp; nobody?: boolean }[] = [
  { args: ['--replay', files.empty, '-b'], code: 1, re: /empty\.jsonl is empty/ },
  { args: ['--replay', files.cut, '-b'], code: 1, re: /cut\.jsonl:2: cut short/ },
  { args: ['--replay', files.garbage, '-b'], code: 1, re: /garbage\.bin:1: .*binary/ },
  { args: ['--replay', files.link, '-b'], code: 1, re: /link\.jsonl.*symbolic link/ },
  { args: ['--replay', files.unreadable, '-b'], code: 1, re: /unreadable\.jsonl/, nobody: true },
  { args: ['-w', files.link, '-b', '-t', '1', '-n', '1'], code: 1, re: /refusing to record to .*link\.jsonl/ },
  { args: ['-c', '/no/such/command', 'x'], code: 127, re: /\/no\/such\/command: command not found/ },
];

for (const c of cases) {
  const name = `${c.nobody ? '(as uid 65534) ' : ''}delaytop ${c.args.map((a) => (a.length > 24 ? a.slice(0, 12) + `...(${a.length})` : a)).join(' ')}`;
  test(name, (t) => {
    if (c.nobody && !isRoot) return t.skip('needs root to switch to uid 65534');
    const r = run(c.args, c.nobody);
    t.diagnostic(`exit ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
    assert.equal(r.status, c.code, r.stderr);
    assert.match(r.stderr, c.re);
    assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
    assert.doesNotMatch(r.stderr, /internal error/);
  });
}

// Every run carries a marker in its environment, which its descendants inherit: a process
// that still has it after the runs ended is one of theirs that outlived them (a command, a
// reader, anything holding its sockets), whoever it was reparented to since.
function lingering(marker: string): string[] {
  const needle = Buffer.from(`${MARKER}=${marker}\0`);
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`).includes(needle))
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
    } catch {
      // gone meanwhile, or another user's (without root: the uid 65534 runs are skipped)
    }
  }
  return found;
}

test('no process of the runs above outlives them', () => {
  assert.deepEqual(lingering(runMarker), []);
});

test('the lingering check finds a descendant left running (a control: it can fail)', async (t) => {
  const control = `${runMarker}-control`;
  const r = spawnSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], {
    encoding: 'utf8',
    env: { ...process.env, [MARKER]: control },
  });
  const sleeper = Number(r.stdout.trim());
  t.after(() => {
    try {
      process.kill(sleeper);
    } catch {
      // already gone
    }
  });
  assert.equal(r.status, 0);
  const found = lingering(control);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0]!, new RegExp(`^${sleeper} sleep 30`));
});
