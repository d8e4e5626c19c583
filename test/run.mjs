// npm test: every test/**/*.test.ts(x) under node's own test runner, through tsx.
// Benchmarks (test/bench) are not tests: they run with npm run bench.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'bench' && name !== 'fixtures') walk(p);
    } else if (/\.test\.tsx?$/.test(name)) {
      files.push(path.relative(process.cwd(), p));
    }
  }
})(root);
const filter = process.argv.slice(2);
const chosen = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
// tsx applies a tsconfig only to the files it includes: tsconfig.check.json (src and test) makes
// the tests run as `npm run typecheck` checks them (the automatic JSX runtime, as in src/).
// A settings directory of the suite's own: no test reads or writes the user's
// ~/.config/delaytop (a dashboard quit with q saves its settings).
const configHome = mkdtempSync(path.join(os.tmpdir(), 'delaytop-test-config-'));
chmodSync(configHome, 0o755); // a test's unprivileged user finds no file, not a locked door
const env = {
  ...process.env,
  TSX_TSCONFIG_PATH: path.join(root, '..', 'tsconfig.check.json'),
  XDG_CONFIG_HOME: configHome,
};
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...chosen], {
  stdio: 'inherit',
  env,
});
rmSync(configHome, { recursive: true, force: true });
process.exit(r.status ?? 1);
