// Query path: µs per id of delaytop's batched native querySync against a getdelays-style C
// loop (query_loop.c, one send+recv per id) on the same id list in the same run, A B A B ...
// so drift hits both; once over every thread on the machine, once with ~10,000 idle threads
// (threads.c) added. Then the decoder alone: 100,000 real payloads through decodeTaskstats.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadAddon, loadContract, type NativeQuerySocket, type QueryEntry } from '../../src/kernel/addon.js';
import { decodeTaskstats } from '../../src/kernel/decode.js';
import { NetlinkSource } from '../../src/sources/netlink.js';
import type { Target } from '../../src/sources/types.js';
import { compileC, report } from './common.js';

const THREADS = Number(process.env.BENCH_THREADS ?? 10000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);
// Ids per timed sample on each side (the list is repeated to reach it): ~100 ms at 4 µs/id.
const SAMPLE_IDS = Number(process.env.BENCH_SAMPLE_IDS ?? 25000);
const DECODES = 100_000;

// Every exit path takes the thread process and the id files down: normal end (finally), an
// uncaught error (process 'exit'), a signal to us (handlers below), our own death (PDEATHSIG).
const live = new Set<ChildProcess>();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'delaytop-bench-'));
const cleanup = () => {
  for (const c of live) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => process.exit(130)); // 'exit' runs cleanup
}

const log = (s: string) => console.error(`  ${s}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const nowNs = () => Number(process.hrtime.bigint());

/** Every thread id on the machine, from /proc/<pid>/task. */
function allThreadIds(): number[] {
  const ids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) ids.push(Number(t));
    } catch {
      // the process exited while we listed
    }
  }
  return ids;
}

interface Counts {
  ok: number;
  esrch: number;
  other: number;
}

/** A: delaytop's crossing. ns per id over `reps` back-to-back querySync calls, after a warm-up. */
function timeNative(
  sock: NativeQuerySocket,
  ids: Uint32Array,
  reps: number,
  entry: QueryEntry,
): { nsPerId: number; counts: Counts } {
  const kinds = new Uint8Array(ids.length); // all PID queries, as the C loop does
  let ab = sock.querySync(ids, kinds);
  const t0 = nowNs();
  for (let r = 0; r < reps; r++) ab = sock.querySync(ids, kinds, ab); // into the last result, as NetlinkSource does
  const nsPerId = (nowNs() - t0) / (reps * ids.length);
  const dv = new DataView(ab);
  const counts: Counts = { ok: 0, esrch: 0, other: 0 };
  for (let i = 0; i < ids.length; i++) {
    const st = dv.getInt32(i * entry.bytes + entry.status, true);
    if (st === 0) counts.ok++;
    else if (st === os.constants.errno.ESRCH) counts.esrch++;
    else counts.other++;
  }
  return { nsPerId, counts };
}

/** B: the C loop over the same list; it times itself (no process start-up in the figure). */
function timeC(bin: string, idsFile: string, reps: number): { nsPerId: number; counts: Counts } {
  const out = execFileSync(bin, ['-r', String(reps), idsFile], { encoding: 'utf8' });
  const f = Object.fromEntries(
    out
      .trim()
      .split(/\s+/)
      .map((kv) => kv.split('=') as [string, string]),
  );
  const per = (k: string) => Number(f[k]) / reps;
  return { nsPerId: Number(f.ns_per_id), counts: { ok: per('ok'), esrch: per('esrch'), other: per('other') } };
}

const fmtCounts = (c: Counts) => `ok ${Math.round(c.ok)} esrch ${Math.round(c.esrch)} other ${Math.round(c.other)}`;

/** Interleaved A/B pairs over one id list; reports the median of the per-pair ratios. */
function compare(name: string, ids: number[], sock: NativeQuerySocket, entry: QueryEntry, cBin: string): boolean {
  const idsFile = path.join(tmp, `${name}.ids`);
  writeFileSync(idsFile, ids.join('\n') + '\n');
  const idArr = Uint32Array.from(ids);
  const reps = Math.max(1, Math.round(SAMPLE_IDS / ids.length));
  const a: number[] = [],
    b: number[] = [],
    ratio: number[] = [];
  let ca: Counts | undefined, cb: Counts | undefined;
  for (let p = 0; p < PAIRS; p++) {
    // Alternate which side goes first so neither always runs on a freshly warmed kernel.
    const runA = () => {
      const r = timeNative(sock, idArr, reps, entry);
      a.push(r.nsPerId);
      ca = r.counts;
    };
    const runB = () => {
      const r = timeC(cBin, idsFile, reps);
      b.push(r.nsPerId);
      cb = r.counts;
    };
    if (p % 2) {
      runB();
      runA();
    } else {
      runA();
      runB();
    }
    ratio.push(a[p]! / b[p]!);
  }
  const ua = median(a) / 1000,
    ub = median(b) / 1000;
  log(`${name}: ${ids.length} ids x ${reps} reps x ${PAIRS} pairs`);
  log(
    `  delaytop querySync ${ua.toFixed(3)} µs/id (${fmtCounts(ca!)}; samples ${a.map((x) => (x / 1000).toFixed(2)).join(' ')})`,
  );
  log(
    `  C send+recv loop   ${ub.toFixed(3)} µs/id (${fmtCounts(cb!)}; samples ${b.map((x) => (x / 1000).toFixed(2)).join(' ')})`,
  );
  let ok = report({ bench: `${name}_ratio`, value: median(ratio), unit: 'x C loop', target: '<= 1.5' });
  // Absolute figures, loosely bounded: 10 µs/id is a 10,000-thread refresh in 100 ms.
  ok = report({ bench: `${name}_delaytop`, value: ua, unit: 'us/id', target: '<= 10' }) && ok;
  ok = report({ bench: `${name}_c_loop`, value: ub, unit: 'us/id', target: '<= 10' }) && ok;
  return ok;
}

/** Start threads.c with n idle threads; resolves once it says "ready". */
function startThreads(bin: string, n: number): Promise<ChildProcess> {
  const child = spawn(bin, [String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`threads: not ready after 60 s`)), 60_000);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (!line.startsWith('ready')) return;
      clearTimeout(timer);
      rl.close();
      resolve(child);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`threads exited early (${code ?? sig})`));
    });
  });
}

async function stopThreads(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** Decoder alone: `count` decodes cycling over real payloads. Median ms of 5 runs. */
function timeDecode(payloads: Uint8Array[], count: number): number {
  let sink = 0;
  const run = () => {
    const t0 = nowNs();
    for (let i = 0; i < count; i++) sink += decodeTaskstats(payloads[i % payloads.length]!).length;
    return (nowNs() - t0) / 1e6;
  };
  run(); // warm-up: plans built, JIT settled
  const ms = median([run(), run(), run(), run(), run()]);
  if (sink === 0) throw new Error('no payload decoded');
  return ms;
}

/** Real STATS payloads (views into the result buffer, as decodeQueryResult makes them). */
function payloadsOf(ab: ArrayBuffer, n: number, entry: QueryEntry): Uint8Array[] {
  const dv = new DataView(ab);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * entry.bytes;
    if (dv.getInt32(at + entry.status, true) !== 0) continue;
    out.push(new Uint8Array(ab, dv.getUint32(at + entry.offset, true), dv.getUint32(at + entry.length, true)));
  }
  return out;
}

/** Full NetlinkSource.querySync (pack + crossing + decode of every result), ms per call, median of 5. */
function timeSource(src: NetlinkSource, targets: Target[]): number {
  src.querySync(targets);
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = nowNs();
    src.querySync(targets);
    xs.push((nowNs() - t0) / 1e6);
  }
  return median(xs);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('  skipped: taskstats queries need root (CAP_NET_ADMIN)');
    return 0;
  }
  const cBin = compileC('query_loop');
  const tBin = compileC('threads');
  const addon = loadAddon();
  const sock = new addon.QuerySocket(1000);
  const src = new NetlinkSource(1000);
  const eb = loadContract().queryEntry;
  let ok = true;
  let threads: ChildProcess | undefined;
  try {
    // (1) every thread on the machine as it is
    ok = compare('query_all_threads', allThreadIds(), sock, eb, cBin) && ok;

    // (2) with ~10,000 more threads
    threads = await startThreads(tBin, THREADS);
    const ids = allThreadIds();
    ok = compare(`query_${THREADS}_threads`, ids, sock, eb, cBin) && ok;

    // (3) decode: payloads gathered from this machine's real replies, cycled
    const idArr = Uint32Array.from(ids);
    const ab = sock.querySync(idArr, new Uint8Array(idArr.length));
    const payloads = payloadsOf(ab, idArr.length, eb);
    const decodeMs = timeDecode(payloads, DECODES);
    log(
      `decode: ${DECODES} payloads (${payloads.length} distinct, ${payloads[0]?.length} bytes) in ${decodeMs.toFixed(1)} ms = ${((decodeMs * 1000) / DECODES).toFixed(2)} µs each`,
    );
    // 1000 ms per 100,000 = 10 µs per record: a 10,000-thread refresh decodes in 100 ms,
    // a tenth of a core at one refresh a second.
    ok = report({ bench: 'decode_100k_payloads', value: decodeMs, unit: 'ms', target: '<= 1000' }) && ok;

    // Informational: what a refresh costs end to end through the source.
    const targets: Target[] = ids.map((id) => ({ kind: 'pid', id }));
    const fullMs = timeSource(src, targets);
    log(
      `NetlinkSource.querySync (query + decode): ${ids.length} ids in ${fullMs.toFixed(1)} ms = ${((fullMs * 1000) / ids.length).toFixed(3)} µs/id`,
    );
  } finally {
    if (threads) await stopThreads(threads);
    sock.close();
    src.close();
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
