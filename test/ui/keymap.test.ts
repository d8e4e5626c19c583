// The keymap: one meaning per key wherever it can be pressed, and the help built from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  footerHints,
  helpSections,
  KEYMAP,
  keyLabel,
  resolveKey,
  MOD,
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

test('resolving: a key means its command in its scope, with exactly the modifiers it names', () => {
  assert.equal(resolveKey('global', { ctrl: 'c' }), 'quit');
  assert.equal(resolveKey('procs', { name: 'return' }), 'pin');
  assert.equal(resolveKey('filter', { ch: 'q' }), 'filterType');
  assert.equal(resolveKey('global', { name: 'f10' }), 'quit');
  assert.equal(resolveKey('global', { name: 'f10', mods: MOD.shift }), undefined, 'Shift-F10 is not F10');
  assert.equal(keyLabel({ name: 'f5', mods: MOD.ctrl | MOD.shift }), 'Ctrl-Shift-F5');
});

test('F1 is help, F10 quit, F3 filter, as ? q / are', () => {
  for (const [f, other] of [
    ['f1', '?'],
    ['f10', 'q'],
    ['f3', '/'],
  ] as const)
    assert.equal(resolveKey('global', { name: f }), resolveKey('global', { ch: other }), f);
  const help = helpSections()
    .flatMap((s) => s.rows)
    .map((r) => r.keys);
  for (const k of ['? h F1', 'q F10 Ctrl-C', '/ F3'])
    assert.ok(help.includes(k), `${k} in the help: ${help.join(' | ')}`);
});
