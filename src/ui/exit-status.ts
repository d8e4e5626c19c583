// How an exit looks in one cell: "exit 0", "SIGKILL", "SIGSEGV core".
import os from 'node:os';

const SIGNAL_NAMES = new Map<number, string>(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));

export function signalName(sig: number): string {
  return SIGNAL_NAMES.get(sig) ?? `signal ${sig}`;
}

export function exitStatusText(s: { exitCode: number | null; signal: number | null; coreDumped: boolean }): string {
  if (s.signal !== null) return `${signalName(s.signal)}${s.coreDumped ? ' core' : ''}`;
  return `exit ${s.exitCode ?? '?'}`;
}
