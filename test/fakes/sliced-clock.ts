// For tests of work done in slices (src/slices.ts): a clock that moves 20 ms at every look,
// so that each check finds its slice used up, and a count of the event loop's turns taken
// while the work runs.

/** `work`'s result and how many turns of the event loop ran before it resolved. */
export async function withSlicedClock<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  const realNow = performance.now.bind(performance);
  let clock = realNow();
  performance.now = () => (clock += 20);
  let turns = 0;
  let counting = true;
  const count = () => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  try {
    const result = await work();
    return { result, turns };
  } finally {
    counting = false;
    performance.now = realNow;
  }
}
