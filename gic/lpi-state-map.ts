/**
 * Per-LPI state of one redistributor, keyed by INTID: an open-addressing hash table (linear
 * probing) of 32-bit words in typed arrays. Its size follows the number of LPIs the
 * redistributor has seen, not the INTID space, so a lookup costs the same with 14 or 24 INTID
 * bits and with LPIs packed together or spread over the whole space. Entries are never removed
 * (an LPI seen once keeps its cached configuration until invalidated).
 */
const EMPTY = 0;

export class LpiStateMap {
  private keys: Int32Array;
  /** The state word of each slot; see lpi-candidates.ts for its layout. */
  vals: Uint32Array;
  private shift: number;
  private mask: number;
  private count = 0;

  constructor(capacityLog2 = 6) {
    this.keys = new Int32Array(1 << capacityLog2);
    this.vals = new Uint32Array(1 << capacityLog2);
    this.shift = 32 - capacityLog2;
    this.mask = (1 << capacityLog2) - 1;
  }

  /** Number of LPIs with an entry. */
  get size(): number {
    return this.count;
  }

  /** Slot of `intid` (an LPI, never 0), or -1. */
  find(intid: number): number {
    const keys = this.keys;
    let i = Math.imul(intid, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = keys[i]!;
      if (k === intid) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Slot of `intid`, creating a zero entry if needed. A creation may move every slot. */
  insert(intid: number): number {
    const found = this.find(intid);
    if (found >= 0) return found;
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    let i = Math.imul(intid, 0x9e3779b1) >>> this.shift;
    while (keys[i] !== EMPTY) i = (i + 1) & this.mask;
    keys[i] = intid;
    this.vals[i] = 0;
    this.count++;
    return i;
  }

  /** INTID held in slot `i`, or 0 when the slot is empty. */
  keyAt(i: number): number {
    return this.keys[i]!;
  }

  /** Number of slots (iterate 0 .. capacity - 1 with `keyAt`). */
  get capacity(): number {
    return this.keys.length;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const log2 = 33 - this.shift;
    this.keys = new Int32Array(1 << log2);
    this.vals = new Uint32Array(1 << log2);
    this.shift = 32 - log2;
    this.mask = (1 << log2) - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j]!;
      if (k === EMPTY) continue;
      let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
      while (this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.vals[i] = oldVals[j]!;
    }
  }
}
