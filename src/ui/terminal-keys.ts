// What the terminal sent, as key presses. Ink's input parser hands over one escape
// sequence per event (it splits a read at each ESC), or a run of plain text; this turns
// either into KeyEvents. It replaces Ink's useInput, which loses function keys: F1..F12
// arrive as input '' with no flag, Shift-F1 (ESC [1;2P) as the text "[1;2P", rxvt's
// Ctrl-F1 (ESC [11^) as "[11^", and Ctrl-F1 (ESC [1;5P) makes it throw a TypeError.
import { MOD, type FunctionKeyName, type KeyEvent, type KeyName } from './keymap.js';

/** ESC [ n ~ : VT220's numbered keys (xterm, rxvt, the Linux console and tmux send these too). */
const TILDE_KEYS: Record<number, KeyName | null> = {
  1: 'home',
  2: null, // Insert: nothing here inserts
  // Delete erases like Backspace, as it did through Ink (which calls DEL "delete")
  3: 'backspace',
  4: 'end',
  5: 'pageUp',
  6: 'pageDown',
  7: 'home', // rxvt
  8: 'end', // rxvt
  11: 'f1',
  12: 'f2',
  13: 'f3',
  14: 'f4',
  15: 'f5',
  17: 'f6',
  18: 'f7',
  19: 'f8',
  20: 'f9',
  21: 'f10',
  23: 'f11',
  24: 'f12',
  25: 'f13',
  26: 'f14',
  28: 'f15',
  29: 'f16',
  31: 'f17',
  32: 'f18',
  33: 'f19',
  34: 'f20',
};

/** ESC [ letter and ESC O letter (SS3): cursor keys, and xterm's F1..F4. */
const LETTER_KEYS: Record<string, KeyName> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  P: 'f1',
  Q: 'f2',
  R: 'f3',
  S: 'f4',
};

/** The Linux console's F1..F5: ESC [ [ A..E. */
const CONSOLE_KEYS: Record<string, FunctionKeyName> = { A: 'f1', B: 'f2', C: 'f3', D: 'f4', E: 'f5' };

/** rxvt's modified keys end in ^ (Ctrl), $ (Shift) or @ (Ctrl-Shift) instead of ~. */
const RXVT_MODS: Record<string, number> = { '~': 0, '^': MOD.ctrl, $: MOD.shift, '@': MOD.ctrl | MOD.shift };

const named = (name: KeyName | null | undefined, mods: number): KeyEvent[] =>
  !name ? [] : mods ? [{ name, mods }] : [{ name }];

/** xterm's modifier parameter (1 + a bit each), as a bit mask; anything else counts as none. */
const modsOf = (param: string | undefined): number => {
  const m = Number(param);
  return Number.isInteger(m) && m >= 1 && m <= 16 ? m - 1 : 0;
};

// ESC, an optional second ESC (Alt), [ and an optional second [ (the Linux console, PuTTY),
// parameters, and a final byte; rxvt's $ is an intermediate byte Ink's parser ends on.
const CSI = /^\x1b(\x1b?)\[(\[?)([0-9;]*)([\x40-\x7e$])$/;
const SS3 = /^\x1b(\x1b?)O([\x40-\x7e])$/;

/** One escape sequence as a key; [] for one that is not a key this program knows. */
function sequenceKeys(seq: string): KeyEvent[] {
  if (seq === '\x1b' || seq === '\x1b\x1b') return [{ name: 'escape' }];
  let m = SS3.exec(seq);
  if (m) {
    if (m[2] === 'M') return [{ name: 'return' }]; // keypad Enter in application mode
    return named(LETTER_KEYS[m[2]!], m[1] ? MOD.alt : 0);
  }
  m = CSI.exec(seq);
  if (!m) return []; // Alt-letter (ESC x) and anything unrecognised: not text, not Escape
  const [, alt, bracket, params, final] = m as unknown as [string, string, string, string, string];
  const altBit = alt ? MOD.alt : 0;
  const p = params.split(';');
  if (bracket && final !== '~') return named(CONSOLE_KEYS[final], altBit);
  if (final in RXVT_MODS) {
    const mods = final === '~' ? modsOf(p[1]) : RXVT_MODS[final]!;
    return named(TILDE_KEYS[Number(p[0])], mods | altBit);
  }
  if (final === 'Z') return [{ name: 'shiftTab' }];
  // rxvt's Shift-arrows: ESC [ a..d
  if (final >= 'a' && final <= 'd') return named(LETTER_KEYS[final.toUpperCase()], MOD.shift | altBit);
  // ESC [ 1 ; m X (xterm), or ESC [ m X from some older terminals
  const mods = p.length >= 2 ? modsOf(p[1]) : modsOf(p[0] || undefined);
  return named(LETTER_KEYS[final], mods | altBit);
}

/**
 * One input event from Ink (an escape sequence, or text that arrived in one read: a paste,
 * tmux send-keys) as key presses, text split into one event per character, so that "/bash"
 * starts a filter and then types into it.
 */
export function keyEvents(input: string): KeyEvent[] {
  if (input.startsWith('\x1b')) return sequenceKeys(input);
  const out: KeyEvent[] = [];
  for (const ch of input) {
    if (ch === ' ') out.push({ name: 'space' });
    else if (ch === '\r' || ch === '\n') out.push({ name: 'return' });
    else if (ch === '\t') out.push({ name: 'tab' });
    else if (ch === '\x7f' || ch === '\b') out.push({ name: 'backspace' });
    else if (ch >= '\x01' && ch <= '\x1a') out.push({ ctrl: String.fromCharCode(ch.charCodeAt(0) + 96) });
    else if (ch >= ' ') out.push({ ch });
  }
  return out;
}
