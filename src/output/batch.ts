// Batch output (top -b / iotop -b style): a table per refresh, or JSON Lines.
import { num, type Taskstats } from '../kernel/decode.js';
import { computeDelays, type Sample, type TaskDelays } from '../model/delays.js';
import { CATEGORIES } from '../kernel/layout.js';
import {
  checkContext,
  checkedFields,
  inheritFromMainThread,
  type CheckContext,
  type Suspects,
} from '../model/plausibility.js';
import { recordingFor, type DelayacctState } from '../model/delayacct.js';
import { readProcComm } from '../sources/system.js';
import { targetKey, type QueryBatch, type QueryResult, type StatsSource, type Target } from '../sources/types.js';
import { DELAY_HEADING, figureMark, fmtNs, fmtPercent, clock, pad, padNum } from './format.js';
import { padText } from './text.js';
import { jsonLine } from '../kernel/json.js';

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

function textHeader(
  atMs: number,
  intervalSec: number,
  lifetime: boolean,
  sys: DelayacctState,
  count: number,
): string[] {
  const cols = [
    'KIND',
    '     ID',
    ' COMMAND        ',
    ...CATEGORIES.map((c) => pad(DELAY_HEADING[c.key]!, 7)),
    '  CPUavg',
    '   IOavg',
    ' SWAPavg',
  ];
  return [
    `delaytop - ${clock(new Date(atMs))}  ${lifetime ? 'lifetime averages (first sample)' : `interval ${intervalSec.toFixed(2)}s`}` +
      `  delayacct ${sys.on === undefined ? 'n/a' : sys.on ? 'on' : 'off'}  tasks ${count}`,
    cols.join(' '),
  ];
}

export function textRow(t: Target, comm: string, d: TaskDelays): string {
  const cells = d.categories.map((c) =>
    c.na ? pad('n/a', 7) : pad(fmtPercent(c.delayPercent, 6), 6) + figureMark(!!d.suspect?.[c.key], d.lifetime),
  );
  const avg = (k: string) => {
    const c = d.categories.find((x) => x.key === k)!;
    return c.na ? pad('n/a', 8) : pad(fmtNs(c.avgDelayNs, 7), 7) + figureMark(!!d.suspect?.[c.key], d.lifetime);
  };
  return [
    pad(t.kind, 4, true),
    padNum(String(t.id), 7),
    ' ' + padText(comm, 15),
    ...cells,
    avg('CPU'),
    avg('IO'),
    avg('SWAP'),
  ].join(' ');
}

/** The footnotes of a text table: one line per flagged category of a task. */
export function suspectNotes(t: Target, d: TaskDelays): string[] {
  const out: string[] = [];
  for (const [k, why] of Object.entries(d.suspect ?? {})) out.push(`  ! ${t.kind} ${t.id} ${k}: ${why}`);
  for (const [k, why] of Object.entries(d.totalsSuspect ?? {})) {
    if (!d.suspect?.[k as keyof Suspects])
      out.push(`  ! ${t.kind} ${t.id} ${k} totals since start (not this interval's figures): ${why}`);
  }
  return out;
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

/**
 * The plausibility fields of a JSON line: `suspect` for the figures the line derives
 * (rates, or lifetime averages), `suspect_totals` where the raw totals in `stats` are
 * impossible while this interval's figures are not.
 */
export function suspectJson(d: Pick<TaskDelays, 'suspect' | 'totalsSuspect'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (d.suspect) out.suspect = d.suspect;
  if (d.totalsSuspect && d.totalsSuspect !== d.suspect) out.suspect_totals = d.totalsSuspect;
  return out;
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once above this

/** Wait ms (Infinity: until `until`), or less if `until` settles first; leaves no timer behind. */
export async function sleep(ms: number, until: Promise<void>): Promise<void> {
  let done = false;
  void until.then(() => {
    done = true;
  });
  const end = Date.now() + ms;
  while (!done) {
    const left = Number.isFinite(ms) ? end - Date.now() : MAX_TIMER_MS;
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => {
        timer = setTimeout(r, Math.min(left, MAX_TIMER_MS));
      }),
      until,
    ]);
    clearTimeout(timer);
  }
}

/** What is read of a process's main thread: its start, comm, and what the rules check. */
const LEADER_FIELDS: readonly string[] = [
  ...new Set([
    'version',
    'ac_pid',
    'ac_etime',
    'ac_comm',
    'ac_btime',
    'ac_btime64',
    ...CATEGORIES.map((c) => c.count),
    ...checkedFields(CATEGORIES),
  ]),
];

/** The main thread of each process target (pid:N), unless asked for already. */
function leadersOf(targets: readonly Target[]): Target[] {
  const asked = new Set(targets.map(targetKey));
  const out: Target[] = [];
  for (const t of targets) if (t.kind === 'tgid' && !asked.has(`pid:${t.id}`)) out.push({ kind: 'pid', id: t.id });
  return out;
}

/** A recording's targets without the main threads batch output asked beside their processes. */
export function withoutLeaders(targets: readonly Target[]): Target[] {
  const tgids = new Set(targets.filter((t) => t.kind === 'tgid').map((t) => t.id));
  return targets.filter((t) => t.kind === 'tgid' || !tgids.has(t.id));
}

/** What the plausibility rules know of one sample (see model/plausibility). */
function checkOf(
  kind: Target['kind'],
  stats: Taskstats,
  lead: Taskstats | undefined,
  leadBefore: Taskstats | undefined,
  before: Sample | undefined,
  sys: DelayacctState,
  atMs: number,
  wallAgeNs: number | undefined,
): CheckContext {
  const ageNs = kind === 'pid' ? (num(stats, 'ac_etime') ?? 0) * 1000 : wallAgeNs;
  const ctx = checkContext(kind, sys, ageNs, before?.wallMs, atMs);
  return lead ? inheritFromMainThread(ctx, lead, leadBefore) : ctx;
}

/** What one refresh hands the next: the tasks still alive, and only theirs (nothing accumulates for vanished ids). */
interface Carried {
  alive: Target[];
  prev: Map<string, Sample>;
  comms: Map<string, string>;
  leaderPrev: Map<number, Taskstats>;
}

/** Returns the process exit code. */
export async function runBatch(source: StatsSource, opts: BatchOptions): Promise<number> {
  const everyProcess = opts.targets.length === 0;
  let carried: Carried = { alive: [...opts.targets], prev: new Map(), comms: new Map(), leaderPrev: new Map() };
  let stop = false;
  void opts.interrupted.then(() => {
    stop = true;
  });
  let exitCode = 0;
  for (let iter = 0; iter < opts.iterations && !stop && (everyProcess || carried.alive.length > 0); iter++) {
    if (iter > 0) {
      await sleep(opts.intervalSec * 1000, opts.interrupted);
      if (stop) break;
    }
    if (everyProcess) carried.alive = source.list('process').map((t) => ({ kind: 'tgid', id: t.id }));
    // Each process's main thread too: its start gives the process's wall age, and what is
    // impossible in it is impossible in the process's sum.
    const leaders = leadersOf(carried.alive);
    const leaderKeys = new Set(leaders.map(targetKey));
    const batch = await source.query([...carried.alive, ...leaders], (t) =>
      leaderKeys.has(targetKey(t)) ? LEADER_FIELDS : undefined,
    );
    const refresh = new Refresh(batch, carried, opts, { first: iter === 0, everyProcess });
    for (const r of batch.results.slice(0, carried.alive.length)) refresh.add(r);
    if (refresh.failed) exitCode = 1;
    refresh.write();
    carried = refresh.next;
  }
  return exitCode;
}

/** One refresh of batch output: a line per task (text or JSON), the notes under a text table. */
class Refresh {
  readonly next: Carried = { alive: [], prev: new Map(), comms: new Map(), leaderPrev: new Map() };
  /** a task asked for is missing or its query failed */
  failed = false;
  private lines: string[] = [];
  private notes: string[] = [];
  private lifetimeAll = true;
  private leaderStats = new Map<number, Taskstats>();
  private atMs: number;
  private sys: DelayacctState;

  constructor(
    private batch: QueryBatch,
    private carried: Carried,
    private opts: BatchOptions,
    private when: { first: boolean; everyProcess: boolean },
  ) {
    for (const r of batch.results)
      if (r.status === 'ok' && r.target.kind === 'pid') this.leaderStats.set(r.target.id, r.stats);
    this.atMs = batch.wallMs ?? Date.now();
    this.sys = opts.delayacct();
  }

  add(r: QueryResult): void {
    if (r.status === 'gone') return this.gone(r.target);
    if (r.status === 'error') {
      this.opts.warn(`delaytop: ${r.message}`);
      this.failed = true;
      this.next.alive.push(r.target);
      return;
    }
    this.next.alive.push(r.target);
    const key = targetKey(r.target);
    const sample: Sample = { stats: r.stats, atNs: this.batch.atNs, wallMs: this.atMs };
    const before = this.carried.prev.get(key);
    const lead = r.target.kind === 'tgid' ? this.leaderStats.get(r.target.id) : undefined;
    const wallAgeNs = lead ? (num(lead, 'ac_etime') ?? 0) * 1000 : undefined;
    const leadBefore = this.carried.leaderPrev.get(r.target.id);
    const check = checkOf(r.target.kind, r.stats, lead, leadBefore, before, this.sys, this.atMs, wallAgeNs);
    const d = computeDelays(before, sample, {
      recording: recordingFor(lead ?? r.stats, this.sys),
      check,
      ...(wallAgeNs !== undefined ? { wallAgeNs } : {}),
    });
    this.next.prev.set(key, sample);
    if (lead) this.next.leaderPrev.set(r.target.id, lead);
    this.lifetimeAll &&= d.lifetime;
    const raw = r.stats.raw.ac_comm;
    let comm = typeof raw === 'string' && raw ? raw : this.carried.comms.get(key);
    if (!comm) comm = readProcComm(r.target.id) ?? '?';
    this.next.comms.set(key, comm);
    if (this.opts.json) this.lines.push(sampleJson(r.target, r.stats, comm, d, this.atMs));
    else {
      this.lines.push(textRow(r.target, comm, d));
      this.notes.push(...suspectNotes(r.target, d));
    }
  }

  write(): void {
    const { lines, notes } = this;
    if (!this.opts.json && lines.length > 0) {
      const hdr = textHeader(this.atMs, this.opts.intervalSec, this.lifetimeAll, this.sys, this.next.alive.length);
      if (notes.length)
        notes.unshift(
          `${notes.length} figure${notes.length === 1 ? '' : 's'} marked ! cannot have happened (the kernel's numbers, shown as sent):`,
        );
      this.opts.write([...hdr, ...lines, ...notes, ''].join('\n'));
    } else if (lines.length) {
      this.opts.write(lines.join('\n'));
    }
  }

  /** A task that is gone: said once it had been seen; on the first refresh, an error. */
  private gone(t: Target): void {
    if (this.when.everyProcess) {
      // a process that ended between listing and query: not news in top-like mode
    } else if (this.when.first) {
      this.opts.warn(`delaytop: ${t.kind} ${t.id}: no such process`);
      this.failed = true;
    } else if (this.opts.json) {
      this.lines.push(jsonLine({ type: 'gone', time: new Date(this.atMs).toISOString(), kind: t.kind, id: t.id }));
    } else {
      this.lines.push(`${pad(t.kind, 4, true)} ${pad(String(t.id), 7)}  exited`);
    }
  }
}

function sampleJson(t: Target, stats: Taskstats, comm: string, d: TaskDelays, atMs: number): string {
  return jsonLine({
    type: 'sample',
    time: new Date(atMs).toISOString(),
    kind: t.kind,
    id: t.id,
    comm,
    version: stats.version,
    lifetime: d.lifetime,
    interval_ns: d.intervalNs,
    stats: stats.raw, // (jsonLine writes a bigint as its decimal string)
    ...(d.lifetime ? { lifetime_delays: delaysJson(d) } : { rates: delaysJson(d) }),
    ...suspectJson(d),
  });
}
