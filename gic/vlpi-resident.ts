/**
 * The vLPIs of the vPE resident on one redistributor (IHI 0069H §7.2 "Direct injection of
 * virtual interrupts"; GICR_VPROPBASER, GICR_VPENDBASER): the redistributor's cache of their
 * configuration bytes (GICR_VPROPBASER table), which of them are pending, and the priority
 * structure that finds the highest-priority pending enabled one (HPPVLPI).
 *
 * How it works
 * - The virtual pending table (VPT) in memory is the architectural state; the owner
 *   (vlpi-frame.ts) writes every change of a pending bit through to it. This class mirrors the
 *   bits of the resident vPE so that finding the best vLPI costs no memory read, and it is
 *   emptied whenever residency changes (`reset` at Valid 0 -> 1, `clear` at Valid 1 -> 0; `clear`
 *   keeps the table address and `limit`, which the PendingLast scan after it needs).
 * - `parse` reads the VPT once when the vPE becomes resident (the redistributor's "parse" while
 *   GICR_VPENDBASER.Dirty = 1): only the 32-bit words of pages that exist in the sparse memory
 *   are read, from vINTID 8192 up to the configuration table's size; the first 1 KB of the VPT
 *   (IMPLEMENTATION DEFINED; IHI 0069, GICR_VPENDBASER.IDAI) is never read. Each pending vLPI
 *   found has its configuration byte read and cached.
 * - The set is an `LpiCandidates` (lpi-candidates.ts), the machinery physical LPIs use too:
 *   configuration cache, per-vINTID state words, candidate heap with lazy deletion. A vLPI that
 *   becomes pending while its byte is not cached is fetched (the owner delays it by
 *   `lpiConfigFetch`); a cached byte is used until an invalidation (INV on a virtual ITE,
 *   VINVALL) drops it, and a pending vLPI is re-read at once when invalidated. The cache holds
 *   the resident vPE's bytes only: `reset`/`clear` zero the state words (the keys stay, as
 *   vINTIDs seen). No allocation per vLPI, no sort, no scan of the vINTID space.
 * - `best()` is asked after every change the virtual CPU interface sees (vlpi-frame.ts asks it
 *   before and after each), so its answer is kept until something can change it (`keepsBest`: a
 *   new candidate lowers it in place; clearing the best vLPI, an invalidation or a residency
 *   change forgets it).
 */
import type { AccessAttrs, Bus } from '../core/bus.js';
import { lowestBit } from './bit-registers.js';
import { LPI_BASE } from './gic-registers.js';
import { LpiCandidates } from './lpi-candidates.js';

// Module-local copies of imported bindings used per vLPI (imported bindings are getter calls
// under the project's TypeScript loader).
const LPI_FIRST = LPI_BASE;
const lsb1 = lowestBit;

/** Bytes of the VPT's IMPLEMENTATION DEFINED area (the bits of INTIDs 0-8191). */
const VPT_IMPDEF_BYTES = LPI_FIRST / 8;

export class ResidentVlpis extends LpiCandidates {
  /** First vINTID beyond the vLPI configuration table: 2^bits, or 8192 when no vLPI is usable. */
  limit = LPI_FIRST;
  /** The walk of a VPT in progress (see `firstWord`). */
  private inRam = false;
  private end = 0;

  constructor(
    bus: Bus,
    attrs: AccessAttrs,
    /** Implemented priority bits of the GIC, as a mask of the priority byte. */
    priorityMask: number,
  ) {
    super(bus, attrs, priorityMask, true);
  }

  /** Valid 0 -> 1: a new vPE, whose configuration table is at `propBase` with vINTIDs below `limit`. Nothing is known yet. */
  reset(propBase: number, limit: number): void {
    this.propBase = propBase;
    this.limit = limit;
    this.clear();
  }

  /**
   * The VPT parse at Valid 0 -> 1: every pending bit of the VPT at `vpt` below `limit` becomes a
   * known pending vLPI with its configuration byte read and cached. Returns the number found.
   */
  parse(vpt: number): number {
    let found = 0;
    for (let a = this.firstWord(vpt); a >= 0; a = this.nextWord(a)) {
      found += this.loadPendingWord(this.readWord(a), (a - vpt) * 8, this.limit);
    }
    return found;
  }

  /**
   * PendingLast at the end of a deschedule: true iff the VPT at `vpt` holds a pending vLPI (below
   * `limit`) whose configuration byte in memory has Enable = 1. Stops at the first one.
   */
  anyPendingEnabled(vpt: number): boolean {
    for (let a = this.firstWord(vpt); a >= 0; a = this.nextWord(a)) {
      let v = this.readWord(a);
      while (v !== 0) {
        const b = lsb1(v);
        v = (v & ~(1 << b)) >>> 0;
        const vintid = (a - vpt) * 8 + b;
        if (vintid >= this.limit) return false;
        if (this.enabledInMemory(vintid)) return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- internals

  /**
   * VPT words are visited in address order. When the table lies in one RAM region only words of
   * pages that exist are read (`nextNonZero32`); otherwise every word is read through the bus
   * (CHOICE: a VPT outside RAM is read as the bus answers, zeros where nothing decodes).
   */
  private firstWord(vpt: number): number {
    if (this.limit <= LPI_FIRST) return -1;
    const start = vpt + VPT_IMPDEF_BYTES;
    this.end = vpt + this.limit / 8;
    this.inRam = this.bus.isRam(start, this.end - start);
    return this.inRam ? this.bus.memory.nextNonZero32(start, this.end) : start;
  }

  private nextWord(a: number): number {
    if (this.inRam) return this.bus.memory.nextNonZero32(a + 4, this.end);
    return a + 4 < this.end ? a + 4 : -1;
  }

  private readWord(a: number): number {
    return this.inRam ? this.bus.memory.read32(a) : this.bus.read32(a, this.attrs);
  }
}
