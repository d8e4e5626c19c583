// A scripted StatsSource for tests that need no root: each query() answers from the
// next scripted step; taskstats payloads are built from the layout table.
import { decodeTaskstats, type Taskstats } from '../../src/kernel/decode.js';
import { FIELDS, FIELD_SIZE, STRUCT_SIZE } from '../../src/kernel/layout.js';
import type { ListMode, TaskId } from '../../src/sources/proctasks.js';
import type { QueryBatch, QueryResult, StatsSource, Target } from '../../src/sources/types.js';

/** A v16 (or other version) record with the given field values, through the real decoder. */
export function makeStats(values: Record<string, number | bigint | string>, version = 16): Taskstats {
  const buf = new Uint8Array(STRUCT_SIZE[version]!);
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, version, true);
  for (const f of FIELDS) {
    const v = values[f.name];
    if (v === undefined || f.since > version) continue;
    const off = version === 15 ? f.offsetV15! : f.offset;
    if (f.type === 'comm') buf.set(new TextEncoder().encode(String(v)).subarray(0, FIELD_SIZE.comm - 1), off);
    else if (f.type === 'u64') dv.setBigUint64(off, BigInt(v), true);
    else if (f.type === 'u32') dv.setUint32(off, Number(v), true);
    else if (f.type === 'u16') dv.setUint16(off, Number(v), true);
    else if (f.type === 'u8') dv.setUint8(off, Number(v));
  }
  return decodeTaskstats(buf);
}

export type Step = (
  t: Target,
) => { status: 'ok'; values: Record<string, number | bigint | string> } | { status: 'gone' };

export class ScriptedStatsSource implements StatsSource {
  readonly name = 'replay' as const;
  queries = 0;
  closed = false;
  constructor(
    private steps: Step[],
    private tasks: TaskId[] = [],
    private stepNs = 1e9,
  ) {}
  async query(targets: readonly Target[]): Promise<QueryBatch> {
    const step = this.steps[Math.min(this.queries, this.steps.length - 1)]!;
    const atNs = (this.queries + 1) * this.stepNs;
    this.queries++;
    const results = targets.map((target): QueryResult => {
      const r = step(target);
      return r.status === 'gone' ? { target, status: 'gone' } : { target, status: 'ok', stats: makeStats(r.values) };
    });
    return { atNs, results };
  }
  list(_mode: ListMode): TaskId[] {
    return this.tasks;
  }
  close(): void {
    this.closed = true;
  }
}
