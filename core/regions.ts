/**
 * MMIO register blocks as data, in the shape KVM's vgic-mmio tables use: each block is a
 * sorted list of regions `{name, offset, length, widths, read, write}` dispatched by one
 * function. Offsets no region claims are RAZ/WI, as the GIC architecture makes reserved
 * register space. A 64-bit register (`regSize: 8`) accessed with a 32-bit access has the
 * access folded into a 64-bit read, or a read-modify-write, so handlers only ever see their
 * register's natural width.
 */
import { hi32, joinBig, lo32, toBig, type Word } from './bits.js';
import { misaligned } from './align.js';
import type { AccessAttrs, MmioDevice } from './bus.js';

/** Access sizes a region accepts, as a bit set of byte counts. */
export const W8 = 1;
export const W16 = 2;
export const W32 = 4;
export const W64 = 8;

export interface RegisterRegion {
  readonly name: string;
  /** Byte offset of the region in its block. */
  readonly offset: number;
  /** Length in bytes (an array of registers is one region). */
  readonly length: number;
  /** Accepted access sizes (W8 | W32 ...). Other sizes are RAZ/WI and reported. */
  readonly widths: number;
  /** Natural size of each register in the region: 8 for 64-bit registers. Default 4. */
  readonly regSize?: 1 | 4 | 8;
  /** `off` is the byte offset inside the region. Missing = RAZ. */
  read?(off: number, size: number, attrs: AccessAttrs): Word;
  /** Missing = WI (read-only register). */
  write?(off: number, size: number, value: Word, attrs: AccessAttrs): void;
}

export interface BadAccess {
  block: string;
  offset: number;
  size: number;
  write: boolean;
  reason: 'width' | 'unaligned';
}

/**
 * The offset index of a block: for each 4-byte word, 1 + the number of the region that claims it
 * (0: reserved), so a lookup is one array read whatever the number of regions. It depends only
 * on the block's size and its regions' offsets and lengths, never on their handlers, so every
 * block of one layout (each vCPU's emulated redistributor, each physical redistributor) shares a
 * single index, built by the first and never written after: 64 KB for a 128 KB redistributor,
 * once instead of once per vCPU. A memo of a pure function, not state: what a block does is the
 * same whether its index is shared or not. Bounded: past `INDEX_CACHE_LIMIT` layouts the oldest
 * is forgotten (blocks using it keep it; a new block of that layout builds it again).
 */
const indexCache = new Map<string, Uint16Array>();
const INDEX_CACHE_LIMIT = 64;

function layoutIndex(size: number, regions: readonly RegisterRegion[]): Uint16Array {
  let key = String(size);
  for (const r of regions) key += `,${r.offset}+${r.length}`;
  let index = indexCache.get(key);
  if (index === undefined) {
    if (regions.length > 0xffff) throw new Error(`a register block has at most ${0xffff} regions`);
    index = new Uint16Array(Math.ceil(size / 4));
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i]!;
      for (let o = r.offset; o < r.offset + r.length; o += 4) index[o >>> 2] = i + 1;
    }
    if (indexCache.size >= INDEX_CACHE_LIMIT) indexCache.delete(indexCache.keys().next().value!);
    indexCache.set(key, index);
  }
  return index;
}

export class RegisterBlock implements MmioDevice {
  /** Shared between blocks of the same layout (`layoutIndex`): read only. */
  private readonly index: Uint16Array;
  /** Accesses that hit reserved space, by count (reserved space itself is not an error). */
  reservedAccesses = 0;
  /** Called for accesses of a size or alignment the register does not accept (RAZ/WI). */
  onBadAccess: ((b: BadAccess) => void) | null = null;

  constructor(
    readonly name: string,
    readonly size: number,
    readonly regions: readonly RegisterRegion[],
  ) {
    checkRegions(name, size, regions);
    this.index = layoutIndex(size, regions);
  }

  region(offset: number): RegisterRegion | undefined {
    if (offset < 0 || offset >= this.size) return undefined;
    const i = this.index[offset >>> 2]!;
    return i === 0 ? undefined : this.regions[i - 1];
  }

  read(offset: number, size: number, attrs: AccessAttrs): Word {
    const r = this.region(offset);
    if (r === undefined) {
      this.reservedAccesses++;
      return size === 8 ? 0n : 0;
    }
    const off = offset - r.offset;
    if (!this.accepts(r, offset, off, size, false)) return size === 8 ? 0n : 0;
    if (r.read === undefined) return size === 8 ? 0n : 0;
    if (r.regSize === 8 && size === 4) {
      const full = r.read(off - (off & 7), 8, attrs);
      return (off & 4) === 0 ? lo32(full) : hi32(full);
    }
    return r.read(off, size, attrs);
  }

  write(offset: number, size: number, value: Word, attrs: AccessAttrs): void {
    const r = this.region(offset);
    if (r === undefined) {
      this.reservedAccesses++;
      return;
    }
    const off = offset - r.offset;
    if (!this.accepts(r, offset, off, size, true)) return;
    if (r.write === undefined) return;
    if (r.regSize === 8 && size === 4) {
      const base = off - (off & 7);
      const cur = r.read === undefined ? 0n : toBig(r.read(base, 8, attrs));
      const v = lo32(value);
      const merged = (off & 4) === 0 ? joinBig(v, hi32(cur)) : joinBig(lo32(cur), v);
      r.write(base, 8, merged, attrs);
      return;
    }
    r.write(off, size, size === 8 ? toBig(value) : value, attrs);
  }

  private accepts(r: RegisterRegion, offset: number, off: number, size: number, write: boolean): boolean {
    if ((r.widths & size) === 0) {
      this.onBadAccess?.({ block: this.name, offset, size, write, reason: 'width' });
      return false;
    }
    if (misaligned(off, size)) {
      this.onBadAccess?.({ block: this.name, offset, size, write, reason: 'unaligned' });
      return false;
    }
    return true;
  }
}

/** Throws unless `regions` are sorted, non-overlapping, 4-byte aligned and inside the block. */
export function checkRegions(name: string, size: number, regions: readonly RegisterRegion[]): void {
  let end = 0;
  for (const r of regions) {
    if (r.offset % 4 !== 0 || r.length % 4 !== 0 || r.length <= 0) throw new Error(`${name}.${r.name}: regions must be 4-byte aligned and non-empty`);
    if (r.offset < end) throw new Error(`${name}.${r.name}: regions must be sorted and must not overlap`);
    end = r.offset + r.length;
    if (end > size) throw new Error(`${name}.${r.name}: region ends beyond the ${size}-byte block`);
  }
}

/** A region of read-only constant value. */
export function constReg(name: string, offset: number, value: Word, widths = W32, regSize: 4 | 8 = 4): RegisterRegion {
  return { name, offset, length: regSize, widths, regSize, read: () => value };
}
