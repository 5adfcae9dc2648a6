/**
 * Stage-2 translation (IPA -> PA) for EL1&0 when HCR_EL2.VM = 1: VTTBR_EL2 and VTCR_EL2 with
 * the 4 KB granule, a real descriptor walk through memory (table, block and page descriptors,
 * S2AP and XN permissions, the access flag), and a per-PE TLB tagged with the VMID that only
 * TLBI operations invalidate, so a hypervisor that changes a table without TLBI sees the
 * stale translation as hardware would. There is no stage 1: VA = IPA.
 */
import { defineReg, defineReg64, hi32, lo32, type Word } from './bits.js';
import { BusStatus, type AccessAttrs, type Bus } from './bus.js';
import { FSC } from './esr.js';

export const VTTBR = defineReg64('VTTBR_EL2', { CnP: [0, 0], BADDR: [47, 1], VMID: [63, 48] });
export const VTCR = defineReg('VTCR_EL2', {
  T0SZ: [5, 0],
  SL0: [7, 6],
  IRGN0: [9, 8],
  ORGN0: [11, 10],
  SH0: [13, 12],
  TG0: [15, 14],
  PS: [18, 16],
  VS: [19, 19],
});

/** A stage-2 descriptor (table, block or page). OA holds output / next-level address bits [47:12]. */
export const S2_DESC = defineReg64('stage-2 descriptor', {
  Valid: [0, 0],
  Type: [1, 1],
  MemAttr: [5, 2],
  S2AP: [7, 6],
  SH: [9, 8],
  AF: [10, 10],
  OA: [47, 12],
  DBM: [51, 51],
  Contiguous: [52, 52],
  XN: [54, 53],
});

/** Stage-2 MemAttr values (HCR_EL2.FWB = 0): Device-nGnRE and Normal write-back. */
export const S2_MEMATTR_DEVICE = 0b0001;
export const S2_MEMATTR_NORMAL = 0b1111;

export const S2_READ = 1;
export const S2_WRITE = 2;
export const S2_EXEC = 4;

/** A leaf descriptor (page at level 3, block at levels 1-2) mapping `pa` with permissions. */
export function s2Leaf(pa: number, perms: number, level = 3, device = false): bigint {
  return S2_DESC.encode({
    Valid: 1,
    Type: level === 3 ? 1 : 0,
    MemAttr: device ? S2_MEMATTR_DEVICE : S2_MEMATTR_NORMAL,
    S2AP: (perms & S2_READ ? 1 : 0) | (perms & S2_WRITE ? 2 : 0),
    SH: 3,
    AF: 1,
    OA: Math.floor(pa / 4096),
    XN: perms & S2_EXEC ? 0 : 2,
  });
}

/** A table descriptor pointing at the next-level table at `pa`. */
export function s2Table(pa: number): bigint {
  return S2_DESC.encode({ Valid: 1, Type: 1, OA: Math.floor(pa / 4096) });
}

interface TlbEntry {
  paPage: number;
  perms: number;
  level: number;
}

/** Result of a walk: PA, or a fault with its level and status code. */
export interface S2Fault {
  level: number;
  fsc: number;
}

const TWO36 = 2 ** 36;

/** One PE's stage-2 walker and TLB. */
export class Stage2Mmu {
  private readonly tlb = new Map<number, TlbEntry>();
  private lastKey = -1;
  private lastEntry: TlbEntry | undefined;
  /** Set when `translate` returns -1. */
  readonly fault: S2Fault = { level: 0, fsc: 0 };
  /** Table-walk memory accesses of the last translation (0 on a TLB hit). */
  walkSteps = 0;
  /** The translation context VTTBR_EL2/VTCR_EL2 hold, decoded once when they are written. */
  vmid = 0;
  private base = 0;
  private vtcr = 0;

  constructor(
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
  ) {}

  /** VTTBR_EL2 or VTCR_EL2 was written: decode the context once (no 64-bit work per access). */
  setContext(vttbr: Word, vtcr: number): void {
    this.vmid = fieldVmid(vttbr, vtcr);
    this.base = (lo32(vttbr) & ~1) + (hi32(vttbr) & 0xffff) * 4294967296;
    this.vtcr = vtcr;
  }

  /**
   * Translates `ipa` for an access needing `need` (S2_READ / S2_WRITE / S2_EXEC) in the current
   * context. Returns the PA, or -1 with `fault` filled (translation, access flag or permission
   * fault, level).
   */
  translate(ipa: number, need: number): number {
    this.walkSteps = 0;
    const vmid = this.vmid;
    const page = Math.floor(ipa / 4096);
    const key = vmid * TWO36 + page;
    let e = key === this.lastKey ? this.lastEntry : this.tlb.get(key);
    if (e === undefined) {
      e = this.walk(ipa);
      if (e === undefined) return -1;
      this.tlb.set(key, e);
    }
    this.lastKey = key;
    this.lastEntry = e;
    if ((e.perms & need) !== need) {
      this.fault.level = e.level;
      this.fault.fsc = FSC.permission(e.level);
      return -1;
    }
    // `ipa - page * 4096` is `ipa % 4096` for ipa >= 0 without a floating-point remainder (a C
    // call per translation: IPAs above 2^30 are doubles to V8); a negative ipa keeps the `%`.
    return e.paPage * 4096 + (ipa >= 0 ? ipa - page * 4096 : ipa % 4096);
  }

  private fail(level: number, fsc: number): undefined {
    this.fault.level = level;
    this.fault.fsc = fsc;
    return undefined;
  }

  private walk(ipa: number): TlbEntry | undefined {
    const vtcr = this.vtcr;
    const t0sz = vtcr & 0x3f;
    const sl0 = (vtcr >>> 6) & 3;
    const tg0 = (vtcr >>> 14) & 3;
    if (tg0 !== 0 || sl0 === 3) return this.fail(0, FSC.translation(0));
    const ipaBits = 64 - t0sz;
    const start = 2 - sl0;
    // An IPA beyond the stage-2 input size (VTCR_EL2.T0SZ) is a level 0 translation fault,
    // whatever the start level (AArch64.S2Translate: AArch64.IPAIsOutOfRange -> level 0).
    if (ipaBits > 48 || ipa >= 2 ** ipaBits) return this.fail(0, FSC.translation(0));
    let table = this.base;
    for (let level = start; level <= 3; level++) {
      const shift = 12 + 9 * (3 - level);
      const span = level === start ? 2 ** Math.max(0, ipaBits - shift) : 512;
      const idx = Math.floor(ipa / 2 ** shift) % span;
      const addr = table + idx * 8;
      this.walkSteps++;
      const lo = this.bus.read32(addr, this.attrs);
      const hi = this.bus.read32(addr + 4, this.attrs);
      if (this.bus.status !== BusStatus.Ok) return this.fail(level, 0x14 + level);
      if ((lo & 1) === 0) return this.fail(level, FSC.translation(level));
      const isTableOrPage = (lo & 2) !== 0;
      const oa = (lo >>> 12) + (hi & 0xffff) * 1048576; // bits [47:12] as a page number
      if (level < 3 && isTableOrPage) {
        table = oa * 4096;
        continue;
      }
      if (level === 3 && !isTableOrPage) return this.fail(3, FSC.translation(3));
      if (level === 0) return this.fail(0, FSC.translation(0));
      if ((lo & 0x400) === 0) return this.fail(level, FSC.accessFlag(level));
      const s2ap = (lo >>> 6) & 3;
      const xn = (hi >>> 22) & 1;
      const perms = (s2ap & 1 ? S2_READ : 0) | (s2ap & 2 ? S2_WRITE : 0) | (xn === 0 ? S2_EXEC : 0);
      const pagesInBlock = 2 ** (shift - 12);
      const basePage = oa - (oa % pagesInBlock);
      const pageInBlock = Math.floor(ipa / 4096) % pagesInBlock;
      return { paPage: basePage + pageInBlock, perms, level };
    }
    return this.fail(3, FSC.translation(3));
  }

  /** TLBI VMALLS12E1: every entry of `vmid`. */
  invalidateVmid(vmid: number): void {
    // A Map may delete the entry its iterator is on: no copy of the keys needed.
    for (const k of this.tlb.keys()) if (Math.floor(k / TWO36) === vmid) this.tlb.delete(k);
    this.lastKey = -1;
  }

  /** TLBI IPAS2E1: the entry for one IPA page of `vmid`. */
  invalidateIpa(vmid: number, ipaPage: number): void {
    this.tlb.delete(vmid * TWO36 + ipaPage);
    this.lastKey = -1;
  }

  /** TLBI ALLE1: everything. */
  invalidateAll(): void {
    this.tlb.clear();
    this.lastKey = -1;
  }

  get entries(): number {
    return this.tlb.size;
  }
}

/** VMID of a VTTBR value: 16 bits when VTCR_EL2.VS = 1, else 8. */
export function fieldVmid(vttbr: Word, vtcr: number): number {
  const h = hi32(vttbr) >>> 16;
  return (vtcr >>> 19) & 1 ? h : h & 0xff;
}
