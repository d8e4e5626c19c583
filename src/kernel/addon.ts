// The typed face of native/ (delaytop.node). Nothing else in src/ touches the addon.
import { createRequire } from 'node:module';

export interface NativeQuerySocket {
  /** one batch, one crossing: result layout in queryEntryBytes entries + payloads */
  querySync(ids: Uint32Array, tgid: Uint8Array): ArrayBuffer;
  query(ids: Uint32Array, tgid: Uint8Array): Promise<ArrayBuffer>;
  close(): void;
  info(): { familyId: number; portId: number; rcvbufBytes: number; overruns: number; timeouts: number };
}

export interface NativeListenerOptions {
  rcvbufBytes: number;
  forceRcvbuf: boolean;
  pin: boolean;
  /** run reader threads at SCHED_FIFO 1 (default true; needs CAP_SYS_NICE) */
  realtime?: boolean;
  maxQueueBytes: number;
  /** cpulist of possible CPUs: cleared for our port ids before registering */
  possible: string;
}

export interface NativeReaderInfo {
  cpu: number;
  portId: number;
  rcvbufBytes: number;
  /** the reader thread runs at SCHED_FIFO 1 */
  realtime: boolean;
  realtimeError: string;
  registered: boolean;
  deregisterError: string;
}

export interface NativeListener {
  drain(): { data: ArrayBuffer; counters: Float64Array };
  close(): void;
  info(): { readers: NativeReaderInfo[]; familyId: number; counterCount: number };
}

export interface ParsedMessage {
  error?: string;
  type?: number;
  seq?: number;
  portId?: number;
  cmd?: number;
  errno?: number;
  pid?: { id: number; offset: number; length: number };
  tgid?: { id: number; offset: number; length: number };
}

export interface Addon {
  QuerySocket: new (timeoutMs?: number) => NativeQuerySocket;
  Listener: new (cpus: number[], opts: NativeListenerOptions, notify: () => void) => NativeListener;
  parseDatagram(buf: Uint8Array, familyId: number): ParsedMessage[];
  /** CGROUPSTATS_CMD_GET on a cgroup v1 directory: the struct cgroupstats payload (EINVAL on v2) */
  cgroupStats(path: string): ArrayBuffer;
  queryEntryBytes: number;
  exitRecordHeaderBytes: number;
  counterCount: number;
}

let cached: Addon | undefined;

export function loadAddon(): Addon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require('../../native/build/Release/delaytop.node') as Addon;
  } catch (e) {
    const err = new Error(
      `the native addon is not built (${(e as Error).message.split('\n')[0]}).\n` +
        '  Build it with: npm run build   (needs python3, make and g++)',
    );
    (err as NodeJS.ErrnoException).code = 'ENOADDON';
    throw err;
  }
  return cached;
}
