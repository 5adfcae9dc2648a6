/**
 * Bit layouts of the physical GIC's architected registers and of the LPI configuration byte,
 * declared once by name (IHI 0069: the ICC_*, GICD_* and GICR_* register descriptions; the LPI
 * configuration byte, IHI 0069H §5.1 "LPIs"). Every other file of the physical GIC reads and
 * builds these values through the layouts below, never with hand-typed masks.
 *
 * Hot paths (SGI generation, the LPI configuration byte) use `Layout.field` to resolve a field's
 * position once at module load and then extract it with `fieldOfPair`, which allocates
 * nothing; register reads and writes that are not on a per-interrupt path use the layouts'
 * `encode`/`decode` directly.
 */
import { defineReg, defineReg64 } from '../core/bits.js';

/** GICD_CTLR, single Security state view (DS = 1; IHI 0069, GICD_CTLR). */
export const GICD_CTLR = defineReg('GICD_CTLR', {
  EnableGrp0: [0, 0],
  EnableGrp1: [1, 1],
  ARE: [4, 4],
  DS: [6, 6],
  E1NWF: [7, 7],
  nASSGIreq: [8, 8],
  RWP: [31, 31],
});

/** GICD_TYPER (RO). */
export const GICD_TYPER = defineReg('GICD_TYPER', {
  ITLinesNumber: [4, 0],
  CPUNumber: [7, 5],
  ESPI: [8, 8],
  NMI: [9, 9],
  SecurityExtn: [10, 10],
  num_LPIs: [15, 11],
  MBIS: [16, 16],
  LPIS: [17, 17],
  DVIS: [18, 18],
  IDbits: [23, 19],
  A3V: [24, 24],
  No1N: [25, 25],
  RSS: [26, 26],
  ESPI_range: [31, 27],
});

/** GICD_TYPER2 (GICv4.1; IHI 0069, GICD_TYPER2): VID = vPEID bits - 1 (meaningful when VIL = 1; VIL = 0 means 16 bits), nASSGIcap. */
export const GICD_TYPER2 = defineReg('GICD_TYPER2', {
  VID: [4, 0],
  VIL: [7, 7],
  nASSGIcap: [8, 8],
});

/** GICD_IIDR and GICR_IIDR (same layout). */
export const GIC_IIDR = defineReg('GIC_IIDR', {
  Implementer: [11, 0],
  Revision: [15, 12],
  Variant: [19, 16],
  ProductID: [31, 24],
});

/** GICD_PIDR2 / GICR_PIDR2: only ArchRev is architected for software's use. */
export const GIC_PIDR2 = defineReg('GIC_PIDR2', { ArchRev: [7, 4] });

/** GICD_IROUTER<n> (64-bit; every field below bit 40, so a number). */
export const GICD_IROUTER = defineReg('GICD_IROUTER', {
  Aff0: [7, 0],
  Aff1: [15, 8],
  Aff2: [23, 16],
  Interrupt_Routing_Mode: [31, 31],
  Aff3: [39, 32],
});

/** GICR_CTLR. */
export const GICR_CTLR = defineReg('GICR_CTLR', {
  EnableLPIs: [0, 0],
  CES: [1, 1],
  IR: [2, 2],
  RWP: [3, 3],
  DPG0: [24, 24],
  DPG1NS: [25, 25],
  DPG1S: [26, 26],
  UWP: [31, 31],
});

/** GICR_TYPER (64-bit RO; Affinity reaches bit 63, so a bigint). */
export const GICR_TYPER = defineReg64('GICR_TYPER', {
  PLPIS: [0, 0],
  VLPIS: [1, 1],
  Dirty: [2, 2],
  DirectLPI: [3, 3],
  Last: [4, 4],
  DPGS: [5, 5],
  MPAM: [6, 6],
  RVPEID: [7, 7],
  Processor_Number: [23, 8],
  CommonLPIAff: [25, 24],
  VSGI: [26, 26],
  PPInum: [31, 27],
  Aff0: [39, 32],
  Aff1: [47, 40],
  Aff2: [55, 48],
  Aff3: [63, 56],
});

/** GICR_WAKER. */
export const GICR_WAKER = defineReg('GICR_WAKER', {
  ProcessorSleep: [1, 1],
  ChildrenAsleep: [2, 2],
});

/** GICR_PROPBASER: the LPI configuration table (PA is bits [51:12] of the address, in place). */
export const GICR_PROPBASER = defineReg64('GICR_PROPBASER', {
  IDbits: [4, 0],
  InnerCache: [9, 7],
  Shareability: [11, 10],
  PA: [51, 12],
  OuterCache: [58, 56],
});

/** GICR_PENDBASER: the LPI pending table (PA is bits [51:16] of the address, in place; PTZ is a write-only hint). */
export const GICR_PENDBASER = defineReg64('GICR_PENDBASER', {
  InnerCache: [9, 7],
  Shareability: [11, 10],
  PA: [51, 16],
  OuterCache: [58, 56],
  PTZ: [62, 62],
});

/**
 * GICR_SETLPIR, GICR_CLRLPIR, GICR_INVLPIR: the INTID in [31:0]. (The GICv4.1 vPEID/V fields
 * of INVLPIR/INVALLR are not implemented: this is a GICv4.0 model, they are RES0.)
 */
export const GICR_LPIR = defineReg('GICR_LPIR', { pINTID: [31, 0] });

/** GICR_SYNCR (RO). */
export const GICR_SYNCR = defineReg('GICR_SYNCR', { Busy: [0, 0] });

/** One byte of the LPI configuration table (IHI 0069H §5.1 "LPIs"). Priority holds priority bits [7:2]. */
export const LPI_CONFIG = defineReg('LPI configuration byte', {
  Enable: [0, 0],
  Group1: [1, 1],
  Priority: [7, 2],
});

/**
 * ICC_CTLR_EL1 (IHI 0069), and ICV_CTLR_EL1: the virtual CPU interface presents the same
 * layout, with PMHE RES0 (virtual-cpu-interface.ts builds its value with PMHE = 0).
 */
export const ICC_CTLR = defineReg('ICC_CTLR_EL1', {
  CBPR: [0, 0],
  EOImode: [1, 1],
  PMHE: [6, 6],
  PRIbits: [10, 8],
  IDbits: [13, 11],
  SEIS: [14, 14],
  A3V: [15, 15],
  RSS: [18, 18],
  ExtRange: [19, 19],
});

/** ICC_SGI1R_EL1, ICC_ASGI1R_EL1 and ICC_SGI0R_EL1 share this layout (64-bit WO, Aff3 above bit 52). */
export const ICC_SGIR = defineReg64('ICC_SGI1R_EL1', {
  TargetList: [15, 0],
  Aff1: [23, 16],
  INTID: [27, 24],
  Aff2: [39, 32],
  IRM: [40, 40],
  RS: [47, 44],
  Aff3: [55, 48],
});

/** ICC_IAR0/1, ICC_EOIR0/1, ICC_HPPIR0/1, ICC_DIR: the INTID. */
export const ICC_INTID = defineReg('ICC_INTID', { INTID: [23, 0] });

/** ICC_PMR_EL1 and ICC_RPR_EL1. */
export const ICC_PRIORITY = defineReg('ICC_PMR_EL1', { Priority: [7, 0] });

/** ICC_BPR0_EL1 / ICC_BPR1_EL1. */
export const ICC_BPR = defineReg('ICC_BPR_EL1', { BinaryPoint: [2, 0] });

/** ICC_IGRPEN0_EL1 / ICC_IGRPEN1_EL1. */
export const ICC_IGRPEN = defineReg('ICC_IGRPEN_EL1', { Enable: [0, 0] });

/** Value of GICD_IIDR/GICR_IIDR: Arm as implementer; CHOICE: ProductID, Variant and Revision 0 (no real product is claimed). */
export const IIDR_VALUE = GIC_IIDR.encode({ Implementer: 0x43b });

// ---- INTID map (IHI 0069H §2.2 "INTIDs") ----
export const SGI_COUNT = 16;
/** SGIs and PPIs: the INTIDs each redistributor holds. */
export const PRIVATE_COUNT = 32;
/** First special INTID; 1023 = spurious ("no interrupt"). */
export const INTID_SPECIAL = 1020;
export const INTID_SPURIOUS = 1023;
export const LPI_BASE = 8192;
/** Keys that order candidates: priority * 2^24 + INTID (lower is better; ties go to the lower INTID). */
export const KEY_PRIORITY_UNIT = 2 ** 24;
