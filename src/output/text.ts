// The one way untrusted text (process names, command lines, a recording's hostname or
// kernel release) reaches a terminal: every control character (C0, DEL, C1, ESC), every
// invisible format character (bidi overrides, zero-width ones), line and paragraph
// separators and every byte that was not UTF-8 is shown escaped and visibly; anything
// else printable is shown as itself, measured by its display width. A backslash is
// doubled, so an escape on screen always means a byte that was there.
import { eastAsianWidth } from 'get-east-asian-width';
import { RAW_BYTE_BASE } from '../kernel/decode.js';

// Cc: C0, DEL, C1. Cf: format (U+202E and friends reorder a line). Zl/Zp: line breaks.
// Cs: a lone surrogate, which is how decode.ts keeps a byte that was not UTF-8.
const UNSAFE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const ZERO_WIDTH = /[\p{Mn}\p{Me}]/u;

// \xNN: a byte (a C0 control or DEL, or a byte that was not UTF-8); \u{N}: a character
// that was (so U+0085 and the raw byte 0x85 never look the same).
function escapeOf(cp: number): string {
  if (cp === 0x5c) return '\\\\';
  if (cp >= RAW_BYTE_BASE + 0x80 && cp <= RAW_BYTE_BASE + 0xff)
    return `\\x${(cp - RAW_BYTE_BASE).toString(16).padStart(2, '0')}`;
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** Display width of one code point that is safe to show. */
function widthOf(ch: string, cp: number): number {
  if (cp < 0x300) return 1;
  if (ZERO_WIDTH.test(ch)) return 0;
  return eastAsianWidth(cp) === 2 ? 2 : 1;
}

/** Untrusted text as it may be shown: escapes for what is not printable. */
export function printable(s: string): string {
  // the common case: printable ASCII without a backslash
  if (/^[\x20-\x5b\x5d-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const ch of s) out += UNSAFE.test(ch) ? escapeOf(ch.codePointAt(0)!) : ch;
  return out;
}

/** Display width of text that printable() returned. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += widthOf(ch, ch.codePointAt(0)!);
  return w;
}

/** Text already printable, cut to at most `width` cells at a whole character. */
export function cutText(s: string, width: number): string {
  let w = 0;
  let end = 0;
  for (const ch of s) {
    w += widthOf(ch, ch.codePointAt(0)!);
    if (w > width) break;
    end += ch.length;
  }
  return s.slice(0, end);
}

/** Untrusted text escaped and padded to at least `width` cells, never cut (text outputs keep every byte). */
export function padText(s: string, width: number): string {
  const p = printable(s);
  return p + ' '.repeat(Math.max(0, width - displayWidth(p)));
}

/**
 * Untrusted text in a column of `width` cells: escaped, cut at a whole character or escape
 * (never inside one), and padded with spaces (left-aligned; `right`: aligned right).
 */
export function fitText(s: string, width: number, right = false): string {
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const piece = UNSAFE.test(ch) ? escapeOf(cp) : ch;
    const pw = piece === ch ? widthOf(ch, cp) : piece.length;
    if (w + pw > width) break;
    out += piece;
    w += pw;
  }
  const fill = ' '.repeat(Math.max(0, width - w));
  return right ? fill + out : out + fill;
}
