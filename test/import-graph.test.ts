// React picks its development or production build when it is first loaded, and only
// src/ui/run.ts (loaded on demand, after production.ts) may load it: a static import of any
// Ink/React module from what cli.ts loads at start makes every mode run React's
// development build (measured: the dashboard at 2x the CPU and RSS).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');
// static imports only: `import ... from '...'` and `export ... from '...'`, not `await import(...)`
const STATIC = /^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm;

function staticClosure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const deps: string[] = [];
    seen.set(file, deps);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC)) {
      const spec = m[1]!;
      if (m[0].startsWith('import type') || m[0].startsWith('export type')) continue;
      deps.push(spec);
      if (spec.startsWith('.')) {
        const base = path.resolve(path.dirname(file), spec).replace(/\.js$/, '');
        const ts = [`${base}.ts`, `${base}.tsx`].find((f) => {
          try {
            readFileSync(f);
            return true;
          } catch {
            return false;
          }
        });
        if (ts) visit(ts);
      }
    }
  };
  visit(entry);
  return seen;
}

test("what cli.ts loads at start loads no Ink, React or .tsx (React's build is chosen in ui/run.ts)", () => {
  const graph = staticClosure(path.join(SRC, 'cli.ts'));
  const offenders: string[] = [];
  for (const [file, deps] of graph) {
    for (const d of deps)
      if (/^(ink|react)(\/|$)/.test(d) || d.endsWith('.tsx')) offenders.push(`${path.relative(SRC, file)} -> ${d}`);
    if (file.endsWith('.tsx')) offenders.push(path.relative(SRC, file));
  }
  assert.ok(graph.size > 20, `the walker followed the imports (${graph.size} files)`);
  assert.deepEqual(offenders, []);
});
