/**
 * The GICv4.1 parts of the redistributors' side of direct injection (IHI 0069, GICR_VPROPBASER
 * and GICR_VPENDBASER in their GICv4.1 layouts, GICR_TYPER.RVPEID; the ITS commands VMAPP and
 * VMOVP with Default_Doorbell):
 *
 * - `VpeTable`: the vPE configuration table a redistributor's GICR_VPROPBASER (v4.1) describes,
 *   shared with the ITS (GITS_BASER2, GITS_TYPER.SVPET). At Valid 0 -> 1 of GICR_VPENDBASER the
 *   redistributor reads entry vPEID from it: the vPE's VPT and VPT_size, its vLPI configuration
 *   table (VMAPP VConf_addr), its default doorbell. The entry format is the ITS's 16-byte
 *   GICv4.1 VTE (its/tables.ts: ITS_VTE + ITS_VTE_H): IMPLEMENTATION DEFINED in the
 *   architecture, one format here because the table is shared.
 * - `DefaultDoorbells`: one default doorbell per vPE, armed when the vPE leaves a redistributor
 *   with GICR_VPENDBASER.DB = 1 and nothing pending and enabled (PendingLast = 0), and rung (the
 *   vPE's Default_Doorbell LPI made pending at the redistributor the vLPI reached) by the first
 *   enabled vLPI that arrives while the vPE is not resident, then disarmed: at most one doorbell
 *   per non-resident period, however many vLPIs arrive.
 *
 * - `SharedResidency`: where each vPE is resident. Every redistributor shares one vPE table
 *   (GICR_TYPER.CommonLPIAff = 0, GITS_TYPER.SVPET = 1: one sharing domain), so a vLPI the ITS
 *   sends to the redistributor its vPE table entry names (VMAPP/VMOVP RDbase) reaches the vPE
 *   wherever in the domain it is resident: the redistributors of a sharing domain find it
 *   among themselves, which is what lets software skip VMOVP inside the domain (Linux's
 *   its_vpe_set_affinity on GICv4.1). The same holds for the ITS's CLEAR/DISCARD/INV/VINVALL of
 *   a vLPI and GICR_INVLPIR/INVALLR with V = 1.
 *
 * CHOICEs (each also at its use):
 * - The armed state belongs to the vPE, not to one redistributor (every redistributor shares
 *   the vPE table: CommonLPIAff = 0), so a vLPI that reaches another redistributor than the one
 *   the vPE left (VMOVP while not resident) rings it too. It is cleared by ringing and by the
 *   vPE's next schedule-in, nothing else (VMAPP V = 0 / VMOVP leave it).
 * - "Enabled" for the doorbell and for PendingLast is the vLPI's Enable bit in the vPE's vLPI
 *   configuration table (read from memory) and VGrp1En as written at deschedule (vLPIs are
 *   Group 1). ⚠ Whether IHI 0069 rings the default doorbell for a vLPI whose Enable bit is 0
 *   was not verified; the model does not (a disabled vLPI cannot be delivered, so a doorbell
 *   for it would wake a vCPU for nothing), symmetric with PendingLast.
 * - A vPE table entry that is invalid, beyond the table, behind an invalid level-1 entry or in
 *   memory nothing decodes makes the GICR_VPENDBASER write that names it be ignored (traced):
 *   UNPREDICTABLE in the architecture. So is Valid = 1 while GICR_VPROPBASER.Valid = 0.
 */
import { BusStatus, type AccessAttrs, type Bus } from '../core/bus.js';
import { fieldOfPair } from '../core/bits.js';
import { ITS_VTE, ITS_VTE_H, VTE41_BYTES } from './its/tables.js';
import { baserPageBytes } from './its/its-registers.js';
import { GICR_VPROPBASER_V41 } from './vlpi-registers.js';

/** GICR_VPROPBASER_V41.Entry_Size (RO): entry bytes / 8 - 1. */
export const VPE_ENTRY_SIZE_FIELD = VTE41_BYTES / 8 - 1;
/** Level-1 entries of a two-level vPE table: 8 bytes, Valid [63], PA [51:12] (as GITS_BASER<n>.Indirect). */
const L1E_BYTES = 8;

const F = {
  valid: ITS_VTE.field('Valid'),
  size: ITS_VTE.field('VPT_size'),
  vpt: ITS_VTE.field('VPT_addr'),
  doorbell: ITS_VTE_H.field('Doorbell'),
  vconf: ITS_VTE_H.field('VConf_addr'),
};

/** The vPE configuration table behind one GICR_VPROPBASER (v4.1) value. Results of `read` in fields. */
export class VpeTable {
  /** `read`: the vPE's VPT, VPT_size (vINTID bits - 1), vLPI configuration table, default doorbell. */
  vpt = 0;
  vptSize = 0;
  vconf = 0;
  doorbell = 1023;

  constructor(
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
  ) {}

  /** Reads entry `vpeid` of the table `vpropbaser` describes; false when there is no valid entry (see the CHOICE above). */
  read(vpropbaser: bigint, vpeid: number): boolean {
    const p = GICR_VPROPBASER_V41.decode(vpropbaser);
    if (p.Valid === 0 || vpeid < 0) return false;
    this.fault = false;
    const page = baserPageBytes(p.Page_Size);
    const bytes = (p.Size + 1) * page;
    const base = p.PA * 0x1000;
    const perPage = page / VTE41_BYTES;
    let at: number;
    if (p.Indirect === 0) {
      if (vpeid >= bytes / VTE41_BYTES) return false;
      at = base + vpeid * VTE41_BYTES;
    } else {
      const l1 = Math.floor(vpeid / perPage);
      if (l1 >= bytes / L1E_BYTES) return false;
      const lo = this.word(base + l1 * L1E_BYTES);
      const hi = this.word(base + l1 * L1E_BYTES + 4);
      if (this.fault || hi >>> 31 === 0) return false;
      const l2 = fieldOfPair(lo, hi, 12, 40) * 0x1000;
      at = l2 - (l2 % page) + (vpeid % perPage) * VTE41_BYTES;
    }
    const w0 = this.word(at);
    const w1 = this.word(at + 4);
    const w2 = this.word(at + 8);
    const w3 = this.word(at + 12);
    if (this.fault || fieldOfPair(w0, w1, F.valid.lsb, 1) === 0) return false;
    this.vptSize = fieldOfPair(w0, w1, F.size.lsb, F.size.width);
    this.vpt = fieldOfPair(w0, w1, F.vpt.lsb, F.vpt.width) * 0x10000;
    this.doorbell = fieldOfPair(w2, w3, F.doorbell.lsb, F.doorbell.width);
    this.vconf = fieldOfPair(w2, w3, F.vconf.lsb, F.vconf.width) * 0x10000;
    return true;
  }

  /** A read of the current `read` found no memory. */
  private fault = false;

  private word(a: number): number {
    const v = this.bus.read32(a, this.attrs);
    if (this.bus.status !== BusStatus.Ok) this.fault = true;
    return v;
  }
}

/** Where each vPE is resident (GICv4.1, one sharing domain): redistributor index, or -1. */
export class SharedResidency {
  private readonly rd: Int16Array;

  constructor(vpes: number) {
    this.rd = new Int16Array(vpes).fill(-1);
  }

  /** The redistributor vPE `vpeid` is resident on, or -1. */
  of(vpeid: number): number {
    return vpeid >= 0 && vpeid < this.rd.length ? this.rd[vpeid]! : -1;
  }

  set(vpeid: number, rd: number): void {
    if (vpeid >= 0 && vpeid < this.rd.length) this.rd[vpeid] = rd;
  }
}

/** The default doorbells of every vPE (shared by all redistributors). */
export class DefaultDoorbells {
  /** Default doorbells rung. */
  rung = 0;
  private readonly armed: Uint8Array;
  private readonly vconf: Float64Array;

  constructor(
    /** 2^vPEID bits. */
    vpes: number,
    private readonly bus: Bus,
    private readonly attrs: AccessAttrs,
  ) {
    this.armed = new Uint8Array(vpes);
    this.vconf = new Float64Array(vpes);
  }

  /** The vPE left with DB = 1 and PendingLast = 0: its next enabled vLPI rings its doorbell. */
  arm(vpeid: number, vconf: number, vgrp1En: boolean): void {
    if (vpeid < 0 || vpeid >= this.armed.length) return;
    // VGrp1En = 0: no vLPI of this vPE is enabled, so none can ring (CHOICE above).
    this.armed[vpeid] = vgrp1En ? 1 : 0;
    this.vconf[vpeid] = vconf;
  }

  /** The vPE became resident: the request ends with the non-resident period. */
  disarm(vpeid: number): void {
    if (vpeid >= 0 && vpeid < this.armed.length) this.armed[vpeid] = 0;
  }

  isArmed(vpeid: number): boolean {
    return vpeid >= 0 && vpeid < this.armed.length && this.armed[vpeid] === 1;
  }

  /**
   * An enabled vSGI arrived for non-resident vPE `vpeid` (the caller checked its enable): true
   * (and disarmed) when its default doorbell must ring now.
   */
  takeArmed(vpeid: number): boolean {
    if (!this.isArmed(vpeid)) return false;
    this.armed[vpeid] = 0;
    this.rung++;
    return true;
  }

  /**
   * vLPI `vintid` arrived for non-resident vPE `vpeid`: true (and disarmed) when its default
   * doorbell must ring now, i.e. it is armed and the vLPI is enabled in the vPE's configuration table.
   */
  take(vpeid: number, vintid: number): boolean {
    if (!this.isArmed(vpeid)) return false;
    const byte = this.bus.read8(this.vconf[vpeid]! + (vintid - 8192), this.attrs);
    if ((byte & 1) === 0) return false;
    this.armed[vpeid] = 0;
    this.rung++;
    return true;
  }
}
