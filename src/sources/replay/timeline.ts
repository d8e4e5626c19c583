// When a replay plays each record: at the recorded pace (or N times faster) on timers, or,
// at infinite speed, as fast as the consumer asks for batches (exits only: as fast as the
// event loop allows). A query batch goes to the consumer waiting for one, or waits as the
// one due; exit batches go out as they fall due.
import type { QueryRec, Rec } from '../recordformat.js';
import { monotonicNs, type ExitBatch } from '../types.js';
import { ReplayEnded, type ReplayError } from './errors.js';
import type { RecordingFile } from './file.js';

// setTimeout fires at once (with a warning) above 2^31-1 ms: a longer gap is waited in parts.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where played records go. */
export interface Outlet {
  /** a query batch handed to the consumer, before any record after it is played */
  handOut(r: QueryRec): void;
  /** an exit batch, when it falls due */
  exits(b: ExitBatch): void;
}

type Waiter = { resolve: (r: QueryRec) => void; reject: (e: Error) => void };

export class Timeline {
  /** resolves once the last query batch has been handed out (at once if there are none) */
  readonly queriesDone: Promise<void>;
  /** resolves once every valid record has been played; `error` is set by then if a line was bad */
  readonly finished: Promise<void>;
  /** the bad line that ended the replay, published once everything before it was played */
  error: ReplayError | null = null;
  /** query batches that fell due before the consumer asked for the previous one (paced mode) */
  skippedBatches = 0;

  private started = false;
  private anchorMs = 0;
  private firstT = 0;
  private timer: NodeJS.Timeout | undefined;
  /** the newest batch that fell due with no consumer waiting (paced mode) */
  private due: QueryRec | null = null;
  private waiters: Waiter[] = [];
  private closed = false;
  private resolveQueriesDone!: () => void;
  private resolveFinished!: () => void;
  private queriesDoneFired = false;
  private finishedFired = false;

  /** speed: 1 = the recorded pace, 2 = twice as fast; Infinity = as fast as the consumer asks */
  constructor(
    private recording: RecordingFile,
    private speed: number,
    private exitsOnly: boolean,
    private outlet: Outlet,
  ) {
    this.queriesDone = new Promise((r) => {
      this.resolveQueriesDone = r;
    });
    this.finished = new Promise((r) => {
      this.resolveFinished = r;
    });
    this.checkQueriesDone();
  }

  /** Starts the clock at the first record (once; nothing after close). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.anchorMs = monotonicNs() / 1e6;
    this.firstT = this.recording.peek()?.t ?? 0;
    if (Number.isFinite(this.speed)) this.schedule();
    else if (this.exitsOnly) this.pumpFast();
  }

  /**
   * The next query batch for the consumer: the one due, or at infinite speed the next in the
   * file (the records before it played first), or else the next to fall due. Rejects with
   * the bad line or ReplayEnded once none is left.
   */
  async next(): Promise<QueryRec> {
    if (this.closed) throw new ReplayEnded('the replay was closed');
    this.start();
    if (this.due) {
      const r = this.due;
      this.due = null;
      return this.handOut(r);
    }
    if (!Number.isFinite(this.speed)) return this.nextAsAsked();
    if (this.finishedFired || !this.recording.hasQueryAhead()) {
      await this.finished;
      throw this.endError();
    }
    const r = await new Promise<QueryRec>((resolve, reject) => this.waiters.push({ resolve, reject }));
    return this.handOut(r);
  }

  /** The batch about to be handed out: the one due, or the next in the file. */
  upcoming(): QueryRec | null {
    return this.due ?? this.recording.nextQuery();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w.reject(new ReplayEnded('the replay was closed'));
    this.recording.close();
  }

  /** As fast as the consumer asks: play up to the next batch now. */
  private nextAsAsked(): QueryRec {
    for (;;) {
      const r = this.recording.shift();
      if (!r) {
        this.fireFinished();
        throw this.endError();
      }
      if (r.type === 'query') {
        this.handOut(r);
        if (!this.recording.hasQueryAhead()) {
          // No batch follows: play the trailing exits and finish.
          let rest: Rec | undefined;
          while ((rest = this.recording.shift())) this.play(rest);
          this.fireFinished();
        }
        return r;
      }
      this.play(r);
    }
  }

  private handOut(r: QueryRec): QueryRec {
    this.outlet.handOut(r);
    this.checkQueriesDone();
    return r;
  }

  /** Paced: wait for the next record's time, then play everything due. */
  private schedule(): void {
    if (this.closed) return;
    const next = this.recording.peek();
    if (!next) {
      this.fireFinished();
      return;
    }
    const dueMs = this.anchorMs + (next.t - this.firstT) / this.speed;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = monotonicNs() / 1e6;
        let r: Rec | undefined;
        while ((r = this.recording.peek()) && this.anchorMs + (r.t - this.firstT) / this.speed <= now) {
          this.recording.shift();
          // A woken query() consumer runs before the records after its batch are played.
          if (this.play(r)) break;
        }
        this.schedule();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, dueMs - monotonicNs() / 1e6)),
    );
  }

  /** Fast, exits only: play everything in order, yielding to the event loop between records. */
  private pumpFast(): void {
    if (this.closed) return;
    const r = this.recording.shift();
    if (!r) return this.fireFinished();
    this.play(r);
    setImmediate(() => this.pumpFast());
  }

  /** Play one record; true when it woke a waiting query() consumer. */
  private play(r: Rec): boolean {
    switch (r.type) {
      case 'query':
        if (this.exitsOnly) return false;
        return this.offerQuery(r);
      case 'exits':
        this.outlet.exits(r.batch);
        return false;
      case 'loss':
        return false; // the counters in the exits lines carry the loss; this line is for readers of the file
      case 'end':
        return false;
    }
  }

  private offerQuery(r: QueryRec): boolean {
    const w = this.waiters.shift();
    if (w) {
      w.resolve(r);
      return true;
    }
    if (this.due) this.skippedBatches++; // the consumer is slower than the recording: keep the newest
    this.due = r;
    return false;
  }

  /** queriesDone: no batch is waiting to be handed out and none is left in the file. */
  private checkQueriesDone(): void {
    if (this.queriesDoneFired || this.due || (!this.exitsOnly && this.recording.hasQueryAhead())) return;
    this.queriesDoneFired = true;
    this.resolveQueriesDone();
  }

  private fireFinished(): void {
    if (this.finishedFired) return;
    this.finishedFired = true;
    this.error = this.recording.pendingError;
    this.checkQueriesDone();
    for (const w of this.waiters.splice(0)) w.reject(this.endError());
    this.recording.close();
    this.resolveFinished();
  }

  private endError(): Error {
    return this.error ?? new ReplayEnded(`the recording ${this.recording.file} has no more samples`);
  }
}
