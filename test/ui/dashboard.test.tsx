// The dashboard rendered with fake sources (ink-testing-library): keys, pinning, the
// exit feed and its loss counter, resize, help. Frames are asserted as text.
import './force-color.js';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test, type TestContext } from 'node:test';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { DashboardController } from '../../src/engine/refresh.js';
import { Dashboard } from '../../src/ui/dashboard.js';
import { KEYMAP, keyLabel } from '../../src/ui/keymap.js';
import type { DashboardOptions } from '../../src/engine/options.js';
import { TaskActions } from '../../src/actions/task-actions.js';
import { FakeSyscalls } from '../fakes/task-syscalls.js';
import {
  counters,
  exitRecord,
  exitStorm,
  FakeExitSource,
  fakeOptions,
  FakeStatsSource,
  S,
  sampleTasks,
} from '../fakes/dashboard-sources.js';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const ANSI = /\x1b\[[0-9;]*m/g;
const plain = (s: string) => s.replace(ANSI, '');
const lines = (frame: string | undefined) => (frame ?? '').split('\n');
/** The line the highlight (inverse video) is on, as text. */
const highlighted = (frame: string | undefined) => plain(lines(frame).find((l) => l.includes('\x1b[7m')) ?? '');

const KEY = {
  down: '\x1b[B',
  up: '\x1b[A',
  pageDown: '\x1b[6~',
  end: '\x1b[F',
  home: '\x1b[H',
  enter: '\r',
  tab: '\t',
  esc: '\x1b',
};

async function setup(t: TestContext, over: Partial<DashboardOptions> = {}) {
  const stats = new FakeStatsSource(sampleTasks());
  const exits = new FakeExitSource();
  const controller = new DashboardController(fakeOptions(stats, exits, over), { feedPublishMs: 0 });
  let quits = 0;
  const app = render(<Dashboard controller={controller} interactive onQuit={() => quits++} />);
  controller.start();
  t.after(() => {
    controller.stop();
    app.unmount();
  });
  await controller.refresh();
  // CPU delay over the next interval: bravo (both threads) > charlie > alpha
  stats.wait(200, 'CPU', 5, 0.3 * S);
  stats.wait(201, 'CPU', 5, 0.2 * S);
  stats.wait(300, 'CPU', 5, 0.1 * S);
  stats.wait(100, 'CPU', 5, 0.01 * S);
  await controller.refresh();
  await tick(); // after the first frame, one more tick before keys (the input hook subscribes in an effect)
  const press = async (s: string) => {
    app.stdin.write(s);
    await tick();
  };
  /** The frame once `pred` holds of it (plain text), polled: a loaded machine renders late. */
  const until = async (what: string, pred: (plainFrame: string) => boolean) => {
    for (let i = 0; i < 100 && !pred(plain(app.lastFrame() ?? '')); i++) await tick(20);
    const f = plain(app.lastFrame() ?? '');
    assert.ok(pred(f), `${what}:\n${f}`);
    return f;
  };
  return { stats, exits, controller, app, press, until, frame: () => app.lastFrame() ?? '', quits: () => quits };
}

test('rows are sorted by CPU delay, and the arrow keys, PgDn, End and Home move the highlight', async (t) => {
  const d = await setup(t);
  const f = plain(d.frame());
  assert.match(f, /Processes 3/);
  const order = ['bravo', 'charlie', 'alpha'].map((c) => f.indexOf(` ${c}`));
  assert.ok(order[0]! < order[1]! && order[1]! < order[2]!, `sorted by CPU%:\n${f}`);
  assert.match(f, /CPUD%▼/, 'the active sort column is marked');
  assert.match(highlighted(d.frame()), /200 .* bravo/);
  await d.press(KEY.down);
  assert.match(highlighted(d.frame()), /300 .* charlie/);
  await d.press(KEY.down);
  assert.match(highlighted(d.frame()), /100 .* alpha/);
  await d.press(KEY.down);
  assert.match(highlighted(d.frame()), /100 .* alpha/, 'stops at the last row');
  await d.press(KEY.home);
  assert.match(highlighted(d.frame()), /bravo/);
  await d.press(KEY.end);
  assert.match(highlighted(d.frame()), /alpha/);
  await d.press(KEY.up);
  assert.match(highlighted(d.frame()), /charlie/);
  await d.press('n'); // sort by pid: the highlight stays on charlie
  assert.match(plain(d.frame()), /PID▲/);
  assert.match(highlighted(d.frame()), /300 .* charlie/);
});

test('Enter pins the highlighted process: the watch pane shows its delay table, n/a where not recorded', async (t) => {
  // delay accounting was turned on after these tasks started: only CPU is recorded
  const d = await setup(t, { delayacct: () => ({ on: true, onSinceSec: 1_800_000_000 }) });
  assert.doesNotMatch(plain(d.frame()), /Watch|No task pinned/, 'nothing pinned: the process pane has the width');
  await d.press(KEY.enter);
  let f = plain(d.frame());
  assert.match(f, /tgid 200 bravo/);
  for (const row of ['CPU', 'IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ'])
    assert.match(f, new RegExp(`│${row} `), row);
  assert.match(f, /delay% +avg +count +max\* +total/);
  assert.match(f, /last interval +since start/);
  assert.match(f, /IO +n\/a +n\/a/, 'IO could not be recorded for this task');
  assert.match(f, /\* {4}200/, 'the pinned row is marked in the table');
  // the next refresh fills in the thread count and keeps the table live
  d.stats.wait(200, 'CPU', 1, 0.5 * S, 4e6);
  await d.controller.refresh();
  await tick();
  f = plain(d.frame());
  assert.match(f, /tgid 200 bravo · running · sum of 2 threads/);
  assert.match(f, /CPU +50\.0 /, 'delay % of the last interval');
  // Enter again unpins, and the watch pane goes
  await d.press(KEY.enter);
  assert.doesNotMatch(plain(d.frame()), /Watch|No task pinned/);
});

test('a pinned task that exits stays, marked exited with its status from the exit feed', async (t) => {
  const d = await setup(t, { pinned: [{ kind: 'pid', id: 100 }] });
  assert.match(plain(d.frame()), /pid 100 alpha · running · one thread/);
  d.stats.tasks.delete(100);
  d.exits.emit({
    records: [exitRecord({ pid: 100, comm: 'alpha', exitCode: 3, cpu: 1 })],
    counters: [counters(0, 0), counters(1, 1)],
  });
  await d.controller.refresh();
  await tick();
  const f = plain(d.frame());
  assert.match(f, /pid 100 alpha · EXITED exit 3 \d\d:\d\d:\d\d/);
  assert.match(f, /12:00:00 +1 +100 +100 alpha +exit 3 /, 'and the exit is in the feed');
});

test('the exit feed lists exits newest first with per-CPU rates; a loss shows in the counter, highlighted', async (t) => {
  const d = await setup(t);
  let f = plain(d.frame());
  assert.match(f, /lost 0/);
  assert.ok(!d.frame().includes('\x1b[41m'), 'no red while nothing is lost');
  d.exits.emit({
    records: [
      exitRecord({ pid: 901, comm: 'first', cpu: 0 }),
      exitRecord({ pid: 902, comm: 'second', cpu: 1, signal: 9 }),
    ],
    counters: [counters(0, 1), counters(1, 1, 7)],
  });
  await d.controller.refresh();
  await tick();
  f = plain(d.frame());
  assert.ok(f.indexOf('second') < f.indexOf('first'), 'newest first');
  assert.match(f, /902 +second +SIGKILL/);
  assert.match(f, /IO 4\.00ms/, 'the largest delay of its life');
  assert.match(f, /Exit feed 9 exits .* lost 7/);
  assert.match(f, /cpu1 .* lost 7/, 'per CPU');
  assert.match(f, /cpu0 .* lost 0/);
  const red = lines(d.frame()).filter((l) => l.includes('\x1b[41m'));
  assert.ok(
    red.some((l) => plain(l).includes('lost 7')),
    'the loss counter turns red',
  );
  // p pauses: new exits do not move the view
  await d.press('p');
  d.exits.emit({ records: [exitRecord({ pid: 903, comm: 'third' })], counters: [counters(0, 2), counters(1, 1, 7)] });
  await d.controller.refresh();
  await tick();
  f = plain(d.frame());
  assert.match(f, /PAUSED · 1 newer \(Home: live\)/, 'the title counts what arrived since');
  assert.ok(!f.includes('third'));
  assert.match(f, /902 +second +SIGKILL/, 'and the rows it showed stay');
  await d.press('p');
  assert.match(plain(d.frame()), /903 +third/);
  assert.match(plain(d.frame()), /· LIVE/);
});

test('scrolled back, the feed pane shows one page of the exits it froze on, through a storm larger than its ring', async (t) => {
  const d = await setup(t);
  const feedPids = () =>
    [...plain(d.frame()).matchAll(/│\d\d:\d\d:\d\d +\d+ +(\d+) +\d+ +e\d+ /g)].map((m) => Number(m[1]));
  d.exits.emit(exitStorm(1, 40));
  await d.controller.refresh();
  await tick();
  const page = feedPids().length;
  assert.ok(page >= 3, `a page of exits:\n${plain(d.frame())}`);
  const height = lines(d.frame()).length;
  // Tab to the feed pane (its keys in the footer)
  for (let i = 0; i < 3 && !plain(d.frame()).includes('Home live'); i++) await d.press(KEY.tab);
  await d.press(KEY.pageDown); // a page less one row older
  const back = feedPids();
  assert.deepEqual(
    back,
    Array.from({ length: page }, (_, i) => 40 - (page - 1) - i),
  );
  d.exits.emit(exitStorm(41, 2000));
  await d.controller.refresh();
  await tick();
  assert.deepEqual(feedPids(), back, 'the same rows after 2,000 more exits');
  assert.match(plain(d.frame()), /SCROLLED BACK · 2,000 newer \(Home: live\)/);
  assert.equal(lines(d.frame()).length, height, 'the pane keeps its height');
  await d.press(KEY.home);
  assert.deepEqual(
    feedPids(),
    Array.from({ length: page }, (_, i) => 2040 - i),
    'Home: the newest, live',
  );
});

test('"/" filters by name as you type (q included), Esc clears it; q quits', async (t) => {
  const d = await setup(t);
  await d.press('/char');
  const f = plain(d.frame());
  assert.equal(
    plain(lines(d.frame()).at(-1)!).trim(),
    'Enter keep  Esc drop  Ctrl-C quit',
    'the footer: the keys that work',
  );
  assert.match(f, /Processes 1\/3/);
  assert.match(f, /charlie/);
  assert.ok(!f.includes('bravo'));
  await d.press('q');
  assert.equal(d.quits(), 0, 'q typed into the filter');
  await d.press(KEY.esc);
  await tick(); // Ink waits a moment to tell Esc from the start of a sequence
  assert.match(plain(d.frame()), /Processes 3/);
  await d.press('q');
  assert.equal(d.quits(), 1);
});

test('Tab moves focus between panes (the footer follows); t switches to threads', async (t) => {
  const d = await setup(t);
  assert.match(plain(lines(d.frame()).at(-1)!), /move .*pin .*sort/);
  await d.press('w'); // the watch pane, shown without a pinned task
  assert.match(plain(d.frame()), /No task pinned/);
  await d.press(KEY.tab);
  assert.match(plain(lines(d.frame()).at(-1)!), /select .*unpin/);
  await d.press(KEY.tab);
  assert.match(plain(lines(d.frame()).at(-1)!), /scroll .*live/);
  await d.press('t');
  await d.controller.refresh();
  await tick();
  const f = plain(d.frame());
  assert.match(f, /Threads 4/);
  assert.match(f, /TGID/);
  assert.match(f, /201 +200 .* bravo/);
});

test('? shows help listing every key of the keymap, paged with PgDn when it does not fit', async (t) => {
  const d = await setup(t);
  await d.press('?');
  let f = plain(d.frame());
  assert.match(f, /delaytop help/);
  let seen = f;
  for (let i = 0; i < 20 && /↓ \d+ more/.test(f); i++) {
    await d.press(KEY.pageDown);
    f = plain(d.frame());
    seen += f;
  }
  assert.doesNotMatch(f, /↓ \d+ more/, 'the end of the help is reached');
  for (const b of KEYMAP) {
    const keys = b.keys.map(keyLabel).join(' ');
    assert.ok(seen.includes(keys), `help shows "${keys}" (${b.command})`);
    assert.ok(seen.includes(b.help.split(' ').slice(0, 3).join(' ')), `help explains ${b.command}`);
  }
  await d.press('?');
  assert.ok(!plain(d.frame()).includes('delaytop help'));
});

test('function keys as terminals send them: F1 help, F3 filter, F10 quit; modified ones leak no text', async (t) => {
  const d = await setup(t);
  const footer = (f: string) => f.split('\n').at(-1)!;
  for (const f1 of ['\x1bOP', '\x1b[11~', '\x1b[[A']) {
    await d.press(f1);
    await d.until(`${JSON.stringify(f1)} opens the help`, (f) => f.includes('delaytop help'));
    await d.press(f1);
    await d.until(`${JSON.stringify(f1)} closes it`, (f) => !f.includes('delaytop help'));
  }
  // Shift-F1, Ctrl-F1 (through Ink's useInput: the text "[1;2P", and a TypeError), rxvt's Ctrl-F1
  for (const [seq, label] of [
    ['\x1b[1;2P', 'Shift-F1'],
    ['\x1b[1;5P', 'Ctrl-F1'],
    ['\x1b[11^', 'Ctrl-F1'],
    ['\x1b[1;2Q', 'Shift-F2'],
  ]) {
    await d.press(seq!);
    await d.until(`${label} is no key here`, (f) => footer(f).startsWith(`${label}: no such key here`));
  }
  await d.press('\x1b[12~'); // F2: the column chooser
  await d.until('F2 opens the column chooser', (f) => f.includes('Columns · Space shows/hides'));
  await d.press(KEY.esc);
  await d.until('Esc closes it', (f) => !f.includes('Columns · Space shows/hides'));
  await d.press('\x1b[15~'); // F5: the tree
  await d.until('F5 shows the tree', (f) => f.includes('(tree)'));
  await d.press('T');
  await d.press('\x1b[13~'); // F3
  await d.press('char');
  await d.until('F3 filters as / does', (f) => /Processes 1\/3/.test(f) && !f.includes('bravo'));
  await d.press(KEY.enter);
  assert.equal(d.quits(), 0);
  await d.press('\x1b[21~'); // F10
  assert.equal(d.quits(), 1);
});

test('F8 then y renices the highlighted process; the result read back is in the status line', async (t) => {
  const sys = new FakeSyscalls().add(200, { tgid: 200, comm: 'bravo' }).add(201, { tgid: 200, comm: 'bravo-worker' });
  const d = await setup(t, { actions: new TaskActions(sys) });
  const footer = (f: string) => f.split('\n').at(-1)!.trim();
  assert.match(highlighted(d.frame()), /200 .* bravo/);
  await d.press('\x1b[19~'); // F8
  await d.until('the prompt', (f) => footer(f) === 'renice 200 (bravo) from 0 to 1, all 2 threads? y/n  F7/F8 nice');
  await d.press('y');
  await d.until('the result', (f) => /renice 200 \(bravo\): nice is now 1 \(all 2 threads\)/.test(f));
  assert.deepEqual(sys.log, ['setNice 200 1', 'setNice 201 1']);
  await d.until('the footer is the keys again', (f) => /move .*pin .*sort/.test(footer(f)));
  // in a replay: no prompt, the reason instead
  const r = await setup(t);
  await r.press('\x1b[20~'); // F9
  await r.until('the reason', (f) => f.includes('signal: not available in a replay'));
  assert.match(plain(lines(r.frame()).at(-1)!), /move .*pin .*sort/);
});

class FakeTty extends EventEmitter {
  isTTY = true;
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (s: string) => {
    this.frames.push(s);
    return true;
  };
  get lastFrame() {
    return this.frames.at(-1) ?? '';
  }
}

test('a resize reflows the panes to the new size, never taller than rows - 1', async (t) => {
  const stats = new FakeStatsSource(sampleTasks());
  // the live PSI line is a header line the layout must count (a frame one line too tall scrolls the title off)
  const controller = new DashboardController(
    fakeOptions(stats, new FakeExitSource(), { pressure: () => 'PSI avg10: CPU some 1.00%' }),
    { feedPublishMs: 0 },
  );
  await controller.refresh();
  const tty = new FakeTty(120, 40);
  const app = inkRender(<Dashboard controller={controller} interactive={false} onQuit={() => {}} />, {
    stdout: tty as unknown as NodeJS.WriteStream,
    debug: true,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  t.after(() => app.unmount());
  await tick();
  const check = (cols: number, rows: number) => {
    const ls = lines(tty.lastFrame).map(plain);
    assert.equal(ls.length, rows - 1, `height ${rows - 1}`);
    assert.match(ls[0]!, /^delaytop · /, 'the title line is on top (every header line counted by the layout)');
    for (const l of ls) assert.ok([...l].length <= cols, `line wider than ${cols}: ${l}`);
    const top = ls.find((l) => l.startsWith('╭'))!;
    return top;
  };
  const wide = check(120, 40);
  tty.columns = 80;
  tty.rows = 24;
  tty.emit('resize');
  await tick();
  const narrow = check(80, 24);
  assert.notEqual(wide, narrow, 'the panes were laid out again');
  assert.match(plain(tty.lastFrame), /Processes 3/);
  assert.match(plain(tty.lastFrame), /Exit feed/);
  tty.columns = 160;
  tty.rows = 50;
  tty.emit('resize');
  await tick();
  check(160, 50);
  tty.columns = 50;
  tty.rows = 12;
  tty.emit('resize');
  await tick();
  assert.match(plain(tty.lastFrame).replace(/\s+/g, ' '), /needs a terminal of at least 60x16 \(this one is 50x12\)/);
  assert.ok(lines(tty.lastFrame).length <= 11);
});

test('Ctrl-T turns delay accounting on where permitted (the header says delaytop did); +/- change the interval', async (t) => {
  let on = false;
  const calls: boolean[] = [];
  const d = await setup(t, {
    intervalSec: 1,
    delayacct: () => ({ on, onSinceSec: on ? 1_800_000_000 : null }),
    setDelayacct: (v) => {
      calls.push(v);
      on = v;
      return null;
    },
  });
  let f = plain(d.frame());
  assert.match(f, /delayacct OFF \(Ctrl-T: on\)/);
  assert.match(f, /IOD%.*\n.* n\/a /, 'IO is n/a while delay accounting is off');
  await d.press('\x14');
  assert.deepEqual(calls, [true]);
  f = plain(d.frame());
  assert.match(f, /delayacct on \(by delaytop\)/);
  assert.match(f, /delay accounting on: new tasks get every category, older ones keep n\/a/);
  await d.press('+');
  assert.match(plain(d.frame()), /every 2s \(\+\/-\)/);
  await d.press('--');
  assert.match(plain(d.frame()), /every 500ms \(\+\/-\)/);
});

test('when setting delay accounting is refused, the reason is shown', async (t) => {
  const d = await setup(t, {
    delayacct: () => ({ on: false, onSinceSec: null }),
    setDelayacct: () => 'changing kernel.task_delayacct needs CAP_SYS_ADMIN (run delaytop with sudo)',
  });
  await d.press('\x14');
  assert.match(plain(d.frame()), /needs CAP_SYS_ADMIN/);
  assert.match(plain(d.frame()), /delayacct OFF \(Ctrl-T: on\)/, 'unchanged');
});

test('unprivileged: the banner says what is missing, and the exit feed pane says why it is off', async (t) => {
  const stats = new FakeStatsSource(sampleTasks());
  const controller = new DashboardController(
    fakeOptions(stats, null, {
      privileged: false,
      banners: ['Unprivileged mode: showing CPU delay and IO delay only.', 'To get them: run delaytop with sudo.'],
      exitsOffReason: 'Exit feed off: listening for exits needs CAP_NET_ADMIN (run delaytop with sudo).',
    }),
  );
  const app = render(<Dashboard controller={controller} interactive onQuit={() => {}} />);
  t.after(() => app.unmount());
  await controller.refresh();
  await tick();
  const f = plain(app.lastFrame() ?? '');
  assert.match(f, /· unprivileged \(/);
  assert.match(f, /Unprivileged mode: showing CPU delay/);
  assert.match(f, /To get them: run delaytop with sudo/);
  assert.match(f, /exit feed off/);
  assert.match(f, /Exit feed off: listening for exits needs CAP_NET_ADMIN/);
  assert.equal(lines(app.lastFrame()).length, 39, 'the banner lines come out of the panes, not below the screen');
});

test('each refresh queries every task in one batch', async (t) => {
  const d = await setup(t, { pinned: [{ kind: 'tgid', id: 200 }] });
  const before = d.stats.queries.length;
  await d.controller.refresh();
  assert.equal(d.stats.queries.length, before + 1, 'one query per refresh');
  const keys = d.stats.queries.at(-1)!.map((x) => `${x.kind}:${x.id}`);
  for (const k of ['pid:100', 'tgid:100', 'pid:200', 'tgid:200', 'pid:300', 'tgid:300', 'pid:201'])
    assert.ok(keys.includes(k), k);
  assert.equal(new Set(keys).size, keys.length, 'no target twice');
});

test('the PSI line in the header is read again at every refresh', async (t) => {
  let reads = 0;
  const d = await setup(t, {
    pressure: () => `PSI avg10: CPU some ${(++reads).toFixed(2)}%  IO some 0.00% full 0.00%`,
  });
  const psiLine = () =>
    plain(d.frame())
      .split('\n')
      .find((l) => l.startsWith('PSI avg10:'));
  const before = psiLine();
  assert.ok(before, `the header shows a PSI line:\n${plain(d.frame())}`);
  await d.controller.refresh();
  await tick();
  const after = psiLine();
  assert.notEqual(after, before, 'a refresh brings the new figures');
  assert.equal(
    after,
    `PSI avg10: CPU some ${reads.toFixed(2)}% IO some 0.00% full 0.00%`,
    'the latest reading (banner wrapping folds spaces)',
  );
});

test('an impossible figure: marked ! in its row, never on top of its sort, its reason in Watch, counted in the header', async (t) => {
  const d = await setup(t);
  // charlie (1000 s old) reports 5000 s of IO ending in the next interval: the stale stamp
  d.stats.wait(300, 'IO', 1, 5000 * S, 5000 * S);
  d.stats.wait(100, 'IO', 1, 0.2 * S, 0.2 * S);
  await d.controller.refresh();
  await tick();
  await d.press('i'); // sort by IO delay, largest first
  let f = plain(d.frame());
  assert.match(f, /300 .*500000! .*charlie/, `the kernel's figure is kept, marked:\n${f}`);
  assert.ok(f.indexOf(' alpha') < f.indexOf(' charlie'), 'the plausible 20% stays above the impossible 500000%');
  assert.match(f, /1 impossible \(!\)/);
  // pinned: the reason, in words
  await d.press(KEY.end);
  assert.match(highlighted(d.frame()), /charlie/);
  await d.press(KEY.enter);
  await d.controller.refresh();
  await tick();
  f = plain(d.frame());
  assert.match(f, /! IO since start: IO wait totals 5000 s in a th/, `the Watch pane says why:\n${f}`);
});
