// Which tasks exist: /proc enumeration shared by every live source.
import { readdirSync } from 'node:fs';
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
 * listProcTasks, reading /proc/<tgid>/task in slices (src/slices.ts) between which the
 * event loop runs. A process listing is one read and takes no turns.
 */
export async function listProcTasksYielding(
  mode: ListMode,
  procRoot = '/proc',
  of?: ReadonlySet<number>,
): Promise<TaskId[]> {
  if (mode === 'process') return listProcTasks(mode, procRoot, of);
  const pids = of ? [...of] : numericEntries(procRoot);
  const out: TaskId[] = [];
  await inSlices(pids.length, (i) => threadsOf(procRoot, pids[i]!, out), 64);
  return out;
}
