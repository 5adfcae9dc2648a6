/**
 * The exclusive monitors of Load-Exclusive/Store-Exclusive (Arm ARM DDI 0487, B2.9
 * "Synchronization and semaphores").
 *
 * How it works
 * - Each PE has a **local monitor** (B2.9.1): Open, or Exclusive for one reservation granule.
 *   LDXR/LDAXR make it Exclusive for the granule they load from; STXR/STLXR, CLREX and an
 *   exception return (ERET) make it Open again.
 * - The **global monitor** (B2.9.2) records, per PE, the granule that PE has marked (at most
 *   one: a new LDXR replaces the previous mark). Any write to RAM that covers a marked granule
 *   clears the mark of every PE on it: a plain store of another PE, a store-exclusive, an LSE
 *   atomic that writes, and writes of other bus masters (device DMA, the GIC writing its tables).
 *   The bus (`bus.ts`) reports every RAM write here while at least one mark exists; with no mark
 *   the cost on its write path is one counter compare (`marks !== 0`).
 * - STXR succeeds only when the PE's local monitor is Exclusive for the store's granule and its
 *   global mark is still there; either way both are cleared afterwards (the store itself then
 *   clears the other PEs' marks on that granule through the bus, as any write does).
 * - Clearing a PE's global mark because of someone else's write is a WFE wake-up event for that
 *   PE (D1.6 "Wait for Event": the Event Register is set when the global monitor for the PE is
 *   cleared); the machine sets its event register and wakes it from WFE (wake reason 'monitor').
 *   This is what lets a spinlock wait in WFE after an LDAXR of the lock word (B2.9, "Use of WFE
 *   and SEV instructions by spin-locks").
 *
 * CHOICE: the reservation granule is 64 bytes, one cache line (the architecture makes its size
 *   IMPLEMENTATION DEFINED, 16 to 2048 bytes, reported in CTR_EL0.ERG; B2.9.3 "Marking and the
 *   size of the marked memory block"). A Store-Exclusive anywhere in the marked granule passes
 *   the address check; one to another granule fails.
 * CHOICE: a PE's own plain store (or LSE atomic) to the granule it has marked clears its own
 *   mark too, so a later STXR fails (the architecture makes this IMPLEMENTATION DEFINED). A PE
 *   clearing its own mark generates no event for itself.
 * CHOICE: exception entry leaves the local monitor alone; only the exception return clears it
 *   (every handler that returns goes through ERET, so an interrupted LDXR/STXR pair fails and
 *   retries, which is what the architecture guarantees software: B2.9.4 "Context switch support").
 *
 * Memory here is coherent and sequentially consistent (no caches), so the monitors need no
 * coherence protocol: the global monitor is exact, and an STXR never fails spuriously.
 *
 * State is plain typed arrays indexed by PE, so nothing is allocated per access; the PEs that
 * hold a global mark are kept in a dense list, so a write scans only those.
 */
import type { AccessAttrs } from './bus.js';

/** CHOICE: the Exclusives reservation granule, in bytes (see the module comment). */
export const RESERVATION_GRANULE = 64;

/** Local monitor state value meaning Open Access. */
const OPEN = -1;

export class ExclusiveMonitors {
  /** Number of PEs holding a global mark; the bus reports RAM writes only while it is not 0. */
  marks = 0;
  /** Per PE: the granule (address / 64) its local monitor is Exclusive for, or -1 (Open). */
  private readonly local: Float64Array;
  /** Per PE: the granule it has marked in the global monitor, or -1. */
  private readonly global: Float64Array;
  /** The PEs holding a global mark, densely in [0, marks); `slot` is each PE's index there or -1. */
  private readonly holders: Int32Array;
  private readonly slot: Int32Array;

  /**
   * @param cores number of PEs
   * @param cleared called when a PE's global mark is cleared by a write of another requester
   *   (the machine turns it into a WFE wake-up event for that PE)
   */
  constructor(
    cores: number,
    private readonly cleared: (pe: number) => void,
  ) {
    this.local = new Float64Array(cores).fill(OPEN);
    this.global = new Float64Array(cores).fill(OPEN);
    this.holders = new Int32Array(cores);
    this.slot = new Int32Array(cores).fill(-1);
  }

  /** LDXR/LDAXR of `pa` by `pe`: marks the local monitor and the PE's global-monitor entry. */
  mark(pe: number, pa: number): void {
    const g = Math.floor(pa / RESERVATION_GRANULE);
    this.local[pe] = g;
    this.global[pe] = g;
    if (this.slot[pe]! < 0) {
      this.slot[pe] = this.marks;
      this.holders[this.marks++] = pe;
    }
  }

  /**
   * STXR/STLXR of `pa` by `pe`: true when the store may happen (the local monitor is Exclusive
   * for the granule of `pa` and the PE's global mark on it survives). Either way the local
   * monitor becomes Open and the PE's global mark is removed, before the store is made.
   */
  storeExclusive(pe: number, pa: number): boolean {
    const g = Math.floor(pa / RESERVATION_GRANULE);
    const ok = this.local[pe] === g && this.global[pe] === g;
    this.local[pe] = OPEN;
    this.unmark(pe);
    return ok;
  }

  /** CLREX, exception return: the local monitor of `pe` becomes Open (the global mark stays). */
  clearLocal(pe: number): void {
    this.local[pe] = OPEN;
  }

  /** Reset or power-down of `pe`: both of its monitors Open, silently. */
  reset(pe: number): void {
    this.local[pe] = OPEN;
    this.unmark(pe);
  }

  /** True when the local monitor of `pe` is Exclusive (for diagnostics and tests). */
  localExclusive(pe: number): boolean {
    return this.local[pe] !== OPEN;
  }

  /** The granule address `pe` holds a global mark on, or -1 (for diagnostics and tests). */
  markedGranule(pe: number): number {
    const g = this.global[pe]!;
    return g === OPEN ? -1 : g * RESERVATION_GRANULE;
  }

  /**
   * A write of `size` bytes at `pa` to RAM by `by`: clears every global mark on the granules it
   * covers (an unaligned write may cover two). Marks of other PEs are cleared with an event for
   * them; a PE's own mark silently (CHOICE above). Called by the bus only while `marks !== 0`.
   */
  written(pa: number, size: number, by: AccessAttrs): void {
    const g0 = Math.floor(pa / RESERVATION_GRANULE);
    const g1 = Math.floor((pa + size - 1) / RESERVATION_GRANULE);
    const self = by.requester === 'pe' ? by.id : -1;
    // Backwards: `unmark` moves the last holder into the freed slot.
    for (let i = this.marks - 1; i >= 0; i--) {
      const pe = this.holders[i]!;
      const g = this.global[pe]!;
      if (g < g0 || g > g1) continue;
      this.unmark(pe);
      if (pe !== self) this.cleared(pe);
    }
  }

  private unmark(pe: number): void {
    const s = this.slot[pe]!;
    if (s < 0) return;
    const last = this.holders[--this.marks]!;
    this.holders[s] = last;
    this.slot[last] = s;
    this.slot[pe] = -1;
    this.global[pe] = OPEN;
  }
}

/** The monitors of a bus no machine watches (a bare `Bus`): never any mark. */
export const NO_MONITORS = new ExclusiveMonitors(0, () => {});
