// The terminal around the dashboard: the alternate screen, restoring it on every path,
// clean repaints after a resize (Ink 6.8 has neither built in), the cursor, NO_COLOR.
import { EventEmitter } from 'node:events';

/** alternate screen, cursor hidden, cleared */
export const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
/** attributes off, cursor shown, main screen back (with what the shell had on it) */
export const LEAVE_ALT_SCREEN = '\x1b[0m\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_HOME = '\x1b[2J' + HOME;
/** synchronized update (mode 2026): the terminal shows a frame whole; others ignore it */
const BEGIN_FRAME = '\x1b[?2026h';
const END_FRAME = '\x1b[?2026l';

/**
 * Colour wanted in the dashboard? FORCE_COLOR, when set and non-empty, wins (chalk reads
 * it: 0 turns every style off, 1-3 choose the palette); otherwise a non-empty NO_COLOR
 * turns colour off (no-color.org).
 */
export function colourWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.FORCE_COLOR || !env.NO_COLOR;
}

const SGR = /\x1b\[([0-9;:]*)m/g;

function isColourParam(n: number): boolean {
  return (n >= 30 && n <= 39) || (n >= 40 && n <= 49) || n === 59 || (n >= 90 && n <= 97) || (n >= 100 && n <= 107);
}

/**
 * The SGR sequences of `s` without their colour parameters (foreground, background,
 * underline colour; 16, 256 and RGB forms). Bold, dim, inverse and the rest stay:
 * NO_COLOR is about colour, and the highlight is inverse video.
 */
export function stripColour(s: string): string {
  if (!s.includes('\x1b[')) return s;
  return s.replace(SGR, (seq, params: string) => {
    if (params === '') return seq; // a bare reset
    const p = params.split(';');
    const kept: string[] = [];
    for (let i = 0; i < p.length; i++) {
      const v = p[i]!;
      if (v.includes(':')) {
        if (!/^[345]8:/.test(v)) kept.push(v);
        continue;
      }
      const n = Number(v);
      if (n === 38 || n === 48 || n === 58) {
        i += p[i + 1] === '5' ? 2 : p[i + 1] === '2' ? 4 : 0;
        continue;
      }
      if (!isColourParam(n)) kept.push(v);
    }
    return kept.length ? `\x1b[${kept.join(';')}m` : '';
  });
}

/**
 * The stdout Ink writes to. The dashboard owns the whole alternate screen, so every
 * frame is anchored at the top-left corner: Ink 6.8's incremental renderer moves up one
 * line too few after a frame that ends in a newline (any frame shorter than the
 * terminal), and the picture would creep down a line per render. Writing "home" first
 * makes its relative moves start from the right place.
 *
 * After a resize the terminal may have shifted or cut what is on screen (tmux drops
 * lines from the top when it shrinks), while Ink still believes its last frame is there
 * and rewrites only the lines that changed. So after each resize this clears the screen
 * and makes Ink forget its last frame: Ink does that itself when the width shrinks, so
 * it is shown a width of 1 for one 'resize' event, then the real one.
 */
export class FullScreenStdout extends EventEmitter {
  private narrow = false;
  private detached = false;
  private pending: NodeJS.Immediate | undefined;

  constructor(
    readonly real: NodeJS.WriteStream,
    private readonly colour = true,
  ) {
    super();
    real.on('resize', this.onResize);
  }

  get columns(): number {
    return this.narrow ? 1 : this.real.columns;
  }

  get rows(): number {
    return this.real.rows;
  }

  /**
   * Ink is told it writes to no terminal. On one it hides the cursor through cli-cursor,
   * whose exit hook (restore-cursor) then writes ESC[?25h to process.stderr: stray bytes
   * in a redirected stderr. The alternate screen hides and shows the cursor itself, and
   * write() below brackets frames for synchronized output as Ink would have.
   */
  get isTTY(): boolean {
    return false;
  }

  get writableLength(): number {
    return this.real.writableLength;
  }

  write(data: string | Uint8Array, ...rest: unknown[]): boolean {
    if (this.detached) {
      // the screen is restored: a late frame would land on the shell's screen
      const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
      if (cb) process.nextTick(cb);
      return true;
    }
    const frame =
      typeof data === 'string' && data.length > 0
        ? BEGIN_FRAME + HOME + (this.colour ? data : stripColour(data)) + END_FRAME
        : data;
    const ok = (this.real.write as (...a: unknown[]) => boolean)(frame, ...rest);
    if (frame !== data) this.emit('frame');
    return ok;
  }

  private onResize = (): void => {
    // Ink hears of it only in repaint(), once the dashboard has re-rendered for the new
    // size (it follows the real stdout); a burst of resizes repaints once.
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.repaint();
    });
  };

  /** Clear the screen and have Ink draw its whole frame again from the top-left corner. */
  repaint(): void {
    this.real.write(CLEAR_HOME);
    this.narrow = true;
    try {
      this.emit('resize');
    } finally {
      this.narrow = false;
    }
    this.emit('resize');
  }

  /** Stop following resizes and drop every later write. */
  detach(): void {
    this.detached = true;
    this.real.off('resize', this.onResize);
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }
}

export interface Screen {
  /** leave the alternate screen, show the cursor, raw mode off; safe to call twice */
  restore(): void;
}

/**
 * Enter the alternate screen. restore() is idempotent and never throws: it runs from
 * signal and crash handlers, possibly after the terminal has hung up.
 */
export function enterAltScreen(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): Screen {
  let restored = false;
  // after a hangup writes fail with EIO; that must not become a crash of its own
  const ignore = () => {};
  stdout.on('error', ignore);
  stdout.write(ENTER_ALT_SCREEN);
  return {
    restore() {
      if (restored) return;
      restored = true;
      try {
        if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
      } catch {
        // the terminal is gone
      }
      try {
        stdout.write(LEAVE_ALT_SCREEN);
      } catch {
        // the terminal is gone
      }
    },
  };
}
