// What the process table shows of its rows on screen beyond taskstats (state, command
// line, storage IO rates), read from /proc for those rows only: the view says which rows
// it shows, and the next refresh (or the change itself) reads them. A command line is read
// again only when its task is another (a new start) or changed its name (an exec); an IO
// rate is the growth between two refreshes of the same task. A row where nothing ran since
// the last refresh is not read again: no task changes its state or does IO without running.

import type { TaskRow } from '../model/scan.js';
import type { ListMode } from '../sources/proctasks.js';

/** What the engine read for a row on screen. */
export interface RowDetail {
  /** R, S, D, Z, ... from /proc/PID/stat; null: gone or unreadable */
  state: string | null;
  /** the command line, '' for a kernel thread (shown as [comm]); null: not read */
  cmdline: string | null;
  /** storage bytes read and written per second over the last interval; null: not known yet */
  readBps: number | null;
  writeBps: number | null;
}

export interface TaskInfoSource {
  state(id: number): { state: string; startTicks: string } | null;
  cmdline(id: number): string | null;
  /** storage bytes so far: a process's, or with `tgid` one thread's */
  io(id: number, tgid?: number): { readBytes: number; writeBytes: number } | null;
  /** a refresh's reads are over (files kept open for rows no longer read may be closed) */
  sweep?(): void;
}

/** A row on screen, as the details need it. */
export interface ViewportRow {
  key: string;
  id: number;
  /** a thread row's process (undefined: the row is a process) */
  tgid?: number;
  comm: string;
  /**
   * The table's row: the same object as at the last refresh when nothing of its task moved
   * (model/scan.ts, rowsOf: a row is kept only when it took the still path).
   */
  row?: TaskRow;
}

/** Rows of the table as the details need them. */
export function viewportRows(rows: readonly TaskRow[], mode: ListMode): ViewportRow[] {
  // a loop, not a callback made per call: see comparatorFor in model/scan.ts
  const out: ViewportRow[] = [];
  for (const r of rows)
    out.push(
      mode === 'thread'
        ? { key: r.key, id: r.id, tgid: r.tgid, comm: r.comm, row: r }
        : { key: r.key, id: r.id, comm: r.comm, row: r },
    );
  return out;
}

interface Known extends RowDetail {
  startTicks: string | null;
  comm: string;
  row: TaskRow | undefined;
  io: { readBytes: number; writeBytes: number; atMs: number } | null;
}

export class RowDetails {
  private rows: readonly ViewportRow[] = [];
  private viewportKey = '';
  private known = new Map<string, Known>();

  constructor(private source: TaskInfoSource) {}

  /**
   * The rows a refresh will show, before it is published: read with the refresh
   * (read(nowMs)), so the frame that shows them has their details.
   */
  expect(rows: readonly ViewportRow[]): void {
    this.viewportKey = keyOf(rows);
    this.rows = rows;
  }

  /** The rows on screen now; true when they changed (and were read). */
  setViewport(rows: readonly ViewportRow[]): boolean {
    const key = keyOf(rows);
    if (key === this.viewportKey) return false;
    this.viewportKey = key;
    this.rows = rows;
    this.read(null);
    return true;
  }

  /**
   * Read the rows on screen again. `nowMs`: a refresh, whose interval the IO rates cover;
   * null: the rows on screen changed, and only rows new to it (or renamed) are read (a rate
   * waits for the next refresh).
   */
  read(nowMs: number | null): void {
    const next = new Map<string, Known>();
    for (const r of this.rows) {
      const was = this.known.get(r.key);
      if (nowMs === null && was && was.comm === r.comm) {
        next.set(r.key, was);
        continue;
      }
      if (nowMs !== null && was?.io && was.state !== null && r.row !== undefined && was.row === r.row) {
        // nothing ran since it was read: the same state and byte counts, no IO this interval
        next.set(r.key, { ...was, io: { ...was.io, atMs: nowMs }, readBps: 0, writeBps: 0 });
        continue;
      }
      const st = this.source.state(r.id);
      const task = was && st && was.startTicks === st.startTicks ? was : undefined;
      const io = st ? this.source.io(r.id, r.tgid) : null;
      const sample = io && nowMs !== null ? { ...io, atMs: nowMs } : null;
      const prev = task?.io;
      const dtSec = prev && sample ? (sample.atMs - prev.atMs) / 1000 : 0;
      next.set(r.key, {
        state: st?.state ?? null,
        startTicks: st?.startTicks ?? null,
        comm: r.comm,
        row: r.row,
        cmdline: task && task.comm === r.comm ? task.cmdline : st ? this.source.cmdline(r.id) : null,
        io: sample ?? task?.io ?? null,
        readBps: prev && sample ? rate(sample.readBytes, prev.readBytes, dtSec) : (task?.readBps ?? null),
        writeBps: prev && sample ? rate(sample.writeBytes, prev.writeBytes, dtSec) : (task?.writeBps ?? null),
      });
    }
    this.known = next;
    if (nowMs !== null) this.source.sweep?.();
  }

  get details(): ReadonlyMap<string, RowDetail> {
    return this.known;
  }
}

/** Bytes per second between two counts (null: no interval, or the count went back). */
const rate = (now: number, then: number, dtSec: number): number | null =>
  dtSec > 0 && now >= then ? (now - then) / dtSec : null;

function keyOf(rows: readonly ViewportRow[]): string {
  let key = '';
  for (const r of rows) key += `${r.key}:${r.comm},`;
  return key;
}
