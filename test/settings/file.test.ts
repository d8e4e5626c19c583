// The settings file on disk: where it lives, atomic private writes, and the places it is
// neither read nor written: a symlink, a hard link, a FIFO, another user's file or
// directory, a path through another user's symlink (as root: chown to uid 65534).
import { SORT_COLUMNS } from '../../src/model/scan.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { loadSettings, saveSettings, settingsPath } from '../../src/settings/file.js';
import { isRoot } from '../helpers.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'dt-settings-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
/** A fresh XDG_CONFIG_HOME (not created unless `make`) and the settings file in it. */
function place(make = true): { home: string; dir: string; file: string } {
  const home = path.join(base, `xdg-${++n}`);
  if (make) mkdirSync(home, { mode: 0o700 });
  const dir = path.join(home, 'delaytop');
  return { home, dir, file: path.join(dir, 'config.json') };
}
function withFile(text: string): { home: string; dir: string; file: string } {
  const p = place();
  mkdirSync(p.dir, { mode: 0o700 });
  writeFileSync(p.file, text, { mode: 0o600 });
  return p;
}

const snapshot = (file: string) => {
  const st = lstatSync(file);
  return {
    ino: st.ino,
    uid: st.uid,
    mode: st.mode,
    nlink: st.nlink,
    text: st.isFile() ? readFileSync(file, 'utf8') : '',
  };
};
/** No temporary file left beside it. */
const onlyConfig = (dir: string) => assert.deepEqual(readdirSync(dir), ['config.json']);

function needRoot(t: TestContext): boolean {
  if (isRoot) return true;
  t.skip('needs root (chown to uid 65534)');
  return false;
}

test('the path: $XDG_CONFIG_HOME/delaytop/config.json, else ~/.config/...; a relative XDG_CONFIG_HOME is ignored', () => {
  const none = () => {
    throw new Error('no home');
  };
  assert.equal(settingsPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' }), '/x/cfg/delaytop/config.json');
  assert.equal(settingsPath({ XDG_CONFIG_HOME: 'cfg', HOME: '/home/a' }), '/home/a/.config/delaytop/config.json');
  assert.equal(settingsPath({ XDG_CONFIG_HOME: '', HOME: '/home/a' }), '/home/a/.config/delaytop/config.json');
  assert.equal(
    settingsPath({}, () => '/root'),
    '/root/.config/delaytop/config.json',
  );
  assert.equal(settingsPath({}, none), null);
  assert.equal(settingsPath({ HOME: 'relative' }), null);
});

test('no file, no directory, no XDG_CONFIG_HOME directory: no settings and not a word', () => {
  const missing = place(false);
  assert.deepEqual(loadSettings(missing.file), { settings: {}, warning: null, keepOut: false });
  const noDir = place();
  assert.deepEqual(loadSettings(noDir.file), { settings: {}, warning: null, keepOut: false });
});

test('saved: the directories made 0700, the file 0600 whatever the umask, read back as saved', () => {
  const p = place(false);
  const old = process.umask(0);
  try {
    assert.equal(saveSettings(p.file, { sortColumn: 'IO', threads: true, intervalSec: 2 }), null);
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(p.home).mode & 0o777, 0o700, 'XDG_CONFIG_HOME made as the XDG spec says');
  assert.equal(statSync(p.dir).mode & 0o777, 0o700);
  assert.equal(statSync(p.file).mode & 0o777, 0o600);
  onlyConfig(p.dir);
  assert.deepEqual(loadSettings(p.file), {
    settings: { sortColumn: 'IO', threads: true, intervalSec: 2 },
    warning: null,
    keepOut: false,
  });
});

test('a save writes its changes over the file as it is now: other fields and unknown keys stay', () => {
  const p = withFile('{"intervalSec": 5, "colours": ["USER"], "sortColumn": "FOO"}');
  const before = statSync(p.file).ino;
  assert.equal(saveSettings(p.file, { sortColumn: 'PID', sortDescending: false }), null);
  assert.deepEqual(JSON.parse(readFileSync(p.file, 'utf8')), {
    sortColumn: 'PID',
    sortDescending: false,
    intervalSec: 5,
    colours: ['USER'],
  });
  assert.notEqual(statSync(p.file).ino, before, 'a new file renamed over the old name, not the old one rewritten');
  onlyConfig(p.dir);
});

test('fields of the wrong type or out of range: one warning naming them, the rest applies, saving goes on', () => {
  const p = withFile('{"sortColumn": 7, "intervalSec": 0.5, "threads": "yes", "later": 1}');
  const l = loadSettings(p.file);
  assert.deepEqual(l.settings, { intervalSec: 0.5 });
  assert.equal(l.keepOut, false);
  assert.equal(
    l.warning,
    `${p.file}: ignored sortColumn 7 (expected one of ${SORT_COLUMNS.map((c) => `"${c}"`).join(', ')}), threads "yes" (expected true or false); the other settings apply`,
  );
  assert.ok(!l.warning!.includes('\n'));
});

test('corrupt JSON: one warning line, the defaults, and the file is not saved over', () => {
  const p = withFile('{"sortColumn": "IO",\n');
  const l = loadSettings(p.file);
  assert.deepEqual(l.settings, {});
  assert.equal(l.keepOut, true);
  assert.match(l.warning!, new RegExp(`^${p.file} is not valid JSON .*default settings and will not save them`));
  assert.ok(!l.warning!.includes('\n'));
  const before = snapshot(p.file);
  assert.match(
    saveSettings(p.file, { threads: true })!,
    /^settings not saved: .* is not valid JSON.*: fix or remove it$/,
  );
  assert.deepEqual(snapshot(p.file), before);
  onlyConfig(p.dir);
});

test('too large, or a directory where the file should be: refused with one line, never a crash', () => {
  const big = withFile(`{"x": "${'y'.repeat(70_000)}"}`);
  assert.match(loadSettings(big.file).warning!, /larger than 64 KiB/);
  const d = place();
  mkdirSync(d.file, { recursive: true });
  assert.match(loadSettings(d.file).warning!, /config\.json: it is a directory/);
  assert.match(saveSettings(d.file, { threads: true })!, /^settings not saved: .*config\.json: it is a directory/);
  const f = place();
  writeFileSync(f.dir, 'a file where the directory should be');
  assert.match(loadSettings(f.file).warning!, /ENOTDIR/);
  assert.match(saveSettings(f.file, { threads: true })!, /delaytop is not a directory/);
});

test('a FIFO as the file: refused at once (no hang), on reading and on saving', () => {
  const p = place();
  mkdirSync(p.dir);
  execFileSync('mkfifo', [p.file]);
  assert.match(loadSettings(p.file).warning!, /it is a FIFO, not a regular file/);
  assert.match(saveSettings(p.file, { threads: true })!, /it is a FIFO/);
  assert.ok(lstatSync(p.file).isFIFO());
});

test('a symlink as the file: not followed to read, not replaced, its target untouched', () => {
  const target = path.join(base, `target-${++n}`);
  writeFileSync(target, '{"threads": true}');
  const p = place();
  mkdirSync(p.dir);
  symlinkSync(target, p.file);
  const l = loadSettings(p.file);
  assert.deepEqual(l.settings, {}, 'the target was not read');
  assert.match(l.warning!, /config\.json: it is a symbolic link; the dashboard starts with the default settings/);
  assert.match(saveSettings(p.file, { sortColumn: 'IO' })!, /config\.json: it is a symbolic link$/);
  assert.ok(lstatSync(p.file).isSymbolicLink());
  assert.equal(readFileSync(target, 'utf8'), '{"threads": true}');
  assert.deepEqual(readdirSync(p.dir), ['config.json'], 'no temporary file left');
});

test('a hard link as the file (e.g. to /etc/shadow): neither read nor replaced; both names untouched', () => {
  const other = path.join(base, `shadow-${++n}`);
  writeFileSync(other, 'root:$6$secret:19000:0:99999:7:::\n', { mode: 0o600 });
  const p = place();
  mkdirSync(p.dir);
  linkSync(other, p.file);
  const before = snapshot(other);
  const l = loadSettings(p.file);
  assert.match(l.warning!, /config\.json: it has 2 hard links/);
  assert.doesNotMatch(l.warning!, /secret/);
  assert.match(saveSettings(p.file, { threads: true })!, /it has 2 hard links/);
  assert.deepEqual(snapshot(other), before);
  assert.equal(statSync(p.file).ino, before.ino);
});

test("another user's file (uid 65534): not read, not replaced", (t) => {
  if (!needRoot(t)) return;
  const p = withFile('{"threads": true}');
  chownSync(p.file, 65534, 65534);
  const before = snapshot(p.file);
  const l = loadSettings(p.file);
  assert.deepEqual(l.settings, {});
  assert.equal(l.keepOut, true);
  assert.match(
    l.warning!,
    /config\.json: it belongs to uid 65534, not to you \(uid 0\) \(HOME or XDG_CONFIG_HOME is another user's, as with sudo -E\?\)/,
  );
  assert.match(saveSettings(p.file, { sortColumn: 'IO' })!, /^settings not saved: .*it belongs to uid 65534/);
  assert.deepEqual(snapshot(p.file), before);
  onlyConfig(p.dir);
});

test("another user's directory: nothing written into it; a file of root's in it is not trusted either", (t) => {
  if (!needRoot(t)) return;
  // sudo -E: HOME is alice's; her ~/.config has no delaytop directory yet
  const alice = place();
  chownSync(alice.home, 65534, 65534);
  assert.match(
    saveSettings(alice.file, { threads: true })!,
    new RegExp(
      `^settings not saved: the directory ${alice.home}: it belongs to uid 65534, not to you \\(uid 0\\) \\(HOME`,
    ),
  );
  assert.deepEqual(readdirSync(alice.home), [], 'no directory made in it');
  // her delaytop directory, holding a file of root's she could have put there (a hard link, a rename)
  const hers = withFile('{"threads": true}');
  chownSync(hers.dir, 65534, 65534);
  const l = loadSettings(hers.file);
  assert.deepEqual(l.settings, {});
  assert.match(l.warning!, /the directory .*delaytop: it belongs to uid 65534/);
  const before = snapshot(hers.file);
  assert.match(saveSettings(hers.file, { sortColumn: 'IO' })!, /the directory .*delaytop: it belongs to uid 65534/);
  assert.deepEqual(snapshot(hers.file), before);
  onlyConfig(hers.dir);
});

test("a path through another user's symlink (a planted XDG_CONFIG_HOME -> /root-like directory): refused", (t) => {
  if (!needRoot(t)) return;
  const victim = place();
  mkdirSync(victim.dir);
  writeFileSync(victim.file, '{"threads": true}', { mode: 0o600 });
  const planted = path.join(base, `planted-${++n}`);
  symlinkSync(victim.home, planted);
  lchownSync(planted, 65534, 65534);
  const file = path.join(planted, 'delaytop', 'config.json');
  const l = loadSettings(file);
  assert.deepEqual(l.settings, {});
  assert.match(l.warning!, new RegExp(`${planted} is a symbolic link of uid 65534`));
  const before = snapshot(victim.file);
  assert.match(saveSettings(file, { sortColumn: 'IO' })!, /is a symbolic link of uid 65534/);
  assert.deepEqual(snapshot(victim.file), before);
  // one of root's own (or the user's) is followed, as for -w
  const ours = path.join(base, `ours-${++n}`);
  symlinkSync(victim.home, ours);
  assert.deepEqual(loadSettings(path.join(ours, 'delaytop', 'config.json')).settings, { threads: true });
});

test("~/.config/delaytop as a symlink of the user's own (dotfiles): followed, as for -w", () => {
  // ~/.config/delaytop -> ~/dotfiles/delaytop (a symlink of the user's own): followed
  const p = place();
  const real = path.join(p.home, 'dotfiles');
  mkdirSync(real);
  symlinkSync(real, p.dir);
  assert.equal(saveSettings(p.file, { threads: true }), null);
  assert.deepEqual(loadSettings(p.file).settings, { threads: true });
  assert.deepEqual(readdirSync(real), ['config.json']);
});
