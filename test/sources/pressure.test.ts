// PSI (system and cgroup v2) and cgroupstats (cgroup v1): parsing from hand-written text and
// bytes, and the real files and kernel calls of this machine.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadAddon } from '../../src/kernel/addon.js';
import { decodeCgroupStats } from '../../src/kernel/cgroupstats.js';
import { DecodeError } from '../../src/kernel/decode.js';
import { formatCgroup, formatPressureLine } from '../../src/output/pressure.js';
import {
  CgroupError,
  cgroupVersion,
  parsePressure,
  readCgroup,
  readSystemPressure,
} from '../../src/sources/pressure.js';
import { delay, needsRoot, spawnTracked, waitStopped } from '../helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-psi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CPU = 'some avg10=1.50 avg60=0.75 avg300=0.25 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
const IO = 'some avg10=12.34 avg60=5.00 avg300=1.00 total=999\nfull avg10=10.00 avg60=4.00 avg300=0.50 total=888\n';
const IRQ = 'full avg10=0.31 avg60=0.20 avg300=0.10 total=4242\n';

test('parsePressure: some and full lines; irq has only full', () => {
  assert.deepEqual(parsePressure(CPU).some, { avg10: 1.5, avg60: 0.75, avg300: 0.25, totalUs: 123456 });
  assert.deepEqual(parsePressure(IO).full, { avg10: 10, avg60: 4, avg300: 0.5, totalUs: 888 });
  const irq = parsePressure(IRQ);
  assert.equal(irq.some, null);
  assert.equal(irq.full!.totalUs, 4242);
  assert.deepEqual(parsePressure('garbage\n'), { some: null, full: null });
});

test('system PSI tolerates a missing irq file, and says plainly when there is no PSI at all', () => {
  const root = path.join(dir, 'pressure');
  mkdirSync(root);
  writeFileSync(path.join(root, 'cpu'), CPU);
  writeFileSync(path.join(root, 'io'), IO);
  writeFileSync(path.join(root, 'memory'), CPU);
  const r = readSystemPressure(root)!;
  assert.deepEqual(r.missing, ['irq']);
  assert.equal(r.psi.io!.some!.avg10, 12.34);
  assert.equal(
    formatPressureLine(r),
    'PSI avg10: CPU some 1.50%  IO some 12.34% full 10.00%  MEMORY some 1.50% full 0.00%',
  );
  writeFileSync(path.join(root, 'irq'), IRQ);
  assert.match(formatPressureLine(readSystemPressure(root)), /IRQ full 0\.31%$/);
  assert.equal(readSystemPressure(path.join(dir, 'none')), null);
  assert.match(formatPressureLine(null), /PSI n\/a/);
});

test("this machine's /proc/pressure reads (irq optional)", (t) => {
  const r = readSystemPressure();
  if (!r) {
    t.skip('this kernel has no /proc/pressure (CONFIG_PSI off or psi=0)');
    return;
  }
  for (const res of ['cpu', 'io', 'memory'] as const) assert.ok(r.psi[res]?.some, res);
  assert.ok(
    r.missing.every((m) => m === 'irq'),
    `missing ${r.missing}`,
  );
});

test('decodeCgroupStats: five u64 by length, exact above 2^53; short payloads refused', () => {
  const b = new Uint8Array(48).fill(0xee); // 8 bytes more than today's struct: a future field
  const dv = new DataView(b.buffer);
  [3n, 1n, 0n, 2n ** 60n + 1n, 7n].forEach((v, i) => dv.setBigUint64(i * 8, v, true));
  assert.deepEqual(decodeCgroupStats(b), {
    nr_sleeping: 3,
    nr_running: 1,
    nr_stopped: 0,
    nr_uninterruptible: 2n ** 60n + 1n,
    nr_io_wait: 7,
  });
  assert.throws(() => decodeCgroupStats(b.subarray(0, 39)), DecodeError);
});

function mountsOf(fstype: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === fstype)
    .map((f) => f[1]!);
}

test("-C on cgroup v2: says cgroupstats are v1-only, and shows the cgroup's pressure files", async (t) => {
  const [v2] = mountsOf('cgroup2');
  if (!v2) {
    t.skip('no cgroup2 filesystem is mounted here');
    return;
  }
  assert.equal(cgroupVersion(v2), 2);
  const v = readCgroup(v2);
  assert.equal(v.version, 2);
  if (v.version !== 2) return;
  assert.match(v.note, /only for cgroup v1/);
  assert.match(v.note, /cpu\.pressure, io\.pressure, memory\.pressure/);
  assert.ok(v.pressure.psi.cpu?.some, 'cpu.pressure read');
  assert.match(formatCgroup(v).join('\n'), /\(v2\): cgroup v2: .*\n {2}cpu\.pressure {2}some: avg10 [0-9.]+%/);
  // and the kernel agrees: CGROUPSTATS_CMD_GET on a v2 directory is EINVAL
  assert.throws(
    () => loadAddon().cgroupStats(v2),
    (e: NodeJS.ErrnoException) => e.code === 'EINVAL',
  );
  if (!needsRoot(t)) return;
  const child = path.join(v2, `delaytop-test-${process.pid}`);
  mkdirSync(child);
  try {
    const c = readCgroup(child);
    assert.equal(c.version, 2);
    if (c.version === 2) assert.ok(c.pressure.psi.cpu || c.pressure.missing.includes('cpu'));
  } finally {
    rmdirSync(child);
  }
});

test("-C on cgroup v1: the kernel's cgroupstats count a stopped task", async (t) => {
  if (!needsRoot(t)) return; // creating a cgroup and moving a task into it
  const v1 = mountsOf('cgroup').find((m) => /\/(pids|freezer|cpu|systemd)$/.test(m)) ?? mountsOf('cgroup')[0];
  if (!v1) {
    t.skip('no cgroup v1 hierarchy is mounted here (the decoding is covered with bytes above)');
    return;
  }
  const cg = path.join(v1, `delaytop-test-${process.pid}`);
  mkdirSync(cg);
  // sh waits for its child in wait4 (TASK_INTERRUPTIBLE); sleep waits in a freezable nanosleep
  // (TASK_INTERRUPTIBLE|TASK_FREEZABLE since 6.1), which cgroupstats_build counts nowhere.
  const child = spawnTracked('sh', ['-c', 'sleep 30 & wait'], { detached: true });
  const sleeper = spawnTracked('sleep', ['30']);
  await delay(50);
  try {
    assert.equal(cgroupVersion(cg), 1);
    writeFileSync(path.join(cg, 'cgroup.procs'), String(child.pid));
    writeFileSync(path.join(cg, 'cgroup.procs'), String(sleeper.pid));
    await delay(100);
    let v = readCgroup(cg);
    assert.equal(v.version, 1);
    if (v.version !== 1) return;
    assert.deepEqual(v.stats, { nr_sleeping: 1, nr_running: 0, nr_stopped: 0, nr_uninterruptible: 0, nr_io_wait: 0 });
    assert.match(formatCgroup(v).join('\n'), /freezable/);
    child.kill('SIGSTOP');
    await waitStopped(child.pid!);
    v = readCgroup(cg);
    assert.ok(v.version === 1 && v.stats.nr_stopped === 1 && v.stats.nr_sleeping === 0, JSON.stringify(v));
    assert.match(formatCgroup(v).join(''), /\(v1\): sleeping 0 {2}running 0 {2}stopped 1/);
  } finally {
    sleeper.kill('SIGKILL');
    process.kill(-child.pid!, 'SIGKILL'); // sh and its sleep
    await Promise.all([child, sleeper].map((c) => new Promise((r) => c.once('exit', r))));
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(cg);
        break;
      } catch {
        await delay(20); // the killed task leaves the cgroup a moment later
      }
    }
  }
});

test('-C on something that is not a cgroup directory: a clear error', () => {
  assert.throws(
    () => readCgroup(dir),
    (e: unknown) => e instanceof CgroupError && /not a cgroup directory \(filesystem magic 0x/.test(e.message),
  );
  assert.throws(
    () => readCgroup(path.join(dir, 'nope')),
    (e: unknown) => e instanceof CgroupError && /no such directory/.test(e.message),
  );
  const f = path.join(dir, 'file');
  writeFileSync(f, '');
  assert.throws(
    () => readCgroup(f),
    (e: unknown) => e instanceof CgroupError && /not a directory/.test(e.message),
  );
});
