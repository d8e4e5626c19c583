// The dashboard settings kept between sessions: one table (SETTINGS) names every field and
// the check a value read from the file must pass. A field that fails is left out alone (a
// bad sort column does not drop a good interval); keys this version does not know are
// ignored on reading and kept on writing (a newer delaytop's). Pure: the file is file.ts.
import { COLUMN_IDS } from '../model/table-view.js';
import { DELAY_MAX_SEC, DELAY_MIN_SEC } from '../args.js';
import { SORT_COLUMNS } from '../model/scan.js';

export interface Field<T> {
  /** the value if it passes, else undefined */
  check(value: unknown): T | undefined;
  /** what a value must be, for the warning */
  expected: string;
}

export const flag: Field<boolean> = {
  check: (v) => (typeof v === 'boolean' ? v : undefined),
  expected: 'true or false',
};

export function oneOf<T extends string>(values: readonly T[]): Field<T> {
  return {
    check: (v) => ((values as readonly unknown[]).includes(v) ? (v as T) : undefined),
    expected: `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  };
}

/** A list of distinct names, each one of `values` (e.g. the visible columns). */
export function someOf<T extends string>(values: readonly T[]): Field<T[]> {
  const one = oneOf(values);
  return {
    check: (v) =>
      Array.isArray(v) && v.every((x) => one.check(x) !== undefined) && new Set(v).size === v.length
        ? (v as T[])
        : undefined,
    expected: `a list of distinct names from ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  };
}

export function seconds(min: number, max: number): Field<number> {
  return {
    check: (v) => (typeof v === 'number' && v >= min && v <= max ? v : undefined),
    expected: `seconds from ${min} to ${max}`,
  };
}

/** Every setting, by its name in the file. A new one is one line here (and its place in ui/settings-state.ts). */
export const SETTINGS = {
  sortColumn: oneOf(SORT_COLUMNS),
  sortDescending: flag,
  /** every thread (t) rather than every process */
  threads: flag,
  intervalSec: seconds(DELAY_MIN_SEC, DELAY_MAX_SEC),
  /** the columns chosen (C); [] as many as fit */
  columns: someOf(COLUMN_IDS),
  hideKernelThreads: flag,
  hideIdle: flag,
  tree: flag,
} satisfies Record<string, Field<unknown>>;

export type SettingName = keyof typeof SETTINGS;
type ValueOf<F> = F extends Field<infer T> ? T : never;
/** Settings as read (a field is there only if it passed) or as changed in a session. */
export type Settings = { [K in SettingName]?: ValueOf<(typeof SETTINGS)[K]> };

const NAMES = Object.keys(SETTINGS) as SettingName[];

export type ParsedSettings =
  | {
      ok: true;
      settings: Settings;
      /** the file's object as it was, unknown keys included */
      raw: Record<string, unknown>;
      /** one phrase per field left out, e.g. `sortColumn "FOO" (expected one of ...)` */
      ignored: string[];
    }
  | { ok: false; problem: string };

/** A value as a warning quotes it: JSON, cut short (the line passes through printable() too). */
function shown(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 24 ? `${s.slice(0, 21)}...` : s;
}

/**
 * Where JSON.parse stopped, as "line L, column C", when its message says (only the offset:
 * V8 quotes the text itself, and a file must not get its content onto the screen that way).
 */
function whereParseFailed(text: string, e: unknown): string {
  if (/end of JSON input/.test(String((e as Error)?.message))) return ' (it ends early)';
  const m = /at position (\d+)/.exec(String((e as Error)?.message));
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** The file's text as settings. A file that is only whitespace holds none (and no problem). */
export function parseSettings(text: string): ParsedSettings {
  if (text.trim() === '') return { ok: true, settings: {}, raw: {}, ignored: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `not valid JSON${whereParseFailed(text, e)}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, problem: `not a JSON object ({...}) but ${Array.isArray(raw) ? 'a list' : shown(raw)}` };
  const obj = raw as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const name of NAMES) {
    if (!Object.hasOwn(obj, name)) continue;
    const field: Field<unknown> = SETTINGS[name];
    const value = field.check(obj[name]);
    if (value === undefined) ignored.push(`${name} ${shown(obj[name])} (expected ${field.expected})`);
    else settings[name] = value;
  }
  return { ok: true, settings: settings as Settings, raw: obj, ignored };
}

/** The file's text: `changed` over what the file held, known fields first, unknown keys kept. */
export function formatSettings(raw: Record<string, unknown>, changed: Settings): string {
  const known: [string, unknown][] = [];
  for (const name of NAMES) {
    const v = Object.hasOwn(changed, name) ? changed[name] : raw[name];
    if (v !== undefined) known.push([name, v]);
  }
  const rest = Object.entries(raw).filter(([k]) => !(NAMES as string[]).includes(k));
  // (fromEntries defines keys: a "__proto__" key in the file stays a key)
  return JSON.stringify(Object.fromEntries([...known, ...rest]), null, 2) + '\n';
}

/** The fields whose value at the end differs from the start (only they are written). */
export function changedSettings(start: Settings, end: Settings): Settings {
  const out: Record<string, unknown> = {};
  for (const name of NAMES) {
    if (end[name] !== undefined && JSON.stringify(end[name]) !== JSON.stringify(start[name])) out[name] = end[name];
  }
  return out as Settings;
}
