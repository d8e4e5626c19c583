// Can exit records reach this process at all? The kernel sends them only to listeners in
// its initial user, pid and network namespaces. Outside the first two it refuses the
// registration (EPERM, EINVAL); outside the initial network namespace it accepts it and
// then delivers nothing, ever: a listener there would show "0 exits, lost 0" as if all
// were quiet. So delaytop looks before it listens.
import { statSync } from 'node:fs';
import { TaskstatsError } from '../kernel/errors.js';
import { kernelRelease } from './system.js';

/**
 * The inode numbers of the initial namespaces (include/uapi/linux/nsfs.h). user and pid
 * have had theirs since 3.8; the network namespace got a fixed one in 2025 and before
 * that was numbered like any other (every other namespace is numbered from 0xF0000000 up,
 * so no other one can have these).
 */
export const INIT_NS_INO = { user: 0xeffffffd, pid: 0xeffffffc, net: 0xeffffff9 } as const;
/** the first release known to number the initial network namespace NET_NS_INIT_INO */
const FIXED_NET_INO_SINCE: readonly [number, number] = [6, 18];

export interface NsFacts {
  /** device and inode of a /proc/.../ns/ link; undefined where it cannot be read */
  stat(path: string): { dev: number; ino: number } | undefined;
  /** uname -r */
  release: string;
}

function nsStat(path: string): { dev: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

export const liveNsFacts = (): NsFacts => ({ stat: nsStat, release: kernelRelease() });

function releaseAtLeast(release: string, [major, minor]: readonly [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

/** In the initial network namespace: true, false, or undefined where nothing can tell. */
export function inInitialNetns(f: NsFacts): boolean | undefined {
  const self = f.stat('/proc/self/ns/net');
  if (!self) return undefined;
  if (self.ino === INIT_NS_INO.net) return true;
  // root can read it, unless pid 1 is not dumpable
  const init = f.stat('/proc/1/ns/net');
  if (init) return init.dev === self.dev && init.ino === self.ino;
  // /proc/1/ns/net is unreadable: a kernel that numbers the initial one would have said so above
  return releaseAtLeast(f.release, FIXED_NET_INO_SINCE) ? false : undefined;
}

/**
 * Why exit records cannot reach this process (an error to show), or null if they can or
 * nothing can tell. `unsure` is called with a warning when nothing can tell.
 */
export function exitFeedBlocked(f: NsFacts = liveNsFacts(), unsure?: (warning: string) => void): TaskstatsError | null {
  const user = f.stat('/proc/self/ns/user')?.ino;
  if (user !== undefined && user !== INIT_NS_INO.user) {
    return new TaskstatsError(
      "exit records cannot reach delaytop here: it runs in a user namespace other than the host's (a container?), and the kernel takes exit listeners only from the initial one",
      'EUSERNS',
      'Run delaytop on the host, as root or with CAP_NET_ADMIN there.',
    );
  }
  const pid = f.stat('/proc/self/ns/pid')?.ino;
  if (pid !== undefined && pid !== INIT_NS_INO.pid) {
    return new TaskstatsError(
      "exit records cannot reach delaytop here: it runs in a pid namespace other than the host's (a container?), and the kernel takes exit listeners only from the initial one",
      'EPIDNS',
      "Run delaytop in the host's pid namespace, e.g. sudo nsenter -t 1 -p -n delaytop ...",
    );
  }
  const net = inInitialNetns(f);
  if (net === false) {
    return new TaskstatsError(
      "exit records cannot reach delaytop here: it runs in a network namespace other than the host's, and the kernel delivers them only in the initial one (a listener here would hear nothing)",
      'ENETNS',
      "Run it in the host's network namespace, e.g. sudo nsenter -t 1 -n delaytop ... (not under ip netns exec or in a container's own network).",
    );
  }
  if (net === undefined) {
    unsure?.(
      "cannot tell whether this is the host's network namespace (/proc/1/ns/net is not readable here): if it is not, the exit feed stays empty",
    );
  }
  return null;
}
