/**
 * The interfaces between the parts of the GIC model. Each part (distributor + redistributors,
 * CPU interface, virtual CPU interface, ITS) lives in its own files and talks to the others
 * only through these ports, the way the hardware blocks talk over the GIC's internal
 * interfaces (the ITS to a redistributor, a redistributor to its CPU interface, the virtual
 * CPU interface to the physical one). Nothing here is visible to software: software sees
 * registers (MMIO and system registers) and memory only.
 */
import type { Word } from '../core/bits.js';
import type { PE } from '../core/pe.js';

/** CPU interface registers reached through the ICC_* / ICV_* encodings. */
export const CpuReg = {
  IAR0: 0,
  IAR1: 1,
  EOIR0: 2,
  EOIR1: 3,
  HPPIR0: 4,
  HPPIR1: 5,
  BPR0: 6,
  BPR1: 7,
  AP0R0: 8,
  AP0R1: 9,
  AP0R2: 10,
  AP0R3: 11,
  AP1R0: 12,
  AP1R1: 13,
  AP1R2: 14,
  AP1R3: 15,
  DIR: 16,
  RPR: 17,
  PMR: 18,
  CTLR: 19,
  SRE: 20,
  IGRPEN0: 21,
  IGRPEN1: 22,
  SGI1R: 23,
  ASGI1R: 24,
  SGI0R: 25,
} as const;
export type CpuReg = (typeof CpuReg)[keyof typeof CpuReg];

/** ICH_* registers (EL2 only). `n` selects the LR or APR index. */
export const IchReg = {
  HCR: 0,
  VTR: 1,
  MISR: 2,
  EISR: 3,
  ELRSR: 4,
  VMCR: 5,
  AP0R: 6,
  AP1R: 7,
  LR: 8,
} as const;
export type IchReg = (typeof IchReg)[keyof typeof IchReg];

/**
 * One PE's CPU interface as the system-register dispatcher sees it. `read`/`write` run after
 * the access checks (EL, traps, routing) have passed. SGI1R/ASGI1R/SGI0R values are bigint;
 * everything else is a number.
 */
export interface CpuInterfacePort {
  read(reg: CpuReg, pe: PE): Word;
  write(reg: CpuReg, pe: PE, value: Word): void;
}

/** The virtual CPU interface of one PE: the ICV_* view for EL1 and the ICH_* registers for EL2. */
export interface VirtualCpuInterfacePort extends CpuInterfacePort {
  readIch(reg: IchReg, n: number, pe: PE): Word;
  writeIch(reg: IchReg, n: number, pe: PE, value: Word): void;
  /**
   * ICH_HCR_EL2 traps of EL1 accesses (TC, TALL0, TALL1, TDIR): true when this access to `reg`
   * must trap to EL2 with EC 0x18.
   */
  trapsEl1(reg: CpuReg, read: boolean): boolean;
}

/**
 * What the ITS needs from the redistributors for physical LPIs. `rd` is a redistributor index
 * (= PE index). Calls happen at the machine's current time (`machine.now`).
 */
export interface LpiPort {
  readonly rdCount: number;
  /**
   * The redistributor an ITS command's RDbase field names: with GITS_TYPER.PTA = 1 the field
   * holds PA[51:16] of the RD frame; with PTA = 0 it holds GICR_TYPER.Processor_Number.
   * Returns -1 when it names none.
   */
  rdFromRdbase(rdbase: number, pta: boolean): number;
  /** Makes LPI `intid` pending at `rd` (dropped if GICR_CTLR.EnableLPIs = 0 or beyond PROPBASER.IDbits). Returns false when dropped. */
  setLpiPending(rd: number, intid: number): boolean;
  clearLpiPending(rd: number, intid: number): void;
  isLpiPending(rd: number, intid: number): boolean;
  /** INV: re-read the configuration byte of `intid` at `rd`. */
  invalidateLpi(rd: number, intid: number): void;
  /** INVALL: re-read the configuration of every LPI at `rd`. */
  invalidateAllLpis(rd: number): void;
  /** MOVALL: OR every pending LPI of `from` into `to` and clear it at `from`. */
  moveAllPending(from: number, to: number): void;
}

/**
 * What the ITS needs from the redistributors for virtual LPIs. GICv4.0 matches residency by VPT
 * address (`vpt`); GICv4.1 by vPEID (`vpeid`, -1 when the caller has none: a GICv4.0 caller).
 * A GICv3 configuration never calls it.
 */
export interface VlpiPort {
  /**
   * A vLPI for the vPE whose VPT is at `vpt` (VPT_size `vptIdBits` - 1) arrives at `rd`.
   * `doorbell` is a physical LPI or 1023: the ITE's Dbell_pINTID on GICv4.0, the vPE's default
   * doorbell on GICv4.1 (rung only if armed at deschedule).
   */
  setVlpiPending(rd: number, vpt: number, vptIdBits: number, vintid: number, doorbell: number, vpeid?: number): void;
  clearVlpiPending(rd: number, vpt: number, vintid: number, vpeid?: number): void;
  isVlpiPending(rd: number, vpt: number, vintid: number): boolean;
  /** INV on a virtual ITE / VINVALL: re-read vLPI configuration. */
  invalidateVlpi(rd: number, vpt: number, vintid: number, vpeid?: number): void;
  invalidateAllVlpis(rd: number, vpt: number, vpeid?: number): void;
  /** VMAPP V=1 (first map: `vpt` read from memory once). */
  vpeMapped(rd: number, vpt: number, vptIdBits: number, vpeid?: number): void;
  /** VMAPP V=0. */
  vpeUnmapped(rd: number, vpt: number, vpeid?: number): void;
  /**
   * GICv4.1 vSGIs of vPE `vpeid`, whose vPE table entry names `rd` (the redistributor where it
   * is resident takes them): GITS_SGIR (`doorbell`: the vPE's default doorbell or 1023), VSGI
   * with Clear = 0, VSGI with Clear = 1.
   */
  setVsgiPending(rd: number, vpeid: number, vintid: number, doorbell: number): void;
  configureVsgi(rd: number, vpeid: number, vintid: number, priority: number, group: number, enable: number): void;
  clearVsgi(rd: number, vpeid: number, vintid: number): void;
}

/** What the virtual CPU interface needs from its redistributor (GICv4: the resident vPE's vLPIs). */
export interface VlpiSource {
  /** Highest-priority pending enabled vLPI of the vPE resident on this PE's RD: `priority * 2^24 + vintid`, or -1. */
  best(): number;
  /** ICV_IAR1 acknowledged `vintid`: clear its VPT bit. */
  acknowledge(vintid: number): void;
}

/** What the virtual CPU interface needs from the physical GIC. */
export interface PhysicalGicPort {
  /** Drives a PPI (the maintenance interrupt, PPI 25) of PE `pe` as a level. */
  setPpiLevel(pe: number, intid: number, level: boolean): void;
  /** HW = 1 linkage: the guest deactivated a vINTID whose LR names physical `intid` (< 1020). */
  deactivatePhysical(pe: number, intid: number): void;
}
