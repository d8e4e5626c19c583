// In a network namespace of its own (ip netns add), the kernel accepts exit listeners and
// never sends them anything. The real binary must say so instead of listening to silence:
// -l and -c exit 1 with the remedy (and -c runs nothing), the dashboard's feed pane says
// why it is off. Statistics still work there (queries are not tied to a namespace).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { needsRoot } from '../helpers.js';
import { assertRestored, hasTmux, ROOT, session } from './tmux.js';

const CLI = path.join(ROOT, 'dist/cli.js');
const REMEDY =
  /network namespace other than the host's[\s\S]*Run it in the host's network namespace, e\.g\. sudo nsenter -t 1 -n delaytop/;

/** A fresh network namespace, deleted when the test ends; null (skipped, with the reason) if none can be made. */
function netns(t: TestContext): string | null {
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) {
    t.skip('ip (iproute2) is not installed');
    return null;
  }
  const name = `delaytop-test-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.skip(`ip netns add failed: ${r.stderr.trim()}`);
    return null;
  }
  t.after(() => spawnSync('ip', ['netns', 'delete', name]));
  return name;
}

const inNs = (ns: string, args: string[]) =>
  spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: ROOT,
  });

test(
  'in another network namespace: -l and -c refuse with the remedy, statistics still work',
  { timeout: 60_000 },
  (t) => {
    if (!needsRoot(t)) return;
    const ns = netns(t);
    if (!ns) return;

    const l = inNs(ns, ['-l', '--duration', '1']);
    t.diagnostic(`-l: exit ${l.status}: ${l.stderr.trim().split('\n')[0]}`);
    assert.equal(l.status, 1, l.stderr + l.stdout);
    assert.match(l.stderr, REMEDY);
    assert.doesNotMatch(l.stdout, /summary/, 'no empty summary as if all were quiet');

    const dir = mkdtempSync(path.join(os.tmpdir(), 'dt-netns-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const marker = path.join(dir, 'ran');
    const c = inNs(ns, ['-c', 'touch', marker]);
    assert.equal(c.status, 1, c.stderr + c.stdout);
    assert.match(c.stderr, REMEDY);
    assert.equal(existsSync(marker), false, 'the command is not run when its report cannot be had');

    const b = inNs(ns, ['-b', '--json', '-p', '1', '-n', '1']);
    assert.equal(b.status, 0, b.stderr);
    assert.ok(JSON.parse(b.stdout.trim().split('\n')[0]!).version > 0, 'netlink statistics');
  },
);

test('in another network namespace: the dashboard says why the exit feed is off', { timeout: 90_000 }, async (t) => {
  if (!needsRoot(t)) return;
  if (!hasTmux()) return t.skip('tmux is not installed');
  const ns = netns(t);
  if (!ns) return;
  const tm = await session(t);
  tm.keys(`ip netns exec ${ns} node ${CLI}`, 'Enter');
  const s = await tm.waitFor(
    'the dashboard',
    (x) => /Processes \d+/.test(x) && x.includes('refreshed') && x.includes('Exit feed'),
    60_000,
  );
  assert.match(s, /· exit feed off/, 'the header has no exit counters');
  assert.doesNotMatch(s, /\d+ exits|LIVE|lost \d/, 'no "0 exits · lost 0 · LIVE"');
  const pane = s
    .split('\n')
    .map((l) => /│([^│]*)│\s*$/.exec(l)?.[1]?.trim() ?? '')
    .join(' ');
  assert.match(pane.replace(/\s+/g, ' '), /network namespace other than the host's/, s);
  tm.type('q');
  await assertRestored(tm);
});

test(
  'in a pid or user namespace of its own: -l names the namespace and the remedy, not a bare EINVAL or "use sudo"',
  { timeout: 60_000 },
  (t) => {
    if (!needsRoot(t)) return;
    if (spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status !== 0)
      return t.skip('unshare (util-linux) is not installed');
    const cases: [string[], RegExp][] = [
      [['--pid', '--fork', '--mount-proc'], /pid namespace other than the host's[\s\S]*nsenter -t 1 -p/],
      [['--user', '--map-root-user'], /user namespace other than the host's[\s\S]*Run delaytop on the host/],
    ];
    for (const [flags, re] of cases) {
      const r = spawnSync('unshare', [...flags, process.execPath, CLI, '-l', '--duration', '1'], {
        encoding: 'utf8',
        timeout: 30_000,
        cwd: ROOT,
      });
      t.diagnostic(`unshare ${flags.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /sudo setcap|\(EINVAL\)/);
    }
  },
);
