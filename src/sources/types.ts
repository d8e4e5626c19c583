// What every source yields, whether live netlink, /proc or a replayed recording.
import type { Taskstats } from '../kernel/decode.js';
import type { CpuCounters, ExitRecord } from '../kernel/exitrecord.js';
import type { ListMode, TaskId } from './proctasks.js';

export type TargetKind = 'pid' | 'tgid';

export interface Target {
  kind: TargetKind;
  id: number;
}

export type QueryResult =
  | { target: Target; status: 'ok'; stats: Taskstats }
  | { target: Target; status: 'gone' }
  | { target: Target; status: 'error'; code: string; message: string };

export interface QueryBatch {
  /** monotonic ns at which the batch was taken */
  atNs: number;
  /** epoch ms when the batch was taken, where that is not now (a replayed recording) */
  wallMs?: number;
  results: QueryResult[];
}

/**
 * Which fields a consumer will read of each target's record (undefined: all of them).
 * A hint: a source may decode only those, or give everything it has.
 */
export type FieldsFor = (target: Target) => readonly string[] | undefined;

export interface StatsSource {
  readonly name: 'netlink' | 'proc' | 'replay';
  query(targets: readonly Target[], fields?: FieldsFor): Promise<QueryBatch>;
  /** every task the source can see now; `of`: only the threads of these processes (a hint) */
  list(mode: ListMode, of?: ReadonlySet<number>): TaskId[];
  /** the same as list, where a long listing lets the event loop run between slices of it */
  listYielding?(mode: ListMode, of?: ReadonlySet<number>): Promise<TaskId[]>;
  close(): void;
}

export interface ExitBatch {
  records: ExitRecord[];
  /** cumulative per-CPU counters at the time of the batch */
  counters: CpuCounters[];
}

export interface ExitSource {
  readonly cpus: readonly number[];
  /** deliver batches to fn until close() */
  start(fn: (batch: ExitBatch) => void): void;
  /** stop, deregister, and return the final batch (remaining records, final counters) */
  close(): ExitBatch;
  /** hand what is queued now to fn at once, not at the next batch (a refresh's bounds need it) */
  flush?(): void;
}

export const targetKey = (t: Target): string => `${t.kind}:${t.id}`;

export const monotonicNs = (): number => Number(process.hrtime.bigint());
