// Ink's throttle, in the bundle (scripts/bundle.mjs). es-toolkit's, which Ink imports, sets a
// timer at every call, even when no second call comes to need it: after each frame, one
// of 1 ms (its write throttle) and one of 100 ms (its render throttle at maxFps 10). A
// dashboard at rest then wakes three times a second for one frame, and a wake-up is not
// free (docs/performance.md, "Wake-ups"). This one invokes at once when the last call is
// `waitMs` or more ago, and sets a timer only for a call that comes sooner: that call runs
// when the wait is over, with the latest arguments.

/** How long after a key frames are drawn at once (the render throttle's wait at maxFps 10). */
const KEY_FRAME_MS = 100;

/** Calls until then (performance.now() ms) run at once, whatever their wait: see keyPressed. */
let keyFramesUntil = -Infinity;

/**
 * A key was pressed: frames for the next KEY_FRAME_MS are drawn at once. A key that lands
 * just after a frame (a refresh's, at scale right after the refresh's long work) would
 * otherwise wait for the rest of the render throttle's wait. (Under tsx, where Ink keeps
 * es-toolkit's throttle, this changes nothing.)
 */
export function keyPressed(): void {
  keyFramesUntil = performance.now() + KEY_FRAME_MS;
}

export interface Throttled<A extends unknown[]> {
  (...args: A): void;
  /** run the call that waits, now (nothing when none waits) */
  flush(): void;
  /** drop the call that waits */
  cancel(): void;
}

/** Ink's `throttle(fn, wait, { leading: true, trailing: true })`: the only form it uses. */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, waitMs = 0): Throttled<A> {
  let lastMs = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let waiting: A | undefined;
  const run = (args: A) => {
    lastMs = performance.now();
    fn(...args);
  };
  const due = () => {
    timer = undefined;
    const args = waiting!;
    waiting = undefined;
    run(args);
  };
  const throttled = (...args: A) => {
    const now = performance.now();
    const left = lastMs + waitMs - now;
    if (now < keyFramesUntil) {
      throttled.cancel();
      return run(args);
    }
    if (left <= 0 && timer === undefined) return run(args);
    waiting = args;
    timer ??= setTimeout(due, left);
  };
  throttled.flush = () => {
    if (timer === undefined) return;
    clearTimeout(timer);
    due();
  };
  throttled.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    waiting = undefined;
  };
  return throttled;
}
