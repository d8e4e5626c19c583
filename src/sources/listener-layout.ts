// How the exit listener spreads over the CPUs it listens to. One socket per CPU, always: the
// kernel's per-CPU nlmsg_seq makes a socket's seq gaps its exact loss only so. Reader threads
// each serve a run of those sockets, and every socket's receive buffer is a share of one total
// budget. Pure: the measurements behind the numbers are in docs/performance.md and
// docs/many-cpus.md.

const MiB = 1 << 20;

/** The most a socket gets from the budget: 16 MiB asked (32 granted) queues ~26,000 exits. */
export const RCVBUF_MAX_PER_SOCKET = 16 * MiB;
/** The least, whatever the budget: 1,638 exits queued; the reader's 1-ms batching needs >= 1 MiB. */
export const RCVBUF_MIN_PER_SOCKET = 1 * MiB;
/** The budget is this share of RAM (asked; the kernel may charge twice that)... */
export const RCVBUF_BUDGET_RAM_DIVISOR = 64;
/** ...but never less than two full sockets (so 1-2 CPUs get 16 MiB each on any machine)... */
export const RCVBUF_BUDGET_MIN = 2 * RCVBUF_MAX_PER_SOCKET;
/** ...and never more than 1 GiB (2 GiB of kernel memory at most, with every queue full). */
export const RCVBUF_BUDGET_MAX = 1024 * MiB;

/**
 * A reader thread serves up to this many sockets: 8 CPUs at the top exit rate of one CPU here
 * (~25,000/s) cost it ~0.45 of a core at ~2.1 us an exit (docs/performance.md)...
 */
export const SOCKETS_PER_THREAD = 8;
/** ...with at most this many threads (above 512 CPUs, threads then serve more sockets each). */
export const MAX_READER_THREADS = 64;

export interface RcvbufPlan {
  /** receive buffer asked per socket (SO_RCVBUFFORCE; the kernel grants twice that) */
  rcvbufBytes: number;
  /** the total budget it was carved from; null when -r set the size */
  budgetBytes: number | null;
}

/**
 * Receive buffer per socket: `-r` as given (every socket, no budget), else an equal share of the
 * budget (1/64 of RAM within [32 MiB, 1 GiB]), rounded down to whole MiB and kept within
 * [1 MiB, 16 MiB]. At 512 CPUs the floor may take the total past the budget (a machine with
 * less than 32 GiB of RAM): the floor wins, -v says so.
 */
export function rcvbufPlan(cpuCount: number, ramBytes: number, rcvbufArg?: number): RcvbufPlan {
  if (rcvbufArg !== undefined) return { rcvbufBytes: rcvbufArg, budgetBytes: null };
  const budgetBytes = Math.min(
    RCVBUF_BUDGET_MAX,
    Math.max(RCVBUF_BUDGET_MIN, Math.floor(ramBytes / RCVBUF_BUDGET_RAM_DIVISOR)),
  );
  const share = Math.floor(budgetBytes / Math.max(1, cpuCount) / MiB) * MiB;
  return { rcvbufBytes: Math.min(RCVBUF_MAX_PER_SOCKET, Math.max(RCVBUF_MIN_PER_SOCKET, share)), budgetBytes };
}

/** Reader threads for this many sockets: one per 8 (one thread up to 8 CPUs), at most 64. */
export function readerThreads(cpuCount: number): number {
  return Math.min(MAX_READER_THREADS, Math.max(1, Math.ceil(cpuCount / SOCKETS_PER_THREAD)));
}

/**
 * Which thread serves each socket: contiguous runs of the CPU list (neighbours in a cpulist tend
 * to share a package, so a pinned thread stays near its CPUs), sizes differing by at most one.
 */
export function threadOf(cpuCount: number, threads: number): number[] {
  const t = Math.max(1, Math.min(threads, cpuCount));
  return Array.from({ length: cpuCount }, (_, i) => Math.floor((i * t) / cpuCount));
}

export interface ListenerLayout extends RcvbufPlan {
  sockets: number;
  threads: number;
  /** the reader thread of each socket, in the order of the CPUs listened to */
  threadOf: number[];
  /** rcvbufBytes x sockets, as asked (the kernel may charge up to twice) */
  totalBytes: number;
}

/** The whole layout; `threads` overrides the thread count (benchmarks compare designs with it). */
export function listenerLayout(
  cpuCount: number,
  ramBytes: number,
  rcvbufArg?: number,
  threads = readerThreads(cpuCount),
): ListenerLayout {
  const plan = rcvbufPlan(cpuCount, ramBytes, rcvbufArg);
  const split = threadOf(cpuCount, threads);
  return {
    ...plan,
    sockets: cpuCount,
    threads: cpuCount ? split[cpuCount - 1]! + 1 : 0,
    threadOf: split,
    totalBytes: plan.rcvbufBytes * cpuCount,
  };
}

/** CPU numbers as a cpulist ("0-3,8"): what args.ts's expandCpulist reads. */
export function formatCpulist(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const size = (n: number) =>
  n >= 1 << 30 && n % (1 << 30) === 0
    ? `${n / (1 << 30)} GiB`
    : n >= MiB
      ? `${+(n / MiB).toFixed(1)} MiB`
      : `${n} bytes`;

/** The `-v` line: sockets, threads, buffer per socket, total and budget. */
export function describeLayout(l: ListenerLayout): string {
  const most = Math.ceil(l.sockets / l.threads);
  const least = Math.floor(l.sockets / l.threads);
  const perThread =
    l.threads === 1
      ? `${l.sockets} socket${l.sockets === 1 ? '' : 's'}`
      : `${least === most ? most : `${least}-${most}`} socket${most === 1 ? '' : 's'} each`;
  const budget =
    l.budgetBytes === null
      ? 'set by -r'
      : l.totalBytes > l.budgetBytes
        ? `over the ${size(l.budgetBytes)} budget: ${size(RCVBUF_MIN_PER_SOCKET)} per socket is the floor`
        : `of a ${size(l.budgetBytes)} budget`;
  return (
    `exit listener: ${l.sockets} socket${l.sockets === 1 ? '' : 's'} (one per CPU), ` +
    `${l.threads} reader thread${l.threads === 1 ? '' : 's'} (${perThread}), ` +
    `receive buffer ${size(l.rcvbufBytes)} per socket asked (the kernel grants twice), ` +
    `${size(l.totalBytes)} in all (${budget})`
  );
}
