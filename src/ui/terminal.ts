// The terminal around the dashboard: the alternate screen, restoring it on every path,
// and clean repaints after a resize (Ink 6.8 has neither built in).
import { EventEmitter } from 'node:events';

export const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H\x1b[2J';
/** attributes off, cursor shown, main screen back (with what the shell had on it) */
export const LEAVE_ALT_SCREEN = '\x1b[0m\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_HOME = '\x1b[2J' + HOME;

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

  constructor(readonly real: NodeJS.WriteStream) {
    super();
    real.on('resize', this.onResize);
  }

  get columns(): number {
    return this.narrow ? 1 : this.real.columns;
  }

  get rows(): number {
    return this.real.rows;
  }

  get isTTY(): boolean {
    return !!this.real.isTTY;
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
    const anchored = typeof data === 'string' && data.length > 0 ? HOME + data : data;
    return (this.real.write as (...a: unknown[]) => boolean)(anchored, ...rest);
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
