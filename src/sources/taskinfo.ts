// What the process table shows of a task beyond taskstats, read from /proc for the rows on
// screen only: its state (R, S, D...) and its command line. Returns null where the task is
// gone or unreadable; every byte of a command line is the task's own (untrusted).
import { readFileSync } from 'node:fs';
import { KeptFiles, onceFiles } from './kept-file.js';

/** A task's state and start (clock ticks after boot, its identity) from /proc/ID/stat. */
export function readTaskState(id: number, files = onceFiles): { state: string; startTicks: string } | null {
  let stat: string;
  try {
    stat = files.read(`/proc/${id}/stat`);
  } catch {
    return null;
  }
  // the comm, in parentheses, may hold ") " itself: fields start after the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTicks = rest[19];
  return state && startTicks ? { state, startTicks } : null;
}

/** The longest command line kept (the rest of a line is cut; a pane shows less anyway). */
const CMDLINE_MAX = 4096;

/** The command line, arguments joined by spaces; '' for a kernel thread (none). */
export function readCmdline(id: number): string | null {
  let raw: Buffer;
  try {
    raw = readFileSync(`/proc/${id}/cmdline`);
  } catch {
    return null;
  }
  const cut = raw.subarray(0, CMDLINE_MAX);
  let end = cut.length;
  while (end > 0 && cut[end - 1] === 0) end--;
  return cut.subarray(0, end).toString('utf8').replaceAll('\0', ' ');
}

/**
 * Bytes a task made the storage layer read and write (/proc/ID/io read_bytes, write_bytes):
 * a process's (its live and exited threads'), or with `tgid` one thread's. Taskstats has
 * these per thread only (a TGID record carries no IO accounting), so the table reads them here.
 */
export function readTaskIo(
  id: number,
  tgid?: number,
  files = onceFiles,
): { readBytes: number; writeBytes: number } | null {
  let text: string;
  try {
    text = files.read(tgid !== undefined && tgid !== id ? `/proc/${tgid}/task/${id}/io` : `/proc/${id}/io`);
  } catch {
    return null;
  }
  const r = /^read_bytes: (\d+)$/m.exec(text);
  const w = /^write_bytes: (\d+)$/m.exec(text);
  return r && w ? { readBytes: Number(r[1]), writeBytes: Number(w[1]) } : null;
}

/**
 * The rows on screen, read every refresh: their stat and io files are kept open while
 * they are read (src/sources/kept-file.ts); `sweep` lets go of rows no longer read.
 */
export function taskInfoSource(files = new KeptFiles()) {
  return {
    state: (id: number) => readTaskState(id, files),
    cmdline: readCmdline,
    io: (id: number, tgid?: number) => readTaskIo(id, tgid, files),
    sweep: () => files.sweep(),
    close: () => files.close(),
  };
}
