// The exporter under a real Prometheus (issue 14): Prometheus on loopback scrapes
// `delaytop --metrics` every second while a workload runs in a cgroup of its own: short
// dd runs doing direct IO, then a storm of exits (test/bench/forker.c). Through Prometheus'
// HTTP query API: the group's IO delay counter rose by at least the IO delay the workload's
// own exit records add up to (this test listens for them itself), and delaytop_exits_total
// by at least the exits the workload made. promtool accepts a real scrape. Everything this
// test starts is stopped, and the cgroup removed, however it ends.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { expandCpulist } from '../../src/args.js';
import { num } from '../../src/kernel/decode.js';
import type { ExitRecord } from '../../src/kernel/exitrecord.js';
import { exitSuspects } from '../../src/model/plausibility.js';
import { NetlinkExitSource } from '../../src/sources/exit-listener.js';
import { cgroupPathOf } from '../../src/sources/groups.js';
import { readCpulist, readDelayacct, watchedDelayacct } from '../../src/sources/system.js';
import { compileC } from '../bench/common.js';
import { delay, needsRoot } from '../helpers.js';
import { ROOT } from './tmux.js';

const CLI = path.join(ROOT, 'dist/cli.js');
const DD_RUNS = 12;
const STORM = 20_000;

/** A free loopback port (Prometheus cannot say which one it took for :0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Start a child that is killed (SIGTERM, then SIGKILL) when the test ends, whatever happened. */
function started(t: TestContext, cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ended = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([ended.then(() => true), delay(5000).then(() => false)]);
    if (!done) child.kill('SIGKILL');
  });
  return { child, ended, out: () => out, err: () => err };
}

async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(100);
  }
}

/** A cgroup of this test's own: cgroup v2 where it is mounted (also on hybrid hosts), else v1 memory. */
function makeCgroup(t: TestContext): string | null {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const at = (fstype: string, opt?: string) =>
    mounts
      .map((l) => l.split(' '))
      .find((f) => {
        const dash = f.indexOf('-');
        return dash > 0 && f[dash + 1] === fstype && (!opt || f[dash + 3]?.split(',').includes(opt));
      })?.[4];
  for (const base of [at('cgroup2'), at('cgroup', 'memory')]) {
    if (!base) continue;
    const dir = path.join(base, `delaytop-e2e-${process.pid}`);
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    t.after(async () => {
      // the workload is over by now; what is left (a killed run) goes back to the parent
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {}
          }
          rmdirSync(dir);
        } catch {
          await delay(100);
        }
      }
    });
    return dir;
  }
  return null;
}

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(port: number, q: string, timeSec?: number): Promise<PromResult[]> {
  const u = new URL(`http://127.0.0.1:${port}/api/v1/query`);
  u.searchParams.set('query', q);
  if (timeSec !== undefined) u.searchParams.set('time', String(timeSec));
  const r = (await (await fetch(u)).json()) as { status: string; data: { result: PromResult[] }; error?: string };
  assert.equal(r.status, 'success', `${q}: ${r.error}`);
  return r.data.result;
}

const scalar = async (port: number, q: string, timeSec?: number) => {
  const r = await query(port, q, timeSec);
  return r.length ? Number(r[0]!.value[1]) : null;
};

test("a real Prometheus scraping delaytop --metrics sees a cgroup's short-lived IO and an exit storm", async (t) => {
  if (!needsRoot(t)) return;
  if (spawnSync('prometheus', ['--version']).status !== 0)
    return t.skip("needs Debian's prometheus package (.ci/run installs it)");
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  if (readDelayacct() !== true)
    return t.skip('needs kernel.task_delayacct=1 for IO delays (.ci/run sets it): sysctl -w kernel.task_delayacct=1');
  const cgroup = makeCgroup(t);
  if (!cgroup) return t.skip('no cgroup hierarchy this test can make a cgroup in (cgroup2, or v1 memory)');
  const forker = compileC('forker');
  // Switch-ons of delay accounting (another test on a shared machine) make IO waits in
  // flight stale-stamped: the exporter leaves out what it saw then, and so does this test.
  const { read: delayacct, stop } = watchedDelayacct(100);
  t.after(stop);
  const work = mkdtempSync(path.join(existsSync('/var/tmp') ? '/var/tmp' : ROOT, 'delaytop-prom-e2e-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // This test's own listener: the workload's exit records, to compare with what Prometheus saw.
  const mine = new NetlinkExitSource({ cpus: expandCpulist(readCpulist('online')) as number[] });
  t.after(() => mine.close());
  const records: ExitRecord[] = [];
  mine.start((b) => records.push(...b.records));

  const exporter = started(t, process.execPath, [CLI, '--metrics', '127.0.0.1:0', '-d', '1']);
  const exporterPort = await until('the exporter to listen', 15_000, () => {
    const m = /serving metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(exporter.err());
    if (!m && exporter.child.exitCode !== null) throw new Error(`the exporter ended: ${exporter.err()}`);
    return m ? Number(m[1]) : null;
  });

  const promPort = await freePort();
  writeFileSync(
    path.join(work, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: delaytop',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${exporterPort}']`,
      '',
    ].join('\n'),
  );
  const prom = started(t, 'prometheus', [
    `--config.file=${path.join(work, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ]);
  await until('Prometheus to scrape the exporter', 30_000, async () => {
    if (prom.child.exitCode !== null) throw new Error(`prometheus ended: ${prom.err()}`);
    try {
      return (await scalar(promPort, 'up{job="delaytop"}')) === 1;
    } catch {
      return false; // not listening yet
    }
  });

  // promtool on a real scrape of this machine (the text format: what promtool reads)
  const scrape = await (await fetch(`http://127.0.0.1:${exporterPort}/metrics`)).text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);

  await delay(1500); // a scrape after the last poll before the workload
  const beforeSec = Date.now() / 1000;
  const workloadStartMs = Date.now();
  const shell = started(t, 'sh', [
    '-c',
    [
      `echo $$ > ${cgroup}/cgroup.procs`,
      'sleep 1.2', // the exporter's poll sees the shell in its cgroup
      `for i in $(seq ${DD_RUNS}); do dd if=/dev/zero of=${work}/dd.$i bs=4k count=64 oflag=direct conv=fsync 2>/dev/null && dd if=${work}/dd.$i of=/dev/null bs=4k iflag=direct 2>/dev/null || exit 3; done`,
      `${forker} -n ${STORM}`,
    ].join('; '),
  ]);
  // the group the exporter names it by: its cgroup as /proc shows it once it has moved in
  const label = await until('the workload in its cgroup', 5000, () => {
    if (!readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').includes(String(shell.child.pid)))
      return null;
    return cgroupPathOf(readFileSync(`/proc/${shell.child.pid}/cgroup`, 'utf8'));
  });
  assert.equal(await shell.ended, 0, `the workload failed: ${shell.err()}`);
  const storm = JSON.parse(shell.out().trim().split('\n').pop()!) as { taskExits: number; exited: number };
  await delay(3500); // the exporter folds the last exits and polls; Prometheus scrapes twice more
  mine.close();
  const afterSec = Date.now() / 1000;

  // the workload: the shell and its descendants, from their exit records. Ids are reused
  // (pid_max can be 32768; the storm alone takes 20,000): a child belongs to a process of
  // the tree only if it started after that process and ended before it.
  const span = (r: ExitRecord) => [r.receivedMs - r.lifeUs / 1000, r.receivedMs] as const;
  const members = new Map<number, (readonly [number, number])[]>([
    [shell.child.pid!, [[workloadStartMs - 1000, Date.now()]]],
  ]);
  const ours: ExitRecord[] = [];
  const left = new Set(records.filter((r) => r.processEnded || r.pid !== r.tgid));
  for (let grew = true; grew;) {
    grew = false;
    for (const r of left) {
      const [from, to] = span(r);
      const parent = members.get(r.ppid)?.some(([a, b]) => from >= a - 20 && to <= b + 20);
      const self = r.tgid === shell.child.pid;
      if (!parent && !self) continue;
      left.delete(r);
      ours.push(r);
      if (r.processEnded && !self) (members.get(r.tgid) ?? members.set(r.tgid, []).get(r.tgid)!).push([from, to]);
      grew = true;
    }
  }
  let ioNs = 0;
  let flagged = 0;
  for (const r of ours) {
    if (!r.processEnded) continue;
    if (exitSuspects(r.stats, r.receivedMs, delayacct())?.IO) {
      flagged++;
      continue;
    }
    ioNs += num(r.tgidStats ?? r.stats, 'blkio_delay_total') ?? 0;
  }
  const sel = `group="${label}"`;
  const io = await scalar(promPort, `delaytop_delay_seconds_total{${sel},category="IO"}`, afterSec);
  const exitsBefore = (await scalar(promPort, 'sum(delaytop_exits_total)', beforeSec)) ?? 0;
  const exitsAfter = (await scalar(promPort, 'sum(delaytop_exits_total)', afterSec)) ?? 0;
  const lost = (await scalar(promPort, 'sum(delaytop_exits_lost_total)', afterSec)) ?? 0;
  const groupExits = await scalar(promPort, `delaytop_process_exits_total{${sel}}`, afterSec);
  const suspects = await scalar(promPort, 'sum(delaytop_suspect_values_total)', afterSec);
  const top = await query(promPort, 'topk(3, rate(delaytop_delay_seconds_total{category="IO"}[30s]))', afterSec);
  // the exits the workload made: the storm's (its children, workers, itself), each dd, seq, sleep, the shell
  const made = storm.taskExits + 2 * DD_RUNS + 3;
  t.diagnostic(
    `group ${label}: IO ${io} s in Prometheus, workload exit records ${(ioNs / 1e9).toFixed(6)} s ` +
      `(${ours.length} records, ${flagged} with an impossible IO figure left out); ` +
      `delaytop_exits_total ${exitsBefore} -> ${exitsAfter} (+${exitsAfter - exitsBefore}, made ${made}, lost ${lost}); ` +
      `process exits of the group ${groupExits}; figures left out ${suspects}; top IO groups: ${top.map((r) => `${r.metric.group} ${Number(r.value[1]).toFixed(4)}`).join(', ')}`,
  );
  assert.ok(ours.length >= made, `this test's listener heard the workload (${ours.length} of ${made})`);
  assert.ok(ioNs > 0, 'the direct IO waited');
  assert.ok(io !== null, `Prometheus has the group's IO counter (${sel})`);
  const switched = delayacct().seen?.changes.some((c) => c.toMs >= beforeSec * 1000 - 5000) ?? false;
  if (!switched) assert.ok(io! >= ioNs / 1e9 - 1e-9, `IO counter ${io} >= the workload's exit records' ${ioNs / 1e9}`);
  assert.equal(lost, 0, 'the exporter lost no exit');
  assert.ok(exitsAfter - exitsBefore >= made, `exits_total rose by ${exitsAfter - exitsBefore} >= ${made}`);
  assert.ok(
    groupExits !== null && groupExits >= storm.exited + 2 * DD_RUNS,
    `the group's process exits: ${groupExits}`,
  );

  exporter.child.kill('SIGTERM');
  assert.equal(await exporter.ended, 0, `the exporter ends cleanly on SIGTERM: ${exporter.err()}`);
  if (switched)
    t.skip(
      'kernel.task_delayacct was switched during the workload (by something else on this machine): IO waits then may be timed from stale stamps, so the IO comparison was not made',
    );
});
