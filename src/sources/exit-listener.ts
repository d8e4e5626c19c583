// Exit events from the kernel: one listener socket per CPU, read by native threads that each
// serve one or several sockets (laid out by listener-layout.ts), drained here in batches. The
// same ExitSource interface (types.ts) is served by a replayed recording.
import { totalmem } from 'node:os';
import { loadAddon, loadContract, type Contract, type NativeListener, type NativeReaderInfo } from '../kernel/addon.js';
import { decodeCounters, decodeExitBatch, type CpuCounters, type ExitRecord } from '../kernel/exitrecord.js';
import { ExitLineWriter } from '../kernel/exit-lines.js';
import { fromNative, TaskstatsError } from '../kernel/errors.js';
import { withLost } from '../model/exit-feed/loss.js';
import { formatCpulist, listenerLayout, type ListenerLayout } from './listener-layout.js';
import { exitFeedBlocked } from './namespaces.js';
import { readCpulist } from './system.js';
import type { ExitBatch, ExitLineSink, ExitSource } from './types.js';

export interface ListenOptions {
  cpus: number[];
  /** cpulist of possible CPUs (default: /sys/devices/system/cpu/possible) */
  possible?: string;
  /** receive buffer per socket (default: a share of the budget, listener-layout.ts) */
  rcvbufBytes?: number;
  /** reader threads (default: readerThreads() of the CPU count); benchmarks compare designs */
  readerThreads?: number;
  pin?: boolean;
  /** ms to gather records before handing a batch to JS (default 50) */
  batchMs?: number;
  /**
   * ms to gather them after a drain of QUIET_BYTES or less (default batchMs): exits now
   * and then wait longer and come in fewer batches, each of which wakes the JS thread twice
   * (the reader's notice, then the batch's timer); a consumer that flushes at least this
   * often never waits for the timer. A storm that begins meanwhile is gathered for batchMs
   * from when the queue reaches its high-water mark (native/exit-reader.h: ExitQueue).
   */
  quietBatchMs?: number;
  /**
   * After a quiet drain the readers do not wake the JS thread for the next exits: those wait
   * for the consumer's flush(), or for a drain quietBatchMs after the last one (a timer that
   * each drain pushes out), unless the queue reaches its high-water mark first. A consumer
   * that flushes more often than that (the dashboard's refresh) then pays no wake-up for an
   * exit now and then. (default false)
   */
  pollWhenQuiet?: boolean;
  /**
   * bound of delaytop's own queue; overflow is counted lost, or summarized with keepNewest
   * (default 64 MiB, ~110,000 records; keepNewest 8 MiB, ~14,000)
   */
  maxQueueBytes?: number;
  /**
   * A view of the newest exits (the dashboard's feed, not recording): the queue, full, lets
   * its oldest records give way, counted per CPU as summarized, rather than lose new ones.
   */
  keepNewest?: boolean;
}

/** A drain of this many bytes or less (about 20 records) was a quiet one (see quietBatchMs). */
const QUIET_BYTES = 8 << 10;

/** A batch a storm's drains stay above (~1,700 exits at 50 ms); lines keep their scratch while they do. */
const SCRATCH_KEEP_BYTES = 1 << 20;

/**
 * What lines drain into next, after a batch of length bytes in data: data, kept for the next
 * storm, until a batch is small again (a storm's end) while data is large.
 */
export function scratchAfter(data: ArrayBuffer, length: number): ArrayBuffer | undefined {
  return length <= SCRATCH_KEEP_BYTES && data.byteLength > 4 * SCRATCH_KEEP_BYTES ? undefined : data;
}

type Settled = Required<Omit<ListenOptions, 'rcvbufBytes' | 'readerThreads'>> & { layout: ListenerLayout };

/** The listener's defaults, in one place for every mode that listens. */
function withDefaults(o: ListenOptions): Settled {
  return {
    cpus: o.cpus,
    possible: o.possible ?? readCpulist('possible'),
    layout: listenerLayout(o.cpus.length, totalmem(), o.rcvbufBytes, o.readerThreads),
    pin: o.pin ?? false,
    batchMs: o.batchMs ?? 50,
    quietBatchMs: o.quietBatchMs ?? o.batchMs ?? 50,
    pollWhenQuiet: o.pollWhenQuiet ?? false,
    // A view of the newest shows 1,000 and remembers 4,096 (model/exit-feed/store.ts): a
    // larger queue would only hold a storm's older records (and their copy for JS) in memory.
    maxQueueBytes: o.maxQueueBytes ?? (o.keepNewest ? 8 << 20 : 64 << 20),
    keepNewest: o.keepNewest ?? false,
  };
}

export interface ListenerWarning {
  /** the one CPU it concerns; null: several, or the listener as a whole */
  cpu: number | null;
  message: string;
}

/**
 * What the readers could not get (real-time priority, pinning, the receive buffer asked),
 * one warning per kind for all the CPUs it concerns: a thread serves several, and 512 lines
 * of the same warning would say less than one.
 */
export function readerWarnings(readers: readonly NativeReaderInfo[], rcvbufBytes: number): ListenerWarning[] {
  const concerns = new Map<string, number[]>();
  const concern = (message: string, cpu: number) => concerns.set(message, [...(concerns.get(message) ?? []), cpu]);
  for (const r of readers) {
    if (r.realtimeError) {
      concern(
        `listener thread could not get real-time priority (${r.realtimeError}; needs CAP_SYS_NICE): exits may be lost while other sessions run exit storms`,
        r.cpu,
      );
    }
    if (r.pinError) concern(`listener thread could not be pinned to its CPUs (${r.pinError}); it runs unpinned`, r.cpu);
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; the kernel reports twice what it grants.
    if (r.rcvbufBytes / 2 < rcvbufBytes) {
      concern(
        `receive buffer is ${r.rcvbufBytes} bytes, less than the ${rcvbufBytes} asked for (capped by net.core.rmem_max without CAP_NET_ADMIN); exits may be lost under load`,
        r.cpu,
      );
    }
  }
  return [...concerns].map(([message, cpus]) => ({
    cpu: cpus.length === 1 ? cpus[0]! : null,
    message: `cpu ${formatCpulist(cpus)}: ${message}`,
  }));
}

export class NetlinkExitSource implements ExitSource {
  readonly cpus: readonly number[];
  readonly warnings: ListenerWarning[] = [];
  private native: NativeListener;
  private contract: Contract;
  private decodeFailed: number[];
  private fn: ((b: ExitBatch) => void) | undefined;
  /** scratch: what the lines are drained into, kept between drains (see drain) */
  private lines: { sink: ExitLineSink; writer: ExitLineWriter; scratch?: ArrayBuffer } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** the wait the timer was set for */
  private timerMs = 0;
  /** pollWhenQuiet: the drain quietBatchMs after the last */
  private poll: NodeJS.Timeout | undefined;
  private closed = false;
  private last: CpuCounters[] = [];
  /** bytes of the last drain (QUIET_BYTES or less: gather the next batch for quietBatchMs) */
  private lastDrained = 0;

  private opts: Settled;
  /** sockets, threads and receive buffers, as chosen for these CPUs */
  readonly layout: ListenerLayout;

  constructor(options: ListenOptions) {
    const opts = (this.opts = withDefaults(options));
    this.layout = opts.layout;
    // Registration would succeed in another network namespace and then hear nothing.
    const blocked = exitFeedBlocked(undefined, (message) => this.warnings.push({ cpu: null, message }));
    if (blocked) throw blocked;
    let addon;
    try {
      addon = loadAddon();
    } catch (e) {
      throw fromNative(e, 'load native addon');
    }
    this.cpus = [...opts.cpus];
    this.decodeFailed = opts.cpus.map(() => 0);
    this.contract = loadContract();
    try {
      this.native = new addon.Listener(
        this.cpus as number[],
        {
          rcvbufBytes: opts.layout.rcvbufBytes,
          threadOf: opts.layout.threadOf,
          forceRcvbuf: true,
          pin: opts.pin,
          maxQueueBytes: opts.maxQueueBytes,
          keepNewest: opts.keepNewest,
          quietBytes: opts.pollWhenQuiet ? QUIET_BYTES : 0,
          possible: opts.possible,
        },
        () => this.onNotify(),
      );
    } catch (e) {
      throw listenError(e, opts);
    }
    this.warnings.push(...readerWarnings(this.native.info().readers, opts.layout.rcvbufBytes));
  }

  info() {
    return this.native.info();
  }

  start(fn: (batch: ExitBatch) => void, lines?: ExitLineSink): void {
    this.fn = fn;
    if (lines) this.lines = { sink: lines, writer: new ExitLineWriter(loadAddon(), lines) };
    if (this.opts.pollWhenQuiet) {
      this.poll = setInterval(() => {
        if (!this.timer) this.deliver();
      }, this.opts.quietBatchMs);
      this.poll.unref();
    }
    this.onNotify(); // anything queued during registration
  }

  private onNotify(): void {
    // Called from the native thread-safe function: exceptions here would be swallowed.
    if (this.closed || !this.fn) return;
    const { batchMs } = this.opts;
    if (this.timer && this.timerMs <= batchMs) return;
    // quietBatchMs after a quiet drain; batchMs after a large one, and for a notice that the
    // queue reached its high-water mark: one that comes while a quiet batch is gathered, or
    // (pollWhenQuiet, the readers keeping quiet) any after a quiet drain.
    const quiet = this.lastDrained <= QUIET_BYTES && !this.timer && !this.opts.pollWhenQuiet;
    clearTimeout(this.timer);
    this.timerMs = quiet ? this.opts.quietBatchMs : batchMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliver();
    }, this.timerMs);
  }

  /** A batch to the consumer, from a timer. */
  private deliver(): void {
    try {
      this.fn?.(this.drain());
    } catch (e) {
      process.nextTick(() => {
        throw e;
      });
    }
  }

  flush(): void {
    if (this.closed || !this.fn) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fn(this.drain());
  }

  private drain(): ExitBatch {
    const onBad = (cpu: number) => {
      const i = this.cpus.indexOf(cpu);
      if (i >= 0) this.decodeFailed[i]!++;
    };
    const header = this.contract.exitRecordHeader;
    let records: ExitRecord[] = [];
    const { lines } = this;
    // Lines are done with their batch before the next drain, so they drain into one buffer
    // again and again: a new one a drain is a mapping the JS thread makes and unmaps each time
    // in a storm (docs/performance.md, "Every exit written"). Records keep views of theirs.
    const { data, length, counters } = this.native.drain(lines?.scratch);
    this.lastDrained = length;
    this.poll?.refresh();
    if (lines) {
      lines.scratch = scratchAfter(data, length);
      lines.writer.write(data, length, header, lines.sink.batch(), lines.sink.write, onBad);
    } else {
      records = decodeExitBatch(data, header, onBad);
    }
    this.last = decodeCounters(counters, this.cpus, this.decodeFailed, this.contract).map(withLost);
    return { records, counters: this.last };
  }

  close(): ExitBatch {
    if (this.closed) return { records: [], counters: this.last };
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.native.close();
    return this.drain();
  }
}

function listenError(e: unknown, opts: Settled): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const cpu = (e as { cpu?: number }).cpu;
  const where = cpu === undefined ? 'register exit listener' : `register cpumask for cpu ${cpu}`;
  switch (code) {
    case 'EINVAL':
      return new TaskstatsError(
        `${where}: the kernel refused the cpumask (EINVAL)`,
        code,
        `Listening needs the initial user and pid namespaces, and CPUs among the possible ones (${opts.possible}). Run delaytop on the host, not in a container.`,
      );
    case 'ERANGE':
      return new TaskstatsError(`${where}: a CPU is out of range (ERANGE)`, code, `Use CPUs from ${opts.possible}.`);
    case 'E2BIG':
      return new TaskstatsError(`${where}: cpumask too long (E2BIG)`, code, 'Use ranges, e.g. -m 0-63.');
    default:
      return fromNative(e, where);
  }
}
