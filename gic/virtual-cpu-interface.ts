/**
 * The GIC virtual CPU interface of one PE: the ICH_*_EL2 registers EL2 programs, and the
 * ICV_*_EL1 view EL1 gets for the ICC_* encodings when HCR_EL2.IMO/FMO route it here
 * (Arm ARM DDI 0487, HCR_EL2.IMO/FMO; IHI 0069, the ICH_* and ICV_* register descriptions;
 * IHI 0069H chapter 6 "Virtual Interrupt Handling and Prioritization").
 *
 * How it works
 * - Each list register is kept decoded in typed arrays (vINTID, pINTID, EOI, priority, group,
 *   HW, state). An MSR splits the 64-bit value into two 32-bit halves once, masks the RES0 bits
 *   (priority bits below ICH_VTR_EL2.PRIbits, vINTID bits above IDbits, pINTID/EOI by HW) and
 *   stores the fields; an MRS reassembles the architected layout.
 * - One idempotent `update()` recomputes everything that derives from state: the list-register
 *   summary (best pending candidate, ICH_EISR_EL2, ICH_ELRSR_EL2, valid and pending counts,
 *   rescanned only when an LR or a group enable changed), the highest-priority pending virtual
 *   interrupt (HPPVI) including the resident vPE's best vLPI on GICv4, whether it can be
 *   signalled (both: IHI 0069H chapter 6, and §7.1 for the vLPI), ICH_MISR_EL2, and from those
 *   the vIRQ/vFIQ lines of the PE and the level of the maintenance interrupt (PPI 25). Lines
 *   and the PPI are driven only when they change. Every write and every
 *   acknowledge/deactivation ends with `update()`; so does
 *   `vlpiChanged()`, which the redistributor calls when its resident vPE's best vLPI changes.
 * - The PE decides whether to take vIRQ/vFIQ (HCR_EL2.IMO/FMO, PSTATE.I/F, current EL): this
 *   file only drives the lines.
 * - Acknowledge (ICV_IAR0/1) moves an LR from Pending to Active (or acknowledges a vLPI at the
 *   redistributor) and sets the active-priority bit; EOI (ICV_EOIR0/1) drops the priority and,
 *   unless ICV_CTLR_EL1.EOImode = 1, deactivates; ICV_DIR deactivates in EOImode 1. HW = 1
 *   deactivation also deactivates the physical interrupt; unmatched deactivations of INTIDs
 *   below 8192 count in ICH_HCR_EL2.EOIcount (IHI 0069: ICV_IAR1_EL1, ICV_EOIR1_EL1,
 *   ICV_DIR_EL1, ICH_LR<n>_EL2, ICH_HCR_EL2).
 *
 * Nothing here allocates per access: state lives in typed arrays and numbers, the HPPVI is
 * held as scalar fields (`hpKind` with named constants), and trace records are built only when
 * tracing is on.
 */
import { hi32, lo32, type Word } from '../core/bits.js';
import type { Machine } from '../core/machine.js';
import { LINE_VFIQ, LINE_VIRQ, type PE } from '../core/pe.js';
import { priorityMask, type GicConfig } from './config.js';
import { lowestBit } from './bit-registers.js';
import { aprCount } from './cpuif-regs.js';
import { ICC_CTLR, INTID_SPECIAL, INTID_SPURIOUS as SPURIOUS_INTID, LPI_BASE } from './gic-registers.js';
import { ICH_HCR, ICH_LR_HW, ICH_LR_SW, ICH_MISR, ICH_VMCR, ICH_VTR, LrState } from './ich-registers.js';
import { WordPairs } from './its/field-words.js';
import { CpuReg, IchReg, type PhysicalGicPort, type VirtualCpuInterfacePort, type VlpiSource } from './ports.js';

declare module '../core/trace.js' {
  interface TraceKinds {
    /** EL2 wrote ICH_LR<lr>_EL2 (values after RES0 masking). */
    'ich-lr-write': { lr: number; vintid: number; state: number; priority: number; group: number; hw: boolean; pintid: number; eoi: boolean };
    /** An ICV_IAR0/1_EL1 read: what it returned and where from (`lr` is the list register, null unless `source` is 'lr'). */
    'icv-ack': { group: number; vintid: number; priority: number; source: 'lr' | 'vlpi' | 'vsgi' | 'spurious'; lr: number | null };
    /** An ICV_EOIR0/1_EL1 or ICV_DIR_EL1 write and what it did (see `VirtualEoiOutcome`). */
    'icv-eoi': { op: 'eoir' | 'dir'; group: number; vintid: number; outcome: VirtualEoiOutcome; lr: number | null; pintid: number | null; eoicount: number };
    /** The maintenance interrupt (PPI 25) output changed level; `misr` is ICH_MISR_EL2 at that moment. */
    'ich-maintenance': { level: boolean; misr: number };
  }
}

/**
 * What a virtual EOI or deactivation did:
 * - `deactivated`: the matching LR left the Active state (HW = 1: the physical INTID too);
 * - `drop-only`: priority dropped, nothing deactivated (EOImode = 1, or an LPI vINTID with no LR);
 * - `eoicount`: no LR matched an INTID below 8192: ICH_HCR_EL2.EOIcount incremented;
 * - `mismatch`: priority dropped, but the matching LR's group or group priority differs from
 *   what was dropped, so it stays active (UNPREDICTABLE use; no EOIcount);
 * - `no-active`: EOIR with no active priority: nothing happens;
 * - `ignored`: special INTID 1020-1023, DIR with EOImode = 0, or DIR of an LPI.
 */
export type VirtualEoiOutcome = 'deactivated' | 'drop-only' | 'eoicount' | 'mismatch' | 'no-active' | 'ignored';

/** The highest-priority pending virtual interrupt (IHI 0069H chapter 6, §7.1). */
export type Hppvi = { readonly kind: 'lr'; readonly index: number } | { readonly kind: 'vlpi'; readonly intid: number } | { readonly kind: 'none' };

// ---- Field positions, derived once from the declarations in ich-registers.ts.

const HCR_EN = ICH_HCR.field('En').mask;
const HCR_UIE = ICH_HCR.field('UIE').mask;
const HCR_LRENPIE = ICH_HCR.field('LRENPIE').mask;
const HCR_NPIE = ICH_HCR.field('NPIE').mask;
const HCR_VGRP0EIE = ICH_HCR.field('VGrp0EIE').mask;
const HCR_VGRP0DIE = ICH_HCR.field('VGrp0DIE').mask;
const HCR_VGRP1EIE = ICH_HCR.field('VGrp1EIE').mask;
const HCR_VGRP1DIE = ICH_HCR.field('VGrp1DIE').mask;
const HCR_TC = ICH_HCR.field('TC').mask;
const HCR_TALL0 = ICH_HCR.field('TALL0').mask;
const HCR_TALL1 = ICH_HCR.field('TALL1').mask;
const HCR_TDIR = ICH_HCR.field('TDIR').mask;
const EOICOUNT = ICH_HCR.field('EOIcount');
/**
 * Writable ICH_HCR_EL2 bits. TSEI is RES0 because ICH_VTR_EL2.SEIS = 0; vSGIEOICount and DVIM
 * are GICv4.1: vSGIEOICount is writable on a GICv4.1 machine (`hcrWritable`), DVIM is RES0
 * (ICH_VTR_EL2.DVIM = 0).
 */
const HCR_VSGIEOICOUNT = ICH_HCR.field('vSGIEOICount').mask;
const HCR_WRITABLE = (HCR_EN | HCR_UIE | HCR_LRENPIE | HCR_NPIE | HCR_VGRP0EIE | HCR_VGRP0DIE | HCR_VGRP1EIE | HCR_VGRP1DIE | HCR_TC | HCR_TALL0 | HCR_TALL1 | HCR_TDIR | EOICOUNT.mask) >>> 0;

const VMCR_VENG0 = ICH_VMCR.field('VENG0').mask;
const VMCR_VENG1 = ICH_VMCR.field('VENG1').mask;
const VMCR_VFIQEN = ICH_VMCR.field('VFIQEn').mask;
const VMCR_VCBPR = ICH_VMCR.field('VCBPR').mask;
const VMCR_VEOIM = ICH_VMCR.field('VEOIM').mask;
const VBPR1 = ICH_VMCR.field('VBPR1');
const VBPR0 = ICH_VMCR.field('VBPR0');
const VPMR = ICH_VMCR.field('VPMR');
/** Writable ICH_VMCR_EL2 bits: VAckCtl is RES0 and VFIQEn RES1 with the system register interface (SRE = 1). */
const VMCR_WRITABLE = (VMCR_VENG0 | VMCR_VENG1 | VMCR_VCBPR | VMCR_VEOIM | VBPR1.mask | VBPR0.mask | VPMR.mask) >>> 0;

const MISR_EOI = ICH_MISR.field('EOI').mask;
const MISR_U = ICH_MISR.field('U').mask;
const MISR_LRENP = ICH_MISR.field('LRENP').mask;
const MISR_NP = ICH_MISR.field('NP').mask;
const MISR_VGRP0E = ICH_MISR.field('VGrp0E').mask;
const MISR_VGRP0D = ICH_MISR.field('VGrp0D').mask;
const MISR_VGRP1E = ICH_MISR.field('VGrp1E').mask;
const MISR_VGRP1D = ICH_MISR.field('VGrp1D').mask;

// ICH_LR<n>_EL2 fields in the high half (bits [63:32]) as shifts within that half.
const LR_STATE_SH = ICH_LR_HW.field('State').lsb - 32;
const LR_HW_SH = ICH_LR_HW.field('HW').lsb - 32;
const LR_GROUP_SH = ICH_LR_HW.field('Group').lsb - 32;
const LR_PRIO_SH = ICH_LR_HW.field('Priority').lsb - 32;
const LR_PINTID = ICH_LR_HW.field('pINTID');
const LR_PINTID_SH = LR_PINTID.lsb - 32;
const LR_PINTID_MAX = 2 ** LR_PINTID.width - 1;
const LR_EOI_SH = ICH_LR_SW.field('EOI').lsb - 32;

// ICV_CTLR_EL1 is the ICC_CTLR_EL1 layout (IHI 0069, ICV_CTLR_EL1).
const CTLR_CBPR = ICC_CTLR.field('CBPR').mask;
const CTLR_EOIMODE = ICC_CTLR.field('EOImode').mask;

// Module-local copies of the INTID map (gic-registers.ts; IHI 0069H §2.2 "INTIDs"): imported
// bindings are getter calls under the project's TypeScript loader.
/** Special INTIDs 1020-1023; 1023 = spurious, what an IAR returns when nothing can be acknowledged. */
const INTID_SPECIAL_FIRST = INTID_SPECIAL;
const INTID_SPURIOUS = SPURIOUS_INTID;
/** First LPI INTID: LPIs have no active state (as IHI 0069H §7.1 notes). */
const LPI_FIRST = LPI_BASE;
/** The maintenance interrupt PPI (Arm BSA, DEN 0094; QEMU include/hw/arm/bsa.h ARCH_GIC_MAINT_IRQ). */
export const MAINTENANCE_PPI = 25;
/** Virtual INTID bits: ICH_VTR_EL2.IDbits = 0 (16 bits); LR vINTID bits [31:16] are RES0. */
const VINTID_BITS = 16;
const VINTID_MASK = 2 ** VINTID_BITS - 1;
/** Idle priority: no active interrupt / no candidate. */
const IDLE = 0xff;

// What an acknowledge took, for its trace record (an LR index otherwise).
const ACK_SPURIOUS = -1;
const ACK_VLPI = -2;

// HPPVI kinds (internal scalar form of `Hppvi`).
const HP_NONE = 0;
const HP_LR = 1;
const HP_VLPI = 2;

/** ICH_HCR_EL2 trap bits for each CpuReg (TALL0/TALL1 by group, TC for the common ones, TDIR for DIR). */
const TRAP_BITS: Uint32Array = (() => {
  const t = new Uint32Array(32);
  for (const r of [CpuReg.IAR0, CpuReg.EOIR0, CpuReg.HPPIR0, CpuReg.BPR0, CpuReg.AP0R0, CpuReg.AP0R1, CpuReg.AP0R2, CpuReg.AP0R3, CpuReg.IGRPEN0]) t[r] = HCR_TALL0;
  for (const r of [CpuReg.IAR1, CpuReg.EOIR1, CpuReg.HPPIR1, CpuReg.BPR1, CpuReg.AP1R0, CpuReg.AP1R1, CpuReg.AP1R2, CpuReg.AP1R3, CpuReg.IGRPEN1]) t[r] = HCR_TALL1;
  // TC also names the SGI generation registers; they already trap whenever IMO/FMO route EL1 here.
  for (const r of [CpuReg.RPR, CpuReg.PMR, CpuReg.CTLR, CpuReg.SGI0R, CpuReg.SGI1R, CpuReg.ASGI1R]) t[r] = HCR_TC;
  t[CpuReg.DIR] = (HCR_TC | HCR_TDIR) >>> 0;
  return t;
})();

/** Index of the lowest set bit of a non-zero 32-bit value (module-local: imports are getter calls). */
const ctz32 = lowestBit;

/** Builds ICH_LR<n>_EL2 values from their two 32-bit halves with one bigint allocation. */
const LR_VALUE = new WordPairs(1);

/**
 * Sees every virtual interrupt a guest acknowledges (an ICV_IAR0/1_EL1 read that returned a
 * vINTID, from a list register or a resident vPE), on which PE, for checkers outside the model
 * (observation only: it must not change anything).
 */
export type AckObserver = (pe: PE, vintid: number) => void;

export class VirtualCpuInterface implements VirtualCpuInterfacePort {
  /** An observer of guest acknowledges (checkers; null: none). */
  ackObserver: AckObserver | null = null;
  readonly listRegs: number;
  /** Implemented virtual priority bits (ICH_VTR_EL2.PRIbits + 1) and preemption bits (PREbits + 1). */
  readonly priBits: number;
  readonly preBits: number;
  /** Mask of the implemented priority bits (unimplemented low bits RES0). */
  private readonly prioMask: number;
  /** Minimum VBPR0 (7 - PREbits); minimum VBPR1 is one more (IHI 0069, ICV_BPR0_EL1, ICV_BPR1_EL1). */
  private readonly minBpr0: number;
  /** ICH_AP*R<n> registers per group. */
  private readonly aprs: number;
  private readonly vtr: number;
  /** ICV_CTLR_EL1 read-only fields, matching ICH_VTR_EL2: PRIbits, IDbits = 0 (16 bits), SEIS = 0, A3V = 1; RSS = ExtRange = 0; PMHE RES0. */
  private readonly ctlrFixed: number;

  // ---- Architected state.
  private hcr = 0;
  private vmcr: number;
  private readonly ap0 = new Uint32Array(4);
  private readonly ap1 = new Uint32Array(4);
  private readonly lrVintid = new Uint32Array(16);
  private readonly lrPintid = new Uint16Array(16);
  private readonly lrEoi = new Uint8Array(16);
  private readonly lrPrio = new Uint8Array(16);
  private readonly lrGroup = new Uint8Array(16);
  private readonly lrHw = new Uint8Array(16);
  private readonly lrState = new Uint8Array(16);

  // ---- Derived state (recomputed by update()).
  /** An LR or a group enable changed since the last scan. */
  private lrsDirty = true;
  private bestLr = -1;
  private eisr = 0;
  private elrsr = 0;
  private validLrs = 0;
  private pendingLrs = 0;
  private hpKind = HP_NONE;
  private hpIndex = -1;
  private hpIntid = INTID_SPURIOUS;
  private hpPrio = IDLE;
  private hpGroup = 1;
  /** The HPPVI can be signalled (En, VPMR, preemption; IHI 0069H chapter 6). */
  private hpSignal = false;
  private misr = 0;
  private virq = false;
  private vfiq = false;
  private maint = false;
  private source: VlpiSource | null = null;
  /** Writable ICH_HCR_EL2 bits: HCR_WRITABLE, plus vSGIEOICount on GICv4.1. */
  private readonly hcrWritable: number;

  constructor(
    private readonly m: Machine,
    cfg: GicConfig,
    private readonly pe: PE,
    private readonly phys: PhysicalGicPort,
  ) {
    this.listRegs = cfg.listRegs;
    this.hcrWritable = cfg.version === 4 && cfg.v41 ? (HCR_WRITABLE | HCR_VSGIEOICOUNT) >>> 0 : HCR_WRITABLE;
    this.priBits = cfg.priorityBits;
    this.preBits = cfg.preemptionBits;
    this.prioMask = priorityMask(this.priBits);
    this.minBpr0 = 7 - this.preBits;
    this.aprs = aprCount(this.preBits);
    this.vtr = ICH_VTR.encode({
      ListRegs: this.listRegs - 1,
      DVIM: 0,
      TDS: 1,
      nV4: cfg.version === 3 ? 1 : 0,
      A3V: 1,
      SEIS: 0,
      IDbits: 0,
      PREbits: this.preBits - 1,
      PRIbits: this.priBits - 1,
    });
    // The ICC_CTLR_EL1 layout as the virtual interface presents it: PMHE is RES0 in ICV_CTLR_EL1.
    this.ctlrFixed = ICC_CTLR.encode({ PRIbits: this.priBits - 1, IDbits: 0, SEIS: 0, A3V: 1, RSS: 0, ExtRange: 0, PMHE: 0 });
    // CHOICE: ICH_VMCR_EL2 resets with VFIQEn = 1 (RES1), VBPR0/VBPR1 at their minimum and
    // everything else 0 (the architecture leaves most of the reset value UNKNOWN).
    this.vmcr = (VMCR_VFIQEN | (this.minBpr0 << VBPR0.lsb) | ((this.minBpr0 + 1) << VBPR1.lsb)) >>> 0;
    // ICH_EISR_EL2, ICH_ELRSR_EL2 and ICH_MISR_EL2 are functions of the LRs and ICH_HCR_EL2
    // (IHI 0069, the three register descriptions): derive them from the reset state now, so
    // that with every LR Invalid, HW = 0 and EOI = 0 ELRSR reads all ones before EL2 has
    // written anything. (Nothing else triggered the first recompute on GICv3, where no vLPI
    // source is attached.)
    this.update();
  }

  /**
   * The resident vPE's vLPIs (GICv4), or null (GICv3, or no vPE resident). Assigning it
   * recomputes the HPPVI; afterwards the redistributor calls `vlpiChanged()` whenever the
   * source's best vLPI changes.
   */
  get vlpiSource(): VlpiSource | null {
    return this.source;
  }

  set vlpiSource(s: VlpiSource | null) {
    this.source = s;
    this.update();
  }

  /** The redistributor's resident vPE's best pending vLPI changed: recompute. */
  vlpiChanged(): void {
    this.update();
  }

  /** The highest-priority pending virtual interrupt as a typed result (diagnostics; allocates). */
  highestPending(): Hppvi {
    if (this.hpKind === HP_LR) return { kind: 'lr', index: this.hpIndex };
    if (this.hpKind === HP_VLPI) return { kind: 'vlpi', intid: this.hpIntid };
    return { kind: 'none' };
  }

  // ------------------------------------------------------------------ ICH_*_EL2

  readIch(reg: IchReg, n: number, _pe: PE): Word {
    switch (reg) {
      case IchReg.HCR:
        return this.hcr;
      case IchReg.VTR:
        return this.vtr;
      case IchReg.MISR:
        return this.misr;
      case IchReg.EISR:
        return this.eisr;
      case IchReg.ELRSR:
        return this.elrsr;
      case IchReg.VMCR:
        return this.vmcr;
      case IchReg.AP0R:
        return n < this.aprs ? this.ap0[n]! : 0;
      case IchReg.AP1R:
        return n < this.aprs ? this.ap1[n]! : 0;
      case IchReg.LR:
        return n < this.listRegs ? this.lrValue(n) : 0n;
      default:
        return 0;
    }
  }

  writeIch(reg: IchReg, n: number, _pe: PE, value: Word): void {
    switch (reg) {
      case IchReg.HCR:
        this.hcr = (lo32(value) & this.hcrWritable) >>> 0;
        break;
      case IchReg.VMCR:
        this.writeVmcr(lo32(value));
        break;
      case IchReg.AP0R:
        if (n >= this.aprs) return;
        this.ap0[n] = lo32(value);
        break;
      case IchReg.AP1R:
        if (n >= this.aprs) return;
        this.ap1[n] = lo32(value);
        break;
      case IchReg.LR:
        if (n >= this.listRegs) return;
        this.writeLr(n, value);
        break;
      default:
        // VTR, MISR, EISR, ELRSR are read-only (the dispatcher makes MSR UNDEFINED).
        return;
    }
    this.update();
  }

  /** ICH_HCR_EL2.TC/TALL0/TALL1/TDIR traps of EL1 accesses (IHI 0069, ICH_HCR_EL2). */
  trapsEl1(reg: CpuReg, _read: boolean): boolean {
    return (this.hcr & TRAP_BITS[reg]!) !== 0;
  }

  private writeLr(n: number, value: Word): void {
    const lo = lo32(value);
    const hi = hi32(value);
    const hw = (hi >>> LR_HW_SH) & 1;
    this.lrVintid[n] = lo & VINTID_MASK;
    this.lrHw[n] = hw;
    // HW = 1: pINTID [41:32]; HW = 0: EOI [41], [40:32] RES0. [44:42] RES0 either way (IHI 0069
    // gives pINTID as [44:32]; see ich-registers.ts).
    this.lrPintid[n] = hw !== 0 ? (hi >>> LR_PINTID_SH) & LR_PINTID_MAX : 0;
    this.lrEoi[n] = hw !== 0 ? 0 : (hi >>> LR_EOI_SH) & 1;
    this.lrPrio[n] = (hi >>> LR_PRIO_SH) & this.prioMask;
    this.lrGroup[n] = (hi >>> LR_GROUP_SH) & 1;
    this.lrState[n] = (hi >>> LR_STATE_SH) & 3;
    this.lrsDirty = true;
    const m = this.m;
    if (m.trace.on) {
      m.trace.emit({
        t: m.now, core: this.pe.index, el: this.pe.el, kind: 'ich-lr-write', lr: n, vintid: this.lrVintid[n]!, state: this.lrState[n]!,
        priority: this.lrPrio[n]!, group: this.lrGroup[n]!, hw: hw !== 0, pintid: this.lrPintid[n]!, eoi: this.lrEoi[n]! !== 0,
      });
    }
  }

  /** The architected ICH_LR<n>_EL2 value (bigint: State, HW, Group and Priority live above bit 52). */
  private lrValue(n: number): bigint {
    const hw = this.lrHw[n]!;
    const hi =
      ((this.lrState[n]! << LR_STATE_SH) | (hw << LR_HW_SH) | (this.lrGroup[n]! << LR_GROUP_SH) | (this.lrPrio[n]! << LR_PRIO_SH) |
        (hw !== 0 ? this.lrPintid[n]! << LR_PINTID_SH : this.lrEoi[n]! << LR_EOI_SH)) >>> 0;
    const w = LR_VALUE.words;
    w[0] = this.lrVintid[n]!;
    w[1] = hi;
    return LR_VALUE.value(0);
  }

  private writeVmcr(v: number): void {
    // CHOICE: VPMR is an alias of ICV_PMR_EL1.Priority, so its unimplemented low bits are
    // RAZ/WI through ICH_VMCR_EL2 as well (QEMU keeps them when EL2 writes VMCR).
    let x = ((v & VMCR_WRITABLE) | VMCR_VFIQEN) >>> 0;
    const vpmr = (x >>> VPMR.lsb) & this.prioMask;
    // Writing VBPR0/VBPR1 below their minimum sets the minimum (IHI 0069, ICV_BPR0_EL1, ICV_BPR1_EL1).
    const bpr0 = Math.max((x >>> VBPR0.lsb) & 7, this.minBpr0);
    const bpr1 = Math.max((x >>> VBPR1.lsb) & 7, this.minBpr0 + 1);
    x = (x & ~(VPMR.mask | VBPR0.mask | VBPR1.mask)) | (vpmr << VPMR.lsb) | (bpr0 << VBPR0.lsb) | (bpr1 << VBPR1.lsb);
    this.vmcr = x >>> 0;
    this.lrsDirty = true;
  }

  // ------------------------------------------------------------------ ICV_*_EL1

  read(reg: CpuReg, _pe: PE): Word {
    switch (reg) {
      case CpuReg.IAR1:
        return this.acknowledge(1);
      case CpuReg.IAR0:
        return this.acknowledge(0);
      case CpuReg.HPPIR1:
        return this.hpKind !== HP_NONE && this.hpGroup === 1 ? this.hpIntid : INTID_SPURIOUS;
      case CpuReg.HPPIR0:
        return this.hpKind !== HP_NONE && this.hpGroup === 0 ? this.hpIntid : INTID_SPURIOUS;
      case CpuReg.BPR0:
        return (this.vmcr >>> VBPR0.lsb) & 7;
      case CpuReg.BPR1:
        // With VCBPR = 1 ICV_BPR1 reads VBPR0 + 1, saturated at 7 (writes ignored).
        return (this.vmcr & VMCR_VCBPR) !== 0 ? Math.min(((this.vmcr >>> VBPR0.lsb) & 7) + 1, 7) : (this.vmcr >>> VBPR1.lsb) & 7;
      case CpuReg.AP0R0:
      case CpuReg.AP0R1:
      case CpuReg.AP0R2:
      case CpuReg.AP0R3:
        return this.ap0[reg - CpuReg.AP0R0]!;
      case CpuReg.AP1R0:
      case CpuReg.AP1R1:
      case CpuReg.AP1R2:
      case CpuReg.AP1R3:
        return this.ap1[reg - CpuReg.AP1R0]!;
      case CpuReg.RPR:
        return this.runningPriority();
      case CpuReg.PMR:
        return this.vmcr >>> VPMR.lsb;
      case CpuReg.CTLR:
        return this.ctlrValue();
      case CpuReg.IGRPEN0:
        return (this.vmcr & VMCR_VENG0) !== 0 ? 1 : 0;
      case CpuReg.IGRPEN1:
        return (this.vmcr & VMCR_VENG1) !== 0 ? 1 : 0;
      default:
        // Write-only registers never reach a read; SGI registers trap before reaching here.
        return 0;
    }
  }

  write(reg: CpuReg, _pe: PE, value: Word): void {
    const v = lo32(value);
    switch (reg) {
      case CpuReg.EOIR1:
        this.eoi(1, v & 0xffffff);
        return;
      case CpuReg.EOIR0:
        this.eoi(0, v & 0xffffff);
        return;
      case CpuReg.DIR:
        this.deactivateDir(v & 0xffffff);
        return;
      case CpuReg.PMR:
        this.vmcr = ((this.vmcr & ~VPMR.mask) | ((v & this.prioMask) << VPMR.lsb)) >>> 0;
        break;
      case CpuReg.BPR0:
        this.vmcr = ((this.vmcr & ~VBPR0.mask) | (Math.max(v & 7, this.minBpr0) << VBPR0.lsb)) >>> 0;
        break;
      case CpuReg.BPR1:
        if ((this.vmcr & VMCR_VCBPR) !== 0) return;
        this.vmcr = ((this.vmcr & ~VBPR1.mask) | (Math.max(v & 7, this.minBpr0 + 1) << VBPR1.lsb)) >>> 0;
        break;
      case CpuReg.CTLR:
        // Only CBPR and EOImode are writable; they live in ICH_VMCR_EL2.VCBPR/VEOIM.
        this.vmcr = ((this.vmcr & ~(VMCR_VCBPR | VMCR_VEOIM)) | ((v & CTLR_CBPR) !== 0 ? VMCR_VCBPR : 0) | ((v & CTLR_EOIMODE) !== 0 ? VMCR_VEOIM : 0)) >>> 0;
        break;
      case CpuReg.IGRPEN0:
        this.vmcr = ((this.vmcr & ~VMCR_VENG0) | ((v & 1) !== 0 ? VMCR_VENG0 : 0)) >>> 0;
        this.lrsDirty = true;
        break;
      case CpuReg.IGRPEN1:
        this.vmcr = ((this.vmcr & ~VMCR_VENG1) | ((v & 1) !== 0 ? VMCR_VENG1 : 0)) >>> 0;
        this.lrsDirty = true;
        break;
      case CpuReg.AP0R0:
      case CpuReg.AP0R1:
      case CpuReg.AP0R2:
      case CpuReg.AP0R3:
        this.ap0[reg - CpuReg.AP0R0] = v;
        break;
      case CpuReg.AP1R0:
      case CpuReg.AP1R1:
      case CpuReg.AP1R2:
      case CpuReg.AP1R3:
        this.ap1[reg - CpuReg.AP1R0] = v;
        break;
      default:
        // Read-only registers never reach a write; SGI registers trap before reaching here.
        return;
    }
    this.update();
  }

  private ctlrValue(): number {
    return (this.ctlrFixed | ((this.vmcr & VMCR_VCBPR) !== 0 ? CTLR_CBPR : 0) | ((this.vmcr & VMCR_VEOIM) !== 0 ? CTLR_EOIMODE : 0)) >>> 0;
  }

  /** Group-priority mask of `group` (IHI 0069H §4.8 "Interrupt prioritization"; ICH_VMCR_EL2): G1 `0xFF << VBPR1` (VCBPR = 1: the G0 mask), G0 `0xFF << (VBPR0 + 1)`. */
  private groupMask(group: number): number {
    const vmcr = this.vmcr;
    if (group === 1 && (vmcr & VMCR_VCBPR) === 0) return (0xff << ((vmcr >>> VBPR1.lsb) & 7)) & 0xff;
    return (0xff << (((vmcr >>> VBPR0.lsb) & 7) + 1)) & 0xff;
  }

  /** Virtual running priority: the group priority of the lowest set bit over AP0R|AP1R, 0xFF when none (IHI 0069, ICH_AP0R<n>_EL2, ICH_AP1R<n>_EL2). */
  private runningPriority(): number {
    for (let i = 0; i < this.aprs; i++) {
      const a = this.ap0[i]! | this.ap1[i]!;
      if (a !== 0) return (i * 32 + ctz32(a)) << (8 - this.preBits);
    }
    return IDLE;
  }

  /** Sets the active-priority bit of an acknowledged interrupt of `group` at `prio` (IHI 0069, ICV_IAR1_EL1). */
  private activatePriority(group: number, prio: number): void {
    const bit = (prio & this.groupMask(group)) >>> (8 - this.preBits);
    const ap = group === 0 ? this.ap0 : this.ap1;
    ap[bit >>> 5] = (ap[bit >>> 5]! | (1 << (bit & 31))) >>> 0;
  }

  /**
   * Priority drop (IHI 0069, ICV_EOIR1_EL1): clears the lowest set bit over AP0R|AP1R (Group 0
   * first at equal priority) and returns its group priority, or -1 when no bit was set.
   */
  private dropPriority(): number {
    for (let i = 0; i < this.aprs; i++) {
      const a0 = this.ap0[i]!;
      const a1 = this.ap1[i]!;
      if ((a0 | a1) === 0) continue;
      const c0 = a0 !== 0 ? ctz32(a0) : 32;
      const c1 = a1 !== 0 ? ctz32(a1) : 32;
      if (c0 <= c1) {
        this.ap0[i] = (a0 & (a0 - 1)) >>> 0;
        return (i * 32 + c0) << (8 - this.preBits);
      }
      this.ap1[i] = (a1 & (a1 - 1)) >>> 0;
      return (i * 32 + c1) << (8 - this.preBits);
    }
    return -1;
  }

  /** ICV_IAR0/1_EL1 (IHI 0069). */
  private acknowledge(group: number): number {
    const kind = this.hpKind;
    if (kind === HP_NONE || this.hpGroup !== group || !this.hpSignal) {
      this.traceAck(group, INTID_SPURIOUS, IDLE, ACK_SPURIOUS);
      return INTID_SPURIOUS;
    }
    const prio = this.hpPrio;
    const vintid = this.hpIntid;
    if (kind === HP_VLPI) {
      // A vLPI has no active state: acknowledge clears its VPT bit and sets the AP1R bit; no LR changes.
      this.activatePriority(group, prio);
      this.traceAck(group, vintid, prio, ACK_VLPI);
      this.source!.acknowledge(vintid);
      this.update();
      if (this.ackObserver !== null) this.ackObserver(this.pe, vintid);
      return vintid;
    }
    const n = this.hpIndex;
    if (vintid >= INTID_SPECIAL_FIRST && vintid <= INTID_SPURIOUS) {
      // CHOICE: a pending LR holding a special vINTID (UNPREDICTABLE) goes to Invalid and its
      // value is returned, without touching the APRs (QEMU's reading of the pseudocode).
      this.lrState[n] = this.lrState[n]! & ~LrState.Pending;
    } else {
      this.lrState[n] = LrState.Active; // Pending (01) -> Active (10): only State 01 is a candidate.
      this.activatePriority(group, prio);
    }
    this.lrsDirty = true;
    this.traceAck(group, vintid, prio, n);
    this.update();
    if (this.ackObserver !== null && (vintid < INTID_SPECIAL_FIRST || vintid > INTID_SPURIOUS)) this.ackObserver(this.pe, vintid);
    return vintid;
  }

  /** `n`: the LR acknowledged, or ACK_SPURIOUS / ACK_VLPI. */
  private traceAck(group: number, vintid: number, priority: number, n: number): void {
    const m = this.m;
    if (!m.trace.on) return;
    const source = n >= 0 ? 'lr' : n === ACK_VLPI ? (vintid < 16 ? 'vsgi' : 'vlpi') : 'spurious';
    m.trace.emit({ t: m.now, core: this.pe.index, el: this.pe.el, kind: 'icv-ack', group, vintid, priority, source, lr: n >= 0 ? n : null });
  }

  /** The LR holding `vintid` in an Active state (10 or 11), or -1. */
  private findActive(vintid: number): number {
    const st = this.lrState;
    const id = this.lrVintid;
    for (let i = 0; i < this.listRegs; i++) {
      if ((st[i]! & LrState.Active) !== 0 && id[i] === vintid) return i;
    }
    return -1;
  }

  /** Clears LR n's Active bit (10 -> 00, 11 -> 01); with HW = 1 deactivates the physical INTID (IHI 0069, ICH_LR<n>_EL2.HW). */
  private deactivateLr(n: number): void {
    this.lrState[n] = this.lrState[n]! & ~LrState.Active;
    this.lrsDirty = true;
    if (this.lrHw[n] !== 0) {
      const p = this.lrPintid[n]!;
      if (p < INTID_SPECIAL_FIRST) this.phys.deactivatePhysical(this.pe.index, p);
    }
  }

  /** Adds one to ICH_HCR_EL2.EOIcount (5 bits; CHOICE: wraps modulo 32 like the field itself). */
  private countEoi(): void {
    const c = (((this.hcr >>> EOICOUNT.lsb) + 1) & (2 ** EOICOUNT.width - 1)) << EOICOUNT.lsb;
    this.hcr = ((this.hcr & ~EOICOUNT.mask) | c) >>> 0;
  }

  /**
   * GICv4.1 ICH_HCR_EL2.vSGIEOICount = 1: the EOI/deactivation of a vINTID 0-15 that no LR holds
   * (a directly injected vSGI, which has no active state) does not increment EOIcount (IHI 0069,
   * ICH_HCR_EL2.vSGIEOICount; KVM sets it when no SGI of the vCPU is in its list registers).
   */
  private vsgiUncounted(intid: number): boolean {
    return intid < 16 && (this.hcr & HCR_VSGIEOICOUNT) !== 0;
  }

  /** ICV_EOIR0/1_EL1 (IHI 0069). */
  private eoi(group: number, intid: number): void {
    if (intid >= INTID_SPECIAL_FIRST && intid <= INTID_SPURIOUS) return this.traceEoi('eoir', group, intid, 'ignored', -1);
    const dropped = this.dropPriority();
    // CHOICE: with no active priority (CONSTRAINED UNPREDICTABLE) the list registers are not
    // searched and EOIcount does not change (QEMU's choice).
    if (dropped < 0) return this.traceEoi('eoir', group, intid, 'no-active', -1);
    const n = this.findActive(intid);
    let outcome: VirtualEoiOutcome;
    if (n < 0) {
      // Unmatched: EOIcount counts only INTIDs below 8192 and only with EOImode = 0 (IHI 0069,
      // ICH_HCR_EL2.EOIcount; QEMU also counts with EOImode = 1: this follows the Arm text).
      if (intid < LPI_FIRST && (this.vmcr & VMCR_VEOIM) === 0 && !this.vsgiUncounted(intid)) {
        this.countEoi();
        outcome = 'eoicount';
      } else {
        outcome = 'drop-only';
      }
    } else if (this.lrGroup[n] !== group || (this.lrPrio[n]! & this.groupMask(group)) !== dropped) {
      outcome = 'mismatch';
    } else if ((this.vmcr & VMCR_VEOIM) === 0 || intid >= LPI_FIRST) {
      // EOImode = 0 deactivates; an LPI vINTID has no separate deactivation, so EOImode = 1 does too.
      this.deactivateLr(n);
      outcome = 'deactivated';
    } else {
      outcome = 'drop-only';
    }
    this.traceEoi('eoir', group, intid, outcome, n);
    this.update();
  }

  /** ICV_DIR_EL1 (IHI 0069). */
  private deactivateDir(intid: number): void {
    if ((this.vmcr & VMCR_VEOIM) === 0) return this.traceEoi('dir', -1, intid, 'ignored', -1);
    if ((intid >= INTID_SPECIAL_FIRST && intid <= INTID_SPURIOUS) || intid >= LPI_FIRST) return this.traceEoi('dir', -1, intid, 'ignored', -1);
    const n = this.findActive(intid);
    if (n < 0) {
      // CHOICE: reserved INTIDs 1024-8191 count like any other unmatched INTID below 8192.
      if (this.vsgiUncounted(intid)) this.traceEoi('dir', -1, intid, 'drop-only', -1);
      else {
        this.countEoi();
        this.traceEoi('dir', -1, intid, 'eoicount', -1);
      }
    } else {
      this.deactivateLr(n);
      this.traceEoi('dir', this.lrGroup[n]!, intid, 'deactivated', n);
    }
    this.update();
  }

  private traceEoi(op: 'eoir' | 'dir', group: number, vintid: number, outcome: VirtualEoiOutcome, n: number): void {
    const m = this.m;
    if (!m.trace.on) return;
    const lr = n >= 0 ? n : null;
    const pintid = n >= 0 && this.lrHw[n] !== 0 ? this.lrPintid[n]! : null;
    m.trace.emit({
      t: m.now, core: this.pe.index, el: this.pe.el, kind: 'icv-eoi', op, group, vintid, outcome, lr, pintid,
      eoicount: (this.hcr >>> EOICOUNT.lsb) & (2 ** EOICOUNT.width - 1),
    });
  }

  // ------------------------------------------------------------------ recompute

  /** One pass over the list registers: best pending candidate (IHI 0069H chapter 6), EISR, ELRSR, counts (IHI 0069, ICH_EISR_EL2, ICH_ELRSR_EL2). */
  private scanLrs(): void {
    const vmcr = this.vmcr;
    const en0 = (vmcr & VMCR_VENG0) !== 0;
    const en1 = (vmcr & VMCR_VENG1) !== 0;
    let best = -1;
    let bestPrio = IDLE;
    let eisr = 0;
    let elrsr = 0;
    let valid = 0;
    let pending = 0;
    for (let i = 0; i < this.listRegs; i++) {
      const st = this.lrState[i]!;
      if (st === LrState.Invalid) {
        // ELRSR: empty and reusable without losing an EOI maintenance event; EISR: the event.
        if (this.lrHw[i] !== 0 || this.lrEoi[i] === 0) elrsr |= 1 << i;
        else eisr |= 1 << i;
        continue;
      }
      valid++;
      if (st !== LrState.Pending) continue;
      pending++;
      // Candidate: Pending only (not Active+Pending), group enabled, priority strictly below the
      // best so far (ties keep the lowest index; 0xFF is never selected).
      if ((this.lrGroup[i] !== 0 ? en1 : en0) && this.lrPrio[i]! < bestPrio) {
        bestPrio = this.lrPrio[i]!;
        best = i;
      }
    }
    this.bestLr = best;
    this.eisr = eisr;
    this.elrsr = elrsr;
    this.validLrs = valid;
    this.pendingLrs = pending;
    this.lrsDirty = false;
  }

  /**
   * Recomputes the HPPVI, its signalling, ICH_MISR_EL2, the vIRQ/vFIQ lines and the maintenance
   * interrupt level. Idempotent; called after every state change.
   */
  update(): void {
    if (this.lrsDirty) this.scanLrs();
    const vmcr = this.vmcr;
    const hcr = this.hcr;

    // HPPVI (IHI 0069H chapter 6, §7.1): best LR, then the resident vPE's best vLPI (Group 1)
    // if strictly better.
    let kind = HP_NONE;
    let prio = IDLE;
    let group = 1;
    let intid = INTID_SPURIOUS;
    let index = -1;
    const best = this.bestLr;
    if (best >= 0) {
      kind = HP_LR;
      index = best;
      prio = this.lrPrio[best]!;
      group = this.lrGroup[best]!;
      intid = this.lrVintid[best]!;
    }
    const src = this.source;
    if (src !== null && (vmcr & VMCR_VENG1) !== 0) {
      const b = src.best();
      // Idle priority 0xFF is never selected; otherwise the vLPI priority is seen through the
      // implemented priority bits like an LR's (CHOICE; an LPI priority has bits [1:0] = 0 anyway).
      if (b >= 0 && b >>> 24 !== IDLE) {
        const p = (b >>> 24) & this.prioMask;
        if (p < prio) {
          kind = HP_VLPI;
          index = -1;
          prio = p;
          group = 1;
          intid = b & 0xffffff;
        }
      }
    }
    this.hpKind = kind;
    this.hpIndex = index;
    this.hpPrio = prio;
    this.hpGroup = group;
    this.hpIntid = intid;

    // Signalling (IHI 0069H chapter 6): En, priority strictly below VPMR, and preemption by
    // group priority only.
    let signal = false;
    if (kind !== HP_NONE && (hcr & HCR_EN) !== 0 && prio < vmcr >>> VPMR.lsb) {
      const rp = this.runningPriority();
      if (rp === IDLE) signal = true;
      else {
        const gm = this.groupMask(group);
        signal = (prio & gm) < (rp & gm);
      }
    }
    this.hpSignal = signal;

    // ICH_MISR_EL2 (IHI 0069). CHOICE (NP): "no LR in the Pending state" counts State = 01 only
    // (QEMU; KVM's nested model also counts 11). The register reports the conditions whatever
    // ICH_HCR_EL2.En says (Arm register text, QEMU, KVM); En gates the interrupt output only.
    let misr = 0;
    if (this.eisr !== 0) misr |= MISR_EOI;
    if ((hcr & HCR_UIE) !== 0 && this.validLrs <= 1) misr |= MISR_U;
    if ((hcr & HCR_LRENPIE) !== 0 && (hcr & EOICOUNT.mask) !== 0) misr |= MISR_LRENP;
    if ((hcr & HCR_NPIE) !== 0 && this.pendingLrs === 0) misr |= MISR_NP;
    const eng0 = (vmcr & VMCR_VENG0) !== 0;
    const eng1 = (vmcr & VMCR_VENG1) !== 0;
    if ((hcr & HCR_VGRP0EIE) !== 0 && eng0) misr |= MISR_VGRP0E;
    if ((hcr & HCR_VGRP0DIE) !== 0 && !eng0) misr |= MISR_VGRP0D;
    if ((hcr & HCR_VGRP1EIE) !== 0 && eng1) misr |= MISR_VGRP1E;
    if ((hcr & HCR_VGRP1DIE) !== 0 && !eng1) misr |= MISR_VGRP1D;
    this.misr = misr;

    // Drive the outputs, only on change. Own state first: the callees may call back.
    const virq = signal && group === 1;
    const vfiq = signal && group === 0;
    const maint = (hcr & HCR_EN) !== 0 && misr !== 0;
    const pe = this.pe;
    if (virq !== this.virq) {
      this.virq = virq;
      pe.setLine(LINE_VIRQ, virq);
    }
    if (vfiq !== this.vfiq) {
      this.vfiq = vfiq;
      pe.setLine(LINE_VFIQ, vfiq);
    }
    if (maint !== this.maint) {
      this.maint = maint;
      const m = this.m;
      if (m.trace.on) m.trace.emit({ t: m.now, core: pe.index, el: pe.el, kind: 'ich-maintenance', level: maint, misr });
      this.phys.setPpiLevel(pe.index, MAINTENANCE_PPI, maint);
    }
  }
}
