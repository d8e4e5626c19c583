// dist/: delaytop bundled by esbuild. Node loads one file per mode instead of some 150
// modules (start-up: docs/performance.md). The dashboard's code (Ink, React) is a chunk that
// only the dashboard imports. Type checking is tsc's job (npm run typecheck); this only builds.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const inkOutput = path.join(path.dirname(createRequire(import.meta.url).resolve('ink')), 'output.js');

/** Files whose bundled form differs from what tsx runs. */
const swaps = {
  // The class the frame cache patches must be the one inside the bundle.
  'src/ui/ink-output.ts':
    `import * as output from ${JSON.stringify(inkOutput)};\n` +
    `export function loadInkOutput(url) { return url === undefined ? Promise.resolve(output) : import(url); }\n`,
  // NODE_ENV is fixed to production below, for React to bundle its production build only.
  'src/ui/production.ts': '',
};

const swapPlugin = {
  name: 'swaps',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const rel = path.relative(root, args.path);
      return rel in swaps ? { contents: swaps[rel], loader: 'js', resolveDir: path.dirname(args.path) } : undefined;
    });
  },
};

// --outdir DIR: build elsewhere (a test compares that with dist/)
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  // Ink imports React's devtools only when DEV=true; they are not shipped.
  alias: { 'react-devtools-core': path.join(root, 'scripts/no-devtools.mjs') },
  // CommonJS dependencies bundled into ESM call require() for node's own modules. (esbuild
  // keeps src/cli.ts's first line, #!/usr/bin/env -S node FLAGS, above this.)
  banner: {
    js: "import { createRequire as __delaytopRequire } from 'node:module';\nconst require = __delaytopRequire(import.meta.url);",
  },
  plugins: [swapPlugin],
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(path.join(outdir, 'cli.js'), 0o755);
