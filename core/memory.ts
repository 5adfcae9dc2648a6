/**
 * Sparse little-endian physical memory with a 48-bit address space. Pages of 4 KB are
 * allocated on first write; reading a page never written returns zeros without allocating,
 * so multi-gigabyte tables cost only what is touched.
 *
 * Addresses are numbers (exact below 2^53); page numbers are computed with division, never
 * with 32-bit shifts. 8-byte reads return bigint (see `Word` in bits.ts).
 */
import { toBig, type Word } from './bits.js';

export const PAGE_SIZE = 4096;
export const PA_LIMIT = 2 ** 48;
const PAGE_WORDS = PAGE_SIZE / 4;

/**
 * One 4 KB page: its bytes, a 32-bit view of them for scans, and the range of 32-bit words
 * that may hold a non-zero value. The range is a hint for `nextNonZero32` only (no access
 * reads it): a write of a non-zero value widens it to cover the words written, and a scan
 * narrows it to what it did not find zero, so that scanning a page that is mostly zeros (a
 * VPT with a bit or two set, read at every vPE residency change) touches the few words that
 * can matter instead of every word of the page.
 */
class Page {
  readonly view: DataView;
  readonly words: Uint32Array;
  /** Words below `lo` and above `hi` are zero (lo > hi: the whole page is). */
  lo = PAGE_WORDS;
  hi = -1;

  constructor() {
    const b = new ArrayBuffer(PAGE_SIZE);
    this.view = new DataView(b);
    this.words = new Uint32Array(b);
  }

  /** Bytes [off, off + size) were written with a value that is not zero. */
  wrote(off: number, size: number): void {
    const first = off >>> 2;
    const last = (off + size - 1) >>> 2;
    if (first < this.lo) this.lo = first;
    if (last > this.hi) this.hi = last;
  }
}

export class PhysicalMemory {
  private readonly pages = new Map<number, Page>();
  private lastNo = -1;
  private lastPage: Page | undefined = undefined;

  /** Number of 4 KB pages that hold data. */
  get pagesAllocated(): number {
    return this.pages.size;
  }

  // Page number and offset: a division rounded down and a multiply-subtract. Addresses are
  // doubles (RAM starts at 2^30, beyond V8's small integers), where `addr % PAGE_SIZE` would be
  // a floating-point remainder, a call into the runtime, on every access.

  private page(no: number, create: boolean): Page | undefined {
    if (no === this.lastNo) return this.lastPage;
    let p = this.pages.get(no);
    if (p === undefined) {
      if (!create) return undefined;
      p = new Page();
      this.pages.set(no, p);
    }
    this.lastNo = no;
    this.lastPage = p;
    return p;
  }

  read8(addr: number): number {
    const no = Math.floor(addr / PAGE_SIZE);
    const p = this.page(no, false);
    return p === undefined ? 0 : p.view.getUint8(addr - no * PAGE_SIZE);
  }

  read16(addr: number): number {
    const no = Math.floor(addr / PAGE_SIZE);
    const off = addr - no * PAGE_SIZE;
    if (off > PAGE_SIZE - 2) return this.read8(addr) | (this.read8(addr + 1) << 8);
    const p = this.page(no, false);
    return p === undefined ? 0 : p.view.getUint16(off, true);
  }

  read32(addr: number): number {
    const no = Math.floor(addr / PAGE_SIZE);
    const off = addr - no * PAGE_SIZE;
    if (off > PAGE_SIZE - 4) return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
    const p = this.page(no, false);
    return p === undefined ? 0 : p.view.getUint32(off, true);
  }

  read64(addr: number): bigint {
    return (BigInt(this.read32(addr + 4)) << 32n) | BigInt(this.read32(addr));
  }

  write8(addr: number, v: number): void {
    const no = Math.floor(addr / PAGE_SIZE);
    const p = this.page(no, true)!;
    const off = addr - no * PAGE_SIZE;
    const b = v & 0xff;
    p.view.setUint8(off, b);
    if (b !== 0) p.wrote(off, 1);
  }

  /**
   * Sets (`set`) or clears the bits `mask` of the byte at `addr` and returns the byte as it was:
   * the read-modify-write of a GIC table bit in one page look-up instead of two. The byte is
   * written even when unchanged if `always` (as a read8 and a write8 would: the write allocates
   * the page), and otherwise only when it changes (a clear on a page never written allocates
   * nothing).
   */
  modify8(addr: number, mask: number, set: boolean, always: boolean): number {
    const no = Math.floor(addr / PAGE_SIZE);
    const off = addr - no * PAGE_SIZE;
    let p = this.page(no, false);
    const b = p === undefined ? 0 : p.view.getUint8(off);
    const nb = set ? b | mask : b & ~mask;
    if (nb === b && !always) return b;
    if (p === undefined) p = this.page(no, true)!;
    p.view.setUint8(off, nb);
    if (nb !== 0) p.wrote(off, 1);
    return b;
  }

  write16(addr: number, v: number): void {
    const no = Math.floor(addr / PAGE_SIZE);
    const off = addr - no * PAGE_SIZE;
    if (off > PAGE_SIZE - 2) {
      this.write8(addr, v);
      this.write8(addr + 1, v >>> 8);
      return;
    }
    const p = this.page(no, true)!;
    const h = v & 0xffff;
    p.view.setUint16(off, h, true);
    if (h !== 0) p.wrote(off, 2);
  }

  write32(addr: number, v: number): void {
    const no = Math.floor(addr / PAGE_SIZE);
    const off = addr - no * PAGE_SIZE;
    if (off > PAGE_SIZE - 4) {
      this.write16(addr, v);
      this.write16(addr + 2, v >>> 16);
      return;
    }
    const p = this.page(no, true)!;
    const w = v >>> 0;
    p.view.setUint32(off, w, true);
    if (w !== 0) p.wrote(off, 4);
  }

  write64(addr: number, v: Word): void {
    const b = toBig(v);
    this.write32(addr, Number(b & 0xffffffffn));
    this.write32(addr + 4, Number(b >> 32n));
  }

  /** Reads `size` (1, 2, 4 or 8) bytes; 8-byte reads are bigint. */
  read(addr: number, size: number): Word {
    switch (size) {
      case 1: return this.read8(addr);
      case 2: return this.read16(addr);
      case 4: return this.read32(addr);
      default: return this.read64(addr);
    }
  }

  write(addr: number, size: number, v: Word): void {
    switch (size) {
      case 1: this.write8(addr, Number(typeof v === 'bigint' ? v & 0xffn : v)); return;
      case 2: this.write16(addr, Number(typeof v === 'bigint' ? v & 0xffffn : v)); return;
      case 4: this.write32(addr, Number(typeof v === 'bigint' ? v & 0xffffffffn : v)); return;
      default: this.write64(addr, v);
    }
  }

  /**
   * Address of the first 4-byte-aligned 32-bit word in [addr, end) that is not zero, or -1.
   * Pages never written are skipped without being read (or allocated), so a scan of a large,
   * sparse table (a virtual LPI pending table) costs only the pages that hold data. `addr` is
   * rounded up and `end` down to a multiple of 4.
   */
  nextNonZero32(addr: number, end: number): number {
    let a = Math.ceil(addr / 4) * 4;
    const stop = Math.floor(end / 4) * 4;
    while (a < stop) {
      const no = Math.floor(a / PAGE_SIZE);
      const base = no * PAGE_SIZE;
      const pageStop = Math.min(base + PAGE_SIZE, stop);
      const p = this.pages.get(no);
      if (p !== undefined) {
        // Whether a word is zero does not depend on byte order: the page is scanned through its
        // 32-bit view, and only over the words its hint says may be non-zero.
        const first = (a - base) / 4;
        const last = (pageStop - base) / 4;
        const lo = p.lo;
        const hi = p.hi;
        const from = first > lo ? first : lo;
        const to = last < hi + 1 ? last : hi + 1;
        const w = p.words;
        for (let i = from; i < to; i++) {
          if (w[i] !== 0) {
            // Words [lo, i) were just seen to be zero.
            if (first <= lo) p.lo = i;
            return base + i * 4;
          }
        }
        // Nothing in [first, last): narrow the hint by the zeros seen.
        if (first <= lo) {
          if (last > hi) {
            p.lo = PAGE_WORDS;
            p.hi = -1;
          } else if (last > lo) p.lo = last;
        } else if (last > hi && first <= hi) p.hi = first - 1;
      }
      a = pageStop;
    }
    return -1;
  }
}
