// Exit lines made natively (native/exit-lines.h) for a consumer that writes every exit (-l):
// the plans come from the layout table, and every record native leaves (one the rules must
// judge, a name to escape, a version it has no plan for) is decoded here and formatted by
// the caller's own formatter, in its place among the others.
import type { Addon, ExitRecordHeader, NativeExitLines, NativeLinePlan } from './addon.js';
import { decodeExitRecordAt, type ExitRecord } from './exitrecord.js';
import { CATEGORIES, fieldsIn, MAX_KNOWN_VERSION, MIN_VERSION, STRUCT_SIZE } from './layout.js';

/** Plans by version (index), each at the version's struct size. */
export function exitLinePlans(): (NativeLinePlan | null)[] {
  const plans: (NativeLinePlan | null)[] = [];
  for (let v = 0; v <= MAX_KNOWN_VERSION; v++) {
    const length = STRUCT_SIZE[v];
    if (v < MIN_VERSION || length === undefined) {
      plans.push(null);
      continue;
    }
    const fields = fieldsIn(v, length);
    const at = (name: string) => fields.find((f) => f.name === name)?.at ?? -1;
    plans.push({
      length,
      fields: fields.map((f) => ({ name: f.name, type: f.type, offset: f.at })),
      exitcode: at('ac_exitcode'),
      flag: at('ac_flag'),
      comm: at('ac_comm'),
      uid: at('ac_uid'),
      gid: at('ac_gid'),
      ppid: at('ac_ppid'),
      tgid: at('ac_tgid'),
      etime: at('ac_etime'),
      runVirtual: at('cpu_run_virtual_total'),
      // a category's figures as the rules and the summary read them: where the version has them
      cats: CATEGORIES.filter((c) => at(c.total) >= 0).map((c) => ({
        key: c.key,
        count: at(c.count),
        total: at(c.total),
        max: at(c.max),
      })),
    });
  }
  return plans;
}

/** Output is made and written in pieces of this size, so a storm's batch is never held whole. */
const OUT_BYTES = 1 << 20;
const MAX_HOLES = 1024;

export interface LineFormat {
  json: boolean;
  /** the names the JS formatter gives signals, by number */
  signalNames: string[];
}

export class ExitLineWriter {
  private native: NativeExitLines;
  private holes = new Uint32Array(2 * MAX_HOLES);
  private out: Buffer | undefined;

  constructor(addon: Addon, format: LineFormat) {
    this.native = new addon.ExitLines({ ...format, plans: exitLinePlans() });
  }

  /**
   * Every record of a drained batch (data's first length bytes) as a line, in order, handed
   * to write in pieces (its buffer is used again when write says it is done with them);
   * lineOf makes the lines native leaves, and a record that fails to decode goes to onBad, as
   * decodeExitBatch has it. Nothing of data is kept: the caller may drain into it again.
   */
  write(
    data: ArrayBuffer,
    length: number,
    header: ExitRecordHeader,
    { switchedOnMs, lineOf }: { switchedOnMs: number; lineOf: (r: ExitRecord) => string },
    write: (bytes: Uint8Array) => boolean,
    onBad: (cpu: number, why: string) => void,
  ): void {
    const dv = new DataView(data, 0, length);
    const one: ExitRecord[] = [];
    for (let from = 0; from + header.bytes <= length;) {
      const out = (this.out ??= Buffer.allocUnsafeSlow(OUT_BYTES));
      const r = this.native.format(data, length, from, out, switchedOnMs, this.holes);
      from = r.next;
      const pieces: Uint8Array[] = [];
      let pos = 0;
      for (let i = 0; i < r.holes; i++) {
        const at = this.holes[2 * i + 1]!;
        if (at > pos) pieces.push(out.subarray(pos, at));
        pos = at;
        decodeExitRecordAt(data, dv, this.holes[2 * i]!, header, onBad, one);
        const rec = one.pop();
        if (!rec) continue;
        pieces.push(Buffer.from(`${lineOf(rec)}\n`));
      }
      if (r.used > pos) pieces.push(out.subarray(pos, r.used));
      if (!pieces.length) continue;
      let chunk = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      // A pipe that is full keeps what it was given until it drains: a small piece of out
      // goes as a copy, so out is not held for it; a large one keeps out, and the next
      // batch gets a new one.
      if (chunk.buffer === out.buffer && chunk.length < OUT_BYTES / 4) chunk = Buffer.from(chunk);
      if (!write(chunk) && chunk.buffer === out.buffer) this.out = undefined;
    }
  }
}
