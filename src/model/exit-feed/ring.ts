// The exit feed's memory: the newest `capacity` exits, kept in fixed-size chunks so that a
// view of them (what a snapshot carries, what a paused pane keeps) is taken without a copy
// and never changes. Pure apart from appends to the ring's own newest chunk, which no view
// reads past.

/** The newest entries of a ring as of one moment, newest first. Immutable. */
export class RingView<T> {
  constructor(
    /** oldest chunk first, each `chunkSize` long but the newest; `first` is the push index of chunks[0][0] */
    private readonly chunks: readonly (readonly T[])[],
    private readonly chunkSize: number,
    private readonly first: number,
    /** entries pushed when the view was taken */
    private readonly pushed: number,
    readonly size: number,
  ) {}

  /** i = 0 is the newest */
  at(i: number): T | undefined {
    if (!(i >= 0 && i < this.size)) return undefined;
    const k = this.pushed - 1 - i - this.first;
    return this.chunks[Math.floor(k / this.chunkSize)]![k % this.chunkSize];
  }

  /** Entries [begin, end) counted from the newest, as Array.prototype.slice takes them (no negatives). */
  slice(begin: number, end: number): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, begin); i < Math.min(this.size, end); i++) out.push(this.at(i)!);
    return out;
  }
}

/** Fixed-capacity ring, newest first on read. */
export class Ring<T> {
  /**
   * Oldest first; every chunk but the last is full and never written again. The array is
   * replaced, not changed, when a chunk comes or goes, so a view keeps the one it took.
   */
  private chunks: T[][] = [];
  private first = 0;
  private pushed = 0;
  private readonly chunkSize: number;
  private cached: RingView<T> | null = null;

  /**
   * A view pins the chunks it covers: at most capacity + chunkSize - 1 entries, and the
   * ring itself keeps no more than that either.
   */
  constructor(readonly capacity: number) {
    this.chunkSize = Math.max(1, Math.ceil(capacity / 16));
  }

  push(item: T): void {
    let last = this.chunks[this.chunks.length - 1];
    if (!last || last.length === this.chunkSize) {
      last = [];
      this.chunks = [...this.chunks, last];
    }
    last.push(item);
    this.pushed++;
    // drop the oldest chunk once all of it is older than the newest `capacity`
    if (this.pushed - this.first - this.chunkSize >= this.capacity) {
      this.chunks = this.chunks.slice(1);
      this.first += this.chunkSize;
    }
    this.cached = null;
  }

  get size(): number {
    return Math.min(this.pushed, this.capacity);
  }

  /** The entries as of now; the same object until the next push. */
  view(): RingView<T> {
    return (this.cached ??= new RingView(this.chunks, this.chunkSize, this.first, this.pushed, this.size));
  }
}
