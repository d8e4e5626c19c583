// Ink's Output with the previous frame carried over: the same picture Ink draws, built
// from the cells and row strings of the frame before wherever they did not change.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { styledCharsFromTokens, styledCharsToString, tokenize, type StyledChar } from '@alcalzone/ansi-tokenize';
import { narrowTextCells, carryFramesOver } from '../../src/ui/ink-output-cache.js';

interface Output {
  write(x: number, y: number, text: string, options: { transformers: ((s: string, i: number) => string)[] }): void;
  clip(c: { x1?: number; x2?: number; y1?: number; y2?: number }): void;
  unclip(): void;
  get(): { output: string; height: number };
  caches: { styledChars: Map<string, unknown[]> };
}
type OutputClass = { new (o: { width: number; height: number }): Output; prototype: Output };

const entry = createRequire(import.meta.url).resolve('ink');
const Output = (
  (await import(pathToFileURL(path.join(path.dirname(entry), 'output.js')).href)) as { default: OutputClass }
).default;
const inkGet = Output.prototype.get; // Ink's own, before the carry-over replaces it
const installed = (await carryFramesOver()).carried;

interface Write {
  x: number;
  y: number;
  text: string;
  upper?: boolean;
}
function build(width: number, height: number, writes: readonly Write[], clip = false): Output {
  const o = new Output({ width, height });
  if (clip) o.clip({ x1: 2, x2: width - 3 });
  for (const w of writes) o.write(w.x, w.y, w.text, { transformers: w.upper ? [(s) => s.toUpperCase()] : [] });
  if (clip) o.unclip();
  return o;
}
const inkFrame = (width: number, height: number, writes: readonly Write[], clip = false) =>
  inkGet.call(build(width, height, writes, clip)).output;

test('Ink 6.8 Output is shaped as the carry-over expects; unchanged lines reuse their cells, only from the frame before', () => {
  assert.equal(installed, true, 'installed (an Ink upgrade that changes Output fails here)');
  const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
  const frame = (lines: string[]) => {
    const o = build(
      30,
      lines.length,
      lines.map((text, y) => ({ x: 0, y, text })),
    );
    return { o, out: o.get().output };
  };
  const a = frame(['same line', red('red line'), 'old text']);
  const b = frame(['same line', red('red line'), 'new text']);
  assert.equal(a.out, `same line\n${red('red line')}\nold text`);
  assert.equal(b.out, `same line\n${red('red line')}\nnew text`);
  assert.equal(
    b.o.caches.styledChars.get('same line'),
    a.o.caches.styledChars.get('same line'),
    'an unchanged line reuses its cells',
  );
  assert.equal(b.o.caches.styledChars.has('old text'), false, 'a line the frame did not draw is not kept');
  const c = frame(['old text']);
  assert.equal(c.out, 'old text');
  assert.notEqual(
    c.o.caches.styledChars.get('old text'),
    a.o.caches.styledChars.get('old text'),
    'only the frame before is carried, not older ones',
  );
});

test('frames are what Ink draws, over 300 random frames that change a little at a time', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const styles: [string, string][] = [
    ['\x1b[31m', '\x1b[39m'],
    ['\x1b[1m', '\x1b[22m'],
    ['\x1b[2m', '\x1b[22m'],
    ['\x1b[7m', '\x1b[27m'],
    ['\x1b[36m', '\x1b[39m'],
    ['', ''],
  ];
  const words = ['pid', '1234', 'kworker/0:1', '0.00', '漢字', '✓', 'CPUD%▼', '│', '─────', ' ', 'n/a', 'lost 0'];
  const text = (): string => {
    let s = '';
    for (let i = rnd(6); i >= 0; i--) {
      const [on, off] = styles[rnd(styles.length)]!;
      s += on + words[rnd(words.length)] + off + (rnd(3) ? ' ' : '');
    }
    return rnd(5) ? s : `${s}\n${text()}`; // some writes span lines
  };
  const width = 40;
  const height = 12;
  let writes: Write[] = Array.from({ length: 14 }, () => ({
    x: rnd(width),
    y: rnd(height),
    text: text(),
    upper: rnd(8) === 0,
  }));
  for (let f = 0; f < 300; f++) {
    const clip = rnd(20) === 0;
    const ours = build(width, height, writes, clip).get().output;
    assert.equal(ours, inkFrame(width, height, writes, clip), `frame ${f}`);
    // the next frame: most writes stay, a few change, move, appear or go
    writes = writes.map((w) => (rnd(6) ? w : { ...w, text: rnd(2) ? text() : w.text, x: rnd(3) ? w.x : rnd(width) }));
    if (rnd(4) === 0) writes.push({ x: rnd(width), y: rnd(height), text: text() });
    if (rnd(4) === 0 && writes.length > 4) writes.splice(rnd(writes.length), 1);
  }
});

test("the narrow-text path makes the cells Ink's tokenizer makes, and leaves every other line to it", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const parts = [
    'pid',
    ' 1234 ',
    '0.00~',
    '[kworker/0:1]',
    '\x1b[31m',
    '\x1b[39m',
    '\x1b[1;7m',
    '\x1b[22;27m',
    '\x1b[38;5;208m',
    '\x1b[48;2;1;2;3m',
    '\x1b[0m',
    '\x1b[m',
    '\x1b[49m',
    '~!@#$%^&*()_+{}|:"<>?`',
    '╭──┤ CPU wait% ▼ ├╮',
    '│ ·…←↑→↓▲✓ │',
    '▁▂▃▄▅▆▇█░▒▓',
  ];
  const inkCells = (line: string) => styledCharsFromTokens(tokenize(line));
  const same = (a: StyledChar[], b: StyledChar[]) =>
    a.length === b.length &&
    a.every(
      (c, i) =>
        c.value === b[i]!.value &&
        c.fullWidth === b[i]!.fullWidth &&
        JSON.stringify(c.styles) === JSON.stringify(b[i]!.styles),
    );
  for (let n = 0; n < 2000; n++) {
    let line = '';
    for (let k = rnd(8); k >= 0; k--) line += parts[rnd(parts.length)];
    const ours = narrowTextCells(line);
    assert.ok(ours, `a narrow-text and SGR line takes the narrow-text path: ${JSON.stringify(line)}`);
    assert.ok(same(ours, inkCells(line)), `the same cells for ${JSON.stringify(line)}`);
    assert.equal(styledCharsToString(ours), styledCharsToString(inkCells(line)));
  }
  for (const other of [
    'café',
    'a\u0301',
    'CPU▶',
    '✓\u0301',
    '漢字',
    'tab\there',
    '\x1b]0;title\x07',
    '\x1b[31',
    '\x1b[?25h',
    'e\u200d',
  ]) {
    assert.equal(narrowTextCells(other), null, `left to Ink: ${JSON.stringify(other)}`);
  }
});
