// -w/--write FILE: record what the session saw. Decorators around the stats and exit
// sources write every batch that passes through them, unchanged, as JSON Lines
// (format: sources/recordformat.ts). The file is private (0600), never reached through a
// symlink or a hard link, never another user's, and flushed at least once a second, so a
// crash loses at most the last second. A write that fails (disk full, EIO) stops the
// recording on its last whole line.
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import os from 'node:os';
import { foreignSymlinkAbove, openOwnFile, UnsafeFileError, type Unsafe } from '../file-safety.js';
import { keepStatsBytes } from '../kernel/decode.js';
import { describeErrno, TaskstatsError } from '../kernel/errors.js';
import type { CpuCounters } from '../kernel/exitrecord.js';
import type { DelayacctState } from '../model/delayacct.js';
import type { ListMode, TaskId } from '../sources/proctasks.js';
import { endLine, exitsLine, headerLine, lossLine, queryLine, type RecordingFacts } from '../sources/recordformat.js';
import { bootTimeSec, readCpulist } from '../sources/system.js';
import {
  monotonicNs,
  type ExitBatch,
  type ExitSource,
  type FieldsFor,
  type QueryBatch,
  type StatsSource,
  type Target,
} from '../sources/types.js';

export const FLUSH_INTERVAL_MS = 1000;
const FLUSH_BYTES = 1 << 20;
/** exit records an "exits" line holds at most */
export const EXITS_PER_LINE = 2048;

export class RecordingError extends TaskstatsError {
  override name = 'RecordingError';
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NOCTTY } = constants;

/**
 * Open FILE for writing a recording. delaytop often runs as root and a recording shows every
 * user's tasks, so the path must not be turned against its user: a new file is created
 * exclusively (O_EXCL: never through a symlink, never someone else's file made in between);
 * an existing one is used only if it is a regular file of the effective user with one link
 * (openOwnFile), and only then truncated and made 0600. Anything else is refused and left
 * untouched.
 */
export function openRecordingFile(path: string): number {
  const planted = foreignSymlinkAbove(path);
  if (planted) {
    throw new RecordingError(
      `refusing to record to ${path}: ${planted.at} is a symbolic link of uid ${planted.uid}`,
      'ELOOP',
      'Another user could point it anywhere. Name a file in a directory that you or root own.',
    );
  }
  try {
    const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o600);
    try {
      fchmodSync(fd, 0o600); // the umask may have taken the owner's write bit
    } catch (e) {
      closeSync(fd);
      throw recordingOpenError(path, e as NodeJS.ErrnoException);
    }
    return fd;
  } catch (e) {
    if (e instanceof RecordingError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw recordingOpenError(path, e as NodeJS.ErrnoException);
  }
  let fd: number;
  try {
    fd = openOwnFile(path, O_WRONLY);
  } catch (e) {
    if (e instanceof UnsafeFileError) throw refusal(path, e.unsafe);
    throw recordingOpenError(path, e as NodeJS.ErrnoException);
  }
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600); // O_TRUNC would keep an old file's mode
    ftruncateSync(fd, 0);
  } catch (e) {
    closeSync(fd);
    throw recordingOpenError(path, e as NodeJS.ErrnoException);
  }
  return fd;
}

const ANOTHER_FILE = 'Name a new file for -w (delaytop creates it, mode 0600), e.g. -w delaytop.jsonl';

/** An existing path that is not ours to overwrite, with what to do instead. */
function refusal(path: string, u: Unsafe): RecordingError {
  switch (u.code) {
    case 'ELOOP':
    case 'EISDIR':
      return recordingOpenError(path, Object.assign(new Error(u.reason), { code: u.code }));
    case 'EPERM':
      return new RecordingError(
        `refusing to record to ${path}: ${u.reason}`,
        u.code,
        "The file would keep its owner, who could then read the recording (every user's tasks). Remove it, or name a new file for -w.",
      );
    case 'EMLINK':
      return new RecordingError(
        `refusing to record to ${path}: ${u.reason}`,
        u.code,
        'Writing it would overwrite the file under its other names too. Remove this name (the others keep the file), or name a new file for -w.',
      );
    default:
      return new RecordingError(`refusing to record to ${path}: ${u.reason}`, u.code, ANOTHER_FILE);
  }
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
      return new RecordingError(
        `cannot record to ${path}: permission denied`,
        e.code,
        'Choose a file in a directory you can write to.',
      );
    case 'ENOENT':
      return new RecordingError(
        `cannot record to ${path}: no such directory`,
        e.code,
        'Create the directory first, or name a file in an existing one.',
      );
    case 'ENXIO': // a FIFO nobody reads
      return new RecordingError(
        `refusing to record to ${path}: it is a FIFO, not a regular file`,
        e.code,
        ANOTHER_FILE,
      );
    case 'EISDIR':
      return new RecordingError(
        `cannot record to ${path}: it is a directory`,
        e.code,
        'Name a file, e.g. -w delaytop.jsonl',
      );
    default:
      return new RecordingError(`cannot record to ${path}: ${describeErrno(e)}`, e.code ?? 'EIO', '');
  }
}

export interface RecorderOptions {
  /** kernel.task_delayacct as the session tracks it; written with each query batch */
  delayacct?: () => DelayacctState;
  /** a write failed (e.g. disk full): nothing more is recorded; the file ends on its last whole line */
  onError?: (e: RecordingError) => void;
}

/** The facts of this machine for the header; the CLI fills in the session's parts. */
export function systemFacts(
  session: Pick<RecordingFacts, 'statsSource' | 'exitCpus' | 'delayacct'> & Partial<RecordingFacts>,
): RecordingFacts {
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
  /** bytes and lines in the file: every write that succeeded, all whole lines */
  private fileBytes = 0;
  private fileLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private startNs = monotonicNs();
  private lastLost = new Map<number, number>();
  /** set when a write failed; nothing more is recorded */
  error: RecordingError | null = null;

  /** Open FILE and write the header. Throws RecordingError (symlink, another user's file, a full disk, ...). */
  constructor(
    readonly path: string,
    facts: RecordingFacts,
    private opts: RecorderOptions = {},
  ) {
    this.fd = openRecordingFile(path);
    if (recording++ === 0) keepStatsBytes(true);
    this.write(headerLine(facts));
    const e = this.flush();
    if (e) throw e;
    this.timer = setInterval(() => this.flushOrReport(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private t(): number {
    return (monotonicNs() - this.startNs) / 1e6;
  }

  private write(line: string): void {
    if (this.fd === null) return;
    this.pending.push(line + '\n');
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes >= FLUSH_BYTES) this.flushOrReport();
  }

  private flushOrReport(): void {
    const e = this.flush();
    if (e) this.opts.onError?.(e);
  }

  /** Write out what is buffered (also done every second and on close); the error if that failed. */
  private flush(): RecordingError | null {
    if (this.fd === null || this.pending.length === 0) return null;
    const buf = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (e) {
      return this.fail(e as NodeJS.ErrnoException, buf.subarray(0, off));
    }
    this.fileBytes += buf.length;
    this.fileLines += this.linesIn(buf);
    return null;
  }

  private linesIn(buf: Buffer): number {
    let n = 0;
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
    return n;
  }

  /** `written`: the part of the failed write that reached the file. */
  private fail(e: NodeJS.ErrnoException, written: Buffer): RecordingError {
    // A full disk takes what fits, so the file can end mid-line: cut it back to its last
    // whole line, so a replay plays every record and finds only the end line missing.
    const whole = written.lastIndexOf(0x0a) + 1;
    const lines = this.fileLines + this.linesIn(written.subarray(0, whole));
    try {
      ftruncateSync(this.fd!, this.fileBytes + whole);
    } catch {
      // the file stays as the failed write left it; a replay names the cut line
    }
    this.error = new RecordingError(
      `recording to ${this.path} failed: ${describeErrno(e)}; ${lines ? `the file keeps its first ${lines === 1 ? 'line' : `${lines} lines`}, without an end line` : 'the file is empty'}`,
      e.code ?? 'EIO',
      '',
    );
    try {
      closeSync(this.fd!);
    } catch {
      /* already failing */
    }
    this.release();
    return this.error;
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
    const { records, counters } = batch;
    if (records.length === 0 && !this.countersChanged(counters)) return;
    const t = this.t();
    // A storm's batch (up to ~110,000 records) is written in lines of EXITS_PER_LINE, not
    // as one line of ~165 MB; each carries the batch's counters (cumulative: a replay takes
    // the last it read, so repeating them changes nothing).
    for (let i = 0; i === 0 || i < records.length; i += EXITS_PER_LINE)
      this.write(exitsLine(t, { records: records.slice(i, i + EXITS_PER_LINE), counters }));
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
    if (this.fd === null) return; // the write's flush failed
    this.flushOrReport();
    if (this.fd === null) return;
    const fd = this.fd;
    this.release();
    closeSync(fd);
  }
}

class RecordingStatsSource implements StatsSource {
  constructor(
    private inner: StatsSource,
    private rec: Recorder,
  ) {}
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
  listYielding(mode: ListMode, of?: ReadonlySet<number>): Promise<TaskId[]> {
    return this.inner.listYielding?.(mode, of) ?? Promise.resolve(this.inner.list(mode, of));
  }
  close(): void {
    this.inner.close();
  }
}

class RecordingExitSource implements ExitSource {
  /** hands over on demand where the inner source can (what it hands over is recorded as it passes) */
  readonly flush?: () => void;
  constructor(
    private inner: ExitSource,
    private rec: Recorder,
  ) {
    if (inner.flush) this.flush = () => inner.flush!();
  }
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
