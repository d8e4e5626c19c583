// Long work in slices: a listing or scan of 60,000 threads takes ~200 ms each, which a key
// pressed meanwhile would otherwise wait out. Such loops check the clock every so many
// items and, past SLICE_MS, let the event loop run (keys, exit batches) before going on.

/** How long a slice holds the event loop, ms. */
export const SLICE_MS = 15;

/** The event loop's next turn: I/O that arrived meanwhile is handled first (setImmediate). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
