// The settings file's schema: field by field, unknown keys kept, nothing of a bad file's
// text repeated in a warning.
import { SORT_COLUMNS } from '../../src/model/scan.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedSettings, formatSettings, parseSettings, someOf } from '../../src/settings/schema.js';

const parsed = (text: string) => {
  const p = parseSettings(text);
  assert.ok(p.ok, `parsed: ${text}`);
  return p;
};
const problem = (text: string) => {
  const p = parseSettings(text);
  assert.ok(!p.ok, `refused: ${text}`);
  return p.problem;
};

test('a whole file: every field taken', () => {
  const p = parsed('{"sortColumn": "IO", "sortDescending": false, "threads": true, "intervalSec": 0.5}');
  assert.deepEqual(p.settings, { sortColumn: 'IO', sortDescending: false, threads: true, intervalSec: 0.5 });
  assert.deepEqual(p.ignored, []);
});

test('a partial file: only what it has; an empty one has nothing and no problem', () => {
  assert.deepEqual(parsed('{"threads": true}').settings, { threads: true });
  assert.deepEqual(parsed('{}').settings, {});
  assert.deepEqual(parsed('').settings, {});
  assert.deepEqual(parsed(' \n').settings, {});
});

test('corrupt JSON: refused whole, with where it broke but none of its text', () => {
  assert.equal(problem('{"sortColumn": "IO",\n  "threads": tru\n}'), 'not valid JSON');
  assert.equal(problem('{"sortColumn": "IO"'), 'not valid JSON (line 1, column 20)');
  assert.equal(problem('{"a": 1,\n}'), 'not valid JSON (line 2, column 1)');
  assert.equal(problem('{"sortColumn": '), 'not valid JSON (it ends early)');
  // V8's own message quotes the text: a file that is not JSON must not reach the screen that way
  const p = problem('root:$6$secret:19000:0:99999:7:::');
  assert.doesNotMatch(p, /root|secret/);
});

test('a file that is JSON but not an object: refused whole', () => {
  assert.match(problem('[1, 2]'), /not a JSON object .* but a list/);
  assert.match(problem('3'), /not a JSON object .* but 3/);
  assert.match(problem('"IO"'), /but "IO"/);
  assert.match(problem('null'), /but null/);
});

test('wrong types and out-of-range values: that field alone is ignored, with what it should be', () => {
  const p = parsed('{"sortColumn": "FOO", "sortDescending": "yes", "threads": 1, "intervalSec": 2}');
  assert.deepEqual(p.settings, { intervalSec: 2 }, 'a bad sort column does not drop a good interval');
  assert.deepEqual(p.ignored, [
    `sortColumn "FOO" (expected one of ${SORT_COLUMNS.map((c) => `"${c}"`).join(', ')})`,
    'sortDescending "yes" (expected true or false)',
    'threads 1 (expected true or false)',
  ]);
  for (const bad of ['0', '0.01', '86401', '-1', '"2"', 'null', '[2]'])
    assert.deepEqual(parsed(`{"intervalSec": ${bad}, "threads": false}`).settings, { threads: false }, bad);
  assert.match(parsed('{"intervalSec": 0}').ignored[0]!, /intervalSec 0 \(expected seconds from 0\.05 to 86400\)/);
  assert.deepEqual(parsed('{"intervalSec": 0.05}').settings, { intervalSec: 0.05 });
  assert.deepEqual(parsed('{"sortColumn": "io"}').settings, {}, 'names are exact');
});

test('a long bad value is cut short in the warning', () => {
  const p = parsed(`{"sortColumn": "${'x'.repeat(500)}"}`);
  assert.ok(p.ignored[0]!.length < 80 + SORT_COLUMNS.join('", "').length, p.ignored[0]);
  assert.match(p.ignored[0]!, /^sortColumn "x{20}\.\.\. /);
});

test('unknown keys: ignored without a word on reading, kept on writing', () => {
  const p = parsed('{"colours": ["USER"], "intervalSec": 2, "__proto__": {"polluted": 1}}');
  assert.deepEqual(p.settings, { intervalSec: 2 });
  assert.deepEqual(p.ignored, []);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const text = formatSettings(p.raw, { sortColumn: 'PID' });
  assert.deepEqual(
    JSON.parse(text),
    JSON.parse('{"sortColumn": "PID", "intervalSec": 2, "colours": ["USER"], "__proto__": {"polluted": 1}}'),
  );
  assert.ok(text.includes('"__proto__"'), 'a "__proto__" key stays a key');
  assert.ok(text.endsWith('}\n'));
});

test('writing: the changed fields over the file, known fields first in the schema order', () => {
  const raw = { extra: true, intervalSec: 5, sortColumn: 'FOO' };
  assert.equal(
    formatSettings(raw, { sortColumn: 'IO', threads: true }),
    '{\n  "sortColumn": "IO",\n  "threads": true,\n  "intervalSec": 5,\n  "extra": true\n}\n',
  );
  assert.equal(formatSettings({}, {}), '{}\n');
});

test('changedSettings: the fields whose value at the end differs from the start', () => {
  const start = { sortColumn: 'CPU', sortDescending: true, threads: false, intervalSec: 1 } as const;
  assert.deepEqual(changedSettings(start, start), {});
  assert.deepEqual(changedSettings(start, { ...start, sortColumn: 'IO', intervalSec: 2 }), {
    sortColumn: 'IO',
    intervalSec: 2,
  });
  assert.deepEqual(changedSettings({}, { threads: false }), { threads: false });
});

test('someOf (for lists such as the visible columns): distinct known names only', () => {
  const f = someOf(['PID', 'USER', 'CPU'] as const);
  assert.deepEqual(f.check(['USER', 'PID']), ['USER', 'PID']);
  assert.deepEqual(f.check([]), []);
  assert.equal(f.check(['USER', 'USER']), undefined);
  assert.equal(f.check(['USER', 'NOPE']), undefined);
  assert.equal(f.check('USER'), undefined);
  assert.match(f.expected, /distinct names from "PID", "USER", "CPU"/);
});
