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
    const names = new Map<number, string>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      const n = Number(uid);
      if (name && uid && Number.isInteger(n) && !names.has(n)) names.set(n, name);
    }
    caches.set(file, { mtimeMs: st.mtimeMs, size: st.size, names });
    return names;
  } catch {
    return cache?.names ?? new Map();
  }
}
