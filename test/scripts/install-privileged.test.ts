// scripts/install-privileged.sh for real: a throwaway group with one member and one
// outsider, the script installed into a temporary prefix. The member gets netlink data
// (not the /proc fallback) through the capability-carrying node; the outsider can run
// neither the launcher nor the node copy. Users, group and files are removed afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { needsRoot } from '../helpers.js';
import { ROOT } from '../e2e/tmux.js';

const SCRIPT = path.join(ROOT, 'scripts/install-privileged.sh');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
const ok = (cmd: string, args: string[]) => {
  const r = run(cmd, args);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test(
  'install-privileged.sh: a group member gets CAP_NET_ADMIN through the copy of node, an outsider cannot run it',
  { timeout: 120_000 },
  (t) => {
    if (!needsRoot(t)) return;
    for (const cmd of ['setcap', 'getcap', 'useradd', 'groupadd', 'runuser']) {
      if (!has(cmd))
        return t.skip(`${cmd} is not installed (setcap/getcap: libcap2-bin; the rest: passwd, util-linux)`);
    }
    const tag = `dt${process.pid % 100000}`;
    const group = `${tag}grp`;
    const member = `${tag}in`;
    const outsider = `${tag}out`;
    // /tmp is root's and sticky: the script accepts it as an ancestor of the prefix
    const dir = mkdtempSync('/tmp/delaytop-priv-');
    chmodSync(dir, 0o755); // (mkdtemp makes it 0700: the member could not reach the prefix)
    const prefix = path.join(dir, 'opt');
    t.after(() => {
      for (const u of [member, outsider]) run('userdel', [u]);
      run('groupdel', [group]);
      rmSync(dir, { recursive: true, force: true });
    });
    ok('groupadd', [group]);
    ok('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '-G', group, member]);
    ok('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', outsider]);

    const out = ok(SCRIPT, ['--group', group, '--prefix', prefix]);
    assert.match(out, /members can run any JavaScript with CAP_NET_ADMIN/, 'the script states the trade-off');
    const node = path.join(prefix, 'node');
    const launcher = path.join(prefix, 'delaytop');
    assert.match(ok('getcap', [node]), /cap_net_admin[=+]ep/);
    const gid = Number(ok('getent', ['group', group]).split(':')[2]);
    for (const f of [node, launcher]) {
      const st = statSync(f);
      assert.equal(st.mode & 0o7777, 0o750, `${f} is 0750`);
      assert.equal(st.uid, 0, `${f} is root's`);
      assert.equal(st.gid, gid, `${f} belongs to ${group}`);
    }

    // The member: netlink statistics (taskstats version 16, not the /proc fallback's 0) and no banner.
    const r = run('runuser', ['-u', member, '--', launcher, '-b', '--json', '-p', '1', '-n', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /No CAP_NET_ADMIN|from \/proc/, 'no unprivileged banner');
    const sample = JSON.parse(r.stdout.trim().split('\n')[0]!);
    assert.equal(sample.type, 'sample');
    assert.ok(sample.version > 0, `a taskstats record from netlink: version ${sample.version}`);
    assert.ok('ac_uid' in sample.stats, 'fields only netlink gives');
    // really as the member, with the capability from the file
    const caps = ok('runuser', [
      '-u',
      member,
      '--',
      node,
      '-e',
      'process.stdout.write(require("fs").readFileSync("/proc/self/status","utf8"))',
    ]);
    assert.doesNotMatch(caps, /^Uid:\s+0\s/m, 'not root');
    assert.equal(
      (BigInt('0x' + /^CapEff:\s+([0-9a-f]+)$/m.exec(caps)![1]) >> 12n) & 1n,
      1n,
      'CAP_NET_ADMIN (12) effective',
    );

    // The outsider: permission denied for both files, before any code runs.
    for (const f of [launcher, node]) {
      const o = run('runuser', ['-u', outsider, '--', f, '--version']);
      assert.notEqual(o.status, 0, `${f} ran for ${outsider}`);
      assert.match(o.stderr, /Permission denied/, o.stderr);
    }

    ok(SCRIPT, ['--uninstall', '--prefix', prefix]);
    assert.throws(() => statSync(node), /ENOENT/);
  },
);

test('install-privileged.sh refuses a prefix others can write to', (t) => {
  if (!needsRoot(t)) return;
  if (!has('setcap')) return t.skip('setcap is not installed (libcap2-bin)');
  const dir = mkdtempSync('/tmp/delaytop-priv-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ok('chmod', ['0777', dir]);
  const r = run(SCRIPT, ['--group', 'root', '--prefix', path.join(dir, 'opt')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /writable by others than root \(mode 777\)/);
  assert.throws(() => statSync(path.join(dir, 'opt', 'node')), /ENOENT/, 'nothing installed');
});

test('install-privileged.sh leaves a directory it did not make alone: no chmod, no chown, no node replaced, nothing removed', (t) => {
  if (!needsRoot(t)) return;
  if (!has('setcap')) return t.skip('setcap is not installed (libcap2-bin)');
  const dir = mkdtempSync('/tmp/delaytop-priv-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  // a directory like /usr/local/bin: root's, with a node of its own
  const bin = path.join(dir, 'bin');
  ok('mkdir', ['-m', '0755', bin]);
  writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho the real one\n', { mode: 0o755 });
  const r = run(SCRIPT, ['--group', 'root', '--prefix', bin]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exists, is not empty and was not made by this script/);
  assert.match(readFileSync(path.join(bin, 'node'), 'utf8'), /the real one/, 'its node untouched');
  const u = run(SCRIPT, ['--uninstall', '--prefix', bin]);
  assert.equal(u.status, 1);
  assert.match(u.stderr, /was not made by this script .*nothing removed/);
  assert.ok(statSync(path.join(bin, 'node')).isFile(), 'uninstall removed nothing');
  // a sticky, world-writable directory such as /tmp is not made root's 0755
  const sticky = path.join(dir, 'sticky');
  ok('mkdir', ['-m', '1777', sticky]);
  const s = run(SCRIPT, ['--group', 'root', '--prefix', sticky]);
  assert.equal(s.status, 1);
  assert.equal(statSync(sticky).mode & 0o7777, 0o1777, 'its mode untouched');
});
