// What every source yields, whether live netlink, /proc or a replayed recording.
import type { Taskstats } from '../kernel/decode.js';
import type { CpuCounters, ExitRecord } from '../kernel/exitrecord.js';
import type { LineFormat } from '../kernel/exit-lines.js';
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
  /** the records (none when a line sink took them) */
  records: ExitRecord[];
  /** cumulative per-CPU counters at the time of the batch */
  counters: CpuCounters[];
}

/**
 * A consumer that writes every exit as a line (-l): a live source writes the lines itself,
 * natively where no judgement is needed (src/kernel/exit-lines.ts), and asks lineOf for the
 * others; its batches then carry no records. Other sources ignore it and deliver records.
 */
export interface ExitLineSink extends LineFormat {
  /** A batch begins: what its lines need (asked once a batch, before any of its lines). */
  batch(): ExitLineBatch;
  /** true: done with the bytes (written, or failed), which are then reused; false: it keeps them */
  write(bytes: Uint8Array): boolean;
}

export interface ExitLineBatch {
  /**
   * Epoch ms of the latest switch-on of delay accounting delaytop saw (-Infinity: none): a
   * task that lived through one is judged by lineOf.
   */
  switchedOnMs: number;
  /**
   * The line of a record (without its newline). r reads its batch's bytes, which the next
   * drain writes over: it is valid during the call only, and must not be kept.
   */
  lineOf(r: ExitRecord): string;
}

export interface ExitSource {
  readonly cpus: readonly number[];
  /** deliver batches to fn until close(); lines: see ExitLineSink */
  start(fn: (batch: ExitBatch) => void, lines?: ExitLineSink): void;
  /** stop, deregister, and return the final batch (remaining records, final counters) */
  close(): ExitBatch;
  /** hand what is queued now to fn at once, not at the next batch (a refresh's bounds need it) */
  flush?(): void;
}

export const targetKey = (t: Target): string => `${t.kind}:${t.id}`;

export const monotonicNs = (): number => Number(process.hrtime.bigint());
