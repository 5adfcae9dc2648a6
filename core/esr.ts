/**
 * ESR_ELx and the ISS layouts of the exception classes this machine raises
 * (Arm ARM DDI 0487, ESR_EL2 and its ISS encodings). One codec per format: the PE builds syndromes
 * with these and the hypervisor decodes them with the same declarations.
 */
import { defineReg } from './bits.js';

/** Exception classes, ESR_ELx.EC [31:26]. */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  IABT_LOW: 0x20,
  IABT_CUR: 0x21,
  DABT_LOW: 0x24,
  DABT_CUR: 0x25,
  SERROR: 0x2f,
} as const;

export const EC_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(EC).map(([k, v]) => [v, k]));

export const ESR = defineReg('ESR_ELx', { EC: [31, 26], IL: [25, 25], ISS: [24, 0] });

/** ISS for a Data Abort (EC 0x24/0x25). */
export const ISS_DABT = defineReg('ISS(DABT)', {
  ISV: [24, 24],
  SAS: [23, 22],
  SSE: [21, 21],
  SRT: [20, 16],
  SF: [15, 15],
  AR: [14, 14],
  FnV: [10, 10],
  EA: [9, 9],
  CM: [8, 8],
  S1PTW: [7, 7],
  WnR: [6, 6],
  DFSC: [5, 0],
});

/** ISS for an Instruction Abort (EC 0x20/0x21). */
export const ISS_IABT = defineReg('ISS(IABT)', { FnV: [10, 10], EA: [9, 9], S1PTW: [7, 7], IFSC: [5, 0] });

/** ISS for a trapped MSR/MRS/system instruction (EC 0x18). Direction 1 = read (MRS). */
export const ISS_SYS64 = defineReg('ISS(SYS64)', {
  Op0: [21, 20],
  Op2: [19, 17],
  Op1: [16, 14],
  CRn: [13, 10],
  Rt: [9, 5],
  CRm: [4, 1],
  Direction: [0, 0],
});

/**
 * ISS for a trapped WFI/WFE (EC 0x01). For exceptions taken from AArch64 the Arm ARM sets
 * CV = 1 and COND = 0b1110 (Arm ARM DDI 0487, ESR_EL2, "ISS encoding for an exception from a
 * WF* instruction").
 */
export const ISS_WFX = defineReg('ISS(WFX)', { CV: [24, 24], COND: [23, 20], TI: [1, 0] });

/** ISS for HVC/SVC/SMC: the immediate. */
export const ISS_IMM16 = defineReg('ISS(HVC/SVC/SMC)', { imm16: [15, 0] });

/** Fault status codes (DFSC/IFSC). */
export const FSC = {
  translation: (level: number): number => 0x04 + level,
  accessFlag: (level: number): number => 0x08 + level,
  permission: (level: number): number => 0x0c + level,
  SYNC_EXTERNAL: 0x10,
  ALIGNMENT: 0x21,
  /**
   * IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access), DFSC 0b110101: an
   * exclusive or LSE atomic access to a location that does not support it (here: any MMIO
   * region). Linux calls it ESR_ELx_FSC_EXCL_ATOMIC.
   */
  EXCL_ATOMIC: 0x35,
} as const;

/** ESR value for class `ec` with syndrome `iss` (IL = 1: every trapped A64 instruction is 32-bit). */
export function esrOf(ec: number, iss: number): number {
  return ec * 0x4000000 + 0x2000000 + (iss & 0x1ffffff);
}

/** SAS encoding of an access size in bytes. */
export function sasOf(size: number): number {
  return size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3;
}
