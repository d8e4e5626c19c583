// Thread ids of a few processes (the pinned ones), without listing every thread on the
// machine: one /proc/<tgid>/task read each for live sources, the recorded list for a replay.
import { readdirSync } from 'node:fs';
import type { StatsSource } from './types.js';

export function threadsOfProcesses(source: StatsSource, tgids: ReadonlySet<number>, procRoot = '/proc'): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (tgids.size === 0) return out;
  if (source.name === 'replay') {
    for (const t of source.list('thread')) if (tgids.has(t.tgid)) (out.get(t.tgid) ?? out.set(t.tgid, []).get(t.tgid)!).push(t.id);
    return out;
  }
  for (const tgid of tgids) {
    try {
      out.set(tgid, readdirSync(`${procRoot}/${tgid}/task`).map(Number).filter(Number.isInteger));
    } catch {
      out.set(tgid, []); // ended since the listing
    }
  }
  return out;
}
