// What terminals send, as keys: each form of F1..F12 (xterm, VT220, the Linux console,
// rxvt), with modifiers; the keys Ink's useInput did read, read the same; nothing a
// function key sends leaks out as text or as Escape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MOD, type KeyEvent } from '../../src/ui/keymap.js';
import { keyEvents } from '../../src/ui/terminal-keys.js';

const F = (n: number, mods = 0): KeyEvent[] => [mods ? { name: `f${n}` as 'f1', mods } : { name: `f${n}` as 'f1' }];

test("xterm's F1..F4 (ESC O P..S) and VT220's F1..F12 (ESC [ n ~)", () => {
  ['P', 'Q', 'R', 'S'].forEach((c, i) => assert.deepEqual(keyEvents(`\x1bO${c}`), F(i + 1), `ESC O ${c}`));
  const vt220: [number, number][] = [
    [11, 1],
    [12, 2],
    [13, 3],
    [14, 4],
    [15, 5],
    [17, 6],
    [18, 7],
    [19, 8],
    [20, 9],
    [21, 10],
    [23, 11],
    [24, 12],
  ];
  for (const [code, n] of vt220) assert.deepEqual(keyEvents(`\x1b[${code}~`), F(n), `ESC [${code}~`);
  // VT220's F13..F20 (what the Linux console sends for Shift-F1..F8): keys, bound to nothing yet
  assert.deepEqual(keyEvents('\x1b[25~'), F(13));
  assert.deepEqual(keyEvents('\x1b[34~'), F(20));
});

test("the Linux console's F1..F5: ESC [ [ A..E", () => {
  ['A', 'B', 'C', 'D', 'E'].forEach((c, i) => assert.deepEqual(keyEvents(`\x1b[[${c}`), F(i + 1), `ESC [[${c}`));
});

test("modifiers: xterm's ESC [1;mP and ESC [n;m~, rxvt's ^ $ @, and Alt as a leading ESC", () => {
  assert.deepEqual(keyEvents('\x1b[1;2P'), F(1, MOD.shift), 'Shift-F1');
  assert.deepEqual(keyEvents('\x1b[1;5P'), F(1, MOD.ctrl), 'Ctrl-F1 (which makes useInput throw)');
  assert.deepEqual(keyEvents('\x1b[1;3S'), F(4, MOD.alt), 'Alt-F4');
  assert.deepEqual(keyEvents('\x1b[15;5~'), F(5, MOD.ctrl), 'Ctrl-F5');
  assert.deepEqual(keyEvents('\x1b[19;6~'), F(8, MOD.ctrl | MOD.shift), 'Ctrl-Shift-F8');
  assert.deepEqual(keyEvents('\x1b[11^'), F(1, MOD.ctrl), 'rxvt Ctrl-F1');
  assert.deepEqual(keyEvents('\x1b[12$'), F(2, MOD.shift), 'rxvt Shift-F2');
  assert.deepEqual(keyEvents('\x1b[13@'), F(3, MOD.ctrl | MOD.shift), 'rxvt Ctrl-Shift-F3');
  assert.deepEqual(keyEvents('\x1b\x1b[19~'), F(8, MOD.alt), 'Alt-F8 as ESC + F8');
  assert.deepEqual(keyEvents('\x1b\x1bOP'), F(1, MOD.alt), 'Alt-F1 as ESC + ESC O P');
  assert.deepEqual(keyEvents('\x1b[1;5A'), [{ name: 'up', mods: MOD.ctrl }], 'Ctrl-Up is not Up');
  assert.deepEqual(keyEvents('\x1b[a'), [{ name: 'up', mods: MOD.shift }], "rxvt's Shift-Up");
});

test('the keys that worked through Ink read the same', () => {
  const same: [string, KeyEvent[]][] = [
    ['\x1b[A', [{ name: 'up' }]],
    ['\x1bOB', [{ name: 'down' }]],
    ['\x1b[C', [{ name: 'right' }]],
    ['\x1b[5~', [{ name: 'pageUp' }]],
    ['\x1b[6~', [{ name: 'pageDown' }]],
    ['\x1b[H', [{ name: 'home' }]],
    ['\x1b[1~', [{ name: 'home' }]],
    ['\x1b[F', [{ name: 'end' }]],
    ['\x1b[4~', [{ name: 'end' }]],
    ['\x1b[Z', [{ name: 'shiftTab' }]],
    ['\x1b[3~', [{ name: 'backspace' }]], // Delete erases, as it did
    ['\x1b', [{ name: 'escape' }]],
    ['\x1b\x1b', [{ name: 'escape' }]],
    ['\r', [{ name: 'return' }]],
    ['\t', [{ name: 'tab' }]],
    ['\x7f', [{ name: 'backspace' }]],
    ['\x03', [{ ctrl: 'c' }]],
    ['\x14', [{ ctrl: 't' }]],
    ['/ba q', [{ ch: '/' }, { ch: 'b' }, { ch: 'a' }, { name: 'space' }, { ch: 'q' }]],
    ['Ä', [{ ch: 'Ä' }]],
  ];
  for (const [input, want] of same) assert.deepEqual(keyEvents(input), want, JSON.stringify(input));
});

test('what is not a key here is nothing: not text, not Escape', () => {
  for (const input of ['\x1b[2~', '\x1bq', '\x1b[99~', '\x1b[97;5u', '\x1bO', '\x1b[E', '\x1b[[Z', '\x00'])
    assert.deepEqual(keyEvents(input), [], JSON.stringify(input));
});
