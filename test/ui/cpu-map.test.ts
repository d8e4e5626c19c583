// Exit activity at 64 to 512 CPUs in the space the feed pane has at 80x24, 120x40 and 200x60:
// every CPU in a cell, the CPUs that lost exits marked and listed, the busiest named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CpuActivity } from '../../src/model/exit-feed/loss.js';
import { cpuMap, SHADES } from '../../src/ui/cpu-map.js';
import { layoutFor } from '../../src/ui/layout.js';
import { feedPageSize } from '../../src/ui/exit-feed.js';

function cpus(n: number, lost: Map<number, number>): CpuActivity[] {
  return Array.from({ length: n }, (_, cpu) => ({
    cpu,
    exitsPerSec: cpu === 7 ? 1200 : (cpu * 37) % 101,
    received: 1000,
    lost: lost.get(cpu) ?? 0,
  }));
}

const SIZES: [number, number][] = [
  [80, 24],
  [120, 40],
  [200, 60],
];

for (const n of [64, 128, 256, 512]) {
  for (const [cols, rows] of SIZES) {
    test(`${n} CPUs at ${cols}x${rows}: every CPU in a cell, losses marked and listed`, () => {
      const layout = layoutFor(cols, rows, 0, { watch: false, feedOff: null });
      const lines = feedPageSize(layout.feed);
      const width = layout.cpuWidth;
      const lost = new Map([
        [n - 51, 5],
        [3, 1],
      ]);
      const map = cpuMap(cpus(n, lost), width, lines);
      assert.ok(map.length <= lines, `${map.length} lines in ${lines}`);
      for (const l of map) assert.ok(l.map((s) => s.text).join('').length <= width, JSON.stringify(l));
      // the heat map's rows: a label (the first CPU of the row), then one character per cell
      const legendAt = map.findIndex((l) => /up to|^█=/.test(l[0]!.text));
      const legend = map[legendAt]![0]!.text;
      const perCell = Number(/(\d+) ?(?:CPUs|cpu)\/cell/.exec(legend)?.[1] ?? 1);
      const rowsOfMap = map.slice(0, legendAt);
      const cells = rowsOfMap.map((l) =>
        l
          .slice(1)
          .map((s) => s.text)
          .join(''),
      );
      const total = cells.reduce((s, c) => s + [...c].length, 0);
      assert.ok(total * perCell >= n && (total - 1) * perCell < n, `${total} cells x ${perCell} for ${n} CPUs`);
      for (const c of cells.join('')) assert.ok(SHADES.includes(c) || c === '·', c);
      // labels count up: each row starts at the CPU after the last one of the row before
      let next = 0;
      for (let i = 0; i < rowsOfMap.length; i++) {
        assert.equal(Number(rowsOfMap[i]![0]!.text), next);
        next += [...cells[i]!].length * perCell;
      }
      // the cells holding a lost CPU are marked: one or two 'lost' cells
      const lostCells = rowsOfMap
        .flatMap((l) => l.filter((s) => s.tone === 'lost'))
        .reduce((s, x) => s + x.text.length, 0);
      assert.ok(lostCells >= 1 && lostCells <= 2, `lost cells: ${lostCells}`);
      const lostLine = map
        .at(-1)!
        .map((s) => s.text)
        .join('');
      assert.match(lostLine, new RegExp(`^lost( 3:1 ${n - 51}:5| ${n - 51}:5 \\+1| 3:1 \\+1| \\+2)$`));
      const top = map
        .at(-2)!
        .map((s) => s.text)
        .join('');
      assert.match(top, /^top 7:1200/, 'the busiest CPU named first, with its rate');
    });
  }
}

test('with no loss there is no lost line; with few CPUs a cell is one CPU', () => {
  const map = cpuMap(cpus(16, new Map()), 30, 8);
  assert.ok(!map.some((l) => l[0]!.text === 'lost'));
  assert.doesNotMatch(map.map((l) => l.map((s) => s.text).join('')).join('\n'), /cell/);
});
