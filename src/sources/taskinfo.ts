// What the process table shows of a task beyond taskstats, read from /proc for the rows on
// screen only: its state (R, S, D...) and its command line. Returns null where the task is
// gone or unreadable; every byte of a command line is the task's own (untrusted).
import { readFileSync } from 'node:fs';

/** A task's state and start (clock ticks after boot, its identity) from /proc/ID/stat. */
export function readTaskState(id: number): { state: string; startTicks: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${id}/stat`, 'latin1');
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
