// npm run bench [name...]: every test/bench/*.bench.ts, one at a time, each in its own
// process tree beside its C baseline. Not part of npm test.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { benchDir } from './common.js';

const filter = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filter.length || filter.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const f of files) {
  console.error(`# ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(benchDir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
