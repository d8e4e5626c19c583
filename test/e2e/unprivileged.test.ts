// End to end, without privileges: the real dashboard run as uid 65534 (nobody) in a real
// terminal (tmux, 120x40, a private socket). Without CAP_NET_ADMIN delaytop falls back to
// /proc: the first frame must still be useful (what is missing and how to get it, processes
// with CPU%, why the exit feed is off), a pinned process shows CPU figures and n/a for the
// categories /proc cannot give, and q gives the shell back as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { delay, needsRoot } from '../helpers.js';
import { assertRestored, ROOT, Tmux } from './tmux.js';

const NOBODY = 65534;
/** Drop to nobody (no groups, no capabilities: setpriv from root to a non-zero uid clears them).
 * HOME and TMPDIR point somewhere nobody can write: tsx keeps its cache in the tmp dir. */
const AS_NOBODY = [
  'setpriv',
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  '--clear-groups',
  'env',
  'HOME=/tmp',
  'TMPDIR=/tmp',
];
const DASHBOARD_CMD = `${AS_NOBODY.join(' ')} node --import tsx src/cli.ts`;

const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** Can nobody run delaytop from this checkout? null if so, else why not. */
function nobodyCanRun(): string | null {
  const r = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), 'node', '--import', 'tsx', 'src/cli.ts', '--version'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 0) return null;
  return (
    `uid ${NOBODY} cannot run delaytop from ${ROOT} (is the checkout readable by others, is the tmp dir writable for tsx?): ` +
    `${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(0, 3).join(' / ')}`
  );
}

/** The lines above the panes: title, status, banners. */
const headerOf = (screen: string) => screen.slice(0, screen.indexOf('╭'));
/**
 * Process-pane rows, read by the header's columns: a number column's cell ends where its
 * heading ends (plus the mark after it); the command is the rest of the pane.
 */
function procRows(screen: string) {
  const lines = screen.split('\n');
  const header = lines.find((l) => /^│ +PID\S* .*COMMAND/.test(l));
  if (!header) return [];
  const end = (heading: string) => header.indexOf(heading) + heading.length + 1;
  const cell = (l: string, heading: string, width: number) => l.slice(end(heading) - width - 1, end(heading)).trim();
  const cmdAt = header.indexOf('COMMAND');
  return lines
    .filter((l) => l !== header && /^│[ *] *\d+ /.test(l))
    .map((l) => ({
      pinned: l[1] === '*',
      pid: Number(/^│[ *] *(\d+) /.exec(l)![1]),
      cpu: cell(l, 'CPUD%', 6).replace(/[~!]$/, ''),
      io: cell(l, 'IOD%', 6).replace(/[~!]$/, ''),
      swap: cell(l, 'SWPD%', 6).replace(/[~!]$/, ''),
      comm: l.slice(cmdAt, l.indexOf('│', cmdAt)).trim(),
    }));
}

test(
  'unprivileged (uid 65534): /proc fallback with a useful first frame, a pinned process, q restores the shell',
  { timeout: 120_000 },
  async (t: TestContext) => {
    if (!needsRoot(t)) return; // root, to become someone else
    if (!has('tmux', '-V')) return t.skip('tmux is not installed');
    if (!has('setpriv', '--version')) return t.skip('setpriv (util-linux) is not installed');
    const why = nobodyCanRun();
    if (why) return t.skip(why);

    const tm = new Tmux();
    t.after(() => tm.kill());
    tm.start();
    tm.keys('clear; echo E2E-SHELL-MARKER', 'Enter');
    await tm.waitFor('the shell', (s) => s.includes('E2E-SHELL-MARKER'));

    tm.keys(DASHBOARD_CMD, 'Enter');
    const first = await tm.waitFor(
      'the first frame',
      (x) => /Processes \d+/.test(x) && x.includes('Exit feed') && x.includes('refreshed') && procRows(x).length > 0,
      60_000,
    );
    assert.equal(tm.flag('alternate_on'), '1', 'the dashboard is on the alternate screen');

    // It really is unprivileged: the shell's one child is the dashboard, as uid 65534 with no capabilities.
    const kids = spawnSync('pgrep', ['-P', tm.flag('pane_pid')], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    assert.equal(kids.length, 1, `one child of the shell: ${kids}`);
    const status = readFileSync(`/proc/${kids[0]}/status`, 'utf8');
    assert.match(
      status,
      new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}$`, 'm'),
      'runs as nobody',
    );
    assert.match(status, /^CapEff:\s+0+$/m, 'with no effective capabilities');

    // The header says so, and what is shown and missing.
    const header = headerOf(first);
    assert.match(header, /· unprivileged \(\/proc only\)/, header);
    assert.match(header, /taskstats n\/a/, header);
    assert.match(header, /· exit feed off/, header);
    assert.match(
      header,
      /Showing CPU delay \(exact\) and IO delay \(10 ms ticks\) from \/proc; missing: SWAP, RECLAIM, THRASHING, COMPACT/,
      header,
    );
    // The exit feed pane says why it is off and what to do.
    assert.match(first, /│Exit feed +│/, 'the feed pane has no counters: it is off');
    assert.match(first, /Exit feed off: listening for exits needs CAP_NET_ADMIN \(run delaytop with sudo\)\./);
    assert.doesNotMatch(first, /no exits yet|lost \d/, 'no feed, no loss counter');
    // The process pane: processes with CPU% (and IO%) figures, SWAP n/a.
    assert.match(first, /PID .*CPUD%▼ +IOD% +SWPD% .*COMMAND/);
    const rows = procRows(first);
    assert.ok(rows.length >= 5, `processes listed:\n${first}`);
    assert.ok(
      rows.every((r) => r.swap === 'n/a'),
      'SWAP% is n/a for every process from /proc',
    );
    assert.ok(
      rows.some((r) => Number(r.cpu) > 0),
      `some process has a CPU% above 0:\n${first}`,
    );

    await t.test(
      'the banner itself names CAP_NET_ADMIN and how to get it (sudo, or the one-group install; never setcap on node)',
      () => {
        assert.match(header, /CAP_NET_ADMIN/, header);
        assert.match(header, /sudo/, header);
        assert.match(header, /scripts\/install-privileged\.sh/, header);
        assert.doesNotMatch(header, /setcap/, header);
      },
    );

    // Sort by pid (long-lived low pids first, so the second row holds still), Down to it, Enter pins it.
    tm.type('n');
    await tm.waitFor('pid order', (x) => x.includes('PID▲') && procRows(x).length >= 2);
    tm.keys('Down');
    await delay(300);
    tm.keys('Enter');
    const pinned = await tm.waitFor(
      'a pinned process in the watch pane',
      (x) => procRows(x).some((r) => r.pinned) && /▶ tgid \d+ /.test(x),
    );
    const row = procRows(pinned).find((r) => r.pinned)!;
    assert.match(pinned, new RegExp(`▶ tgid ${row.pid} `), `the marked row ${row.pid} is the one watched:\n${pinned}`);
    // its figures: a refresh later the watch table has CPU numbers, IO numbers, and n/a for the rest
    const watch = await tm.waitFor(
      'the watch table of the pinned process',
      (x) =>
        new RegExp(`▶ tgid ${row.pid} .*· (running|sleeping|\\w+) · sum of \\d+ thread`).test(x) && /│CPU +\d/.test(x),
    );
    assert.match(
      watch,
      /│CPU +\d+\.\d\d[~ ] +(\S+|-) +\d[\d.]*[kMG]? +(\S+|-) +\d[\d.]*(ns|us|ms|s)\b/,
      `CPU: delay%, avg, count, max, total:\n${watch}`,
    );
    assert.match(watch, /│IO +\d/, 'IO from /proc/<pid>/stat');
    for (const cat of ['SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ']) {
      assert.match(watch, new RegExp(`│${cat} +n/a +n/a +n/a +n/a +n/a `), `${cat} is n/a without taskstats`);
    }

    tm.type('q');
    await assertRestored(tm);
  },
);
