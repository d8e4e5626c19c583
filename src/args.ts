// Command-line validation: pure functions that turn flag values into typed options or
// a UsageError naming the flag, the value and what to do (exit code 2).
import { isIP } from 'node:net';
import { GROUP_BY, type GroupBy } from './sources/groups.js';
import type { Target, TargetKind } from './sources/types.js';

export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

function list(values: unknown): string[] {
  const arr = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return arr.flatMap((v) => String(v).split(',')).map((s) => s.trim());
}

/** pids/tgids: decimal integers 1..pid_max, checked before any kernel call. */
export function parseIds(flag: string, kind: TargetKind, values: unknown, pidMax: number): Target[] {
  return list(values).map((s) => {
    if (!/^[0-9]+$/.test(s)) {
      throw new UsageError(
        `${flag} ${JSON.stringify(s)}: not a process id (expected a whole number from 1 to ${pidMax})`,
      );
    }
    const id = Number(s);
    if (id < 1 || id > pidMax) {
      throw new UsageError(`${flag} ${s}: out of range (process ids run from 1 to pid_max = ${pidMax})`);
    }
    return { kind, id };
  });
}

/** -d's bounds, which a saved refresh interval keeps to as well. */
export const DELAY_MIN_SEC = 0.05;
export const DELAY_MAX_SEC = 86400;

/** A positive number of seconds (decimals allowed), e.g. -d 0.5. */
export function parseSeconds(flag: string, value: unknown, min = DELAY_MIN_SEC, max = DELAY_MAX_SEC): number {
  const s = String(value).trim();
  const n = /^[0-9]+(\.[0-9]+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected seconds between ${min} and ${max}, e.g. ${flag} 1`);
  }
  return n;
}

/** A whole count >= 1. */
export function parseCount(flag: string, value: unknown, max = 1e9): number {
  const s = String(value).trim();
  if (!/^[0-9]+$/.test(s) || Number(s) < 1 || Number(s) > max) {
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected a whole number from 1 to ${max}`);
  }
  return Number(s);
}

const MAX_CPULIST_CHARS = 4096;

/** Expand a cpulist ("0-3,8") into sorted CPU numbers. Pure: no kernel involved. */
export function expandCpulist(text: string): number[] | string {
  if (text.length === 0) return 'empty';
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(part.trim());
    if (!m) return `"${part.length > 20 ? part.slice(0, 20) + '...' : part}" is not a CPU number or range`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `range ${part} runs backwards`;
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** -m CPUMASK: a cpulist of CPUs that exist (/sys/devices/system/cpu/possible). */
export function parseCpumask(flag: string, value: unknown, possibleList: string): number[] {
  const text = String(value ?? '').trim();
  const shown =
    text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}... (${text.length} characters)` : JSON.stringify(text);
  if (text.length > MAX_CPULIST_CHARS)
    throw new UsageError(`${flag} ${shown}: too long; use ranges, e.g. ${flag} 0-3,8`);
  const cpus = expandCpulist(text);
  if (typeof cpus === 'string')
    throw new UsageError(`${flag} ${shown}: ${cpus}; expected a cpulist such as 0-3,8 (CPUs here: ${possibleList})`);
  const possible = expandCpulist(possibleList);
  const ok = new Set(typeof possible === 'string' ? [] : possible);
  const bad = cpus.filter((c) => !ok.has(c));
  if (bad.length)
    throw new UsageError(
      `${flag} ${shown}: no CPU ${bad.slice(0, 5).join(', ')} on this machine (possible CPUs: ${possibleList})`,
    );
  return cpus;
}

/** -r BYTES: receive buffer size; plain bytes or with a K/M/G suffix. */
export function parseBytes(flag: string, value: unknown, min = 4096, max = 1 << 30): number {
  const s = String(value).trim();
  const m = /^([0-9]+)([KMG]i?B?)?$/i.exec(s);
  const mult = m?.[2] ? 1024 ** ('KMG'.indexOf(m[2][0]!.toUpperCase()) + 1) : 1;
  const n = m ? Number(m[1]) * mult : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} ${JSON.stringify(s)}: expected a size from ${min} to ${max} bytes (e.g. ${flag} 16M)`,
    );
  }
  return n;
}

/**
 * --metrics [ADDR:]PORT: where the exporter listens. ADDR is an IPv4 address, an IPv6 one in
 * brackets, or localhost; without it 127.0.0.1 (all interfaces only when asked: 0.0.0.0:PORT).
 * PORT 0 takes any free port.
 */
export function parseListenAddress(flag: string, value: unknown): { host: string; port: number } {
  const s = String(value ?? '').trim();
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost|[^:]*):)?([^:]*)$/.exec(s);
  const hint = `expected [ADDR:]PORT, e.g. ${flag} 9400 (127.0.0.1) or ${flag} 0.0.0.0:9400 (every interface)`;
  if (!m) throw new UsageError(`${flag} ${JSON.stringify(s)}: ${hint}`);
  const [, addr, portText] = m;
  if (!/^[0-9]{1,5}$/.test(portText!) || Number(portText) > 65535)
    throw new UsageError(`${flag} ${JSON.stringify(s)}: the port must be a number from 0 to 65535; ${hint}`);
  let host = '127.0.0.1';
  if (addr !== undefined) {
    host = addr.startsWith('[') ? addr.slice(1, -1) : addr;
    if (host !== 'localhost' && isIP(host) === 0)
      throw new UsageError(
        `${flag} ${JSON.stringify(s)}: ${JSON.stringify(addr)} is not an IP address (IPv6 goes in brackets: [::1]:9400); ${hint}`,
      );
  }
  return { host, port: Number(portText) };
}

/** --group-by: cgroup, comm or user. */
export function parseGroupBy(flag: string, value: unknown): GroupBy {
  const s = String(value).trim();
  const found = GROUP_BY.find((g) => g === s);
  if (!found) throw new UsageError(`${flag} ${JSON.stringify(s)}: expected one of ${GROUP_BY.join(', ')}`);
  return found;
}

/** --metrics-top N: 0 (none) to 100 processes per category. */
export function parseTopCount(flag: string, value: unknown, max = 100): number {
  const s = String(value).trim();
  if (!/^[0-9]+$/.test(s) || Number(s) > max)
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected a whole number from 0 to ${max}`);
  return Number(s);
}
