// Fake sources for dashboard tests: tasks whose delays the test sets, a clock that moves
// one second per query, and an exit source the test feeds by hand.
import type { Taskstats } from '../../src/kernel/decode.js';
import { decodedRecord } from './records.js';
import type { CpuCounters, ExitRecord } from '../../src/kernel/exitrecord.js';
import { CATEGORIES, type CategoryKey } from '../../src/kernel/layout.js';
import type { ListMode, TaskId } from '../../src/sources/proctasks.js';
import type { ExitBatch, ExitSource, QueryBatch, QueryResult, StatsSource, Target } from '../../src/sources/types.js';
import type { DashboardOptions } from '../../src/engine/options.js';
import { zeroCounters } from '../../src/model/exit-feed/store.js';

export const S = 1e9;

export interface FakeTask {
  id: number;
  tgid: number;
  comm: string;
  /** ac_btime64 (the fake, like the kernel, flips it by a second on every other query) */
  btime: number;
  /** when it started on the fake monotonic clock (default 0: long before the first query) */
  startNs?: number;
  /** its parent (ac_ppid of its pid:N record; 0 unless given) */
  ppid?: number;
  /** cumulative count and total per category, as the kernel keeps them */
  delays: Partial<Record<CategoryKey, { count: number; totalNs: number; maxNs?: number }>>;
}

/** A decoded v16 record: every field present (0 unless given), as the decoder shapes it. */
export const record = (fields: Record<string, number | string>, version = 16): Taskstats =>
  decodedRecord(fields, version);

function delayFields(ts: FakeTask[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of CATEGORIES) {
    let count = 0,
      total = 0,
      max = 0;
    for (const t of ts) {
      const d = t.delays[c.key];
      if (!d) continue;
      count += d.count;
      total += d.totalNs;
      max = Math.max(max, d.maxNs ?? 0);
    }
    out[`${c.prefix}_count`] = count;
    out[`${c.prefix}_delay_total`] = total;
    out[`${c.prefix}_delay_max`] = max;
  }
  return out;
}

export class FakeStatsSource implements StatsSource {
  readonly name = 'replay' as const;
  readonly tasks = new Map<number, FakeTask>();
  /** monotonic ns; each query is one second after the last */
  nowNs = 1000 * S;
  readonly queries: Target[][] = [];

  constructor(tasks: FakeTask[] = []) {
    for (const t of tasks) this.tasks.set(t.id, t);
  }

  add(t: FakeTask): void {
    this.tasks.set(t.id, t);
  }

  /** Add to a task's cumulative delays (what happened during the next interval). */
  wait(id: number, key: CategoryKey, count: number, totalNs: number, maxNs?: number): void {
    const t = this.tasks.get(id)!;
    const d = t.delays[key] ?? { count: 0, totalNs: 0 };
    t.delays[key] = { count: d.count + count, totalNs: d.totalNs + totalNs, maxNs: Math.max(d.maxNs ?? 0, maxNs ?? 0) };
  }

  /** every thread listed (`of`: of those processes only), in order, as asked */
  readonly listed: { mode: ListMode; of?: number[] }[] = [];

  list(mode: ListMode, of?: ReadonlySet<number>): TaskId[] {
    this.listed.push({ mode, ...(of ? { of: [...of] } : {}) });
    const all = [...this.tasks.values()].sort((a, b) => a.tgid - b.tgid || a.id - b.id);
    const shown = mode === 'process' ? all.filter((t) => t.id === t.tgid) : all.filter((t) => !of || of.has(t.tgid));
    return shown.map((t) => ({ id: t.id, tgid: t.tgid }));
  }

  async query(targets: readonly Target[]): Promise<QueryBatch> {
    this.queries.push([...targets]);
    this.nowNs += S;
    const jitter = this.queries.length % 2;
    const etimeUs = (t: FakeTask) => (this.nowNs - (t.startNs ?? 0)) / 1000;
    const results = targets.map((target): QueryResult => {
      if (target.kind === 'pid') {
        const t = this.tasks.get(target.id);
        if (!t) return { target, status: 'gone' };
        return {
          target,
          status: 'ok',
          stats: record({
            ac_pid: t.id,
            ac_tgid: t.tgid,
            ac_comm: t.comm,
            ac_btime64: t.btime + jitter,
            ac_btime: t.btime + jitter,
            ac_etime: etimeUs(t),
            ac_ppid: t.ppid ?? 0,
            ...delayFields([t]),
          }),
        };
      }
      const threads = [...this.tasks.values()].filter((t) => t.tgid === target.id);
      if (!this.tasks.has(target.id) || threads.length === 0) return { target, status: 'gone' };
      // a TGID record: the threads' sum, with no comm, pid or start time (as the kernel sends it)
      return {
        target,
        status: 'ok',
        stats: record({ ac_etime: threads.reduce((sum, t) => sum + etimeUs(t), 0), ...delayFields(threads) }),
      };
    });
    return { atNs: this.nowNs, results };
  }

  close(): void {}
}

/** A CPU's counters: `received` exits, `lost` of them dropped by the kernel. */
export function counters(cpu: number, received: number, lost = 0): CpuCounters {
  return { ...zeroCounters(cpu), received, seqGapLost: lost, kernelDrops: lost, lost };
}

export function exitRecord(p: {
  pid: number;
  tgid?: number;
  comm: string;
  cpu?: number;
  exitCode?: number | null;
  signal?: number | null;
  processEnded?: boolean;
  receivedMs?: number;
  lifeUs?: number;
}): ExitRecord {
  return {
    cpu: p.cpu ?? 0,
    seq: 1,
    receivedMs: p.receivedMs ?? Date.UTC(2026, 0, 1, 12, 0, 0),
    pid: p.pid,
    tgid: p.tgid ?? p.pid,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: p.comm,
    exitCode: p.signal ? null : (p.exitCode ?? 0),
    signal: p.signal ?? null,
    coreDumped: false,
    processEnded: p.processEnded ?? true,
    lifeUs: p.lifeUs ?? 1500e3,
    stats: record({
      ac_pid: p.pid,
      ac_comm: p.comm,
      ac_etime: p.lifeUs ?? 1500e3,
      blkio_count: 2,
      blkio_delay_total: 4e6,
      cpu_count: 3,
      cpu_delay_total: 1e6,
    }),
  };
}

/** `n` exits in one batch, pids `firstPid` up (comm `e<pid>`), as a storm arrives; storms with pids from 1 on: CPU 0's counters. */
export function exitStorm(firstPid: number, n: number): ExitBatch {
  const records = Array.from({ length: n }, (_, i) => exitRecord({ pid: firstPid + i, comm: `e${firstPid + i}` }));
  return { records, counters: [counters(0, firstPid + n - 1)] };
}

/** An exit source that hands over what it holds on demand (as the netlink one does). */
export class FlushingExitSource implements ExitSource {
  private fn: ((b: ExitBatch) => void) | undefined;
  private held: ExitBatch[] = [];
  constructor(readonly cpus: readonly number[] = [0, 1]) {}
  start(fn: (b: ExitBatch) => void): void {
    this.fn = fn;
  }
  /** queued: delivered at the next flush */
  queue(batch: ExitBatch): void {
    this.held.push(batch);
  }
  flush(): void {
    for (const b of this.held.splice(0)) this.fn?.(b);
  }
  close(): ExitBatch {
    return { records: [], counters: [] };
  }
}

export class FakeExitSource implements ExitSource {
  private fn: ((b: ExitBatch) => void) | undefined;
  closed = false;
  constructor(readonly cpus: readonly number[] = [0, 1]) {}
  start(fn: (b: ExitBatch) => void): void {
    this.fn = fn;
  }
  emit(batch: ExitBatch): void {
    this.fn?.(batch);
  }
  close(): ExitBatch {
    this.closed = true;
    return { records: [], counters: [] };
  }
}

export function fakeOptions(
  stats: StatsSource,
  exits: ExitSource | null,
  over: Partial<DashboardOptions> = {},
): DashboardOptions {
  return {
    stats,
    exits,
    exitsOffReason: exits ? null : 'Exit feed off: test',
    pinned: [],
    intervalSec: 3600, // the tests refresh by hand
    delayacct: () => ({ on: true, onSinceSec: 0 }),
    setDelayacct: () => null,
    privileged: true,
    banners: [],
    kernelRelease: '6.18.0-test',
    ...over,
  };
}

/** Three processes, one of them with two threads; CPU delay grows fastest for pid 200. */
export function sampleTasks(): FakeTask[] {
  return [
    { id: 100, tgid: 100, comm: 'alpha', btime: 1_700_000_000, delays: { CPU: { count: 10, totalNs: 1e6 } } },
    { id: 200, tgid: 200, comm: 'bravo', btime: 1_700_000_001, delays: { CPU: { count: 10, totalNs: 1e6 } } },
    { id: 201, tgid: 200, comm: 'bravo-worker', btime: 1_700_000_001, delays: { CPU: { count: 10, totalNs: 1e6 } } },
    {
      id: 300,
      tgid: 300,
      comm: 'charlie',
      btime: 1_700_000_002,
      delays: { CPU: { count: 10, totalNs: 1e6 }, IO: { count: 1, totalNs: 5e5 } },
    },
  ];
}
