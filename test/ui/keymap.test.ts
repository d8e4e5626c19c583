// The keymap: one meaning per key wherever it can be pressed, and the help built from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Key } from 'ink';
import {
  footerHints,
  helpSections,
  KEYMAP,
  keyEvents,
  keyLabel,
  resolveKey,
  type KeySpec,
  type Scope,
} from '../../src/ui/keymap.js';

const id = (k: KeySpec) => JSON.stringify(k);

test('no key means two things in scopes that are active together', () => {
  const together: Scope[][] = [
    ['global', 'procs'],
    ['global', 'watch'],
    ['global', 'feed'],
    ['help', 'global'],
  ];
  for (const scopes of together) {
    const seen = new Map<string, string>();
    for (const b of KEYMAP.filter((x) => scopes.includes(x.scope))) {
      for (const k of b.keys) {
        const prev = seen.get(id(k));
        assert.ok(
          !prev || prev === b.command,
          `${keyLabel(k)} is both ${prev} and ${b.command} in ${scopes.join('+')}`,
        );
        seen.set(id(k), b.command);
      }
    }
  }
});

test('the help lists every binding of the keymap, and the footer only what is bound', () => {
  const rows = helpSections().flatMap((s) => s.rows);
  assert.equal(rows.length, KEYMAP.length);
  for (const b of KEYMAP)
    assert.ok(
      rows.some((r) => r.help === b.help && r.keys === b.keys.map(keyLabel).join(' ')),
      b.command,
    );
  const procs = footerHints({ scope: 'procs' });
  assert.ok(
    procs.some((h) => h.keys === '↑/↓' && h.help === 'move'),
    JSON.stringify(procs),
  );
  assert.ok(procs.some((h) => h.keys === 'c/i/s/n' && h.help === 'sort'));
});

const K = (over: Partial<Key> = {}): Key => ({
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
  ...over,
});

test('Ink key events become one event per key; a burst of text is split into characters', () => {
  assert.deepEqual(keyEvents('', K({ downArrow: true })), [{ name: 'down' }]);
  assert.deepEqual(keyEvents('', K({ tab: true, shift: true })), [{ name: 'shiftTab' }]);
  assert.deepEqual(keyEvents('', K({ delete: true })), [{ name: 'backspace' }], 'terminals send DEL for Backspace');
  assert.deepEqual(keyEvents('t', K({ ctrl: true })), [{ ctrl: 't' }]);
  assert.deepEqual(keyEvents('/ba q', K()), [{ ch: '/' }, { ch: 'b' }, { ch: 'a' }, { name: 'space' }, { ch: 'q' }]);
  assert.equal(resolveKey('global', { ctrl: 'c' }), 'quit');
  assert.equal(resolveKey('procs', { name: 'return' }), 'pin');
  assert.equal(resolveKey('filter', { ch: 'q' }), 'filterType');
});
