// Pinned tasks: the delay table of each, its recent history, and whether it has exited.
// Pure: every update returns new entries, so a published snapshot never changes under the view.
import { CATEGORIES, type CategoryKey } from '../kernel/layout.js';
import type { ExitRecord } from '../kernel/exitrecord.js';
import { targetKey, type Target } from '../sources/types.js';
import type { ScanResult } from './scan.js';
import type { TaskDelays } from './delays.js';
import { mergeSuspects, type Suspects } from './plausibility.js';

/** samples kept per category for the sparkline */
export const HISTORY_LEN = 30;

export interface ExitInfo {
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
  /** epoch ms the exit record arrived */
  receivedMs: number;
}

export interface WatchEntry {
  key: string;
  target: Target;
  comm: string | null;
  /** the last refresh's figures; null until the first sample */
  delays: TaskDelays | null;
  /**
   * tgid targets: the largest *_delay_max over the process's live threads. The TGID
   * record's own max is only that of the last thread the kernel visited.
   */
  threadMaxNs: Partial<Record<CategoryKey, number>> | null;
  threads: number | null;
  /** delay % per refresh, oldest first; null where n/a or not yet known */
  history: Record<CategoryKey, (number | null)[]>;
  /** set once the task has ended; status null when no exit record told how */
  exited: { status: ExitInfo | null } | null;
}

function emptyHistory(): Record<CategoryKey, (number | null)[]> {
  const h = {} as Record<CategoryKey, (number | null)[]>;
  for (const c of CATEGORIES) h[c.key] = [];
  return h;
}

function pushHistory(h: WatchEntry['history'], d: TaskDelays): WatchEntry['history'] {
  const out = {} as WatchEntry['history'];
  for (const c of CATEGORIES) {
    const cat = d.categories.find((x) => x.key === c.key);
    const v = !cat || cat.na ? null : cat.delayPercent;
    out[c.key] = [...h[c.key].slice(-(HISTORY_LEN - 1)), v];
  }
  return out;
}

/** A new pinned entry; `delays` (from the last refresh) lets the table show at once. */
export function pinEntry(target: Target, comm: string | null = null, delays: TaskDelays | null = null): WatchEntry {
  return {
    key: targetKey(target),
    target,
    comm,
    delays,
    threadMaxNs: null,
    threads: null,
    history: delays ? pushHistory(emptyHistory(), delays) : emptyHistory(),
    exited: null,
  };
}

/** Does this exit record end the pinned task? A tgid ends with its last thread. */
/** What of an exit record tells which target it ended and how: all `exitOf` keeps of one. */
export type ExitEnding = Pick<
  ExitRecord,
  'pid' | 'tgid' | 'processEnded' | 'exitCode' | 'signal' | 'coreDumped' | 'receivedMs'
>;

export function exitMatches(target: Target, r: ExitEnding): boolean {
  return target.kind === 'pid' ? r.pid === target.id : r.tgid === target.id && r.processEnded;
}

export function exitInfoOf(r: ExitEnding): ExitInfo {
  return { exitCode: r.exitCode, signal: r.signal, coreDumped: r.coreDumped, receivedMs: r.receivedMs };
}

/** Targets to add to the refresh batch: live pinned tasks, and the threads of pinned processes. */
export function watchTargets(entries: readonly WatchEntry[], threadsOf: (tgid: number) => number[]): Target[] {
  const out: Target[] = [];
  for (const e of entries) {
    if (e.exited) continue;
    out.push(e.target);
    if (e.target.kind === 'tgid') {
      out.push({ kind: 'pid', id: e.target.id }); // identity (start time) of the process
      for (const tid of threadsOf(e.target.id)) out.push({ kind: 'pid', id: tid });
    }
  }
  return out;
}

/**
 * Fold one refresh into the pinned entries. A pinned task that the query reports gone,
 * or whose id now names another task (start time changed), is marked exited; its
 * status comes from `exitOf` (the exit feed) when it has one.
 */
export function updateWatch(
  entries: readonly WatchEntry[],
  scan: ScanResult,
  threadsOf: (tgid: number) => number[],
  exitOf: (t: Target) => ExitInfo | undefined,
): WatchEntry[] {
  return entries.map((e) => {
    if (e.exited) return e;
    const st = scan.status.get(e.key);
    const d = scan.delays.get(e.key);
    if (st === 'gone' || d?.reused) return { ...e, exited: { status: exitOf(e.target) ?? null } };
    if (st !== 'ok' || !d) return e;
    let threadMaxNs: WatchEntry['threadMaxNs'] = null;
    let threads: number | null = null;
    let delays = d;
    if (e.target.kind === 'tgid') {
      // what is impossible in a thread's record is impossible in the process's sum
      let span: Suspects | null = null;
      let totals: Suspects | null = null;
      const tids = threadsOf(e.target.id);
      threads = tids.length || null;
      threadMaxNs = {};
      for (const tid of tids) {
        const td = scan.delays.get(`pid:${tid}`);
        span = mergeSuspects(span, td?.suspect ?? null);
        totals = mergeSuspects(totals, td?.totalsSuspect ?? null);
        for (const c of td?.categories ?? []) {
          // a thread's impossible max is left out of the largest
          if (c.maxNs !== null && !c.na && !td!.totalsSuspect?.[c.key])
            threadMaxNs[c.key] = Math.max(threadMaxNs[c.key] ?? 0, c.maxNs);
        }
      }
      if (span || totals) {
        delays = {
          ...d,
          suspect: mergeSuspects(d.suspect, span),
          totalsSuspect: mergeSuspects(d.totalsSuspect, totals),
        };
      }
    }
    const comm = scan.comms.get(e.target.id) ?? e.comm;
    return { ...e, comm, delays, threadMaxNs, threads, history: pushHistory(e.history, delays) };
  });
}

/** Mark pinned tasks that these exit records end. Returns `entries` itself when none match. */
export function markExits(entries: readonly WatchEntry[], records: readonly ExitRecord[]): readonly WatchEntry[] {
  let changed = false;
  const out = entries.map((e) => {
    if (e.exited?.status) return e;
    // newest match wins (records arrive oldest first)
    let hit: ExitRecord | undefined;
    for (const r of records) if (exitMatches(e.target, r)) hit = r;
    if (!hit) return e;
    changed = true;
    return { ...e, comm: e.comm ?? hit.comm, exited: { status: exitInfoOf(hit) } };
  });
  return changed ? out : entries;
}
