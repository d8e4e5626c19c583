// A process-table row (model/scan.ts TaskRow) for view and reducer tests: zero delays, no flags.
import type { TaskRow } from '../../src/model/scan.js';

export function taskRow(id: number, over: Partial<TaskRow> = {}): TaskRow {
  return {
    key: `tgid:${id}`,
    target: { kind: 'tgid', id },
    id,
    tgid: id,
    comm: `p${id}`,
    uid: 0,
    ppid: 1,
    cpuUse: 0,
    percent: { CPU: 0, IO: 0, SWAP: 0, RECLAIM: 0, THRASHING: 0, COMPACT: 0, WPCOPY: 0, IRQ: 0 },
    lifetime: false,
    suspect: null,
    ...over,
  };
}
