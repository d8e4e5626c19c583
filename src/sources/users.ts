// User names by uid, from /etc/passwd (read again only when it changes). Names are the
// file's text: untrusted, shown through output/text.ts.
import { readFileSync, statSync } from 'node:fs';

const PASSWD = '/etc/passwd';
const caches = new Map<string, { mtimeMs: number; size: number; names: Map<number, string> }>();

/** uid -> name; an unreadable file gives what it gave last (or none). */
export function userNames(file = PASSWD): ReadonlyMap<number, string> {
  const cache = caches.get(file);
  try {
    const st = statSync(file);
    if (cache && cache.mtimeMs === st.mtimeMs && cache.size === st.size) return cache.names;
    const names = parsePasswd(readFileSync(file, 'utf8'));
    caches.set(file, { mtimeMs: st.mtimeMs, size: st.size, names });
    return names;
  } catch {
    return cache?.names ?? new Map();
  }
}

/** /etc/passwd: name by uid (the first entry of a uid wins, as getpwuid's does). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !/^[0-9]+$/.test(f[2]!)) continue;
    const uid = Number(f[2]);
    if (!out.has(uid)) out.set(uid, f[0]!);
  }
  return out;
}
