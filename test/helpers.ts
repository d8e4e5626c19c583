// Shared test plumbing: root checks that skip loudly, child processes that clean up.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export const isRoot = process.getuid?.() === 0;

/** Skip (counted, with the reason) when the test needs root and a real kernel. */
export function needsRoot(t: TestContext): boolean {
  if (isRoot) return true;
  t.skip('needs root (CAP_NET_ADMIN) on a kernel with taskstats; CI runs it as root');
  return false;
}

export function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore', ...opts });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('exit', (code) => r(code)));
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** /proc/<pid>/schedstat (or a thread's): run ns, run-queue wait ns, timeslices. */
export function schedstat(path: string): [bigint, bigint, bigint] {
  const [a, b, c] = readFileSync(path, 'utf8')
    .trim()
    .split(/\s+/)
    .map((x) => BigInt(x));
  return [a!, b!, c!];
}

/** Field `n` (as proc(5) numbers them: 19 is nice) of a /proc/.../stat file. */
export function statField(path: string, n: number): string {
  const stat = readFileSync(path, 'latin1');
  // comm (field 2) may hold spaces and ')': the fields after it start past the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]!;
}

/** Wait until every thread of pid shows state T (stopped): SIGSTOP reaches them one by one. */
export async function waitStopped(pid: number): Promise<void> {
  const state = (path: string) => {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  for (let i = 0; i < 200; i++) {
    const tids = readdirSync(`/proc/${pid}/task`);
    if (tids.every((tid) => state(`/proc/${pid}/task/${tid}/stat`) === 'T')) {
      await delay(20); // let the last context switch settle into schedstat
      return;
    }
    await delay(10);
  }
  throw new Error(`pid ${pid} did not stop`);
}
