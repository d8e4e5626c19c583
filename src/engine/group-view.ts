// The dashboard's group view (g): the exporter's per-group ledger (model/groups.ts) fed by
// the dashboard's own refreshes and exit feed, so a group's row counts the delays of its
// processes that exited during the interval too. Groups are cgroups, read from /proc for
// the processes the ledger says are due (sources/groups.ts).
import type { DelayacctState } from '../model/delayacct.js';
import { groupRows, GroupLedger, type GroupRow, type GroupSnapshot, type PollTask } from '../model/groups.js';
import { GroupResolver } from '../sources/groups.js';
import type { ExitBatch, QueryBatch } from '../sources/types.js';

export class GroupView {
  private readonly ledger: GroupLedger;
  private readonly resolver: GroupResolver;
  private prev: GroupSnapshot | null = null;
  private rowsNow: GroupRow[] = [];

  constructor(exitFeed: boolean, procRoot?: string) {
    this.ledger = new GroupLedger({ exitFeed });
    this.resolver = new GroupResolver('cgroup', procRoot);
  }

  /** The processes a refresh is about to query (listed at listedMs). */
  begin(listedMs: number, tgids: readonly number[]): void {
    this.ledger.beginPoll(listedMs, tgids);
    this.resolver.newPoll();
  }

  /** A refresh's answer: its processes' TGID records folded in, and the rows since the last one. */
  fold(listedMs: number, batch: QueryBatch, delayacct: DelayacctState): void {
    const tasks: PollTask[] = [];
    for (const r of batch.results) {
      if (r.status !== 'ok' || r.target.kind !== 'tgid') continue;
      const group = this.ledger.groupDue(r.target.id) ? this.resolver.ofProcess(r.target.id) : null;
      tasks.push(group === null ? { tgid: r.target.id, stats: r.stats } : { tgid: r.target.id, stats: r.stats, group });
    }
    this.ledger.foldPoll({ listedMs, wallMs: batch.wallMs ?? Date.now(), atNs: batch.atNs, tasks, delayacct });
    const cur = this.ledger.snapshot(batch.atNs);
    this.rowsNow = groupRows(this.prev, cur);
    this.prev = cur;
  }

  /** Exit records: each ended process's final totals go to its group. */
  foldExits(batch: ExitBatch, delayacct: DelayacctState): void {
    this.ledger.foldExits(batch, delayacct, (r) => this.resolver.ofExit(r, (t) => this.ledger.groupOf(t)));
  }

  get rows(): readonly GroupRow[] {
    return this.rowsNow;
  }
}
