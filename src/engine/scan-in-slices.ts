// The engine's scan: computeScan (model/scan.ts, pure) with the event loop let in between
// slices of records (src/slices.ts), so that keys are answered during a long one.
import {
  beginScan,
  carryThread,
  endScan,
  scanRecord,
  type PrevScan,
  type ScanChecks,
  type ScanResult,
} from '../model/scan.js';
import type { DelayacctState } from '../model/delayacct.js';
import type { ThreadListing } from '../model/thread-gate.js';
import type { ListMode, TaskId } from '../sources/proctasks.js';
import type { QueryBatch, Target } from '../sources/types.js';
import { inSlices } from '../slices.js';

/** computeScan's result, in slices; its inputs must not change until it resolves (the engine's do not). */
export async function computeScanInSlices(
  mode: ListMode,
  tasks: readonly TaskId[],
  batch: QueryBatch,
  prev: PrevScan,
  sys: DelayacctState,
  extra: readonly Target[],
  checks: ScanChecks,
  threads?: ThreadListing,
): Promise<ScanResult> {
  const s = beginScan(mode, batch, prev, sys, extra, checks);
  const results = batch.results;
  await inSlices(results.length, (i) => scanRecord(s, results[i]!), 256);
  if (threads) {
    const { carried, plan } = threads;
    await inSlices(carried.length, (i) => carryThread(s, carried[i]!, plan), 1024);
  }
  return endScan(s, threads?.tasks ?? tasks, batch, threads);
}
