// Ink's Output with the previous frame's styled lines carried over: the same picture,
// built from the cells of the frame before wherever a line did not change.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { carryStyledLinesAcrossFrames } from '../../src/ui/ink-output-cache.js';

interface Output {
  write(x: number, y: number, text: string, options: { transformers: unknown[] }): void;
  get(): { output: string; height: number };
  caches: { styledChars: Map<string, unknown[]> };
}
type OutputClass = new (o: { width: number; height: number }) => Output;

const inkOutput = async (): Promise<OutputClass> => {
  const entry = createRequire(import.meta.url).resolve('ink');
  return ((await import(pathToFileURL(path.join(path.dirname(entry), 'output.js')).href)) as { default: OutputClass }).default;
};

function frame(Output: OutputClass, lines: string[]): Output {
  const o = new Output({ width: 30, height: lines.length });
  lines.forEach((l, y) => o.write(0, y, l, { transformers: [] }));
  return o;
}

test('Ink 6.8 Output is shaped as the carry-over expects, and frames reuse unchanged lines only', async () => {
  assert.equal(await carryStyledLinesAcrossFrames(), true, 'installed (an Ink upgrade that changes Output fails here)');
  const Output = await inkOutput();
  const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
  const a = frame(Output, ['same line', red('red line'), 'old text']);
  const first = a.get().output;
  const b = frame(Output, ['same line', red('red line'), 'new text']);
  const second = b.get().output;
  assert.equal(first, `same line\n${red('red line')}\nold text`);
  assert.equal(second, `same line\n${red('red line')}\nnew text`);
  assert.equal(b.caches.styledChars.get('same line'), a.caches.styledChars.get('same line'), 'an unchanged line reuses its cells');
  assert.equal(b.caches.styledChars.get(red('red line')), a.caches.styledChars.get(red('red line')));
  assert.equal(b.caches.styledChars.has('old text'), false, 'a line the frame did not draw is not kept');
  const c = frame(Output, ['old text']);
  assert.equal(c.get().output, 'old text');
  assert.notEqual(c.caches.styledChars.get('old text'), a.caches.styledChars.get('old text'), 'only the frame before is carried, not older ones');
});
