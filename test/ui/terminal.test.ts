import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colourWanted, stripColour } from '../../src/ui/terminal.js';

test('stripColour drops colour parameters only: 16, 256 and RGB, foreground, background, underline', () => {
  assert.equal(stripColour('\x1b[36mcyan\x1b[39m'), 'cyan');
  assert.equal(stripColour('\x1b[1m\x1b[31mbold red\x1b[39m\x1b[22m'), '\x1b[1mbold red\x1b[22m');
  assert.equal(stripColour('\x1b[1;37;41mlost\x1b[0m'), '\x1b[1mlost\x1b[0m');
  assert.equal(stripColour('\x1b[38;5;196;7mx\x1b[48;2;1;2;3;4my\x1b[58:2::1:2:3;2mz'), '\x1b[7mx\x1b[4my\x1b[2mz');
  assert.equal(stripColour('\x1b[90mgray\x1b[100m\x1b[mplain'), 'gray\x1b[mplain', 'a bare reset stays');
  assert.equal(
    stripColour('\x1b[7minverse\x1b[27m \x1b[2mdim\x1b[22m \x1b[H\x1b[2K'),
    '\x1b[7minverse\x1b[27m \x1b[2mdim\x1b[22m \x1b[H\x1b[2K',
    'other sequences untouched',
  );
});

test('colourWanted: NO_COLOR (non-empty) turns colour off, a non-empty FORCE_COLOR wins', () => {
  assert.equal(colourWanted({}), true);
  assert.equal(colourWanted({ NO_COLOR: '1' }), false);
  assert.equal(colourWanted({ NO_COLOR: '' }), true, 'empty means unset');
  assert.equal(colourWanted({ NO_COLOR: '1', FORCE_COLOR: '1' }), true);
  assert.equal(colourWanted({ NO_COLOR: '1', FORCE_COLOR: '' }), false);
});
