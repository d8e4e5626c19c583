// --replay FILE: a recording played back behind the same interfaces as the live sources
// (StatsSource for samples, ExitSource for the exit feed), at the recorded pace, N times
// faster, or as fast as the consumer asks. A bad line ends the replay with an error naming
// the file and line, after every valid record before it has been played.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { TaskstatsError } from '../kernel/errors.js';
import type { CpuCounters } from '../kernel/exitrecord.js';
import type { DelayacctState } from '../model/delayacct.js';
import type { ListMode, TaskId } from './proctasks.js';
import { LineError, parseHeader, parseRecord, type HeaderRec, type QueryRec, type Rec } from './recordformat.js';
import {
  monotonicNs,
  targetKey,
  type ExitBatch,
  type ExitSource,
  type QueryBatch,
  type QueryResult,
  type StatsSource,
  type Target,
} from './types.js';

export class ReplayError extends TaskstatsError {
  override name = 'ReplayError';
  constructor(
    message: string,
    code: string,
    advice: string,
    readonly file: string,
    /** 1-based line of the bad record, or null for errors about the file itself */
    readonly line: number | null,
  ) {
    super(message, code, advice);
  }
}

/** Thrown by query() once the recording has no more batches (and no error). */
export class ReplayEnded extends Error {
  override name = 'ReplayEnded';
  readonly code = 'EREPLAYEND';
}

export interface ReplayOptions {
  /** 1 = the recorded pace, 2 = twice as fast; Infinity = as fast as the consumer asks */
  speed?: number;
  /** play only the exit feed: query batches are skipped (for an exits-only consumer) */
  exitsOnly?: boolean;
}

const CHUNK_BYTES = 1 << 20;
// delaytop writes ~1 KB per task into a query line (the dashboard asks every task, every
// thread in thread view): 64 MiB holds 65,536 tasks and bounds what a hostile line costs.
const MAX_LINE_BYTES = 64 << 20;
// setTimeout fires at once (with a warning) above 2^31-1 ms: a longer gap is waited in parts.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Line {
  no: number;
  text: string;
  /** false when the file ended without a newline after this line */
  terminated: boolean;
}

/** Sync, chunked line reader: a recording can be far larger than memory wants to hold. */
class LineReader {
  /** unread bytes of the last chunk */
  private buf = Buffer.alloc(0);
  /** the current line's bytes from earlier chunks (no newline in them), joined once it ends */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private eof = false;
  private no = 0;
  private decoder = new TextDecoder('utf-8', { fatal: true });
  constructor(
    private fd: number,
    private file: string,
  ) {}

  next(): Line | null {
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0) {
        this.checkLength(nl);
        const raw = this.join(this.buf.subarray(0, nl));
        this.buf = this.buf.subarray(nl + 1);
        return this.make(raw, true);
      }
      if (this.buf.length) {
        this.checkLength(this.buf.length);
        this.parts.push(this.buf);
        this.partsBytes += this.buf.length;
        this.buf = Buffer.alloc(0);
      }
      if (this.eof) return this.partsBytes ? this.make(this.join(Buffer.alloc(0)), false) : null;
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let n: number;
      try {
        n = readSync(this.fd, chunk, 0, CHUNK_BYTES, null);
      } catch (e) {
        throw new ReplayError(
          `cannot read ${this.file}: ${(e as Error).message}`,
          (e as NodeJS.ErrnoException).code ?? 'EIO',
          '',
          this.file,
          this.no + 1,
        );
      }
      if (n === 0) this.eof = true;
      else this.buf = chunk.subarray(0, n);
    }
  }

  /** The current line would grow by `more` bytes: refused past the bound, before it is all read. */
  private checkLength(more: number): void {
    if (this.partsBytes + more > MAX_LINE_BYTES) {
      throw new LineErrorAt(
        this.no + 1,
        `longer than ${MAX_LINE_BYTES >> 20} MiB (delaytop writes about 1 KB per task): not a delaytop recording, or a damaged one`,
      );
    }
  }

  private join(last: Buffer): Buffer {
    if (this.parts.length === 0) return last;
    const all = Buffer.concat([...this.parts, last], this.partsBytes + last.length);
    this.parts = [];
    this.partsBytes = 0;
    return all;
  }

  private make(raw: Buffer, terminated: boolean): Line {
    const no = ++this.no;
    if (raw.includes(0))
      throw new LineErrorAt(no, 'holds binary data (NUL bytes): not a delaytop recording, or a damaged one');
    let text: string;
    try {
      text = this.decoder.decode(raw);
    } catch {
      throw new LineErrorAt(no, 'holds binary data (invalid UTF-8): not a delaytop recording, or a damaged one');
    }
    return { no, text, terminated };
  }
}

class LineErrorAt extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

function openError(file: string, e: NodeJS.ErrnoException): ReplayError {
  switch (e.code) {
    case 'ENOENT':
      return new ReplayError(`cannot replay ${file}: no such file`, e.code, '', file, null);
    case 'EACCES':
    case 'EPERM':
      return new ReplayError(
        `cannot replay ${file}: permission denied`,
        e.code,
        'Recordings are created readable by their owner only (0600): replay as the user who recorded, or with sudo.',
        file,
        null,
      );
    case 'ELOOP':
      return new ReplayError(
        `refusing to replay ${file}: it is a symbolic link`,
        e.code,
        'delaytop does not follow symlinks for recordings; give the real path.',
        file,
        null,
      );
    default:
      return new ReplayError(`cannot replay ${file}: ${e.message}`, e.code ?? 'EIO', '', file, null);
  }
}

type Waiter = { resolve: (r: QueryRec) => void; reject: (e: Error) => void };

export class ReplaySource implements StatsSource {
  readonly name = 'replay';
  readonly header: HeaderRec;
  /** resolves once the last query batch has been handed out (at once if there are none) */
  readonly queriesDone: Promise<void>;
  /** resolves once every valid record has been played; `error` is set by then if a line was bad */
  readonly finished: Promise<void>;
  /** the bad line that ended the replay, published once everything before it was played */
  error: ReplayError | null = null;
  /** query batches that fell due before the consumer asked for the previous one (paced mode) */
  skippedBatches = 0;
  /** the file has an "end" line (a clean close, not a crash); known once the reader got there */
  complete = false;

  private fd: number | null;
  private reader: LineReader;
  private ahead: Rec[] = [];
  private exhausted = false;
  private pendingError: ReplayError | null = null;
  private speed: number;
  private started = false;
  private anchorMs = 0;
  private firstT = 0;
  private timer: NodeJS.Timeout | undefined;
  private due: QueryRec | null = null;
  private last: QueryRec | null = null;
  private waiters: Waiter[] = [];
  private exitFn: ((b: ExitBatch) => void) | null = null;
  private exitsWanted = false;
  private exitBacklog: ExitBatch[] = [];
  private lastCounters: CpuCounters[] = [];
  private closed = false;
  private resolveQueriesDone!: () => void;
  private resolveFinished!: () => void;
  private queriesDoneFired = false;
  private finishedFired = false;

  /** Opens FILE and reads its header. Throws ReplayError (missing, unreadable, symlink, empty, not a recording). */
  constructor(
    readonly file: string,
    private opts: ReplayOptions = {},
  ) {
    this.speed = opts.speed ?? 1;
    if (!(this.speed > 0)) throw new RangeError(`replay speed must be above 0, not ${this.speed}`);
    this.queriesDone = new Promise((r) => {
      this.resolveQueriesDone = r;
    });
    this.finished = new Promise((r) => {
      this.resolveFinished = r;
    });
    try {
      this.fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      throw openError(file, e as NodeJS.ErrnoException);
    }
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile()) throw new ReplayError(`cannot replay ${file}: not a regular file`, 'EINVAL', '', file, null);
      this.reader = new LineReader(this.fd, file);
      let first: Line | null;
      try {
        first = this.reader.next();
      } catch (e) {
        throw this.lineError(e);
      }
      if (!first)
        throw new ReplayError(
          `${file} is empty: not a delaytop recording (it has no header line)`,
          'EBADRECORDING',
          '',
          file,
          1,
        );
      try {
        this.header = parseHeader(first.text);
      } catch (e) {
        throw this.lineError(e, first.no);
      }
    } catch (e) {
      closeSync(this.fd);
      this.fd = null;
      throw e;
    }
    this.fillAhead();
    this.checkQueriesDone();
  }

  /** The whole file was read, every line valid, and it has no end line: the writer was cut off. */
  get endsEarly(): boolean {
    return this.exhausted && !this.pendingError && !this.complete;
  }

  private lineError(e: unknown, no?: number): ReplayError {
    if (e instanceof ReplayError) return e;
    const line = e instanceof LineErrorAt ? e.line : (no ?? 0);
    if (!(e instanceof LineErrorAt) && !(e instanceof LineError)) throw e;
    const advice = line > 1 ? `Every valid record before line ${line} was played.` : '';
    return new ReplayError(`${this.file}:${line}: ${e.message}`, 'EBADRECORDING', advice, this.file, line);
  }

  /** The next record from the file; null at the end or at the first bad line (kept as pendingError). */
  private read(): Rec | null {
    if (this.exhausted) return null;
    let line: Line | null = null;
    try {
      line = this.reader.next();
      if (!line) {
        this.exhausted = true;
        return null;
      }
      const r = parseRecord(line.text);
      if (r.type === 'end') this.complete = true;
      return r;
    } catch (e) {
      this.exhausted = true;
      // The writer ends every line with \n: one without it was cut off mid-write.
      const cut = line && !line.terminated && e instanceof LineError;
      const err = cut
        ? new LineError(`cut short (the file ends in the middle of a record: the recording was truncated)`)
        : e;
      this.pendingError = this.lineError(err, line?.no);
      return null;
    }
  }

  /** Read ahead until a query batch is buffered (or the file is exhausted). */
  private fillAhead(): void {
    if (this.opts.exitsOnly) {
      if (this.ahead.length === 0) {
        const r = this.read();
        if (r) this.ahead.push(r);
      }
      return;
    }
    while (!this.ahead.some((r) => r.type === 'query')) {
      const r = this.read();
      if (!r) return;
      this.ahead.push(r);
    }
  }

  private hasQueryAhead(): boolean {
    this.fillAhead();
    return this.ahead.some((r) => r.type === 'query');
  }

  /** queriesDone: no batch is waiting to be handed out and none is left in the file. */
  private checkQueriesDone(): void {
    if (this.queriesDoneFired || this.due || (!this.opts.exitsOnly && this.hasQueryAhead())) return;
    this.queriesDoneFired = true;
    this.resolveQueriesDone();
  }

  private fireFinished(): void {
    if (this.finishedFired) return;
    this.finishedFired = true;
    this.error = this.pendingError;
    this.checkQueriesDone();
    for (const w of this.waiters.splice(0)) w.reject(this.endError());
    this.closeFile();
    this.resolveFinished();
  }

  private endError(): Error {
    return this.error ?? new ReplayEnded(`the recording ${this.file} has no more samples`);
  }

  private closeFile(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private peek(): Rec | undefined {
    if (this.ahead.length === 0) this.fillAhead();
    return this.ahead[0];
  }

  private shift(): Rec | undefined {
    const r = this.peek();
    if (r) this.ahead.shift();
    return r;
  }

  // ------------------------------------------------------------ the timeline

  private ensureStarted(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.anchorMs = monotonicNs() / 1e6;
    this.firstT = this.peek()?.t ?? 0;
    if (Number.isFinite(this.speed)) this.schedule();
    else if (this.opts.exitsOnly) this.pumpFast();
  }

  /** Paced: wait for the next record's time, then play everything due. */
  private schedule(): void {
    if (this.closed) return;
    const next = this.peek();
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
        while ((r = this.peek()) && this.anchorMs + (r.t - this.firstT) / this.speed <= now) {
          this.ahead.shift();
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
    const r = this.shift();
    if (!r) return this.fireFinished();
    this.play(r);
    setImmediate(() => this.pumpFast());
  }

  /** Play one record; true when it woke a waiting query() consumer. */
  private play(r: Rec): boolean {
    switch (r.type) {
      case 'query':
        if (this.opts.exitsOnly) return false;
        return this.offerQuery(r);
      case 'exits':
        this.lastCounters = r.batch.counters;
        if (this.exitFn) this.exitFn(r.batch);
        else if (this.exitsWanted) this.exitBacklog.push(r.batch);
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

  private answer(r: QueryRec, targets: readonly Target[]): QueryBatch {
    this.last = r;
    this.checkQueriesDone();
    const byKey = new Map<string, QueryResult>();
    for (const res of r.batch.results) byKey.set(targetKey(res.target), res);
    // One result per asked target, in order; a target the recording did not sample is gone.
    const results = targets.map((t): QueryResult => {
      const found = byKey.get(targetKey(t));
      return found ? { ...found, target: t } : { target: t, status: 'gone' };
    });
    return { atNs: r.batch.atNs, wallMs: r.wallMs, results };
  }

  // ------------------------------------------------------------ StatsSource

  async query(targets: readonly Target[]): Promise<QueryBatch> {
    if (this.closed) throw new ReplayEnded('the replay was closed');
    this.ensureStarted();
    if (this.due) {
      const r = this.due;
      this.due = null;
      return this.answer(r, targets);
    }
    if (!Number.isFinite(this.speed)) {
      // As fast as the consumer asks: play up to the next batch now.
      for (;;) {
        const r = this.shift();
        if (!r) {
          this.fireFinished();
          throw this.endError();
        }
        if (r.type === 'query') {
          const out = this.answer(r, targets);
          if (!this.hasQueryAhead()) {
            // No batch follows: play the trailing exits and finish.
            let rest: Rec | undefined;
            while ((rest = this.shift())) this.play(rest);
            this.fireFinished();
          }
          return out;
        }
        this.play(r);
      }
    }
    if (this.finishedFired || !this.hasQueryAhead()) {
      await this.finished;
      throw this.endError();
    }
    const r = await new Promise<QueryRec>((resolve, reject) => this.waiters.push({ resolve, reject }));
    return this.answer(r, targets);
  }

  /** The tasks of the batch about to be played (or the last one played). */
  list(mode: ListMode): TaskId[] {
    const r = this.upcoming();
    if (!r) return [];
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

  private upcoming(): QueryRec | null {
    if (this.due) return this.due;
    this.fillAhead();
    return (this.ahead.find((x) => x.type === 'query') as QueryRec | undefined) ?? this.last;
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

  /** The recorded exit feed, on the same timeline as the samples. */
  exits(): ExitSource {
    this.exitsWanted = true;
    return {
      cpus: this.header.exitCpus ?? [],
      start: (fn) => {
        this.exitFn = fn;
        for (const b of this.exitBacklog.splice(0)) fn(b);
        this.ensureStarted();
      },
      close: () => {
        this.exitFn = null;
        return { records: [], counters: this.lastCounters };
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.waiters.splice(0)) w.reject(new ReplayEnded('the replay was closed'));
    this.closeFile();
  }
}
