// Small /proc files read again and again (the rows on screen every refresh, a sysctl
// several times a second), through a descriptor kept open and read at offset 0: the kernel
// formats such a file afresh for a read at position 0 (seq_file and sysctl files start
// over there), so one pread serves instead of an open, a read and a close. Only for files
// the kernel makes: a regular file replaced by another (a rename) would still be read
// through the old one. A kept /proc/ID/... descriptor stays bound to the task it was
// opened for: once that task is gone a read fails (ESRCH), and the path is opened again,
// which names whoever holds the id now.
import { closeSync, openSync, readSync } from 'node:fs';

const buffer = Buffer.allocUnsafe(4096);

/** Read a file through `fd` from offset 0 to its end, as latin1 text (positioned reads only). */
function readAtZero(fd: number): string {
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  if (n < buffer.length) return buffer.toString('latin1', 0, n);
  const parts = [Buffer.from(buffer)];
  for (let at = n; ;) {
    const more = Buffer.allocUnsafe(64 << 10);
    const m = readSync(fd, more, 0, more.length, at);
    if (m === 0) break;
    parts.push(more.subarray(0, m));
    at += m;
  }
  return Buffer.concat(parts).toString('latin1');
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do: the descriptor is forgotten either way
  }
}

export class KeptFiles {
  private files = new Map<string, { fd: number; readAtSweep: number }>();
  private sweeps = 0;

  /**
   * `max`: descriptors kept at most; beyond them (and with 0) a file is opened, read and
   * closed. `idleSweeps`: a file not read for more sweeps than this is closed.
   */
  constructor(
    private readonly max = 512,
    private readonly idleSweeps = 8,
  ) {}

  /** The file's text (latin1); throws as readFileSync would when it cannot be opened or read. */
  read(path: string): string {
    const kept = this.files.get(path);
    if (kept !== undefined) {
      try {
        kept.readAtSweep = this.sweeps;
        return readAtZero(kept.fd);
      } catch {
        // its task is gone (or the file went away): open the path again below
        this.files.delete(path);
        closeQuietly(kept.fd);
      }
    }
    const fd = openSync(path, 'r');
    let keep = false;
    try {
      const text = readAtZero(fd);
      keep = this.files.size < this.max;
      if (keep) this.files.set(path, { fd, readAtSweep: this.sweeps });
      return text;
    } finally {
      if (!keep) closeQuietly(fd);
    }
  }

  /** One round of reads is over: close the files not read in the last `idleSweeps` rounds. */
  sweep(): void {
    this.sweeps++;
    for (const [path, f] of this.files) {
      if (this.sweeps - f.readAtSweep <= this.idleSweeps) continue;
      this.files.delete(path);
      closeQuietly(f.fd);
    }
  }

  /** Close every kept file. */
  close(): void {
    for (const f of this.files.values()) closeQuietly(f.fd);
    this.files.clear();
  }

  /** descriptors kept now (for tests) */
  get size(): number {
    return this.files.size;
  }
}

/** Nothing kept: each read opens, reads and closes (a one-off read, or files that are not the kernel's). */
export const onceFiles = new KeptFiles(0);

/** Kernel files of fixed paths (sysctls, /proc/pressure) read all through the process's life: never swept. */
export const systemFiles = new KeptFiles(32);
