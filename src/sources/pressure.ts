// Pressure stall information (PSI) for the whole system (/proc/pressure) and, for -C PATH,
// a cgroup: its cgroupstats where the kernel offers them (cgroup v1 only), or on cgroup v2
// its own cpu/io/memory.pressure files, with a plain note saying why. Reading only: the text
// made of it is output/pressure.ts.
import { statfsSync, statSync } from 'node:fs';
import { loadAddon } from '../kernel/addon.js';
import { decodeCgroupStats, type CgroupStats } from '../kernel/cgroupstats.js';
import { TaskstatsError } from '../kernel/errors.js';
import { onceFiles, systemFiles, type KeptFiles } from './kept-file.js';

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** total stall time, µs */
  totalUs: number;
}

export interface Psi {
  /** some task stalled; null where the file has no such line (irq has only "full") */
  some: PsiLine | null;
  full: PsiLine | null;
}

export const PSI_RESOURCES = ['cpu', 'io', 'memory', 'irq'] as const;
export type PsiResource = (typeof PSI_RESOURCES)[number];

/** "some avg10=0.12 avg60=0.05 avg300=0.01 total=12345" lines; unknown lines are ignored. */
export function parsePressure(text: string): Psi {
  const out: Psi = { some: null, full: null };
  for (const line of text.split('\n')) {
    const m = /^(some|full)\s+avg10=([0-9.]+)\s+avg60=([0-9.]+)\s+avg300=([0-9.]+)\s+total=([0-9]+)/.exec(line.trim());
    if (m)
      out[m[1] as 'some' | 'full'] = {
        avg10: Number(m[2]),
        avg60: Number(m[3]),
        avg300: Number(m[4]),
        totalUs: Number(m[5]),
      };
  }
  return out;
}

export interface PressureReading {
  /** one entry per file that could be read */
  psi: Partial<Record<PsiResource, Psi>>;
  /** resources whose file is absent (e.g. irq before 6.1, or CONFIG_IRQ_TIME_ACCOUNTING off) */
  missing: PsiResource[];
}

function readPsiFiles(
  pathOf: (r: PsiResource) => string,
  resources: readonly PsiResource[],
  files: KeptFiles,
): PressureReading {
  const out: PressureReading = { psi: {}, missing: [] };
  for (const r of resources) {
    try {
      out.psi[r] = parsePressure(files.read(pathOf(r)));
    } catch {
      // Missing, or EOPNOTSUPP when PSI is compiled in but disabled (psi=0): not there either way.
      out.missing.push(r);
    }
  }
  return out;
}

/** System-wide PSI, or null where /proc/pressure does not exist (kernel without PSI, or psi=0). */
export function readSystemPressure(root = '/proc/pressure'): PressureReading | null {
  // /proc/pressure's files are read at every refresh: kept open
  const r = readPsiFiles((x) => `${root}/${x}`, PSI_RESOURCES, root === '/proc/pressure' ? systemFiles : onceFiles);
  return r.missing.length === PSI_RESOURCES.length ? null : r;
}

// ---------------------------------------------------------------- cgroups

export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const CGROUP2_SUPER_MAGIC = 0x63677270;

export class CgroupError extends TaskstatsError {
  override name = 'CgroupError';
}

export const CGROUP_V2_NOTE =
  'cgroup v2: the kernel gives cgroupstats (CGROUPSTATS_CMD_GET: tasks sleeping, running, stopped, ' +
  "uninterruptible, waiting on IO) only for cgroup v1 hierarchies, so delaytop shows this cgroup's " +
  'pressure (cpu.pressure, io.pressure, memory.pressure) instead.';

// Seen on 6.18: cgroupstats_build() matches task states exactly, so a task sleeping with
// TASK_FREEZABLE set (nanosleep, futex waits: most idle threads since 6.1) is counted nowhere.
export const CGROUP_V1_NOTE =
  'tasks in a freezable sleep (nanosleep, futex waits) are counted in none of these: the kernel matches states exactly';

export type CgroupView =
  | { path: string; version: 1; stats: CgroupStats }
  | { path: string; version: 2; note: string; pressure: PressureReading };

/** cgroup v1 or v2, by the filesystem's magic; a CgroupError for anything that is not a cgroup directory. */
export function cgroupVersion(path: string): 1 | 2 {
  let type: number;
  try {
    if (!statSync(path).isDirectory())
      throw new CgroupError(
        `-C ${path}: not a directory`,
        'ENOTDIR',
        'Name a cgroup directory, e.g. -C /sys/fs/cgroup/system.slice',
      );
    type = statfsSync(path).type;
  } catch (e) {
    if (e instanceof CgroupError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new CgroupError(
      `-C ${path}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`,
      err.code ?? 'EIO',
      'Name a cgroup directory under /sys/fs/cgroup.',
    );
  }
  if (type === CGROUP2_SUPER_MAGIC) return 2;
  if (type === CGROUP_SUPER_MAGIC) return 1;
  throw new CgroupError(
    `-C ${path}: not a cgroup directory (filesystem magic 0x${type.toString(16)})`,
    'EINVAL',
    'Cgroups live under /sys/fs/cgroup (see /proc/self/cgroup and /proc/mounts).',
  );
}

/** What -C PATH shows: v1 cgroupstats from the kernel, or v2 pressure with the note why. */
export function readCgroup(path: string): CgroupView {
  const version = cgroupVersion(path);
  if (version === 2) {
    return {
      path,
      version,
      note: CGROUP_V2_NOTE,
      pressure: readPsiFiles((r) => `${path}/${r}.pressure`, ['cpu', 'io', 'memory'], onceFiles),
    };
  }
  let ab: ArrayBuffer;
  try {
    ab = loadAddon().cgroupStats(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CgroupError(`-C ${path}: cgroupstats failed: ${err.message}`, err.code ?? 'EIO', '');
  }
  return { path, version, stats: decodeCgroupStats(new Uint8Array(ab)) };
}
