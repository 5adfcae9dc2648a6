/**
 * The ITEs of one VM's emulated ITS (vits.ts), as struct-of-arrays records in one Int32Array
 * indexed by a dense slot number, instead of one object per ITE with Map and Set entries around
 * it: about 48 bytes per mapped event (10 words of record, 2 hash buckets) where the objects took
 * about 220 (bench/RESULTS.md, "memory per mapped event"). Nothing here is simulated state a
 * guest can see; it is the hypervisor's bookkeeping, and every order the object version had is
 * kept, because the order in which the hypervisor walks ITEs is the order of the physical ITS
 * commands it sends (the traces must stay the same bit for bit, bench/fidelity-guard.ts):
 *
 * - each device's ITEs in the order they were mapped (a JS Map's insertion order): a circular
 *   doubly linked list per device (MAPD unmaps them in that order, MAPC walks devices then ITEs);
 * - every forwarded event in the order it was forwarded (a JS Set's insertion order): a circular
 *   list over the store, numbered by `seq` so that an iteration suspended across ops (direct.ts
 *   walks it while it mirrors configuration bytes, without the VM's ITS lock) continues exactly as
 *   a Set iterator does when entries are removed or added meanwhile (`nextForwarded`);
 * - per guest LPI, its forwarded events in that same order (a list per LPI, its head in a Map of
 *   the LPIs in use): `Hypervisor.eventOf` is a lookup, not a scan.
 *
 * (DeviceID, EventID) -> slot is an open-addressing hash table (linear probing, deletion by
 * backward shift) of slot numbers, keyed by the record's own key word, at most half full.
 * Slots are allocated lazily (a VM that maps nothing holds no arrays) and grow by doubling; a
 * freed slot is reused (its seq changes when it is forwarded again, so a suspended iteration
 * never mistakes it for the event it held before).
 */

/** Words per record. */
const STRIDE = 10;
/** guest DeviceID << 16 | EventID (both 16-bit in the emulated ITS: GITS_TYPER.Devbits, ID_bits). */
const W_KEY = 0;
/** LPI (pINTID, 16-bit: GUEST_INTID_BITS) | ICID << 16 (16-bit: GITS_TYPER.CIL = 0). */
const W_LPI = 1;
/** Target: NONE, or vCPU index << 1 | FORWARDED (forwarded to the physical ITS) or | 0 (kept in software). */
const W_TARGET = 2;
/** Device list (circular): next, previous slot. Free slots are chained through W_DNEXT. */
const W_DNEXT = 3;
const W_DPREV = 4;
/** Forwarded list (circular): next, previous slot. */
const W_FNEXT = 5;
const W_FPREV = 6;
/** Per-LPI forwarded list (circular): next, previous slot. */
const W_VNEXT = 7;
const W_VPREV = 8;
/** When the event was forwarded (increasing along the forwarded list). */
const W_SEQ = 9;

/** `W_TARGET` of an ITE that has no target (its collection is unmapped). */
const NONE = -1;
const FORWARDED = 1;
const FIRST_CAPACITY = 64;
/** `seq` stays a small integer (V8 keeps Int32Array reads untagged): renumbered before it reaches 2^31. */
const SEQ_LIMIT = 0x7fff_ffff;

/** The head of an ITE list of a device (its first slot, -1 when empty); owned by the device record. */
export interface IteList {
  head: number;
  /** ITEs in the list. */
  size: number;
}

/** The arrays of a store that holds nothing yet (most VMs map no event: nothing per VM until the first). */
const EMPTY = new Int32Array(0);

export class IteStore {
  private rec = EMPTY;
  /** Open-addressing table of slot numbers (-1 empty), length a power of two >= 2 x capacity. */
  private table = EMPTY;
  private tableBits = 0;
  private freeHead = -1;
  /** Slots ever used (below this, a slot is live or on the free list). */
  private used = 0;
  /** Live ITEs. */
  count = 0;
  /** Head of the forwarded list (-1: none forwarded), and how many. */
  private fwdHead = -1;
  forwardedCount = 0;
  private nextSeq = 0;
  /** Guest LPI -> head of its forwarded list (its insertion order is not relied on); made at the first forwarding. */
  private byLpi: Map<number, number> | null = null;
  /** Per vCPU index: events forwarded to it now; made at the first forwarding. */
  private perVcpu = EMPTY;

  constructor(private readonly vcpus: number) {}

  // ------------------------------------------------------------------ records

  deviceId(s: number): number {
    return this.rec[s * STRIDE + W_KEY]! >>> 16;
  }

  eventId(s: number): number {
    return this.rec[s * STRIDE + W_KEY]! & 0xffff;
  }

  intid(s: number): number {
    return this.rec[s * STRIDE + W_LPI]! & 0xffff;
  }

  icid(s: number): number {
    return this.rec[s * STRIDE + W_LPI]! >>> 16;
  }

  setIcid(s: number, icid: number): void {
    const i = s * STRIDE + W_LPI;
    this.rec[i] = (this.rec[i]! & 0xffff) | (icid << 16);
  }

  /** The vCPU index the ITE's interrupt goes to (forwarded or in software), or -1. */
  target(s: number): number {
    const t = this.rec[s * STRIDE + W_TARGET]!;
    return t === NONE ? -1 : t >> 1;
  }

  isForwarded(s: number): boolean {
    const t = this.rec[s * STRIDE + W_TARGET]!;
    return t !== NONE && (t & FORWARDED) !== 0;
  }

  /** The ITE's forwarding sequence number (meaningful while it is forwarded). */
  seq(s: number): number {
    return this.rec[s * STRIDE + W_SEQ]!;
  }

  /** Whether `v` (a vCPU index) has events forwarded to it now (KVM's its_vpe.vlpi_count != 0). */
  hasForwardedTo(v: number): boolean {
    return this.forwardedCount > 0 && this.perVcpu[v]! > 0;
  }

  // ------------------------------------------------------------------ lookup

  /** The slot of the ITE of (guest DeviceID, EventID), or -1. */
  find(deviceId: number, eventId: number): number {
    if (this.count === 0) return -1;
    const key = (deviceId << 16) | eventId;
    const mask = this.table.length - 1;
    for (let b = this.bucket(key); ; b = (b + 1) & mask) {
      const s = this.table[b]!;
      if (s < 0) return -1;
      if (this.rec[s * STRIDE + W_KEY] === key) return s;
    }
  }

  private bucket(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> (32 - this.tableBits);
  }

  /** A new ITE, appended to `list` (its device's), with no target. The caller checked it is not mapped. */
  add(list: IteList, deviceId: number, eventId: number, intid: number, icid: number): number {
    const s = this.alloc();
    const r = this.rec;
    const o = s * STRIDE;
    r[o + W_KEY] = (deviceId << 16) | eventId;
    r[o + W_LPI] = intid | (icid << 16);
    r[o + W_TARGET] = NONE;
    this.link(list.head, s, W_DNEXT, W_DPREV);
    if (list.head < 0) list.head = s;
    list.size++;
    this.count++;
    const mask = this.table.length - 1;
    let b = this.bucket(r[o + W_KEY]!);
    while (this.table[b]! >= 0) b = (b + 1) & mask;
    this.table[b] = s;
    return s;
  }

  /** Removes ITE `s` from its device's `list` and the lookup; its record stays readable until `free`. */
  remove(list: IteList, s: number): void {
    list.head = this.unlink(list.head, s, W_DNEXT, W_DPREV);
    list.size--;
    this.count--;
    this.unhash(s);
  }

  /** Returns the slot of an ITE removed from its device (and not forwarded) for reuse. */
  free(s: number): void {
    this.rec[s * STRIDE + W_TARGET] = NONE;
    this.rec[s * STRIDE + W_DNEXT] = this.freeHead;
    this.freeHead = s;
  }

  /** The slots of `list`, in the order they were mapped. */
  slotsOf(list: IteList): number[] {
    const out: number[] = [];
    for (let s = list.head; s >= 0; ) {
      out.push(s);
      s = this.rec[s * STRIDE + W_DNEXT]!;
      if (s === list.head) break;
    }
    return out;
  }

  // ------------------------------------------------------------------ targets

  /** ITE `s`'s interrupt is kept in software for vCPU `v` (a vCPU index). */
  setSoft(s: number, v: number): void {
    this.rec[s * STRIDE + W_TARGET] = v << 1;
  }

  /** ITE `s` has no target any more (it is not forwarded). */
  clearSoft(s: number): void {
    this.rec[s * STRIDE + W_TARGET] = NONE;
  }

  /** ITE `s` (not forwarded yet) is forwarded to vCPU `v`: appended to the forwarded lists. */
  forward(s: number, v: number): void {
    const o = s * STRIDE;
    if (this.nextSeq >= SEQ_LIMIT) this.renumber();
    this.rec[o + W_SEQ] = this.nextSeq++;
    this.rec[o + W_TARGET] = (v << 1) | FORWARDED;
    if (this.perVcpu === EMPTY) this.perVcpu = new Int32Array(this.vcpus);
    this.perVcpu[v]!++;
    this.link(this.fwdHead, s, W_FNEXT, W_FPREV);
    if (this.fwdHead < 0) this.fwdHead = s;
    this.forwardedCount++;
    const lpi = this.intid(s);
    const byLpi = (this.byLpi ??= new Map());
    const h = byLpi.get(lpi);
    this.link(h ?? -1, s, W_VNEXT, W_VPREV);
    if (h === undefined) byLpi.set(lpi, s);
  }

  /** Forwarded ITE `s` now goes to vCPU `v`. */
  retarget(s: number, v: number): void {
    const o = s * STRIDE + W_TARGET;
    this.perVcpu[this.rec[o]! >> 1]!--;
    this.perVcpu[v]!++;
    this.rec[o] = (v << 1) | FORWARDED;
  }

  /** Forwarded ITE `s` is forwarded no more (and has no target). */
  unforward(s: number): void {
    const o = s * STRIDE;
    this.perVcpu[this.rec[o + W_TARGET]! >> 1]!--;
    this.rec[o + W_TARGET] = NONE;
    this.fwdHead = this.unlink(this.fwdHead, s, W_FNEXT, W_FPREV);
    this.forwardedCount--;
    const lpi = this.intid(s);
    const byLpi = this.byLpi!;
    const h = this.unlink(byLpi.get(lpi)!, s, W_VNEXT, W_VPREV);
    if (h < 0) byLpi.delete(lpi);
    else byLpi.set(lpi, h);
  }

  /** The first forwarded event (in forwarding order) of guest LPI `intid`, or -1. */
  firstForwardedOf(intid: number): number {
    return this.byLpi?.get(intid) ?? -1;
  }

  /** The guest LPIs with forwarded events, each with its first one, in forwarding order of those. */
  firstForwardedByLpi(): [number, number][] {
    return [...(this.byLpi ?? [])].sort((a, b) => this.seq(a[1]) - this.seq(b[1]));
  }

  /** The first forwarded event, or -1. */
  firstForwarded(): number {
    return this.fwdHead;
  }

  /**
   * The forwarded event after `s`, whose seq was `seq` when the caller reached it, or -1: as a
   * Set iterator goes on, also when `s` was unforwarded (or its slot reused) meanwhile: the first
   * event forwarded after it that is still forwarded (found by a scan, only in that case).
   */
  nextForwarded(s: number, seq: number): number {
    if (this.isForwarded(s) && this.seq(s) === seq) {
      const n = this.rec[s * STRIDE + W_FNEXT]!;
      return n === this.fwdHead ? -1 : n;
    }
    let best = -1;
    for (let t = this.fwdHead; t >= 0; ) {
      if (this.seq(t) > seq && (best < 0 || this.seq(t) < this.seq(best))) best = t;
      t = this.rec[t * STRIDE + W_FNEXT]!;
      if (t === this.fwdHead) break;
    }
    return best;
  }

  // ------------------------------------------------------------------ internals

  /** Appends `s` to the circular list whose head is `head` (-1: empty). */
  private link(head: number, s: number, next: number, prev: number): void {
    const r = this.rec;
    if (head < 0) {
      r[s * STRIDE + next] = s;
      r[s * STRIDE + prev] = s;
      return;
    }
    const tail = r[head * STRIDE + prev]!;
    r[s * STRIDE + next] = head;
    r[s * STRIDE + prev] = tail;
    r[tail * STRIDE + next] = s;
    r[head * STRIDE + prev] = s;
  }

  /** Removes `s` from the circular list whose head is `head`; returns the new head (-1: empty). */
  private unlink(head: number, s: number, next: number, prev: number): number {
    const r = this.rec;
    const n = r[s * STRIDE + next]!;
    if (n === s) return -1;
    const p = r[s * STRIDE + prev]!;
    r[p * STRIDE + next] = n;
    r[n * STRIDE + prev] = p;
    return head === s ? n : head;
  }

  private alloc(): number {
    if (this.freeHead >= 0) {
      const s = this.freeHead;
      this.freeHead = this.rec[s * STRIDE + W_DNEXT]!;
      return s;
    }
    if (this.used * STRIDE >= this.rec.length) this.grow();
    return this.used++;
  }

  /** Doubles the record array and rebuilds the lookup table (the live ITEs are those in the old one) at twice that capacity. */
  private grow(): void {
    const capacity = this.rec.length === 0 ? FIRST_CAPACITY : (this.rec.length / STRIDE) * 2;
    const rec = new Int32Array(capacity * STRIDE);
    rec.set(this.rec);
    this.rec = rec;
    const old = this.table;
    this.tableBits = Math.log2(capacity) + 1;
    this.table = new Int32Array(2 ** this.tableBits).fill(-1);
    const mask = this.table.length - 1;
    for (const s of old) {
      if (s < 0) continue;
      let b = this.bucket(rec[s * STRIDE + W_KEY]!);
      while (this.table[b]! >= 0) b = (b + 1) & mask;
      this.table[b] = s;
    }
  }

  private unhash(s: number): void {
    const t = this.table;
    const mask = t.length - 1;
    let b = this.bucket(this.rec[s * STRIDE + W_KEY]!);
    while (t[b] !== s) b = (b + 1) & mask;
    // Backward-shift deletion: move later entries of the probe run into the hole.
    let hole = b;
    for (let j = (hole + 1) & mask; t[j]! >= 0; j = (j + 1) & mask) {
      const home = this.bucket(this.rec[t[j]! * STRIDE + W_KEY]!);
      // The entry at j may fill the hole if its home is not cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        t[hole] = t[j]!;
        hole = j;
      }
    }
    t[hole] = -1;
  }

  /**
   * Renumbers the forwarded events' seqs 0.. in list order (every 2^31 forwardings, each of
   * which costs the guest a command and the hypervisor physical ITS commands: not reached in
   * practice). An iteration suspended across a renumbering at an event unforwarded meanwhile
   * would resume at the wrong place: `nextForwarded` compares seqs.
   */
  private renumber(): void {
    let n = 0;
    for (let t = this.fwdHead; t >= 0; ) {
      this.rec[t * STRIDE + W_SEQ] = n++;
      t = this.rec[t * STRIDE + W_FNEXT]!;
      if (t === this.fwdHead) break;
    }
    this.nextSeq = n;
  }
}
