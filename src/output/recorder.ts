// -w/--write FILE: record what the session saw. Decorators around the stats and exit
// sources write every batch that passes through them, unchanged, as JSON Lines
// (format: sources/recordformat.ts). The file is private (0600), never reached through a
// symlink, and flushed at least once a second, so a crash loses at most the last second.
import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';
import os from 'node:os';
import { keepStatsBytes } from '../kernel/decode.js';
import { TaskstatsError } from '../kernel/errors.js';
import type { CpuCounters } from '../kernel/exitrecord.js';
import type { DelayacctState } from '../model/recording.js';
import type { ExitBatch, ExitSource } from '../sources/exits.js';
import type { ListMode, TaskId } from '../sources/proctasks.js';
import { endLine, exitsLine, headerLine, lossLine, queryLine, type RecordingFacts } from '../sources/recordformat.js';
import { bootTimeSec, readCpulist } from '../sources/system.js';
import { monotonicNs, type FieldsFor, type QueryBatch, type StatsSource, type Target } from '../sources/types.js';

export const FLUSH_INTERVAL_MS = 1000;
const FLUSH_BYTES = 1 << 20;

export class RecordingError extends TaskstatsError {
  override name = 'RecordingError';
}

/** Open FILE for writing a recording: create 0600, truncate, refuse a symlink or a non-file. */
export function openRecordingFile(path: string): number {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no reader would otherwise hang here.
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    throw recordingOpenError(path, e as NodeJS.ErrnoException);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() && !st.isCharacterDevice()) {
      throw new RecordingError(`cannot record to ${path}: not a regular file`, 'EINVAL', 'Name a plain file for -w, e.g. -w delaytop.jsonl');
    }
    // An existing file keeps its mode through O_TRUNC: a recording shows every user's tasks.
    if (st.isFile() && (st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch (e) {
    closeSync(fd);
    if (e instanceof RecordingError) throw e;
    throw recordingOpenError(path, e as NodeJS.ErrnoException);
  }
  return fd;
}

function recordingOpenError(path: string, e: NodeJS.ErrnoException): RecordingError {
  switch (e.code) {
    case 'ELOOP':
      return new RecordingError(
        `refusing to record to ${path}: it is a symbolic link`,
        'ELOOP',
        'delaytop never writes a recording through a symlink (another user could point it at any file). Remove the link or name another file.',
      );
    case 'EACCES':
    case 'EPERM':
      return new RecordingError(`cannot record to ${path}: permission denied`, e.code, 'Choose a file in a directory you can write to.');
    case 'ENOENT':
      return new RecordingError(`cannot record to ${path}: no such directory`, e.code, 'Create the directory first, or name a file in an existing one.');
    case 'ENXIO': // a FIFO nobody reads
      return new RecordingError(`cannot record to ${path}: not a regular file`, e.code, 'Name a plain file for -w, e.g. -w delaytop.jsonl');
    case 'EISDIR':
      return new RecordingError(`cannot record to ${path}: it is a directory`, e.code, 'Name a file, e.g. -w delaytop.jsonl');
    default:
      return new RecordingError(`cannot record to ${path}: ${e.message}`, e.code ?? 'EIO', '');
  }
}

export interface RecorderOptions {
  /** kernel.task_delayacct as the session tracks it; written with each query batch */
  delayacct?: () => DelayacctState;
  /** a write failed (e.g. disk full): recording stops, the session goes on */
  onError?: (e: RecordingError) => void;
}

/** The facts of this machine for the header; the CLI fills in the session's parts. */
export function systemFacts(session: Pick<RecordingFacts, 'statsSource' | 'exitCpus' | 'delayacct'> & Partial<RecordingFacts>): RecordingFacts {
  const boot = bootTimeSec();
  return {
    startedMs: Date.now(),
    kernelRelease: os.release(),
    hostname: os.hostname(),
    cpusOnline: readCpulist('online'),
    cpusPossible: readCpulist('possible'),
    ...(boot !== undefined ? { bootTimeSec: boot } : {}),
    banners: [],
    ...session,
  };
}

/** Recorders open now: STATS bytes are kept while there is one. */
let recording = 0;

export class Recorder {
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout;
  private startNs = monotonicNs();
  private lastLost = new Map<number, number>();
  /** set when a write failed; nothing more is recorded */
  error: RecordingError | null = null;

  /** Open FILE and write the header. Throws RecordingError (symlink, permission, ...). */
  constructor(readonly path: string, facts: RecordingFacts, private opts: RecorderOptions = {}) {
    this.fd = openRecordingFile(path);
    if (recording++ === 0) keepStatsBytes(true);
    this.write(headerLine(facts));
    this.flush();
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private t(): number {
    return (monotonicNs() - this.startNs) / 1e6;
  }

  private write(line: string): void {
    if (this.fd === null) return;
    this.pending.push(line + '\n');
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Write out what is buffered (also done every second and on close). */
  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException);
    }
  }

  private fail(e: NodeJS.ErrnoException): void {
    this.error = new RecordingError(`recording to ${this.path} stopped: ${e.message}`, e.code ?? 'EIO', e.code === 'ENOSPC' ? 'The disk is full.' : '');
    try { closeSync(this.fd!); } catch { /* already failing */ }
    this.release();
    this.opts.onError?.(this.error);
  }

  private release(): void {
    clearInterval(this.timer);
    this.fd = null;
    if (--recording === 0) keepStatsBytes(false);
  }

  recordQuery(batch: QueryBatch): void {
    this.write(queryLine(this.t(), batch.wallMs ?? Date.now(), this.opts.delayacct?.() ?? null, batch));
  }

  recordExits(batch: ExitBatch): void {
    if (batch.records.length === 0 && !this.countersChanged(batch.counters)) return;
    const t = this.t();
    this.write(exitsLine(t, batch));
    for (const c of batch.counters) {
      const before = this.lastLost.get(c.cpu) ?? 0;
      if (c.lost > before) this.write(lossLine(t, c));
      this.lastLost.set(c.cpu, c.lost);
    }
  }

  private lastCounters = '';
  private countersChanged(counters: CpuCounters[]): boolean {
    const key = JSON.stringify(counters);
    const changed = key !== this.lastCounters;
    this.lastCounters = key;
    return changed;
  }

  /** A StatsSource that records every batch it returns. */
  wrapStats(inner: StatsSource): StatsSource {
    return new RecordingStatsSource(inner, this);
  }

  /** An ExitSource that records every batch it delivers, and the final one. */
  wrapExits(inner: ExitSource): ExitSource {
    return new RecordingExitSource(inner, this);
  }

  /** Write the end line, flush, close. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    this.write(endLine(this.t()));
    this.flush();
    if (this.fd === null) return; // the flush failed
    const fd = this.fd;
    this.release();
    closeSync(fd);
  }
}

class RecordingStatsSource implements StatsSource {
  constructor(private inner: StatsSource, private rec: Recorder) {}
  get name() {
    return this.inner.name;
  }
  async query(targets: readonly Target[], fields?: FieldsFor): Promise<QueryBatch> {
    // the recording keeps each record's whole STATS bytes whatever the consumer decodes
    const batch = await this.inner.query(targets, fields);
    this.rec.recordQuery(batch);
    return batch;
  }
  list(mode: ListMode, of?: ReadonlySet<number>): TaskId[] {
    return this.inner.list(mode, of);
  }
  close(): void {
    this.inner.close();
  }
}

class RecordingExitSource implements ExitSource {
  constructor(private inner: ExitSource, private rec: Recorder) {}
  get cpus() {
    return this.inner.cpus;
  }
  start(fn: (batch: ExitBatch) => void): void {
    this.inner.start((b) => {
      this.rec.recordExits(b);
      fn(b);
    });
  }
  close(): ExitBatch {
    const last = this.inner.close();
    this.rec.recordExits(last);
    return last;
  }
}
