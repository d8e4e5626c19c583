// Text whose width is its length: printable ASCII and the few other characters the
// dashboard draws (borders, bars, arrows, ·, …), each one column and a grapheme of its
// own, between SGR colour sequences. string-width and Ink's tokenizer get there through
// Intl.Segmenter and Unicode-property regexes, costly the first time (docs/performance.md,
// Start-up); for such text their answer is known.

/** The non-ASCII characters taken as one column: test/ui/narrow-text.test.ts checks each against string-width and Ink's tokenizer. */
export const NARROW_EXTRA = '·µ…←↑→↓▲▼✓' + range(0x2500, 0x259f);

function range(from: number, to: number): string {
  let s = '';
  for (let c = from; c <= to; c++) s += String.fromCharCode(c);
  return s;
}

const extra = new Set<number>([...NARROW_EXTRA].map((c) => c.charCodeAt(0)));

/** One column, a grapheme of its own, no combining mark can follow in narrow text. */
export function isNarrowChar(code: number): boolean {
  return (code >= 0x20 && code <= 0x7e) || (code > 0x7e && extra.has(code));
}

/** The end of an SGR sequence (ESC [ digits ; m) starting at i, or -1 where there is none. */
export function sgrEnd(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x1b || s.charCodeAt(i + 1) !== 0x5b) return -1;
  let j = i + 2;
  for (let d = s.charCodeAt(j); (d >= 0x30 && d <= 0x39) || d === 0x3b; d = s.charCodeAt(++j));
  return s.charCodeAt(j) === 0x6d ? j + 1 : -1;
}

/** Columns of narrow text (SGR sequences take none); undefined for any other text. */
export function narrowWidth(s: string): number | undefined {
  let width = 0;
  for (let i = 0; i < s.length;) {
    if (isNarrowChar(s.charCodeAt(i))) {
      width++;
      i++;
      continue;
    }
    const end = sgrEnd(s, i);
    if (end < 0) return undefined;
    i = end;
  }
  return width;
}
