// delaytop -c: the command's own status, its exit records (TGID sums for a multi-threaded
// one), -i/-q figures, and a missing command ending like a shell's (127) with no listener left.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeTaskstats } from '../../src/kernel/decode.js';
import { exitRecordFrom, type ExitRecord } from '../../src/kernel/exitrecord.js';
import { runCommand, type CommandOptions } from '../../src/output/command/spawn.js';
import { summarizeCommand } from '../../src/output/command/summary.js';
import type { ExitSource } from '../../src/sources/types.js';
import { buildStats, distinctiveValues } from '../kernel/fixtures.js';
import { needsRoot } from '../helpers.js';

const SYS = { on: true, onSinceSec: null };

async function run(argv: string[], over: Partial<CommandOptions> = {}) {
  const out: string[] = [];
  const warnings: string[] = [];
  const status = await runCommand(argv, {
    perThread: false,
    io: false,
    ctxsw: false,
    stdio: 'ignore',
    write: (s) => out.push(s),
    warn: (s) => warnings.push(s),
    delayacct: () => SYS,
    ...over,
  });
  return { status, text: out.join('\n'), warnings, json: over.json ? JSON.parse(out.join('')) : undefined };
}

/** Generic-netlink sockets this process holds (inodes), from /proc/self/fd and /proc/net/netlink. */
function ourGenlSockets(): Set<string> {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/netlink', 'utf8').trim().split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '16' && mine.has(f.at(-1)!)) out.add(f.at(-1)!);
  }
  return out;
}

test("-c sh -c 'exit 3': status 3, the single PID record is the whole process", async (t) => {
  if (!needsRoot(t)) return;
  const r = await run(['sh', '-c', 'exit 3'], { json: true });
  assert.equal(r.status, 3);
  assert.equal(r.json.status, 3);
  assert.equal(r.json.exit_code, 3);
  assert.equal(r.json.whole_from, 'pid');
  assert.equal(r.json.threads, 1);
  assert.ok(r.json.delays.CPU.count >= 1);
  assert.equal(r.json.lost, 0);
  assert.equal(r.json.warning, undefined);
  const text = await run(['sh', '-c', 'exit 3']);
  assert.match(text.text, /^sh \(pid \d+, 1 thread\) exited with status 3/);
  assert.match(text.text, /^CPU +\d+/m);
  for (const k of ['IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ'])
    assert.match(text.text, new RegExp(`^${k} `, 'm'));
});

test("-c sh -c 'kill -TERM $$': status 143 (128 + SIGTERM)", async (t) => {
  if (!needsRoot(t)) return;
  const r = await run(['sh', '-c', 'kill -TERM $$']);
  assert.equal(r.status, 143);
  assert.match(r.text, /was killed by SIGTERM \(status 143\)/);
});

test('-c of a multi-threaded command: the TGID record, equal to the sum of its threads', async (t) => {
  if (!needsRoot(t)) return;
  const code = `const { Worker } = require('node:worker_threads');
    const w = new Worker('let x = 0; for (let i = 0; i < 2e7; i++) x += i;', { eval: true });
    w.on('exit', () => process.exit(4));`;
  const r = await run([process.execPath, '-e', code], { json: true, perThread: true, ctxsw: true });
  assert.equal(r.status, 4);
  const j = r.json;
  assert.equal(j.whole_from, 'tgid');
  assert.ok(j.threads >= 2 && j.per_thread.length === j.threads, `threads ${j.threads}`);
  for (const f of ['count', 'total_ns'] as const) {
    const sum = j.per_thread.reduce(
      (s: number, x: { delays: { CPU: Record<string, number> } }) => s + x.delays.CPU[f]!,
      0,
    );
    assert.equal(j.delays.CPU[f], sum, `CPU ${f}: TGID record vs the sum of the thread records`);
  }
  const maxes = j.per_thread.map((x: { delays: { CPU: { max_ns: number | null } } }) => x.delays.CPU.max_ns ?? 0);
  assert.equal(j.delays.CPU.max_ns, Math.max(...maxes), 'max over the threads, not the last thread visited');
  assert.equal(
    j.context_switches.nvcsw,
    j.per_thread.reduce((s: number, x: { context_switches: { nvcsw: number } }) => s + x.context_switches.nvcsw, 0),
  );
  const text = await run([process.execPath, '-e', code], { perThread: true });
  assert.match(text.text, /Whole process \(the kernel's TGID sum of \d+ threads/);
  assert.match(text.text, /^Thread \d+ \(node\):/m);
});

test('-c with -i and -q: IO accounting and context switches of the command', async (t) => {
  if (!needsRoot(t)) return;
  const r = await run(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=4096', 'count=100'], {
    io: true,
    ctxsw: true,
    json: true,
  });
  assert.equal(r.status, 0);
  assert.ok(r.json.io.read_char >= 409600 - 1024, `read_char ${r.json.io.read_char}`);
  assert.ok(r.json.io.write_char >= 409600 - 1024, `write_char ${r.json.io.write_char}`);
  assert.equal(r.json.io.read_char % 1024, 0, 'the kernel rounds down to 1 KiB');
  assert.equal(typeof r.json.context_switches.nvcsw, 'number');
  const text = await run(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=4096', 'count=100'], { io: true, ctxsw: true });
  assert.match(text.text, /read_char \d+ {2}write_char \d+/);
  assert.match(text.text, /Context switches .*voluntary \d+ {2}involuntary \d+/);
});

test('-c of a command that does not exist: a clear message, 127, and no listener left', async (t) => {
  if (!needsRoot(t)) return;
  const before = ourGenlSockets();
  let closed = 0;
  let opened: ExitSource | undefined;
  const { NetlinkExitSource } = await import('../../src/sources/exit-listener.js');
  const r = await run(['delaytop-no-such-command-here', 'x'], {
    openListener: () => {
      opened = new NetlinkExitSource({
        cpus: [0],
        possible: readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim(),
        rcvbufBytes: 1 << 20,
        pin: false,
        batchMs: 10,
        maxQueueBytes: 1 << 20,
      });
      assert.ok(ourGenlSockets().size > before.size, 'the listener was open while spawning');
      return opened;
    },
    wrapExits: (s) => ({
      cpus: s.cpus,
      start: (fn) => s.start(fn),
      close: () => {
        closed++;
        return s.close();
      },
    }),
  });
  assert.equal(r.status, 127);
  assert.deepEqual(r.warnings, ['delaytop: delaytop-no-such-command-here: command not found']);
  assert.equal(closed, 1, 'the listener was closed (and so deregistered)');
  assert.ok(opened);
  assert.deepEqual(ourGenlSockets(), before, 'no netlink socket of ours is left open');
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'delaytop-cmd-')), 'not-executable');
  writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
  const notExec = await run([file]);
  rmSync(path.dirname(file), { recursive: true });
  assert.equal(notExec.status, 126);
  assert.match(notExec.warnings[0]!, /permission denied/);
});

// ---------------------------------------------------------------- pure summary

function exitRec(
  pid: number,
  tgid: number,
  values: Record<string, number | bigint>,
  tgidValues?: Record<string, number | bigint>,
): ExitRecord {
  const v = { ...distinctiveValues(), ac_pid: pid, ac_tgid: tgid, ac_flag: tgidValues ? 0x20 : 0, ...values };
  const stats = decodeTaskstats(buildStats(16, v));
  const tgidStats = tgidValues ? decodeTaskstats(buildStats(16, { ...distinctiveValues(), ...tgidValues })) : undefined;
  return exitRecordFrom({ cpu: 0, seq: pid, receivedMs: 0, pid, tgid: tgidValues ? tgid : 0 }, stats, tgidStats);
}

const cpu = (count: number, total: number, max: number, min: number) => ({
  cpu_count: count,
  cpu_delay_total: total,
  cpu_delay_max: max,
  cpu_delay_min: min,
  read_char: 2048,
  nvcsw: 3,
});

test('summarizeCommand: TGID totals, max/min over threads, IO and context switches summed, other tgids ignored', () => {
  const recs = [
    exitRec(100, 100, cpu(3, 300, 200, 10), { ...cpu(5, 700, 999_999, 1), ac_etime: 5 }),
    exitRec(101, 100, cpu(2, 400, 350, 50)),
    exitRec(555, 555, cpu(9, 9, 9, 9)),
  ];
  const r = summarizeCommand(100, recs, SYS, { argv: ['x'], exitCode: 0, signal: null, wallMs: 1, lost: 0 });
  assert.equal(r.wholeFrom, 'tgid');
  assert.deepEqual(
    r.threads.map((x) => x.pid),
    [100, 101],
  );
  const c = r.whole!.find((x) => x.key === 'CPU')!;
  assert.equal(c.count, 5);
  assert.equal(c.totalNs, 700);
  assert.equal(c.avgNs, 140);
  assert.equal(c.maxNs, 350, 'the TGID record says 999999 (last thread visited): the threads say 350');
  assert.equal(c.minNs, 10);
  assert.equal(r.io!.read_char, 4096);
  assert.equal(r.ctxsw!.nvcsw, 6);
  assert.equal(r.missing, null);
});

test('summarizeCommand: a lone PID record is the whole process; a missing one is said plainly; signals map to 128+N', () => {
  const one = summarizeCommand(7, [exitRec(7, 7, { ...cpu(1, 5, 5, 5), ac_flag: 0x20 })], SYS, {
    argv: ['x'],
    exitCode: null,
    signal: 'SIGKILL',
    wallMs: 1,
    lost: 0,
  });
  assert.equal(one.wholeFrom, 'pid');
  assert.equal(one.status, 137);
  const none = summarizeCommand(8, [], SYS, { argv: ['x'], exitCode: 1, signal: null, wallMs: 1, lost: 3 });
  assert.equal(none.whole, null);
  assert.match(none.missing!, /no exit record of pid 8 arrived \(the listener lost 3 exit records\)/);
  const off = summarizeCommand(
    7,
    [exitRec(7, 7, { ...cpu(1, 5, 5, 5), ac_flag: 0x20 })],
    { on: false, onSinceSec: null },
    { argv: ['x'], exitCode: 0, signal: null, wallMs: 1, lost: 0 },
  );
  assert.match(off.whole!.find((x) => x.key === 'IO')!.na!, /delay accounting is off/);
  assert.equal(off.whole!.find((x) => x.key === 'CPU')!.na, null);
});

test('summarizeCommand: impossible figures are marked with a footnote and counted; the whole process is bounded by its threads lives', async () => {
  const { decodedRecord } = await import('../fakes/records.js');
  const { commandJson, formatCommandReport } = await import('../../src/output/command/format.js');
  const S = 1e9;
  // two threads lived 0.2 s and 0.3 s; the kernel's TGID sum says 5 s of IO (python3 -c ... of the issue)
  const t1 = decodedRecord({
    ac_pid: 300,
    ac_tgid: 300,
    ac_comm: 'python3',
    ac_etime: 0.2e6,
    blkio_count: 2,
    blkio_delay_total: 0.05 * S,
    blkio_delay_max: 0.03 * S,
  });
  const t2 = decodedRecord({
    ac_pid: 301,
    ac_tgid: 300,
    ac_comm: 'python3',
    ac_etime: 0.3e6,
    blkio_count: 3,
    blkio_delay_total: 0.1 * S,
    blkio_delay_max: 0.05 * S,
  });
  const whole = decodedRecord({
    ac_etime: 0,
    blkio_count: 124,
    blkio_delay_total: 4969.5 * S,
    blkio_delay_max: 2484.5 * S,
  });
  const recs = [
    exitRecordFrom({ cpu: 0, seq: 1, receivedMs: 1000, pid: 301, tgid: 0 }, t2),
    exitRecordFrom({ cpu: 0, seq: 2, receivedMs: 1001, pid: 300, tgid: 300 }, t1, whole),
  ];
  const end = { argv: ['python3', '-c', 'x'], exitCode: 0, signal: null, wallMs: 270, lost: 0 };
  const r = summarizeCommand(300, recs, SYS, end);
  assert.match(r.wholeSuspect?.IO ?? '', /IO wait totals 4970 s in a process whose 2 threads lived 500 ms in all/);
  assert.equal(
    r.threads.every((t) => t.suspect === null),
    true,
    "each thread's own figures are plausible",
  );
  const text = formatCommandReport(r, { perThread: false, io: false, ctxsw: false }).join('\n');
  assert.match(text, /^IO +124 +4969\.5s! +40\.1s! +50\.0ms! /m, 'the figures carry !, and no digit is cut');
  assert.match(text, /^ {2}! IO: IO wait totals 4970 s/m, 'a footnote says why');
  assert.match(text, /1 figure marked ! cannot have happened/);
  const j = JSON.parse(commandJson(r, { perThread: false, io: false, ctxsw: false }));
  assert.match(j.suspect.IO, /threads lived 500 ms/);
  assert.equal(j.suspect_values, 1);
  // with exits lost, the threads at hand are not all of them: no bound is claimed
  assert.equal(summarizeCommand(300, recs, SYS, { ...end, lost: 1 }).wholeSuspect, null);
});
