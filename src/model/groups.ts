// Per-group delay counters that include the tasks that exited: what the exporter (--metrics)
// publishes and what a group view of the dashboard can show (groupRows). Pure: the caller
// lists and queries the processes, reads their groups and hands over exit batches; this
// keeps the sums.
//
// What a group's counter holds, per category (delay ns and waits):
// - A process is followed by its tgid from the poll (TGID records: its live threads plus
//   the ones that already exited, kept by the kernel in signal->stats). Each poll adds the
//   growth since the level already counted for it (a running maximum: a TGID sample can
//   count an exiting thread twice, live and in signal->stats, and the next one drops it).
// - When the exit feed reports the process's end (the TGID exit record, or the PID record
//   of a process that only ever had one thread), the growth from that level to the final
//   totals is added and the process is forgotten: nothing is counted twice, whatever the
//   order of the poll and the exit batch (see `ended`).
// - A process that the poll never saw (it lived between two polls) adds its final totals
//   when it ends, to the group the caller names for it (its comm, its user, or for
//   cgroups its parent's group: a child starts in its parent's cgroup).
// - Baseline: every process that started before the first poll's listing counts from its
//   totals at its first reading (nothing, if it ended before being read); every process
//   that started after it counts its whole life.
// - A figure model/plausibility calls impossible is not added (its level still moves on,
//   so it is never added later either) and is counted in `suspects` instead.
// Counters only grow; a group leaves once it has had no process for `graceMs`.
import { CATEGORIES, type CategoryKey } from '../kernel/layout.js';
import { num, type Taskstats } from '../kernel/decode.js';
import type { ExitRecord } from '../kernel/exitrecord.js';
import type { ExitBatch } from '../sources/types.js';
import type { DelayacctState } from './delayacct.js';
import { exitSuspects, judge, mergeSuspects, type Suspects } from './plausibility.js';
import { EXIT_FIELDS } from './exit-feed/entries.js';

export const CATEGORY_COUNT = CATEGORIES.length;

/** The group of processes that had more groups than maxGroups allows. */
export const OTHER_GROUP = '(other)';
/** The group of a process whose group could not be read. */
export const UNKNOWN_GROUP = '(unknown)';

export const DEFAULT_GROUP_GRACE_MS = 5 * 60_000;
export const DEFAULT_MAX_GROUPS = 5000;
/** A process missing from the poll is kept for its exit record until the next poll, and this long at least. */
const VANISH_GRACE_MS = 5000;
/** How long an exit waits for its parent's record to learn its group. */
const PENDING_MS = 2000;
/** Polls after its first sighting in which a process's group is read every time (exec follows fork closely). */
const YOUNG_POLLS = 3;
/**
 * Every other process has its group read again one poll in this many (cgroup moves, exec,
 * setuid): reading /proc/PID/cgroup was the exporter's largest cost (docs/performance.md).
 */
export const GROUP_RECHECK_POLLS = 30;

/** What a query must decode of each TGID record for the ledger. */
export const LEDGER_FIELDS: readonly string[] = [
  'version',
  'ac_etime',
  'cpu_run_virtual_total',
  ...CATEGORIES.flatMap((c) => [c.count, c.total]),
];

export interface GroupCounters {
  key: string;
  /** per category, in CATEGORIES order: delay counted, ns, and waits counted */
  readonly delayNs: Float64Array;
  readonly waits: Float64Array;
  /** live processes at the last poll */
  tasks: number;
  /** processes of this group whose end the exit feed reported */
  processExits: number;
  /** epoch ms it last had a process or took an exit */
  lastActiveMs: number;
}

interface Tracked {
  tgid: number;
  group: GroupCounters;
  /** the levels counted up to: totals then counts, per category */
  base: Float64Array;
  last: Taskstats;
  lastWallMs: number;
  lastAtNs: number;
  firstPoll: number;
  /** epoch ms the poll first missed it; null while listed */
  vanishedMs: number | null;
  /** lives of its threads that exited since the last poll, ns */
  exitedLivesNs: number;
}

/** A process the poll never saw, whose group is its parent's, which ended too: counted once the parent's record is in. */
interface PendingExit {
  r: ExitRecord;
  /** its PID record, and the process's final totals */
  stats: Taskstats;
  final: Taskstats;
  delayacct: DelayacctState | null;
  /** it started after the first listing (else it only passes its group on) */
  counts: boolean;
}

/** A process the exit feed reported ended, while a poll may still show it. */
interface Ended {
  receivedMs: number;
  /** its final run time: a zombie's TGID query answers this (or 0) */
  runNs: number;
}

export interface PollTask {
  tgid: number;
  stats: Taskstats;
  /** its group, read this poll; needed where groupDue said so */
  group?: string;
}

export interface LedgerPoll {
  /** epoch ms the processes were listed (before the query) */
  listedMs: number;
  /** epoch ms and monotonic ns of the query */
  wallMs: number;
  atNs: number;
  /** the processes that answered */
  tasks: readonly PollTask[];
  delayacct: DelayacctState;
}

export interface TopTask {
  tgid: number;
  group: string;
  category: CategoryKey;
  /** delay counted over the last poll interval / the interval */
  ratio: number;
}

export interface LedgerOptions {
  /** ms a group with no process stays (its last values still published) */
  graceMs?: number;
  maxGroups?: number;
  /** processes per category in top() (0: none) */
  topN?: number;
  /** an exit feed hands over exits (without one, exited threads' lives are unknown) */
  exitFeed?: boolean;
}

const run = (ts: Taskstats) => num(ts, 'cpu_run_virtual_total') ?? 0;

const ZERO: Taskstats = {
  version: 0,
  layoutVersion: 0,
  length: 0,
  raw: Object.fromEntries(CATEGORIES.flatMap((c) => [[c.total, 0] as const, [c.count, 0] as const])),
};

export class GroupLedger {
  private readonly groupsByKey = new Map<string, GroupCounters>();
  private readonly tracked = new Map<number, Tracked>();
  private readonly ended = new Map<number, Ended>();
  /** exits waiting for their parent's group, by parent */
  private readonly pending = new Map<number, PendingExit[]>();
  /** figures kept out of the counters, per category */
  readonly suspects = new Float64Array(CATEGORY_COUNT);
  /** groups dropped after their grace period */
  droppedGroups = 0;
  private polls = 0;
  private firstListedMs: number | null = null;
  /** the listing of the poll whose answer is not folded yet */
  private inFlight: ReadonlySet<number> | null = null;
  private prevAtNs: number | null = null;
  private prevWallMs: number | null = null;
  private lost = 0;
  private lostAtPoll = 0;
  private topTasks: TopTask[] = [];
  private readonly graceMs: number;
  private readonly maxGroups: number;
  private readonly topN: number;
  private readonly exitFeed: boolean;

  constructor(opts: LedgerOptions = {}) {
    this.graceMs = opts.graceMs ?? DEFAULT_GROUP_GRACE_MS;
    this.maxGroups = opts.maxGroups ?? DEFAULT_MAX_GROUPS;
    this.topN = opts.topN ?? 0;
    this.exitFeed = opts.exitFeed ?? false;
  }

  /** The processes of the poll about to be queried, listed at listedMs. */
  beginPoll(listedMs: number, tgids: Iterable<number>): void {
    this.polls++;
    this.firstListedMs ??= listedMs;
    this.inFlight = new Set(tgids);
  }

  /** Whether this poll should read process tgid's group (a new one, a young one, or its turn). */
  groupDue(tgid: number): boolean {
    const t = this.tracked.get(tgid);
    if (!t) return true;
    if (this.polls - t.firstPoll < YOUNG_POLLS) return true;
    return (tgid + this.polls) % GROUP_RECHECK_POLLS === 0;
  }

  /** The group of a process the poll follows. */
  groupOf(tgid: number): string | undefined {
    return this.tracked.get(tgid)?.group.key;
  }

  groups(): IterableIterator<GroupCounters> {
    return this.groupsByKey.values();
  }

  /** Per category, the processes whose counted delay grew most over the last poll interval. */
  top(): readonly TopTask[] {
    return this.topTasks;
  }

  /** How much the ledger holds: for memory bounds. */
  size(): { groups: number; tracked: number; ended: number; pending: number } {
    let pending = 0;
    for (const kids of this.pending.values()) pending += kids.length;
    return { groups: this.groupsByKey.size, tracked: this.tracked.size, ended: this.ended.size, pending };
  }

  private group(key: string, nowMs: number): GroupCounters {
    let g = this.groupsByKey.get(key);
    if (!g) {
      if (this.groupsByKey.size >= this.maxGroups && key !== OTHER_GROUP) return this.group(OTHER_GROUP, nowMs);
      g = {
        key,
        delayNs: new Float64Array(CATEGORY_COUNT),
        waits: new Float64Array(CATEGORY_COUNT),
        tasks: 0,
        processExits: 0,
        lastActiveMs: nowMs,
      };
      this.groupsByKey.set(key, g);
    }
    return g;
  }

  /**
   * Add what grew from `base` to `cur` to group g, except the suspect categories; move
   * base on. Returns the delay added per category (for top()), or null.
   */
  private add(g: GroupCounters, base: Float64Array, cur: Taskstats, suspect: Suspects | null, into?: Float64Array) {
    for (let i = 0; i < CATEGORY_COUNT; i++) {
      const cat = CATEGORIES[i]!;
      const total = num(cur, cat.total) ?? 0;
      const count = num(cur, cat.count) ?? 0;
      const dTotal = total - base[i]!;
      const dCount = count - base[CATEGORY_COUNT + i]!;
      if (suspect?.[cat.key]) {
        if (dTotal > 0) this.suspects[i]!++;
      } else {
        if (dTotal > 0) {
          g.delayNs[i]! += dTotal;
          if (into) into[i] = dTotal;
        }
        if (dCount > 0) g.waits[i]! += dCount;
      }
      if (dTotal > 0) base[i] = total;
      if (dCount > 0) base[CATEGORY_COUNT + i] = count;
    }
  }

  private levelsOf(ts: Taskstats | null): Float64Array {
    const b = new Float64Array(2 * CATEGORY_COUNT);
    if (ts) {
      for (let i = 0; i < CATEGORY_COUNT; i++) {
        b[i] = num(ts, CATEGORIES[i]!.total) ?? 0;
        b[CATEGORY_COUNT + i] = num(ts, CATEGORIES[i]!.count) ?? 0;
      }
    }
    return b;
  }

  /** Fold one poll: every process that answered, with its group where it was read. */
  foldPoll(p: LedgerPoll): void {
    const first = this.prevAtNs === null;
    const listed = this.inFlight ?? new Set(p.tasks.map((t) => t.tgid));
    const lossless = this.exitFeed && this.lost === this.lostAtPoll;
    const intervalNs = this.prevAtNs === null ? 0 : p.atNs - this.prevAtNs;
    const top = this.topN > 0 && intervalNs > 0 ? CATEGORIES.map((): TopTask[] => []) : null;
    const grew = top ? new Float64Array(CATEGORY_COUNT) : undefined;
    for (const task of p.tasks) {
      const { tgid, stats } = task;
      const e = this.ended.get(tgid);
      if (e) {
        // Its end is counted already: this answer is from before it, or its zombie's.
        if (e.receivedMs >= p.listedMs || run(stats) === 0 || run(stats) === e.runNs) continue;
        this.ended.delete(tgid); // the id names a new process now
      }
      let t = this.tracked.get(tgid);
      // A process's run time never goes back: a new process has the id (its predecessor's end was lost).
      if (t && run(stats) < run(t.last)) {
        this.tracked.delete(tgid);
        t = undefined;
      }
      if (!t) {
        const g = this.group(task.group ?? UNKNOWN_GROUP, p.wallMs);
        t = {
          tgid,
          group: g,
          base: this.levelsOf(first ? stats : null),
          last: stats,
          lastWallMs: p.wallMs,
          lastAtNs: p.atNs,
          firstPoll: this.polls,
          vanishedMs: null,
          exitedLivesNs: 0,
        };
        this.tracked.set(tgid, t);
        if (!first) {
          // started after the previous listing: its whole life counts
          const ctx = { kind: 'tgid' as const, delayacct: p.delayacct, fromMs: this.prevWallMs!, toMs: p.wallMs };
          this.add(g, t.base, stats, judge(ZERO, stats, ctx).span);
        }
        continue;
      }
      // A process that changed group (moved, exec'd, setuid) leaves what it accrued where it was.
      if (task.group !== undefined && task.group !== t.group.key) t.group = this.group(task.group, p.wallMs);
      const ctx = {
        kind: 'tgid' as const,
        delayacct: p.delayacct,
        fromMs: t.lastWallMs,
        toMs: p.wallMs,
        exitedLivesNs: lossless ? t.exitedLivesNs : null,
      };
      const seenLastPoll = t.lastAtNs === this.prevAtNs && t.vanishedMs === null;
      if (grew) grew.fill(0);
      this.add(t.group, t.base, stats, judge(t.last, stats, ctx).span, grew);
      if (top && grew && seenLastPoll) {
        for (let i = 0; i < CATEGORY_COUNT; i++)
          if (grew[i]! > 0)
            top[i]!.push({ tgid, group: t.group.key, category: CATEGORIES[i]!.key, ratio: grew[i]! / intervalNs });
      }
      t.last = stats;
      t.lastWallMs = p.wallMs;
      t.lastAtNs = p.atNs;
      t.exitedLivesNs = 0;
      t.vanishedMs = null;
    }
    for (const g of this.groupsByKey.values()) g.tasks = 0;
    for (const [tgid, t] of this.tracked) {
      if (t.lastAtNs !== p.atNs) {
        // not listed, or gone when asked: kept a while for its exit record
        t.vanishedMs ??= p.wallMs;
        if (p.wallMs - t.vanishedMs > VANISH_GRACE_MS) this.tracked.delete(tgid);
        continue;
      }
      t.group.tasks++;
      t.group.lastActiveMs = p.wallMs;
    }
    for (const [tgid, e] of this.ended) if (e.receivedMs < p.listedMs && !listed.has(tgid)) this.ended.delete(tgid);
    // a parent whose record never came (lost, or it has not ended: reparented children)
    for (const [ppid, kids] of this.pending) {
      if (p.wallMs - kids[0]!.r.receivedMs < PENDING_MS) continue;
      this.pending.delete(ppid);
      for (const k of kids) this.countExits(k, UNKNOWN_GROUP);
    }
    for (const [key, g] of this.groupsByKey) {
      if (g.tasks === 0 && p.wallMs - g.lastActiveMs > this.graceMs && !this.hasVanished(g)) {
        this.groupsByKey.delete(key);
        this.droppedGroups++;
      }
    }
    if (top) this.topTasks = top.flatMap((list) => list.sort((a, b) => b.ratio - a.ratio).slice(0, this.topN));
    else if (this.topN > 0) this.topTasks = [];
    this.inFlight = null;
    this.prevAtNs = p.atNs;
    this.prevWallMs = p.wallMs;
    this.lostAtPoll = this.lost;
  }

  private hasVanished(g: GroupCounters): boolean {
    for (const t of this.tracked.values()) if (t.group === g) return true;
    return false;
  }

  /**
   * Fold an exit batch. `groupOf` names the group of a process the poll never saw (by its
   * exit record: comm, uid, or its parent's cgroup).
   */
  foldExits(
    batch: Pick<ExitBatch, 'records' | 'counters'>,
    delayacct: DelayacctState | null,
    groupOf: (r: ExitRecord) => string | null,
  ): void {
    let lost = 0;
    // (and summarized ones: the dashboard's feed, in a storm past its queue, counts some without their records)
    for (const c of batch.counters) lost += c.lost + c.summarized;
    // exits lost before these records: what the poll knows of exited lives is incomplete
    this.lost = Math.max(this.lost, lost);
    for (const r of batch.records) {
      const t = this.tracked.get(r.tgid);
      if (!r.processEnded) {
        if (t) t.exitedLivesNs += r.lifeUs * 1000;
        continue;
      }
      const { stats, tgidStats } = r.partialStats?.(EXIT_FIELDS) ?? r;
      // the process's final totals: the TGID record, or the PID record of a process that only ever had one thread
      const final = tgidStats ?? stats;
      if (t && run(final) >= run(t.last)) {
        this.retire(t, r, stats, tgidStats, delayacct);
      } else {
        // never polled: its whole life counts if it started after the first listing
        const counts = this.firstListedMs !== null && r.receivedMs - r.lifeUs / 1000 >= this.firstListedMs;
        const exit: PendingExit = { r, stats, final, delayacct, counts };
        const key = groupOf(r);
        if (key !== null) this.countExits(exit, key);
        else {
          // its parent has ended too: it joins its parent's group once the parent's record is in
          let kids = this.pending.get(r.ppid);
          if (!kids) this.pending.set(r.ppid, (kids = []));
          kids.push(exit);
        }
      }
      if (t || tgidStats || this.inFlight?.has(r.tgid))
        this.ended.set(r.tgid, { receivedMs: r.receivedMs, runNs: run(final) });
    }
  }

  /** A process the poll never saw ended in group `key`, and so did the children that waited for its group. */
  private countExits(exit: PendingExit, key: string): void {
    const todo: PendingExit[] = [exit];
    for (let e = todo.pop(); e; e = todo.pop()) {
      const { r, stats, final, delayacct, counts } = e;
      if (counts) {
        const g = this.group(key, r.receivedMs);
        this.add(g, this.levelsOf(null), final, exitSuspects(stats, r.receivedMs, delayacct));
        g.processExits++;
        g.lastActiveMs = r.receivedMs;
      }
      const kids = this.pending.get(r.tgid);
      if (kids) {
        this.pending.delete(r.tgid);
        todo.push(...kids);
      }
    }
  }

  /** A followed process ended: the growth from its last counted level to its final totals. */
  private retire(
    t: Tracked,
    r: ExitRecord,
    stats: Taskstats,
    tgidStats: Taskstats | undefined,
    delayacct: DelayacctState | null,
  ): void {
    const lossless = this.exitFeed && this.lost === this.lostAtPoll;
    const base = { fromMs: t.lastWallMs, toMs: r.receivedMs, ...(delayacct ? { delayacct } : {}) };
    // One thread all along: its PID record is the process, and the thread rules apply.
    const final = tgidStats ?? stats;
    const j = tgidStats
      ? judge(t.last, final, {
          ...base,
          kind: 'tgid',
          exitedLivesNs: lossless ? t.exitedLivesNs + r.lifeUs * 1000 : null,
          inheritedSpan: exitSuspects(stats, r.receivedMs, delayacct),
        })
      : judge(t.last, final, { ...base, kind: 'pid' });
    this.add(t.group, t.base, final, mergeSuspects(j.span, j.totals));
    t.group.processExits++;
    t.group.lastActiveMs = r.receivedMs;
    this.tracked.delete(t.tgid);
    const kids = this.pending.get(t.tgid);
    if (kids) {
      this.pending.delete(t.tgid);
      for (const k of kids) this.countExits(k, t.group.key);
    }
  }

  /** The counters as they are now, copied (for groupRows). */
  snapshot(atNs: number): GroupSnapshot {
    const groups = new Map<string, GroupTotals>();
    for (const g of this.groupsByKey.values())
      groups.set(g.key, {
        delayNs: Array.from(g.delayNs),
        waits: Array.from(g.waits),
        tasks: g.tasks,
        processExits: g.processExits,
      });
    return { atNs, groups };
  }
}

export interface GroupTotals {
  delayNs: number[];
  waits: number[];
  tasks: number;
  processExits: number;
}

export interface GroupSnapshot {
  /** monotonic ns of the snapshot */
  atNs: number;
  groups: ReadonlyMap<string, GroupTotals>;
}

/** One group over an interval: the row a group view shows. */
export interface GroupRow {
  group: string;
  tasks: number;
  /** processes of the group that ended in the interval */
  exited: number;
  /** per category (CATEGORIES order): delay as % of the interval, summed over the group (can pass 100) */
  percent: number[];
  /** per category: average delay per wait over the interval, ns; null without waits */
  avgDelayNs: (number | null)[];
}

/**
 * The group view's rows: each group's delays over the interval between two snapshots,
 * exited processes included. A group new since `prev` counts from zero.
 */
export function groupRows(prev: GroupSnapshot | null, cur: GroupSnapshot): GroupRow[] {
  const intervalNs = prev ? cur.atNs - prev.atNs : 0;
  const rows: GroupRow[] = [];
  for (const [key, g] of cur.groups) {
    const p = prev?.groups.get(key);
    const percent: number[] = [];
    const avgDelayNs: (number | null)[] = [];
    for (let i = 0; i < CATEGORY_COUNT; i++) {
      const d = g.delayNs[i]! - (p?.delayNs[i] ?? 0);
      const w = g.waits[i]! - (p?.waits[i] ?? 0);
      percent.push(intervalNs > 0 ? (d / intervalNs) * 100 : 0);
      avgDelayNs.push(w > 0 ? d / w : null);
    }
    rows.push({ group: key, tasks: g.tasks, exited: g.processExits - (p?.processExits ?? 0), percent, avgDelayNs });
  }
  return rows;
}
