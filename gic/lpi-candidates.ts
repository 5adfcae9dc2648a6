/**
 * The machinery a redistributor keeps for LPIs, once for its physical LPIs (lpi-tables.ts) and
 * once for the vLPIs of its resident vPE (vlpi-resident.ts): which (v)LPIs are pending, the cache
 * of their configuration bytes, and the priority structure that finds the highest-priority
 * pending enabled one. What differs stays with them: `LpiTables` holds one of these behind its
 * pending-table write-through and its range rules; `ResidentVlpis` is one (a subclass: it changes
 * no operation, its owner writes the VPT) with the VPT parse at schedule-in and the PendingLast
 * scan.
 *
 * How it works
 * - Configuration is cached, as real redistributors cache it (IHI 0069H §5.1 "LPIs": Arm
 *   expects redistributors to cache parts of the tables): a byte is fetched
 *   from the configuration table (GICR_PROPBASER / GICR_VPROPBASER, one byte per INTID from 8192:
 *   priority [7:2], enable [0]) when a (v)LPI becomes pending and its byte is not cached (the
 *   owner delays it by `lpiConfigFetch` and then calls `completeFill`), and a cached byte is used
 *   until an invalidation (GICR_INVLPIR/INVALLR, ITS INV/INVALL, VINVALL) drops it. An
 *   invalidated (v)LPI that is pending is re-read at once, so the change applies to it
 *   immediately.
 * - Per-INTID state is one 32-bit word per INTID seen, in a hash table keyed by INTID
 *   (lpi-state-map.ts) whose size follows the number of INTIDs in use, not the INTID space: no
 *   2^24 array, and the same cost whether they are packed or spread over 24 bits. The word:
 *   [7:0] cached configuration byte, [8] cached, [9] pending, [10] an authoritative heap entry
 *   exists, [11] fetch in flight, [23:16] the priority of that entry.
 * - Candidates (pending, cached, enabled) are in a min-heap of `priority * 2^24 + INTID` with lazy
 *   deletion: acknowledging, clearing or disabling one leaves its entry; `best()` discards
 *   entries at the top that are no longer candidates, or whose priority is not the one recorded
 *   in the word (the INTID was re-prioritised and re-pushed). Every operation is O(log n) in the
 *   number of pending INTIDs and independent of the INTID space (14 to 24 bits cost the same);
 *   nothing is allocated per (v)LPI and nothing is sorted.
 * - With `keepsBest`, `best()`'s answer is kept (`known`) until something can change it: a new
 *   candidate lowers it in place; clearing the best one, an invalidation, a heap rebuild or
 *   `clear` forgets it and the next `best()` recomputes it from the heap. The kept answer is
 *   always the heap's top (see `offer`). Without it `known` stays UNKNOWN and every `best()`
 *   reads the heap.
 */
import type { AccessAttrs, Bus } from '../core/bus.js';
import { field32 } from '../core/bits.js';
import { lowestBit } from './bit-registers.js';
import { KEY_PRIORITY_UNIT, LPI_BASE, LPI_CONFIG } from './gic-registers.js';
import { KeyHeap } from './key-heap.js';
import { LpiStateMap } from './lpi-state-map.js';

// Module-local copies of imported constants used per (v)LPI: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const UNIT = KEY_PRIORITY_UNIT;
const LPI_FIRST = LPI_BASE;
const lsb1 = lowestBit;

/** Keys are `priority * 2^24 + INTID` < 2^32: the bitwise forms split them exactly (no floating-point modulo). */
const ID_MASK = UNIT - 1;
const PRIO_SHIFT = 31 - Math.clz32(UNIT);

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

/** Outcome of `markPending`. */
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

const SET_ALREADY = LpiSet.Already;
const SET_CANDIDATE = LpiSet.Candidate;
const SET_NEEDS_FILL = LpiSet.NeedsFill;
const SET_PENDING = LpiSet.Pending;

export class LpiCandidates {
  /** Address of the configuration table: the byte of INTID n is at `propBase + n - 8192`. */
  propBase = 0;
  private readonly state = new LpiStateMap();
  private readonly heap = new KeyHeap();
  private pendingCount = 0;
  /** The current answer of `best()`, or UNKNOWN when it must be recomputed from the heap (always, without `keepsBest`). */
  private known: number;
  /** Priority of each configuration byte value (unimplemented priority bits read as zero). */
  private readonly priorityOf: Uint8Array;

  constructor(
    protected readonly bus: Bus,
    protected readonly attrs: AccessAttrs,
    /** Implemented priority bits of the GIC, as a mask of the priority byte. */
    priorityMask: number,
    /** Keep `best()`'s answer until something can change it (for owners that ask it after every change). */
    private readonly keepsBest: boolean,
  ) {
    this.priorityOf = new Uint8Array(256);
    for (let b = 0; b < 256; b++) this.priorityOf[b] = (field32(b, CFG_PRIORITY.lsb, CFG_PRIORITY.width) << CFG_PRIORITY.lsb) & priorityMask;
    this.known = keepsBest ? -1 : UNKNOWN;
  }

  /** Number of pending INTIDs. */
  get pending(): number {
    return this.pendingCount;
  }

  isPending(intid: number): boolean {
    const s = this.state.find(intid);
    return s >= 0 && (this.state.vals[s]! & PENDING) !== 0;
  }

  /** The cached configuration byte of `intid`, or -1 when not cached. */
  cachedConfig(intid: number): number {
    const s = this.state.find(intid);
    const w = s < 0 ? 0 : this.state.vals[s]!;
    return (w & CACHED) !== 0 ? w & CFG_MASK : -1;
  }

  /** The Enable bit of `intid`'s configuration byte in memory (not the cache). */
  enabledInMemory(intid: number): boolean {
    return (this.readConfig(intid) & ENABLE_BIT) !== 0;
  }

  /** `intid` becomes pending (the owner keeps its pending table). */
  markPending(intid: number): LpiSet {
    const s = this.state.insert(intid);
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) !== 0) return SET_ALREADY;
    this.pendingCount++;
    if ((w & CACHED) === 0) {
      vals[s] = w | PENDING | FILLING;
      return (w & FILLING) !== 0 ? SET_PENDING : SET_NEEDS_FILL;
    }
    vals[s] = w | PENDING;
    return this.offer(s, intid) ? SET_CANDIDATE : SET_PENDING;
  }

  /** `intid` stops being pending (acknowledge, CLEAR, DISCARD, ...). Returns whether it was pending. */
  markClear(intid: number): boolean {
    const s = this.state.find(intid);
    if (s < 0) return false;
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & PENDING) === 0) return false;
    vals[s] = w & ~PENDING;
    this.pendingCount--;
    // Only clearing the best one changes the answer (the others' entries go stale below it).
    if (this.known >= 0 && (this.known & ID_MASK) === intid) this.known = UNKNOWN;
    return true;
  }

  /** A configuration fetch completed: caches the byte now in memory. True if `intid` is now a candidate. */
  completeFill(intid: number): boolean {
    const s = this.state.find(intid);
    if (s < 0) return false;
    const vals = this.state.vals;
    const w = vals[s]!;
    // No fetch in flight (for vLPIs: one of an earlier residency, the word was cleared since): nothing to complete.
    if ((w & FILLING) === 0) return false;
    vals[s] = (w & ~(FILLING | CFG_MASK)) | CACHED | this.readConfig(intid);
    return (w & PENDING) !== 0 && this.offer(s, intid);
  }

  /** INV: drops the cached byte of `intid`; a pending one is re-read at once. True when a byte was re-read. */
  invalidate(intid: number): boolean {
    const s = this.state.find(intid);
    return s >= 0 && this.invalidateAt(s, intid);
  }

  /** INVALL: drops every cached byte; pending ones are re-read. Returns the number re-read. */
  invalidateAll(): number {
    let n = 0;
    const st = this.state;
    for (let s = 0; s < st.capacity; s++) {
      const intid = st.keyAt(s);
      if (intid !== 0 && this.invalidateAt(s, intid)) n++;
    }
    return n;
  }

  /**
   * The highest-priority pending enabled INTID as `priority * 2^24 + INTID` (lowest INTID on
   * ties), or -1. Discards heap entries that stopped being candidates; idempotent.
   */
  best(): number {
    if (this.known !== UNKNOWN) return this.known;
    const k = this.top();
    if (this.keepsBest) this.known = k;
    return k;
  }

  /**
   * One 32-bit word of a pending table, read at a table scan (EnableLPIs with PTZ = 0, the VPT
   * parse): each set bit, from INTID `firstIntid` up, is a pending INTID whose byte is read and
   * cached; bits at or beyond `limit` are ignored. Returns the number found.
   */
  loadPendingWord(v: number, firstIntid: number, limit: number): number {
    let found = 0;
    while (v !== 0) {
      const b = lsb1(v);
      v = (v & ~(1 << b)) >>> 0;
      const intid = firstIntid + b;
      if (intid >= limit) break;
      const s = this.state.insert(intid);
      const vals = this.state.vals;
      if ((vals[s]! & PENDING) === 0) this.pendingCount++;
      vals[s] = (vals[s]! & ~(FILLING | CFG_MASK)) | PENDING | CACHED | this.readConfig(intid);
      this.offer(s, intid);
      found++;
    }
    return found;
  }

  /** Calls `fn` for every pending INTID (MOVALL), in ascending order. */
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

  /** Forgets every INTID's state (the keys stay, as INTIDs seen). */
  clear(): void {
    this.state.vals.fill(0);
    this.heap.clear();
    this.pendingCount = 0;
    this.known = this.keepsBest ? -1 : UNKNOWN;
  }

  // ---------------------------------------------------------------- internals

  /** `best()` from the heap, discarding entries at the top that stopped being candidates. */
  private top(): number {
    const h = this.heap;
    const st = this.state;
    for (;;) {
      const k = h.top();
      if (k < 0) return -1;
      const intid = k & ID_MASK;
      const prio = k >>> PRIO_SHIFT;
      const s = st.find(intid);
      if (s >= 0) {
        const w = st.vals[s]!;
        if ((w & IN_HEAP) !== 0 && (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT === prio) {
          if ((w & CANDIDATE) === CANDIDATE && this.priorityOf[w & CFG_MASK] === prio) return k;
          // The authoritative entry of an INTID that is no longer a candidate.
          st.vals[s] = w & ~IN_HEAP;
        }
      }
      h.pop();
    }
  }

  private invalidateAt(s: number, intid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & CACHED) === 0) return false;
    // A re-read byte can disable or re-prioritise any INTID, the best one included.
    this.known = UNKNOWN;
    if ((w & PENDING) !== 0 && (w & FILLING) === 0) {
      vals[s] = (w & ~CFG_MASK) | this.readConfig(intid);
      this.offer(s, intid);
      return true;
    }
    vals[s] = w & ~(CACHED | CFG_MASK);
    return false;
  }

  /**
   * Puts a pending, cached INTID in the heap if it is enabled. Returns whether it is a candidate.
   * A kept `best()` answer can only go down here: every entry below it was discarded when it was
   * computed, and entries that go stale afterwards (a cleared or re-read INTID) either lie above
   * it or forget it (`markClear`, `invalidateAt`), so it stays the heap's top.
   */
  private offer(s: number, intid: number): boolean {
    const vals = this.state.vals;
    const w = vals[s]!;
    if ((w & ENABLE_BIT) === 0) return false;
    const prio = this.priorityOf[w & CFG_MASK]!;
    const key = prio * UNIT + intid;
    if ((w & IN_HEAP) === 0 || (w & HEAP_PRIO_MASK) >>> HEAP_PRIO_SHIFT !== prio) {
      vals[s] = (w & ~HEAP_PRIO_MASK) | IN_HEAP | (prio << HEAP_PRIO_SHIFT);
      this.heap.push(key);
      if (this.heap.size > 2 * this.pendingCount + 4096) this.rebuildHeap();
    }
    const known = this.known;
    if (known !== UNKNOWN && (known < 0 || key < known)) this.known = key;
    return true;
  }

  /** Drops stale heap entries (re-prioritised INTIDs that never reached the top). Rare. */
  private rebuildHeap(): void {
    this.heap.clear();
    this.known = UNKNOWN;
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
}
