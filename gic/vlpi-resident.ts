/**
 * The vLPIs of the vPE resident on one redistributor (gic-facts §3 "Virtual tables", §5.1,
 * §5.2): the redistributor's cache of their configuration bytes (GICR_VPROPBASER table), which
 * of them are pending, and the priority structure that finds the highest-priority pending
 * enabled one (HPPVLPI).
 *
 * How it works
 * - The virtual pending table (VPT) in memory is the architectural state; the owner
 *   (vlpi-frame.ts) writes every change of a pending bit through to it. This class mirrors the
 *   bits of the resident vPE so that finding the best vLPI costs no memory read, and it is
 *   emptied whenever residency changes (`reset` at Valid 0 -> 1, `clear` at Valid 1 -> 0).
 * - `parse` reads the VPT once when the vPE becomes resident (the redistributor's "parse" while
 *   GICR_VPENDBASER.Dirty = 1): only the 32-bit words of pages that exist in the sparse memory
 *   are read, from vINTID 8192 up to the configuration table's size; the first 1 KB of the VPT
 *   (IMPLEMENTATION DEFINED, gic-facts §3) is never read. Each pending vLPI found has its
 *   configuration byte read and cached.
 * - Configuration is cached as for physical LPIs (lpi-tables.ts): a vLPI that becomes pending
 *   while its byte is not cached is fetched (the owner delays it by `lpiConfigFetch`); a cached
 *   byte is used until an invalidation (INV on a virtual ITE, VINVALL) drops it, and a pending
 *   vLPI is re-read at once when invalidated. The cache holds the resident vPE's bytes only.
 * - Per-vINTID state is one 32-bit word in a hash table keyed by vINTID (lpi-state-map.ts), so
 *   the cost per vLPI is independent of the vINTID space: [7:0] configuration byte, [8] cached,
 *   [9] pending, [10] an authoritative heap entry exists, [11] fetch in flight, [23:16] the
 *   priority of that entry. `reset`/`clear` zero the words (the keys stay, as vINTIDs seen).
 * - Candidates (pending, cached, enabled) sit in a min-heap of `priority * 2^24 + vINTID` with
 *   lazy deletion, exactly like the physical LPIs: acknowledge, CLEAR and disable leave the entry
 *   and `best()` discards entries at the top that stopped being candidates. No allocation per
 *   vLPI, no sort, no scan of the vINTID space.
 * - `best()` is asked after every change the virtual CPU interface sees, so its answer is kept
 *   (`known`) until something can change it: a new candidate lowers it in place; clearing the
 *   best vLPI, an invalidation or a residency change forgets it and the next `best()` recomputes
 *   it from the heap. The kept answer is always the heap's top (see `offer`).
 */
import type { AccessAttrs, Bus } from '../core/bus.js';
import { field32 } from '../core/bits.js';
import { KEY_PRIORITY_UNIT, LPI_BASE, LPI_CONFIG } from './gic-registers.js';
import { KeyHeap } from './key-heap.js';
import { LpiSet } from './lpi-tables.js';
import { LpiStateMap } from './lpi-state-map.js';

// Module-local copies of imported constants used per vLPI (imported bindings are getter calls
// under the project's TypeScript loader).
const UNIT = KEY_PRIORITY_UNIT;
const LPI_FIRST = LPI_BASE;
const SET_ALREADY = LpiSet.Already;
const SET_CANDIDATE = LpiSet.Candidate;
const SET_NEEDS_FILL = LpiSet.NeedsFill;
const SET_PENDING = LpiSet.Pending;

/** Keys are `priority * 2^24 + vINTID`. */
const VINTID_MASK = 0xffffff;
const PRIO_SHIFT = 24;

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
const CANDIDATE = PENDING | CACHED | ENABLE_BIT;

/** `known` holds no answer. */
const UNKNOWN = -2;

/** Bytes of the VPT's IMPLEMENTATION DEFINED area (the bits of INTIDs 0-8191). */
const VPT_IMPDEF_BYTES = LPI_FIRST / 8;

export class ResidentVlpis {
  /** First vINTID beyond the vLPI configuration table: 2^bits, or 8192 when no vLPI is usable. */
  limit = LPI_FIRST;
  private propBase = 0;
  private readonly state = new LpiStateMap();
  private readonly heap = new KeyHeap();
  private pendingCount = 0;
  /** The current answer of `best()`, or UNKNOWN when it must be recomputed from the heap. */
  private known = -1;
  /** The walk of a VPT in progress (see `firstWord`). */
  private inRam = false;
  private end = 0;
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

  /** Valid 0 -> 1: a new vPE, whose configuration table is at `propBase` with vINTIDs below `limit`. Nothing is known yet. */
  reset(propBase: number, limit: number): void {
    this.propBase = propBase;
    this.limit = limit;
    this.clear();
  }

  /** Valid 1 -> 0: forgets every vLPI (the table address and limit stay, for PendingLast). */
  clear(): void {
    this.state.vals.fill(0);
    this.heap.clear();
    this.pendingCount = 0;
    this.known = -1;
  }

  /** Number of pending vLPIs known. */
  get pending(): number {
    return this.pendingCount;
  }

  /** The cached configuration byte of `vintid`, or -1. */
  cachedConfig(vintid: number): number {
    const s = this.state.find(vintid);
    const w = s < 0 ? 0 : this.state.vals[s]!;
    return (w & CACHED) !== 0 ? w & CFG_MASK : -1;
  }

  /** `vintid` (below `limit`) became pending; its VPT bit is already set. */
  markPending(vintid: number): LpiSet {
    const s = this.state.insert(vintid);
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) !== 0) return SET_ALREADY;
    this.pendingCount++;
    if ((w & CACHED) === 0) {
      vals[s] = w | PENDING | FILLING;
      return (w & FILLING) !== 0 ? SET_PENDING : SET_NEEDS_FILL;
    }
    vals[s] = w | PENDING;
    return this.offer(s, vintid) ? SET_CANDIDATE : SET_PENDING;
  }

  /** `vintid`'s VPT bit was cleared (acknowledge, CLEAR, DISCARD, VMOVI). Returns whether it was pending. */
  markClear(vintid: number): boolean {
    const s = this.state.find(vintid);
    if (s < 0) return false;
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) === 0) return false;
    vals[s] = w & ~PENDING;
    this.pendingCount--;
    // Only clearing the best one changes the answer (the others' entries go stale below it).
    if (this.known >= 0 && (this.known & VINTID_MASK) === vintid) this.known = UNKNOWN;
    return true;
  }

  /** A configuration fetch completed: caches the byte now in memory. True if `vintid` is now a candidate. */
  completeFill(vintid: number): boolean {
    const s = this.state.find(vintid);
    if (s < 0) return false;
    const vals = this.state.vals;
    const w = vals[s]!;
    // A fetch of an earlier residency (the word was cleared since): nothing to complete.
    if ((w & FILLING) === 0) return false;
    vals[s] = (w & ~(FILLING | CFG_MASK)) | CACHED | this.readConfig(vintid);
    return (w & PENDING) !== 0 && this.offer(s, vintid);
  }

  /** INV: drops the cached byte; a pending vLPI is re-read at once. True when a byte was re-read. */
  invalidate(vintid: number): boolean {
    const s = this.state.find(vintid);
    return s >= 0 && this.invalidateAt(s, vintid);
  }

  /** VINVALL: drops every cached byte; pending vLPIs are re-read. Returns the number re-read. */
  invalidateAll(): number {
    let n = 0;
    const st = this.state;
    for (let s = 0; s < st.capacity; s++) {
      const vintid = st.keyAt(s);
      if (vintid !== 0 && this.invalidateAt(s, vintid)) n++;
    }
    return n;
  }

  /**
   * The highest-priority pending enabled vLPI as `priority * 2^24 + vINTID` (lowest vINTID on
   * ties), or -1. Discards heap entries that stopped being candidates; idempotent.
   */
  best(): number {
    if (this.known !== UNKNOWN) return this.known;
    const h = this.heap;
    const st = this.state;
    for (;;) {
      const k = h.top();
      if (k < 0) return (this.known = -1);
      // k < 2^32: the bitwise forms are exact (and avoid a floating-point modulo).
      const vintid = k & VINTID_MASK;
      const prio = k >>> PRIO_SHIFT;
      const s = st.find(vintid);
      if (s >= 0) {
        const w = st.vals[s]!;
        if ((w & IN_HEAP) !== 0 && (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT === prio) {
          if ((w & CANDIDATE) === CANDIDATE && this.priorityOf[w & CFG_MASK] === prio) return (this.known = k);
          st.vals[s] = w & ~IN_HEAP;
        }
      }
      h.pop();
    }
  }

  /**
   * The VPT parse at Valid 0 -> 1: every pending bit of the VPT at `vpt` below `limit` becomes a
   * known pending vLPI with its configuration byte read and cached. Returns the number found.
   */
  parse(vpt: number): number {
    let found = 0;
    for (let a = this.firstWord(vpt); a >= 0; a = this.nextWord(a)) {
      let v = this.readWord(a);
      while (v !== 0) {
        const b = 31 - Math.clz32(v & -v);
        v = (v & ~(1 << b)) >>> 0;
        const vintid = (a - vpt) * 8 + b;
        if (vintid >= this.limit) break;
        const s = this.state.insert(vintid);
        const vals = this.state.vals;
        if ((vals[s]! & PENDING) === 0) this.pendingCount++;
        vals[s] = (vals[s]! & ~(FILLING | CFG_MASK)) | PENDING | CACHED | this.readConfig(vintid);
        this.offer(s, vintid);
        found++;
      }
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
        const b = 31 - Math.clz32(v & -v);
        v = (v & ~(1 << b)) >>> 0;
        const vintid = (a - vpt) * 8 + b;
        if (vintid >= this.limit) return false;
        if ((this.readConfig(vintid) & ENABLE_BIT) !== 0) return true;
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

  private invalidateAt(s: number, vintid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & CACHED) === 0) return false;
    // A re-read byte can disable or re-prioritise any vLPI, the best one included.
    this.known = UNKNOWN;
    if ((w & PENDING) !== 0 && (w & FILLING) === 0) {
      vals[s] = (w & ~CFG_MASK) | this.readConfig(vintid);
      this.offer(s, vintid);
      return true;
    }
    vals[s] = w & ~(CACHED | CFG_MASK);
    return false;
  }

  /**
   * Puts a pending, cached vLPI in the heap if it is enabled. Returns whether it is a candidate.
   * A kept `best()` answer can only go down here: every entry below it was discarded when it was
   * computed, and entries that go stale afterwards (a cleared or re-read vLPI) either lie above
   * it or forget it (`markClear`, `invalidateAt`), so it stays the heap's top.
   */
  private offer(s: number, vintid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & ENABLE_BIT) === 0) return false;
    const prio = this.priorityOf[w & CFG_MASK]!;
    const key = prio * UNIT + vintid;
    if ((w & IN_HEAP) === 0 || (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT !== prio) {
      vals[s] = (w & ~HEAP_PRIO_MASK) | IN_HEAP | (prio << HEAP_PRIO_SHIFT);
      this.heap.push(key);
      if (this.heap.size > 2 * this.pendingCount + 4096) this.rebuildHeap();
    }
    const known = this.known;
    if (known !== UNKNOWN && (known < 0 || key < known)) this.known = key;
    return true;
  }

  /** Drops stale heap entries (re-prioritised vLPIs that never reached the top). Rare. */
  private rebuildHeap(): void {
    this.heap.clear();
    this.known = UNKNOWN;
    const st = this.state;
    for (let s = 0; s < st.capacity; s++) {
      const vintid = st.keyAt(s);
      if (vintid === 0) continue;
      const w = st.vals[s]! & ~IN_HEAP;
      st.vals[s] = w;
      if ((w & (PENDING | CACHED)) === (PENDING | CACHED)) this.offer(s, vintid);
    }
  }

  private readConfig(vintid: number): number {
    return this.bus.read8(this.propBase + (vintid - LPI_FIRST), this.attrs);
  }
}
