// Which group a process is in (sources/groups.ts): the cgroup v2 path, or on a hybrid host
// the v1 hierarchy that carries the detail; comm; the real user's name.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ExitRecord } from '../../src/kernel/exitrecord.js';
import { cgroupPathOf, GroupResolver, realUidOf } from '../../src/sources/groups.js';
import { parsePasswd } from '../../src/sources/users.js';
import { exitRecord } from '../fakes/dashboard-sources.js';

test('cgroup v2: the unified path', () => {
  assert.equal(cgroupPathOf('0::/system.slice/nginx.service\n'), '/system.slice/nginx.service');
  assert.equal(cgroupPathOf('0::/\n'), '/');
});

test('hybrid hosts: an empty unified path falls back to name=systemd, then memory, then any v1 path', () => {
  // as on this project's CI machine: 0::/ is empty, the memory hierarchy has the detail
  const here = ['9:name=systemd:/', '8:pids:/', '7:blkio:/', '4:memory:/process_api/1677', '1:cpu:/', '0::/'].join(
    '\n',
  );
  assert.equal(cgroupPathOf(here), '/process_api/1677');
  const systemd = [
    '12:cpu,cpuacct:/user.slice',
    '4:memory:/user.slice',
    '1:name=systemd:/user.slice/session-3.scope',
    '0::/',
  ];
  assert.equal(cgroupPathOf(systemd.join('\n')), '/user.slice/session-3.scope');
  assert.equal(cgroupPathOf('3:freezer:/frozen\n2:cpu,cpuacct:/cpu-group\n0::/\n'), '/cpu-group');
  // the unified path wins where it says something
  assert.equal(cgroupPathOf('4:memory:/a\n0::/b\n'), '/b');
  // v1 only (no unified line)
  assert.equal(cgroupPathOf('4:memory:/a\n'), '/a');
  assert.equal(cgroupPathOf(''), null);
});

test('user: the real uid from status, named from /etc/passwd (the first entry wins), else the number', () => {
  assert.equal(realUidOf('Name:\tx\nUid:\t1000\t0\t0\t0\n'), 1000);
  assert.deepEqual(
    parsePasswd(
      'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n# comment\n',
    ),
    new Map([
      [0, 'root'],
      [1000, 'alice'],
    ]),
  );
});

test("GroupResolver reads /proc/PID/{cgroup,comm,status}, and an exit is put in its parent's cgroup", (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'delaytop-groups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const proc = path.join(root, 'proc');
  mkdirSync(path.join(proc, '7'), { recursive: true });
  writeFileSync(path.join(proc, '7/cgroup'), '4:memory:/m\n0::/jobs/batch\n');
  writeFileSync(path.join(proc, '7/comm'), 'worker\x01\n');
  writeFileSync(path.join(proc, '7/status'), 'Name:\tworker\nUid:\t1000\t1000\t1000\t1000\n');
  writeFileSync(path.join(root, 'passwd'), 'alice:x:1000:1000::/home/alice:/bin/sh\n');
  const passwd = path.join(root, 'passwd');
  assert.equal(new GroupResolver('cgroup', proc, passwd).ofProcess(7), '/jobs/batch');
  assert.equal(new GroupResolver('comm', proc, passwd).ofProcess(7), 'worker\x01');
  assert.equal(new GroupResolver('user', proc, passwd).ofProcess(7), 'alice');
  assert.equal(new GroupResolver('cgroup', proc, passwd).ofProcess(8), null, 'gone');

  const child: ExitRecord = { ...exitRecord({ pid: 9, comm: 'dd' }), ppid: 7, uid: 4242 };
  const cg = new GroupResolver('cgroup', proc, passwd);
  assert.equal(
    cg.ofExit(child, () => undefined),
    '/jobs/batch',
    "its parent's, read now",
  );
  assert.equal(
    cg.ofExit(child, (tgid) => (tgid === 7 ? '/known' : undefined)),
    '/known',
    "its parent's, as polled",
  );
  assert.equal(
    cg.ofExit({ ...child, ppid: 8 }, () => undefined),
    null,
    'the parent is gone too',
  );
  assert.equal(
    new GroupResolver('comm', proc, passwd).ofExit(child, () => undefined),
    'dd',
  );
  assert.equal(
    new GroupResolver('user', proc, passwd).ofExit(child, () => undefined),
    '4242',
  );
});
