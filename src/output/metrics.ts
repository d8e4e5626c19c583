// delaytop --metrics: a headless exporter. Every interval it lists the processes, queries
// them all in one batch and folds them into the group ledger (model/groups.ts) with the
// exit feed's records; /metrics publishes the ledger (output/prometheus.ts) until
// SIGINT/SIGTERM. Loaded on demand: prom-client is bundled into this mode's chunk only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CpuCounters } from '../kernel/exitrecord.js';
import { describeErrno } from '../kernel/errors.js';
import type { DelayacctState } from '../model/delayacct.js';
import { GroupLedger, LEDGER_FIELDS, type PollTask } from '../model/groups.js';
import { GroupResolver, type GroupBy } from '../sources/groups.js';
import { readProcComm } from '../sources/system.js';
import type { ExitBatch, ExitSource, StatsSource, Target } from '../sources/types.js';
import { sleep } from './batch.js';
import { Exposition } from './prometheus.js';

export interface ListenAddress {
  host: string;
  /** 0: any free port (the one bound is said on stderr) */
  port: number;
}

export interface MetricsRunOptions {
  listen: ListenAddress;
  intervalSec: number;
  groupBy: GroupBy;
  /** --metrics-top: processes per category published as gauges (0: none) */
  topN: number;
  delayacct: () => DelayacctState;
  warn: (line: string) => void;
  /** resolves on SIGINT/SIGTERM: the exporter closes its server and listeners */
  interrupted: Promise<void>;
  /** once the server listens (tests, benchmarks: the port bound) */
  onListening?: (address: ListenAddress) => void;
  /** ms a group without processes stays published (default: model/groups.ts) */
  groupGraceMs?: number;
  procRoot?: string;
}

const FIELDS_OF = () => LEDGER_FIELDS;

/** How an address is written in a URL. */
export const hostInUrl = (host: string) => (host.includes(':') ? `[${host}]` : host);

function listen(server: Server, { host, port }: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const a = server.address();
      resolve({ host, port: a && typeof a === 'object' ? a.port : port });
    });
  });
}

/** Returns the exit code. */
export async function runMetrics(
  stats: StatsSource,
  exits: ExitSource | null,
  opts: MetricsRunOptions,
): Promise<number> {
  const ledger = new GroupLedger({
    topN: opts.topN,
    exitFeed: exits !== null,
    ...(opts.groupGraceMs !== undefined ? { graceMs: opts.groupGraceMs } : {}),
  });
  const resolver = new GroupResolver(opts.groupBy, opts.procRoot);
  let counters: readonly CpuCounters[] | null = null;
  let feedUp = false;
  let pollErrors = 0;
  let topComms = new Map<number, string>();
  const expo = new Exposition({
    ledger,
    counters: () => counters,
    feedUp: () => feedUp,
    delayacct: opts.delayacct,
    top: () => ledger.top().map((t) => ({ ...t, comm: topComms.get(t.tgid) ?? '?' })),
    topN: opts.topN,
    pollErrors: () => pollErrors,
    startTimeSec: Math.round(Date.now() / 1000 - process.uptime()),
  });
  const knownGroup = (tgid: number) => ledger.groupOf(tgid);
  const onExits = (b: ExitBatch) => {
    counters = b.counters;
    ledger.foldExits(b, opts.delayacct(), (r) => resolver.ofExit(r, knownGroup));
  };

  const server = createServer((req, res) => void answer(expo, req, res));
  server.maxConnections = 64;
  let bound: ListenAddress;
  try {
    bound = await listen(server, opts.listen);
  } catch (e) {
    opts.warn(
      `delaytop: --metrics: cannot listen on ${hostInUrl(opts.listen.host)}:${opts.listen.port}: ${describeErrno(e)}`,
    );
    return 1;
  }
  if (exits) {
    exits.start(onExits);
    feedUp = true;
  }
  opts.warn(
    `delaytop: serving metrics on http://${hostInUrl(bound.host)}:${bound.port}/metrics ` +
      `(groups by ${opts.groupBy}, polling every ${opts.intervalSec}s; SIGINT or SIGTERM stops)`,
  );
  opts.onListening?.(bound);

  let stop = false;
  void opts.interrupted.then(() => (stop = true));
  let lastError = '';
  while (!stop) {
    const t0 = performance.now();
    try {
      await pollOnce();
      lastError = '';
    } catch (e) {
      pollErrors++;
      const msg = (e as Error).message.split('\n')[0]!;
      if (msg !== lastError) opts.warn(`delaytop: poll failed: ${msg}`);
      lastError = msg;
    }
    const tookMs = performance.now() - t0;
    expo.observePoll(tookMs / 1000);
    await sleep(Math.max(0, opts.intervalSec * 1000 - tookMs), opts.interrupted);
  }
  if (exits) {
    feedUp = false;
    // deregistered; what was still queued is not folded: nobody scrapes a stopping exporter,
    // and folding a storm's backlog would only delay the exit
    exits.close();
  }
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  return 0;

  async function pollOnce(): Promise<void> {
    const listedMs = Date.now();
    const tasks = stats.list('process');
    const targets: Target[] = new Array(tasks.length);
    for (let i = 0; i < tasks.length; i++) targets[i] = { kind: 'tgid', id: tasks[i]!.id };
    ledger.beginPoll(
      listedMs,
      targets.map((t) => t.id),
    );
    resolver.newPoll();
    const groups = new Map<number, string>();
    for (const t of targets) {
      if (!ledger.groupDue(t.id)) continue;
      const g = resolver.ofProcess(t.id);
      if (g !== null) groups.set(t.id, g);
    }
    const batch = await stats.query(targets, FIELDS_OF);
    // a scrape that came in meanwhile is answered before the fold
    await new Promise<void>((r) => setImmediate(r));
    // exits up to now are folded first (the ledger keeps the order straight either way)
    exits?.flush?.();
    const polled: PollTask[] = [];
    for (const r of batch.results) {
      if (r.status !== 'ok') continue;
      const g = groups.get(r.target.id);
      polled.push(
        g === undefined ? { tgid: r.target.id, stats: r.stats } : { tgid: r.target.id, stats: r.stats, group: g },
      );
    }
    ledger.foldPoll({
      listedMs,
      wallMs: batch.wallMs ?? Date.now(),
      atNs: batch.atNs,
      tasks: polled,
      delayacct: opts.delayacct(),
    });
    if (opts.topN > 0) {
      const comms = new Map<number, string>();
      for (const t of ledger.top())
        if (!comms.has(t.tgid)) comms.set(t.tgid, readProcComm(t.tgid) ?? topComms.get(t.tgid) ?? '?');
      topComms = comms;
    }
  }
}

/** /metrics (GET, HEAD); anything else is a 404 or 405. */
async function answer(expo: Exposition, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t0 = performance.now();
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('delaytop: the metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('GET or HEAD\n');
    return;
  }
  try {
    const { contentType, body } = await expo.render(req.headers.accept);
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    expo.observeScrape((performance.now() - t0) / 1000);
  } catch (e) {
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`delaytop: ${(e as Error).message}\n`);
  }
}
