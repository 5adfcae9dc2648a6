/**
 * Layouts of the virtualization control registers (ICH_*_EL2), declared once by name with
 * `[hi, lo]` positions as the IHI 0069 ICH_*_EL2 register descriptions write them. The virtual
 * CPU interface (virtual-cpu-interface.ts) derives its hot-path shifts and masks from these
 * declarations; hypervisors and tests build and decode values with the same codecs.
 * ICV_CTLR_EL1 is the ICC_CTLR_EL1 layout as the virtual interface presents it (IHI 0069,
 * ICV_CTLR_EL1), so it has no layout of its own: see `ICC_CTLR` in gic-registers.ts.
 *
 * ICH_LR<n>_EL2 has one field whose meaning depends on HW: with HW = 1 bits [41:32] are the
 * pINTID, with HW = 0 bit 41 is EOI (and [40:32] are RES0). Two layouts share the common
 * fields; `encodeLr`/`decodeLr` pick the right one from HW.
 */
import { defineReg, defineReg64, type FieldMap } from '../core/bits.js';

/** ICH_HCR_EL2 (IHI 0069, ICH_HCR_EL2). vSGIEOICount and DVIM are GICv4.1 only (RES0 here). */
export const ICH_HCR = defineReg('ICH_HCR_EL2', {
  En: [0, 0],
  UIE: [1, 1],
  LRENPIE: [2, 2],
  NPIE: [3, 3],
  VGrp0EIE: [4, 4],
  VGrp0DIE: [5, 5],
  VGrp1EIE: [6, 6],
  VGrp1DIE: [7, 7],
  vSGIEOICount: [8, 8],
  TC: [10, 10],
  TALL0: [11, 11],
  TALL1: [12, 12],
  TSEI: [13, 13],
  TDIR: [14, 14],
  DVIM: [15, 15],
  EOIcount: [31, 27],
});

/** ICH_VTR_EL2 (RO; IHI 0069, ICH_VTR_EL2). Count fields hold the count minus one. */
export const ICH_VTR = defineReg('ICH_VTR_EL2', {
  ListRegs: [4, 0],
  DVIM: [18, 18],
  TDS: [19, 19],
  nV4: [20, 20],
  A3V: [21, 21],
  SEIS: [22, 22],
  IDbits: [25, 23],
  PREbits: [28, 26],
  PRIbits: [31, 29],
});

/** ICH_VMCR_EL2 (IHI 0069, ICH_VMCR_EL2): the guest's ICV_* state as EL2 saves and restores it. */
export const ICH_VMCR = defineReg('ICH_VMCR_EL2', {
  VENG0: [0, 0],
  VENG1: [1, 1],
  VAckCtl: [2, 2],
  VFIQEn: [3, 3],
  VCBPR: [4, 4],
  VEOIM: [9, 9],
  VBPR1: [20, 18],
  VBPR0: [23, 21],
  VPMR: [31, 24],
});

/** ICH_MISR_EL2 (RO; IHI 0069, ICH_MISR_EL2): which maintenance interrupt conditions hold. */
export const ICH_MISR = defineReg('ICH_MISR_EL2', {
  EOI: [0, 0],
  U: [1, 1],
  LRENP: [2, 2],
  NP: [3, 3],
  VGrp0E: [4, 4],
  VGrp0D: [5, 5],
  VGrp1E: [6, 6],
  VGrp1D: [7, 7],
});

const LR_COMMON = {
  vINTID: [31, 0],
  Priority: [55, 48],
  Group: [60, 60],
  HW: [61, 61],
  State: [63, 62],
} as const satisfies FieldMap;

/**
 * ICH_LR<n>_EL2 with HW = 1: pINTID [41:32] (10 bits, as Linux and QEMU model it; IHI 0069,
 * ICH_LR<n>_EL2, describes the field as [44:32]: [44:42] kept RES0).
 */
export const ICH_LR_HW = defineReg64('ICH_LR<n>_EL2 (HW=1)', { ...LR_COMMON, pINTID: [41, 32] });
/** ICH_LR<n>_EL2 with HW = 0: EOI [41]; [40:32] RES0. */
export const ICH_LR_SW = defineReg64('ICH_LR<n>_EL2 (HW=0)', { ...LR_COMMON, EOI: [41, 41] });

/** ICH_LR<n>_EL2.State. */
export const LrState = { Invalid: 0, Pending: 1, Active: 2, PendingActive: 3 } as const;
export type LrState = (typeof LrState)[keyof typeof LrState];

/** Every field of a list register; pINTID is meaningful with HW = 1, EOI with HW = 0. */
export interface LrFields {
  vINTID: number;
  pINTID: number;
  EOI: number;
  Priority: number;
  Group: number;
  HW: number;
  State: number;
}

/** Builds an ICH_LR<n>_EL2 value; fields left out are zero (pINTID ignored when HW = 0, EOI when HW = 1). */
export function encodeLr(f: Partial<LrFields>): bigint {
  const common = { vINTID: f.vINTID ?? 0, Priority: f.Priority ?? 0, Group: f.Group ?? 0, HW: f.HW ?? 0, State: f.State ?? 0 };
  return (f.HW ?? 0) !== 0 ? ICH_LR_HW.encode({ ...common, pINTID: f.pINTID ?? 0 }) : ICH_LR_SW.encode({ ...common, EOI: f.EOI ?? 0 });
}

/** Decodes an ICH_LR<n>_EL2 value (pINTID reads 0 when HW = 0, EOI reads 0 when HW = 1). */
export function decodeLr(v: bigint): LrFields {
  if (ICH_LR_HW.get(v, 'HW') !== 0) return { ...ICH_LR_HW.decode(v), EOI: 0 };
  return { ...ICH_LR_SW.decode(v), pINTID: 0 };
}
