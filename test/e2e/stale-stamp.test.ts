// Real kernel, root: make the kernel report an IO wait that cannot have happened, and check
// that delaytop flags it in JSON (the real binary) and in the dashboard model.
//
// How: a task forked while task_delayacct is on gets a zeroed delay struct. Turned off
// before its first IO wait, its waits are never stamped (delayacct_blkio_start does
// nothing while off); turned on while it is blocked, the wait's end is timed from the
// stamp it never got: 0, so the "wait" is the time since boot (kernel/delayacct.c).
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { num } from '../../src/kernel/decode.js';
import { computeScan, scanTargets } from '../../src/model/scan.js';
import { NetlinkSource } from '../../src/sources/netlink.js';
import { delayacctTracker } from '../../src/sources/system.js';
import { delay, needsRoot, spawnTracked } from '../helpers.js';

const SYSCTL = '/proc/sys/kernel/task_delayacct';
const setDelayacct = (on: boolean) => writeFileSync(SYSCTL, on ? '1' : '0');

/** One round: writers forked with accounting on, switched off before their first IO, on again while they write. */
async function round(dir: string, track: () => unknown): Promise<ChildProcess[]> {
  setDelayacct(true);
  track();
  const writers = [1, 2, 3].map((i) =>
    spawnTracked('sh', [
      '-c',
      `sleep 0.3; exec dd if=/dev/zero of=${dir}/f${i} bs=64k count=100000 oflag=direct status=none`,
    ]),
  );
  await delay(50);
  setDelayacct(false);
  track();
  await delay(1500);
  setDelayacct(true);
  track();
  await delay(400);
  return writers;
}

test('a stale-stamp IO wait (the time since boot in a seconds-old dd) is flagged in JSON and in the dashboard model', async (t) => {
  if (!needsRoot(t)) return;
  const was = readFileSync(SYSCTL, 'utf8').trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'delaytop-stale-'));
  const src = new NetlinkSource();
  const track = delayacctTracker();
  let writers: ChildProcess[] = [];
  try {
    // Whether a writer is blocked at the switch-on is a race it wins most of the time
    // (it spends most of its life waiting for the disk); a few rounds make it certain.
    let victim: number | undefined;
    for (let attempt = 0; attempt < 6 && victim === undefined; attempt++) {
      writers = await round(dir, track);
      for (const w of writers) {
        const r = src.querySync([{ kind: 'pid', id: w.pid! }]).results[0]!;
        if (r.status !== 'ok') continue;
        const lifeNs = num(r.stats, 'ac_etime')! * 1000;
        if (num(r.stats, 'blkio_delay_total')! > lifeNs * 10) victim = w.pid!;
      }
      if (victim === undefined) for (const w of writers) w.kill('SIGKILL');
    }
    assert.ok(victim !== undefined, 'the kernel produced a stale-stamp wait in 6 rounds of 3 writers');

    // JSON, through the real binary: the thread and its process are both flagged; stats stay raw
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '-b', '--json', '-p', String(victim), '-t', String(victim), '-n', '1'],
      { encoding: 'utf8', timeout: 20000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const pid = lines.find((l) => l.kind === 'pid');
    const tgid = lines.find((l) => l.kind === 'tgid');
    assert.match(pid.suspect.IO, /IO wait totals .* in a thread that lived/);
    assert.match(tgid.suspect.IO, /IO wait totals .* in a thread that lived/, 'the process sums the thread');
    assert.ok(pid.stats.blkio_delay_total > pid.stats.ac_etime * 1000, 'the kernel value is printed as sent');
    assert.equal(pid.suspect.CPU, undefined);

    // The dashboard model, from the live kernel: the row is flagged in both list modes
    const sys = track() as ReturnType<typeof track>;
    const tasks = [{ id: victim, tgid: victim }];
    for (const mode of ['process', 'thread'] as const) {
      const batch = await src.query(scanTargets(mode, tasks));
      const scan = computeScan(mode, tasks, batch, { samples: new Map() }, sys, [], {
        wallMs: Date.now(),
        exitedLivesNs: null,
      });
      const row = scan.rows.find((r) => r.id === victim);
      assert.ok(row, `${mode}: a row for ${victim}`);
      assert.ok(
        row.percent.IO !== null && row.percent.IO > 1000,
        `${mode}: the kernel's figure is shown (${row.percent.IO}%)`,
      );
      assert.match(row.suspect?.IO ?? '', /in a thread that lived/, `${mode}: flagged`);
    }
  } finally {
    for (const w of writers) w.kill('SIGKILL');
    src.close();
    setDelayacct(was !== '0');
    rmSync(dir, { recursive: true, force: true });
  }
});
