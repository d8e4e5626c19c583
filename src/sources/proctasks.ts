// Which tasks exist: /proc enumeration shared by every live source.
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { inSlices } from '../slices.js';

export type ListMode = 'process' | 'thread';

export interface TaskId {
  /** the thread id (process mode: the process id) */
  id: number;
  /** its process */
  tgid: number;
}

function numericEntries(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // the process went away between listing and reading
  }
  return numericOf(names);
}

/**
 * Every process id in /proc (ascending), read on the thread pool: /proc's own directory of
 * 10,000 processes takes the kernel tens of ms to list (it walks every task's id), which a
 * key would wait for.
 */
export async function listProcessIds(procRoot = '/proc'): Promise<number[]> {
  try {
    return numericOf(await readdir(procRoot));
  } catch {
    return [];
  }
}

function numericOf(names: readonly string[]): number[] {
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(n));
  }
  return out;
}

/**
 * Every process, or every thread, visible in /proc; with `of`, only the threads of those
 * processes (one /proc/<tgid>/task read each, not the whole machine).
 */
export function listProcTasks(mode: ListMode, procRoot = '/proc', of?: ReadonlySet<number>): TaskId[] {
  const pids = of && mode === 'thread' ? [...of] : numericEntries(procRoot);
  const out: TaskId[] = [];
  if (mode === 'process') for (const id of pids) out.push({ id, tgid: id });
  else for (const tgid of pids) threadsOf(procRoot, tgid, out);
  return out;
}

function threadsOf(procRoot: string, tgid: number, out: TaskId[]): void {
  for (const id of numericEntries(`${procRoot}/${tgid}/task`)) out.push({ id, tgid });
}

/**
 * listProcTasks, with the event loop let in: /proc read on the thread pool, then (threads)
 * /proc/<tgid>/task in slices (src/slices.ts).
 */
export async function listProcTasksYielding(
  mode: ListMode,
  procRoot = '/proc',
  of?: ReadonlySet<number>,
): Promise<TaskId[]> {
  const pids = of && mode === 'thread' ? [...of] : await listProcessIds(procRoot);
  if (mode === 'process') return pids.map((id) => ({ id, tgid: id }));
  const out: TaskId[] = [];
  await inSlices(pids.length, (i) => threadsOf(procRoot, pids[i]!, out), 64);
  return out;
}
