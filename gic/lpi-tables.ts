/**
 * The LPIs of one redistributor (IHI 0069H §5.1 "LPIs"; GICR_PROPBASER, GICR_PENDBASER): the
 * configuration table and the pending table in memory, the redistributor's cache of
 * configuration bytes, and the priority structure that finds the highest-priority pending
 * enabled LPI.
 *
 * How it works
 * - Memory is the architectural state. The configuration table (GICR_PROPBASER, one byte per
 *   LPI: priority [7:2], enable [0]) is only read; the pending table (GICR_PENDBASER, one bit per
 *   INTID) is written through on every change, so software and tests see pending state in RAM.
 *   The model also keeps each LPI's pending bit in its own state so that a lookup costs no
 *   memory read. CHOICE: software writing the pending table while EnableLPIs = 1 (UNPREDICTABLE)
 *   is not noticed; the table is read once, at EnableLPIs 0 -> 1 when PTZ = 0. The first 1 KB of
 *   the pending table (IMPLEMENTATION DEFINED) is never read or written.
 * - The configuration cache, the per-LPI state words and the candidate heap with lazy deletion
 *   are the machinery the resident vLPIs share (lpi-candidates.ts): a byte is fetched when an LPI
 *   becomes pending and its byte is not cached (the owner delays the LPI by `lpiConfigFetch`, see
 *   redistributor.ts) and used until an invalidation (GICR_INVLPIR/INVALLR, ITS INV/INVALL) drops
 *   it; a pending LPI is re-fetched at once when invalidated. Every operation is O(log n) in the
 *   number of pending LPIs and independent of the INTID space (14 to 24 bits cost the same).
 * - `best()` is asked once per CPU interface recompute, right after the change that prompted it,
 *   so the table does not keep its answer between calls (`keepsBest` = false).
 * - `completeFill` completes only a fetch in flight (the shared rule, which vLPIs need when
 *   residency ends before a fetch completes). Every physical fill has one: fetches start only at
 *   `LpiSet.NeedsFill`, after EnableLPIs (which cannot be cleared), so the pending-table scan,
 *   the only other thing that caches a byte of a fetching LPI, precedes them all.
 */
import type { AccessAttrs, Bus } from '../core/bus.js';
import { LPI_BASE } from './gic-registers.js';
import { LpiCandidates, LpiSet } from './lpi-candidates.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const LPI_FIRST = LPI_BASE;
const SET_ALREADY = LpiSet.Already;

export class LpiTables {
  /** GICR_CTLR.EnableLPIs has been set (the tables below are latched). */
  enabled = false;
  /** Effective INTID bits: min(PROPBASER.IDbits + 1, GICD_TYPER.IDbits + 1). */
  idBits = 0;
  private limit = 0;
  private pendBase = 0;
  private readonly lpis: LpiCandidates;

  constructor(
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
    /** Implemented priority bits of the GIC, as a mask of the priority byte. */
    priorityMask: number,
  ) {
    this.lpis = new LpiCandidates(bus, attrs, priorityMask, false);
  }

  /** EnableLPIs 0 -> 1: latches the tables (PROPBASER/PENDBASER may not change afterwards). */
  enable(propBase: number, pendBase: number, idBits: number): void {
    this.enabled = true;
    this.lpis.propBase = propBase;
    this.pendBase = pendBase;
    this.idBits = idBits;
    // Fewer than 14 INTID bits: no LPI is usable (IHI 0069, GICR_PROPBASER.IDbits).
    this.limit = idBits >= 14 ? 2 ** idBits : LPI_FIRST;
  }

  /** True when `intid` is an LPI this redistributor accepts. */
  inRange(intid: number): boolean {
    return this.enabled && intid >= LPI_FIRST && intid < this.limit;
  }

  /** Number of LPIs pending here. */
  get pending(): number {
    return this.lpis.pending;
  }

  isPending(intid: number): boolean {
    return this.inRange(intid) && this.lpis.isPending(intid);
  }

  /** The cached configuration byte of `intid`, or -1 when not cached. */
  cachedConfig(intid: number): number {
    return this.inRange(intid) ? this.lpis.cachedConfig(intid) : -1;
  }

  /** Makes `intid` pending (state and pending table). The caller checked `inRange`. */
  setPending(intid: number): LpiSet {
    const r = this.lpis.markPending(intid);
    if (r !== SET_ALREADY) this.writePendingBit(intid, true);
    return r;
  }

  /** Clears the pending state (acknowledge, CLEAR, DISCARD, GICR_CLRLPIR). Returns whether it was pending. */
  clearPending(intid: number): boolean {
    if (!this.inRange(intid) || !this.lpis.markClear(intid)) return false;
    this.writePendingBit(intid, false);
    return true;
  }

  /** A configuration fetch completes: caches the byte now in memory. Returns true if the LPI is now a candidate. */
  completeFill(intid: number): boolean {
    return this.inRange(intid) && this.lpis.completeFill(intid);
  }

  /**
   * Drops the cached byte of `intid` (INV). If it is pending its byte is fetched again at once.
   * Returns true when a fetch happened (the caller accounts for its time).
   */
  invalidate(intid: number): boolean {
    return this.inRange(intid) && this.lpis.invalidate(intid);
  }

  /** Drops every cached byte (INVALL); pending LPIs are fetched again. Returns the number of fetches. */
  invalidateAll(): number {
    return this.lpis.invalidateAll();
  }

  /**
   * The highest-priority pending enabled LPI as `priority * 2^24 + INTID`, or -1. Discards heap
   * entries that stopped being candidates (idempotent: calling it twice gives the same answer).
   */
  best(): number {
    return this.lpis.best();
  }

  /** Reads the pending table once (EnableLPIs with PTZ = 0): every pending bit found is fetched and offered. Returns the count. */
  scanPendingTable(): number {
    let found = 0;
    const end = this.limit >>> 3;
    for (let byte = LPI_FIRST >>> 3; byte < end; byte += 4) {
      found += this.lpis.loadPendingWord(this.bus.read32(this.pendBase + byte, this.attrs), byte * 8, this.limit);
    }
    return found;
  }

  /** Calls `fn` for every pending LPI (MOVALL), in ascending INTID order. */
  forEachPending(fn: (intid: number) => void): void {
    this.lpis.forEachPending(fn);
  }

  // ---------------------------------------------------------------- internals

  /** Sets or clears `intid`'s bit in the pending table (read-modify-write of its byte). */
  private writePendingBit(intid: number, set: boolean): void {
    this.bus.modify8(this.pendBase + (intid >>> 3), 1 << (intid & 7), set, true, this.attrs);
  }
}
