/**
 * What a guest recorded about the interrupts it handled: for each, the INTID, the CPU, and the
 * virtual counter (CNTVCT_EL0) when its handler started. Growable typed columns: no object per
 * record, no boxed numbers.
 */
export class DeliveryLog {
  private intids = new Int32Array(1024);
  private cpus = new Int32Array(1024);
  private counters = new Float64Array(1024);
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(intid: number, cpu: number, counter: number): void {
    if (this.n === this.intids.length) this.grow();
    this.intids[this.n] = intid;
    this.cpus[this.n] = cpu;
    this.counters[this.n] = counter;
    this.n++;
  }

  private grow(): void {
    const m = this.intids.length * 2;
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

  private columns(): { intid: number[]; cpu: number[]; counter: number[] } {
    if (this.cache === null || this.cache.n !== this.n) {
      this.cache = { n: this.n, intid: Array.from(this.intids.subarray(0, this.n)), cpu: Array.from(this.cpus.subarray(0, this.n)), counter: Array.from(this.counters.subarray(0, this.n)) };
    }
    return this.cache;
  }

  /** INTIDs in delivery order (a snapshot array, rebuilt only after new records). */
  get intid(): number[] {
    return this.columns().intid;
  }

  /** CPUs in delivery order. */
  get cpu(): number[] {
    return this.columns().cpu;
  }

  /** Counter values at handler start, in delivery order. */
  get counter(): number[] {
    return this.columns().counter;
  }

  intidAt(i: number): number {
    return this.intids[i]!;
  }

  cpuAt(i: number): number {
    return this.cpus[i]!;
  }

  counterAt(i: number): number {
    return this.counters[i]!;
  }

  /** How many deliveries of each INTID. */
  counts(): Map<number, number> {
    const m = new Map<number, number>();
    for (let i = 0; i < this.n; i++) m.set(this.intids[i]!, (m.get(this.intids[i]!) ?? 0) + 1);
    return m;
  }
}
