// Thread mode at scale: a process none of whose threads ran, waited, started or ended
// since the last refresh is not asked thread by thread; its threads' rows are carried.
//
// One query for the whole process (TGID) shows it. The kernel's TGID record sums every
// live thread's run count, run time, CPU times and delays, and keeps the delays of the
// threads that ended (kernel/taskstats.c: fill_stats_for_tgid, fill_tgid_exit). A thread's
// counters only grow, and only when it runs (a wait is accounted when it ends, as the
// thread runs again; a thread that ends runs to its end, and its run count grows). No
// thread starts, ends or changes its name or owner without some thread of the process
// running: a thread's comm is written by itself or by its process (/proc/PID/task/TID/comm
// refuses any other writer). So a TGID record whose moving fields equal the last
// refresh's says that every one of its threads' records is as it was then. Pure: the
// engine lists and queries, this decides what.
import type { Taskstats } from '../kernel/decode.js';
import type { TaskId } from '../sources/proctasks.js';
import type { QueryBatch } from '../sources/types.js';
import { nothingMoved } from './scan.js';

/** A process as the last refresh left it: its TGID record, and its threads (each had a row). */
export interface GateEntry {
  stats: Taskstats;
  threads: readonly TaskId[];
}

/** Per process id: what the next refresh compares its TGID record with. */
export type ThreadGate = ReadonlyMap<number, GateEntry>;

/** Which processes a refresh asks thread by thread, from one TGID query of each. */
export interface ThreadPlan {
  /** monotonic ns and epoch ms of the TGID query: a carried thread's figures are as of then */
  atNs: number;
  wallMs: number;
  /** every process the query found, in listing order */
  order: number[];
  /** processes where nothing moved: their threads are carried */
  still: Map<number, GateEntry>;
  /** processes to list and ask thread by thread, with their TGID record (null: it could not be read) */
  moved: Map<number, Taskstats | null>;
}

/**
 * The plan from the TGID query of every process (`gate`, in listing order). A process is
 * still when the last refresh kept it (`prev`) and no moving field of its record changed.
 */
export function planThreads(gate: QueryBatch, wallMs: number, prev: ThreadGate | undefined): ThreadPlan {
  const plan: ThreadPlan = { atNs: gate.atNs, wallMs, order: [], still: new Map(), moved: new Map() };
  for (const r of gate.results) {
    if (r.status === 'gone') continue; // it ended after the listing
    const id = r.target.id;
    plan.order.push(id);
    const was = prev?.get(id);
    if (r.status === 'ok' && was && nothingMoved(was.stats, r.stats)) plan.still.set(id, was);
    else plan.moved.set(id, r.status === 'ok' ? r.stats : null);
  }
  return plan;
}

/** A refresh's threads: the plan with the moved processes' threads as listed now. */
export interface ThreadListing {
  plan: ThreadPlan;
  /** every thread, in listing order (the scan's tasks) */
  tasks: TaskId[];
  /** the threads of moved processes: the ones asked */
  asked: readonly TaskId[];
  /** the threads of still processes: their rows are carried */
  carried: TaskId[];
  /** the asked threads by process */
  askedOf: Map<number, TaskId[]>;
}

/** The plan's threads: `listed` are the moved processes' (listed for them alone). */
export function threadListing(plan: ThreadPlan, listed: readonly TaskId[]): ThreadListing {
  const askedOf = new Map<number, TaskId[]>();
  for (const t of listed) {
    const of = askedOf.get(t.tgid);
    if (of) of.push(t);
    else askedOf.set(t.tgid, [t]);
  }
  // (counted first, and the arrays made at their length: tens of thousands of threads
  // pushed one by one would grow each array over and over, copying it each time)
  let carriedCount = 0;
  for (const entry of plan.still.values()) carriedCount += entry.threads.length;
  const tasks = new Array<TaskId>(carriedCount + listed.length);
  const carried = new Array<TaskId>(carriedCount);
  let n = 0;
  let c = 0;
  for (const tgid of plan.order) {
    const still = plan.still.get(tgid);
    const threads = still ? still.threads : (askedOf.get(tgid) ?? []);
    for (const t of threads) {
      tasks[n++] = t;
      if (still) carried[c++] = t;
    }
  }
  tasks.length = n;
  carried.length = c;
  return { plan, tasks, asked: listed, carried, askedOf };
}
