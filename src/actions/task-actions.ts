// What the dashboard does to a task, and what it says about it: renice, ionice, a signal.
//
// A process row acts on every one of its threads. Nice and IO priority are per thread on
// Linux (setpriority(PRIO_PROCESS, tid) and ioprio_set(IOPRIO_WHO_PROCESS, tid) change one
// thread; `renice -p PID` changes the main thread alone), and the row's delays are the sum
// of its threads, so renicing only one would leave most of what the row shows unchanged.
// A thread row acts on that thread. A signal goes to the whole process either way: kill(2)
// with a thread's id signals its process.
//
// Before acting, the task is checked to be the one that was inspected (same start time in
// /proc/<id>/stat): an id reused by a new task since the confirmation was asked is "gone".
import type { IoClass } from '../kernel/addon.js';
import { describeErrno } from '../kernel/errors.js';
import { printable } from '../output/text.js';
import type { Target } from '../sources/types.js';
import {
  errnoCode,
  liveSyscalls,
  signalNumber,
  type IoPrio,
  type IoSetting,
  type SignalName,
  type TaskSyscalls,
} from './syscalls.js';

export const NICE_MIN = -20;
export const NICE_MAX = 19;

export type ActionVerb = 'renice' | 'ionice' | 'signal';

/** A task as read before acting on it: what the confirmation shows. */
export interface Inspection {
  target: Target;
  /** /proc's comm of target.id */
  comm: string;
  /** target.id's start (stat field 22): what tells it from a later task with its id */
  startTicks: number;
  /** the threads renice and ionice change: the thread, or every thread of the process (its main thread first) */
  tids: number[];
  /** target.id's nice (a process: its main thread's), and the lowest and highest over tids */
  nice: number;
  niceMin: number;
  niceMax: number;
  /** target.id's IO priority, and whether every one of tids has the same */
  io: IoPrio;
  ioUniform: boolean;
}

/** What reading a task gave: what the confirmation shows, or why there is nothing to show. */
export type Inspected = { target: Target } & ({ ok: true; task: Inspection } | { ok: false; message: string });

export interface ActionResult {
  ok: boolean;
  text: string;
}

/** A task as messages name it: "1234 (dd)", or "thread 1234 (dd)". */
export function taskName(target: Target, comm: string): string {
  return `${target.kind === 'pid' ? 'thread ' : ''}${target.id} (${printable(comm)})`;
}

export const clampNice = (n: number): number => Math.max(NICE_MIN, Math.min(NICE_MAX, n));

/** The nice value a renice by `delta` sets: the task's own plus delta, within -20..19. */
export const reniceTo = (task: Inspection, delta: number): number => clampNice(task.nice + delta);

/** What the user picked in the ionice prompt; what is not picked stays as it is. */
export interface IoChoice {
  ioClass?: IoClass;
  level?: number;
}

const hasLevels = (c: string): boolean => c === 'realtime' || c === 'best-effort';

/**
 * The IO priority an ionice sets. A level picked for a class without levels (none, idle)
 * means best-effort; a class with levels keeps the task's level, or for a task in class
 * none the one the kernel derives from its nice ((nice + 20) / 5).
 */
export function ioniceTo(task: Inspection, choice: IoChoice): IoSetting {
  let ioClass = choice.ioClass ?? (task.io.ioClass as IoClass);
  if (choice.level !== undefined && !hasLevels(ioClass)) ioClass = 'best-effort';
  if (!hasLevels(ioClass)) return { ioClass: ioClass === 'idle' ? 'idle' : 'none', level: 0 };
  return { ioClass, level: choice.level ?? (hasLevels(task.io.ioClass) ? task.io.level : levelByNice(task.nice)) };
}

/** The best-effort level the kernel gives a task of class none: (nice + 20) / 5. */
export const levelByNice = (nice: number): number => Math.floor((clampNice(nice) + 20) / 5);

/** An IO priority as ionice(1) would say it, shorter: "best-effort 4", "idle". */
export const ioLabel = (io: IoPrio): string => (hasLevels(io.ioClass) ? `${io.ioClass} ${io.level}` : io.ioClass);

export const signalLabel = (s: SignalName): string => `SIG${s} (${signalNumber(s)})`;

const NOT_PERMITTED: Record<ActionVerb, string> = {
  renice: "needs root or the task's owner; lowering nice needs CAP_SYS_NICE",
  ionice: "needs root or the task's owner; the realtime class needs CAP_SYS_NICE or CAP_SYS_ADMIN",
  signal: "needs root or the task's owner",
};

/** A failed action in words: gone, not permitted, or the errno. */
export function failure(verb: ActionVerb, name: string, e: unknown): ActionResult {
  const code = errnoCode(e);
  if (code === 'ESRCH') return { ok: false, text: `${verb}: task ${name} has gone` };
  // setpriority says EACCES for a lower nice without CAP_SYS_NICE, EPERM for another user's task
  if (code === 'EPERM' || code === 'EACCES')
    return { ok: false, text: `${verb} ${name}: not permitted (${NOT_PERMITTED[verb]})` };
  return { ok: false, text: `${verb} ${name}: ${describeErrno(e)}` };
}

const gone = () => Object.assign(new Error('no such process'), { code: 'ESRCH' });

export class TaskActions {
  constructor(private readonly sys: TaskSyscalls = liveSyscalls()) {}

  /** Read what the confirmation shows. `comm`: the name to use if the task has gone already. */
  inspect(target: Target, comm: string): Inspected {
    try {
      const id = this.sys.identity(target.id);
      const tids: number[] = [];
      const nices: number[] = [];
      const ios: IoPrio[] = [];
      for (const tid of this.tidsOf(target)) {
        try {
          nices.push(this.sys.getNice(tid));
          ios.push(this.readIo(tid));
          tids.push(tid);
        } catch (e) {
          // another thread that ended meanwhile is no longer one of them
          if (tid === target.id || errnoCode(e) !== 'ESRCH') throw e;
        }
      }
      const io = ios[0]!;
      return {
        target,
        ok: true,
        task: {
          target,
          comm: id.comm,
          startTicks: id.startTicks,
          tids,
          nice: nices[0]!,
          niceMin: Math.min(...nices),
          niceMax: Math.max(...nices),
          io,
          ioUniform: ios.every((x) => x.ioClass === io.ioClass && x.level === io.level),
        },
      };
    } catch (e) {
      // (no verb: the same reading serves every action)
      const name = taskName(target, comm);
      const message = errnoCode(e) === 'ESRCH' ? `task ${name} has gone` : `${name}: ${describeErrno(e)}`;
      return { ok: false, target, message };
    }
  }

  renice(task: Inspection, nice: number): ActionResult {
    return this.onThreads(
      'renice',
      task,
      (tid) => this.sys.setNice(tid, nice),
      (tid) => `nice is now ${this.sys.getNice(tid)}`,
    );
  }

  ionice(task: Inspection, io: IoSetting): ActionResult {
    return this.onThreads(
      'ionice',
      task,
      (tid) => this.sys.setIoprio(tid, io),
      (tid) => `IO priority is now ${ioLabel(this.sys.getIoprio(tid))}`,
    );
  }

  /** To the process (a thread's: its process, which the inspection's target names). */
  signal(task: Inspection, signal: SignalName): ActionResult {
    const name = taskName(task.target, task.comm);
    try {
      this.checkSame(task);
      this.sys.kill(task.target.id, signal);
      return { ok: true, text: `sent ${signalLabel(signal)} to ${name}` };
    } catch (e) {
      return failure('signal', name, e);
    }
  }

  /** A task's IO priority, or "unknown" where it cannot be read (no addon): renice still works. */
  private readIo(tid: number): IoPrio {
    try {
      return this.sys.getIoprio(tid);
    } catch (e) {
      if (errnoCode(e) === 'ESRCH') throw e;
      return { ioClass: 'unknown', level: 0 };
    }
  }

  /** The thread, or every thread of the process now (threads started since the inspection too), main first. */
  private tidsOf(target: Target): number[] {
    if (target.kind === 'pid') return [target.id];
    return [target.id, ...this.sys.threads(target.id).filter((t) => t !== target.id)];
  }

  private checkSame(task: Inspection): void {
    if (this.sys.identity(task.target.id).startTicks !== task.startTicks) throw gone();
  }

  /**
   * Apply to the target's threads, then read the target back. The target's own failure is
   * the action's; another thread's ESRCH is one that ended, anything else is counted.
   */
  private onThreads(
    verb: 'renice' | 'ionice',
    task: Inspection,
    apply: (tid: number) => void,
    readBack: (tid: number) => string,
  ): ActionResult {
    const name = taskName(task.target, task.comm);
    try {
      this.checkSame(task);
      const tids = this.tidsOf(task.target);
      let done = 0;
      const failed = new Map<string, number>();
      for (const tid of tids) {
        try {
          apply(tid);
          done++;
        } catch (e) {
          if (tid === task.target.id) throw e;
          const code = errnoCode(e) ?? 'error';
          if (code !== 'ESRCH') failed.set(code, (failed.get(code) ?? 0) + 1);
        }
      }
      let text = `${verb} ${name}: ${readBack(task.target.id)}`;
      if (failed.size) {
        const why = [...failed].map(([code, n]) => `${n} ${code}`).join(', ');
        text += ` on ${done} of its threads (not on ${why})`;
      } else if (task.target.kind === 'tgid' && done > 1) {
        text += ` (all ${done} threads)`;
      }
      return { ok: failed.size === 0, text };
    } catch (e) {
      return failure(verb, name, e);
    }
  }
}
