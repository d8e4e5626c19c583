import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unprivilegedFor } from '../../src/sources/proc.js';
import { displayWidth } from '../../src/output/text.js';
import { bannerLines, statusText } from '../../src/ui/header.js';

test('banners: each keeps its first line; the unprivileged reason and remedy survive at 120 and 80 columns', () => {
  const banners = [...unprivilegedFor('EPERM', '').banner, 'PSI avg10: CPU some 1.00%'];
  for (const width of [118, 78]) {
    const lines = bannerLines(banners, width);
    assert.equal(lines.length, 3);
    assert.ok(
      lines.every((l) => l.length <= width),
      `fits ${width}`,
    );
    assert.match(lines[0]!, /CAP_NET_ADMIN/);
    assert.match(lines[0]!, /sudo/);
    assert.match(lines.join(' '), width > 100 ? /missing: SWAP, RECLAIM/ : /missing:/);
    assert.match(lines[2]!, /^PSI/, 'the last banner still has its line');
  }
  // the whole remedy fits one line at 120 columns
  assert.match(bannerLines(banners, 118)[0]!, /sudo scripts\/install-privileged\.sh \(see README\)$/);
  // with room to spare, nothing is cut
  assert.deepEqual(bannerLines(['a b c', 'd'], 80, 5), ['a b c', 'd']);
  // cut lines say so
  const cut = bannerLines(['x '.repeat(100), 'y'], 20, 2);
  assert.equal(cut.length, 2);
  assert.match(cut[0]!, /…$/);
  assert.equal(cut[1], 'y');
});

test('the counts line keeps "? help" on screen: the note that process rows sum their threads goes first', () => {
  const snap = { atMs: Date.UTC(2026, 11, 1, 14, 45, 24), refreshMs: 143, mode: 'process' as const };
  const long = '1072 processes · 2 exits (0.0/s) · lost 0 · 3 impossible (!)';
  const cut = statusText(snap, long, 120);
  assert.match(cut, /^refreshed \d\d:\d\d:\d\d in 143 ms · \? help$/);
  assert.ok(displayWidth(`${long} · ${cut}`) <= 120);
  const roomy = statusText(snap, '1072 processes · lost 0', 120);
  assert.match(roomy, / in 143 ms · process rows sum their threads · \? help$/);
  assert.doesNotMatch(statusText({ ...snap, mode: 'thread' }, '1 threads', 120), /sum their threads/);
  assert.equal(statusText({ ...snap, atMs: 0 }, long, 120), 'reading tasks…', 'before the first refresh');
});
