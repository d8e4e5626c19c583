// The dashboard's group view fed as the engine feeds it: each refresh's TGID records and the
// exit feed's records, groups read from (a fake) /proc; a group's row counts the IO of its
// processes that exited during the interval, not only of those alive at the refresh.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { GroupView } from '../../src/engine/group-view.js';
import { CATEGORIES } from '../../src/kernel/layout.js';
import type { QueryBatch } from '../../src/sources/types.js';
import { counters, exitRecord } from '../fakes/dashboard-sources.js';
import { decodedRecord } from '../fakes/records.js';

const SYS = { on: true, onSinceSec: 0 };
const IO = CATEGORIES.findIndex((c) => c.key === 'IO');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const proc = (io: number) =>
  decodedRecord({
    blkio_delay_total: io,
    blkio_count: Math.ceil(io / 1e6),
    cpu_run_virtual_total: 1e6,
    ac_etime: 100e6,
  });
const batch = (atSec: number, tasks: [number, number][]): QueryBatch => ({
  atNs: atSec * 1e9,
  wallMs: T0 + atSec * 1000,
  results: tasks.map(([tgid, io]) => ({ target: { kind: 'tgid', id: tgid }, status: 'ok', stats: proc(io) })),
});

test("a group's row: its live processes' delay over the interval plus what its exited ones waited", (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'delaytop-groups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [tgid, cg] of [
    [100, '/jobs'],
    [200, '/web'],
  ] as const) {
    mkdirSync(path.join(root, String(tgid)));
    writeFileSync(path.join(root, String(tgid), 'cgroup'), `0::${cg}\n`);
  }
  const view = new GroupView(true, root);
  view.begin(T0, [100, 200]);
  view.fold(
    T0,
    batch(0, [
      [100, 0],
      [200, 0],
    ]),
    SYS,
  );
  // one second on: /jobs' process waited 100 ms for IO, and a short job of /jobs (child of
  // 100) exited after waiting 4 ms; /web did nothing
  const job = { ...exitRecord({ pid: 150, comm: 'job', receivedMs: T0 + 500, lifeUs: 400e3 }), ppid: 100 };
  view.foldExits({ records: [job], counters: [counters(0, 1)] }, SYS);
  view.begin(T0 + 1000, [100, 200]);
  view.fold(
    T0 + 1000,
    batch(1, [
      [100, 100e6],
      [200, 0],
    ]),
    SYS,
  );
  const rows = new Map(view.rows.map((r) => [r.group, r]));
  assert.deepEqual([...rows.keys()].sort(), ['/jobs', '/web']);
  assert.equal(rows.get('/jobs')!.exited, 1);
  assert.ok(Math.abs(rows.get('/jobs')!.percent[IO]! - 10.4) < 1e-6, `IO ${rows.get('/jobs')!.percent[IO]}`);
  assert.equal(rows.get('/web')!.percent[IO], 0);
  assert.equal(rows.get('/jobs')!.tasks, 1);
});
