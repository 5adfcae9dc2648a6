/**
 * What a guest recorded about the interrupts it handled: for each, the INTID, the CPU, and the
 * virtual counter (CNTVCT_EL0) when its handler started. Growable typed columns: no object per
 * record, no boxed numbers.
 *
 * Counters are always kept: the number of deliveries (`length`) and how many of each INTID
 * (`counts()`). The records themselves are kept according to `keep` (core's `RecordKeep`):
 * all of them ('all', the default), none ('none'), or the last N (`{last: N}`, a ring that
 * grows to N and then overwrites its oldest record). Reading a record that was not kept
 * throws; nothing is allocated per delivery in any mode (the per-INTID count allocates once per
 * new INTID). A `sink`, when given, sees every delivery as it is recorded, so a consumer can do
 * its accounting online instead of from the records.
 */
import { RecordRing, type RecordKeep } from '../core/record-ring.js';

/** Receives every delivery as the guest records it. Runs on the guest's hot path: no allocation. */
export interface DeliverySink {
  delivered(intid: number, cpu: number, counter: number): void;
}

export interface DeliveryLogOptions {
  /** Which records to keep (default 'all'). */
  readonly keep?: RecordKeep;
  readonly sink?: DeliverySink;
}

export class DeliveryLog {
  private intids: Int32Array;
  private cpus: Int32Array;
  private counters: Float64Array;
  private readonly ring: RecordRing;
  private readonly sink: DeliverySink | undefined;
  private readonly perIntid = new Map<number, number>();

  constructor(opts: DeliveryLogOptions = {}) {
    this.ring = new RecordRing(opts.keep ?? 'all', 'DeliveryLog', 'delivery', 'deliveries');
    const cap = this.ring.initialCapacity(1024);
    this.intids = new Int32Array(cap);
    this.cpus = new Int32Array(cap);
    this.counters = new Float64Array(cap);
    this.sink = opts.sink;
  }

  /** Deliveries recorded so far (whether or not their records are kept). */
  get length(): number {
    return this.ring.n;
  }

  /** Which records this log keeps. */
  get keep(): RecordKeep {
    return this.ring.keep;
  }

  /** Records held: `length` with 'all', at most N with `{last: N}`, 0 with 'none'. */
  get kept(): number {
    return this.ring.kept;
  }

  /** Record slots allocated (what the records cost in memory: 16 bytes each). */
  get recordSlots(): number {
    return this.intids.length;
  }

  /** Index of the oldest delivery whose record is held (`length` when none is). */
  get firstKept(): number {
    return this.ring.firstKept;
  }

  push(intid: number, cpu: number, counter: number): void {
    const k = this.ring.claim();
    if (k >= 0) {
      if (k === this.intids.length) this.grow();
      this.intids[k] = intid;
      this.cpus[k] = cpu;
      this.counters[k] = counter;
    }
    this.perIntid.set(intid, (this.perIntid.get(intid) ?? 0) + 1);
    if (this.sink !== undefined) this.sink.delivered(intid, cpu, counter);
  }

  /** Doubles the columns (at most to the ring's size). */
  private grow(): void {
    const m = this.ring.grownCapacity(this.intids.length);
    const a = new Int32Array(m);
    a.set(this.intids);
    this.intids = a;
    const b = new Int32Array(m);
    b.set(this.cpus);
    this.cpus = b;
    const c = new Float64Array(m);
    c.set(this.counters);
    this.counters = c;
  }

  private cache: { n: number; intid: number[]; cpu: number[]; counter: number[] } | null = null;

  private columns(what: string): { intid: number[]; cpu: number[]; counter: number[] } {
    this.ring.requireAll(what, `${what}At(i)`);
    const n = this.ring.n;
    if (this.cache === null || this.cache.n !== n) {
      this.cache = { n, intid: Array.from(this.intids.subarray(0, n)), cpu: Array.from(this.cpus.subarray(0, n)), counter: Array.from(this.counters.subarray(0, n)) };
    }
    return this.cache;
  }

  /** INTIDs in delivery order (a snapshot array, rebuilt only after new records). Only when every record is kept. */
  get intid(): number[] {
    return this.columns('intid').intid;
  }

  /** CPUs in delivery order. Only when every record is kept. */
  get cpu(): number[] {
    return this.columns('cpu').cpu;
  }

  /** Counter values at handler start, in delivery order. Only when every record is kept. */
  get counter(): number[] {
    return this.columns('counter').counter;
  }

  /** Slot of delivery `i`'s record; throws when there is no delivery `i` or its record was not kept. */
  private slot(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.ring.n)) throw new RangeError(`DeliveryLog: no delivery ${i} (${this.ring.n} recorded)`);
    return this.ring.slotOf(i);
  }

  intidAt(i: number): number {
    return this.intids[this.slot(i)]!;
  }

  cpuAt(i: number): number {
    return this.cpus[this.slot(i)]!;
  }

  counterAt(i: number): number {
    return this.counters[this.slot(i)]!;
  }

  /** How many deliveries of each INTID (a counter: right whatever records are kept). */
  counts(): Map<number, number> {
    return new Map(this.perIntid);
  }
}
