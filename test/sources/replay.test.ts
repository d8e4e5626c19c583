// Record and replay: a round trip through the file gives the same decoded values (live
// kernel records and /proc ones), the pace is kept or scaled, and hostile files fail with
// the file and line named, after every valid record before the bad line was played.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeTaskstats } from '../../src/kernel/decode.js';
import type { CpuCounters, ExitRecord } from '../../src/kernel/exitrecord.js';
import { exitRecordFrom } from '../../src/kernel/exitrecord.js';
import { EXITS_PER_LINE, Recorder, systemFacts } from '../../src/output/recorder.js';
import { NetlinkExitSource } from '../../src/sources/exit-listener.js';
import { NetlinkSource } from '../../src/sources/netlink.js';
import { ProcSource } from '../../src/sources/proc.js';
import { ReplayEnded, ReplayError } from '../../src/sources/replay/errors.js';
import { ReplaySource } from '../../src/sources/replay/source.js';
import { readCpulist } from '../../src/sources/system.js';
import type { ExitBatch, ExitSource, QueryBatch, StatsSource, Target } from '../../src/sources/types.js';
import { buildStats, distinctiveValues } from '../kernel/fixtures.js';
import { delay, exited, needsRoot, spawnTracked } from '../helpers.js';
import { counters as cpuCounters } from '../fakes/dashboard-sources.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'rec') => path.join(dir, `${name}-${++n}.jsonl`);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

const facts = (over: Partial<Parameters<typeof systemFacts>[0]> = {}) =>
  systemFacts({ statsSource: 'netlink', exitCpus: [0, 1], delayacct: { on: true, onSinceSec: null }, ...over });

/** A stats source that answers from a script of batches. */
class ScriptedSource implements StatsSource {
  readonly name = 'netlink';
  constructor(private batches: QueryBatch[]) {}
  async query(): Promise<QueryBatch> {
    return this.batches.shift()!;
  }
  list() {
    return [];
  }
  close() {}
}

/** An exit source the test drives by hand. */
class HandExits implements ExitSource {
  readonly cpus = [0, 1];
  fn: ((b: ExitBatch) => void) | null = null;
  start(fn: (b: ExitBatch) => void) {
    this.fn = fn;
  }
  close(): ExitBatch {
    return { records: [], counters: counters(5, 1) };
  }
}

function counters(received: number, lost: number): CpuCounters[] {
  return [0, 1].map((cpu) => cpuCounters(cpu, received, lost));
}

function fixtureStats(version = 16, tweak: Record<string, bigint | number> = {}) {
  return decodeTaskstats(buildStats(version, { ...distinctiveValues(), ...tweak }));
}

function fixtureExit(pid: number, withTgid: boolean): ExitRecord {
  const stats = decodeTaskstats(
    buildStats(16, { ...distinctiveValues(), ac_pid: pid, ac_tgid: pid, ac_exitcode: 3 << 8, ac_flag: 0x20 }),
  );
  const tgidStats = withTgid
    ? decodeTaskstats(buildStats(0, distinctiveValues(), { layoutVersion: 16 }), { fallbackVersion: 16 })
    : undefined;
  return exitRecordFrom(
    { cpu: 1, seq: 40 + pid, receivedMs: 1_767_225_600_123, pid, tgid: withTgid ? pid : 0 },
    stats,
    tgidStats,
  );
}

/** An exit record as the interface describes it, whatever class holds it (live records may decode lazily). */
function plainExit(r: ExitRecord) {
  const ts = (x: ExitRecord['stats'] | undefined) =>
    x && { version: x.version, layoutVersion: x.layoutVersion, length: x.length, raw: { ...x.raw } };
  const { cpu, seq, receivedMs, pid, tgid, ppid, uid, gid, comm, exitCode, signal, coreDumped, processEnded } = r;
  return {
    cpu,
    seq,
    receivedMs,
    pid,
    tgid,
    ppid,
    uid,
    gid,
    comm,
    exitCode,
    signal,
    coreDumped,
    processEnded,
    stats: ts(r.stats),
    tgidStats: ts(r.tgidStats),
  };
}

const A: Target = { kind: 'pid', id: 11 };
const B: Target = { kind: 'tgid', id: 22 };

/** A recording made through the real Recorder from scripted sources: 3 query batches, 2 exit batches. */
async function scriptedRecording(
  file: string,
  gapsMs = [0, 0, 0],
): Promise<{ batches: QueryBatch[]; exits: ExitBatch[] }> {
  // Opened first: STATS bytes are kept for records decoded while a recording is open.
  const rec = new Recorder(file, facts());
  const batches: QueryBatch[] = [
    {
      atNs: 1e9,
      results: [
        { target: A, status: 'ok', stats: fixtureStats(16, { ac_tgid: 22 }) },
        { target: B, status: 'ok', stats: fixtureStats(16, { cpu_count: 7 }) },
      ],
    },
    {
      atNs: 2e9,
      results: [
        { target: A, status: 'ok', stats: fixtureStats(14) },
        { target: B, status: 'gone' },
      ],
    },
    {
      atNs: 3e9,
      results: [{ target: A, status: 'error', code: 'EIO', message: 'taskstats query of pid 11 failed: EIO' }],
    },
  ];
  const exits: ExitBatch[] = [
    { records: [fixtureExit(31, false), fixtureExit(32, true)], counters: counters(2, 0) },
    { records: [fixtureExit(33, false)], counters: counters(3, 4) },
  ];
  const src = rec.wrapStats(new ScriptedSource([...batches]));
  const hand = new HandExits();
  const ex = rec.wrapExits(hand);
  const seen: ExitBatch[] = [];
  ex.start((b) => seen.push(b));
  await delay(gapsMs[0]!);
  await src.query([A, B]);
  hand.fn!(exits[0]!);
  await delay(gapsMs[1]!);
  await src.query([A, B]);
  hand.fn!(exits[1]!);
  await delay(gapsMs[2]!);
  await src.query([A]);
  ex.close();
  rec.close();
  assert.deepEqual(seen, exits, 'the decorator passes batches through unchanged');
  return { batches, exits };
}

async function playAll(
  r: ReplaySource,
  targets: () => Target[],
): Promise<{ batches: QueryBatch[]; exits: ExitBatch[]; end: unknown }> {
  const exits: ExitBatch[] = [];
  r.exits().start((b) => exits.push(b));
  const batches: QueryBatch[] = [];
  for (;;) {
    try {
      batches.push(await r.query(targets()));
    } catch (e) {
      return { batches, exits, end: e };
    }
  }
}

test('round trip of scripted batches: same decoded values, exits, counters; list and targets', async () => {
  const file = tmp();
  const { batches, exits } = await scriptedRecording(file);
  const r = new ReplaySource(file, { speed: Infinity });
  assert.equal(r.header.version, 1);
  assert.equal(r.header.format, 'delaytop-recording');
  assert.deepEqual(r.header.exitCpus, [0, 1]);
  assert.deepEqual(r.recordedTargets(), [A, B]);
  assert.deepEqual(r.list('process'), [{ id: 22, tgid: 22 }], 'pid 11 is a thread of 22 (its ac_tgid)');
  assert.deepEqual(r.list('thread'), [{ id: 11, tgid: 22 }]);
  const got = await playAll(r, () => r.recordedTargets());
  assert.ok(got.end instanceof ReplayEnded, String(got.end));
  assert.equal(got.batches.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(got.batches[i]!.atNs, batches[i]!.atNs);
    assert.deepEqual(got.batches[i]!.results, batches[i]!.results);
  }
  assert.deepEqual(
    got.exits.slice(0, 2).map((b) => b.records.map(plainExit)),
    exits.map((b) => b.records.map(plainExit)),
  );
  assert.deepEqual(got.exits[1]!.counters, exits[1]!.counters);
  // the final close() batch had no records but new counters: recorded and played too
  assert.equal(got.exits.length, 3);
  assert.deepEqual(got.exits[2]!.counters, counters(5, 1));
  assert.equal(r.complete, true);
  assert.equal(r.error, null);
  await r.finished;
  // kernel records are stored as their STATS bytes, base64
  const q1 = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!);
  assert.equal(q1.type, 'query');
  assert.equal(typeof q1.results[0].stats, 'string');
  assert.deepEqual(
    new Uint8Array(Buffer.from(q1.results[0].stats, 'base64')),
    buildStats(16, { ...distinctiveValues(), ac_tgid: 22 }),
  );
  // loss lines are written whenever a CPU's lost count grows
  const loss = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"loss"'));
  assert.equal(loss.length, 2, 'one per CPU when lost grew 0 -> 4; none when it went back to 1');
});

test('query() answers the asked targets in order; one the recording lacks is gone', async () => {
  const file = tmp();
  await scriptedRecording(file);
  const r = new ReplaySource(file, { speed: Infinity });
  const C: Target = { kind: 'pid', id: 99 };
  const asked = [B, C, A];
  const b = await r.query(asked);
  assert.deepEqual(
    b.results.map((x) => [x.target, x.status]),
    [
      [B, 'ok'],
      [C, 'gone'],
      [A, 'ok'],
    ],
  );
  assert.equal(b.results[0]!.target, B, 'the asked target object itself');
  r.close();
});

test('paced replay keeps the recorded gaps, --speed scales them, and exits interleave in order', async () => {
  const file = tmp();
  await scriptedRecording(file, [0, 300, 300]);
  for (const speed of [1, 3]) {
    const r = new ReplaySource(file, { speed });
    const order: string[] = [];
    r.exits().start((b) => order.push(`exits:${b.records.length}`));
    const t0 = performance.now();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      await r.query(r.recordedTargets());
      times.push(performance.now() - t0);
      order.push(`query${i}`);
    }
    await r.finished;
    // The schedule is absolute from the start: never ahead of it, and (on a loaded machine) not far behind.
    const gap = 600 / speed;
    assert.ok(times[2]! >= gap - 20 && times[2]! < gap + 400, `speed ${speed}: ${times.map((x) => x.toFixed(0))}`);
    assert.ok(times[1]! >= gap / 2 - 20, `speed ${speed}: ${times.map((x) => x.toFixed(0))}`);
    assert.deepEqual(order, ['query0', 'exits:2', 'query1', 'exits:1', 'query2', 'exits:0']);
    assert.equal(r.skippedBatches, 0);
  }
});

test('queriesDone resolves once the last batch was handed out; a batch consumer stops there', async () => {
  const file = tmp();
  await scriptedRecording(file);
  const r = new ReplaySource(file, { speed: Infinity });
  let done = false;
  void r.queriesDone.then(() => {
    done = true;
  });
  await r.query([A]);
  await r.query([A]);
  await delay(0);
  assert.equal(done, false);
  await r.query([A]);
  await delay(0);
  assert.equal(done, true);
});

test('exitsOnly: the exit feed plays without a query consumer', async () => {
  const file = tmp();
  const { exits } = await scriptedRecording(file);
  const r = new ReplaySource(file, { speed: Infinity, exitsOnly: true });
  const got: ExitBatch[] = [];
  r.exits().start((b) => got.push(b));
  await r.finished;
  assert.deepEqual(
    got.slice(0, 2).map((b) => b.records.map(plainExit)),
    exits.map((b) => b.records.map(plainExit)),
  );
});

test("a storm's batch is recorded in lines of EXITS_PER_LINE, and replays whole and in order", async () => {
  const file = tmp();
  const rec = new Recorder(file, facts());
  const hand = new HandExits();
  rec.wrapExits(hand).start(() => {});
  const n = 2 * EXITS_PER_LINE + 5;
  const records = Array.from({ length: n }, (_, i) => fixtureExit(1000 + i, i % 7 === 0));
  hand.fn!({ records, counters: counters(n, 2) });
  rec.close();
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"exits"'))
    .map((l) => JSON.parse(l) as { records: unknown[]; counters: { received: number }[] });
  assert.deepEqual(
    lines.map((l) => l.records.length),
    [EXITS_PER_LINE, EXITS_PER_LINE, 5],
  );
  assert.ok(lines.every((l) => l.counters[0]!.received === n));
  const r = new ReplaySource(file, { speed: Infinity, exitsOnly: true });
  const got: ExitBatch[] = [];
  r.exits().start((b) => got.push(b));
  await r.finished;
  assert.deepEqual(
    got.flatMap((b) => b.records.map(plainExit)),
    records.map(plainExit),
  );
  assert.equal(got.at(-1)!.counters[0]!.lost, 2);
});

test('a /proc recording round-trips: exact integers, only the /proc fields', async () => {
  const file = tmp();
  const proc = new ProcSource();
  const rec = new Recorder(file, facts({ statsSource: 'proc', exitCpus: null }));
  const src = rec.wrapStats(proc);
  const targets: Target[] = [
    { kind: 'pid', id: process.pid },
    { kind: 'tgid', id: process.pid },
    { kind: 'tgid', id: 1 },
  ];
  const live = [await src.query(targets), await src.query(targets)];
  rec.close();
  const r = new ReplaySource(file, { speed: Infinity });
  assert.equal(r.header.statsSource, 'proc');
  for (const b of live) {
    const { wallMs, ...got } = await r.query(targets);
    assert.deepEqual(got, b);
    assert.ok(wallMs! > Date.now() - 60_000 && wallMs! <= Date.now(), 'the recorded wall-clock time comes back');
  }
});

test('live kernel: record query batches and exits, replay them: identical decoded records', async (t) => {
  if (!needsRoot(t)) return;
  const file = tmp();
  const online = readCpulist('online');
  const cpus = online.split(',').flatMap((p) => {
    const [a, b] = p.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  });
  const rec = new Recorder(file, facts({ exitCpus: cpus }));
  const nl = new NetlinkSource();
  const listener = new NetlinkExitSource({
    cpus,
    possible: readCpulist('possible'),
    rcvbufBytes: 4 << 20,
    pin: false,
    batchMs: 20,
    maxQueueBytes: 16 << 20,
  });
  const src = rec.wrapStats(nl);
  const ex = rec.wrapExits(listener);
  const liveExits: ExitBatch[] = [];
  ex.start((b) => liveExits.push(b));
  const mt = spawnTracked(process.execPath, [
    '-e',
    `const { Worker } = require('node:worker_threads'); new Worker('setTimeout(()=>{}, 100)', { eval: true }); setTimeout(() => process.exit(5), 300);`,
  ]);
  const targets: Target[] = [
    { kind: 'pid', id: process.pid },
    { kind: 'tgid', id: process.pid },
    { kind: 'tgid', id: mt.pid! },
    { kind: 'pid', id: 1 },
  ];
  const live: QueryBatch[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      live.push(await src.query(targets));
      for (let k = 0; k < 3; k++) await exited(spawnTracked('true', []));
      await delay(150);
    }
    await exited(mt);
    await delay(200);
  } finally {
    liveExits.push(ex.close());
    nl.close();
    rec.close();
  }
  const liveRecords = liveExits.flatMap((b) => b.records);
  assert.ok(liveRecords.length >= 9, `saw ${liveRecords.length} exits`);
  assert.ok(
    liveRecords.some((x) => x.tgid === mt.pid && x.tgidStats),
    'the multi-threaded child sent a TGID record',
  );

  const r = new ReplaySource(file, { speed: Infinity });
  const got = await playAll(r, () => targets);
  assert.ok(got.end instanceof ReplayEnded);
  assert.equal(got.batches.length, 3);
  for (let i = 0; i < 3; i++)
    assert.deepEqual({ ...got.batches[i], wallMs: undefined }, { ...live[i], wallMs: undefined });
  assert.deepEqual(got.exits.flatMap((b) => b.records).map(plainExit), liveRecords.map(plainExit));
  const lastLive = liveExits.at(-1)!.counters;
  assert.deepEqual(got.exits.at(-1)!.counters, lastLive);
});

// ------------------------------------------------------------ hostile recordings

function replayError(file: string, opts = {}): ReplayError {
  try {
    new ReplaySource(file, opts).close();
  } catch (e) {
    assert.ok(e instanceof ReplayError, String(e));
    return e;
  }
  assert.fail(`${file} was accepted`);
}

test('an empty file: error naming the file, line 1', () => {
  const file = tmp('empty');
  writeFileSync(file, '');
  const e = replayError(file);
  assert.equal(e.line, 1);
  assert.match(e.message, new RegExp(`${file}.*empty`));
});

test('binary garbage: error naming line 1 as binary', () => {
  const file = tmp('garbage');
  const junk = Buffer.alloc(4096);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
  writeFileSync(file, junk);
  const e = replayError(file);
  assert.equal(e.line, 1);
  assert.match(e.message, /:1: .*binary/);
});

test('text that is not a recording, and one from a newer delaytop', () => {
  const a = tmp('text');
  writeFileSync(a, 'hello\nworld\n');
  assert.match(replayError(a).message, /:1: not a delaytop recording/);
  const b = tmp('newer');
  writeFileSync(b, JSON.stringify({ type: 'header', format: 'delaytop-recording', version: 2 }) + '\n');
  assert.match(replayError(b).message, /:1: recorded by a newer delaytop \(format version 2\)/);
});

test('a symlink is refused, by name', () => {
  const real = tmp();
  writeFileSync(real, JSON.stringify({ type: 'header', format: 'delaytop-recording', version: 1 }) + '\n');
  const link = tmp('link');
  symlinkSync(real, link);
  const e = replayError(link);
  assert.equal(e.code, 'ELOOP');
  assert.match(e.message, new RegExp(`${link}.*symbolic link`));
});

/** Play a damaged recording; return what played and the error. */
async function playDamaged(file: string) {
  const r = new ReplaySource(file, { speed: Infinity });
  const got = await playAll(r, () => [A, B]);
  await r.finished;
  assert.ok(got.end instanceof ReplayError, String(got.end));
  assert.equal(r.error, got.end);
  return { ...got, err: got.end as ReplayError };
}

function lineStarts(file: string): number[] {
  const text = readFileSync(file);
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === 0x0a) starts.push(i + 1);
  return starts;
}

test('cut mid-line: the records before it play, then an error names the line', async () => {
  const file = tmp();
  await scriptedRecording(file);
  // lines: 1 header, 2 query, 3 exits, 4 loss..., find the second query line and cut inside it
  const lines = readFileSync(file, 'utf8').split('\n');
  const q2 = lines.findIndex((l, i) => i > 1 && l.startsWith('{"type":"query"'));
  const starts = lineStarts(file);
  truncateSync(file, starts[q2]! + 40);
  const { batches, exits, err } = await playDamaged(file);
  assert.equal(err.line, q2 + 1);
  assert.match(err.message, new RegExp(`${file}:${q2 + 1}: cut short`));
  assert.match(err.advice, new RegExp(`before line ${q2 + 1} was played`));
  assert.equal(batches.length, 1, 'the first batch played');
  assert.equal(exits.length, 1, 'the exits before the cut played');
});

test('a damaged line in the middle (garbage, bad base64, short STATS): prefix plays, error names it', async () => {
  const file = tmp();
  await scriptedRecording(file);
  const lines = readFileSync(file, 'utf8').split('\n');
  const q2 = lines.findIndex((l, i) => i > 1 && l.startsWith('{"type":"query"'));
  const variants: Array<[string, string, RegExp]> = [
    ['garbage', '\u0001\u0002binary\u0000junk', /binary/],
    ['base64', lines[q2]!.replace(/"stats":"[^"]+"/, '"stats":"@@@@"'), /result 1: STATS bytes are not base64/],
    [
      'short',
      lines[q2]!.replace(/"stats":"[^"]+"/, `"stats":"${Buffer.from([16, 0, 1, 2]).toString('base64')}"`),
      /result 1: STATS attribute of 4 bytes/,
    ],
    ['type', '{"type":"bogus","t":5}', /unknown record type "bogus"/],
  ];
  for (const [name, bad, re] of variants) {
    const f = tmp(name);
    writeFileSync(f, [...lines.slice(0, q2), bad, ...lines.slice(q2 + 1)].join('\n'));
    const { batches, err } = await playDamaged(f);
    assert.equal(err.line, q2 + 1, name);
    assert.match(err.message, new RegExp(`^${f}:${q2 + 1}: `), name);
    assert.match(err.message, re, name);
    assert.equal(batches.length, 1, `${name}: the batch before the bad line played`);
  }
});

test('unreadable for a non-root user: permission denied, naming the file', async (t) => {
  if (!needsRoot(t)) return; // setpriv drops to uid 65534
  const file = tmp();
  await scriptedRecording(file);
  chmodSync(dir, 0o755);
  chmodSync(file, 0o600);
  const check = spawnSync('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    'test',
    '-r',
    path.join(repo, 'node_modules/tsx/package.json'),
  ]);
  if (check.status !== 0) {
    t.skip('uid 65534 cannot read the checkout');
    return;
  }
  const script = `import { ReplaySource } from ${JSON.stringify(path.join(repo, 'src/sources/replay/source.ts'))};
    try { new ReplaySource(${JSON.stringify(file)}); console.log('accepted'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, advice: e.advice })); }`;
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', cwd: repo },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.name, 'ReplayError');
  assert.equal(out.code, 'EACCES');
  assert.match(out.message, new RegExp(`cannot replay ${file}: permission denied`));
  assert.match(out.advice, /0600/);
});

test('a replay into batch JSON output: every recorded batch printed with its recorded time, then a clean end', async () => {
  const { runBatch } = await import('../../src/output/batch.js');
  const file = tmp();
  const rec = new Recorder(file, facts({ statsSource: 'proc', exitCpus: null }));
  const targets: Target[] = [{ kind: 'tgid', id: process.pid }];
  const live = rec.wrapStats(new ProcSource());
  const wall: number[] = [];
  for (let i = 0; i < 3; i++) {
    await live.query(targets);
    wall.push(Date.now());
    await delay(30);
  }
  rec.close();
  // The wiring the CLI uses for --replay with -b/--json.
  const r = new ReplaySource(file, { speed: Infinity });
  const lines: string[] = [];
  const code = await runBatch(r, {
    targets: r.recordedTargets(),
    intervalSec: 0,
    iterations: Infinity,
    json: true,
    delayacct: () => r.delayacct(),
    write: (s) => lines.push(...s.split('\n')),
    warn: (s) => assert.fail(s),
    interrupted: r.queriesDone,
  });
  assert.equal(code, 0);
  assert.equal(r.error, null);
  const objs = lines.map((l) => JSON.parse(l));
  assert.equal(objs.length, 3);
  objs.forEach((o, i) => {
    assert.equal(o.id, process.pid);
    assert.ok(
      Math.abs(Date.parse(o.time) - wall[i]!) < 25,
      `batch ${i}: ${o.time} vs ${new Date(wall[i]!).toISOString()}`,
    );
  });
  assert.equal(objs[0].lifetime, true);
  assert.equal(objs[1].lifetime, false);
  assert.ok(objs[1].interval_ns >= 25e6, 'intervals are the recorded ones');
});
