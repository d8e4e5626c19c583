// Shared benchmark plumbing: C baselines compiled on demand, CPU-time readings, and the
// one-JSON-line-per-target report format.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(benchDir, '../..');

/** Compile test/bench/<name>.c into test/bench/bin/<name> (rebuilt when the source is newer). */
export function compileC(name: string, extra: string[] = []): string {
  const src = path.join(benchDir, `${name}.c`);
  const binDir = path.join(benchDir, 'bin');
  const out = path.join(binDir, name);
  mkdirSync(binDir, { recursive: true });
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    execFileSync('cc', ['-O2', '-Wall', '-o', out, src, '-lpthread', ...extra], { stdio: 'inherit' });
  }
  return out;
}

const CLK_TCK = 100; // USER_HZ on Linux

/** utime+stime of a live process (all threads), in ms, from /proc/<pid>/stat. */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** Peak RSS (VmHWM) of a live process in bytes. */
export function procPeakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface Target {
  bench: string;
  value: number;
  unit: string;
  /** e.g. "<= 1.5" */
  target: string;
}

/** Print the machine-readable line for one target; ok is computed from the target text. */
export function report(t: Target): boolean {
  const m = /^(<=|>=|<|>|==)\s*([0-9.eE+-]+)$/.exec(t.target.trim());
  if (!m) throw new Error(`bad target ${t.target}`);
  const lim = Number(m[2]);
  const ok =
    m[1] === '<='
      ? t.value <= lim
      : m[1] === '>='
        ? t.value >= lim
        : m[1] === '<'
          ? t.value < lim
          : m[1] === '>'
            ? t.value > lim
            : t.value === lim;
  console.log(
    JSON.stringify({ bench: t.bench, value: Number(t.value.toFixed(4)), unit: t.unit, target: t.target, ok }),
  );
  return ok;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
