// Shared benchmark plumbing: C baselines compiled on demand, CPU-time readings, the
// one-JSON-line-per-target report format, and a key's time to a tmux pane's screen.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
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

/**
 * A tmux control-mode client on a pane (its size ignored: the pane keeps its own): keys
 * sent through it, and the pane's output as tmux reads it from the program, with no process
 * started per key or per look. A key's time to the screen is from the key's command to the
 * output that holds the text: the program's part, and tmux's, without the cost of starting
 * a tmux client for each look at the screen (20-40 ms each on a slow host, which every
 * figure would include). Other tmux commands (capture-pane, pipe-pane) run through it too,
 * with their output. `client` is for the caller's clean-up of children.
 */
export function watchPane(socket: string, target: string) {
  const client = spawn('tmux', ['-L', socket, '-f', '/dev/null', '-C', 'attach', '-f', 'ignore-size', '-t', target], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let text = '';
  let wake: (() => void) | null = null;
  // Replies to the commands sent through stdin, in order: the lines between %begin and %end
  // (or %error) with flags 1. (The attach command's own reply comes first, with flags 0.)
  const replies: ((lines: string[] | Error) => void)[] = [];
  let reply: string[] | null = null;
  let ours = false;
  // %output %<pane> <the bytes, each below 32 and each \\ as \\ooo in octal>
  createInterface({ input: client.stdout! }).on('line', (line) => {
    if (reply) {
      const end = /^%(end|error) \d+ \d+ \d+$/.exec(line);
      if (!end) return void reply.push(line);
      const done = reply;
      reply = null;
      if (ours) replies.shift()?.(end[1] === 'end' ? done : new Error(`tmux: ${done.join('\n')}`));
      return;
    }
    const begin = /^%begin \d+ \d+ (\d+)$/.exec(line);
    if (begin) {
      reply = [];
      ours = begin[1] === '1';
      return;
    }
    const m = /^%output %\d+ (.*)$/.exec(line);
    if (!m) return;
    text += m[1]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    wake?.();
  });
  // A client that ends leaves no command waiting for its reply.
  client.on('exit', (code, signal) => {
    for (const r of replies.splice(0)) r(new Error(`the tmux control client ended (${code ?? signal})`));
  });
  /**
   * A tmux command run through the client, and what it printed: no tmux process is
   * started, so a look at the screen makes no exit for the dashboard to see.
   */
  const command = (cmd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      if (client.exitCode !== null || client.signalCode !== null)
        return reject(new Error(`the tmux control client has ended; not run: ${cmd}`));
      replies.push((r) => (r instanceof Error ? reject(r) : resolve(r.join('\n') + '\n')));
      client.stdin!.write(`${cmd}\n`);
    });
  // what is printed, without the escape sequences in between
  const plain = () => text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]/g, '');
  return {
    client,
    /** ms from sending `key` until the pane's output holds `wanted` (throws after `timeoutMs`, with `screen()`) */
    async keyToText(key: string, wanted: string, screen: () => string, timeoutMs = 5000): Promise<number> {
      text = '';
      const at = performance.now();
      command(`send-keys -t ${target} ${key}`).catch(() => {}); // (a key not sent shows as a timeout)
      while (!plain().includes(wanted)) {
        if (performance.now() - at > timeoutMs)
          throw new Error(`no "${wanted}" ${timeoutMs} ms after the key; the pane shows:\n${screen()}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
        wake = null;
      }
      return performance.now() - at;
    },
    command,
    close() {
      client.stdin!.end();
    },
  };
}
