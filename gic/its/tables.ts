/**
 * The ITS tables in simulated memory: geometry from GITS_BASER<n> (flat or two-level, 4, 16 or
 * 64 KB pages), the entry formats, and entry reads/writes through the bus with the ITS's own
 * bus attributes, counting each entry access (`itsTableAccess` cycles each) and noting
 * memory faults (an address no RAM decodes: the command stalls, errors.ts).
 *
 * Entry formats are IMPLEMENTATION DEFINED by the architecture. This ITS uses QEMU's
 * (QEMU hw/intc/gicv3_internal.h, the DTE/CTE/ITE/VTE fields), little-endian in memory:
 *
 * | Table | Entry | Layout |
 * |---|---|---|
 * | Device (BASER Type 1) | DTE, 8 bytes | Valid [0], Size [5:1] (EventID bits - 1), ITT_addr [49:6] (= ITT PA >> 8) |
 * | Collection (Type 4) | CTE, 8 bytes | Valid [0], RDbase [16:1] (= the target redistributor's processor number, whatever GITS_TYPER.PTA says: the ITS resolves the command's RDbase field once, at MAPC) |
 * | vPE (Type 2) | VTE, 8 bytes | Valid [0], VPT_size [5:1] (vINTID bits - 1), VPT_addr [41:6] (= VPT PA >> 16), RDbase [57:42] (processor number) |
 * | vPE, GICv4.1 (Type 2, shared with the redistributors' GICR_VPROPBASER) | VTE, 16 bytes | bytes 0-7 as the 8-byte VTE; bytes 8-15 (VTE_H): Doorbell [23:0] (the default doorbell, pINTID or 1023), VConf_addr [59:24] (= vLPI configuration table PA >> 16) |
 * | ITT (per device, 256-byte aligned) | ITE, 12 bytes | ITE_L (8 bytes): Valid [0], IntType [1] (1 physical, 0 virtual), INTID [25:2] (pINTID or vINTID), ICID [47:32], vPEID [63:48]; ITE_H (4 bytes): Doorbell [23:0] (pINTID or 1023) |
 *
 * Two-level (Indirect = 1) tables: level-1 entries are 8 bytes, Valid = bit 63, PA of a
 * level-2 page in [51:12] (CHOICE: bits below the page size are ignored); an ID's level-1
 * index is ID / (PageSize / EntrySize) and its level-2 offset (ID mod (PageSize / EntrySize))
 * × EntrySize (IHI 0069, GITS_BASER<n>.Indirect). BASER.Size counts level-1 pages when Indirect = 1.
 */
import { defineReg, defineReg64, fieldOfPair, type FieldRef, type Word } from '../../core/bits.js';
import { BusStatus, type AccessAttrs, type Bus } from '../../core/bus.js';
import { INTID_SPURIOUS } from '../gic-registers.js';
import { addField } from './field-words.js';
import { GITS_BASER, baserAddress, baserPageBytes } from './its-registers.js';

/** Device table entry (8 bytes). */
export const ITS_DTE = defineReg('ITS_DTE', { Valid: [0, 0], Size: [5, 1], ITT_addr: [49, 6] });
/** Collection table entry (8 bytes). */
export const ITS_CTE = defineReg('ITS_CTE', { Valid: [0, 0], RDbase: [16, 1] });
/** vPE table entry (8 bytes). */
export const ITS_VTE = defineReg64('ITS_VTE', { Valid: [0, 0], VPT_size: [5, 1], VPT_addr: [41, 6], RDbase: [57, 42] });
/** GICv4.1 vPE table entry, second doubleword (bytes 8-15 of the 16-byte VTE). */
export const ITS_VTE_H = defineReg64('ITS_VTE_H', { Doorbell: [23, 0], VConf_addr: [59, 24] });
/** Interrupt translation entry, low doubleword (bytes 0-7 of the 12-byte ITE). */
export const ITS_ITE_L = defineReg64('ITS_ITE_L', { Valid: [0, 0], IntType: [1, 1], INTID: [25, 2], ICID: [47, 32], vPEID: [63, 48] });
/** Interrupt translation entry, high word (bytes 8-11). */
export const ITS_ITE_H = defineReg('ITS_ITE_H', { Doorbell: [23, 0] });
/** Level-1 entry of a two-level table (architected: IHI 0069, GITS_BASER<n>.Indirect). */
export const ITS_L1E = defineReg64('ITS_L1E', { PA: [51, 12], Valid: [63, 63] });

export const DTE_BYTES = 8;
export const CTE_BYTES = 8;
export const VTE_BYTES = 8;
/** GICv4.1 vPE table entries (VTE + VTE_H). */
export const VTE41_BYTES = 16;
export const ITE_BYTES = 12;
const L1E_BYTES = 8;
/** ITE_L.IntType values. */
export const INTTYPE_VIRTUAL = 0;
export const INTTYPE_PHYSICAL = 1;
/** "No doorbell" in an ITE's Doorbell field and in Dbell_pINTID: the spurious INTID, 1023. */
export const NO_DOORBELL = INTID_SPURIOUS;

/** Reads a field from the 64-bit entry (hi:lo) without building a wide value. */
export function get(lo: number, hi: number, f: FieldRef): number {
  return fieldOfPair(lo, hi, f.lsb, f.width);
}

/**
 * Builds a 64-bit entry as two 32-bit words without bigints: `clear()`, then `put` each field,
 * then read `lo`/`hi`. Values are truncated to their field.
 */
export class EntryWords {
  private readonly w = new Uint32Array(2);

  get lo(): number {
    return this.w[0]!;
  }

  get hi(): number {
    return this.w[1]!;
  }

  clear(): this {
    this.w[0] = 0;
    this.w[1] = 0;
    return this;
  }

  put(f: FieldRef, x: number): this {
    addField(this.w, 0, f.lsb, f.width, x);
    return this;
  }
}

export const DTE = { Valid: ITS_DTE.field('Valid'), Size: ITS_DTE.field('Size'), ITT_addr: ITS_DTE.field('ITT_addr') };
export const CTE = { Valid: ITS_CTE.field('Valid'), RDbase: ITS_CTE.field('RDbase') };
export const VTE = { Valid: ITS_VTE.field('Valid'), VPT_size: ITS_VTE.field('VPT_size'), VPT_addr: ITS_VTE.field('VPT_addr'), RDbase: ITS_VTE.field('RDbase') };
export const ITE_L = { Valid: ITS_ITE_L.field('Valid'), IntType: ITS_ITE_L.field('IntType'), INTID: ITS_ITE_L.field('INTID'), ICID: ITS_ITE_L.field('ICID'), vPEID: ITS_ITE_L.field('vPEID') };
export const VTE_H = { Doorbell: ITS_VTE_H.field('Doorbell'), VConf_addr: ITS_VTE_H.field('VConf_addr') };
export const ITE_H = { Doorbell: ITS_ITE_H.field('Doorbell') };
const L1E = { PA: ITS_L1E.field('PA'), Valid: ITS_L1E.field('Valid') };

/** Entry address results that are not addresses. */
export const NO_ENTRY = -1;
export const FAULT = -2;

/**
 * One table's geometry, recomputed whenever its GITS_BASER is written. `ids` is the number of
 * IDs the table can hold (capped by the ID width the ITS supports); 0 when Valid = 0, so
 * every ID is out of range (as QEMU treats an invalid table as size 0, hw/intc/arm_gicv3_its.c).
 */
export class TableGeometry {
  valid = false;
  indirect = false;
  base = 0;
  pageBytes = 0x1000;
  pages = 1;
  ids = 0;

  constructor(
    readonly entryBytes: number,
    /** IDs the ITS supports for this table (2^Devbits, 2^16 collections, 2^vPEID bits). */
    readonly idLimit: number,
  ) {}

  /** Applies a GITS_BASER value. */
  configure(baser: Word): void {
    const b = GITS_BASER.decode(typeof baser === 'bigint' ? baser : BigInt(baser));
    this.valid = b.Valid === 1;
    this.indirect = b.Indirect === 1;
    this.pageBytes = baserPageBytes(b.Page_Size);
    this.base = baserAddress(b.PA, this.pageBytes);
    this.pages = b.Size + 1;
    if (!this.valid) {
      this.ids = 0;
      return;
    }
    const perPage = Math.floor(this.pageBytes / this.entryBytes);
    const capacity = this.indirect ? ((this.pages * this.pageBytes) / L1E_BYTES) * perPage : Math.floor((this.pages * this.pageBytes) / this.entryBytes);
    this.ids = Math.min(capacity, this.idLimit);
  }
}

/**
 * Table memory access for one ITS: entry reads and writes through the bus with the ITS's
 * attributes. `accesses` counts entries read or written (the command engine charges
 * `itsTableAccess` per entry), `fault` is set when any access did not decode to memory.
 */
export class TableMemory {
  accesses = 0;
  fault = false;
  /** Scratch: the two words of the last 8-byte entry read. */
  lo = 0;
  hi = 0;

  constructor(
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
  ) {}

  /** Starts counting for one command. */
  reset(): void {
    this.accesses = 0;
    this.fault = false;
  }

  private word(pa: number): number {
    const v = this.bus.read32(pa, this.attrs);
    if (this.bus.status !== BusStatus.Ok) this.fault = true;
    return v;
  }

  private put(pa: number, v: number): void {
    this.bus.write32(pa, v, this.attrs);
    if (this.bus.status !== BusStatus.Ok) this.fault = true;
  }

  /** Reads the 8-byte entry at `pa` into `lo`/`hi`. Returns false on a memory fault. */
  read64(pa: number): boolean {
    this.accesses++;
    this.lo = this.word(pa);
    this.hi = this.word(pa + 4);
    return !this.fault;
  }

  /** Writes an 8-byte entry given as two words. Returns false on a memory fault. */
  write64(pa: number, lo: number, hi: number): boolean {
    this.accesses++;
    this.put(pa, lo);
    this.put(pa + 4, hi);
    return !this.fault;
  }

  /** Reads a 12-byte ITE into `lo`/`hi` (ITE_L) and returns ITE_H, or -1 on a fault. */
  readIte(pa: number): number {
    this.accesses++;
    this.lo = this.word(pa);
    this.hi = this.word(pa + 4);
    const h = this.word(pa + 8);
    return this.fault ? -1 : h;
  }

  /** Writes a 12-byte ITE: ITE_L as two words, then ITE_H. Returns false on a memory fault. */
  writeIte(pa: number, lo: number, hi: number, h: number): boolean {
    this.accesses++;
    this.put(pa, lo);
    this.put(pa + 4, hi);
    this.put(pa + 8, h);
    return !this.fault;
  }

  /**
   * The address of entry `id` of table `g`: an address, NO_ENTRY when the ID is beyond the
   * table or (two-level) its level-1 entry is invalid, or FAULT when reading the level-1
   * entry failed. A two-level lookup reads (and counts) the level-1 entry.
   */
  entryAddress(g: TableGeometry, id: number): number {
    if (id >= g.ids) return NO_ENTRY;
    if (!g.indirect) return g.base + id * g.entryBytes;
    const perPage = Math.floor(g.pageBytes / g.entryBytes);
    const l1 = Math.floor(id / perPage);
    if (!this.read64(g.base + l1 * L1E_BYTES)) return FAULT;
    if (get(this.lo, this.hi, L1E.Valid) === 0) return NO_ENTRY;
    const page = get(this.lo, this.hi, L1E.PA) * 0x1000;
    const l2 = page - (page % g.pageBytes);
    return l2 + (id % perPage) * g.entryBytes;
  }
}
