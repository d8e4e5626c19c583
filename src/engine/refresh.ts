// The dashboard's engine, outside React: every interval it lists tasks, queries them all
// in one batch, folds the result into the model and publishes one immutable snapshot.
// Exit batches are folded in between refreshes and published at a capped rate.
import { markStartup } from '../startup.js';
import {
  ioniceTo,
  reniceTo,
  type ActionVerb,
  type Inspected,
  type Inspection,
  type IoChoice,
  type TaskActions,
} from '../actions/task-actions.js';
import type { SignalName } from '../actions/syscalls.js';
import type { DelayacctState } from '../model/delayacct.js';
import {
  identityDue,
  scanFields,
  scanTargets,
  type ExitsSince,
  type ScanResult,
  emptyTables,
  type ScanTables,
  type TaskRow,
} from '../model/scan.js';
import { FeedStore, type FeedSnapshot } from '../model/exit-feed/store.js';
import { markExits, pinEntry, updateWatch, watchTargets, type WatchEntry } from '../model/watch.js';
import type { ListMode, TaskId } from '../sources/proctasks.js';
import { targetKey, type ExitBatch, type QueryBatch, type Target } from '../sources/types.js';
import type { DashboardOptions } from './options.js';
import { RowDetails, viewportRows, type RowDetail, type ViewportRow } from './details.js';
import { viewportOf, type TableViewport } from '../model/table-view.js';
import { GroupView } from './group-view.js';
import { computeScanInSlices } from './scan-in-slices.js';
import type { GroupRow } from '../model/groups.js';
import { planThreads, threadListing, type ThreadListing } from '../model/thread-gate.js';
import { mergeIds } from '../sources/process-census.js';
import { num } from '../kernel/decode.js';

export interface HeaderInfo {
  kernelRelease: string;
  taskstatsVersion: number | null;
  delayacct: DelayacctState;
  /** delaytop changed kernel.task_delayacct during this run */
  delayacctChanged: boolean;
  privileged: boolean;
  sourceName: string;
  banners: string[];
  /** the PSI line as of the last refresh; null when not shown (a replay) */
  pressure: string | null;
  exitsOffReason: string | null;
}

export interface DashboardSnapshot {
  /** increases with every publish */
  seq: number;
  /** epoch ms of the last refresh (0 before the first) */
  atMs: number;
  intervalSec: number;
  mode: ListMode;
  /** unsorted; the view sorts and filters */
  rows: TaskRow[];
  /** the rows are first samples: lifetime averages, not the last interval */
  lifetime: boolean;
  pinned: WatchEntry[];
  feed: FeedSnapshot | null;
  header: HeaderInfo;
  message: string | null;
  /** how long the last refresh took from start to publish (list + query + model, and what ran between its slices), ms */
  refreshMs: number | null;
  /** figures flagged as impossible (model/plausibility): on rows since start, and exits in the feed */
  flagged: number;
  /** state and command line of the rows on screen (setViewport), by key */
  details: ReadonlyMap<string, RowDetail>;
  /** user names by uid (empty in a replay: its users are another machine's) */
  users: ReadonlyMap<number, string>;
  /** why renice, ionice and signals are not available (a replay); null when they are */
  actionsOff: string | null;
  /** the task an action is being confirmed for, as read when it was asked */
  inspected: Inspected | null;
  /** the group view's rows (g); null while it is off */
  groups: readonly GroupRow[] | null;
}

/** what the TGID query of every process decodes: a row's fields */
const GATE_FIELDS = scanFields([]);
/** what the census asks of an id handed out since the last refresh: its process */
const TGID_FIELD: readonly string[] = ['version', 'ac_tgid'];
/** The listed processes whose TGID query did not find them gone, in listing order. */
function aliveOf(tasks: readonly TaskId[], batch: QueryBatch): number[] {
  const gone = new Set<number>();
  for (const r of batch.results) if (r.status === 'gone' && r.target.kind === 'tgid') gone.add(r.target.id);
  const out: number[] = [];
  for (const t of tasks) if (!gone.has(t.id)) out.push(t.id);
  return out;
}
const tasksOf = (ids: readonly number[]): TaskId[] => ids.map((id) => ({ id, tgid: id }));

const NO_DETAILS: ReadonlyMap<string, RowDetail> = new Map();
const NO_USERS: ReadonlyMap<number, string> = new Map();

export const ACTIONS_OFF_IN_REPLAY = "not available in a replay (the recording's tasks are not this machine's)";

export const INTERVAL_STEPS_SEC = [0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 30, 60];

/** The next step up or down from `sec` (which need not be a step itself). */
export function stepInterval(sec: number, dir: 1 | -1): number {
  if (dir > 0) return INTERVAL_STEPS_SEC.find((s) => s > sec + 1e-9) ?? sec;
  return [...INTERVAL_STEPS_SEC].reverse().find((s) => s < sec - 1e-9) ?? sec;
}

const MESSAGE_MS = 6000;
/** a refresh due at most this long after a feed-only publish would be carries the feed instead */
const REFRESH_CARRIES_FEED_MS = 250;

export interface ControllerOptions {
  /** epoch ms; injectable for tests */
  now?: () => number;
  /** minimum ms between snapshots published for exit batches alone */
  feedPublishMs?: number;
}

export class DashboardController {
  private mode: ListMode;
  private intervalSec: number;
  private lastScan: ScanResult | null = null;
  /** the tables of a scan that nothing reads any more: the next scan fills them (PrevScan.spare) */
  private spareTables: ScanTables | undefined;
  /** what decides the rows on screen, as the view last said (setViewport) */
  private viewport: TableViewport | null = null;
  /** processes the exit feed saw end since the last refresh asked for identities */
  private exited = new Set<number>();
  /**
   * Processes whose end (last thread) the exit feed reported, whose children's parent is
   * about to change: kept until a stored scan after the one that first found them gone,
   * whether it was seen gone (pruneEnded). A child's identity is asked while its parent is here.
   */
  private parentsEnded = new Map<number, 'live' | 'gone'>();
  /** exits the feed had not seen one by one (FeedStore.unseen) as of the last refresh that asked for identities */
  private exitsLostAtScan = 0;
  /** tasks (any thread) the exit feed saw end since the census last began: a new id among them is not asked */
  private endedIds = new Set<number>();
  /** per process: the lives (ns) of its threads that exited since the last stored scan */
  private exitedLives = new Map<number, number>();
  /** exits the feed had not seen one by one (FeedStore.unseen) when exitedLives was last taken */
  private livesLostAt = 0;
  /** figures the plausibility rules flagged on rows since start */
  private flagged = 0;
  private refreshes = 0;
  private rows: TaskRow[] = [];
  private pinned: readonly WatchEntry[];
  private feed: FeedStore | null;
  private snap: DashboardSnapshot;
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private feedTimer: NodeJS.Timeout | undefined;
  private lastPublishMs = 0;
  /** epoch ms of the next scheduled refresh; null while none is */
  private nextRefreshMs: number | null = null;
  private running = false;
  /** stop() was called: a refresh still in flight (between slices, or querying) ends without storing or publishing */
  private stopped = false;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private message: { text: string; untilMs: number } | null = null;
  private readonly delayacctAtStart: boolean | undefined;
  private setDelayacctHere = false;
  private delayacct: DelayacctState;
  private refreshMs: number | null = null;
  private pressure: string | null;
  private atMs = 0;
  private now: () => number;
  private feedPublishMs: number;
  private details: RowDetails | null;
  private groups: GroupView | null = null;
  private users: ReadonlyMap<number, string>;
  private inspected: Inspected | null = null;

  constructor(
    private opts: DashboardOptions,
    copts: ControllerOptions = {},
  ) {
    this.now = copts.now ?? Date.now;
    this.feedPublishMs = copts.feedPublishMs ?? 1000;
    this.intervalSec = opts.intervalSec;
    this.mode = opts.mode ?? 'process';
    this.pinned = opts.pinned.map((t) => pinEntry(t));
    this.feed = opts.exits ? new FeedStore(opts.exits.cpus) : null;
    this.delayacct = opts.delayacct();
    this.delayacctAtStart = this.delayacct.on;
    this.pressure = opts.pressure?.() ?? null;
    this.details = opts.taskInfo ? new RowDetails(opts.taskInfo) : null;
    this.users = opts.users?.() ?? NO_USERS;
    this.snap = this.build(0);
  }

  // --- the store React reads (useSyncExternalStore) ---

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): DashboardSnapshot => this.snap;

  private build(seq: number): DashboardSnapshot {
    const msg = this.message && this.now() < this.message.untilMs ? this.message.text : null;
    return {
      seq,
      atMs: this.atMs,
      intervalSec: this.intervalSec,
      mode: this.mode,
      rows: this.rows,
      lifetime: this.rows.length > 0 && this.rows.every((r) => r.lifetime),
      pinned: this.pinned as WatchEntry[],
      feed: this.feed?.snapshot() ?? null,
      header: {
        kernelRelease: this.opts.kernelRelease,
        taskstatsVersion: this.lastScan?.taskstatsVersion ?? null,
        delayacct: this.delayacct,
        delayacctChanged: this.delayacctChanged(),
        privileged: this.opts.privileged,
        sourceName: this.opts.stats.name,
        banners: this.opts.banners,
        pressure: this.pressure,
        exitsOffReason: this.opts.exitsOffReason,
      },
      message: msg,
      refreshMs: this.refreshMs,
      flagged: this.flagged + (this.feed?.flagged() ?? 0),
      details: this.details?.details ?? NO_DETAILS,
      groups: this.groups?.rows ?? null,
      users: this.users,
      actionsOff: this.opts.actions ? null : ACTIONS_OFF_IN_REPLAY,
      inspected: this.inspected,
    };
  }

  /**
   * The rows the view shows now: their state and command line are read (now, and at each
   * refresh). `viewport`: what decides them, so that a refresh reads the rows it will
   * show before publishing (without it, rows new to the screen wait for a frame of their own).
   */
  setViewport = (rows: readonly ViewportRow[], viewport?: TableViewport): void => {
    this.viewport = viewport ?? null;
    if (this.details?.setViewport(rows)) this.publish();
  };

  private publish(): void {
    if (this.feedTimer) clearTimeout(this.feedTimer);
    this.feedTimer = undefined;
    this.lastPublishMs = this.now();
    this.snap = this.build(this.snap.seq + 1);
    for (const fn of this.listeners) fn();
  }

  private say(text: string, untilMs = this.now() + MESSAGE_MS): void {
    this.message = { text, untilMs };
  }

  // --- the loop ---

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.opts.exits?.start((b) => this.onExits(b));
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.feedTimer);
    this.timer = this.feedTimer = undefined;
    this.nextRefreshMs = null;
  }

  /** the stats source has nothing more to give (a replay at its end): refreshes stop */
  private sourceEnded = false;

  private async loop(): Promise<void> {
    if (!this.running) return;
    const startedMs = this.now();
    await this.refresh();
    if (!this.running || this.sourceEnded) {
      this.nextRefreshMs = null;
      return;
    }
    this.scheduleRefresh(startedMs + this.intervalSec * 1000);
  }

  private scheduleRefresh(atMs: number): void {
    clearTimeout(this.timer);
    this.nextRefreshMs = Math.max(atMs, this.now());
    this.timer = setTimeout(() => void this.loop(), this.nextRefreshMs - this.now());
  }

  /** A scan nothing reads any more: its tables, emptied, for the next scan to fill. */
  private retire(scan: ScanResult): void {
    emptyTables(scan.tables);
    this.spareTables = scan.tables;
  }

  /** Refresh now (also what the loop calls); overlapping calls coalesce into one more. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce();
        } while (this.again);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  private async refreshOnce(): Promise<void> {
    const t0 = performance.now();
    const taken = this.takeExits();
    let stored = false;
    let lives: Map<number, number> | null = null;
    const livesLostBefore = this.livesLostAt;
    try {
      const mode = this.mode;
      this.delayacct = this.opts.delayacct();
      // (four small /proc/pressure reads; the kernel updates avg10 every 2 s)
      if (this.opts.pressure) this.pressure = this.opts.pressure();
      const listedMs = this.now();
      // (with the group view on, a process listing takes no turns of the event loop: no exit
      // batch is folded between listedMs and groups.begin; see processes())
      const { tasks, threads } = await this.listFor(mode);
      if (this.stopped || mode !== this.mode) return; // toggled while listing: the next refresh is asked for
      const groups = mode === 'process' ? this.groups : null;
      groups?.begin(
        listedMs,
        tasks.map((t) => t.id),
      );
      const threadsOf = this.threadIndex(mode, tasks);
      const extra = watchTargets(this.pinned, threadsOf);
      const batch = await this.opts.stats.query(
        scanTargets(mode, threads?.asked ?? tasks, extra, this.identityDue(mode, taken)),
        scanFields(extra),
      );
      if (this.stopped || mode !== this.mode) return; // toggled while querying: the next refresh is asked for
      if (mode === 'process') this.opts.census?.end(aliveOf(tasks, batch));
      if (groups === this.groups) groups?.fold(listedMs, batch, this.delayacct);
      lives = this.takeExitedLives();
      const checks = { wallMs: batch.wallMs ?? this.now(), exitedLivesNs: lives };
      const spare = this.spareTables;
      this.spareTables = undefined;
      const scan = await computeScanInSlices(
        mode,
        tasks,
        batch,
        { ...(this.lastScan ?? { samples: new Map() }), spare },
        this.delayacct,
        extra,
        checks,
        threads,
      );
      if (this.stopped || mode !== this.mode) {
        this.retire(scan);
        return; // toggled while scanning
      }
      // (the last scan is read by nothing once this one is stored)
      if (this.lastScan) this.retire(this.lastScan);
      this.lastScan = scan;
      stored = true;
      this.pruneEnded(scan);
      this.flagged += scan.flagged;
      this.rows = scan.rows;
      const feed = this.feed;
      this.pinned = updateWatch(this.pinned, scan, threadsOf, (t) => feed?.exitOf(t));
      if (scan.errors.length) this.say(scan.errors[0]!);
    } catch (e) {
      this.refreshFailed(e);
    } finally {
      if (!stored) this.giveBack(taken, lives, livesLostBefore);
    }
    this.atMs = this.now();
    if (stored && this.details && this.viewport)
      this.details.expect(viewportRows(viewportOf(this.rows, this.mode, this.viewport), this.mode));
    this.details?.read(this.atMs);
    if (this.opts.users) this.users = this.opts.users();
    this.feed?.sample(this.atMs);
    this.refreshMs = performance.now() - t0;
    this.publish();
    markStartup('first refresh');
  }

  /**
   * What a refresh lists. Thread mode on live netlink: every process's TGID record first,
   * then the threads of only those where something moved (model/thread-gate.ts).
   */
  private async listFor(mode: ListMode): Promise<{ tasks: TaskId[]; threads?: ThreadListing }> {
    const stats = this.opts.stats;
    if (mode === 'process') return { tasks: await this.processes() };
    if (!this.opts.carryStillThreads) return { tasks: await (stats.listYielding?.(mode) ?? stats.list(mode)) };
    const procs = await this.processes();
    const gate = await stats.query(
      procs.map((p): Target => ({ kind: 'tgid', id: p.id })),
      GATE_FIELDS,
    );
    const plan = planThreads(gate, gate.wallMs ?? this.now(), this.lastScan?.gate);
    this.opts.census?.end(plan.order);
    const moved = new Set(plan.moved.keys());
    const listed = moved.size === 0 ? [] : await (stats.listYielding?.('thread', moved) ?? stats.list('thread', moved));
    const threads = threadListing(plan, listed);
    return { tasks: threads.tasks, threads };
  }

  /**
   * Every process: from the census where there is one (src/sources/process-census.ts: the
   * last refresh's, and the ids handed out since that are processes), else the directory.
   */
  private async processes(): Promise<TaskId[]> {
    const { census, stats } = this.opts;
    // Ids handed out since the last refresh whose task the feed saw end are gone: not asked
    // (on a quiet machine most are short-lived commands, and asking them costs a batch).
    // Queued exits are handed over first.
    if (census && !this.groups) this.opts.exits?.flush?.();
    const ended = this.endedIds;
    this.endedIds = new Set();
    // The group view counts an exit that comes between the listing and groups.begin twice
    // (model/groups.ts: inFlight): its listing is the directory's, read at once (no turn of
    // the event loop), while the census and listYielding may wait for the thread pool.
    if (this.groups) return stats.list('process');
    if (!census) return stats.listYielding?.('process') ?? stats.list('process');
    const c = await census.begin(ended);
    if ('listed' in c) return tasksOf(c.listed);
    if (c.newIds.length === 0) return tasksOf(c.known);
    // a new id is a process when its main thread is itself (a thread's id names its own record)
    const asked = await stats.query(
      c.newIds.map((id): Target => ({ kind: 'pid', id })),
      () => TGID_FIELD,
    );
    const added: number[] = [];
    for (const r of asked.results) {
      if (r.status === 'gone') continue;
      const tgid = r.status === 'ok' ? num(r.stats, 'ac_tgid') : undefined;
      // not known (a query error, a struct older than v12): the directory says
      if (tgid === undefined) return tasksOf(await census.relist());
      if (tgid === r.target.id) added.push(tgid);
    }
    return tasksOf(mergeIds(c.known, added));
  }

  /** A refresh that stored nothing: the status says why (a replay that ended says so until quit). */
  private refreshFailed(e: unknown): void {
    const code = (e as { code?: string }).code;
    if (code === 'EREPLAYEND' || code === 'EBADRECORDING') {
      // A replay has no more samples (or stopped at a bad line): the last figures stay,
      // the exit feed plays on, and the status says so until quit.
      this.sourceEnded = true;
      this.say(
        code === 'EREPLAYEND'
          ? 'replay finished: no more samples in the recording (q quits)'
          : `replay stopped: ${(e as Error).message.split('\n')[0]}`,
        Infinity,
      );
    } else {
      this.say(`refresh failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** What a refresh that stored nothing took from the exit feed, handed back for the next one. */
  private giveBack(
    taken: { exits: ExitsSince; lostAtScan: number } | null,
    lives: Map<number, number> | null,
    livesLostBefore: number,
  ): void {
    // identities kept from before still need these exits checked
    if (taken) this.giveBackExits(taken);
    if (lives) {
      for (const [tgid, ns] of lives) this.exitedLives.set(tgid, (this.exitedLives.get(tgid) ?? 0) + ns);
    }
    // a loss in the span of a refresh that stored nothing still counts for the next one
    this.livesLostAt = livesLostBefore;
  }

  /**
   * What the exit feed vouches for since the last stored scan, taken for this refresh
   * (null: identities are not kept). Exits reported from here on count for the next one.
   */
  private takeExits(): { exits: ExitsSince; lostAtScan: number } | null {
    if (!this.opts.keepIdentities || !this.feed) return null;
    const lost = this.feed.unseen();
    const taken = {
      exits: { exited: this.exited, lost: lost !== this.exitsLostAtScan },
      lostAtScan: this.exitsLostAtScan,
    };
    this.exited = new Set();
    this.exitsLostAtScan = lost;
    return taken;
  }

  /**
   * The lives of threads that exited since the last scan, per process, once the feed has
   * handed over what it holds (the query's batch is taken by now); null where the feed
   * cannot vouch: none, one that cannot hand over on demand, or one that lost exits.
   */
  private takeExitedLives(): Map<number, number> | null {
    const exits = this.opts.exits;
    exits?.flush?.();
    const lives = this.exitedLives;
    this.exitedLives = new Map();
    if (!this.feed || !exits?.flush) return null;
    const lost = this.feed.unseen();
    const clean = lost === this.livesLostAt;
    this.livesLostAt = lost;
    return clean ? lives : null;
  }

  /** A refresh that stored no scan gives its exits back: the next one must still see them. */
  private giveBackExits(taken: { exits: ExitsSince; lostAtScan: number }): void {
    for (const id of taken.exits.exited) this.exited.add(id);
    this.exitsLostAtScan = taken.lostAtScan;
  }

  /** Which processes this refresh asks for their identity (undefined: all of them). */
  private identityDue(mode: ListMode, taken: { exits: ExitsSince } | null): ((id: number) => boolean) | undefined {
    const refresh = this.refreshes++;
    const last = this.lastScan;
    if (mode !== 'process' || !taken || !last) return undefined;
    // ages as of the last batch, on the source's clock; rows' records as of the last batch
    const rows = last.rowSamples?.kind === 'tgid' ? last.rowSamples.byId : undefined;
    const ended = this.parentsEnded;
    return (id) =>
      identityDue(id, last.identities.get(id), taken.exits, refresh, last.atNs, rows?.get(id)?.stats, ended);
  }

  /**
   * A process whose end the feed reported leaves parentsEnded one stored scan after the
   * first that did not find it: its children were asked in a batch sent after it was gone,
   * so after they were reparented (which comes before that).
   */
  private pruneEnded(scan: ScanResult): void {
    for (const [tgid, was] of this.parentsEnded) {
      if (was === 'gone') this.parentsEnded.delete(tgid);
      else if (!scan.rowSamples?.byId.has(tgid)) this.parentsEnded.set(tgid, 'gone');
    }
  }

  /** Thread ids of the pinned processes: from the listing in thread mode, else read for them alone. */
  private threadIndex(mode: ListMode, tasks: TaskId[]): (tgid: number) => number[] {
    const wanted = new Set(this.pinned.filter((e) => !e.exited && e.target.kind === 'tgid').map((e) => e.target.id));
    if (wanted.size === 0) return () => [];
    // (a source may list more than asked for: a replay lists its whole batch)
    const threads = mode === 'thread' ? tasks : this.opts.stats.list('thread', wanted);
    const by = new Map<number, number[]>();
    for (const t of threads) if (wanted.has(t.tgid)) (by.get(t.tgid) ?? by.set(t.tgid, []).get(t.tgid)!).push(t.id);
    return (tgid) => by.get(tgid) ?? [];
  }

  private onExits(batch: ExitBatch): void {
    this.groups?.foldExits(batch, this.opts.delayacct());
    if (!this.feed) return;
    this.feed.fold(batch, this.opts.delayacct());
    if (this.opts.keepIdentities)
      for (const r of batch.records) {
        this.exited.add(r.tgid);
        if (r.processEnded) this.parentsEnded.set(r.tgid, 'live');
      }
    const lives = this.exitedLives;
    const ended = this.opts.census ? this.endedIds : null;
    for (const r of batch.records) {
      lives.set(r.tgid, (lives.get(r.tgid) ?? 0) + r.lifeUs * 1000);
      // (a thread's id, or a process whose last thread ended: a main thread that ended
      // alone leaves its process alive)
      if (ended && (r.processEnded || r.pid !== r.tgid)) ended.add(r.pid);
    }
    this.pinned = markExits(this.pinned, batch.records);
    if (!this.running || this.feedTimer || batch.records.length === 0) return;
    const dueMs = this.lastPublishMs + this.feedPublishMs;
    // A refresh about to publish (or publishing) carries the feed: no frame of its own
    // just before that one (a frame costs the same whatever changed).
    if (this.inFlight || (this.nextRefreshMs !== null && this.nextRefreshMs <= dueMs + REFRESH_CARRIES_FEED_MS)) return;
    this.feedTimer = setTimeout(() => this.publish(), Math.max(0, dueMs - this.now()));
  }

  // --- commands from the view ---

  /** Pin or unpin (by key). Pinning shows the last refresh's figures at once. */
  togglePin(target: Target, comm: string | null = null): void {
    const key = targetKey(target);
    if (this.pinned.some((e) => e.key === key)) {
      this.unpin(key);
      return;
    }
    // The last scan has whole delay tables only for what was pinned (or a pinned
    // process's thread): a refresh right away fills in the rest.
    const delays = this.lastScan?.delays.get(key) ?? null;
    this.pinned = [...this.pinned, pinEntry(target, comm ?? this.lastScan?.comms.get(target.id) ?? null, delays)];
    this.say(`pinned ${target.kind} ${target.id}${target.kind === 'tgid' ? ' (all threads summed)' : ''}`);
    this.publish();
    if (this.running) void this.refresh();
  }

  unpin(key: string): void {
    const before = this.pinned.length;
    this.pinned = this.pinned.filter((e) => e.key !== key);
    if (this.pinned.length !== before) this.say(`unpinned ${key.replace(':', ' ')}`);
    this.publish();
  }

  /** g: processes, then threads, then groups (per-cgroup rows with exited processes' delays), then processes. */
  cycleView(): void {
    if (this.groups) {
      this.groups = null;
      this.say('showing every process (threads summed)');
    } else if (this.mode === 'process') {
      this.mode = 'thread';
      this.rows = [];
      this.say('showing every thread');
    } else if (!this.opts.taskInfo) {
      // a replay's processes are not this machine's: their cgroups cannot be read here
      this.mode = 'process';
      this.rows = [];
      this.say('showing every process (groups: not in a replay, whose processes are not here)');
    } else {
      this.groups = new GroupView(this.opts.exits !== null);
      this.mode = 'process';
      this.rows = [];
      this.say('showing cgroups: their processes summed, exited ones included (from the next refresh)');
    }
    this.publish();
    void this.refresh();
  }

  toggleMode(): void {
    if (this.groups) this.groups = null; // threads have no group view
    this.mode = this.mode === 'process' ? 'thread' : 'process';
    this.rows = [];
    this.say(this.mode === 'thread' ? 'showing every thread' : 'showing every process (threads summed)');
    this.publish();
    void this.refresh();
  }

  changeInterval(dir: 1 | -1): void {
    const next = stepInterval(this.intervalSec, dir);
    if (next === this.intervalSec) {
      this.say(`refresh interval stays ${next}s (${dir > 0 ? 'longest' : 'shortest'} step)`);
    } else {
      this.intervalSec = next;
      this.say(`refresh every ${next}s`);
      if (this.running && !this.inFlight && !this.sourceEnded) this.scheduleRefresh(this.atMs + next * 1000);
    }
    this.publish();
  }

  toggleDelayacct(): void {
    const cur = this.opts.delayacct().on;
    if (cur === undefined) {
      this.say('this kernel has no kernel.task_delayacct switch');
    } else {
      const err = this.opts.setDelayacct(!cur);
      if (err) {
        this.say(err);
      } else {
        this.setDelayacctHere = true;
        this.say(
          !cur
            ? 'delay accounting on: new tasks get every category, older ones keep n/a'
            : 'delay accounting off: only CPU delay is recorded now',
        );
      }
    }
    this.delayacct = this.opts.delayacct();
    this.publish();
  }

  // --- actions on a task: read it for the confirmation, then act on what was read ---

  /** A message in the status line (a command the view refused, e.g.). */
  notice(text: string): void {
    this.say(text);
    this.publish();
  }

  /** Read a task for the confirmation of an action on it (the snapshot carries what was read). */
  inspect(target: Target, comm: string): void {
    if (!this.opts.actions) return;
    this.inspected = this.opts.actions.inspect(target, comm);
    this.publish();
  }

  /** Nice by `delta` from the value the confirmation showed. */
  renice(target: Target, delta: number): void {
    this.act('renice', target, (a, task) => a.renice(task, reniceTo(task, delta)).text);
  }

  ionice(target: Target, choice: IoChoice): void {
    this.act('ionice', target, (a, task) => a.ionice(task, ioniceTo(task, choice)).text);
  }

  sendSignal(target: Target, signal: SignalName): void {
    this.act('signal', target, (a, task) => a.signal(task, signal).text);
  }

  /** Act on the task as inspected for the confirmation: never on one read afresh, unseen. */
  private act(verb: ActionVerb, target: Target, fn: (a: TaskActions, task: Inspection) => string): void {
    const inspected = this.inspected;
    this.inspected = null;
    if (!this.opts.actions) this.say(`${verb}: ${ACTIONS_OFF_IN_REPLAY}`);
    else if (!inspected || targetKey(inspected.target) !== targetKey(target))
      this.say(`${verb}: nothing done (the task was not read for the confirmation)`);
    else if (!inspected.ok) this.say(`${verb}: ${inspected.message}`);
    else this.say(fn(this.opts.actions, inspected.task));
    this.publish();
  }

  /** delaytop set it, and it differs from how it was at start (someone else may change it too) */
  private delayacctChanged(): boolean {
    return this.setDelayacctHere && this.delayacct.on !== this.delayacctAtStart;
  }
}
