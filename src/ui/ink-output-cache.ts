// Ink 6.8 rebuilds every frame from nothing: each line is tokenised into one object per
// cell (its Output caches that for one frame only), the 120x40 grid is filled with fresh
// blank cells, and every row is turned back into a string. At one frame a second that
// was the dashboard's largest single cost, while most lines and rows are the same as one
// frame before (idle rows, borders, the feed). So here a frame starts from the previous
// frame's cells for the lines it had, and reuses a row's string where the row holds the
// very same cells as before. The picture is the one Ink would draw: a test compares the
// two on random frames. Frames with clipping (an overflow: hidden box) are left to Ink.
// Ink does not export Output; it is reached by its file, the module Ink itself loads.
import { styledCharsToString, type StyledChar } from '@alcalzone/ansi-tokenize';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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

const BLANK: StyledChar = Object.freeze({ type: 'char', value: ' ', fullWidth: false, styles: Object.freeze([]) as unknown as StyledChar['styles'] }) as StyledChar;

// Plain loops here and in draw, not callbacks made per frame: see comparatorFor in model/dashboard.ts.
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
      const cells = o.caches.getStyledChars(line);
      if (isNarrow(cells, o)) {
        for (let i = 0; i < cells.length; i++) row[x + i] = cells[i]!;
      } else {
        for (const cell of cells) {
          row[x] = cell;
          const width = Math.max(1, o.caches.getStringWidth(cell.value));
          // a wide character covers the cells after it
          for (let i = 1; i < width; i++) row[x + i] = { type: 'char', value: '', fullWidth: false, styles: cell.styles };
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

let installed: Promise<boolean> | null = null;

/**
 * Make Ink's Output reuse the previous frame's cells and rows. Resolves false, changing
 * nothing, where this Ink's Output is not shaped as 6.8's (frames are then built as Ink
 * builds them; a test pins the expectation).
 */
export function carryFramesOver(): Promise<boolean> {
  installed ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('ink');
    const mod = (await import(pathToFileURL(path.join(path.dirname(entry), 'output.js')).href)) as { default?: { prototype?: { get?: unknown } } };
    const proto = mod.default?.prototype;
    if (!proto || typeof proto.get !== 'function') return false;
    const inkGet = proto.get as (this: InkOutput) => Frame;
    let previous = new Map<string, StyledChar[]>();
    proto.get = function (this: InkOutput): Frame {
      const caches = this.caches as Partial<InkOutput['caches']> | undefined;
      const shaped = caches?.styledChars instanceof Map && caches.styledChars.size === 0 && typeof caches.getStyledChars === 'function' &&
        typeof caches.getStringWidth === 'function' && Array.isArray(this.operations);
      if (!shaped) return inkGet.call(this);
      const frame = new CarryOver(previous);
      this.caches.styledChars = frame;
      try {
        return this.operations.some(clips) ? inkGet.call(this) : draw(this);
      } finally {
        frame.seal();
        previous = frame;
      }
    };
    return true;
  })();
  return installed;
}
