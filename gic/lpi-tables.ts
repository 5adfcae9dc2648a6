/**
 * The LPIs of one redistributor (gic-facts §3): the configuration table and the pending table
 * in memory, the redistributor's cache of configuration bytes, and the priority structure that
 * finds the highest-priority pending enabled LPI.
 *
 * How it works
 * - Memory is the architectural state. The configuration table (GICR_PROPBASER, one byte per
 *   LPI: priority [7:2], enable [0]) is only read; the pending table (GICR_PENDBASER, one bit per
 *   INTID) is written through on every change, so software and tests see pending state in RAM.
 *   The model also keeps each LPI's pending bit in its own state so that a lookup costs no
 *   memory read. CHOICE: software writing the pending table while EnableLPIs = 1 (UNPREDICTABLE)
 *   is not noticed; the table is read once, at EnableLPIs 0 -> 1 when PTZ = 0. The first 1 KB of
 *   the pending table (IMPLEMENTATION DEFINED) is never read or written.
 * - Configuration is cached, as real redistributors cache it: a byte is fetched from memory when
 *   an LPI becomes pending and its byte is not cached (the owner delays the LPI by
 *   `lpiConfigFetch`, see redistributor.ts), and a cached byte is used until an invalidation
 *   (GICR_INVLPIR/INVALLR, ITS INV/INVALL) drops it. An invalidated LPI that is pending is
 *   re-fetched at once, so the change applies to it immediately.
 * - Per-LPI state is one 32-bit word per LPI seen, in a hash table keyed by INTID
 *   (lpi-state-map.ts) whose size follows the number of LPIs in use, not the INTID space: no
 *   2^24 array, and the same cost whether LPIs are packed or spread over 24 bits. The word:
 *   [7:0] cached configuration byte, [8] cached, [9] pending, [10] an authoritative heap entry
 *   exists, [11] fetch in flight, [23:16] the priority of that entry.
 * - Candidates (pending, cached, enabled) are in a min-heap of `priority * 2^24 + INTID` with lazy
 *   deletion: acknowledging, clearing or disabling an LPI leaves its entry; `best()` discards
 *   entries at the top that are no longer candidates, or whose priority is not the one recorded
 *   in the LPI's word (the LPI was re-prioritised and re-pushed). Every operation is O(log n) in
 *   the number of pending LPIs and independent of the INTID space (14 to 24 bits cost the same).
 */
import { field32 } from '../core/bits.js';
import type { AccessAttrs, Bus } from '../core/bus.js';
import { KEY_PRIORITY_UNIT, LPI_BASE, LPI_CONFIG } from './gic-registers.js';
import { KeyHeap } from './key-heap.js';
import { LpiStateMap } from './lpi-state-map.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const UNIT = KEY_PRIORITY_UNIT;
const LPI_FIRST = LPI_BASE;

const CFG_MASK = 0xff;
const CACHED = 1 << 8;
const PENDING = 1 << 9;
const IN_HEAP = 1 << 10;
const FILLING = 1 << 11;
const HEAP_PRIO_SHIFT = 16;
const HEAP_PRIO_MASK = 0xff << HEAP_PRIO_SHIFT;

const CFG_ENABLE = LPI_CONFIG.field('Enable');
const CFG_PRIORITY = LPI_CONFIG.field('Priority');
const ENABLE_BIT = 1 << CFG_ENABLE.lsb;

/** Outcome of `setPending`. */
export const LpiSet = {
  /** It was already pending: nothing changed. */
  Already: 0,
  /** Now pending and a candidate: the CPU interface must re-evaluate. */
  Candidate: 1,
  /** Now pending; its configuration is not cached: the owner must fetch it (`completeFill`). */
  NeedsFill: 2,
  /** Now pending but not a candidate (disabled, or a fetch is already in flight). */
  Pending: 3,
} as const;
export type LpiSet = (typeof LpiSet)[keyof typeof LpiSet];

export class LpiTables {
  /** GICR_CTLR.EnableLPIs has been set (the tables below are latched). */
  enabled = false;
  /** Effective INTID bits: min(PROPBASER.IDbits + 1, GICD_TYPER.IDbits + 1). */
  idBits = 0;
  private limit = 0;
  private propBase = 0;
  private pendBase = 0;
  private readonly state = new LpiStateMap();
  private readonly heap = new KeyHeap();
  private pendingCount = 0;
  /** Priority of each configuration byte value (unimplemented priority bits read as zero). */
  private readonly priorityOf: Uint8Array;

  constructor(
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
    /** Implemented priority bits of the GIC, as a mask of the priority byte. */
    priorityMask: number,
  ) {
    this.priorityOf = new Uint8Array(256);
    for (let b = 0; b < 256; b++) this.priorityOf[b] = (field32(b, CFG_PRIORITY.lsb, CFG_PRIORITY.width) << CFG_PRIORITY.lsb) & priorityMask;
  }

  /** EnableLPIs 0 -> 1: latches the tables (PROPBASER/PENDBASER may not change afterwards). */
  enable(propBase: number, pendBase: number, idBits: number): void {
    this.enabled = true;
    this.propBase = propBase;
    this.pendBase = pendBase;
    this.idBits = idBits;
    // Fewer than 14 INTID bits: no LPI is usable (gic-facts §3).
    this.limit = idBits >= 14 ? 2 ** idBits : LPI_FIRST;
  }

  /** True when `intid` is an LPI this redistributor accepts. */
  inRange(intid: number): boolean {
    return this.enabled && intid >= LPI_FIRST && intid < this.limit;
  }

  /** Number of LPIs pending here. */
  get pending(): number {
    return this.pendingCount;
  }

  isPending(intid: number): boolean {
    if (!this.inRange(intid)) return false;
    const s = this.state.find(intid);
    return s >= 0 && (this.state.vals[s]! & PENDING) !== 0;
  }

  /** The cached configuration byte of `intid`, or -1 when not cached. */
  cachedConfig(intid: number): number {
    const s = this.inRange(intid) ? this.state.find(intid) : -1;
    const w = s < 0 ? 0 : this.state.vals[s]!;
    return (w & CACHED) !== 0 ? w & CFG_MASK : -1;
  }

  /** Priority of a configuration byte, with unimplemented priority bits read as zero. */
  priorityOfConfig(cfg: number): number {
    return this.priorityOf[cfg & CFG_MASK]!;
  }

  /** Makes `intid` pending (state and pending table). The caller checked `inRange`. */
  setPending(intid: number): LpiSet {
    const s = this.state.insert(intid);
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) !== 0) return LpiSet.Already;
    this.pendingCount++;
    this.writePendingBit(intid, true);
    if ((w & CACHED) === 0) {
      vals[s] = w | PENDING | FILLING;
      return (w & FILLING) !== 0 ? LpiSet.Pending : LpiSet.NeedsFill;
    }
    vals[s] = w | PENDING;
    return this.offer(s, intid) ? LpiSet.Candidate : LpiSet.Pending;
  }

  /** Clears the pending state (acknowledge, CLEAR, DISCARD, GICR_CLRLPIR). Returns whether it was pending. */
  clearPending(intid: number): boolean {
    if (!this.inRange(intid)) return false;
    const s = this.state.find(intid);
    if (s < 0) return false;
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) === 0) return false;
    vals[s] = w & ~PENDING;
    this.pendingCount--;
    this.writePendingBit(intid, false);
    return true;
  }

  /** A configuration fetch completes: caches the byte now in memory. Returns true if the LPI is now a candidate. */
  completeFill(intid: number): boolean {
    if (!this.inRange(intid)) return false;
    const cfg = this.readConfig(intid);
    const s = this.state.insert(intid);
    const vals = this.state.vals;
    const w = (vals[s]! & ~(FILLING | CFG_MASK)) | CACHED | cfg;
    vals[s] = w;
    return (w & PENDING) !== 0 && this.offer(s, intid);
  }

  /**
   * Drops the cached byte of `intid` (INV). If it is pending its byte is fetched again at once.
   * Returns true when a fetch happened (the caller accounts for its time).
   */
  invalidate(intid: number): boolean {
    if (!this.inRange(intid)) return false;
    const s = this.state.find(intid);
    return s >= 0 && this.invalidateAt(s, intid);
  }

  /** Drops every cached byte (INVALL); pending LPIs are fetched again. Returns the number of fetches. */
  invalidateAll(): number {
    let fetched = 0;
    const st = this.state;
    for (let s = 0; s < st.capacity; s++) {
      const intid = st.keyAt(s);
      if (intid !== 0 && this.invalidateAt(s, intid)) fetched++;
    }
    return fetched;
  }

  /**
   * The highest-priority pending enabled LPI as `priority * 2^24 + INTID`, or -1. Discards heap
   * entries that stopped being candidates (idempotent: calling it twice gives the same answer).
   */
  best(): number {
    const h = this.heap;
    const st = this.state;
    for (;;) {
      const k = h.top();
      if (k < 0) return -1;
      const intid = k % UNIT;
      const prio = (k - intid) / UNIT;
      const s = st.find(intid);
      if (s >= 0) {
        const w = st.vals[s]!;
        if ((w & IN_HEAP) !== 0 && (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT === prio) {
          if ((w & (PENDING | CACHED | ENABLE_BIT)) === (PENDING | CACHED | ENABLE_BIT) && this.priorityOf[w & CFG_MASK] === prio) return k;
          // The authoritative entry of an LPI that is no longer a candidate.
          st.vals[s] = w & ~IN_HEAP;
        }
      }
      h.pop();
    }
  }

  /** Reads the pending table once (EnableLPIs with PTZ = 0): every pending bit found is fetched and offered. Returns the count. */
  scanPendingTable(): number {
    let found = 0;
    const end = this.limit >>> 3;
    for (let byte = LPI_FIRST >>> 3; byte < end; byte += 4) {
      let v = this.bus.read32(this.pendBase + byte, this.attrs);
      while (v !== 0) {
        const b = 31 - Math.clz32(v & -v);
        v = (v & ~(1 << b)) >>> 0;
        const intid = byte * 8 + b;
        if (intid >= this.limit) break;
        const s = this.state.insert(intid);
        const vals = this.state.vals;
        if ((vals[s]! & PENDING) === 0) this.pendingCount++;
        vals[s] = (vals[s]! & ~(FILLING | CFG_MASK)) | PENDING | CACHED | this.readConfig(intid);
        this.offer(s, intid);
        found++;
      }
    }
    return found;
  }

  /** Calls `fn` for every pending LPI (MOVALL), in ascending INTID order. */
  forEachPending(fn: (intid: number) => void): void {
    const st = this.state;
    const ids: number[] = [];
    for (let s = 0; s < st.capacity; s++) {
      const intid = st.keyAt(s);
      if (intid !== 0 && (st.vals[s]! & PENDING) !== 0) ids.push(intid);
    }
    ids.sort((a, b) => a - b);
    for (const intid of ids) fn(intid);
  }

  // ---------------------------------------------------------------- internals

  private invalidateAt(s: number, intid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & CACHED) === 0) return false;
    if ((w & PENDING) !== 0 && (w & FILLING) === 0) {
      vals[s] = (w & ~CFG_MASK) | this.readConfig(intid);
      this.offer(s, intid);
      return true;
    }
    vals[s] = w & ~(CACHED | CFG_MASK);
    return false;
  }

  /** Puts a pending, cached LPI in the heap if it is enabled. Returns whether it is a candidate. */
  private offer(s: number, intid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & ENABLE_BIT) === 0) return false;
    const prio = this.priorityOf[w & CFG_MASK]!;
    if ((w & IN_HEAP) === 0 || (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT !== prio) {
      vals[s] = (w & ~HEAP_PRIO_MASK) | IN_HEAP | (prio << HEAP_PRIO_SHIFT);
      this.heap.push(prio * UNIT + intid);
      if (this.heap.size > 2 * this.pendingCount + 4096) this.rebuildHeap();
    }
    return true;
  }

  /** Drops stale heap entries (re-prioritised LPIs that never reached the top). Rare. */
  private rebuildHeap(): void {
    this.heap.clear();
    const st = this.state;
    for (let s = 0; s < st.capacity; s++) {
      const intid = st.keyAt(s);
      if (intid === 0) continue;
      const w = st.vals[s]! & ~IN_HEAP;
      st.vals[s] = w;
      if ((w & (PENDING | CACHED)) === (PENDING | CACHED)) this.offer(s, intid);
    }
  }

  private readConfig(intid: number): number {
    return this.bus.read8(this.propBase + (intid - LPI_FIRST), this.attrs);
  }

  /** Sets or clears `intid`'s bit in the pending table (read-modify-write of its byte). */
  private writePendingBit(intid: number, set: boolean): void {
    const addr = this.pendBase + (intid >>> 3);
    const bit = 1 << (intid & 7);
    const b = this.bus.read8(addr, this.attrs);
    this.bus.write8(addr, set ? b | bit : b & ~bit, this.attrs);
  }
}
