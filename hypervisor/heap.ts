/**
 * The hypervisor's physical memory allocator: a bump allocator over the range it owns. Fresh
 * memory reads as zero, so tables need no clearing. (Bookkeeping, not architecture: it is the
 * hypervisor's own software state.)
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
    if (a + size > this.base + this.size) throw new Error(`hypervisor heap exhausted: ${size} bytes requested, ${this.base + this.size - a} left`);
    this.next = a + size;
    return a;
  }

  get used(): number {
    return this.next - this.base;
  }
}
