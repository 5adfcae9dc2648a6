/**
 * What a guest recorded about the interrupts it handled: for each, the INTID, the CPU, and the
 * virtual counter (CNTVCT_EL0) when its handler started. Column arrays of numbers, no object per
 * record.
 */
export class DeliveryLog {
  readonly intid: number[] = [];
  readonly cpu: number[] = [];
  readonly counter: number[] = [];

  get length(): number {
    return this.intid.length;
  }

  push(intid: number, cpu: number, counter: number): void {
    this.intid.push(intid);
    this.cpu.push(cpu);
    this.counter.push(counter);
  }

  /** How many deliveries of each INTID. */
  counts(): Map<number, number> {
    const m = new Map<number, number>();
    for (const i of this.intid) m.set(i, (m.get(i) ?? 0) + 1);
    return m;
  }
}
