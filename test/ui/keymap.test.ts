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

/** one id per key a spec accepts (a run of characters is each of them) */
const ids = (k: KeySpec): string[] =>
  'chars' in k ? [...k.chars].map((ch) => JSON.stringify({ ch })) : [JSON.stringify(k)];

test('no key means two things in scopes that are active together', () => {
  const together: Scope[][] = [
    ['global', 'procs'],
    ['global', 'watch'],
    ['global', 'feed'],
    ['help', 'global'],
    ['renice', 'confirm'],
    ['ionice', 'confirm'],
  ];
  for (const scopes of together) {
    const seen = new Map<string, string>();
    for (const b of KEYMAP.filter((x) => scopes.includes(x.scope))) {
      for (const k of b.keys.flatMap(ids)) {
        const prev = seen.get(k);
        assert.ok(!prev || prev === b.command, `${k} is both ${prev} and ${b.command} in ${scopes.join('+')}`);
        seen.set(k, b.command);
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
  assert.equal(resolveKey('ionice', { ch: '7' }), 'ioLevel');
  assert.equal(resolveKey('ionice', { ch: '8' }), undefined, 'levels end at 7');
  assert.equal(keyLabel({ name: 'f5', mods: MOD.ctrl | MOD.shift }), 'Ctrl-Shift-F5');
  assert.equal(keyLabel({ chars: '01234567' }), '0-7');
});

test('F1 is help, F10 quit, F3 filter, as ? q / are; F7/F8 renice and F9 signals, as in htop', () => {
  for (const [f, other] of [
    ['f1', '?'],
    ['f10', 'q'],
    ['f3', '/'],
  ] as const)
    assert.equal(resolveKey('global', { name: f }), resolveKey('global', { ch: other }), f);
  assert.equal(resolveKey('procs', { name: 'f7' }), 'niceDown');
  assert.equal(resolveKey('procs', { ch: ']' }), 'niceDown');
  assert.equal(resolveKey('procs', { name: 'f8' }), 'niceUp');
  assert.equal(resolveKey('procs', { ch: '[' }), 'niceUp');
  assert.equal(resolveKey('procs', { ch: 'I' }), 'ionice');
  assert.equal(resolveKey('procs', { ch: 'i' }), 'sortIo', 'i still sorts by IO delay');
  assert.equal(resolveKey('procs', { name: 'f9' }), 'signal');
  assert.equal(resolveKey('procs', { ch: 'k' }), 'up', 'k still moves up');
  const help = helpSections()
    .flatMap((s) => s.rows)
    .map((r) => r.keys);
  for (const k of ['? h F1', 'q F10 Ctrl-C', '/ F3', 'F7 ]', 'F8 [', 'I', 'F9', 'y', 'n Esc', 'r', 'b', 'i', '0-7'])
    assert.ok(help.includes(k), `${k} in the help: ${help.join(' | ')}`);
});
