// Which group a process belongs to, for per-group counters (--group-by): its cgroup (from
// /proc/PID/cgroup), its comm, or its user. Reading only; model/groups.ts keeps the sums.
import { parsePasswd } from './users.js';
import { readFileSync } from 'node:fs';
import { decodeName } from '../kernel/decode.js';
import type { ExitRecord } from '../kernel/exitrecord.js';

export const GROUP_BY = ['cgroup', 'comm', 'user'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

// On a hybrid host the unified hierarchy (0::) is often empty ("/") and the v1 ones carry
// the detail: systemd's own (name=systemd) first, then the controllers that services and
// containers are usually placed by.
const V1_PREFERENCE = ['name=systemd', 'memory', 'pids', 'cpu', 'blkio'];

/**
 * The group path in /proc/PID/cgroup text: the cgroup v2 path where it is below the root;
 * else the first v1 hierarchy (name=systemd, memory, pids, cpu, blkio, then any other in
 * file order) whose path is below its root; else the v2 path ("/"). null: no line at all.
 */
export function cgroupPathOf(text: string): string | null {
  let v2: string | null = null;
  let best: { rank: number; path: string } | null = null;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (line.slice(0, a) === '0' && controllers === '') {
      v2 = path;
      continue;
    }
    if (path === '/' || path === '') continue;
    const names = controllers.split(',');
    let rank = V1_PREFERENCE.length;
    for (let i = 0; i < V1_PREFERENCE.length; i++) if (names.includes(V1_PREFERENCE[i]!)) rank = Math.min(rank, i);
    if (!best || rank < best.rank) best = { rank, path };
  }
  if (v2 !== null && v2 !== '/') return v2;
  return best?.path ?? v2;
}

/** /proc/PID/status: the real uid (what taskstats' ac_uid holds). */
export function realUidOf(status: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

const PASSWD_RELOAD_MS = 10_000;

function readBytes(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null; // the process ended
  }
}

/** Reads groups from /proc (and user names from /etc/passwd). */
export class GroupResolver {
  private names = new Map<number, string>();
  private namesReadMs = -Infinity;
  /** groups read for processes outside the poll (an exit's parent), until the next poll */
  private readNow = new Map<number, string | null>();

  constructor(
    readonly by: GroupBy,
    private readonly procRoot = '/proc',
    private readonly passwdPath = '/etc/passwd',
    private readonly now: () => number = Date.now,
  ) {}

  private read(path: string): string | null {
    return readBytes(path)?.toString('utf8') ?? null;
  }

  /** A live process's group; null when it is gone. */
  ofProcess(tgid: number): string | null {
    switch (this.by) {
      case 'cgroup': {
        // a path is bytes: decodeName keeps the ones that are not UTF-8
        const b = readBytes(`${this.procRoot}/${tgid}/cgroup`);
        return b === null ? null : cgroupPathOf(decodeName(b));
      }
      case 'comm': {
        const b = readBytes(`${this.procRoot}/${tgid}/comm`);
        return b === null
          ? null
          : decodeName(b.subarray(0, b.length && b[b.length - 1] === 0x0a ? b.length - 1 : b.length));
      }
      case 'user': {
        const text = this.read(`${this.procRoot}/${tgid}/status`);
        const uid = text === null ? null : realUidOf(text);
        return uid === null ? null : this.userName(uid);
      }
    }
  }

  /** A user's name, or its uid where /etc/passwd has no entry. */
  userName(uid: number): string {
    let name = this.names.get(uid);
    if (name === undefined && this.now() - this.namesReadMs > PASSWD_RELOAD_MS) {
      this.namesReadMs = this.now();
      const text = this.read(this.passwdPath);
      if (text !== null) this.names = parsePasswd(text);
      name = this.names.get(uid);
    }
    return name ?? String(uid);
  }

  /**
   * The group of a process the poll never saw, from its exit record: its comm, its user, or
   * (cgroups) its parent's group (`known`: the poll's; else read now): a child starts in its
   * parent's cgroup. null: the parent is gone too.
   */
  ofExit(r: ExitRecord, known: (tgid: number) => string | undefined): string | null {
    if (this.by === 'comm') return r.comm;
    if (this.by === 'user') return this.userName(r.uid);
    const k = known(r.ppid);
    if (k !== undefined) return k;
    let g = this.readNow.get(r.ppid);
    if (g === undefined) this.readNow.set(r.ppid, (g = this.ofProcess(r.ppid)));
    return g;
  }

  /** A new poll: parents read for exits may have ended or moved since. */
  newPoll(): void {
    this.readNow.clear();
  }
}
