// Ink 6.8 rebuilds every frame from nothing: each line is tokenised into one object per
// cell (its Output caches that for one frame only), the grid is filled with fresh blank
// cells, and every row is turned back into a string, while most lines and rows are the
// same as one frame before (idle rows, borders, the feed). So here a frame starts from the
// previous frame's cells for the lines it had, and reuses a row's string where the row
// holds the very same cells as before (the cost it saves: docs/performance.md).
// The picture is the one Ink would draw: at start-up a probe frame is drawn both ways and
// compared, and an Output of another shape or a different picture leaves Ink's own
// drawing in place; a test compares the two on random frames. Frames with clipping (an
// overflow: hidden box) are left to Ink.
import {
  reduceAnsiCodesIncremental,
  styledCharsToString,
  tokenize,
  type AnsiCode,
  type StyledChar,
} from '@alcalzone/ansi-tokenize';
import { loadInkOutput } from './ink-output.js';
import { isNarrowChar, sgrEnd } from './narrow-text.js';

/** One frame's line -> cells cache that answers from the frame before it for lines it lacks. */
class CarryOver extends Map<string, StyledChar[]> {
  constructor(private previous: ReadonlyMap<string, StyledChar[]>) {
    super();
  }

  override get(line: string): StyledChar[] | undefined {
    let cells = super.get(line);
    if (cells === undefined && (cells = this.previous.get(line)) !== undefined) super.set(line, cells);
    return cells;
  }

  /** the frame is done: keep only its own lines (no chain of older frames) */
  seal(): void {
    this.previous = new Map();
  }
}

type Op =
  | { type: 'write'; x: number; y: number; text: string; transformers: ((line: string, index: number) => string)[] }
  | { type: 'clip' }
  | { type: 'unclip' };

/** What Ink 6.8's Output holds (build/output.js). */
interface InkOutput {
  width: number;
  height: number;
  operations: Op[];
  caches: {
    styledChars: Map<string, StyledChar[]>;
    getStyledChars(line: string): StyledChar[];
    getStringWidth(text: string): number;
  };
}
type Frame = { output: string; height: number };

const BLANK: StyledChar = Object.freeze({
  type: 'char',
  value: ' ',
  fullWidth: false,
  styles: Object.freeze([]) as unknown as StyledChar['styles'],
}) as StyledChar;

// Plain loops here and in draw, not callbacks made per frame: see comparatorFor in model/scan.ts.
function sameCells(a: readonly StyledChar[], b: readonly StyledChar[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const isCell = (c: StyledChar | undefined): c is StyledChar => c !== undefined;
const clips = (op: Op): boolean => op.type !== 'write';

// Lines whose every cell is one column wide (most of them), by their cells (which live
// as long as the line is on screen): those are copied without a width lookup per cell.
const narrowCells = new WeakMap<readonly StyledChar[], boolean>();

function isNarrow(cells: readonly StyledChar[], o: InkOutput): boolean {
  let narrow = narrowCells.get(cells);
  if (narrow === undefined) {
    narrow = true;
    for (const c of cells) {
      if (o.caches.getStringWidth(c.value) > 1) {
        narrow = false;
        break;
      }
    }
    narrowCells.set(cells, narrow);
  }
  return narrow;
}

const NO_STYLES: AnsiCode[] = [];
/** each SGR sequence's codes, as Ink's tokenizer splits them (a frame uses a handful) */
const sgrCodes = new Map<string, AnsiCode[] | null>();

function codesOf(seq: string): AnsiCode[] | null {
  let codes = sgrCodes.get(seq);
  if (codes === undefined) {
    const tokens = tokenize(seq);
    codes = tokens.every((t) => t.type === 'ansi') ? (tokens as AnsiCode[]) : null;
    if (sgrCodes.size < 1024) sgrCodes.set(seq, codes);
  }
  return codes;
}

/**
 * A line's cells as Ink's tokenizer makes them, where the line is narrow text and SGR
 * sequences only (ui/narrow-text.ts; most lines, every table row and border among them):
 * each such character is a grapheme of one column, so Ink's grapheme segmenter, most of a
 * changed line's cost, is not needed.
 * Cells with the same styles share one styles array (Ink copies it per cell; nothing
 * writes to it). Null for any other line: Ink's own tokenizer then.
 */
export function narrowTextCells(line: string): StyledChar[] | null {
  const out: StyledChar[] = [];
  let styles = NO_STYLES;
  for (let i = 0; i < line.length;) {
    if (isNarrowChar(line.charCodeAt(i))) {
      out.push({ type: 'char', value: line[i]!, fullWidth: false, styles });
      i++;
      continue;
    }
    const end = sgrEnd(line, i);
    if (end < 0) return null;
    const codes = codesOf(line.slice(i, end));
    if (codes === null) return null;
    styles = reduceAnsiCodesIncremental(styles, codes);
    i = end;
  }
  return out;
}

/** A line's cells: the frame's cache, the narrow-text path, or Ink's own. */
function cellsOf(o: InkOutput, line: string): StyledChar[] {
  let cells = o.caches.styledChars.get(line);
  if (cells === undefined) {
    const fast = narrowTextCells(line);
    if (fast === null) return o.caches.getStyledChars(line);
    o.caches.styledChars.set(line, (cells = fast));
  }
  return cells;
}

/** The last frame's rows and their strings (a string is a function of its cells alone). */
let lastRows: StyledChar[][] = [];
let lastLines: string[] = [];

/** Ink's Output.get for a frame without clipping, cell for cell. */
function draw(o: InkOutput): Frame {
  const grid: StyledChar[][] = [];
  for (let y = 0; y < o.height; y++) grid.push(new Array<StyledChar>(o.width).fill(BLANK));
  for (const op of o.operations) {
    if (op.type !== 'write') continue;
    const lines = op.text.split('\n');
    let offsetY = 0;
    for (let index = 0; index < lines.length; index++) {
      const row = grid[op.y + offsetY];
      if (!row) continue;
      let line = lines[index]!;
      for (const transform of op.transformers) line = transform(line, index);
      let x = op.x;
      const cells = cellsOf(o, line);
      if (isNarrow(cells, o)) {
        for (let i = 0; i < cells.length; i++) row[x + i] = cells[i]!;
      } else {
        for (const cell of cells) {
          row[x] = cell;
          const width = Math.max(1, o.caches.getStringWidth(cell.value));
          // a wide character covers the cells after it
          for (let i = 1; i < width; i++)
            row[x + i] = { type: 'char', value: '', fullWidth: false, styles: cell.styles };
          x += width;
        }
      }
      offsetY++;
    }
  }
  const lines: string[] = new Array(grid.length);
  for (let y = 0; y < grid.length; y++) {
    const row = grid[y]!;
    const before = lastRows[y];
    lines[y] = before && sameCells(before, row) ? lastLines[y]! : styledCharsToString(row.filter(isCell)).trimEnd();
  }
  lastRows = grid;
  lastLines = lines;
  return { output: lines.join('\n'), height: grid.length };
}

/** Whether frames are drawn here or by Ink itself, and why not here. */
export type FrameCache = { carried: true } | { carried: false; reason: string };

type OutputClass = new (o: { width: number; height: number }) => InkOutput & {
  write(
    x: number,
    y: number,
    text: string,
    options: { transformers: ((line: string, index: number) => string)[] },
  ): void;
  get(): Frame;
};

const hasMethod = (o: object, name: string, arity: number): boolean =>
  typeof (o as Record<string, unknown>)[name] === 'function' &&
  ((o as Record<string, unknown>)[name] as () => void).length === arity;

/** Why an Output instance is not shaped as the carry-over reads it, or null. */
function misshapen(o: InkOutput): string | null {
  const caches = o.caches as Partial<InkOutput['caches']> | undefined;
  if (!Array.isArray(o.operations)) return 'Output has no operations array';
  if (!caches || !(caches.styledChars instanceof Map)) return 'Output.caches.styledChars is not a Map';
  if (caches.styledChars.size !== 0) return "a new Output's styledChars cache is not empty";
  if (!hasMethod(caches, 'getStyledChars', 1) || !hasMethod(caches, 'getStringWidth', 1))
    return 'Output.caches lacks getStyledChars(line) or getStringWidth(text)';
  return null;
}

// A frame that takes the paths of draw: styles, narrow text beyond ASCII, a write of two
// lines, a transformer, overlapping writes, a row off the bottom; drawn twice with one
// change, so that the second frame reuses cells and rows from the first. Wide characters
// are left to test/ui/ink-output-cache.test.ts: measuring one here would compile
// string-width's emoji regex and Intl.Segmenter at every start-up (docs/performance.md).
const PROBE_WIDTH = 24;
const PROBE_HEIGHT = 4;
function probe(Output: OutputClass, second: boolean): InkOutput & { get(): Frame } {
  const o = new Output({ width: PROBE_WIDTH, height: PROBE_HEIGHT });
  const upper = [(line: string) => line.toUpperCase()];
  o.write(0, 0, '\x1b[1mPID\x1b[22m \x1b[31mcomm\x1b[39m │▼ ✓', { transformers: [] });
  o.write(2, 1, second ? 'row two\n\x1b[7mthree\x1b[27m' : 'row 2\n\x1b[7mthree\x1b[27m', { transformers: [] });
  o.write(10, 1, 'over', { transformers: upper });
  o.write(0, 3, 'last\noff the grid', { transformers: [] });
  return o;
}

/**
 * Patch the Output class of `mod` (Ink's output.js), after checking that it has the
 * shape this file reads and that a probe frame comes out as Ink draws it; anything else
 * leaves the class as it was.
 */
function patchOutput(mod: unknown): FrameCache {
  const Output = (mod as { default?: unknown } | null)?.default;
  if (typeof Output !== 'function' || typeof Output.prototype !== 'object')
    return { carried: false, reason: 'output.js has no default Output class' };
  const proto = Output.prototype as Record<string, unknown>;
  for (const [name, arity] of [
    ['get', 0],
    ['write', 4],
    ['clip', 1],
    ['unclip', 0],
  ] as const) {
    if (!hasMethod(proto, name, arity))
      return { carried: false, reason: `Output.prototype.${name} is not a method of ${arity} argument(s)` };
  }
  const inkGet = proto.get as (this: InkOutput) => Frame;
  const Class = Output as OutputClass;
  let previous = new Map<string, StyledChar[]>();
  const carriedGet = function (this: InkOutput): Frame {
    if (misshapen(this) !== null) return inkGet.call(this);
    const frame = new CarryOver(previous);
    this.caches.styledChars = frame;
    try {
      return this.operations.some(clips) ? inkGet.call(this) : draw(this);
    } finally {
      frame.seal();
      previous = frame;
    }
  };
  try {
    const shape = misshapen(new Class({ width: PROBE_WIDTH, height: PROBE_HEIGHT }));
    if (shape !== null) return { carried: false, reason: shape };
    for (const second of [false, true]) {
      const ink = inkGet.call(probe(Class, second));
      const ours = carriedGet.call(probe(Class, second));
      if (ours.output !== ink.output || ours.height !== ink.height) {
        return {
          carried: false,
          reason: `a probe frame differs from Ink's: ${JSON.stringify(ours.output)} instead of ${JSON.stringify(ink.output)}`,
        };
      }
    }
  } catch (e) {
    return { carried: false, reason: `the probe frame failed: ${(e as Error)?.message ?? e}` };
  } finally {
    lastRows = [];
    lastLines = [];
  }
  proto.get = carriedGet;
  return { carried: true };
}

const installs = new Map<string, Promise<FrameCache>>();

/**
 * Make Ink's Output reuse the previous frame's cells and rows, once per module. Where
 * that Output is missing or not shaped as Ink 6.8's (an upgrade), nothing changes:
 * frames are then built as Ink builds them, and the result says why.
 * `outputModule`: a URL; tests point it at a stand-in.
 */
export function carryFramesOver(outputModule?: string): Promise<FrameCache> {
  const key = outputModule ?? '';
  let installed = installs.get(key);
  if (!installed) {
    installed = Promise.resolve()
      .then(() => loadInkOutput(outputModule))
      .then(patchOutput, (e: unknown) => ({
        carried: false as const,
        reason: `Ink's output.js did not load: ${(e as Error)?.message ?? e}`,
      }));
    installs.set(key, installed);
  }
  return installed;
}
