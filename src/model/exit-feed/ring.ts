// The exit feed's memory: a bounded ring of recent exits. Pure apart from its in-place writes.

/** Fixed-capacity ring, newest first on read. */
export class Ring<T> {
  private buf: (T | undefined)[];
  private head = 0; // next write position
  private n = 0;
  constructor(readonly capacity: number) {
    this.buf = new Array(capacity);
  }
  push(item: T): void {
    this.buf[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    if (this.n < this.capacity) this.n++;
  }
  get size(): number {
    return this.n;
  }
  /** i = 0 is the newest */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.n) return undefined;
    return this.buf[(this.head - 1 - i + this.capacity * 2) % this.capacity];
  }
  /** newest-first slice [from, from+count) */
  slice(from: number, count: number): T[] {
    const out: T[] = [];
    for (let i = from; i < Math.min(this.n, from + count); i++) out.push(this.at(i)!);
    return out;
  }
}
