// The unprivileged source: what /proc tells anyone about a task's delays, behind the same
// interface as live netlink. /proc/<pid>/schedstat equals the taskstats CPU fields exactly;
// /proc/<pid>/stat field 42 is the block-IO delay in clock ticks. Nothing else is there.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { decodeName, type RawValue, type Taskstats, type U64 } from '../kernel/decode.js';
import { CAP_REMEDY, TaskstatsError } from '../kernel/errors.js';
import { NetlinkSource } from './netlink.js';
import { listProcTasks, listProcTasksYielding, type ListMode, type TaskId } from './proctasks.js';
import { bootTimeSec } from './system.js';
import { monotonicNs, type QueryBatch, type QueryResult, type StatsSource, type Target } from './types.js';

/**
 * USER_HZ, the unit of /proc/<pid>/stat times: 100 on every architecture that still has
 * delay accounting (x86, arm, arm64, riscv, powerpc, s390; sysconf(_SC_CLK_TCK) says so too).
 */
export const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
const US_PER_TICK = 1e6 / USER_HZ;

const toU64 = (v: bigint): U64 => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** One thread's figures as /proc shows them; times in the kernel's units. */
export interface ProcThread {
  tid: number;
  comm: string;
  ppid: number;
  /** the owner of its /proc directory: the task's effective uid (taskstats' ac_uid is the real one) */
  uid?: number;
  /** /proc/.../schedstat: run ns, run-queue wait ns, timeslices */
  runNs: bigint;
  waitNs: bigint;
  slices: bigint;
  /** stat fields 10, 12, 14, 15, 22 and 42 */
  minflt: bigint;
  majflt: bigint;
  utimeTicks: bigint;
  stimeTicks: bigint;
  starttimeTicks: bigint;
  blkioTicks: bigint;
}

/** /proc/<pid>/stat: "pid (comm) state ppid ...". comm may hold ')' and spaces: split at the last ')'. */
export function parseStat(buf: Buffer): Omit<ProcThread, 'runNs' | 'waitNs' | 'slices'> {
  const open = buf.indexOf(0x28); // '('
  const close = buf.lastIndexOf(0x29); // ')'
  if (open < 0 || close < open) throw new Error('unrecognised /proc stat line');
  const f = buf
    .subarray(close + 2)
    .toString('latin1')
    .trim()
    .split(' ');
  // f[0] is field 3 (state): field n is f[n - 3].
  const at = (n: number): bigint => {
    const s = f[n - 3];
    return s !== undefined && /^[0-9]+$/.test(s) ? BigInt(s) : 0n;
  };
  return {
    tid: Number(buf.subarray(0, open).toString('latin1').trim()),
    comm: decodeName(buf.subarray(open + 1, close)),
    ppid: Number(at(4)),
    minflt: at(10),
    majflt: at(12),
    utimeTicks: at(14),
    stimeTicks: at(15),
    starttimeTicks: at(22),
    blkioTicks: at(42),
  };
}

export function parseSchedstat(text: string): [bigint, bigint, bigint] {
  const m = /^\s*([0-9]+)\s+([0-9]+)\s+([0-9]+)/.exec(text);
  if (!m) throw new Error('unrecognised schedstat line');
  return [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
}

function readThread(dir: string): ProcThread {
  const st = parseStat(readFileSync(`${dir}/stat`));
  const [runNs, waitNs, slices] = parseSchedstat(readFileSync(`${dir}/schedstat`, 'latin1'));
  return { ...st, runNs, waitNs, slices, uid: statSync(dir).uid };
}

/** Seconds since boot (CLOCK_BOOTTIME, the clock of stat's starttime), from /proc/uptime. */
function uptimeTicks(procRoot: string): bigint | undefined {
  try {
    const m = /^([0-9]+)\.([0-9]{2})/.exec(readFileSync(`${procRoot}/uptime`, 'latin1'));
    return m ? BigInt(m[1]!) * BigInt(USER_HZ) + (BigInt(m[2]!) * BigInt(USER_HZ)) / 100n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Taskstats built from /proc: raw holds only what /proc gives, so the model shows every
 * other category as n/a. length 0 marks it as not a struct taskstats. A TGID is the sum of
 * its live threads (the kernel's TGID answer also counts threads that already exited).
 */
export function procTaskstats(
  threads: readonly ProcThread[],
  kind: Target['kind'],
  id: number,
  bootSec: number | undefined,
  nowTicks: bigint | undefined,
): Taskstats {
  let run = 0n,
    wait = 0n,
    slices = 0n,
    blkio = 0n,
    minflt = 0n,
    majflt = 0n,
    utime = 0n,
    stime = 0n,
    etimeTicks = 0n;
  for (const t of threads) {
    run += t.runNs;
    wait += t.waitNs;
    slices += t.slices;
    blkio += t.blkioTicks;
    minflt += t.minflt;
    majflt += t.majflt;
    utime += t.utimeTicks;
    stime += t.stimeTicks;
    // ac_etime: per thread since it started; a TGID record sums them, as the kernel does.
    if (nowTicks !== undefined && nowTicks > t.starttimeTicks) etimeTicks += nowTicks - t.starttimeTicks;
  }
  const lead = threads.find((t) => t.tid === id) ?? threads[0]!;
  const raw: Record<string, RawValue> = {
    cpu_count: toU64(slices),
    cpu_delay_total: toU64(wait),
    cpu_run_virtual_total: toU64(run),
    blkio_delay_total: toU64(blkio * BigInt(NS_PER_TICK)),
    ac_comm: lead.comm,
    ac_pid: kind === 'pid' ? id : 0,
    ac_ppid: lead.ppid,
    ...(lead.uid !== undefined ? { ac_uid: lead.uid } : {}),
    ac_utime: toU64(utime * BigInt(US_PER_TICK)),
    ac_stime: toU64(stime * BigInt(US_PER_TICK)),
    ac_minflt: toU64(minflt),
    ac_majflt: toU64(majflt),
  };
  if (kind === 'tgid') raw.ac_tgid = id;
  if (nowTicks !== undefined) raw.ac_etime = toU64(etimeTicks * BigInt(US_PER_TICK));
  if (bootSec !== undefined) {
    // Start time in epoch seconds: what identifies this incarnation of the id (pid reuse).
    const btime = BigInt(bootSec) + lead.starttimeTicks / BigInt(USER_HZ);
    raw.ac_btime64 = toU64(btime);
    raw.ac_btime = Number(btime > 0xffffffffn ? 0xffffffffn : btime);
  }
  return { version: 0, layoutVersion: 0, length: 0, raw };
}

const isGone = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
};

export class ProcSource implements StatsSource {
  readonly name = 'proc';
  private bootSec: number | undefined;

  constructor(private procRoot = '/proc') {
    this.bootSec = procRoot === '/proc' ? bootTimeSec() : undefined;
  }

  /** Synchronous: /proc reads do not block on anything but the kernel. */
  querySync(targets: readonly Target[]): QueryBatch {
    const atNs = monotonicNs();
    const nowTicks = uptimeTicks(this.procRoot);
    const results = targets.map((target): QueryResult => {
      try {
        const threads = this.threadsOf(target);
        if (threads.length === 0) return { target, status: 'gone' };
        return { target, status: 'ok', stats: procTaskstats(threads, target.kind, target.id, this.bootSec, nowTicks) };
      } catch (e) {
        if (isGone(e)) return { target, status: 'gone' };
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        return {
          target,
          status: 'error',
          code,
          message: `/proc of ${target.kind} ${target.id}: ${(e as Error).message}`,
        };
      }
    });
    return { atNs, results };
  }

  async query(targets: readonly Target[]): Promise<QueryBatch> {
    return this.querySync(targets);
  }

  private threadsOf(target: Target): ProcThread[] {
    const base = `${this.procRoot}/${target.id}/task`;
    // A pid target is one thread: /proc/<tid>/task/<tid> works for any thread id and,
    // unlike /proc/<tid>/stat, does not sum the thread group's times.
    if (target.kind === 'pid') return [readThread(`${base}/${target.id}`)];
    const out: ProcThread[] = [];
    for (const name of readdirSync(base)) {
      try {
        out.push(readThread(`${base}/${name}`));
      } catch (e) {
        if (!isGone(e)) throw e; // a thread that ended between the listing and the read
      }
    }
    return out;
  }

  list(mode: ListMode, of?: ReadonlySet<number>): TaskId[] {
    return listProcTasks(mode, this.procRoot, of);
  }

  listYielding(mode: ListMode, of?: ReadonlySet<number>): Promise<TaskId[]> {
    return listProcTasksYielding(mode, this.procRoot, of);
  }

  close(): void {}
}

/** Why the full (netlink) source is unavailable, and what the user can do about it. */
export interface Unprivileged {
  /** errno name: EPERM/EACCES (no CAP_NET_ADMIN), ENOENT (no taskstats), ENOADDON, ... */
  code: string;
  /** one-line reason, for logs and --json */
  reason: string;
  /** the dashboard/batch banner: what is missing, why, how to get it */
  banner: string[];
  /** for the exit-feed pane */
  exitsOffReason: string;
}

export type NetlinkProbe = { usable: true; source: NetlinkSource } | ({ usable: false } & Unprivileged);

// One line each at 120 columns, the most important words first: the dashboard keeps the
// first line of every banner when space is short.
const SHOWN_AND_MISSING =
  'Showing CPU delay (exact) and IO delay (10 ms ticks) from /proc; missing: SWAP, RECLAIM, THRASHING, COMPACT, ' +
  'WPCOPY and IRQ delays, IO counts and averages, max/min delays, IO accounting, the exit feed.';

export function unprivilegedFor(code: string, detail: string): Unprivileged {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return {
        code,
        reason: `taskstats needs CAP_NET_ADMIN in the initial user namespace (the kernel answered ${code})`,
        // Reason and remedy first: a narrow screen keeps the first line of each banner.
        banner: [`No CAP_NET_ADMIN (${code}): ${CAP_REMEDY}`, SHOWN_AND_MISSING],
        exitsOffReason: 'Exit feed off: listening for exits needs CAP_NET_ADMIN (run delaytop with sudo).',
      };
    case 'ENOENT':
      return {
        code,
        reason: 'this kernel has no TASKSTATS generic-netlink family (built without CONFIG_TASKSTATS)',
        banner: [
          'No taskstats: this kernel was built without CONFIG_TASKSTATS. Get it: a kernel with CONFIG_TASKSTATS=y and CONFIG_TASK_DELAY_ACCT=y.',
          SHOWN_AND_MISSING,
        ],
        exitsOffReason: 'Exit feed off: this kernel has no taskstats (CONFIG_TASKSTATS is not set).',
      };
    case 'ENOADDON':
      return {
        code,
        reason: 'the native addon is not built',
        banner: [
          "delaytop's native addon is not built. Get it: npm run build (needs python3, make and g++).",
          SHOWN_AND_MISSING,
        ],
        exitsOffReason: "Exit feed off: delaytop's native addon is not built (npm run build).",
      };
    default:
      return {
        code,
        reason: `taskstats over netlink failed: ${detail}`,
        banner: [
          `taskstats over netlink failed (${detail}). Get it: run delaytop with sudo; if that fails too, see the error above.`,
          SHOWN_AND_MISSING,
        ],
        exitsOffReason: `Exit feed off: taskstats over netlink failed (${code}).`,
      };
  }
}

/**
 * Is netlink usable? Opens a query socket and asks for our own pid: EPERM there means
 * unprivileged. On success the open source is returned for use; on failure, why and what to do.
 */
export function probeNetlink(timeoutMs = 1000): NetlinkProbe {
  let src: NetlinkSource | undefined;
  try {
    src = new NetlinkSource(timeoutMs);
    const r = src.querySync([{ kind: 'pid', id: process.pid }]).results[0];
    if (r?.status === 'error') throw new TaskstatsError(r.message, r.code, '');
    return { usable: true, source: src };
  } catch (e) {
    src?.close();
    const code = (e as { code?: string }).code ?? 'EIO';
    return { usable: false, ...unprivilegedFor(code, (e as Error).message) };
  }
}

/** The best source this process may use: netlink when permitted, else /proc with the reason. */
export function openStatsSource():
  { source: StatsSource; privileged: true } | ({ source: ProcSource; privileged: false } & Unprivileged) {
  const probe = probeNetlink();
  if (probe.usable) return { source: probe.source, privileged: true };
  const { usable: _, ...why } = probe;
  return { source: new ProcSource(), privileged: false, ...why };
}
