// A fake kernel for the dashboard's actions: tasks with a nice value and an IO priority,
// failures the test sets per task and call, and a log of what was done.
import type { IoPrio, IoSetting, SignalName, TaskSyscalls } from '../../src/actions/syscalls.js';

export interface FakeTaskState {
  tgid: number;
  comm: string;
  startTicks: number;
  nice: number;
  io: IoPrio;
}

type Call = 'getNice' | 'setNice' | 'getIoprio' | 'setIoprio' | 'kill' | 'identity' | 'threads';

export const errno = (code: string) => Object.assign(new Error(code), { code });

export class FakeSyscalls implements TaskSyscalls {
  readonly tasks = new Map<number, FakeTaskState>();
  /** `${call}:${tid}` -> the errno name that call fails with */
  readonly fails = new Map<string, string>();
  readonly log: string[] = [];

  add(tid: number, t: Partial<FakeTaskState> & { tgid: number }): this {
    this.tasks.set(tid, { comm: 'dd', startTicks: 1000 + tid, nice: 0, io: { ioClass: 'none', level: 0 }, ...t });
    return this;
  }

  private task(call: Call, tid: number): FakeTaskState {
    const code = this.fails.get(`${call}:${tid}`);
    if (code) throw errno(code);
    const t = this.tasks.get(tid);
    if (!t) throw errno('ESRCH');
    return t;
  }

  getNice(tid: number): number {
    return this.task('getNice', tid).nice;
  }
  setNice(tid: number, nice: number): void {
    this.task('setNice', tid).nice = nice;
    this.log.push(`setNice ${tid} ${nice}`);
  }
  getIoprio(tid: number): IoPrio {
    return { ...this.task('getIoprio', tid).io };
  }
  setIoprio(tid: number, io: IoSetting): void {
    this.task('setIoprio', tid).io = { ...io };
    this.log.push(`setIoprio ${tid} ${io.ioClass} ${io.level}`);
  }
  kill(pid: number, signal: SignalName): void {
    this.task('kill', pid);
    this.log.push(`kill ${pid} ${signal}`);
  }
  identity(tid: number): { comm: string; startTicks: number } {
    const t = this.task('identity', tid);
    return { comm: t.comm, startTicks: t.startTicks };
  }
  threads(tgid: number): number[] {
    const code = this.fails.get(`threads:${tgid}`);
    if (code) throw errno(code);
    if (!this.tasks.has(tgid)) throw errno('ESRCH');
    // the kernel lists them in no promised order: the main thread last here
    return [...this.tasks]
      .filter(([id, t]) => t.tgid === tgid && id !== tgid)
      .map(([id]) => id)
      .concat(tgid);
  }
}
