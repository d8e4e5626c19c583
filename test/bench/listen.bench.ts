// `delaytop -l` against the least a printing C listener can do (exit_listener.c -p FILE),
// side by side on the same storm: each round starts the C printer, `delaytop -l > file` and
// `delaytop -l --json > file` together, runs 100,000 exits (forker.c), waits until every
// listener has written them, and compares CPU time per 100,000 lines written.
// Targets (issue 15): -l text at most 1.2x the C printer's CPU, -l --json at most 2x; none lost.
// Environment: LISTEN_BENCH_EXITS (100000), LISTEN_BENCH_ROUNDS (3).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { compileC, procCpuMs, repoRoot, report, sleep } from './common.js';

const EXITS = Number(process.env.LISTEN_BENCH_EXITS ?? 100_000);
const ROUNDS = Number(process.env.LISTEN_BENCH_ROUNDS ?? 3);
const log = (s: string) => console.error(`listen.bench: ${s}`);

const live = new Set<ChildProcess>();
const dir = mkdtempSync(path.join(tmpdir(), 'delaytop-listen-'));
process.on('exit', () => {
  for (const c of live) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

function started(p: ChildProcess): ChildProcess {
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}
const ended = (p: ChildProcess) =>
  new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.on('exit', () => r())));

/** Exit lines in a listener's output so far (text: lines that start with a time; JSON: "type":"exit"). */
function exitLines(file: string, json: boolean): number {
  const text = readFileSync(file, 'utf8');
  const re = json ? /"type":"exit"/g : /^\d\d:\d\d:\d\d\.\d{3} cpu /gm;
  return (text.match(re) ?? []).length;
}
const lineCount = (file: string) => (readFileSync(file, 'utf8').match(/\n/g) ?? []).length;

interface Round {
  cMs: number;
  cLines: number;
  textMs: number;
  textLines: number;
  jsonMs: number;
  jsonLines: number;
  lost: string;
}

async function round(n: number, cli: string, cBin: string, forker: string): Promise<Round> {
  const files = { c: path.join(dir, 'c.txt'), text: path.join(dir, 'l.txt'), json: path.join(dir, 'l.jsonl') };
  const c = started(spawn(cBin, ['-p', files.c], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const cLines = createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
  if (!/"ready"/.test((await cLines.next()).value ?? '')) throw new Error('exit_listener did not start');
  const mark = async () => {
    c.stdin!.write('\n');
    return JSON.parse((await cLines.next()).value as string) as { cpuMs: number; received: number; lost: number };
  };
  const listener = (file: string, json: boolean) => {
    const out = openSync(file, 'w');
    const err = openSync(`${file}.err`, 'w');
    const p = started(spawn(cli, ['-l', ...(json ? ['--json'] : [])], { stdio: ['ignore', out, err] }));
    closeSync(out);
    closeSync(err);
    return p;
  };
  const text = listener(files.text, false);
  const json = listener(files.json, true);
  // each has said what it listens to (text: on stderr, JSON: a first line) once listening
  for (const f of [`${files.text}.err`, files.json]) {
    const deadline = Date.now() + 15_000;
    while (lineCount(f) === 0) {
      if (Date.now() > deadline) throw new Error(`${f}: delaytop -l wrote nothing in 15 s`);
      await sleep(50);
    }
  }
  await sleep(500);
  const c0 = await mark();
  const t0 = procCpuMs(text.pid!);
  const j0 = procCpuMs(json.pid!);
  const before = [exitLines(files.text, false), exitLines(files.json, true)];
  const storm = spawnSync(forker, ['-n', String(EXITS)], { encoding: 'utf8' });
  if (storm.status !== 0) throw new Error(`forker failed: ${storm.stderr}`);
  // Drained: no listener wrote a line for a second, or, on a machine whose other exits keep
  // the files growing, delaytop's two have written the storm's exits and 10 s have passed.
  const made = (JSON.parse(storm.stdout) as { taskExits: number }).taskExits;
  const doneAt = Date.now() + 10_000;
  let last = '';
  for (;;) {
    await sleep(1000);
    const now = [files.c, files.text, files.json].map(lineCount).join(',');
    if (now === last) break;
    last = now;
    const written = [exitLines(files.text, false), exitLines(files.json, true)];
    if (Date.now() > doneAt && written.every((w, i) => w - before[i]! >= made)) break;
  }
  const c1 = await mark();
  const t1 = procCpuMs(text.pid!);
  const j1 = procCpuMs(json.pid!);
  text.kill('SIGINT');
  json.kill('SIGINT');
  c.stdin!.end();
  await Promise.all([ended(text), ended(json), ended(c)]);
  const r: Round = {
    cMs: c1.cpuMs - c0.cpuMs,
    cLines: c1.received - c0.received,
    textMs: t1 - t0,
    textLines: exitLines(files.text, false),
    jsonMs: j1 - j0,
    jsonLines: exitLines(files.json, true),
    lost: [
      /summary: \d+ exits received, \d+ lost/.exec(
        readFileSync(files.text, 'utf8') + readFileSync(`${files.text}.err`, 'utf8'),
      ),
      /"received":\d+,"lost":\d+/.exec(readFileSync(files.json, 'utf8').split('\n').slice(-3).join('\n')),
    ]
      .map((m) => m?.[0] ?? 'no summary')
      .join('; '),
  };
  const per = (ms: number, lines: number) => ((ms / lines) * 100_000).toFixed(0);
  log(
    `round ${n}: C printer ${per(r.cMs, r.cLines)} ms, -l ${per(r.textMs, r.textLines)} ms, -l --json ${per(r.jsonMs, r.jsonLines)} ms ` +
      `of CPU per 100,000 exits (lines: C ${r.cLines}, text ${r.textLines}, JSON ${r.jsonLines}; C lost ${c1.lost - c0.lost}; delaytop's summaries: ${r.lost})`,
  );
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const built = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const cli = path.join(repoRoot, 'dist/cli.js');
  const cBin = compileC('exit_listener');
  const forker = compileC('forker');
  const rounds: Round[] = [];
  for (let i = 1; i <= ROUNDS; i++) rounds.push(await round(i, cli, cBin, forker));
  const ratio = (pick: (r: Round) => [number, number]) =>
    rounds.map((r) => {
      const [ms, lines] = pick(r);
      return ms / lines / (r.cMs / r.cLines);
    });
  const range = (xs: number[]) => `range ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
  const text = ratio((r) => [r.textMs, r.textLines]);
  const json = ratio((r) => [r.jsonMs, r.jsonLines]);
  report({
    bench: 'listen_text_vs_c_printer',
    value: median(text),
    unit: `x the C printer's CPU a line, -l > file (median of ${ROUNDS}, ${range(text)}; storms of ${EXITS})`,
    target: '<= 1.2',
  });
  report({
    bench: 'listen_json_vs_c_printer',
    value: median(json),
    unit: `x the C printer's CPU a line, -l --json > file (median of ${ROUNDS}, ${range(json)}; storms of ${EXITS})`,
    target: '<= 2',
  });
  report({
    bench: 'listen_lines_missing',
    value: Math.max(...rounds.map((r) => Math.max(0, r.cLines - r.textLines, r.cLines - r.jsonLines))),
    unit: `exits the C printer wrote that -l or -l --json did not (worst of ${ROUNDS})`,
    target: '<= 0',
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
