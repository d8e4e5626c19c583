// The built dist/ (scripts/bundle.mjs) is what users run: it must be self-contained (no file
// from node_modules loaded at run time), keep React out of the batch modes, patch the very
// Output class Ink draws with (not a second copy from node_modules), and report its start-up.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT, session } from './tmux.js';

const CLI = path.join(ROOT, 'dist/cli.js');

/** Node flags that log every file node loads (ES modules and require()) to `log`. */
function tracing(t: TestContext): { flags: string[]; loaded: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'delaytop-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'loaded.txt');
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, url.slice(7) + '\\n');
  return next(url, context);
}\n`,
  );
  writeFileSync(
    path.join(dir, 'trace.cjs'),
    `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (...a) {
  const f = resolve.apply(this, a);
  if (f.startsWith('/')) appendFileSync(${JSON.stringify(log)}, f + '\\n');
  return f;
};
Module.register(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`,
  );
  return {
    flags: ['-r', path.join(dir, 'trace.cjs')],
    loaded: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}

const fromNodeModules = (files: string[]) => files.filter((f) => f.includes('/node_modules/'));
const dashboardChunk = (files: string[]) => files.some((f) => /\/dist\/chunks\/run-[^/]+\.js$/.test(f));
const metricsChunk = (files: string[]) => files.some((f) => /\/dist\/chunks\/metrics-[^/]+\.js$/.test(f));
/** The text of the one bundled chunk that holds `marker`. */
const chunkHolding = (marker: string): string | undefined =>
  readdirSync(path.join(ROOT, 'dist/chunks'))
    .map((f) => readFileSync(path.join(ROOT, 'dist/chunks', f), 'utf8'))
    .find((c) => c.includes(marker));

test('the bundle runs -b without any file from node_modules and without the dashboard (React) chunk', (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  const trace = tracing(t);
  const r = spawnSync(process.execPath, [...trace.flags, CLI, '-b', '-n', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^delaytop - /);
  const loaded = trace.loaded();
  assert.ok(loaded.includes(CLI), `the trace saw dist/cli.js load:\n${loaded.join('\n')}`);
  assert.deepEqual(fromNodeModules(loaded), []);
  assert.equal(dashboardChunk(loaded), false, `batch output loads no dashboard code:\n${loaded.join('\n')}`);
  assert.equal(metricsChunk(loaded), false, `batch output loads no exporter code (prom-client):\n${loaded.join('\n')}`);
});

test('the bundled exporter (--metrics) serves /metrics from its own chunk, loads nothing from node_modules, and ends on SIGTERM', async (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  const trace = tracing(t);
  const child = spawn(process.execPath, [...trace.flags, CLI, '--metrics', '127.0.0.1:0', '-d', '0.2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /serving metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`the exporter ended: ${stderr}`)));
  });
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /^# TYPE delaytop_delay_seconds_total counter$/m);
  const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  child.kill('SIGTERM');
  assert.equal(await code, 0, stderr);
  const loaded = trace.loaded();
  assert.ok(metricsChunk(loaded), `the exporter's chunk loaded:\n${loaded.join('\n')}`);
  assert.deepEqual(fromNodeModules(loaded), []);
  assert.equal(dashboardChunk(loaded), false);
});

test('the bundled dashboard patches the Output Ink draws with, loads nothing from node_modules, and -v says when its first frame came', async (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  const trace = tracing(t);
  const err = path.join(mkdtempSync(path.join(tmpdir(), 'delaytop-bundle-err-')), 'stderr.txt');
  t.after(() => rmSync(path.dirname(err), { recursive: true, force: true }));
  const tm = await session(t);
  tm.type(`node ${trace.flags.join(' ')} ${CLI} -v 2>${err}; echo BUNDLE-EXIT=$?`);
  tm.keys('Enter');
  await tm.waitFor('process rows', (s) => /^│[ *] *\d+ /m.test(s));
  tm.keys('q');
  await tm.waitFor('the exit status', (s) => /BUNDLE-EXIT=0/.test(s));
  const stderr = readFileSync(err, 'utf8');
  assert.match(stderr, /dashboard frames: Ink 6\.8 Output patched/);
  // e.g. "start-up: modules 115 ms, sources 15 ms, ..., first frame at 280 ms"
  assert.match(stderr, /start-up: modules \d+ ms, .*first frame \d+ ms; first frame at \d+ ms/);
  const loaded = trace.loaded();
  assert.ok(dashboardChunk(loaded), `the dashboard chunk loaded:\n${loaded.join('\n')}`);
  assert.deepEqual(fromNodeModules(loaded), []);
});

test("the bundle bounds Ink's text-size and wrapped-text caches (Ink's own keep every text they ever saw)", (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  const dashboard = chunkHolding('measureText');
  assert.ok(dashboard, 'the dashboard chunk measures text');
  // (esbuild renames the second module's `cache` and constants: cache2, MAX_CACHED_TEXTS2)
  const bounded = [
    ...dashboard.matchAll(
      /(cache\d*)\.size >= MAX_CACHED_TEXTS\d* \|\| (cachedChars\d*) >= MAX_CACHED_CHARS\d*\) \{\s*\1\.clear\(\);\s*\2 = 0;/g,
    ),
  ];
  assert.equal(bounded.length, 2, 'both caches are bounded, in texts and in characters');
  assert.equal([...dashboard.matchAll(/cachedChars\d* \+= /g)].length, 2, 'both count the characters they keep');
  assert.doesNotMatch(
    dashboard,
    /cache\d*\[cacheKey\d*\] = /,
    "Ink's unbounded wrapped-text cache is not in the bundle",
  );
});

test("the bundled Ink throttles its frames with src/ui/lazy-throttle.ts, not es-toolkit's (a timer after every frame)", (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  const dashboard = chunkHolding('throttledOnRender');
  assert.ok(dashboard, "the dashboard chunk holds Ink's renderer");
  assert.match(dashboard, /const left = lastMs\d* \+ waitMs\d* - now\d*;/, 'the lazy throttle is there');
  assert.equal(
    [...dashboard.matchAll(/var keyFramesUntil\d* = /g)].length,
    1,
    'one throttle module: the UI and Ink share it',
  );
  assert.doesNotMatch(dashboard, /maxWait/, "es-toolkit's debounce is not");
});

test('the bundle is what npm run build makes from the sources now', (t) => {
  if (!existsSync(CLI)) return t.skip('no dist/: run npm run build first');
  // A stale dist/ would make the two tests above test old code: the bundle is rebuilt into a
  // scratch directory and compared.
  const out = mkdtempSync(path.join(tmpdir(), 'delaytop-rebundle-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/bundle.mjs'), '--outdir', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(path.join(out, 'cli.js'), 'utf8'), readFileSync(CLI, 'utf8'), 'dist/cli.js is up to date');
});
