// Narrow text (src/ui/narrow-text.ts) is measured and split without Intl.Segmenter: each
// of its characters must be what string-width (both versions Ink's dependencies bundle)
// and Ink's tokenizer say it is, one column and a grapheme of its own.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { styledCharsFromTokens, tokenize } from '@alcalzone/ansi-tokenize';
import { NARROW_EXTRA, isNarrowChar, narrowWidth } from '../../src/ui/narrow-text.js';

type Width = (s: string) => number;
const require = createRequire(import.meta.url);
const load = async (file: string): Promise<Width> =>
  ((await import(pathToFileURL(file).href)) as { default: Width }).default;
// the string-width Ink measures text with, and the one wrap-ansi (Ink's text wrapping) has
const widths: [string, Width][] = [
  ['string-width', await load(require.resolve('string-width'))],
  [
    "wrap-ansi's string-width",
    await load(path.join(path.dirname(require.resolve('wrap-ansi')), 'node_modules', 'string-width', 'index.js')),
  ],
];

test('every narrow character is one column and a grapheme of its own for string-width and Ink', () => {
  const chars = [...NARROW_EXTRA];
  for (let c = 0x20; c <= 0x7e; c++) chars.push(String.fromCharCode(c));
  const graphemes = new Intl.Segmenter();
  for (const c of chars) {
    assert.ok(isNarrowChar(c.charCodeAt(0)), JSON.stringify(c));
    for (const [name, width] of widths) assert.equal(width(c), 1, `${name} of ${JSON.stringify(c)}`);
    // beside any other narrow character, still a grapheme of its own
    for (const d of ['a', '│', '·', '▼', c]) assert.equal([...graphemes.segment(c + d + c)].length, 3, `${c}${d}${c}`);
    const cells = styledCharsFromTokens(tokenize(`${c}${c}`));
    assert.deepEqual(
      cells.map((x) => [x.value, x.fullWidth]),
      [
        [c, false],
        [c, false],
      ],
    );
  }
});

test('narrowWidth is string-width for narrow text with colours, and undefined for any other text', () => {
  let seed = 11;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits repeat with a short period
  };
  const parts = ['pid 12', '│', '╭─', '·', '…', '▲▼', '\x1b[31m', '\x1b[1;7m', '\x1b[m', '\x1b[38;5;208m', ' ', '✓'];
  for (let n = 0; n < 1000; n++) {
    let s = '';
    for (let k = rnd(8); k >= 0; k--) s += parts[rnd(parts.length)];
    for (const [name, width] of widths) assert.equal(narrowWidth(s), width(s), `${name}: ${JSON.stringify(s)}`);
  }
  for (const other of ['café', 'e\u0301', '漢字', '▶', '✔', 'tab\t', '\x1b[31', '\x1b]0;t\x07', '\u00ad', '\u200d'])
    assert.equal(narrowWidth(other), undefined, JSON.stringify(other));
});
