// A table from task id to value whose storage can be emptied and filled again: a refresh
// keys several tables by task id (60,000 entries with 50,000 threads listed), and a V8 Map
// cannot be made at a size, so it would grow from empty each time, copying its table at
// every doubling (docs/performance.md, "At scale"). Ids are kernel pids: 0 to 2^22.

/** What reading a table needs (a ReadonlyMap has it too). */
export interface IdLookup<V> {
  get(id: number): V | undefined;
  has(id: number): boolean;
}

const EMPTY = -1;
const MIN_CAPACITY = 16;
/** A golden-ratio multiplier: consecutive ids spread over the whole table. */
const SPREAD = 0x9e3779b1;

const capacityFor = (entries: number): number => {
  let cap = MIN_CAPACITY;
  while (cap < entries * 2) cap *= 2;
  return cap;
};

/** Open addressing, linear probing, at most half full; no delete (a refresh fills a table afresh). */
export class IdTable<V> implements IdLookup<V> {
  private keys: Int32Array;
  private values: (V | undefined)[];
  private mask: number;
  private count = 0;

  constructor(entries = 0) {
    const cap = capacityFor(entries);
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.values = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** slots held (twice the entries at least) */
  get capacity(): number {
    return this.keys.length;
  }

  private slotOf(id: number): number {
    const keys = this.keys;
    let i = Math.imul(id, SPREAD) & this.mask;
    for (;;) {
      const k = keys[i]!;
      if (k === id || k === EMPTY) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(id: number): V | undefined {
    return this.values[this.slotOf(id)];
  }

  has(id: number): boolean {
    return id >= 0 && this.keys[this.slotOf(id)] === id;
  }

  set(id: number, value: V): void {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new RangeError(`IdTable: not a task id: ${id}`);
    const i = this.slotOf(id);
    this.values[i] = value;
    if (this.keys[i] === id) return;
    this.keys[i] = id;
    if (++this.count * 2 > this.keys.length) this.grow();
  }

  /**
   * Empty, keeping the storage for a fill like the last one; storage that fill used less
   * than an eighth of is given back for a table of that fill's size.
   */
  clear(): void {
    if (this.count === 0) return; // (emptied already, or never filled)
    if (this.count * 8 < this.keys.length && this.keys.length > MIN_CAPACITY) {
      const cap = capacityFor(this.count);
      this.keys = new Int32Array(cap);
      this.values = new Array<V | undefined>(cap);
      this.mask = cap - 1;
    }
    this.keys.fill(EMPTY);
    this.values.fill(undefined);
    this.count = 0;
  }

  private grow(): void {
    const { keys, values } = this;
    const cap = keys.length * 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.values = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === EMPTY) continue;
      const j = this.slotOf(k);
      this.keys[j] = k;
      this.values[j] = values[i];
    }
  }
}
