// The settings file, $XDG_CONFIG_HOME/delaytop/config.json (default ~/.config/...): read
// when the dashboard starts, written when the user quits it. delaytop runs as root, often
// with another user's HOME (sudo -E), so the file and its directory must be the effective
// user's: a file that is a symlink, a hard link, not a regular file or someone else's, in a
// directory of someone else's, is neither read nor written over (one warning says why).
// Writes are atomic: a new file (O_EXCL|O_NOFOLLOW, 0600) renamed over the old name. Every
// path below the directory goes through the directory's open descriptor
// (/proc/self/fd/N/NAME, the openat() node lacks), so the directory checked is the one used.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  effectiveUid,
  foreignSymlinkAbove,
  openOwnFile,
  ownDirProblem,
  ownFileProblem,
  UnsafeFileError,
} from '../file-safety.js';
import { describeErrno } from '../kernel/errors.js';
import { formatSettings, parseSettings, type Settings } from './schema.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NOCTTY, O_DIRECTORY } = constants;

/** A settings file is a few hundred bytes; anything this large is not one. */
const MAX_BYTES = 64 * 1024;

/**
 * $XDG_CONFIG_HOME/delaytop/config.json, else $HOME/.config/delaytop/config.json; null when
 * neither gives an absolute path (the XDG spec: a relative path is ignored).
 */
export function settingsPath(env: NodeJS.ProcessEnv = process.env, homedir: () => string = os.homedir): string | null {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'delaytop', 'config.json');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      return null;
    }
  }
  return home && path.isAbsolute(home) ? path.join(home, '.config', 'delaytop', 'config.json') : null;
}

/** Why a path is refused; the caller words the line. */
class Refused extends Error {
  override name = 'Refused';
}

/** A name inside an open directory, resolved through its descriptor. */
const inDir = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;

/** For an owner that is not root's, as root: the likely cause. */
function sudoHint(reason: string): string {
  return effectiveUid() === 0 && /belongs to uid [1-9]/.test(reason)
    ? " (HOME or XDG_CONFIG_HOME is another user's, as with sudo -E?)"
    : '';
}

/**
 * Open the directory `dir` (following symlinks of root's or ours only) and check it is ours.
 * `create`: make it, and missing directories above it, mode 0700, each in a directory of ours.
 * Throws Refused, or the errno error (ENOENT when not creating).
 */
function openOwnDir(dir: string, create: boolean): number {
  let fd: number;
  try {
    fd = openSync(dir, O_RDONLY | O_DIRECTORY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new Refused(`${dir} is not a directory`);
    if (code !== 'ENOENT' || !create || dir === path.dirname(dir)) throw e;
    const parent = openOwnDir(path.dirname(dir), true);
    const at = inDir(parent, path.basename(dir));
    try {
      try {
        mkdirSync(at, 0o700);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
      }
      fd = openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'ELOOP') throw new Refused(`${dir} is a symbolic link`);
      if ((e2 as NodeJS.ErrnoException).code === 'ENOTDIR') throw new Refused(`${dir} is not a directory`);
      throw e2;
    } finally {
      closeSync(parent);
    }
  }
  const problem = ownDirProblem(fstatSync(fd));
  if (problem) {
    closeSync(fd);
    throw new Refused(`the directory ${dir}: ${problem.reason}`);
  }
  return fd;
}

function refuseForeignSymlinks(file: string): void {
  const planted = foreignSymlinkAbove(file);
  if (planted) throw new Refused(`${planted.at} is a symbolic link of uid ${planted.uid}`);
}

/** The text of `file` (NAME in the directory open as dirFd), or null when it is not there; Refused when it is not ours. */
function readOwn(dirFd: number, file: string): string | null {
  let fd: number;
  try {
    fd = openOwnFile(inDir(dirFd, path.basename(file)), O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (e instanceof UnsafeFileError) throw new Refused(`${file}: ${e.unsafe.reason}`);
    throw e;
  }
  try {
    const tooLarge = new Refused(`${file}: it is larger than ${MAX_BYTES / 1024} KiB, too large for a settings file`);
    if (fstatSync(fd).size > MAX_BYTES) throw tooLarge;
    const buf = Buffer.alloc(MAX_BYTES + 1);
    let len = 0;
    while (len < buf.length) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    if (len > MAX_BYTES) throw tooLarge;
    return buf.toString('utf8', 0, len);
  } finally {
    closeSync(fd);
  }
}

export interface LoadedSettings {
  /** the fields that passed their checks */
  settings: Settings;
  /** one line for stderr, or null */
  warning: string | null;
  /** the file is not one to write over: its problem is in the warning */
  keepOut: boolean;
}

const NONE: LoadedSettings = { settings: {}, warning: null, keepOut: false };

/** Read the settings; never throws. No file: no settings and no warning. */
export function loadSettings(file: string): LoadedSettings {
  const refused = (reason: string): LoadedSettings => ({
    settings: {},
    warning: `${reason}${sudoHint(reason)}; the dashboard starts with the default settings and will not save them (--no-config: no settings file at all)`,
    keepOut: true,
  });
  let dirFd: number | null = null;
  try {
    refuseForeignSymlinks(file);
    try {
      dirFd = openSync(path.dirname(file), O_RDONLY | O_DIRECTORY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return NONE;
      throw e;
    }
    const text = readOwn(dirFd, file);
    if (text === null) return NONE;
    // a file of ours in a directory of someone else's, who could have put it there
    const dirProblem = ownDirProblem(fstatSync(dirFd));
    if (dirProblem) throw new Refused(`the directory ${path.dirname(file)}: ${dirProblem.reason}`);
    const parsed = parseSettings(text);
    if (!parsed.ok) return refused(`${file} is ${parsed.problem}`);
    return {
      settings: parsed.settings,
      warning: parsed.ignored.length ? `${file}: ignored ${parsed.ignored.join(', ')}; the other settings apply` : null,
      keepOut: false,
    };
  } catch (e) {
    return refused(e instanceof Refused ? e.message : `${file}: ${describeErrno(e)}`);
  } finally {
    if (dirFd !== null) closeSync(dirFd);
  }
}

/**
 * Write `changed` over what the file holds now (another session may have saved since this
 * one read it). Returns a warning line, or null when saved. Never throws.
 */
export function saveSettings(file: string, changed: Settings): string | null {
  const name = path.basename(file);
  let dirFd: number | null = null;
  let tmp: string | null = null;
  try {
    refuseForeignSymlinks(file);
    dirFd = openOwnDir(path.dirname(file), true);
    const text = readOwn(dirFd, file);
    const parsed = parseSettings(text ?? '');
    if (!parsed.ok) throw new Refused(`${file} is ${parsed.problem}: fix or remove it`);
    const out = Buffer.from(formatSettings(parsed.raw, changed));
    // a name of our own: O_EXCL fails rather than open anything already there
    const tmpName = `.${name}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
    const fd = openSync(inDir(dirFd, tmpName), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o600);
    tmp = inDir(dirFd, tmpName);
    try {
      fchmodSync(fd, 0o600); // whatever the umask
      for (let off = 0; off < out.length;) off += writeSync(fd, out, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // The name is replaced, never written through; still, only a file of ours is replaced.
    try {
      const problem = ownFileProblem(lstatSync(inDir(dirFd, name)));
      if (problem) throw new Refused(`${file}: ${problem.reason}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    renameSync(tmp, inDir(dirFd, name));
    tmp = null;
    try {
      fsyncSync(dirFd); // the rename itself survives a crash
    } catch {}
    return null;
  } catch (e) {
    const reason = e instanceof Refused ? e.message : `${file}: ${describeErrno(e)}`;
    return `settings not saved: ${reason}${sudoHint(reason)}`;
  } finally {
    if (tmp !== null) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
    if (dirFd !== null) closeSync(dirFd);
  }
}
