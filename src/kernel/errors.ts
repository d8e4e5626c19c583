// Kernel answers turned into messages that say what happened and what to do.
import { getSystemErrorMap } from 'node:util';

export class TaskstatsError extends Error {
  override name = 'TaskstatsError';
  constructor(
    message: string,
    readonly code: string,
    readonly advice: string,
  ) {
    super(message);
  }
  /** message plus advice, for the user */
  explain(): string {
    return this.advice ? `${this.message}\n  ${this.advice}` : this.message;
  }
}

// Never "setcap the system's node": that hands CAP_NET_ADMIN to every node program of
// every user. The script gives it to a copy of node that one group alone can run.
export const CAP_REMEDY = 'run with sudo, or for one group of users: sudo scripts/install-privileged.sh (see README)';

/** An errno failure in words: "ENOSPC (no space left on device)"; the message if it has no errno. */
export function describeErrno(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  const known = typeof x?.errno === 'number' ? getSystemErrorMap().get(x.errno) : undefined;
  if (known) return `${known[0]} (${known[1]})`;
  return x?.code ? `${x.code} (${x.message})` : String((e as Error)?.message ?? e);
}

let errnoNames: Map<number, [string, string]> | undefined;

/**
 * A positive errno's name ("ESRCH"), or "errno N" if it has none. From node's table
 * (libuv's), the one the addon names its errors from (native/errors.h): one list for both.
 */
export function errnoName(errno: number): string {
  errnoNames ??= getSystemErrorMap();
  return errnoNames.get(-errno)?.[0] ?? `errno ${errno}`;
}

/** Translate an error thrown by the native addon (it carries .code, an errno name). */
export function fromNative(e: unknown, what: string): Error {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const msg = (e as Error)?.message ?? String(e);
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return new TaskstatsError(
        `${what}: permission denied (taskstats needs CAP_NET_ADMIN in the initial user namespace)`,
        code,
        `To get it: ${CAP_REMEDY}. Without it, delaytop can show CPU and IO delay from /proc (try it as a normal user).`,
      );
    case 'ENOENT':
      return new TaskstatsError(
        `${what}: this kernel has no TASKSTATS generic-netlink family`,
        code,
        'The kernel was built without CONFIG_TASKSTATS; delay accounting via netlink is not available here.',
      );
    case 'EPROTONOSUPPORT':
    case 'EAFNOSUPPORT':
      return new TaskstatsError(
        `${what}: netlink is not available (${msg})`,
        code,
        'Run delaytop on Linux with generic netlink.',
      );
    case 'ENOADDON':
    case 'EADDONCONTRACT':
      return new TaskstatsError(msg, code, '');
    default:
      return new TaskstatsError(`${what}: ${msg}`, code || 'EIO', '');
  }
}

export const DELAYACCT_SYSCTL = '/proc/sys/kernel/task_delayacct';

export const DELAYACCT_OFF_ADVICE =
  'Delay accounting is off (kernel.task_delayacct = 0): IO, SWAP, RECLAIM, THRASHING, COMPACT, WPCOPY and IRQ ' +
  'delays are n/a; CPU delay is still valid. Turn it on with: sudo sysctl -w kernel.task_delayacct=1 ' +
  '(tasks started before that keep n/a), or boot with the "delayacct" parameter.';
