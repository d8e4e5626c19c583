// Files delaytop writes or trusts on its user's behalf (a -w recording, the settings file).
// delaytop often runs as root with a path another user chose or controls (sudo -E keeps
// HOME), so a path must not be turned against root: these checks say what is wrong with
// a file or a directory, and each caller words the refusal for its own case.
import { closeSync, constants, fstatSync, lstatSync, openSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';

const { O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

export function effectiveUid(): number {
  return process.geteuid?.() ?? 0;
}

/** What is wrong with a path; `code` an errno name that fits, `reason` words for "PATH: reason". */
export interface Unsafe {
  code: 'ELOOP' | 'EISDIR' | 'EINVAL' | 'EPERM' | 'EMLINK' | 'ENOTDIR' | 'EAGAIN';
  reason: string;
}

/** Thrown by openOwnFile for a path that is there but not ours to use. */
export class UnsafeFileError extends Error {
  override name = 'UnsafeFileError';
  constructor(
    readonly path: string,
    readonly unsafe: Unsafe,
  ) {
    super(`${path}: ${unsafe.reason}`);
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** An existing file may be used only when it is a regular file of ours that no other name shares. */
export function ownFileProblem(st: Stats, euid = effectiveUid()): Unsafe | null {
  if (st.isSymbolicLink()) return { code: 'ELOOP', reason: 'it is a symbolic link' };
  if (st.isDirectory()) return { code: 'EISDIR', reason: 'it is a directory' };
  if (!st.isFile()) return { code: 'EINVAL', reason: `it is ${kindOf(st)}, not a regular file` };
  if (st.uid !== euid) return { code: 'EPERM', reason: `it belongs to uid ${st.uid}, not to you (uid ${euid})` };
  // (a hard link's other names could be any file of ours, e.g. /etc/shadow for root)
  if (st.nlink !== 1) return { code: 'EMLINK', reason: `it has ${st.nlink} hard links` };
  return null;
}

/** A directory delaytop creates entries in must be ours: another user could swap or read them. */
export function ownDirProblem(st: Stats, euid = effectiveUid()): Unsafe | null {
  if (!st.isDirectory()) return { code: 'ENOTDIR', reason: 'it is not a directory' };
  if (st.uid !== euid) return { code: 'EPERM', reason: `it belongs to uid ${st.uid}, not to you (uid ${euid})` };
  return null;
}

/**
 * The first directory above `path` that is a symbolic link of neither root nor the effective
 * user: one planted to send a root-owned file somewhere else (e.g. /tmp/x -> /root).
 */
export function foreignSymlinkAbove(path: string, euid = effectiveUid()): { at: string; uid: number } | null {
  const dirs = resolve(path).split('/').slice(1, -1);
  let at = '';
  for (const d of dirs) {
    at += `/${d}`;
    let st: Stats;
    try {
      st = lstatSync(at);
    } catch {
      return null; // a missing directory: the open that follows fails and says so
    }
    if (st.isSymbolicLink() && st.uid !== 0 && st.uid !== euid) return { at, uid: st.uid };
  }
  return null;
}

/**
 * Open an existing file only if it is our own (ownFileProblem), as fstat of the opened
 * descriptor says (the path could change after any check of it). It is refused by its lstat
 * before it is opened too: opening a device or a FIFO can act on it. Throws UnsafeFileError,
 * or the errno error of lstat/open (ENOENT: not there).
 */
export function openOwnFile(path: string, flags: number): number {
  const st = lstatSync(path);
  const before = ownFileProblem(st);
  if (before) throw new UnsafeFileError(path, before);
  // O_NONBLOCK: a FIFO swapped in after the lstat must not hang the open.
  const fd = openSync(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  try {
    const opened = fstatSync(fd);
    const now = ownFileProblem(opened);
    if (now) throw new UnsafeFileError(path, now);
    if (opened.dev !== st.dev || opened.ino !== st.ino)
      throw new UnsafeFileError(path, { code: 'EAGAIN', reason: 'it was replaced while being opened' });
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
