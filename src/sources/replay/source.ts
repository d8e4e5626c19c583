// --replay FILE: a recording played back behind the same interfaces as the live sources
// (StatsSource for samples, ExitSource for the exit feed), at the recorded pace, N times
// faster, or as fast as the consumer asks. A bad line ends the replay with an error naming
// the file and line, after every valid record before it has been played.
import type { CpuCounters } from '../../kernel/exitrecord.js';
import type { DelayacctState } from '../../model/delayacct.js';
import type { ListMode, TaskId } from '../proctasks.js';
import type { HeaderRec, QueryRec } from '../recordformat.js';
import {
  targetKey,
  type ExitBatch,
  type ExitSource,
  type QueryBatch,
  type QueryResult,
  type StatsSource,
  type Target,
} from '../types.js';
import type { ReplayError } from './errors.js';
import { RecordingFile } from './file.js';
import { Timeline } from './timeline.js';

export interface ReplayOptions {
  /** 1 = the recorded pace, 2 = twice as fast; Infinity = as fast as the consumer asks */
  speed?: number;
  /** play only the exit feed: query batches are skipped (for an exits-only consumer) */
  exitsOnly?: boolean;
}

export class ReplaySource implements StatsSource {
  readonly name = 'replay';
  readonly header: HeaderRec;
  private recording: RecordingFile;
  private timeline: Timeline;
  /** the batch last handed out */
  private last: QueryRec | null = null;
  private exitFn: ((b: ExitBatch) => void) | null = null;
  private exitsWanted = false;
  private exitBacklog: ExitBatch[] = [];
  private lastCounters: CpuCounters[] = [];

  /** Opens FILE and reads its header. Throws ReplayError (missing, unreadable, symlink, empty, not a recording). */
  constructor(
    readonly file: string,
    opts: ReplayOptions = {},
  ) {
    const speed = opts.speed ?? 1;
    if (!(speed > 0)) throw new RangeError(`replay speed must be above 0, not ${speed}`);
    this.recording = new RecordingFile(file, !!opts.exitsOnly);
    this.header = this.recording.header;
    this.timeline = new Timeline(this.recording, speed, !!opts.exitsOnly, {
      handOut: (r) => {
        this.last = r;
      },
      exits: (b) => this.playExits(b),
    });
  }

  /** resolves once the last query batch has been handed out (at once if there are none) */
  get queriesDone(): Promise<void> {
    return this.timeline.queriesDone;
  }

  /** resolves once every valid record has been played; `error` is set by then if a line was bad */
  get finished(): Promise<void> {
    return this.timeline.finished;
  }

  /** the bad line that ended the replay, published once everything before it was played */
  get error(): ReplayError | null {
    return this.timeline.error;
  }

  /** query batches that fell due before the consumer asked for the previous one (paced mode) */
  get skippedBatches(): number {
    return this.timeline.skippedBatches;
  }

  /** the file has an "end" line (a clean close, not a crash); known once the reader got there */
  get complete(): boolean {
    return this.recording.complete;
  }

  /** The whole file was read, every line valid, and it has no end line: the writer was cut off. */
  get endsEarly(): boolean {
    return this.recording.exhausted && !this.recording.pendingError && !this.recording.complete;
  }

  // ------------------------------------------------------------ StatsSource

  async query(targets: readonly Target[]): Promise<QueryBatch> {
    return answer(await this.timeline.next(), targets);
  }

  /** The tasks of the batch about to be played (or the last one played). */
  list(mode: ListMode): TaskId[] {
    const r = this.upcoming();
    return r ? tasksOf(r, mode) : [];
  }

  /** The targets of the batch about to be played (before any query: the first one), for batch output. */
  recordedTargets(): Target[] {
    return this.upcoming()?.batch.results.map((x) => x.target) ?? [];
  }

  /** kernel.task_delayacct as recorded with the batch last played (the header's before that). */
  delayacct(): DelayacctState {
    return this.last?.delayacct ?? this.header.delayacct;
  }

  /** Epoch ms at which the last played batch was taken. */
  wallMs(): number | undefined {
    return this.last?.wallMs;
  }

  // ------------------------------------------------------------ ExitSource

  /** The recorded exit feed, on the same timeline as the samples. */
  exits(): ExitSource {
    this.exitsWanted = true;
    return {
      cpus: this.header.exitCpus ?? [],
      start: (fn) => {
        this.exitFn = fn;
        for (const b of this.exitBacklog.splice(0)) fn(b);
        this.timeline.start();
      },
      close: () => {
        this.exitFn = null;
        return { records: [], counters: this.lastCounters };
      },
    };
  }

  close(): void {
    this.timeline.close();
  }

  private playExits(b: ExitBatch): void {
    this.lastCounters = b.counters;
    if (this.exitFn) this.exitFn(b);
    else if (this.exitsWanted) this.exitBacklog.push(b);
  }

  private upcoming(): QueryRec | null {
    return this.timeline.upcoming() ?? this.last;
  }
}

/** One result per asked target, in order; a target the recording did not sample is gone. */
function answer(r: QueryRec, targets: readonly Target[]): QueryBatch {
  const byKey = new Map<string, QueryResult>();
  for (const res of r.batch.results) byKey.set(targetKey(res.target), res);
  const results = targets.map((t): QueryResult => {
    const found = byKey.get(targetKey(t));
    return found ? { ...found, target: t } : { target: t, status: 'gone' };
  });
  return { atNs: r.batch.atNs, wallMs: r.wallMs, results };
}

/** A recorded batch's tasks: its threads in thread mode (if it has any), else its processes. */
function tasksOf(r: QueryRec, mode: ListMode): TaskId[] {
  const tasks = r.batch.results.map((res) => {
    const tg = res.target.kind === 'pid' && res.status === 'ok' ? Number(res.stats.raw.ac_tgid ?? 0) : 0;
    return { kind: res.target.kind, id: res.target.id, tgid: tg || res.target.id };
  });
  const seen = new Set<number>();
  const out: TaskId[] = [];
  const threads = tasks.filter((x) => x.kind === 'pid');
  if (mode === 'thread' && threads.length) {
    for (const x of threads)
      if (!seen.has(x.id)) {
        seen.add(x.id);
        out.push({ id: x.id, tgid: x.tgid });
      }
  } else {
    for (const x of tasks)
      if (!seen.has(x.tgid)) {
        seen.add(x.tgid);
        out.push({ id: x.tgid, tgid: x.tgid });
      }
  }
  return out;
}
