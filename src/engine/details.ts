// What the process table shows of its rows on screen beyond taskstats (state, command
// line), read from /proc for those rows only: the view says which rows it shows, and the
// next refresh (or the change itself) reads them. A command line is read again only when
// its task is another (a new start) or changed its name (an exec).

/** What the engine read for a row on screen. */
export interface RowDetail {
  /** R, S, D, Z, ... from /proc/PID/stat; null: gone or unreadable */
  state: string | null;
  /** the command line, '' for a kernel thread (shown as [comm]); null: not read */
  cmdline: string | null;
}

export interface TaskInfoSource {
  state(id: number): { state: string; startTicks: string } | null;
  cmdline(id: number): string | null;
}

/** A row on screen, as the details need it. */
export interface ViewportRow {
  key: string;
  id: number;
  comm: string;
}

interface Known extends RowDetail {
  startTicks: string | null;
  comm: string;
}

export class RowDetails {
  private rows: readonly ViewportRow[] = [];
  private viewportKey = '';
  private known = new Map<string, Known>();

  constructor(private source: TaskInfoSource) {}

  /** The rows on screen now; true when they changed (and were read). */
  setViewport(rows: readonly ViewportRow[]): boolean {
    const key = rows.map((r) => `${r.key}:${r.comm}`).join(',');
    if (key === this.viewportKey) return false;
    this.viewportKey = key;
    this.rows = rows;
    this.read();
    return true;
  }

  /** Read the rows on screen again (each refresh: states change). */
  read(): void {
    const next = new Map<string, Known>();
    for (const r of this.rows) {
      const st = this.source.state(r.id);
      const was = this.known.get(r.key);
      const same = was && st && was.startTicks === st.startTicks && was.comm === r.comm;
      next.set(r.key, {
        state: st?.state ?? null,
        startTicks: st?.startTicks ?? null,
        comm: r.comm,
        cmdline: same ? was.cmdline : st ? this.source.cmdline(r.id) : null,
      });
    }
    this.known = next;
  }

  get details(): ReadonlyMap<string, RowDetail> {
    return this.known;
  }
}
