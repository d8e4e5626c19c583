// Exit events from the kernel: one listener socket and reader thread per CPU (native),
// drained here in batches. The same ExitSource interface (types.ts) is served by a replayed
// recording.
import { loadAddon, loadContract, type Contract, type NativeListener } from '../kernel/addon.js';
import { decodeCounters, decodeExitBatch, type CpuCounters } from '../kernel/exitrecord.js';
import { fromNative, TaskstatsError } from '../kernel/errors.js';
import { withLost } from '../model/exit-feed/loss.js';
import { exitFeedBlocked } from './namespaces.js';
import { readCpulist } from './system.js';
import type { ExitBatch, ExitSource } from './types.js';

export interface ListenOptions {
  cpus: number[];
  /** cpulist of possible CPUs (default: /sys/devices/system/cpu/possible) */
  possible?: string;
  /** receive buffer per socket (default DEFAULT_RCVBUF_BYTES) */
  rcvbufBytes?: number;
  pin?: boolean;
  /** ms to gather records before handing a batch to JS (default 50) */
  batchMs?: number;
  /** bound of delaytop's own queue; overflow is counted lost (default 64 MiB) */
  maxQueueBytes?: number;
}

/** The listener's defaults, in one place for every mode that listens. */
function withDefaults(o: ListenOptions): Required<ListenOptions> {
  return {
    cpus: o.cpus,
    possible: o.possible ?? readCpulist('possible'),
    rcvbufBytes: o.rcvbufBytes ?? DEFAULT_RCVBUF_BYTES,
    pin: o.pin ?? false,
    batchMs: o.batchMs ?? 50,
    maxQueueBytes: o.maxQueueBytes ?? 64 << 20,
  };
}

export const DEFAULT_RCVBUF_BYTES = 16 << 20;

export interface ListenerWarning {
  /** null: the listener as a whole */
  cpu: number | null;
  message: string;
}

export class NetlinkExitSource implements ExitSource {
  readonly cpus: readonly number[];
  readonly warnings: ListenerWarning[] = [];
  private native: NativeListener;
  private contract: Contract;
  private decodeFailed: number[];
  private fn: ((b: ExitBatch) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private last: CpuCounters[] = [];

  private opts: Required<ListenOptions>;

  constructor(options: ListenOptions) {
    const opts = (this.opts = withDefaults(options));
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
          rcvbufBytes: opts.rcvbufBytes,
          forceRcvbuf: true,
          pin: opts.pin,
          maxQueueBytes: opts.maxQueueBytes,
          possible: opts.possible,
        },
        () => this.onNotify(),
      );
    } catch (e) {
      throw listenError(e, opts);
    }
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; the kernel reports twice what it grants.
    for (const r of this.native.info().readers) {
      if (r.realtimeError) {
        this.warnings.push({
          cpu: r.cpu,
          message: `cpu ${r.cpu}: listener thread could not get real-time priority (${r.realtimeError}; needs CAP_SYS_NICE): exits may be lost while other sessions run exit storms`,
        });
      }
      if (r.pinError) {
        this.warnings.push({
          cpu: r.cpu,
          message: `cpu ${r.cpu}: listener thread could not be pinned to its CPU (${r.pinError}); it runs unpinned`,
        });
      }
      if (r.rcvbufBytes / 2 < opts.rcvbufBytes) {
        this.warnings.push({
          cpu: r.cpu,
          message: `cpu ${r.cpu}: receive buffer is ${r.rcvbufBytes} bytes, less than the ${opts.rcvbufBytes} asked for (capped by net.core.rmem_max without CAP_NET_ADMIN); exits may be lost under load`,
        });
      }
    }
  }

  info() {
    return this.native.info();
  }

  start(fn: (batch: ExitBatch) => void): void {
    this.fn = fn;
    this.onNotify(); // anything queued during registration
  }

  private onNotify(): void {
    // Called from the native thread-safe function: exceptions here would be swallowed.
    if (this.closed || !this.fn || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.fn?.(this.drain());
      } catch (e) {
        process.nextTick(() => {
          throw e;
        });
      }
    }, this.opts.batchMs);
  }

  flush(): void {
    if (this.closed || !this.fn) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fn(this.drain());
  }

  private drain(): ExitBatch {
    const { data, counters } = this.native.drain();
    const records = decodeExitBatch(data, this.contract.exitRecordHeader, (cpu) => {
      const i = this.cpus.indexOf(cpu);
      if (i >= 0) this.decodeFailed[i]!++;
    });
    this.last = decodeCounters(counters, this.cpus, this.decodeFailed, this.contract).map(withLost);
    return { records, counters: this.last };
  }

  close(): ExitBatch {
    if (this.closed) return { records: [], counters: this.last };
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.native.close();
    return this.drain();
  }
}

function listenError(e: unknown, opts: Required<ListenOptions>): Error {
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
