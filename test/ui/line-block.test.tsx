// A pane's lines as one Text node, or a node each where a line is not certain to fit.
import './force-color.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Box, Text } from 'ink';
import { render } from 'ink-testing-library';
import { LineBlock } from '../../src/ui/line-block.js';

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function frameOf(lines: string[], highlight: number, width = 20): string[] {
  const app = render(
    <Box flexDirection="column" width={width} height={lines.length + 1}>
      <LineBlock lines={lines} highlight={highlight} width={width} focused />
      <Box>
        <Text>{'-'.repeat(width)}</Text>
      </Box>
    </Box>,
  );
  const frame = app.lastFrame() ?? '';
  app.unmount();
  return frame.split('\n');
}

test('each line keeps its own row, the highlighted one padded to the width in reverse video', () => {
  const lines = ['alpha', '', 'charlie', 'delta'];
  for (const h of [-1, 0, 1, 3]) {
    const rows = frameOf(lines, h);
    assert.deepEqual(
      rows.map((r) => plain(r).trimEnd()),
      [...lines, '-'.repeat(20)],
      `highlight ${h}`,
    );
    if (h >= 0) {
      assert.ok(rows[h]!.includes('\x1b[7m'), `row ${h} in reverse video`);
      assert.equal(plain(rows[h]!).length, 20, 'padded to the width');
    }
  }
});

test('a line of wide characters or emoji wider than the box is cut on its own row, not wrapped into the next', () => {
  const lines = ['ok 1', '漢字漢字漢字漢字漢字漢字', 'heart ❤️❤️❤️❤️❤️❤️❤️❤️❤️❤️', 'ok 4'];
  const rows = frameOf(lines, 2, 12);
  assert.equal(rows.length, 5, 'four lines and the rule below them');
  assert.equal(plain(rows[0]!).trimEnd(), 'ok 1');
  assert.ok(plain(rows[1]!).startsWith('漢字'), rows[1]);
  assert.ok(plain(rows[2]!).startsWith('heart'), rows[2]);
  assert.equal(plain(rows[3]!).trimEnd(), 'ok 4');
  assert.equal(plain(rows[4]!), '-'.repeat(12));
});
