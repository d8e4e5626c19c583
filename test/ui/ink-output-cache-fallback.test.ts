// The frame cache where Ink's Output is not what it expects (an Ink upgrade): it patches
// nothing, says why, and the dashboard draws through Ink itself. A file of its own: the
// other frame-cache test patches Ink's Output for the rest of its process.
import './not-in-ci.js';
import './force-color.js';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { carryFramesOver } from '../../src/ui/ink-output-cache.js';
import { inkOutputModule } from '../../src/ui/ink-output.js';
import { runDashboard } from '../../src/ui/run.js';
import { fakeOptions, FakeStatsSource, sampleTasks } from '../fakes/dashboard-sources.js';
import { FakeTerminal } from '../fakes/terminal.js';

const js = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;
const real = inkOutputModule();
const InkOutput = ((await import(real)) as { default: { prototype: { get: unknown } } }).default;
const inkGet = InkOutput.prototype.get;

// Stand-ins for an upgraded Ink, each wrong in one way the cache checks.
const stubs: [string, string, RegExp][] = [
  ['a missing file', 'file:///nonexistent/ink/build/output.js', /did not load/],
  ['no default class', js('export const Output = 1;'), /no default Output class/],
  [
    'get() with an argument',
    js(
      `export default class { write(x, y, t, o) {} clip(c) {} unclip() {} get(full) { return { output: '', height: 0 }; } }`,
    ),
    /get is not a method of 0/,
  ],
  [
    'no write()',
    js(`export default class { clip(c) {} unclip() {} get() { return { output: '', height: 0 }; } }`),
    /write is not a method of 4/,
  ],
  [
    'caches renamed',
    js(
      `import O from ${JSON.stringify(real)}; export default class extends O { constructor(o) { super(o); this.caches = { charCache: new Map() }; } }`,
    ),
    /styledChars is not a Map/,
  ],
  [
    'caches without getStringWidth',
    js(
      `import O from ${JSON.stringify(real)}; export default class extends O { constructor(o) { super(o); this.caches.getStringWidth = undefined; } }`,
    ),
    /lacks getStyledChars/,
  ],
  // right shape, but Ink draws something else now (here: every frame a line taller)
  [
    'another picture',
    js(
      `import O from ${JSON.stringify(real)}; export default class extends O { get() { const f = super.get(); return { output: f.output + '\\n', height: f.height + 1 }; } }`,
    ),
    /probe frame differs/,
  ],
  [
    'a probe that throws',
    js(
      `import O from ${JSON.stringify(real)}; export default class extends O { write(x, y, t, o) { throw new Error('new signature'); } }`,
    ),
    /probe frame failed: new signature/,
  ],
];

for (const [what, url, reason] of stubs) {
  test(`Output with ${what}: nothing is patched, and the reason says why`, async () => {
    let before: unknown;
    try {
      before = ((await import(url)) as { default?: { prototype?: { get?: unknown } } }).default?.prototype?.get;
    } catch {
      // the missing file
    }
    const r = await carryFramesOver(url);
    assert.equal(r.carried, false);
    assert.match(r.carried ? '' : r.reason, reason);
    if (before !== undefined) {
      const after = ((await import(url)) as { default: { prototype: { get: unknown } } }).default.prototype.get;
      assert.equal(after, before, 'get left as it was');
    }
  });
}

/**
 * The dashboard for 400 ms on fake sources: what it wrote for each frame (the first whole,
 * with the first refresh's tasks, then the lines that changed; the refresh's clock time and
 * duration masked), its -v lines but the start-up times.
 */
async function frames(inkOutputModule: string): Promise<{ frames: string[]; verbose: string[] }> {
  const terminal = new FakeTerminal();
  const verbose: string[] = [];
  const stats = new FakeStatsSource(sampleTasks());
  const opts = fakeOptions(stats, null, {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    verbose: (line) => verbose.push(line),
  });
  assert.equal(await runDashboard(opts, { durationMs: 400, inkOutputModule }), 0);
  // every frame is written as BEGIN_FRAME HOME frame END_FRAME
  const drawn = [...terminal.written.matchAll(/\x1b\[\?2026h\x1b\[H([\s\S]*?)\x1b\[\?2026l/g)].map((m) =>
    m[1]!.replace(/refreshed \S+ in \d+ ms/, 'refreshed T'),
  );
  assert.ok(drawn.length >= 1, `a frame:\n${JSON.stringify(terminal.written.slice(0, 400))}`);
  return { frames: drawn, verbose: verbose.filter((l) => !l.startsWith('start-up: ')) };
}

test('the dashboard on an Output of another shape: a -v line says so, and Ink draws the same frame the cache draws', async () => {
  const fallback = await frames(js('export default class {}'));
  assert.equal(InkOutput.prototype.get, inkGet, "Ink's own Output is untouched");
  assert.equal(fallback.verbose.length, 1);
  assert.match(
    fallback.verbose[0]!,
    /^dashboard frames: drawn by Ink itself \(.*Output.prototype.get is not a method of 0 argument\(s\)\)$/,
  );
  const plain = fallback.frames[0]!.replace(/\x1b\[[0-9;]*m/g, '');
  for (const shown of [/Processes 3/, / bravo/, / charlie/, / alpha/, /exit feed off/]) assert.match(plain, shown);

  const carried = await frames(real);
  assert.notEqual(InkOutput.prototype.get, inkGet, 'with Ink 6.8 itself the cache is in');
  assert.deepEqual(carried.verbose, ['dashboard frames: Ink 6.8 Output patched to reuse the previous frame']);
  assert.deepEqual(carried.frames, fallback.frames, 'the same pictures both ways');
});
