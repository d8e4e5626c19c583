// What `npm pack` ships: what a user runs (dist/), what the install script needs to build
// the addon, the docs and licence; no tests, no TypeScript sources, no build output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('npm pack ships dist/, the addon sources and build script, README, LICENSE, the privileged installer; no tests', (t) => {
  if (!existsSync(path.join(root, 'dist/cli.js'))) return t.skip('no dist/ in this checkout: run npm run build first');
  // --ignore-scripts: the list only (prepare would run tsc again)
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = new Set((JSON.parse(r.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
  };

  for (const f of ['README.md', 'LICENSE', 'package.json', 'scripts/install-privileged.sh', 'native/binding.gyp'])
    assert.ok(files.has(f), f);
  assert.ok(files.has(pkg.bin.delaytop!.replace(/^\.\//, '')), 'the bin');
  // the install script and what it builds from: every source binding.gyp names, every header they include
  const install = /^node (\S+)$/.exec(pkg.scripts.install!)?.[1];
  assert.ok(install && files.has(install), `install script ${pkg.scripts.install}`);
  const gyp = readFileSync(path.join(root, 'native/binding.gyp'), 'utf8');
  const sources = JSON.parse(/"sources":\s*(\[[^\]]*\])/.exec(gyp)![1]!) as string[];
  for (const s of sources) {
    assert.ok(files.has(`native/${s}`), s);
    for (const [, h] of readFileSync(path.join(root, 'native', s), 'utf8').matchAll(/#include "([^"]+)"/g))
      assert.ok(files.has(`native/${h}`), `${h} (from ${s})`);
  }
  // every compiled module, so that whatever dist/cli.js imports is there
  const built = (readdirSync(path.join(root, 'dist'), { recursive: true }) as string[]).filter((f) =>
    f.endsWith('.js'),
  );
  assert.ok(built.includes('cli.js') && built.some((f) => f.startsWith('chunks/')), built.join(' '));
  for (const f of built) assert.ok(files.has(`dist/${f}`), `dist/${f}`);

  const unwanted = [...files].filter(
    (f) => /^(test|src|\.ci|native\/build)\//.test(f) || f.endsWith('.map') || f === 'tsconfig.json',
  );
  assert.deepEqual(unwanted, []);
});
