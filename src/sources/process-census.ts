// Which processes exist, without reading /proc's directory at every refresh: the last
// refresh's processes, less those its queries found gone, plus the ids the kernel handed
// out since (/proc/sys/kernel/ns_last_pid: ids are given in turn, so every task started
// since has an id after the last one seen), each asked whether it is a process or a
// thread. /proc's link count checks the result: it is a fixed number plus the kernel's
// count of processes (fs/proc/root.c: proc_root_getattr, nr_processes), so a process
// this way would miss (one started with an id of its choosing, as checkpoint/restore
// does) makes the counts differ, and the next refresh reads the directory again. So does
// a count read while processes came or went, and anything unreadable (in a container, the
// kernel's count is every namespace's, and never agrees): the directory is the fallback.
import { statSync } from 'node:fs';
import { listProcessIds } from './proctasks.js';
import { readLastPid } from './system.js';

const NONE: ReadonlySet<number> = new Set();

/** Ids handed out since the last refresh beyond this: the directory is cheaper to read. */
const MAX_NEW_IDS = 256;

/** What the census reads (injectable for tests). */
export interface CensusIo {
  /** the last id the kernel handed out in this pid namespace; null: unreadable */
  lastPid(): number | null;
  /** /proc's link count; null: unreadable */
  linkCount(): number | null;
  /** /proc's numeric entries, ascending (read off the JS thread: see listProcessIds) */
  listAll(): Promise<number[]>;
}

export const procCensusIo: CensusIo = {
  lastPid: readLastPid,
  linkCount: () => {
    try {
      return statSync('/proc').nlink;
    } catch {
      return null;
    }
  },
  listAll: () => listProcessIds(),
};

/** A refresh's processes: read from the directory, or the known ones plus ids to confirm. */
export type Census = { listed: number[] } | { known: readonly number[]; newIds: number[] };

export class ProcessCensus {
  /** the processes the last refresh found (ascending); null: read the directory next time */
  private known: number[] | null = null;
  /** the last id handed out, as read at the last refresh */
  private lastPid: number | null = null;
  /** /proc's link count at this refresh's start */
  private links: number | null = null;
  /** /proc's links beyond its processes, once two listings agreed on it */
  private fixedLinks: number | null = null;
  private candidateFixed: number | null = null;
  /** begun and not ended: a refresh that stopped half-way leaves the next one to the directory */
  private open = false;
  /** refreshes that read the directory, and that did not (for tests) */
  listings = 0;
  skipped = 0;

  constructor(private io: CensusIo = procCensusIo) {}

  /**
   * This refresh's processes: the directory's, or the known ones and the ids handed out
   * since, less `ended` (tasks known to have ended since the last refresh: not asked).
   */
  async begin(ended: ReadonlySet<number> = NONE): Promise<Census> {
    // the last id first, then the count: a process started between the two is counted
    // but not asked, so it can only make the counts differ (never hide another)
    if (this.open) this.known = null;
    this.open = true;
    const last = this.io.lastPid();
    this.links = this.io.linkCount();
    const newIds =
      this.known && last !== null && this.lastPid !== null ? this.idsSince(this.lastPid, last, ended) : null;
    this.lastPid = last;
    if (this.known && newIds && this.fixedLinks !== null) {
      this.skipped++;
      return { known: this.known, newIds };
    }
    return { listed: await this.list() };
  }

  /** This refresh reads the directory after all (an id handed out since could not be confirmed). */
  relist(): Promise<number[]> {
    this.links = this.io.linkCount();
    return this.list();
  }

  private async list(): Promise<number[]> {
    this.listings++;
    const listed = await this.io.listAll();
    const after = this.io.linkCount();
    if (this.links !== null && after === this.links) {
      // nothing came or went while listing: what the link count holds beyond processes
      const fixed = this.links - listed.length;
      if (fixed === this.candidateFixed) this.fixedLinks = fixed;
      this.candidateFixed = fixed;
    }
    return listed;
  }

  /**
   * The processes this refresh's queries found (ascending; gone ones left out). The next
   * refresh starts from them if their number is what /proc's link count says.
   */
  end(alive: number[]): void {
    this.open = false;
    const agrees = this.fixedLinks !== null && this.links !== null && alive.length === this.links - this.fixedLinks;
    this.known = agrees ? alive : null;
  }

  /** Ids handed out after `from` up to `to`, but `ended`; null: too many, or the ids wrapped past pid_max. */
  private idsSince(from: number, to: number, ended: ReadonlySet<number>): number[] | null {
    if (to < from || to - from > MAX_NEW_IDS) return null;
    const out: number[] = [];
    for (let id = from + 1; id <= to; id++) if (!ended.has(id)) out.push(id);
    return out;
  }
}

/** `known` (ascending) with `added` merged in, ascending and without repeats. */
export function mergeIds(known: readonly number[], added: readonly number[]): readonly number[] {
  if (added.length === 0) return known;
  return [...new Set([...known, ...added])].sort((a, b) => a - b);
}
