// The action prompt's UI state: which task, which action, what has been chosen so far;
// and the prompt's words. Pure: what the task's values are now comes from the engine,
// which read the task when the prompt opened (the snapshot's `inspected`).
import type { IoClass } from '../kernel/addon.js';
import { signalNumber, SIGNALS, type SignalName } from '../actions/syscalls.js';
import {
  clampNice,
  ioLabel,
  ioniceTo,
  levelByNice,
  NICE_MAX,
  NICE_MIN,
  reniceTo,
  signalLabel,
  taskName,
  type Inspected,
  type Inspection,
  type IoChoice,
} from '../actions/task-actions.js';
import { targetKey, type Target } from '../sources/types.js';
import type { Scope } from './keymap.js';

export interface DialogTask {
  /** the table row it was asked from (its target): if that row goes before y, nothing is done */
  row: Target;
  /** what it acts on: the row's task, or for a signal the row's process */
  target: Target;
  /** the row's comm, until the task has been read */
  comm: string;
}

export type DialogState =
  | { kind: 'renice'; task: DialogTask; delta: number }
  | { kind: 'ionice'; task: DialogTask; choice: IoChoice }
  | { kind: 'signal'; task: DialogTask; signal: SignalName; confirming: boolean };

export type DialogAction =
  | { type: 'nice'; dir: 1 | -1 }
  | { type: 'ioClass'; ioClass: IoClass }
  | { type: 'ioLevel'; level: number }
  | { type: 'signalStep'; dir: 1 | -1 }
  | { type: 'signalPick' };

/** The keymap scope that has the keys while this prompt is up (besides y/n where it asks). */
export function dialogScope(d: DialogState): Scope {
  if (d.kind === 'signal') return d.confirming ? 'confirm' : 'signal';
  return d.kind;
}

/** What was read for this prompt's task, if it has been. */
export function inspectionFor(d: DialogState, inspected: Inspected | null): Inspected | null {
  return inspected && targetKey(inspected.target) === targetKey(d.task.target) ? inspected : null;
}

export function reduceDialog(d: DialogState, a: DialogAction, inspected: Inspected | null): DialogState {
  switch (a.type) {
    case 'nice': {
      if (d.kind !== 'renice') return d;
      const read = inspectionFor(d, inspected);
      // (stop at the ends, so that the other key turns back at once)
      if (read?.ok) return { ...d, delta: clampNice(read.task.nice + d.delta + a.dir) - read.task.nice };
      return { ...d, delta: Math.max(NICE_MIN - NICE_MAX, Math.min(NICE_MAX - NICE_MIN, d.delta + a.dir)) };
    }
    case 'ioClass':
      if (d.kind !== 'ionice') return d;
      // idle has no level; realtime and best-effort keep one picked
      return { ...d, choice: a.ioClass === 'idle' ? { ioClass: 'idle' } : { ...d.choice, ioClass: a.ioClass } };
    case 'ioLevel': {
      if (d.kind !== 'ionice') return d;
      const ioClass = d.choice.ioClass === 'idle' ? 'best-effort' : d.choice.ioClass;
      return { ...d, choice: ioClass ? { ioClass, level: a.level } : { level: a.level } };
    }
    case 'signalStep': {
      if (d.kind !== 'signal' || d.confirming) return d;
      const i = SIGNALS.indexOf(d.signal);
      return { ...d, signal: SIGNALS[(i + a.dir + SIGNALS.length) % SIGNALS.length]! };
    }
    case 'signalPick':
      return d.kind === 'signal' ? { ...d, confirming: true } : d;
  }
}

/** A piece of the prompt; `chosen`: shown highlighted (the signal the chooser is on). */
export interface PromptPart {
  text: string;
  chosen?: boolean;
}

const threadsNote = (task: Inspection): string =>
  task.target.kind === 'tgid' && task.tids.length > 1 ? `, all ${task.tids.length} threads` : '';

/**
 * The prompt's words: what will happen to which task, as far as it is known yet. `width`:
 * the signal chooser drops signals before the chosen one (…) so that the chosen one shows.
 */
export function promptParts(d: DialogState, inspected: Inspected | null, width = Infinity): PromptPart[] {
  const read = inspectionFor(d, inspected);
  const name = taskName(d.task.target, read?.ok ? read.task.comm : d.task.comm);
  if (read && !read.ok) return [{ text: `${d.kind}: ${read.message} · Esc` }];
  const task = read?.ok ? read.task : null;
  switch (d.kind) {
    case 'renice': {
      if (!task) return [{ text: `renice ${name} by ${d.delta > 0 ? '+' : ''}${d.delta}? (reading it…)` }];
      const from =
        task.niceMin === task.niceMax ? `${task.nice}` : `${task.nice} (its threads ${task.niceMin}..${task.niceMax})`;
      return [{ text: `renice ${name} from ${from} to ${reniceTo(task, d.delta)}${threadsNote(task)}? y/n` }];
    }
    case 'ionice': {
      if (!task) return [{ text: `ionice ${name}? (reading it…)` }];
      const byNice = task.io.ioClass === 'none' ? ` (by nice: best-effort ${levelByNice(task.nice)})` : '';
      const from = ioLabel(task.io) + byNice + (task.ioUniform ? '' : ' (its threads differ)');
      return [{ text: `ionice ${name} from ${from} to ${ioLabel(ioniceTo(task, d.choice))}${threadsNote(task)}? y/n` }];
    }
    case 'signal': {
      const { row, target } = d.task;
      const whose = row.kind === 'pid' && row.id !== target.id ? ` (thread ${row.id}'s process)` : '';
      if (d.confirming) return [{ text: `send ${signalLabel(d.signal)} to ${name}${whose}? y/n` }];
      const head = `signal to ${name}:`;
      const items = SIGNALS.map((s) => `${s} ${signalNumber(s)}`);
      const chosen = SIGNALS.indexOf(d.signal);
      const through = (from: number) => items.slice(from, chosen + 1).join(' ').length + (from > 0 ? 2 : 0);
      let first = 0;
      while (first < chosen && head.length + 1 + through(first) > width) first++;
      const parts: PromptPart[] = [{ text: head + (first > 0 ? ' …' : '') }];
      for (let i = first; i < items.length; i++) parts.push({ text: ' ' }, { text: items[i]!, chosen: i === chosen });
      return parts;
    }
  }
}
