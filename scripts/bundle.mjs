// dist/: delaytop bundled by esbuild. Node loads one file per mode instead of some 150
// modules (start-up: docs/performance.md). The dashboard's code (Ink, React) is a chunk that
// only the dashboard imports. Type checking is tsc's job (npm run typecheck); this only builds.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
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
  // Ink's text-size cache, bounded: Ink keeps the size of every distinct text it ever drew,
  // and a dashboard's figures change every second (the largest heap growth of a one-hour
  // soak: docs/performance.md). Cleared when full (in texts, or in characters: a pane's
  // lines are one text); a frame's texts are measured again.
  'node_modules/ink/build/measure-text.js': [
    "import widestLine from 'widest-line';",
    'const MAX_CACHED_TEXTS = 4096;',
    'const MAX_CACHED_CHARS = 1 << 20;',
    'const cache = new Map();',
    'let cachedChars = 0;',
    'const measureText = (text) => {',
    '  if (text.length === 0) return { width: 0, height: 0 };',
    '  const cached = cache.get(text);',
    '  if (cached) return cached;',
    "  const dimensions = { width: widestLine(text), height: text.split('\\n').length };",
    '  if (cache.size >= MAX_CACHED_TEXTS || cachedChars >= MAX_CACHED_CHARS) {',
    '    cache.clear();',
    '    cachedChars = 0;',
    '  }',
    '  cache.set(text, dimensions);',
    '  cachedChars += text.length;',
    '  return dimensions;',
    '};',
    'export default measureText;',
    '',
  ].join('\n'),
  // Its wrapped-text cache, bounded alike: it keeps every text wider than its box that it
  // ever cut, and such a line (the header's, in a narrow terminal) is new at every refresh.
  'node_modules/ink/build/wrap-text.js': [
    "import wrapAnsi from 'wrap-ansi';",
    "import cliTruncate from 'cli-truncate';",
    'const MAX_CACHED_TEXTS = 4096;',
    'const MAX_CACHED_CHARS = 1 << 20;',
    'const cache = new Map();',
    'let cachedChars = 0;',
    'const wrapText = (text, maxWidth, wrapType) => {',
    '  const cacheKey = text + String(maxWidth) + String(wrapType);',
    '  const cached = cache.get(cacheKey);',
    '  if (cached !== undefined) return cached;',
    '  let wrapped = text;',
    "  if (wrapType === 'wrap') wrapped = wrapAnsi(text, maxWidth, { trim: false, hard: true });",
    "  if (wrapType.startsWith('truncate')) {",
    "    const position = wrapType === 'truncate-middle' ? 'middle' : wrapType === 'truncate-start' ? 'start' : 'end';",
    '    wrapped = cliTruncate(text, maxWidth, { position });',
    '  }',
    '  if (cache.size >= MAX_CACHED_TEXTS || cachedChars >= MAX_CACHED_CHARS) {',
    '    cache.clear();',
    '    cachedChars = 0;',
    '  }',
    '  cache.set(cacheKey, wrapped);',
    '  cachedChars += cacheKey.length + wrapped.length;',
    '  return wrapped;',
    '};',
    'export default wrapText;',
    '',
  ].join('\n'),
};

/** Edits of dependencies' files: [file, text, replacement, how many times the text is there]. */
const edits = [
  // Yoga's wasm is inline (a data: URL), but its loader fetch()es that URL whenever fetch is
  // a function: node then loads undici (a start-up cost: docs/performance.md) to decode a
  // string it has. Without fetch it decodes the same base64 itself.
  ['node_modules/yoga-layout/dist/binaries/yoga-wasm-base64-esm.js', '"function"!=typeof fetch', 'true', 2],
  // Ink's render and write throttles, without a timer after every frame (src/ui/lazy-throttle.ts).
  [
    'node_modules/ink/build/ink.js',
    "import { throttle } from 'es-toolkit/compat';",
    `import { throttle } from ${JSON.stringify(path.join(root, 'src/ui/lazy-throttle.ts'))};`,
    1,
  ],
  // The first Intl.Segmenter loads ICU's break rules: made when first used, not at
  // import, so that a dashboard whose text is all narrow (ui/narrow-text.ts) never makes one.
  ...[
    'node_modules/string-width/index.js',
    'node_modules/wrap-ansi/node_modules/string-width/index.js',
    'node_modules/cliui/node_modules/string-width/index.js',
  ].map((file) => [file, 'const segmenter = new Intl.Segmenter();', lazySegmenter('segmenter'), 1]),
  [
    'node_modules/@alcalzone/ansi-tokenize/build/tokenize.js',
    'const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });',
    lazySegmenter('segmenter'),
    1,
  ],
  [
    'node_modules/slice-ansi/tokenize-ansi.js',
    "const GRAPHEME_SEGMENTER = new Intl.Segmenter(undefined, {granularity: 'grapheme'});",
    lazySegmenter('GRAPHEME_SEGMENTER'),
    1,
  ],
];

/** A stand-in for `const NAME = new Intl.Segmenter()` (graphemes) that makes it on first use. */
function lazySegmenter(name) {
  return `let ${name}Made; const ${name} = { segment: (s) => (${name}Made ??= new Intl.Segmenter()).segment(s) };`;
}

// string-width, wherever a dependency imports it, answers narrow text (ui/narrow-text.ts:
// every table row and border) itself, and hands the rest to the version asked for.
const narrowWidthPlugin = {
  name: 'narrow-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { real: true },
      });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'narrow-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'narrow-width' }, (args) => ({
      contents: [
        `import real from ${JSON.stringify(args.path)};`,
        `import { narrowWidth } from ${JSON.stringify(path.join(root, 'src/ui/narrow-text.ts'))};`,
        'export default function stringWidth(input, options) {',
        "  const narrow = options === undefined && typeof input === 'string' ? narrowWidth(input) : undefined;",
        '  return narrow ?? real(input, options);',
        '}',
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/** the edits made in this build */
const applied = new Set();

const swapPlugin = {
  name: 'swaps',
  setup(b) {
    b.onLoad({ filter: /\.(ts|js)$/ }, (args) => {
      const rel = path.relative(root, args.path);
      if (rel in swaps) return { contents: swaps[rel], loader: 'js', resolveDir: path.dirname(args.path) };
      const mine = edits.filter(([file]) => file === rel);
      if (mine.length === 0) return undefined;
      let contents = readFileSync(args.path, 'utf8');
      for (const edit of mine) {
        const [, text, replacement, times] = edit;
        applied.add(edit);
        const found = contents.split(text).length - 1;
        if (found !== times) throw new Error(`${rel}: expected ${times} of ${text}, found ${found} (a new version?)`);
        contents = contents.replaceAll(text, replacement);
      }
      return { contents, loader: 'js', resolveDir: path.dirname(args.path) };
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
  plugins: [narrowWidthPlugin, swapPlugin],
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
// An edit whose file the bundle no longer reads (a package moved or renamed) would quietly
// bring its cost back: the build fails instead.
const missed = edits.filter((e) => !applied.has(e));
if (missed.length > 0) throw new Error(`edits of files the bundle did not read: ${missed.map((e) => e[0]).join(', ')}`);
chmodSync(path.join(outdir, 'cli.js'), 0o755);
