/**
 * A physical memory allocator for software that owns a range of RAM (a hypervisor, a
 * bare-metal test, an example): a bump allocator. Fresh memory reads as zero, so tables need no
 * clearing (GICR_PENDBASER.PTZ and the ITS tables rely on that: IHI 0069, GICR_PENDBASER and GITS_BASER<n>).
 * It is the software's own bookkeeping, not architecture: nothing is freed.
 */
export class PhysHeap {
  private next: number;

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    this.next = base;
  }

  /** Allocates `size` bytes aligned to `align` (a power of two). Throws when exhausted. */
  alloc(size: number, align = 4096): number {
    const a = Math.ceil(this.next / align) * align;
    if (a + size > this.base + this.size) throw new Error(`physical heap exhausted: ${size} bytes requested, ${Math.max(0, this.base + this.size - a)} left`);
    this.next = a + size;
    return a;
  }

  get used(): number {
    return this.next - this.base;
  }
}
