// Small facts about the running system, read from /proc and /sys.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { DELAYACCT_SYSCTL } from '../kernel/errors.js';
import { decodeName } from '../kernel/decode.js';
import { systemFiles } from './kept-file.js';

/** One change of kernel.task_delayacct between two of delaytop's readings (epoch ms). */
export interface DelayacctChange {
  /** the last reading with the old setting */
  fromMs: number;
  /** the first reading with the new one */
  toMs: number;
  on: boolean;
}

/** What delaytop itself read of the setting: its first reading and every change since. */
export interface DelayacctSeen {
  firstMs: number;
  firstOn: boolean | undefined;
  /** oldest first; only the newest MAX_CHANGES are kept */
  changes: DelayacctChange[];
}

export interface DelayacctState {
  /** kernel.task_delayacct now; undefined where the sysctl does not exist */
  on: boolean | undefined;
  /** epoch seconds since which it has been on, when known (0: booted with it) */
  onSinceSec: number | null;
  /** delaytop's own readings (absent in recordings made before they were kept) */
  seen?: DelayacctSeen;
}

/** The newest changes kept; older ones move the first reading forward (nothing is guessed). */
export const MAX_CHANGES = 32;

/** `seen` with one more change, the oldest dropped past MAX_CHANGES. */
export function withChange(seen: DelayacctSeen, change: DelayacctChange): DelayacctSeen {
  const changes = [...seen.changes, change];
  let { firstMs, firstOn } = seen;
  while (changes.length > MAX_CHANGES) {
    const dropped = changes.shift()!;
    firstMs = dropped.toMs;
    firstOn = dropped.on;
  }
  return { firstMs, firstOn, changes };
}

/** A file's text, trimmed; undefined where unreadable. `read`: through kept descriptors (systemFiles) for a file read several times a second. */
function readTrim(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  try {
    return read(path).trim();
  } catch {
    return undefined;
  }
}

const readKept = (path: string): string => systemFiles.read(path);

/** kernel.task_delayacct: true, false, or undefined where the sysctl does not exist. */
export function readDelayacct(): boolean | undefined {
  const v = readTrim(DELAYACCT_SYSCTL, readKept);
  return v === undefined ? undefined : v !== '0';
}

/** Set kernel.task_delayacct; returns an error message, or null on success. */
export function writeDelayacct(on: boolean): string | null {
  try {
    writeFileSync(DELAYACCT_SYSCTL, on ? '1' : '0');
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM'
      ? 'changing kernel.task_delayacct needs CAP_SYS_ADMIN (run delaytop with sudo)'
      : `cannot write ${DELAYACCT_SYSCTL}: ${(e as Error).message}`;
  }
}

/** Booted with the "delayacct" parameter: every task has been recorded since boot. */
export function delayacctAtBoot(): boolean {
  return /(^|\s)delayacct(\s|$)/.test(readTrim('/proc/cmdline') ?? '');
}

/** The last pid the kernel handed out in this pid namespace (kernel.ns_last_pid); null: unreadable. */
export function readLastPid(): number | null {
  const v = Number(readTrim('/proc/sys/kernel/ns_last_pid', readKept));
  return Number.isSafeInteger(v) && v >= 0 ? v : null;
}

export function readPidMax(): number {
  const v = Number(readTrim('/proc/sys/kernel/pid_max'));
  return Number.isInteger(v) && v > 0 ? v : 4194304;
}

/** /sys/devices/system/cpu/{possible,online} as a cpulist string. */
export function readCpulist(which: 'possible' | 'online'): string {
  return readTrim(`/sys/devices/system/cpu/${which}`) ?? `0-${os.cpus().length - 1}`;
}

export function kernelRelease(): string {
  return os.release();
}

/** Boot time in seconds since the epoch, from /proc/stat btime. */
export function bootTimeSec(): number | undefined {
  const m = /^btime\s+(\d+)/m.exec(readTrim('/proc/stat') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** /proc/<pid>/comm, for records that carry no comm (TGID records). */
/** /proc/<pid>/comm, every byte kept (the kernel adds one newline; spaces are the name's). */
export function readProcComm(pid: number): string | undefined {
  try {
    const b = readFileSync(`/proc/${pid}/comm`);
    return decodeName(b.subarray(0, b.length && b[b.length - 1] === 0x0a ? b.length - 1 : b.length));
  } catch {
    return undefined;
  }
}

/**
 * kernel.task_delayacct now, since when it has been on where that is known (from boot, or
 * from the moment this tracker saw it turn on), and every change between two of its
 * readings: each call is a reading, so a caller that must see switches (waits in flight
 * then are timed from stale stamps) calls it often enough (watchedDelayacct).
 */
export function delayacctTracker(
  read: () => boolean | undefined = readDelayacct,
  now: () => number = Date.now,
): () => DelayacctState {
  const atBoot = delayacctAtBoot();
  let onSinceSec: number | null = atBoot ? 0 : null;
  let lastMs = now();
  let last = read();
  let seen: DelayacctSeen = { firstMs: lastMs, firstOn: last, changes: [] };
  return () => {
    const t = now();
    const on = read();
    if (on !== undefined && last !== undefined && on !== last) {
      seen = withChange(seen, { fromMs: lastMs, toMs: t, on });
    }
    if (on && last === false) onSinceSec = Math.floor(t / 1000);
    if (on === false) onSinceSec = atBoot ? 0 : null;
    last = on;
    lastMs = t;
    return { on, onSinceSec, seen };
  };
}

/**
 * How often the setting is read at least: a little over the dashboard's default refresh
 * (1 s), whose readings then stand in for the timer's.
 */
export const DELAYACCT_WATCH_MS = 1200;

/**
 * A tracker (delayacctTracker) that a timer also reads whenever no call did for `everyMs`,
 * so that a switch is seen within that time. Every call pushes the timer out: a dashboard
 * reads the setting at its refreshes and exit batches, and a timer of its own would only
 * add wake-ups (docs/performance.md, "Wake-ups"). The timer keeps nothing alive; `stop`
 * ends it.
 */
export function watchedDelayacct(
  everyMs = DELAYACCT_WATCH_MS,
  tracker: () => DelayacctState = delayacctTracker(),
): { read: () => DelayacctState; stop: () => void } {
  const timer = setInterval(tracker, everyMs);
  timer.unref();
  return {
    read: () => {
      timer.refresh();
      return tracker();
    },
    stop: () => clearInterval(timer),
  };
}
