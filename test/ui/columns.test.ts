// Which columns a pane shows for its width, and what their cells say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnsFor, commandText, commandWidth, COLUMNS } from '../../src/ui/columns.js';
import { formatRow } from '../../src/ui/process-table.js';
import { displayWidth } from '../../src/output/text.js';
import { taskRow } from '../fakes/rows.js';

const ids = (inner: number, chosen: Parameters<typeof columnsFor>[2] = null, mode: 'process' | 'thread' = 'process') =>
  columnsFor(inner, mode, chosen).map((c) => c.id);

test('a narrow pane keeps pid and the CPU and IO delays, and 15+ columns for the name', () => {
  for (const inner of [44, 58, 78]) {
    const cols = columnsFor(inner, 'process', null);
    assert.deepEqual(
      cols.slice(0, 1).map((c) => c.id),
      ['PID'],
    );
    assert.ok(ids(inner).includes('CPU') && ids(inner).includes('IO'), `${inner}: ${ids(inner)}`);
    const used = 1 + cols.reduce((w, c) => w + c.width + 1, 0) + 2;
    assert.ok(inner - used >= 15, `${inner}: the name keeps ${inner - used} columns`);
  }
});

test('a wider pane shows more columns; the widest shows every delay category', () => {
  const counts = [44, 78, 118, 198].map((w) => ids(w).length);
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! >= counts[i - 1]!, String(counts));
  assert.ok(counts[3]! > counts[0]!);
  for (const k of ['CPU', 'IO', 'SWAP', 'RECLAIM', 'THRASHING', 'COMPACT', 'WPCOPY', 'IRQ', 'USER', 'S', 'USE', 'READ'])
    assert.ok(ids(198).includes(k as never), k);
  assert.ok(!ids(198).includes('TGID'), 'TGID only in thread mode');
  assert.ok(ids(198, null, 'thread').includes('TGID'));
});

test('chosen columns show in table order, less those that do not fit', () => {
  assert.deepEqual(ids(198, ['IRQ', 'PID', 'USER']), ['PID', 'USER', 'IRQ']);
  const narrow = ids(
    44,
    COLUMNS.map((c) => c.id),
  );
  assert.ok(narrow.length < COLUMNS.length - 1 && narrow.length > 0);
  assert.ok(44 - commandWidth(44) >= 1 + narrow.reduce((w, id) => w + COLUMNS.find((c) => c.id === id)!.width + 1, 0));
});

test('a row: user name, state, CPU use, delays, and the command line (a kernel thread as [comm])', () => {
  const r = taskRow(1234, { uid: 1000, comm: 'dd', cpuUse: 12.5 });
  const cols = columnsFor(198, 'process', ['PID', 'USER', 'S', 'USE', 'IO']);
  const ctx = {
    detail: { state: 'D', cmdline: 'dd if=/dev/zero of=x bs=1M', readBps: null, writeBps: null },
    users: new Map([[1000, 'alice']]),
  };
  const line = formatRow(r, cols, 198, false, ctx);
  assert.match(line, /^ +1234 alice +D +12\.5 +0\.00 +dd if=\/dev\/zero of=x bs=1M$/);
  assert.equal(
    commandText(taskRow(2, { comm: 'kthreadd' }), {
      detail: { state: 'S', cmdline: '', readBps: null, writeBps: null },
      users: new Map(),
    }),
    '[kthreadd]',
  );
  assert.equal(commandText(r, { detail: undefined, users: new Map() }), 'dd', 'not read yet: the comm');
  // an unknown uid shows as its number; a hostile command line is escaped and cut to the pane
  const hostile = formatRow(taskRow(7, { uid: 4242 }), cols, 60, false, {
    detail: { state: 'S', cmdline: 'x\x1b]0;pwn\x07' + 'y'.repeat(100), readBps: null, writeBps: null },
    users: new Map(),
  });
  assert.match(hostile, / 4242 /);
  assert.ok(!hostile.includes('\x1b') && hostile.includes('\\x1b'));
  assert.ok(displayWidth(hostile) <= 60, hostile);
});
