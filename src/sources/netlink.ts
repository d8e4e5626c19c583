// Live taskstats over netlink: one native crossing per batch of ids.
import { constants } from 'node:os';
import { loadAddon, loadContract, type NativeQuerySocket, type QueryEntry } from '../kernel/addon.js';
import { decodeTaskstats, DecodeError, keepingStatsBytes, type DecodeOptions } from '../kernel/decode.js';
import { errnoName, fromNative } from '../kernel/errors.js';
import { listProcTasks, listProcTasksYielding, type ListMode, type TaskId } from './proctasks.js';
import { inSlices } from '../slices.js';
import {
  monotonicNs,
  type FieldsFor,
  type QueryBatch,
  type QueryResult,
  type StatsSource,
  type Target,
} from './types.js';

const { ESRCH } = constants.errno;

const WHOLE: DecodeOptions = {};
const partial = new WeakMap<readonly string[], DecodeOptions>();
/** Decode options for a field list, one object per list (callers pass constants). */
function optionsFor(only: readonly string[] | undefined): DecodeOptions {
  if (!only) return WHOLE;
  let o = partial.get(only);
  if (!o) partial.set(only, (o = { only }));
  return o;
}

/** One target's entry of the native result buffer (entries laid out as the addon's contract says). */
function decodeEntry(
  ab: ArrayBuffer,
  dv: DataView,
  i: number,
  target: Target,
  entry: QueryEntry,
  fields?: FieldsFor,
): QueryResult {
  const { bytes: entryBytes, status: statusAt, offset: offsetAt, length: lengthAt } = entry;
  const status = dv.getInt32(i * entryBytes + statusAt, true);
  if (status === ESRCH) return { target, status: 'gone' };
  if (status !== 0) {
    const code = errnoName(status);
    return { target, status: 'error', code, message: `taskstats query of ${target.kind} ${target.id} failed: ${code}` };
  }
  const off = dv.getUint32(i * entryBytes + offsetAt, true);
  const len = dv.getUint32(i * entryBytes + lengthAt, true);
  try {
    return { target, status: 'ok', stats: decodeTaskstats(new Uint8Array(ab, off, len), optionsFor(fields?.(target))) };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { target, status: 'error', code: 'EDECODE', message: `${target.kind} ${target.id}: ${e.message}` };
  }
}

/** Turn the native result buffer into one result per target. */
export function decodeQueryResult(
  ab: ArrayBuffer,
  targets: readonly Target[],
  entry: QueryEntry,
  fields?: FieldsFor,
): QueryResult[] {
  const dv = new DataView(ab);
  const out: QueryResult[] = new Array(targets.length);
  for (let i = 0; i < targets.length; i++) out[i] = decodeEntry(ab, dv, i, targets[i]!, entry, fields);
  return out;
}

/**
 * decodeQueryResult in slices (src/slices.ts): a batch of 10,000 records takes tens of ms
 * to decode on a slow machine, and a key pressed meanwhile would wait for all of it.
 */
export async function decodeQueryResultYielding(
  ab: ArrayBuffer,
  targets: readonly Target[],
  entry: QueryEntry,
  fields?: FieldsFor,
): Promise<QueryResult[]> {
  const dv = new DataView(ab);
  const out: QueryResult[] = new Array(targets.length);
  await inSlices(targets.length, (i) => (out[i] = decodeEntry(ab, dv, i, targets[i]!, entry, fields)), 256);
  return out;
}

/** A batch's size class for its scratch buffer: its target count, in powers of 4. */
const scratchClass = (targets: number) => Math.floor(Math.log2(Math.max(1, targets)) / 2);
const SCRATCH_IDLE_BATCHES = 64;

export class NetlinkSource implements StatsSource {
  readonly name = 'netlink';
  private sock: NativeQuerySocket;
  private entry: QueryEntry;
  /**
   * The last results' buffers, for the next results to be copied into: decoding copies every
   * figure out, so nothing refers to one once its batch is decoded, unless a recording keeps
   * the STATS bytes (then each batch gets a buffer of its own). One a size class of batch
   * (targets, in powers of 4): a refresh asks batches of different sizes (the TGID gate's,
   * the census's, the rows'), which one buffer would trade back and forth. A class unused
   * for SCRATCH_IDLE_BATCHES batches is let go.
   */
  private scratch = new Map<number, { buf: ArrayBuffer; lastUsed: number }>();
  private batches = 0;

  constructor(timeoutMs = 1000) {
    const addon = (() => {
      try {
        return loadAddon();
      } catch (e) {
        throw fromNative(e, 'load native addon');
      }
    })();
    try {
      this.sock = new addon.QuerySocket(timeoutMs);
    } catch (e) {
      throw fromNative(e, 'open taskstats socket');
    }
    this.entry = loadContract().queryEntry;
  }

  private static pack(targets: readonly Target[]): [Uint32Array, Uint8Array] {
    const ids = new Uint32Array(targets.length);
    const kinds = new Uint8Array(targets.length);
    // loops, not callbacks made per batch: see comparatorFor in model/scan.ts
    for (let i = 0; i < targets.length; i++) {
      ids[i] = targets[i]!.id;
      kinds[i] = targets[i]!.kind === 'tgid' ? 1 : 0;
    }
    return [ids, kinds];
  }

  async query(targets: readonly Target[], fields?: FieldsFor): Promise<QueryBatch> {
    const [ids, kinds] = NetlinkSource.pack(targets);
    const atNs = monotonicNs();
    const size = scratchClass(targets.length);
    const ab = await this.sock.query(ids, kinds, this.takeScratch(size));
    const results = await decodeQueryResultYielding(ab, targets, this.entry, fields);
    return { atNs, results: this.check(this.kept(ab, size, results)) };
  }

  querySync(targets: readonly Target[], fields?: FieldsFor): QueryBatch {
    const [ids, kinds] = NetlinkSource.pack(targets);
    const atNs = monotonicNs();
    const size = scratchClass(targets.length);
    const ab = this.sock.querySync(ids, kinds, this.takeScratch(size));
    const results = decodeQueryResult(ab, targets, this.entry, fields);
    return { atNs, results: this.check(this.kept(ab, size, results)) };
  }

  /** The scratch of a size class, for a batch about to run; classes long unused are let go. */
  private takeScratch(size: number): ArrayBuffer | undefined {
    this.batches++;
    for (const [c, e] of this.scratch) if (this.batches - e.lastUsed > SCRATCH_IDLE_BATCHES) this.scratch.delete(c);
    const s = this.scratch.get(size)?.buf;
    this.scratch.delete(size);
    return s;
  }

  /** A decoded batch's buffer, kept as its size class's scratch unless its results hold views of it. */
  private kept(ab: ArrayBuffer, size: number, results: QueryResult[]): QueryResult[] {
    // kept bytes are views of ab: it is never handed out again
    if (!keepingStatsBytes()) this.scratch.set(size, { buf: ab, lastUsed: this.batches });
    return results;
  }

  /** EPERM on a query means the whole source is unusable: raise it with advice. */
  private check(results: QueryResult[]): QueryResult[] {
    for (const r of results) {
      if (r.status === 'error' && (r.code === 'EPERM' || r.code === 'EACCES'))
        throw fromNative({ code: r.code, message: r.message }, 'taskstats query');
    }
    return results;
  }

  list(mode: ListMode, of?: ReadonlySet<number>): TaskId[] {
    return listProcTasks(mode, '/proc', of);
  }

  listYielding(mode: ListMode, of?: ReadonlySet<number>): Promise<TaskId[]> {
    return listProcTasksYielding(mode, '/proc', of);
  }

  info() {
    return this.sock.info();
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      // a batch still runs on the thread pool (cleanup mid-refresh): the process is ending
    }
  }
}
