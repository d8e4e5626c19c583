// The recording file of a replay: opened without following links, its header read at once,
// then its records read ahead as the timeline needs them. The first bad line ends the
// reading and is held back until every record before it has been played.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { LineError, parseHeader, parseRecord, type HeaderRec, type QueryRec, type Rec } from '../recordformat.js';
import { lineError, openError, ReplayError } from './errors.js';
import { LineReader, type Line } from './lines.js';

export class RecordingFile {
  readonly header: HeaderRec;
  /** the file has an "end" line (a clean close, not a crash); known once the reader got there */
  complete = false;
  /** every line was read, or reading stopped at a bad one */
  exhausted = false;
  /** the bad line that ended the reading, to be published once everything before it was played */
  pendingError: ReplayError | null = null;

  private fd: number | null;
  private reader: LineReader;
  private ahead: Rec[] = [];

  /**
   * Opens FILE and reads its header, then reads ahead to the first query batch (to the first
   * record with exitsOnly). Throws ReplayError (missing, unreadable, symlink, empty, not a recording).
   */
  constructor(
    readonly file: string,
    private exitsOnly: boolean,
  ) {
    try {
      this.fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      throw openError(file, e as NodeJS.ErrnoException);
    }
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile()) throw new ReplayError(`cannot replay ${file}: not a regular file`, 'EINVAL', '', file, null);
      this.reader = new LineReader(this.fd, file);
      this.header = this.readHeader();
    } catch (e) {
      closeSync(this.fd);
      this.fd = null;
      throw e;
    }
    this.fillAhead();
  }

  private readHeader(): HeaderRec {
    let first: Line | null;
    try {
      first = this.reader.next();
    } catch (e) {
      throw lineError(this.file, e);
    }
    if (!first)
      throw new ReplayError(
        `${this.file} is empty: not a delaytop recording (it has no header line)`,
        'EBADRECORDING',
        '',
        this.file,
        1,
      );
    try {
      return parseHeader(first.text);
    } catch (e) {
      throw lineError(this.file, e, first.no);
    }
  }

  /** The next record without taking it; undefined at the end or at the first bad line. */
  peek(): Rec | undefined {
    if (this.ahead.length === 0) this.fillAhead();
    return this.ahead[0];
  }

  /** The next record, taken. */
  shift(): Rec | undefined {
    const r = this.peek();
    if (r) this.ahead.shift();
    return r;
  }

  /** Whether a query batch is left in the file (with exitsOnly, only among the records read ahead). */
  hasQueryAhead(): boolean {
    this.fillAhead();
    return this.ahead.some((r) => r.type === 'query');
  }

  /** The next query batch in the file, not taken; null if none is left. */
  nextQuery(): QueryRec | null {
    this.fillAhead();
    return (this.ahead.find((x) => x.type === 'query') as QueryRec | undefined) ?? null;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Read ahead until a query batch is buffered (or the file is exhausted). */
  private fillAhead(): void {
    if (this.exitsOnly) {
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
      this.pendingError = lineError(this.file, err, line?.no);
      return null;
    }
  }
}
