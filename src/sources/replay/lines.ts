// A recording's lines, read in chunks: a recording can be far larger than memory wants to
// hold. A line is bounded in length and must be text (no NUL, valid UTF-8).
import { readSync } from 'node:fs';
import { LineErrorAt, ReplayError } from './errors.js';

const CHUNK_BYTES = 1 << 20;
// delaytop writes ~1 KB per task into a query line (the dashboard asks every task, every
// thread in thread view): 64 MiB holds 65,536 tasks and bounds what a hostile line costs.
const MAX_LINE_BYTES = 64 << 20;

export interface Line {
  no: number;
  text: string;
  /** false when the file ended without a newline after this line */
  terminated: boolean;
}

/** Sync, chunked line reader of an open file. */
export class LineReader {
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

  /** The next line; null at the end of the file. Throws LineErrorAt for a line that is not text, ReplayError if reading fails. */
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
      this.readChunk();
    }
  }

  private readChunk(): void {
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
