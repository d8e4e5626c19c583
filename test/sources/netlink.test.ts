// Real kernel: the batched query path returns exactly what the kernel gives any reader.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { constants } from 'node:os';
import { loadAddon, loadContract, type NativeQuerySocket } from '../../src/kernel/addon.js';
import { decodeQueryResult, decodeQueryResultYielding, NetlinkSource } from '../../src/sources/netlink.js';
import { decodeTaskstats, keepStatsBytes, num, statsBytes } from '../../src/kernel/decode.js';
import { nothingMoved } from '../../src/model/scan.js';
import { delay, exited, needsRoot, schedstat, spawnTracked, waitStopped } from '../helpers.js';
import { withSlicedClock } from '../fakes/sliced-clock.js';

const BUSY =
  'let x=0; for(;;){ x++; if (x % 1e7 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }';

test('a stopped process: pid query equals /proc/<pid>/schedstat exactly', async (t) => {
  if (!needsRoot(t)) return;
  const child = spawnTracked(process.execPath, ['-e', BUSY]);
  await delay(300);
  child.kill('SIGSTOP');
  await waitStopped(child.pid!);
  const src = new NetlinkSource();
  try {
    const { results } = src.querySync([{ kind: 'pid', id: child.pid! }]);
    const r = results[0]!;
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    const [run, wait, slices] = schedstat(`/proc/${child.pid}/schedstat`);
    assert.equal(BigInt(r.stats.raw.cpu_run_virtual_total as number), run);
    assert.equal(BigInt(r.stats.raw.cpu_delay_total as number), wait);
    assert.equal(BigInt(r.stats.raw.cpu_count as number), slices);
    assert.ok(run > 0n, 'the child ran');
    assert.equal(r.stats.raw.ac_pid, child.pid);
    assert.equal(r.stats.raw.ac_comm, 'node');
  } finally {
    src.close();
    child.kill('SIGKILL');
  }
});

test('delaytop -b --json -p <stopped pid> -n 1 prints the kernel numbers', async (t) => {
  if (!needsRoot(t)) return;
  const child = spawnTracked(process.execPath, ['-e', BUSY]);
  await delay(200);
  child.kill('SIGSTOP');
  await waitStopped(child.pid!);
  try {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '-b', '--json', '-p', String(child.pid), '-n', '1'],
      {
        encoding: 'utf8',
      },
    );
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    const [o] = lines;
    assert.equal(o.type, 'sample');
    assert.equal(o.kind, 'pid');
    assert.equal(o.id, child.pid);
    const [run, wait, slices] = schedstat(`/proc/${child.pid}/schedstat`);
    assert.equal(BigInt(o.stats.cpu_run_virtual_total), run);
    assert.equal(BigInt(o.stats.cpu_delay_total), wait);
    assert.equal(BigInt(o.stats.cpu_count), slices);
    assert.equal(o.lifetime, true);
    assert.ok('lifetime_delays' in o && !('rates' in o), 'rates only once two samples exist');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a TGID query of a multi-threaded process sums all its threads', async (t) => {
  if (!needsRoot(t)) return;
  // Four worker threads that each burn CPU, plus node's own threads.
  const code = `const { Worker } = require('node:worker_threads');
    for (let i = 0; i < 4; i++) new Worker(${JSON.stringify(BUSY)}, { eval: true });`;
  const child = spawnTracked(process.execPath, ['-e', code]);
  await delay(700);
  child.kill('SIGSTOP');
  await waitStopped(child.pid!);
  const src = new NetlinkSource();
  try {
    const tids = readdirSync(`/proc/${child.pid}/task`).map(Number);
    assert.ok(tids.length >= 5, `expected >= 5 threads, saw ${tids.length}`);
    let run = 0n,
      wait = 0n,
      slices = 0n;
    for (const tid of tids) {
      const [a, b, c] = schedstat(`/proc/${child.pid}/task/${tid}/schedstat`);
      run += a;
      wait += b;
      slices += c;
    }
    const { results } = src.querySync([
      { kind: 'tgid', id: child.pid! },
      ...tids.map((id) => ({ kind: 'pid' as const, id })),
    ]);
    const tg = results[0]!;
    assert.equal(tg.status, 'ok');
    if (tg.status !== 'ok') return;
    assert.equal(BigInt(tg.stats.raw.cpu_delay_total as number), wait);
    assert.equal(BigInt(tg.stats.raw.cpu_count as number), slices);
    assert.equal(BigInt(tg.stats.raw.cpu_run_virtual_total as number), run);
    // and it is the sum of the per-thread answers from the same batch
    let perThread = 0n;
    for (const r of results.slice(1)) {
      assert.equal(r.status, 'ok');
      if (r.status === 'ok') perThread += BigInt(r.stats.raw.cpu_delay_total as number);
    }
    assert.equal(perThread, wait);
  } finally {
    src.close();
    child.kill('SIGKILL');
  }
});

test('a reaped pid comes back "gone"', async (t) => {
  if (!needsRoot(t)) return;
  const child = spawnTracked('true', []);
  const pid = child.pid!;
  await exited(child);
  const src = new NetlinkSource();
  try {
    const { results } = src.querySync([
      { kind: 'pid', id: pid },
      { kind: 'tgid', id: pid },
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['gone', 'gone'],
    );
  } finally {
    src.close();
  }
});

test('a batch of 1,000 ids: one result per id, in order, live ones exact', async (t) => {
  if (!needsRoot(t)) return;
  const live: number[] = [];
  for (const p of readdirSync('/proc')) if (/^\d+$/.test(p)) live.push(Number(p));
  const ids: number[] = [];
  for (let i = 0; ids.length < 1000; i++) ids.push(i < live.length ? live[i]! : 1 + ((i * 7919) % 30000));
  const src = new NetlinkSource();
  try {
    const targets = ids.map((id, i) => ({ kind: (i % 2 ? 'tgid' : 'pid') as 'pid' | 'tgid', id }));
    const batch = await src.query(targets);
    assert.equal(batch.results.length, 1000);
    let ok = 0;
    batch.results.forEach((r, i) => {
      assert.equal(r.target, targets[i]);
      assert.ok(r.status === 'ok' || r.status === 'gone', `${r.target.kind} ${r.target.id}: ${r.status}`);
      if (r.status === 'ok') {
        ok++;
        if (r.target.kind === 'pid') assert.equal(r.stats.raw.ac_pid, r.target.id);
        assert.ok(r.stats.version >= 2);
      }
    });
    // (a machine of more than 1,000 processes: only the first 1,000 are asked)
    const asked = Math.min(live.length, ids.length);
    assert.ok(ok >= asked / 2 - 5, `expected most of the ${asked} live ids asked answered, got ${ok}`);
    assert.equal(src.info().timeouts, 0);
  } finally {
    src.close();
  }
});

test("a TGID record that did not move says none of its threads' records moved (model/thread-gate.ts)", async (t) => {
  if (!needsRoot(t)) return;
  // Four threads that wake now and then (every 300 to 900 ms), and node's own, idle ones.
  const sleeper = (ms: number) =>
    JSON.stringify(`const a = new Int32Array(new SharedArrayBuffer(4)); for (;;) Atomics.wait(a, 0, 0, ${ms});`);
  const workers = [300, 500, 700, 900].map((ms) => `new Worker(${sleeper(ms)}, { eval: true });`).join('\n');
  const child = spawnTracked(process.execPath, [
    '-e',
    `const { Worker } = require('node:worker_threads');\n${workers}\nsetInterval(() => {}, 1e9);`,
  ]);
  await delay(700);
  const src = new NetlinkSource();
  try {
    const pid = child.pid!;
    const tids = readdirSync(`/proc/${pid}/task`).map(Number);
    assert.ok(tids.length >= 5, `expected >= 5 threads, saw ${tids.length}`);
    const threads = tids.map((id) => ({ kind: 'pid' as const, id }));
    // each round: every thread, then the process, then every thread again (one batch: the
    // kernel answers in order), as a refresh's TGID query comes before its thread queries
    const rounds = [];
    for (let i = 0; i < 50; i++) {
      const { results } = src.querySync([...threads, { kind: 'tgid', id: pid }, ...threads]);
      const stats = results.map((r) => (r.status === 'ok' ? r.stats : null));
      assert.ok(
        stats.every((s) => s !== null),
        'every thread answered',
      );
      const n = threads.length;
      rounds.push({ pre: stats.slice(0, n), tgid: stats[n]!, post: stats.slice(n + 1) });
      await delay(30);
    }
    let still = 0;
    let moved = 0;
    for (let i = 1; i < rounds.length; i++) {
      const [a, b] = [rounds[i - 1]!, rounds[i]!];
      if (!nothingMoved(a.tgid!, b.tgid!)) {
        moved++;
        continue;
      }
      still++;
      // nothing moved between the two TGID queries: every thread as asked after the first
      // is what it was when asked before the second
      for (let k = 0; k < threads.length; k++)
        assert.ok(
          nothingMoved(a.post[k]!, b.pre[k]!),
          `thread ${tids[k]} moved while its process did not (round ${i})`,
        );
    }
    assert.ok(still >= 5 && moved >= 5, `rounds still ${still}, moved ${moved}: the test saw both`);
  } finally {
    src.close();
    child.kill('SIGKILL');
  }
});

test("a process's identity changes only with its TGID record, but its parent (model/scan.ts identityDue)", async (t) => {
  if (!needsRoot(t)) return;
  // sh renames itself when a line arrives; before that it waits, and its child sleeps
  const sh = spawnTracked('sh', ['-c', 'sleep 1000 & echo $!; read x; printf renamed > /proc/$$/comm; read y'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const sleepPid = await new Promise<number>((resolve) => sh.stdout!.once('data', (d) => resolve(parseInt(String(d)))));
  const pid = sh.pid!;
  const src = new NetlinkSource();
  const ask = (kind: 'pid' | 'tgid', id: number) => {
    const r = src.querySync([{ kind, id }]).results[0]!;
    assert.equal(r.status, 'ok', `${kind}:${id}`);
    return r.status === 'ok' ? r.stats : (null as never);
  };
  try {
    await delay(200);
    const a = ask('tgid', pid);
    assert.throws(
      () => execFileSync('sh', ['-c', `printf other > /proc/${pid}/comm`], { stdio: 'ignore' }),
      'another process cannot rename it',
    );
    const b = ask('tgid', pid);
    assert.ok(nothingMoved(a, b), 'it did not run');
    assert.equal(ask('pid', pid).raw.ac_comm, 'sh');
    sh.stdin!.write('go\n');
    await delay(200);
    assert.equal(ask('pid', pid).raw.ac_comm, 'renamed');
    assert.ok(!nothingMoved(b, ask('tgid', pid)), 'its rename moved its TGID record');

    const child = ask('tgid', sleepPid);
    assert.equal(num(ask('pid', sleepPid), 'ac_ppid'), pid);
    sh.kill('SIGKILL');
    await exited(sh);
    assert.ok(nothingMoved(child, ask('tgid', sleepPid)), 'the sleeper did not run');
    assert.notEqual(
      num(ask('pid', sleepPid), 'ac_ppid'),
      pid,
      'yet its parent changed: the exception identityDue handles',
    );
  } finally {
    src.close();
    sh.kill('SIGKILL');
    try {
      process.kill(sleepPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

test('query(scratch): the result goes into a scratch it fills a quarter of or more, else into a new buffer with room (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  const sock = new (loadAddon().QuerySocket)(1000);
  t.after(() => sock.close());
  const self = (n: number) => [new Uint32Array(n).fill(process.pid), new Uint8Array(n)] as const;
  const exact = sock.querySync(...self(4));
  const size = exact.byteLength;
  assert.ok(size > 0);
  const roomy = new ArrayBuffer(size * 2);
  assert.equal(await sock.query(...self(4), roomy), roomy, 'fits, filled half: the scratch itself');
  const tooBig = new ArrayBuffer(size * 8);
  const fresh = sock.querySync(...self(4), tooBig);
  assert.notEqual(fresh, tooBig, 'filled an eighth: a new buffer, so a kept scratch shrinks after a large batch');
  assert.equal(fresh.byteLength, size + Math.floor(size / 4));
  const grown = sock.querySync(...self(40), exact);
  assert.notEqual(grown, exact, 'too small: a new buffer');
  const size40 = sock.querySync(...self(40)).byteLength;
  assert.equal(grown.byteLength, size40 + Math.floor(size40 / 4), 'with a quarter more room');
  assert.throws(() => sock.querySync(...self(1), 5 as unknown as ArrayBuffer), /scratch\?: ArrayBuffer/);
});

test('batches decoded from one reused buffer keep their own figures (real kernel)', async (t) => {
  if (!needsRoot(t)) return;
  const a = spawnTracked(process.execPath, ['-e', BUSY]);
  const b = spawnTracked('sleep', ['30']);
  t.after(() => {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  });
  await delay(300);
  a.kill('SIGSTOP');
  await waitStopped(a.pid!);
  const src = new NetlinkSource();
  t.after(() => src.close());
  // what each batch was given to fill, and what it came back in
  const sock = (src as unknown as { sock: NativeQuerySocket }).sock;
  const given: (ArrayBuffer | undefined)[] = [];
  const got: ArrayBuffer[] = [];
  const query = sock.query.bind(sock);
  const querySync = sock.querySync.bind(sock);
  // (own properties: the addon's methods are read-only on its prototype)
  Object.defineProperty(sock, 'query', {
    value: async (ids: Uint32Array, kinds: Uint8Array, scratch?: ArrayBuffer) => {
      given.push(scratch);
      got.push(await query(ids, kinds, scratch));
      return got.at(-1)!;
    },
  });
  Object.defineProperty(sock, 'querySync', {
    value: (ids: Uint32Array, kinds: Uint8Array, scratch?: ArrayBuffer) => {
      given.push(scratch);
      got.push(querySync(ids, kinds, scratch));
      return got.at(-1)!;
    },
  });
  const first = (await src.query([{ kind: 'pid', id: a.pid! }])).results[0]!;
  const second = (await src.query([{ kind: 'pid', id: b.pid! }])).results[0]!;
  const third = src.querySync([{ kind: 'pid', id: b.pid! }]).results[0]!;
  assert.ok(first.status === 'ok' && second.status === 'ok' && third.status === 'ok');
  assert.equal(first.stats.raw.ac_comm, 'node', 'the first batch is not overwritten by the next ones');
  assert.equal(first.stats.raw.ac_pid, a.pid);
  assert.equal(BigInt(first.stats.raw.cpu_run_virtual_total as number), schedstat(`/proc/${a.pid}/schedstat`)[0]);
  assert.equal(second.stats.raw.ac_comm, 'sleep');
  assert.equal(third.stats.raw.ac_pid, b.pid);
  assert.deepEqual(given, [undefined, got[0], got[0]], 'one buffer, filled again and again');
  assert.equal(got[2], got[0]);
  // a batch of another size class has a buffer of its own: neither takes the other's
  const many = Array.from({ length: 40 }, () => ({ kind: 'pid' as const, id: b.pid! }));
  src.querySync(many);
  src.querySync(many);
  src.querySync([{ kind: 'pid', id: b.pid! }]);
  assert.deepEqual(given.slice(3), [undefined, got[3], got[0]]);

  // a recording keeps each record's STATS bytes: those must not be written over either
  keepStatsBytes(true);
  t.after(() => keepStatsBytes(false));
  const kept = (await src.query([{ kind: 'pid', id: a.pid! }])).results[0]!;
  await src.query([{ kind: 'pid', id: b.pid! }]);
  src.querySync([{ kind: 'pid', id: b.pid! }]);
  assert.ok(
    !given.slice(7).includes(got[6]) && !given.slice(8).includes(got[7]),
    'a batch whose bytes are kept is not filled again',
  );
  assert.ok(kept.status === 'ok');
  assert.equal(decodeTaskstats(statsBytes(kept.stats)!).raw.ac_pid, a.pid, "a recording's bytes stay its own");
});

test("a batch's decoding lets the event loop run between slices, and decodes what the whole-batch decode does", async () => {
  const entry = loadContract().queryEntry;
  const n = 3000;
  const ab = new ArrayBuffer(n * entry.bytes);
  const dv = new DataView(ab);
  // every other entry gone (ESRCH), the rest failed with EPERM: no STATS bytes needed
  for (let i = 0; i < n; i++)
    dv.setInt32(i * entry.bytes + entry.status, i % 2 ? constants.errno.ESRCH : constants.errno.EPERM, true);
  const targets = Array.from({ length: n }, (_, i) => ({ kind: 'pid' as const, id: 100 + i }));
  const { result, turns } = await withSlicedClock(() => decodeQueryResultYielding(ab, targets, entry));
  assert.ok(turns >= n / 256 - 1, `the event loop ran between the slices (${turns} turns)`);
  assert.deepEqual(result, decodeQueryResult(ab, targets, entry));
  assert.equal(result.filter((r) => r.status === 'gone').length, n / 2);
});
