import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unprivilegedFor } from '../../src/sources/proc.js';
import { bannerLines } from '../../src/ui/header.js';

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
