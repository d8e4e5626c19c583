// Which tasks exist: /proc enumeration shared by every live source.
import { readdirSync } from 'node:fs';
import { nextTurn, SLICE_MS } from '../slices.js';

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
 * listProcTasks, reading /proc/<tgid>/task in slices of SLICE_MS between which the event
 * loop runs: 10,000 processes' thread lists take ~170 ms, which a key would otherwise
 * wait out (docs/performance.md). A process listing is one read and takes no turns.
 */
export async function listProcTasksYielding(
  mode: ListMode,
  procRoot = '/proc',
  of?: ReadonlySet<number>,
): Promise<TaskId[]> {
  if (mode === 'process') return listProcTasks(mode, procRoot, of);
  const pids = of ? [...of] : numericEntries(procRoot);
  const out: TaskId[] = [];
  let sliceFrom = performance.now();
  for (let i = 0; i < pids.length; i++) {
    threadsOf(procRoot, pids[i]!, out);
    if ((i & 63) === 63 && performance.now() - sliceFrom > SLICE_MS) {
      await nextTurn();
      sliceFrom = performance.now();
    }
  }
  return out;
}
