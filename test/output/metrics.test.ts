// The exporter (output/metrics.ts, output/prometheus.ts) on fake sources: what /metrics
// serves in either format, that promtool accepts it, and that it stops cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runMetrics, type ListenAddress, type MetricsRunOptions } from '../../src/output/metrics.js';
import { GroupLedger } from '../../src/model/groups.js';
import { Exposition, wantsOpenMetrics } from '../../src/output/prometheus.js';
import type { ExitSource, StatsSource } from '../../src/sources/types.js';
import { counters, exitRecord, FakeExitSource, FakeStatsSource, S, type FakeTask } from '../fakes/dashboard-sources.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

function get(
  at: ListenAddress,
  urlPath: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: at.host, port: at.port, path: urlPath, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject).end();
  });
}

const task = (id: number, comm: string): FakeTask => ({ id, tgid: id, comm, btime: 1_700_000_000, delays: {} });

/** The exporter on fake sources, grouping by comm from a fake /proc; stopped when the test ends. */
async function exporter(
  t: TestContext,
  stats: FakeStatsSource,
  exits: ExitSource | null,
  more: Partial<MetricsRunOptions> = {},
) {
  const proc = mkdtempSync(path.join(tmpdir(), 'delaytop-metrics-proc-'));
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  for (const tk of stats.tasks.values()) {
    mkdirSync(path.join(proc, String(tk.id)));
    writeFileSync(path.join(proc, String(tk.id), 'comm'), `${tk.comm}\n`);
  }
  let stop!: () => void;
  const interrupted = new Promise<void>((r) => (stop = r));
  let listening!: (a: ListenAddress) => void;
  const at = new Promise<ListenAddress>((r) => (listening = r));
  const warnings: string[] = [];
  const done = runMetrics(stats as StatsSource, exits, {
    listen: { host: '127.0.0.1', port: 0 },
    intervalSec: 0.05,
    groupBy: 'comm',
    topN: 0,
    delayacct: () => ({ on: true, onSinceSec: 0 }),
    warn: (l) => warnings.push(l),
    interrupted,
    onListening: listening,
    procRoot: proc,
    ...more,
  });
  t.after(() => stop());
  return { at: await at, stop, done, warnings };
}

/** Scrape until `ok` holds of the body (the exporter polls every 50 ms). */
async function scrapeUntil(at: ListenAddress, ok: (body: string) => boolean, headers: Record<string, string> = {}) {
  for (let i = 0; ; i++) {
    const r = await get(at, '/metrics', headers);
    if (ok(r.body) || i > 100) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('/metrics: per-group counters in the Prometheus text format, and OpenMetrics when asked; promtool accepts it', async (t) => {
  const stats = new FakeStatsSource([task(100, 'web'), task(200, 'db')]);
  const exits = new FakeExitSource([0, 1]);
  const x = await exporter(t, stats, exits, { topN: 2 });
  assert.match(x.warnings[0]!, /^delaytop: serving metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(groups by comm/);
  await scrapeUntil(x.at, (b) => /delaytop_tasks\{group="db"\} 1/.test(b));
  stats.wait(200, 'IO', 3, 0.3 * S);
  // a short job of the db group that the poll never saw: its exit record carries its whole life
  exits.emit({
    records: [{ ...exitRecord({ pid: 300, comm: 'db', receivedMs: Date.now(), lifeUs: 10e3 }) }],
    counters: [counters(0, 1), counters(1, 0, 2)],
  });
  const text = await scrapeUntil(x.at, (b) =>
    /delaytop_delay_seconds_total\{group="db",category="IO"\} 0\.304\b/.test(b),
  );
  assert.equal(text.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(text.body, /^# TYPE delaytop_delay_seconds_total counter$/m);
  // 0.3 s polled + 4 ms from the exit record; the waits likewise
  assert.match(text.body, /^delaytop_delay_seconds_total\{group="db",category="IO"\} 0\.304$/m);
  assert.match(text.body, /^delaytop_delay_waits_total\{group="db",category="IO"\} 5$/m);
  assert.match(text.body, /^delaytop_delay_seconds_total\{group="web",category="IO"\} 0$/m);
  assert.match(text.body, /^delaytop_process_exits_total\{group="db"\} 1$/m);
  assert.match(text.body, /^delaytop_exits_total\{cpu="0"\} 1$/m);
  assert.match(text.body, /^delaytop_exits_lost_total\{cpu="1"\} 2$/m);
  assert.match(text.body, /^delaytop_exit_feed_up 1$/m);
  assert.match(text.body, /^delaytop_delayacct_enabled 1$/m);
  assert.match(text.body, /^delaytop_suspect_values_total\{category="IO"\} 0$/m);
  assert.match(text.body, /^delaytop_poll_duration_seconds_count \d+$/m);
  assert.match(text.body, /^process_cpu_seconds_total [0-9.]+$/m);
  if (hasPromtool) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text.body, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  } else t.diagnostic('promtool not installed (Debian: prometheus): exposition not checked by it');

  const om = await get(x.at, '/metrics', {
    accept:
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  });
  assert.equal(om.type, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.match(om.body, /^# TYPE delaytop_delay_seconds counter$/m);
  assert.match(om.body, /^delaytop_delay_seconds_total\{group="db",category="IO"\} 0\.304$/m);
  assert.ok(om.body.endsWith('# EOF\n'));
  // the text format still names its counters with _total after an OpenMetrics scrape
  const again = await get(x.at, '/metrics');
  assert.match(again.body, /^# TYPE delaytop_delay_seconds_total counter$/m);
  assert.match(again.body, /^# TYPE delaytop_exits_total counter$/m);

  assert.equal((await get(x.at, '/')).status, 404);
  assert.equal((await get(x.at, '/metrics', {}, 'POST')).status, 405);
  const head = await get(x.at, '/metrics', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');

  x.stop();
  assert.equal(await x.done, 0);
  await assert.rejects(get(x.at, '/metrics'), /ECONNREFUSED/, 'the server is closed');
  assert.ok(exits.closed, 'the listeners are closed (deregistered)');
});

test('without an exit feed the exporter says so: exit_feed_up 0 and no per-CPU exit counters', async (t) => {
  const stats = new FakeStatsSource([task(100, 'web')]);
  const x = await exporter(t, stats, null);
  const r = await scrapeUntil(x.at, (b) => /delaytop_tasks\{group="web"\} 1/.test(b));
  assert.match(r.body, /^delaytop_exit_feed_up 0$/m);
  assert.doesNotMatch(r.body, /^delaytop_exits_total\{/m);
  x.stop();
  assert.equal(await x.done, 0);
});

test('group names are escaped as for a terminal, and the exposition stays valid', async (t) => {
  const stats = new FakeStatsSource([task(100, 'a"b\\c\nd\x1b')]);
  const x = await exporter(t, stats, null);
  const r = await scrapeUntil(x.at, (b) => /delaytop_tasks\{group=/.test(b));
  assert.match(r.body, /^delaytop_tasks\{group="a\\"b\\\\\\\\c\\\\x0ad\\\\x1b"\} 1$/m);
  if (hasPromtool) {
    const p = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stdout + p.stderr);
  }
  x.stop();
  await x.done;
});

test('an address already in use: one line naming it, exit 1', async (t) => {
  const stats = new FakeStatsSource([]);
  const a = await exporter(t, stats, null);
  const warnings: string[] = [];
  const code = await runMetrics(stats, null, {
    listen: a.at,
    intervalSec: 1,
    groupBy: 'comm',
    topN: 0,
    delayacct: () => ({ on: true, onSinceSec: 0 }),
    warn: (l) => warnings.push(l),
    interrupted: new Promise(() => {}),
  });
  assert.equal(code, 1);
  assert.deepEqual(warnings, [
    `delaytop: --metrics: cannot listen on 127.0.0.1:${a.at.port}: EADDRINUSE (address already in use)`,
  ]);
  a.stop();
  await a.done;
});

test('Accept: OpenMetrics only when the scraper lists it', () => {
  assert.equal(wantsOpenMetrics(undefined), false);
  assert.equal(wantsOpenMetrics('text/plain;version=0.0.4'), false);
  assert.equal(wantsOpenMetrics('application/openmetrics-text; version=1.0.0'), true);
  assert.equal(wantsOpenMetrics('text/plain;q=0.5,application/openmetrics-text;version=0.0.1'), true);
});

test('--metrics-top: the top processes as delay ratios, with pid, comm and group (escaped)', async () => {
  const ledger = new GroupLedger();
  const expo = new Exposition({
    ledger,
    counters: () => null,
    feedUp: () => false,
    delayacct: () => ({ on: true, onSinceSec: 0 }),
    top: () => [{ tgid: 42, comm: 'dd\n', group: '/a', category: 'IO', ratio: 0.25 }],
    topN: 1,
    pollErrors: () => 0,
    startTimeSec: 1_700_000_000,
  });
  const { body } = await expo.render(undefined);
  assert.match(body, /^delaytop_top_delay_ratio\{pid="42",comm="dd\\\\x0a",group="\/a",category="IO"\} 0\.25$/m);
  assert.match(body, /^process_start_time_seconds 1700000000$/m);
  const without = new Exposition({
    ledger,
    counters: () => null,
    feedUp: () => false,
    delayacct: () => ({ on: false, onSinceSec: null }),
    top: () => [],
    topN: 0,
    pollErrors: () => 0,
    startTimeSec: 0,
  });
  const b2 = (await without.render(undefined)).body;
  assert.doesNotMatch(b2, /delaytop_top_delay_ratio/, 'no family without --metrics-top');
  assert.match(b2, /^delaytop_delayacct_enabled 0$/m);
});
