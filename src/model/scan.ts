// The process table's model: which targets one refresh queries, the rows that come out
// of one batch, and how rows are sorted and filtered. Pure: no I/O, no React.
import { num, type Taskstats } from '../kernel/decode.js';
import type { ListMode, TaskId } from '../sources/proctasks.js';
import { CATEGORIES } from '../kernel/layout.js';
import {
  targetKey,
  type FieldsFor,
  type QueryBatch,
  type QueryResult,
  type Target,
  type TargetKind,
} from '../sources/types.js';
import {
  computeDelays,
  cpuUsePercentOf,
  delayPercentOf,
  spanOf,
  stillPercentOf,
  type Recording,
  type Sample,
  type Span,
  type TaskDelays,
} from './delays.js';
import {
  checkContext,
  checkedFields,
  inheritFromMainThread,
  judge,
  suspectCount,
  type CheckContext,
  type Suspects,
} from './plausibility.js';
import { recordingFor, type DelayacctState } from './delayacct.js';
import type { GateEntry, ThreadGate, ThreadListing, ThreadPlan } from './thread-gate.js';
import { IdTable, type IdLookup } from './id-table.js';

/** The delay columns of the process table: every category (the view shows those that fit or were chosen). */
export const TABLE_CATEGORIES = ['CPU', 'IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ'] as const;
export type TableCategory = (typeof TABLE_CATEGORIES)[number];
const TABLE_CATS = TABLE_CATEGORIES.map((k) => CATEGORIES.find((c) => c.key === k)!);

/** What rows sort by: the pid, the user (by uid), CPU use, a delay category, the name. */
export const SORT_COLUMNS = ['PID', 'USER', 'USE', ...TABLE_CATEGORIES, 'COMMAND'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];
/** Sort columns that are delay percentages (n/a and flagged figures sink in them). */
const isCategory = (c: SortColumn): c is TableCategory => (TABLE_CATEGORIES as readonly string[]).includes(c);

export interface TaskRow {
  /** targetKey of what pinning this row watches: tgid:N (processes) or pid:N (threads) */
  key: string;
  target: Target;
  /** process id (process mode) or thread id (thread mode) */
  id: number;
  tgid: number;
  comm: string;
  /** the task's owner (a process's: its main thread's), null where unknown */
  uid: number | null;
  /** the parent process (a process's: its main thread's), null where unknown */
  ppid: number | null;
  /** CPU use (user + system) as % of one CPU over the interval; null where unknown (/proc rows) */
  cpuUse: number | null;
  /** delay % of the interval (of the task's life on its first sample); null where n/a */
  percent: Record<TableCategory, number | null>;
  /** first sample of this task: figures are lifetime averages */
  lifetime: boolean;
  /** shown categories whose figure cannot have happened, with why (model/plausibility) */
  suspect: Suspects | null;
}

/**
 * A process's identity: its main thread's record (pid:N gives comm and ac_etime, from
 * which its start), the batch it came from, and its comm as shown. A TGID record has neither.
 */
export interface Identity {
  stats: Taskstats;
  atNs: number;
  comm: string;
  /** when it started, on the batches' monotonic clock (ns; undefined without ac_etime) */
  bornNs: number | undefined;
  /** its parent as the record names it (undefined without ac_ppid) */
  ppid: number | undefined;
  /**
   * The process's TGID record as of the refresh before this identity was asked, when that
   * refresh saw the same process: while its row keeps that record (nothing ran since),
   * nothing the identity holds but its parent can have changed (see identityDue).
   */
  quietFrom: Taskstats | undefined;
}

/**
 * What the exit feed vouches for since the identities were last asked: the processes
 * that exited (their ids may name new processes now), and whether it missed any exit.
 */
export interface ExitsSince {
  exited: ReadonlySet<number>;
  lost: boolean;
}

/** A process this young is asked every refresh: exec (a new comm) usually follows fork closely. */
const YOUNG_NS = 10e9;
/** Every other process is asked again one refresh in this many (comm changed by exec or prctl). */
export const IDENTITY_RECHECK_REFRESHES = 8;
/** ... and one where nothing ran since its identity was asked, one in this many (see identityDue). */
export const QUIET_RECHECK_REFRESHES = 64;

/**
 * Whether process `id` needs its main thread asked this refresh. Without an exit feed to
 * vouch (`exits` null), always: only an exit frees an id for reuse, so a known identity
 * is kept while the feed, having lost nothing, saw no exit of that process.
 *
 * What else an identity holds changes only when a thread of the process runs (exec, a
 * rename by prctl or /proc/PID/comm, which refuses other processes' writes, setuid), and
 * any thread that runs moves the TGID record (its run time, cpu_run_virtual_total). So a
 * process whose row still has the record from before its identity was asked (`row` ===
 * quietFrom: a still row keeps its record) is asked only one refresh in
 * QUIET_RECHECK_REFRESHES. But its parent: reparenting follows the parent's end, which
 * the exit feed reports (`parentsEnded`) just before it; a child of such a process is
 * asked every refresh until the parent is gone (the slow round covers an end the feed lost).
 */
export function identityDue(
  id: number,
  known: Pick<Identity, 'bornNs' | 'ppid' | 'quietFrom'> | undefined,
  exits: ExitsSince | null,
  refresh: number,
  nowNs: number,
  row?: Taskstats,
  parentsEnded?: ReadonlyMap<number, unknown>,
): boolean {
  if (!known || !exits || exits.lost || exits.exited.has(id)) return true;
  // (its start kept on the identity: a refresh asks this of every process, and reading
  // the record's age would chase identity -> record -> field through memory for each)
  if (known.bornNs === undefined || nowNs - known.bornNs < YOUNG_NS) return true;
  if (known.ppid !== undefined && parentsEnded?.has(known.ppid)) return true;
  const quiet = row !== undefined && row === known.quietFrom;
  return (id + refresh) % (quiet ? QUIET_RECHECK_REFRESHES : IDENTITY_RECHECK_REFRESHES) === 0;
}

/**
 * Every target one refresh queries, in one batch. Process mode asks for the whole
 * process (tgid:N, the threads' sum, which is what the row shows) and, where
 * `identityDue` says so (default: always), its main thread (pid:N: comm and start, the
 * task's identity). `extra` (pinned tasks and their threads) is merged in without duplicates.
 */
export function scanTargets(
  mode: ListMode,
  tasks: readonly TaskId[],
  extra: readonly Target[] = [],
  identityDue?: (id: number) => boolean,
): Target[] {
  const out: Target[] = [];
  const pinnedPids = new Set<number>();
  const pinnedTgids = new Set<number>();
  for (const t of extra) (t.kind === 'pid' ? pinnedPids : pinnedTgids).add(t.id);
  for (const t of tasks) {
    if ((mode === 'thread' || !identityDue || identityDue(t.id)) && !pinnedPids.has(t.id))
      out.push({ kind: 'pid', id: t.id });
    if (mode === 'process' && !pinnedTgids.has(t.id)) out.push({ kind: 'tgid', id: t.id });
  }
  const seen = new Set<string>();
  for (const t of extra) {
    const k = targetKey(t);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(t);
    }
  }
  return out;
}

// What a scan reads of a record that is not pinned. A row's own record (tgid:N; pid:N in
// thread mode): lifetime, run time and the table's columns. A pid:N record is also an
// identity: comm, start, and every category's count (the evidence recordingFor weighs).
const ROW_FIELDS: readonly string[] = [
  'version',
  'ac_etime',
  'ac_utime',
  'ac_stime',
  'cpu_run_virtual_total',
  ...TABLE_CATS.flatMap((c) => [c.count, c.total]),
];
const PID_FIELDS: readonly string[] = [
  ...new Set([
    ...ROW_FIELDS,
    'ac_comm',
    'ac_uid',
    'ac_ppid',
    'ac_btime',
    'ac_btime64',
    ...CATEGORIES.map((c) => c.count),
    ...checkedFields(TABLE_CATS),
  ]),
];

/** The fields of a row's record that move when its task runs or waits (all but its age). */
const MOVING_FIELDS = ROW_FIELDS.filter((f) => f !== 'version' && f !== 'ac_etime');

/**
 * A record that shows no run time and no wait since the one before it: one expression of
 * named reads, built from the field list (names from the layout table, never from input).
 * (A loop reading each field by a key costs a generic lookup a field: docs/performance.md.)
 */
export const nothingMoved = new Function(
  'prev',
  'cur',
  `const p = prev.raw, c = cur.raw; return ${MOVING_FIELDS.map((f) => `p[${JSON.stringify(f)}] === c[${JSON.stringify(f)}]`).join(' && ')};`,
) as (prev: Taskstats, cur: Taskstats) => boolean;

const scanFieldsOf = (t: Target): readonly string[] => (t.kind === 'tgid' ? ROW_FIELDS : PID_FIELDS);

/** Pinned tasks (extra) get whole records; every other row only the scan's fields. */
export function scanFields(extra: readonly Target[]): FieldsFor {
  if (extra.length === 0) return scanFieldsOf;
  const whole = new Set(extra.map(targetKey));
  return (t) => (whole.has(targetKey(t)) ? undefined : scanFieldsOf(t));
}

/** Kernel comm is up to 15 arbitrary bytes, kept as decoded: views show it through output/text.ts. */
const commOf = (ts: Taskstats): string => String(ts.raw.ac_comm ?? '');

export interface ScanResult {
  atNs: number;
  rows: TaskRow[];
  /** this batch's samples, the base for the next refresh's deltas: the rows' by id, pinned targets' by key */
  rowSamples: RowSamples;
  samples: Map<string, Sample>;
  /** per key of `extra` (pinned tasks, their threads): every category over the interval (lifetime on a first sample) */
  delays: Map<string, TaskDelays>;
  /** per key of `extra`: what the query said */
  status: Map<string, QueryResult['status']>;
  /** comm by task id (from pid records, and in process mode from identities kept) */
  comms: IdLookup<string>;
  /** process mode: each row's identity, asked this refresh or kept from an earlier one */
  identities: IdLookup<Identity>;
  /** the struct version the kernel sends, from the first record seen */
  taskstatsVersion: number | null;
  /** figures flagged on this refresh's rows (cells) */
  flagged: number;
  /** query errors other than "gone" (one message per distinct code) */
  errors: string[];
  /** thread mode with a plan: what the next refresh's TGID records are compared with */
  gate?: ThreadGate;
  /** per row id, what its row shows: a still row of the same record shows the same (sameStillRow) */
  shown: IdLookup<ShownRow>;
  /** what was known of delay accounting for it */
  sys: DelayacctState;
  /** the storage of the id-keyed fields above, for a later scan to fill once nothing reads them (PrevScan.spare) */
  tables: ScanTables;
}

/** The id-keyed tables one scan fills. */
export interface ScanTables {
  rowSamples: IdTable<Sample>;
  comms: IdTable<string>;
  identities: IdTable<Identity>;
  shown: IdTable<ShownRow>;
  pidResults: IdTable<QueryResult>;
}

/** Empty a retired scan's tables, keeping their storage: they hold none of its objects. */
export function emptyTables(t: ScanTables): void {
  t.rowSamples.clear();
  t.comms.clear();
  t.identities.clear();
  t.shown.clear();
  t.pidResults.clear();
}

/** Empty tables: the storage of `spare` where given, else new. */
function tablesFrom(prev: PrevScan): ScanTables {
  const spare = prev.spare;
  if (!spare)
    return {
      rowSamples: new IdTable(),
      comms: new IdTable(),
      identities: new IdTable(),
      shown: new IdTable(),
      pidResults: new IdTable(),
    };
  if (spare.rowSamples === prev.rowSamples?.byId || spare.shown === prev.shown)
    throw new Error("computeScan: the spare tables are the previous scan's own");
  emptyTables(spare);
  return spare;
}

/**
 * What identifies the task behind a target across refreshes (Sample.startId). Not
 * ac_btime64: the kernel computes it per query as wall-clock seconds minus whole seconds
 * elapsed, so one task's value flips between two seconds from query to query (seen
 * here). Instead: its start estimated on our monotonic clock, batch time minus
 * ac_etime. The estimate is never later than the true start (the kernel reads its clock
 * after ours), so a task already there at the previous refresh estimates before that
 * refresh, and one started after it (the id was reused) estimates after it.
 */
function startIdOf(id: Pick<Identity, 'stats' | 'atNs'> | undefined, prev: Sample | undefined): number | undefined {
  if (!id) return undefined;
  const etimeUs = num(id.stats, 'ac_etime');
  if (etimeUs === undefined) return undefined;
  const startUs = Math.round(id.atNs / 1000 - etimeUs);
  if (prev?.startId !== undefined && startUs <= prev.atNs / 1000) return prev.startId as number; // the same task
  return startUs;
}

/**
 * A pid:N record as its task's identity (comm as the batch decoded it). `quietFrom`: the
 * process's TGID record from the refresh before, where that refresh saw the same process.
 */
function ownIdentity(
  r: QueryResult & { status: 'ok' },
  atNs: number,
  comms: IdLookup<string>,
  quietFrom?: Taskstats,
): Identity {
  const etimeUs = num(r.stats, 'ac_etime');
  return {
    stats: r.stats,
    atNs,
    comm: comms.get(r.target.id) ?? commOf(r.stats),
    bornNs: etimeUs === undefined ? undefined : atNs - etimeUs * 1000,
    ppid: num(r.stats, 'ac_ppid'),
    quietFrom,
  };
}

/** Rows' samples by id, and which kind of target the ids are (they change with the list mode). */
export interface RowSamples {
  kind: TargetKind;
  byId: IdLookup<Sample>;
}

/** What the plausibility rules need beyond the batch. */
export interface ScanChecks {
  /** epoch ms of the batch */
  wallMs: number;
  /**
   * Per process: the summed lives (ns) of its threads that exited since the previous
   * refresh, from an exit feed that lost nothing; null when not known.
   */
  exitedLivesNs: ReadonlyMap<number, number> | null;
}

/** What computeScan needs of the previous refresh. */
export interface PrevScan {
  /** the rows it showed: a row that shows the same again is the same object */
  rows?: readonly TaskRow[];
  rowSamples?: RowSamples;
  samples: ReadonlyMap<string, Sample>;
  identities?: IdLookup<Identity>;
  /** comm by task id */
  comms?: IdLookup<string>;
  /** thread mode: the processes whose threads can be carried (model/thread-gate.ts) */
  gate?: ThreadGate;
  /** per row id, what its row showed, and under what was known of delay accounting */
  shown?: IdLookup<ShownRow>;
  sys?: DelayacctState;
  /**
   * The tables of an earlier scan that nothing reads any more (not this one's): the scan
   * empties and fills them, instead of growing new ones from empty.
   */
  spare?: ScanTables;
}

/**
 * One refresh: per-target deltas against the previous samples (keyed by target; a task
 * that started after the previous refresh means the id was reused, and its figures
 * restart as lifetime ones), and one row per listed task. In process mode a row's
 * identity is its main thread's record from this batch, or, where this batch did not ask
 * for it (identityDue), the one kept from an earlier refresh.
 */
export function computeScan(
  mode: ListMode,
  tasks: readonly TaskId[],
  batch: QueryBatch,
  prev: PrevScan,
  sys: DelayacctState,
  extra: readonly Target[] = [],
  checks: ScanChecks = { wallMs: batch.wallMs ?? 0, exitedLivesNs: null },
  threads?: ThreadListing,
): ScanResult {
  const s = beginScan(mode, batch, prev, sys, extra, checks);
  for (const r of batch.results) scanRecord(s, r);
  if (threads) for (const t of threads.carried) carryThread(s, t, threads.plan);
  return endScan(s, threads?.tasks ?? tasks, batch, threads);
}

/**
 * The result of a scan whose every record went through scanRecord (and, in thread mode
 * with a listing from the TGID gate, every carried thread through carryThread).
 */
export function endScan(s: Scan, tasks: readonly TaskId[], batch: QueryBatch, threads?: ThreadListing): ScanResult {
  return {
    atNs: batch.atNs,
    ...(threads ? { gate: gateAfter(threads, s) } : {}),
    rows: rowsOf(tasks, s.shown, s.comms, s.prev.rows),
    rowSamples: { kind: s.rowKind, byId: s.rowSamples },
    samples: s.samples,
    delays: s.delays,
    status: s.status,
    comms: s.comms,
    identities: s.identities,
    taskstatsVersion: s.taskstatsVersion,
    errors: [...s.errors.values()],
    flagged: s.flagged,
    shown: s.shown,
    sys: s.sys,
    tables: s.tables,
  };
}

/** What a row of the table shows, before its comm is known. */
export interface ShownRow extends Pick<
  TaskRow,
  'key' | 'target' | 'percent' | 'lifetime' | 'suspect' | 'cpuUse' | 'uid' | 'ppid'
> {
  /**
   * A still row (nothing moved, nothing flagged): the record it shows, and the one that
   * gave its owner, parent and recording (else both null). A later still row of the same
   * two, judged under the same delay accounting state, shows the same (sameStillRow).
   */
  stillOf: Taskstats | null;
  ownerOf: Taskstats | null;
}

/** One scan in progress: its inputs, and what it has built from the records so far. */
export interface Scan {
  atNs: number;
  prev: PrevScan;
  sys: DelayacctState;
  /** whether each record is judged recorded or not as by the previous scan (sameRecordingRules) */
  sysAsPrev: boolean;
  checks: ScanChecks;
  /** the kind of target a row is: tgid in process mode, pid in thread mode */
  rowKind: TargetKind;
  /** keys of `extra` (pinned tasks, their threads): the targets that get every category */
  wanted: ReadonlySet<string>;
  /** process mode: pid records by id, each a process row's identity (sources answer each target once) */
  pidResults: IdLookup<QueryResult>;
  prevRows: IdLookup<Sample> | undefined;
  rowSamples: IdTable<Sample>;
  samples: Map<string, Sample>;
  delays: Map<string, TaskDelays>;
  /** per row id: what the table shows */
  shown: IdTable<ShownRow>;
  status: Map<string, QueryResult['status']>;
  comms: IdTable<string>;
  identities: IdTable<Identity>;
  tables: ScanTables;
  /** one message per distinct error code */
  errors: Map<string, string>;
  taskstatsVersion: number | null;
  flagged: number;
}

/** A scan about to take the batch's records one by one (scanRecord), then endScan. */
export function beginScan(
  mode: ListMode,
  batch: QueryBatch,
  prev: PrevScan,
  sys: DelayacctState,
  extra: readonly Target[],
  checks: ScanChecks,
): Scan {
  const tables = tablesFrom(prev);
  const { pidResults } = tables;
  if (mode === 'process') for (const r of batch.results) if (r.target.kind === 'pid') pidResults.set(r.target.id, r);
  // Figures only where shown: the rows and `extra` (pinned tasks, their threads). A
  // process's pid:N record is there for its identity (comm, start), not its delays.
  const rowKind = mode === 'process' ? 'tgid' : 'pid';
  return {
    atNs: batch.atNs,
    prev,
    sys,
    sysAsPrev: prev.sys !== undefined && sameRecordingRules(prev.sys, sys),
    checks,
    rowKind,
    wanted: new Set(extra.map(targetKey)),
    pidResults,
    // Rows' samples by id (no key to hash per row), and pinned targets' by key as well: a
    // pinned task keeps its history when t turns it from a row into an extra or back.
    prevRows: prev.rowSamples?.kind === rowKind ? prev.rowSamples.byId : undefined,
    rowSamples: tables.rowSamples,
    samples: new Map(),
    delays: new Map(),
    shown: tables.shown,
    status: new Map(),
    comms: tables.comms,
    identities: tables.identities,
    tables,
    errors: new Map(),
    taskstatsVersion: null,
    flagged: 0,
  };
}

/** One result of the batch into the scan: its status, comm, identity, sample and shown figures. */
export function scanRecord(s: Scan, r: QueryResult): void {
  const isRow = r.target.kind === s.rowKind;
  const key = isRow && s.wanted.size === 0 ? null : targetKey(r.target);
  const isWanted = key !== null && s.wanted.has(key);
  if (isWanted) s.status.set(key, r.status);
  if (r.status === 'error') {
    s.errors.set(r.code, r.message);
    return;
  }
  if (r.status !== 'ok') return;
  s.taskstatsVersion ??= r.stats.version || null;
  if (r.target.kind === 'pid') s.comms.set(r.target.id, commOf(r.stats));
  if (!isRow && !isWanted) return;
  const before = (isWanted ? s.prev.samples.get(key) : undefined) ?? (isRow ? s.prevRows?.get(r.target.id) : undefined);
  const id = identityFor(s, r, before);
  if (id === null) return;
  const owner = id?.stats ?? r.stats;
  const startId = startIdOf(id, before);
  if (isRow && !isWanted && before !== undefined && startId !== undefined && startId === before.startId) {
    const was = sameStillRow(s, r.target.id, before, owner, s.atNs);
    if (was !== undefined && nothingMoved(before.stats, r.stats)) {
      s.rowSamples.set(r.target.id, stillSample(before, s.atNs, s.checks.wallMs));
      s.shown.set(r.target.id, was);
      return;
    }
  }
  let sample: Sample = { stats: r.stats, atNs: s.atNs, startId, wallMs: s.checks.wallMs };
  const recording = recordingOf(owner, s.sys);
  const ageNs = wallAgeNs(r, id, s.atNs);
  const span = spanOf(before, sample, r.target.kind === 'tgid' ? ageNs : undefined);
  // A row where nothing ran or waited since the last refresh (most rows, on most machines).
  const still = !isWanted && !span.lifetime && before !== undefined && nothingMoved(before.stats, r.stats);
  // Its sample keeps the record it already had: the same figures but its age, which no
  // reader of an earlier sample takes (spans, deltas and rules read the current record's).
  // The new record then dies young, instead of living a refresh and being copied by the GC.
  if (still) sample = stillSample(before, sample.atNs, sample.wallMs, sample.startId);
  if (isRow) s.rowSamples.set(r.target.id, sample);
  if (isWanted) s.samples.set(key, sample);
  const facts = {
    cpuUse: cpuUsePercentOf(before, sample, span),
    uid: num(owner, 'ac_uid') ?? null,
    ppid: num(owner, 'ac_ppid') ?? null,
  };
  if (isWanted) {
    const d = computeDelays(before, sample, {
      recording,
      check: contextOf(s, r, id, before, ageNs, CATEGORIES),
      ...(r.target.kind === 'tgid' && ageNs !== undefined ? { wallAgeNs: ageNs } : {}),
    });
    s.delays.set(key, d);
    if (isRow) showRow(s, r.target, key, d.lifetime, pinnedPercent(d), d.suspect, facts);
  } else {
    // A row that is not pinned shows the table's categories: only their percentages. On a
    // still row each is 0 or n/a as computed, and there is nothing to flag, unless a main
    // thread asked in this batch hands the process what it did.
    const percent = still ? stillPercent(sample, span, recording) : movedPercent(before, sample, span, recording);
    const quiet = still && !(id && id.atNs === s.atNs && r.target.kind === 'tgid');
    const judged = quiet
      ? null
      : judge(
          span.lifetime ? undefined : before?.stats,
          r.stats,
          contextOf(s, r, id, before, ageNs, TABLE_CATS),
          TABLE_CATS,
        ).span;
    // (a row whose owner is this batch's record, a thread's own, is never the same again:
    // it keeps no record, which then dies young)
    const stillOf = quiet && owner !== r.stats ? sample.stats : null;
    showRow(s, r.target, key ?? targetKey(r.target), span.lifetime, percent, judged, facts, stillOf, stillOf && owner);
  }
}

/** A sample of the record `before` has, taken again at atNs (nothing in it moved since). */
const stillSample = (before: Sample, atNs: number, wallMs?: number, startId = before.startId): Sample => ({
  stats: before.stats,
  atNs,
  startId,
  wallMs,
});

/**
 * The last scan's row of task `id`, where a still row of `before`'s record (owner, parent
 * and recording from `owner`) now shows the same: that row was a still row of the same
 * two, over a span of some length, and records are judged recorded or not as then.
 */
function sameStillRow(s: Scan, id: number, before: Sample, owner: Taskstats, atNs: number): ShownRow | undefined {
  if (!s.sysAsPrev || !(atNs > before.atNs)) return undefined;
  const was = s.prev.shown?.get(id);
  return was !== undefined && was.stillOf === before.stats && was.ownerOf === owner && !was.lifetime ? was : undefined;
}

/**
 * A thread of a process the TGID gate found still (model/thread-gate.ts): its record is
 * the one its last row had, as of the gate's query, and its row a still one. A pinned
 * thread is asked in the batch instead.
 */
export function carryThread(s: Scan, t: TaskId, at: Pick<ThreadPlan, 'atNs' | 'wallMs'>): void {
  if (s.wanted.size > 0 && s.wanted.has(targetKey({ kind: 'pid', id: t.id }))) return;
  const before = s.prevRows?.get(t.id);
  const comm = s.prev.comms?.get(t.id);
  // (the gate keeps only processes whose every thread had both: gateAfter)
  if (!before || comm === undefined) return;
  const sample = stillSample(before, at.atNs, at.wallMs);
  s.rowSamples.set(t.id, sample);
  s.comms.set(t.id, comm);
  // (a carried row is a still row of its record, which gives its owner too)
  const was = sameStillRow(s, t.id, before, before.stats, at.atNs);
  if (was !== undefined) {
    s.shown.set(t.id, was);
    return;
  }
  const recording = recordingOf(before.stats, s.sys);
  const span = spanOf(before, sample);
  const facts = {
    cpuUse: cpuUsePercentOf(before, sample, span),
    uid: num(before.stats, 'ac_uid') ?? null,
    ppid: num(before.stats, 'ac_ppid') ?? null,
  };
  const percent = stillPercent(sample, span, recording);
  showRow(s, { kind: 'pid', id: t.id }, `pid:${t.id}`, span.lifetime, percent, null, facts, before.stats, before.stats);
}

/**
 * What the next refresh's TGID records are compared with: every process whose threads
 * all have a row now. One missing a thread (it ended, or its query failed, between the
 * listing and the query) is asked thread by thread next time.
 */
function gateAfter(listing: ThreadListing, s: Scan): ThreadGate {
  const gate = new Map<number, GateEntry>();
  const whole = (threads: readonly TaskId[]): boolean => {
    for (const t of threads) if (!s.rowSamples.has(t.id) || !s.comms.has(t.id)) return false;
    return threads.length > 0;
  };
  for (const [tgid, entry] of listing.plan.still) if (whole(entry.threads)) gate.set(tgid, entry);
  for (const [tgid, stats] of listing.plan.moved) {
    const threads = listing.askedOf.get(tgid);
    if (stats && threads && whole(threads)) gate.set(tgid, { stats, threads });
  }
  return gate;
}

/**
 * A record's identity: a thread is its own; a process's is its main thread asked in this
 * batch (gone: a zombie leader, none) or kept from an earlier one. Null: a kept identity
 * that the record shows is stale, so the record gets no row until its main thread is asked.
 */
function identityFor(
  s: Scan,
  r: QueryResult & { status: 'ok' },
  before: Sample | undefined,
): Identity | undefined | null {
  if (r.target.kind === 'pid') return ownIdentity(r, s.atNs, s.comms);
  const asked = s.pidResults.get(r.target.id);
  const id = asked
    ? asked.status === 'ok'
      ? askedIdentity(s, asked, before)
      : undefined
    : s.prev.identities?.get(r.target.id);
  if (!id) return undefined;
  if (id.atNs !== s.atNs && before && (num(r.stats, 'ac_etime') ?? Infinity) * 1000 < (s.atNs - before.atNs) / 2) {
    // A kept identity, but every live thread is younger than half the interval: the
    // id names a process the exit feed has not reported yet. No row until it is asked.
    return null;
  }
  s.identities.set(r.target.id, id);
  if (!s.comms.has(r.target.id)) s.comms.set(r.target.id, id.comm);
  return id;
}

/**
 * A main thread asked in this batch as its process's identity, which keeps the process's
 * TGID record of the refresh before (`before`, asked before this batch) where that was
 * the same process (the same start).
 */
function askedIdentity(s: Scan, asked: QueryResult & { status: 'ok' }, before: Sample | undefined): Identity {
  const same =
    before?.startId !== undefined && startIdOf({ stats: asked.stats, atNs: s.atNs }, before) === before.startId;
  return ownIdentity(asked, s.atNs, s.comms, same ? before.stats : undefined);
}

/** A task's wall age: a thread's own; a process's is its main thread's (the TGID record sums its live threads' lives). */
function wallAgeNs(r: QueryResult & { status: 'ok' }, id: Identity | undefined, atNs: number): number | undefined {
  if (r.target.kind !== 'tgid') return (num(r.stats, 'ac_etime') ?? 0) * 1000;
  const idEtimeUs = id ? num(id.stats, 'ac_etime') : undefined;
  return idEtimeUs === undefined ? undefined : idEtimeUs * 1000 + (atNs - id!.atNs);
}

function movedPercent(
  before: Sample | undefined,
  sample: Sample,
  span: Span,
  recording: Recording,
): TaskRow['percent'] {
  const percent = {} as TaskRow['percent'];
  for (const c of TABLE_CATS) percent[c.key as TableCategory] = delayPercentOf(c, before, sample, span, recording);
  return percent;
}

// A still row's columns are 0 or n/a: one shared, frozen object per pattern of n/a columns
// (a bit each), so that rows where nothing moved allocate none.
const stillPercents: Readonly<TaskRow['percent']>[] = [];

// Per record, what the last still row of it showed and under which recording: a row that
// stays still keeps its record, and is not judged column by column again. (Each column
// reads the record's fields by name, a generic lookup V8 cannot specialise.)
const stillShown = new WeakMap<Taskstats, { recording: Recording; percent: TaskRow['percent'] }>();

function stillPercent(sample: Sample, span: Span, recording: Recording): TaskRow['percent'] {
  // (a span of no length shows every column n/a: not kept)
  const memo = span.intervalNs > 0 ? stillShown.get(sample.stats) : undefined;
  if (memo !== undefined && memo.recording === recording) return memo.percent;
  const percent = stillColumns(sample, span, recording);
  if (span.intervalNs > 0) stillShown.set(sample.stats, { recording, percent });
  return percent;
}

function stillColumns(sample: Sample, span: Span, recording: Recording): TaskRow['percent'] {
  let naBits = 0;
  for (let i = 0; i < TABLE_CATS.length; i++)
    if (stillPercentOf(TABLE_CATS[i]!, sample, span, recording) === null) naBits |= 1 << i;
  let percent = stillPercents[naBits];
  if (!percent) {
    const p = {} as TaskRow['percent'];
    for (let i = 0; i < TABLE_CATS.length; i++) p[TABLE_CATS[i]!.key as TableCategory] = naBits & (1 << i) ? null : 0;
    stillPercents[naBits] = percent = Object.freeze(p);
  }
  return percent;
}

// Per record, what recordingFor said of it and under which setting: a kept identity, or a
// still row's record, is weighed again only when the setting changed (recordingFor reads a
// count by name for each category).
const recordings = new WeakMap<
  Taskstats,
  { on: boolean | undefined; onSinceSec: number | null; seen: DelayacctState['seen']; recording: Recording }
>();

/** Whether recordingFor judges every record alike under both (it reads these alone of them). */
const sameRecordingRules = (
  a: Pick<DelayacctState, 'on' | 'onSinceSec' | 'seen'>,
  b: Pick<DelayacctState, 'on' | 'onSinceSec' | 'seen'>,
): boolean => a.on === b.on && a.onSinceSec === b.onSinceSec && a.seen === b.seen;

function recordingOf(ts: Taskstats, sys: DelayacctState): Recording {
  const m = recordings.get(ts);
  if (m !== undefined && sameRecordingRules(m, sys)) return m.recording;
  const recording = recordingFor(ts, sys);
  recordings.set(ts, { on: sys.on, onSinceSec: sys.onSinceSec, seen: sys.seen, recording });
  return recording;
}

/** A pinned row's columns, from its full delays. */
function pinnedPercent(d: TaskDelays): TaskRow['percent'] {
  const percent = {} as TaskRow['percent'];
  for (const k of TABLE_CATEGORIES) percent[k] = categoryPercent(d, k);
  return percent;
}

function categoryPercent(d: TaskDelays, k: TableCategory): number | null {
  const c = d.categories.find((x) => x.key === k)!;
  return c.na ? null : c.delayPercent;
}

function showRow(
  s: Scan,
  target: Target,
  key: string,
  lifetime: boolean,
  percent: TaskRow['percent'],
  suspects: Suspects | null,
  facts: Pick<TaskRow, 'cpuUse' | 'uid' | 'ppid'>,
  stillOf: Taskstats | null = null,
  ownerOf: Taskstats | null = null,
): void {
  const suspect = shownSuspects(suspects, percent);
  s.flagged += suspectCount(suspect);
  s.shown.set(target.id, {
    key,
    target,
    lifetime,
    percent,
    suspect,
    cpuUse: facts.cpuUse,
    uid: facts.uid,
    ppid: facts.ppid,
    stillOf,
    ownerOf,
  });
}

/**
 * One row per listed task that the batch showed. A row that shows what the last refresh's
 * row of its task showed (a still row, mostly) is that row: the rows of most refreshes are
 * then made once and kept, not made anew and left to the GC each second.
 */
function rowsOf(
  tasks: readonly TaskId[],
  shown: IdLookup<ShownRow>,
  comms: IdLookup<string>,
  before: readonly TaskRow[] = [],
): TaskRow[] {
  // (made at its longest and cut at the end: see threadListing)
  const rows = new Array<TaskRow>(tasks.length);
  let n = 0;
  // A cursor into the last refresh's rows: they come in listing order as these do (/proc's:
  // by tgid, then id). Out of that order, a row is only made anew.
  let j = 0;
  for (const t of tasks) {
    const row = shown.get(t.id);
    const comm = comms.get(t.id);
    // A process whose main thread is gone (zombie leader) has no identity: skip it.
    if (!row || comm === undefined) continue;
    while (j < before.length && listedBefore(before[j]!, t)) j++;
    const was = before[j];
    if (was !== undefined && was.id === t.id && showsSame(was, row, t.tgid, comm)) {
      rows[n++] = was;
      j++;
      continue;
    }
    rows[n++] = {
      key: row.key,
      target: row.target,
      id: t.id,
      tgid: t.tgid,
      comm,
      uid: row.uid,
      ppid: row.ppid,
      cpuUse: row.cpuUse,
      percent: row.percent,
      lifetime: row.lifetime,
      suspect: row.suspect,
    };
  }
  rows.length = n;
  return rows;
}

const listedBefore = (r: TaskRow, t: TaskId): boolean => r.tgid < t.tgid || (r.tgid === t.tgid && r.id < t.id);

/** Whether a last refresh's row shows what this one would (its percent object shared: a still row's). */
function showsSame(was: TaskRow, row: ShownRow, tgid: number, comm: string): boolean {
  return (
    was.tgid === tgid &&
    was.target.kind === row.target.kind &&
    was.comm === comm &&
    was.percent === row.percent &&
    was.cpuUse === row.cpuUse &&
    was.uid === row.uid &&
    was.ppid === row.ppid &&
    was.lifetime === row.lifetime &&
    was.suspect === null &&
    row.suspect === null
  );
}

/** Suspects of the shown figures only (a category shown n/a has no figure to flag). */
function shownSuspects(s: Suspects | null, percent: TaskRow['percent']): Suspects | null {
  if (!s) return null;
  let out: Suspects | null = null;
  for (const k of TABLE_CATEGORIES) if (s[k] && percent[k] !== null) (out ??= {})[k] = s[k];
  return out;
}

/**
 * What the rules know of one record beyond itself: when the task started, the span's wall
 * times, and for a process, what its threads that exited lived and what is impossible in
 * its main thread's record (asked in this batch; the process's figures sum it).
 */
function contextOf(
  s: Scan,
  r: QueryResult & { status: 'ok' },
  id: Identity | undefined,
  before: Sample | undefined,
  ageNs: number | undefined,
  cats: typeof TABLE_CATS | typeof CATEGORIES,
): CheckContext {
  const { checks } = s;
  const ctx = checkContext(r.target.kind, s.sys, ageNs, before?.wallMs, checks.wallMs);
  if (r.target.kind === 'pid') return ctx;
  ctx.exitedLivesNs = checks.exitedLivesNs ? (checks.exitedLivesNs.get(r.target.id) ?? 0) : null;
  if (id && id.atNs === s.atNs) {
    // the main thread asked at the previous refresh too: its interval says what grew
    const was = s.prev.identities?.get(r.target.id);
    inheritFromMainThread(ctx, id.stats, was && before && was.atNs === before.atNs ? was.stats : undefined, cats);
  }
  return ctx;
}

/** `/` filter: digits match a pid/tgid prefix or the name; anything else matches the name. */
export function matchesFilter(row: TaskRow, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  if (/^[0-9]+$/.test(f) && (String(row.id).startsWith(f) || String(row.tgid).startsWith(f))) return true;
  return row.comm.toLowerCase().includes(f);
}

/** Unknown (null) sorts after every value, either direction: 0 keeps such pairs in pid order. */
const compareKnown = (x: number | null, y: number | null): number => (x === null || y === null ? 0 : x - y);

function compareRows(a: TaskRow, b: TaskRow, col: SortColumn): number {
  switch (col) {
    case 'PID':
      return a.id - b.id;
    case 'USER':
      return compareKnown(a.uid, b.uid);
    case 'USE':
      return compareKnown(a.cpuUse, b.cpuUse);
    case 'COMMAND':
      return a.comm.localeCompare(b.comm);
    default: {
      const x = a.percent[col];
      const y = b.percent[col];
      // n/a is not smaller than 0: it sorts after every number, either direction
      if (x === null || y === null) return 0;
      return x - y;
    }
  }
}

/** Sorted and filtered rows; ties (and n/a or flagged figures, which always sink) fall back to pid order. */
export function viewRows(rows: readonly TaskRow[], sort: SortColumn, descending: boolean, filter: string): TaskRow[] {
  let out: TaskRow[];
  if (filter) {
    out = [];
    for (const r of rows) if (matchesFilter(r, filter)) out.push(r);
  } else out = rows.slice();
  return out.sort(comparatorFor(sort, descending));
}

type RowComparator = (a: TaskRow, b: TaskRow) => number;

function sinkRank(r: TaskRow, col: SortColumn): number {
  if (isCategory(col)) {
    if (r.percent[col] === null) return 2;
    return r.suspect?.[col] ? 1 : 0;
  }
  if (col === 'USE') return r.cpuUse === null ? 2 : 0;
  if (col === 'USER') return r.uid === null ? 2 : 0;
  return 0;
}
// One comparator per order, made once: V8 holds optimized code of a closure only while
// some closure of it lives, so a comparator made per refresh is optimized again after
// every major GC (the same holds for any callback a refresh makes per row).
const comparators = new Map<string, RowComparator>();

function comparatorFor(sort: SortColumn, descending: boolean): RowComparator {
  const key = `${sort}:${descending}`;
  let cmp = comparators.get(key);
  if (cmp) return cmp;
  cmp = (a, b) => {
    // n/a sinks to the bottom, and a flagged figure just above it: neither tops a sort
    const rank = sinkRank(a, sort) - sinkRank(b, sort);
    if (rank) return rank;
    const c = compareRows(a, b, sort);
    if (c) return descending ? -c : c;
    return a.id - b.id;
  };
  comparators.set(key, cmp);
  return cmp;
}
