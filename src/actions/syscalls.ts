// The kernel calls behind the dashboard's actions, and their live implementation: node's
// os.getPriority/setPriority and process.kill, the addon's ioprio_get/ioprio_set, /proc.
// Every failure is an error whose .code is the errno's name (ESRCH, EPERM...).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { loadAddon, type IoClass } from '../kernel/addon.js';
import { parseStat } from '../sources/proc.js';

/** An IO priority as read: a class (IoClass, or "class N" from a newer kernel) and its level. */
export interface IoPrio {
  ioClass: string;
  level: number;
}

/** An IO priority to set. */
export interface IoSetting {
  ioClass: IoClass;
  level: number;
}

/** The signals the dashboard offers, by the kernel's names without SIG. */
export const SIGNALS = ['TERM', 'KILL', 'INT', 'HUP', 'STOP', 'CONT', 'QUIT', 'USR1', 'USR2'] as const;
export type SignalName = (typeof SIGNALS)[number];

/** This platform's number for a signal. */
export const signalNumber = (s: SignalName): number => os.constants.signals[`SIG${s}`];

export interface TaskSyscalls {
  /** getpriority(PRIO_PROCESS, tid): one thread's nice value (Linux: per thread) */
  getNice(tid: number): number;
  /** setpriority(PRIO_PROCESS, tid, nice): that thread only */
  setNice(tid: number, nice: number): void;
  /** ioprio_get(IOPRIO_WHO_PROCESS, tid): that thread's */
  getIoprio(tid: number): IoPrio;
  /** ioprio_set(IOPRIO_WHO_PROCESS, tid, ...): that thread only */
  setIoprio(tid: number, io: IoSetting): void;
  /** kill(pid, sig): the whole process */
  kill(pid: number, signal: SignalName): void;
  /** /proc/<tid>/stat: comm and start (clock ticks after boot), which tell a task from a later one with its id */
  identity(tid: number): { comm: string; startTicks: number };
  /** /proc/<tgid>/task: the process's threads */
  threads(tgid: number): number[];
}

/** The errno name an error carries (node's os functions put it in .info.code). */
export function errnoCode(e: unknown): string | undefined {
  const x = e as { code?: unknown; info?: { code?: unknown } };
  const code = x?.code === 'ERR_SYSTEM_ERROR' ? x.info?.code : x?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A /proc file of a task that has gone is missing: that is ESRCH, as the syscalls say. */
function readProc<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH')
      throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
    throw e;
  }
}

/** Rethrow node's SystemError with the errno name in .code, as everything else here has it. */
function plainErrno<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    const code = errnoCode(e);
    if (code && code !== (e as { code?: unknown }).code) throw Object.assign(new Error((e as Error).message), { code });
    throw e;
  }
}

export function liveSyscalls(procRoot = '/proc'): TaskSyscalls {
  return {
    getNice: (tid) => plainErrno(() => os.getPriority(tid)),
    setNice: (tid, nice) => plainErrno(() => os.setPriority(tid, nice)),
    // (the addon loads on first use: without it, only ionice fails)
    getIoprio: (tid) => loadAddon().ioprioGet(tid),
    setIoprio: (tid, io) => loadAddon().ioprioSet(tid, io.ioClass, io.level),
    kill: (pid, signal) => {
      process.kill(pid, `SIG${signal}`);
    },
    identity: (tid) =>
      readProc(() => {
        const st = parseStat(readFileSync(`${procRoot}/${tid}/stat`));
        return { comm: st.comm, startTicks: Number(st.starttimeTicks) };
      }),
    threads: (tgid) =>
      readProc(() =>
        readdirSync(`${procRoot}/${tgid}/task`)
          .filter((n) => /^[0-9]+$/.test(n))
          .map(Number),
      ),
  };
}
