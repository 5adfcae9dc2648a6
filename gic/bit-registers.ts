/**
 * Helpers shared by the distributor's and the redistributors' register tables: the families of
 * "one bit per INTID" registers (IGROUPR, ISENABLER/ICENABLER, ISPENDR/ICPENDR,
 * ISACTIVER/ICACTIVER), "two bits per INTID" registers (ICFGR) and "one byte per INTID"
 * registers (IPRIORITYR), each of which maps an access to the INTIDs it covers (IHI 0069, the
 * GICD_IGROUPR<n> ... GICD_ICFGR<n> descriptions).
 */
import { lo32 } from '../core/bits.js';
import { W32, W8, type RegisterRegion } from '../core/regions.js';

/** What a family of one-bit-per-INTID registers reads and writes, one 32-bit word (32 INTIDs) at a time. */
export interface BitWordAccess {
  /** Register n (INTIDs 32n .. 32n+31) reads as this. */
  read(n: number): number;
  /** Register n was written with `v`. */
  write(n: number, v: number): void;
}

/** A region of `count` 32-bit registers at `offset`, each covering 32 INTIDs. */
export function bitRegion(name: string, offset: number, count: number, access: BitWordAccess, writable = true): RegisterRegion {
  return {
    name,
    offset,
    length: count * 4,
    widths: W32,
    read: (off) => access.read(off >>> 2),
    write: writable ? (off, _size, v) => access.write(off >>> 2, lo32(v)) : undefined,
  };
}

/** One byte per INTID (IPRIORITYR): byte and word accesses. */
export interface ByteAccess {
  read(intid: number): number;
  write(intid: number, v: number): void;
}

export function byteRegion(name: string, offset: number, count: number, access: ByteAccess): RegisterRegion {
  return {
    name,
    offset,
    length: count,
    widths: W8 | W32,
    read(off, size): number {
      if (size === 1) return access.read(off);
      return (access.read(off) | (access.read(off + 1) << 8) | (access.read(off + 2) << 16) | (access.read(off + 3) << 24)) >>> 0;
    },
    write(off, size, v): void {
      const x = lo32(v);
      if (size === 1) {
        access.write(off, x & 0xff);
        return;
      }
      for (let k = 0; k < 4; k++) access.write(off + k, (x >>> (8 * k)) & 0xff);
    },
  };
}

/** ICFGR register value for 16 INTIDs from a 16-bit "edge" mask: bit [2k+1] = 1 edge, bit [2k] RES0. */
export function icfgrFromEdge(edge16: number): number {
  let v = 0;
  for (let k = 0; k < 16; k++) if ((edge16 >>> k) & 1) v |= 2 << (2 * k);
  return v >>> 0;
}

/** The 16-bit "edge" mask an ICFGR value describes. */
export function edgeFromIcfgr(v: number): number {
  let e = 0;
  for (let k = 0; k < 16; k++) if ((v >>> (2 * k + 1)) & 1) e |= 1 << k;
  return e;
}

/** Index of the lowest set bit of a non-zero 32-bit value. */
export function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}
