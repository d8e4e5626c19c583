// Ink 6.8 turns every line of every frame into styled cells afresh: its Output keeps
// the line -> cells cache for one frame only. At 120x40 with colours that per-character
// pass (ANSI tokenising, one object per cell) is the dashboard's largest single cost,
// while most lines are the same as one frame before (idle rows, borders, the feed). So
// each frame here starts from the previous frame's cells for the lines it had.
// Ink does not export Output; it is reached by its file, the module Ink itself loads.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Cells = unknown[];

/** One frame's line -> cells cache that answers from the frame before it for lines it lacks. */
class CarryOver extends Map<string, Cells> {
  constructor(private previous: ReadonlyMap<string, Cells>) {
    super();
  }

  override get(line: string): Cells | undefined {
    let cells = super.get(line);
    if (cells === undefined && (cells = this.previous.get(line)) !== undefined) super.set(line, cells);
    return cells;
  }

  /** the frame is done: keep only its own lines (no chain of older frames) */
  seal(): void {
    this.previous = new Map();
  }
}

interface OutputLike {
  caches?: { styledChars?: unknown };
}

let installed: Promise<boolean> | null = null;

/**
 * Make Ink's Output reuse the previous frame's styled lines. Resolves false, changing
 * nothing, where this Ink's Output is not shaped as 6.8's (frames are then built as Ink
 * builds them; a test pins the expectation).
 */
export function carryStyledLinesAcrossFrames(): Promise<boolean> {
  installed ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('ink');
    const mod = (await import(pathToFileURL(path.join(path.dirname(entry), 'output.js')).href)) as { default?: { prototype?: { get?: unknown } } };
    const proto = mod.default?.prototype;
    if (!proto || typeof proto.get !== 'function') return false;
    const get = proto.get as (this: OutputLike) => unknown;
    let previous = new Map<string, Cells>();
    proto.get = function (this: OutputLike) {
      const caches = this.caches;
      if (!caches || !(caches.styledChars instanceof Map) || caches.styledChars.size > 0) return get.call(this);
      const frame = new CarryOver(previous);
      caches.styledChars = frame;
      try {
        return get.call(this);
      } finally {
        frame.seal();
        previous = frame;
      }
    };
    return true;
  })();
  return installed;
}
