// The /proc source: exact CPU fields, IO ticks, n/a for what /proc lacks, and the
// unprivileged path run for real as nobody (uid 65534).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computeDelays, NA_NO_NETLINK } from '../../src/model/delays.js';
import { NetlinkSource } from '../../src/sources/netlink.js';
import {
  parseStat,
  probeNetlink,
  ProcSource,
  procTaskstats,
  unprivilegedFor,
  USER_HZ,
  type ProcThread,
} from '../../src/sources/proc.js';
import { delay, exited, needsRoot, schedstat, spawnTracked, waitStopped } from '../helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const BUSY =
  'let x=0; for(;;){ x++; if (x % 1e7 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }';
// Writes and fsyncs a file a few times (block-IO delay where the disk makes it wait), then burns CPU.
const IO_THEN_BUSY = `const fs = require('fs'); const p = require('os').tmpdir() + '/delaytop-proc-' + process.pid;
  for (let i = 0; i < 20; i++) { fs.writeFileSync(p, Buffer.alloc(1 << 20, i)); const fd = fs.openSync(p, 'r+'); fs.fsyncSync(fd); fs.closeSync(fd); }
  fs.unlinkSync(p); ${BUSY}`;

test('parseStat: a comm with spaces and parentheses, fields counted from the last ")"', () => {
  const fields = Array.from({ length: 52 }, (_, i) => String(i + 1));
  fields[3] = '77'; // ppid (field 4)
  fields[13] = '250'; // utime
  fields[21] = '123456'; // starttime
  fields[41] = '31'; // delayacct_blkio_ticks
  const line = `4242 (a) (b c) ${fields.slice(2).join(' ')}\n`;
  const st = parseStat(Buffer.from(line));
  assert.equal(st.tid, 4242);
  assert.equal(st.comm, 'a) (b c');
  assert.equal(st.ppid, 77);
  assert.equal(st.utimeTicks, 250n);
  assert.equal(st.starttimeTicks, 123456n);
  assert.equal(st.blkioTicks, 31n);
});

test('procTaskstats: only /proc fields; the model shows the rest n/a and IO without average or rate', () => {
  const t: ProcThread = {
    tid: 10,
    comm: 'x',
    ppid: 1,
    runNs: 2n ** 60n,
    waitNs: 5_000_000n,
    slices: 50n,
    minflt: 1n,
    majflt: 0n,
    utimeTicks: 3n,
    stimeTicks: 1n,
    starttimeTicks: 100n,
    blkioTicks: 7n,
  };
  const ts = procTaskstats([t], 'pid', 10, 1_700_000_000, 1100n);
  assert.equal(ts.length, 0);
  assert.equal(ts.raw.cpu_run_virtual_total, 2n ** 60n, 'exact above 2^53, as a bigint');
  assert.equal(ts.raw.cpu_delay_total, 5_000_000);
  assert.equal(ts.raw.blkio_delay_total, 7 * (1e9 / USER_HZ));
  assert.equal(ts.raw.ac_etime, 10_000_000, '1000 ticks = 10 s in µs');
  assert.equal(ts.raw.ac_btime64, 1_700_000_001);
  for (const absent of [
    'blkio_count',
    'swapin_count',
    'swapin_delay_total',
    'irq_count',
    'cpu_delay_max',
    'read_bytes',
    'nvcsw',
  ]) {
    assert.equal(absent in ts.raw, false, absent);
  }
  const d = computeDelays(undefined, { stats: ts, atNs: 0 });
  const byKey = Object.fromEntries(d.categories.map((c) => [c.key, c]));
  assert.equal(byKey.CPU!.na, null);
  assert.equal(byKey.CPU!.avgDelayNs, 100_000);
  assert.ok(byKey.CPU!.eventsPerSec! > 0);
  assert.equal(byKey.IO!.na, null);
  assert.equal(byKey.IO!.delayPercent, (70_000_000 / 10e9) * 100);
  assert.equal(byKey.IO!.avgDelayNs, null, 'no count: no average');
  assert.equal(byKey.IO!.eventsPerSec, null, 'no count: no rate');
  assert.equal(byKey.IO!.maxNs, null);
  for (const k of ['SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ'])
    assert.equal(byKey[k]!.na, NA_NO_NETLINK, k);
  // Delay accounting off: IO from /proc is then meaningless, and says so.
  const off = computeDelays(undefined, { stats: ts, atNs: 0 }, { recording: 'off-now' });
  assert.match(off.categories.find((c) => c.key === 'IO')!.na!, /delay accounting is off/);
  // A second sample: interval figures, still no IO average.
  const t2 = { ...t, waitNs: 6_000_000n, slices: 60n, blkioTicks: 9n };
  const ts2 = procTaskstats([t2], 'pid', 10, 1_700_000_000, 1200n);
  const d2 = computeDelays({ stats: ts, atNs: 0 }, { stats: ts2, atNs: 1e9 });
  const io2 = d2.categories.find((c) => c.key === 'IO')!;
  assert.equal(d2.lifetime, false);
  assert.equal(io2.delayPercent, 2);
  assert.equal(io2.avgDelayNs, null);
  assert.equal(d2.categories.find((c) => c.key === 'CPU')!.avgDelayNs, 100_000);
});

/** Group stop reaches each thread in turn: wait for every one, not just the leader. */
async function allThreadsStopped(pid: number): Promise<void> {
  await waitStopped(pid);
  for (let i = 0; i < 200; i++) {
    const states = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    });
    if (states.every((s) => s === 'T')) return delay(20);
    await delay(10);
  }
  throw new Error(`not every thread of ${pid} stopped`);
}

test("a stopped process: ProcSource CPU fields equal netlink's exactly, IO within one tick", async (t) => {
  if (!needsRoot(t)) return;
  const code = `const { Worker } = require('node:worker_threads');
    for (let i = 0; i < 2; i++) new Worker(${JSON.stringify(BUSY)}, { eval: true }); ${IO_THEN_BUSY}`;
  const child = spawnTracked(process.execPath, ['-e', code]);
  await delay(1200);
  child.kill('SIGSTOP');
  await allThreadsStopped(child.pid!);
  const nl = new NetlinkSource();
  const proc = new ProcSource();
  try {
    const tids = readdirSync(`/proc/${child.pid}/task`).map(Number);
    const targets = [
      { kind: 'pid' as const, id: child.pid! },
      { kind: 'tgid' as const, id: child.pid! },
      ...tids.map((id) => ({ kind: 'pid' as const, id })),
    ];
    const a = proc.querySync(targets);
    const b = nl.querySync(targets);
    for (let i = 0; i < targets.length; i++) {
      const p = a.results[i]!;
      const n = b.results[i]!;
      assert.equal(p.status, 'ok');
      assert.equal(n.status, 'ok');
      if (p.status !== 'ok' || n.status !== 'ok') return;
      const what = `${targets[i]!.kind} ${targets[i]!.id}`;
      for (const f of ['cpu_count', 'cpu_delay_total', 'cpu_run_virtual_total']) {
        assert.equal(BigInt(p.stats.raw[f] as number), BigInt(n.stats.raw[f] as number), `${what} ${f}`);
      }
      // stat field 42 is nsec_to_clock_t of the same total: truncated to whole ticks.
      const ioProc = Number(p.stats.raw.blkio_delay_total);
      const ioNl = Number(n.stats.raw.blkio_delay_total);
      assert.ok(
        ioProc <= ioNl && ioNl - ioProc < (1e9 / USER_HZ) * (targets[i]!.kind === 'tgid' ? tids.length : 1),
        `${what} IO ${ioProc} vs ${ioNl}`,
      );
      assert.equal('blkio_count' in p.stats.raw, false);
    }
    const [run, wait, slices] = schedstat(`/proc/${child.pid}/schedstat`);
    const first = a.results[0]!;
    assert.ok(
      first.status === 'ok' && BigInt(first.stats.raw.cpu_delay_total as number) === wait && run > 0n && slices > 0n,
    );
    assert.equal(first.status === 'ok' && first.stats.raw.ac_comm, 'node');
  } finally {
    nl.close();
    child.kill('SIGKILL');
  }
});

test('ProcSource: a reaped pid is "gone", a live one is listed', async () => {
  const child = spawnTracked('true', []);
  const pid = child.pid!;
  await exited(child);
  const src = new ProcSource();
  const { results } = await src.query([
    { kind: 'pid', id: pid },
    { kind: 'tgid', id: pid },
    { kind: 'pid', id: process.pid },
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['gone', 'gone', 'ok'],
  );
  assert.ok(src.list('process').some((x) => x.id === process.pid));
  assert.ok(src.list('thread').filter((x) => x.tgid === process.pid).length >= 1);
});

test('unprivileged advice names what is missing, why, and how to get it', () => {
  const u = unprivilegedFor('EPERM', 'permission denied');
  const text = u.banner.join('\n');
  assert.match(text, /CAP_NET_ADMIN/);
  assert.match(text, /EPERM/);
  assert.match(text, /sudo/);
  assert.match(text, /scripts\/install-privileged\.sh/);
  assert.doesNotMatch(text, /setcap/, "never advise setcap on the system's node");
  assert.match(text, /SWAP.*IRQ/);
  assert.match(text, /exit feed/);
  assert.match(u.exitsOffReason, /CAP_NET_ADMIN.*sudo/);
  assert.match(unprivilegedFor('ENOENT', '').banner.join(' '), /CONFIG_TASKSTATS/);
});

function runAsNobody(args: string[]) {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...args], {
    encoding: 'utf8',
    cwd: repo,
  });
}

test('as uid 65534: netlink says EPERM, and the batch path runs from /proc', async (t) => {
  if (!needsRoot(t)) return; // setpriv needs root to change uid
  const check = runAsNobody(['test', '-r', path.join(repo, 'node_modules/tsx/package.json')]);
  if (check.status !== 0) {
    t.skip(`uid 65534 cannot read ${repo} (node_modules); the unprivileged test needs a world-readable checkout`);
    return;
  }
  const child = spawnTracked(process.execPath, ['-e', BUSY]);
  await delay(300);
  child.kill('SIGSTOP');
  await waitStopped(child.pid!);
  try {
    const r = runAsNobody([
      process.execPath,
      '--import',
      'tsx',
      path.join(here, 'fixtures/unprivileged-batch.ts'),
      'pid',
      String(child.pid),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.uid, 65534);
    assert.equal(out.opened.privileged, false);
    assert.equal(out.opened.source, 'proc');
    assert.equal(out.opened.code, 'EPERM');
    assert.match(out.opened.banner.join(' '), /CAP_NET_ADMIN.*sudo/);
    assert.equal(out.code, 0, out.warnings.join('\n'));
    assert.equal(out.lines.length, 2);
    const [run, wait, slices] = schedstat(`/proc/${child.pid}/schedstat`);
    for (const l of out.lines) {
      assert.equal(l.type, 'sample');
      assert.equal(l.id, child.pid);
      assert.equal(BigInt(l.stats.cpu_delay_total), wait);
      assert.equal(BigInt(l.stats.cpu_count), slices);
      assert.equal(BigInt(l.stats.cpu_run_virtual_total), run);
    }
    const delays = out.lines[0].lifetime_delays;
    assert.equal(delays.SWAP.na, NA_NO_NETLINK);
    assert.equal(typeof delays.CPU.delay_percent, 'number');
    assert.equal(delays.IO.avg_delay_ns, null);
    assert.equal(out.lines[1].rates.CPU.delay_percent, 0, 'a stopped process waits for no CPU');
  } finally {
    child.kill('SIGKILL');
  }
});

test('the probe, as root, finds netlink usable', async (t) => {
  if (!needsRoot(t)) return;
  const p = probeNetlink();
  assert.equal(p.usable, true);
  if (p.usable) p.source.close();
});
