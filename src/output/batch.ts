// Batch output (top -b / iotop -b style): a table per refresh, or JSON Lines.
import { computeDelays, type Sample, type TaskDelays } from '../model/delays.js';
import { recordingFor, type DelayacctState } from '../model/recording.js';
import { readProcComm } from '../sources/system.js';
import { targetKey, type StatsSource, type Target } from '../sources/types.js';
import { fmtNs, fmtPercent, clock, pad } from './format.js';
import { exactRaw, jsonLine } from '../kernel/json.js';

export interface BatchOptions {
  /** the tasks to show; empty = every process, listed afresh at each refresh (as top -b) */
  targets: Target[];
  intervalSec: number;
  /** refreshes to print; Infinity = until interrupted */
  iterations: number;
  json: boolean;
  delayacct: () => DelayacctState;
  write: (line: string) => void;
  warn: (line: string) => void;
  /** resolves when the user interrupts (SIGINT/SIGTERM) */
  interrupted: Promise<void>;
}

const SHORT: Record<string, string> = {
  CPU: 'CPU%', IO: 'IO%', SWAP: 'SWAP%', RECLAIM: 'RECL%', THRASHING: 'THRSH%', COMPACT: 'CMPCT%', WPCOPY: 'WPCPY%', IRQ: 'IRQ%',
};

function textHeader(atMs: number, intervalSec: number, lifetime: boolean, sys: DelayacctState, count: number): string[] {
  const cols = ['KIND', '     ID', ' COMMAND        ', ...Object.values(SHORT).map((s) => pad(s, 7)), '  CPUavg', '   IOavg', ' SWAPavg'];
  return [
    `delaytop - ${clock(new Date(atMs))}  ${lifetime ? 'lifetime averages (first sample)' : `interval ${intervalSec.toFixed(2)}s`}` +
      `  delayacct ${sys.on === undefined ? 'n/a' : sys.on ? 'on' : 'off'}  tasks ${count}`,
    cols.join(' '),
  ];
}

export function textRow(t: Target, comm: string, d: TaskDelays): string {
  const cells = d.categories.map((c) => pad(c.na ? 'n/a' : fmtPercent(c.delayPercent), 7));
  const avg = (k: string) => {
    const c = d.categories.find((x) => x.key === k)!;
    return pad(c.na ? 'n/a' : fmtNs(c.avgDelayNs), 8);
  };
  return [pad(t.kind, 4, true), pad(String(t.id), 7), ' ' + pad(comm, 15, true), ...cells, avg('CPU'), avg('IO'), avg('SWAP')].join(' ');
}

export function delaysJson(d: TaskDelays): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of d.categories) {
    out[c.key] = c.na
      ? { na: c.na }
      : {
          delay_percent: c.delayPercent,
          avg_delay_ns: c.avgDelayNs,
          events_per_sec: c.eventsPerSec,
          ...(c.reset ? { reset: true } : {}),
        };
  }
  return out;
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once above this

/** Wait ms (Infinity: until `until`), or less if `until` settles first; leaves no timer behind. */
export async function sleep(ms: number, until: Promise<void>): Promise<void> {
  let done = false;
  void until.then(() => { done = true; });
  const end = Date.now() + ms;
  while (!done) {
    const left = Number.isFinite(ms) ? end - Date.now() : MAX_TIMER_MS;
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => { timer = setTimeout(r, Math.min(left, MAX_TIMER_MS)); }), until]);
    clearTimeout(timer);
  }
}

/** Returns the process exit code. */
export async function runBatch(source: StatsSource, opts: BatchOptions): Promise<number> {
  const everyProcess = opts.targets.length === 0;
  let alive = [...opts.targets];
  let prev = new Map<string, Sample>();
  let comms = new Map<string, string>();
  let stop = false;
  void opts.interrupted.then(() => { stop = true; });
  let exitCode = 0;
  for (let iter = 0; iter < opts.iterations && !stop && (everyProcess || alive.length > 0); iter++) {
    if (iter > 0) {
      await sleep(opts.intervalSec * 1000, opts.interrupted);
      if (stop) break;
    }
    if (everyProcess) alive = source.list('process').map((t) => ({ kind: 'tgid', id: t.id }));
    const batch = await source.query(alive);
    const atMs = batch.wallMs ?? Date.now();
    const sys = opts.delayacct();
    const lines: string[] = [];
    const next: Target[] = [];
    // only the tasks still alive carry over: nothing accumulates for vanished ids
    const nextPrev = new Map<string, Sample>();
    const nextComms = new Map<string, string>();
    let lifetimeAll = true;
    for (const r of batch.results) {
      const key = targetKey(r.target);
      if (r.status === 'gone') {
        if (everyProcess) {
          // a process that ended between listing and query: not news in top-like mode
        } else if (iter === 0) {
          opts.warn(`delaytop: ${r.target.kind} ${r.target.id}: no such process`);
          exitCode = 1;
        } else if (opts.json) {
          lines.push(jsonLine({ type: 'gone', time: new Date(atMs).toISOString(), kind: r.target.kind, id: r.target.id }));
        } else {
          lines.push(`${pad(r.target.kind, 4, true)} ${pad(String(r.target.id), 7)}  exited`);
        }
        continue;
      }
      if (r.status === 'error') {
        opts.warn(`delaytop: ${r.message}`);
        exitCode = 1;
        next.push(r.target);
        continue;
      }
      next.push(r.target);
      const sample: Sample = { stats: r.stats, atNs: batch.atNs };
      const d = computeDelays(prev.get(key), sample, { recording: recordingFor(r.stats, sys) });
      nextPrev.set(key, sample);
      lifetimeAll &&= d.lifetime;
      let comm = typeof r.stats.raw.ac_comm === 'string' && r.stats.raw.ac_comm ? r.stats.raw.ac_comm : comms.get(key);
      if (!comm) comm = readProcComm(r.target.id) ?? '?';
      nextComms.set(key, comm);
      if (opts.json) {
        lines.push(
          jsonLine({
            type: 'sample',
            time: new Date(atMs).toISOString(),
            kind: r.target.kind,
            id: r.target.id,
            comm,
            version: r.stats.version,
            lifetime: d.lifetime,
            interval_ns: d.intervalNs,
            stats: exactRaw(r.stats.raw),
            ...(d.lifetime ? { lifetime_delays: delaysJson(d) } : { rates: delaysJson(d) }),
          }),
        );
      } else {
        lines.push(textRow(r.target, comm, d));
      }
    }
    if (!opts.json && (lines.length > 0)) {
      const hdr = textHeader(atMs, opts.intervalSec, lifetimeAll, sys, next.length);
      opts.write([...hdr, ...lines, ''].join('\n'));
    } else if (lines.length) {
      opts.write(lines.join('\n'));
    }
    alive = next;
    prev = nextPrev;
    comms = nextComms;
  }
  return exitCode;
}
