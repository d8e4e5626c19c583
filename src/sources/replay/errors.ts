// What a replay can fail with: the file (missing, unreadable, a symlink), a bad line (named
// by file and line, after every valid record before it was played), or its end.
import { TaskstatsError } from '../../kernel/errors.js';
import { LineError } from '../recordformat.js';

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

/** A line the reader refuses as a line (too long, binary), before any parsing. */
export class LineErrorAt extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export function openError(file: string, e: NodeJS.ErrnoException): ReplayError {
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

/** A bad line (line `no` unless the error names its own) as the ReplayError that ends the replay; anything else is rethrown. */
export function lineError(file: string, e: unknown, no?: number): ReplayError {
  if (e instanceof ReplayError) return e;
  const line = e instanceof LineErrorAt ? e.line : (no ?? 0);
  if (!(e instanceof LineErrorAt) && !(e instanceof LineError)) throw e;
  const advice = line > 1 ? `Every valid record before line ${line} was played.` : '';
  return new ReplayError(`${file}:${line}: ${e.message}`, 'EBADRECORDING', advice, file, line);
}
