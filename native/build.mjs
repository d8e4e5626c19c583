// Builds the addon from source with node-gyp, offline: node-gyp is pointed at the
// headers of the Node.js that runs this script, so it never downloads any.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function findNodedir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(
    Boolean,
  );
  for (const dir of candidates) {
    if (existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return null;
}

function findNodeGyp() {
  // npm hands its bundled node-gyp to install scripts; fall back to a local copy.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  for (const id of ['node-gyp/bin/node-gyp.js']) {
    try {
      return require.resolve(id);
    } catch {}
  }
  const npmBundled = path.resolve(
    path.dirname(process.execPath),
    '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  );
  return existsSync(npmBundled) ? npmBundled : null;
}

const nodedir = findNodedir();
if (!nodedir) {
  console.error(
    'delaytop: cannot find Node.js headers (include/node/node_api.h) next to ' +
      process.execPath +
      '.\n  Install the headers of this Node.js (e.g. the official tarball has them) or set npm_config_nodedir.',
  );
  process.exit(1);
}
const gyp = findNodeGyp();
if (!gyp) {
  console.error('delaytop: node-gyp not found; it ships with npm. Run the build through npm (npm install).');
  process.exit(1);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '-C', here], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('delaytop: native build failed (needs python3, make and a C++17 compiler).');
  process.exit(r.status ?? 1);
}
