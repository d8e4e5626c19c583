// Where the way to the first frame goes, for -v: the moment (ms since the process
// started, performance.now()) each start-up phase ended.
const marks: { phase: string; atMs: number }[] = [];

/** The phase that just ended; the first mark of a phase counts. */
export function markStartup(phase: string): void {
  if (!marks.some((m) => m.phase === phase)) marks.push({ phase, atMs: performance.now() });
}

/** e.g. `start-up: modules 92 ms, sources 12 ms, ..., first frame at 301 ms` */
export function startupLine(): string {
  let prev = 0;
  const parts = marks.map((m) => {
    const part = `${m.phase} ${Math.round(m.atMs - prev)} ms`;
    prev = m.atMs;
    return part;
  });
  return `start-up: ${parts.join(', ')}; ${marks.length ? `${marks.at(-1)!.phase} at ${Math.round(prev)} ms` : 'no phase ended'}`;
}
