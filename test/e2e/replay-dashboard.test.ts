// End to end: record a real session with -w, then replay it into the real dashboard in a
// real terminal (tmux, 120x40, a private socket) and find on screen what was recorded:
// short-lived processes with distinctive names and their exit status in the exit feed, the
// recorded exit count and loss, and (from a recorded dashboard session) the recorded
// processes in the process pane. q quits to a clean shell.
//
// Which sessions record what: -l -w records exits and loss only (no samples); a batch run
// with -w records samples only (batch mode opens no exit listener); the dashboard with -w
// records both. A dashboard session needs a terminal, so the second test records one in tmux.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { clock } from '../../src/output/format.js';
import { delay, exited, needsRoot, spawnTracked } from '../helpers.js';
import { assertRestored, hasTmux, ROOT, session, Tmux } from './tmux.js';

const CLI = 'node --import tsx src/cli.ts';

/** Short-lived processes named rp-child-N: symlinks to /bin/sh (comm is the link's name). */
const CHILD_CODES = [3, 4, 5];
function makeChildren(dir: string): string[] {
  return CHILD_CODES.map((_, i) => {
    const p = path.join(dir, `rp-child-${i + 1}`);
    symlinkSync('/bin/sh', p);
    return p;
  });
}
/** Run each once, `exit <code>`; returns their pids. */
function runChildren(paths: string[]): number[] {
  return paths.map((p, i) => {
    const r = spawnSync(p, ['-c', `echo $$; exit ${CHILD_CODES[i]}`], { encoding: 'utf8' });
    assert.equal(r.status, CHILD_CODES[i], `${p} exited with ${CHILD_CODES[i]}`);
    return Number(r.stdout.trim());
  });
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a recording file says about the exit feed, read straight from its lines. */
function recordedFeed(file: string): {
  received: number;
  lost: number;
  kinds: Map<string, number>;
  exitPids: Set<number>;
  commOf: (pid: number) => Buffer | undefined;
} {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const kinds = new Map<string, number>();
  for (const l of lines) kinds.set(l.type as string, (kinds.get(l.type as string) ?? 0) + 1);
  const exits = lines.filter((l) => l.type === 'exits') as {
    records: { pid: number; stats: string }[];
    counters: { cpu: number; received: number }[];
  }[];
  const last = exits.at(-1);
  const received = last ? last.counters.reduce((s, c) => s + c.received, 0) : 0;
  // a loss line is written whenever a CPU's lost count grows: the newest per CPU is its total
  const lostByCpu = new Map<number, number>();
  for (const l of lines) if (l.type === 'loss') lostByCpu.set(l.cpu as number, l.lost as number);
  const stats = new Map<number, string>();
  for (const b of exits) for (const r of b.records) stats.set(r.pid, r.stats);
  return {
    received,
    lost: [...lostByCpu.values()].reduce((a, b) => a + b, 0),
    kinds,
    exitPids: new Set(stats.keys()),
    commOf: (pid) => (stats.has(pid) ? Buffer.from(stats.get(pid)!, 'base64') : undefined),
  };
}

/** Focus the feed pane and page back through it until every pattern has matched a line. */
async function findInFeed(tm: Tmux, patterns: RegExp[], total: number): Promise<string[]> {
  // Tab to the feed: through the watch pane when it is shown (something pinned)
  for (let i = 0; i < 3 && !/Home live/.test(tm.screen()); i++) {
    tm.keys('Tab');
    await delay(300);
  }
  await tm.waitFor('the feed pane focused', (x) => /Home live/.test(x), 5_000);
  const found: (string | undefined)[] = patterns.map(() => undefined);
  let s = '';
  // a page is the pane's height less 4 (at 120x40 about 9 rows); a few extra presses are harmless
  for (let page = 0; page <= Math.ceil(total / 5) + 2 && found.some((f) => f === undefined); page++) {
    s = tm.screen();
    for (const line of s.split('\n'))
      patterns.forEach((p, i) => {
        if (!found[i] && p.test(line)) found[i] = line;
      });
    tm.keys('PgDn');
    await delay(250);
  }
  patterns.forEach((p, i) => assert.ok(found[i], `${p} in the replayed feed (last page seen:\n${s})`));
  return found as string[];
}

test(
  'an exit-feed recording (-l -w) replays into the dashboard: the children with their status, the exit count, lost 0',
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-replay-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const children = makeChildren(dir);
    const rec = path.join(dir, 'exits.jsonl');

    // Record: the exit feed as JSON Lines on stdout, the recording in the file.
    const recorder = spawnTracked(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '-w', rec, '-l', '--json', '--duration', '3'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => recorder.kill('SIGKILL'));
    let out = '';
    let err = '';
    recorder.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    recorder.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const until = Date.now() + 30_000;
    while (!out.includes('"type":"listening"')) {
      assert.ok(Date.now() < until && recorder.exitCode === null, `the listener started (stderr: ${err})`);
      await delay(50);
    }
    const pids = runChildren(children);
    assert.equal(await exited(recorder), 0, `delaytop -l -w exited cleanly (stderr: ${err})`);
    assert.equal(statSync(rec).mode & 0o777, 0o600, 'the recording is private');

    // What was seen live: the children's exit lines and the summary.
    const live = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = live.find((l) => l.type === 'summary') as { received: number; lost: number };
    assert.ok(summary, `a summary line:\n${out.slice(-500)}`);
    const kids = pids.map((pid, i) => {
      const e = live.find((l) => l.type === 'exit' && l.pid === pid) as
        { pid: number; tgid: number; cpu: number; comm: string; exit_code: number; time: string } | undefined;
      assert.ok(e, `delaytop -l saw rp-child-${i + 1} (pid ${pid}) exit`);
      assert.equal(e.comm, `rp-child-${i + 1}`);
      assert.equal(e.exit_code, CHILD_CODES[i]);
      return e;
    });

    // The file holds the same: a header, exit batches (the children among them), no samples, an end line.
    const file = recordedFeed(rec);
    assert.equal(file.kinds.get('header'), 1);
    assert.equal(file.kinds.get('end'), 1, 'closed cleanly');
    assert.equal(file.kinds.get('query') ?? 0, 0, '-l records no samples');
    assert.equal(file.received, summary.received, 'the final counters are recorded');
    assert.equal(file.lost, summary.lost, 'the loss is recorded');
    for (const k of kids) assert.ok(file.commOf(k.pid)?.includes(k.comm), `the exit of ${k.comm} is in the file`);
    const total = summary.received + summary.lost;

    // Replay it into the dashboard, four times as fast.
    const tm = await session(t);
    tm.keys(`${CLI} --replay ${rec} --speed 4`, 'Enter');
    await tm.waitFor(
      'the replaying dashboard',
      (x) => x.includes(`replaying ${rec}`) && x.includes('Exit feed'),
      60_000,
    );
    assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');
    // every recorded exit played: the counts are the recorded ones, lost among them
    // (the header's counts are not asserted: with no samples in the file its status line starts with
    // "refresh failed: the recording ... has no more samples", which can push them past 120 columns)
    const s = await tm.waitFor(`all ${total} recorded exits`, (x) => x.includes(`Exit feed ${total} exits · `));
    assert.match(
      s,
      new RegExp(`Exit feed ${total} exits · [\\d.]+/s · lost ${summary.lost} ·`),
      'the feed pane shows the recorded loss',
    );
    // each child in the feed: recorded time, CPU, pid, tgid, name and exit status
    const rows = await findInFeed(
      tm,
      kids.map(
        (k) =>
          new RegExp(
            `│${escapeRe(clock(new Date(k.time)))} +${k.cpu} +${k.pid} +${k.tgid} +${k.comm} +exit ${k.exit_code} `,
          ),
      ),
      total,
    );
    assert.equal(rows.length, 3);

    tm.type('q');
    await assertRestored(tm);
  },
);

test(
  "a dashboard session recorded with -w replays both panes: the recorded process and the children's exits",
  { timeout: 120_000 },
  async (t) => {
    if (!needsRoot(t)) return;
    if (!hasTmux()) return t.skip('tmux is not installed');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-e2e-replay-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const children = makeChildren(dir);
    const sleeper = path.join(dir, 'rp-sleeper');
    copyFileSync('/bin/sleep', sleeper);
    const sleeperProc = spawnTracked(sleeper, ['600']);
    t.after(() => sleeperProc.kill('SIGKILL'));
    // its row: the pid, figures, and its name (the command line live, the comm in the replay)
    const sleeperRow = new RegExp(`│ +${sleeperProc.pid} .*\\d+\\.\\d\\d .*rp-sleep`);
    const rec = path.join(dir, 'dashboard.jsonl');
    const tm = await session(t);

    // Record: the live dashboard with -w, until it has sampled the sleeper and the children exited.
    tm.keys(`${CLI} -w ${rec}`, 'Enter');
    await tm.waitFor(
      'the recording dashboard',
      (x) => /Processes \d+/.test(x) && x.includes('Exit feed') && x.includes('refreshed'),
      60_000,
    );
    tm.type('/rp-sleeper');
    tm.keys('Enter');
    await tm.waitFor('the sleeper sampled live', (x) => sleeperRow.test(x));
    const pids = runChildren(children);
    await delay(1500); // the exits reach the recorder within a batch (50 ms); a refresh follows
    tm.type('q');
    await assertRestored(tm);

    const file = recordedFeed(rec);
    assert.ok((file.kinds.get('query') ?? 0) >= 2, 'the dashboard recorded samples');
    assert.equal(file.kinds.get('end'), 1, 'closed cleanly');
    pids.forEach((pid, i) =>
      assert.ok(
        file.commOf(pid)?.includes(`rp-child-${i + 1}`),
        `the exit of rp-child-${i + 1} (pid ${pid}) is in the file`,
      ),
    );
    const total = file.received + file.lost;

    // Replay it into the dashboard: the process pane shows the recorded sleeper, the feed the children.
    tm.keys(`${CLI} --replay ${rec} --speed 4`, 'Enter');
    await tm.waitFor(
      'the replaying dashboard',
      (x) => x.includes(`replaying ${rec}`) && /Processes \d+/.test(x),
      60_000,
    );
    assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');
    tm.type('/rp-sleeper');
    tm.keys('Enter');
    await tm.waitFor(
      'the recorded sleeper in the process pane',
      (x) => x.includes('Processes 1/') && sleeperRow.test(x),
    );
    const s = await tm.waitFor(`all ${total} recorded exits`, (x) => x.includes(`Exit feed ${total} exits · `));
    assert.match(
      s,
      new RegExp(`Exit feed ${total} exits · [\\d.]+/s · lost ${file.lost} ·`),
      'the feed pane shows the recorded loss',
    );
    await findInFeed(
      tm,
      pids.map(
        (pid, i) =>
          new RegExp(`│\\d\\d:\\d\\d:\\d\\d +\\d+ +${pid} +${pid} +rp-child-${i + 1} +exit ${CHILD_CODES[i]} `),
      ),
      total,
    );

    tm.type('q');
    await assertRestored(tm);
  },
);
