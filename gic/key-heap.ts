/**
 * A binary min-heap of unsigned 32-bit keys in a typed array: the priority structure of the
 * pending LPIs (or resident vLPIs) of one redistributor. A key is `priority * 2^24 + INTID`, so
 * the top is the highest-priority pending LPI with the lowest INTID breaking ties.
 *
 * Deletion is lazy: the owner leaves entries of LPIs that stopped being candidates (acknowledged,
 * cleared, disabled, re-prioritised) in place and discards them when they reach the top (see
 * lpi-candidates.ts). Push and pop are O(log n) and allocate nothing except when the array doubles.
 */
export class KeyHeap {
  private keys: Uint32Array;
  private n = 0;

  constructor(capacity = 64) {
    this.keys = new Uint32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** The smallest key, or -1 when empty. */
  top(): number {
    return this.n === 0 ? -1 : this.keys[0]!;
  }

  push(key: number): void {
    if (this.n === this.keys.length) {
      const bigger = new Uint32Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    const k = this.keys;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = k[p]!;
      if (pk <= key) break;
      k[i] = pk;
      i = p;
    }
    k[i] = key;
  }

  /** Removes the smallest key. */
  pop(): void {
    if (this.n === 0) return;
    const k = this.keys;
    const last = k[--this.n]!;
    const n = this.n;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && k[r]! < k[l]!) c = r;
      if (k[c]! >= last) break;
      k[i] = k[c]!;
      i = c;
    }
    k[i] = last;
  }

  clear(): void {
    this.n = 0;
  }
}
