// Long work in slices: a listing or scan of tens of thousands of threads, done in one
// piece, would hold every key pressed meanwhile (docs/performance.md, "At scale"). Such
// loops let the event loop run (keys, exit batches) whenever a slice has lasted SLICE_MS.

/** How long a slice holds the event loop, ms. */
const SLICE_MS = 15;

/** The event loop's next turn: I/O that arrived meanwhile is handled first (setImmediate). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * each(0) ... each(count - 1), with a turn of the event loop whenever a slice has lasted
 * SLICE_MS; the clock is read every `checkEvery` items.
 */
export async function inSlices(count: number, each: (i: number) => void, checkEvery: number): Promise<void> {
  let sliceFrom = performance.now();
  for (let i = 0; i < count; i++) {
    each(i);
    if (i % checkEvery === checkEvery - 1 && performance.now() - sliceFrom > SLICE_MS) {
      await nextTurn();
      sliceFrom = performance.now();
    }
  }
}
