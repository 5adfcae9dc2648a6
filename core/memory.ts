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

export class PhysicalMemory {
  private readonly pages = new Map<number, DataView>();
  /** 32-bit views of the pages `nextNonZero32` has scanned (VPTs, for the most part). */
  private readonly words = new Map<number, Uint32Array>();
  private lastNo = -1;
  private lastPage: DataView | undefined = undefined;

  /** Number of 4 KB pages that hold data. */
  get pagesAllocated(): number {
    return this.pages.size;
  }

  private page(addr: number, create: boolean): DataView | undefined {
    const no = Math.floor(addr / PAGE_SIZE);
    if (no === this.lastNo) return this.lastPage;
    let p = this.pages.get(no);
    if (p === undefined) {
      if (!create) return undefined;
      p = new DataView(new ArrayBuffer(PAGE_SIZE));
      this.pages.set(no, p);
    }
    this.lastNo = no;
    this.lastPage = p;
    return p;
  }

  read8(addr: number): number {
    const p = this.page(addr, false);
    return p === undefined ? 0 : p.getUint8(addr % PAGE_SIZE);
  }

  read16(addr: number): number {
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 2) return this.read8(addr) | (this.read8(addr + 1) << 8);
    const p = this.page(addr, false);
    return p === undefined ? 0 : p.getUint16(off, true);
  }

  read32(addr: number): number {
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
    const p = this.page(addr, false);
    return p === undefined ? 0 : p.getUint32(off, true);
  }

  read64(addr: number): bigint {
    return (BigInt(this.read32(addr + 4)) << 32n) | BigInt(this.read32(addr));
  }

  write8(addr: number, v: number): void {
    this.page(addr, true)!.setUint8(addr % PAGE_SIZE, v & 0xff);
  }

  write16(addr: number, v: number): void {
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 2) {
      this.write8(addr, v);
      this.write8(addr + 1, v >>> 8);
      return;
    }
    this.page(addr, true)!.setUint16(off, v & 0xffff, true);
  }

  write32(addr: number, v: number): void {
    const off = addr % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) {
      this.write16(addr, v);
      this.write16(addr + 2, v >>> 16);
      return;
    }
    this.page(addr, true)!.setUint32(off, v >>> 0, true);
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
        // Whether a word is zero does not depend on byte order: the page is scanned through a
        // 32-bit view of its buffer (made once per page, on its first scan).
        let w = this.words.get(no);
        if (w === undefined) {
          w = new Uint32Array(p.buffer, p.byteOffset, PAGE_SIZE / 4);
          this.words.set(no, w);
        }
        const last = (pageStop - base) / 4;
        for (let i = (a - base) / 4; i < last; i++) if (w[i] !== 0) return base + i * 4;
      }
      a = pageStop;
    }
    return -1;
  }
}
