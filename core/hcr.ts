/** HCR_EL2, the bits this machine implements (Arm ARM DDI 0487, HCR_EL2). */
import { defineReg } from './bits.js';

export const HCR = defineReg('HCR_EL2', {
  VM: [0, 0],
  SWIO: [1, 1],
  PTW: [2, 2],
  FMO: [3, 3],
  IMO: [4, 4],
  AMO: [5, 5],
  VF: [6, 6],
  VI: [7, 7],
  VSE: [8, 8],
  FB: [9, 9],
  BSU: [11, 10],
  DC: [12, 12],
  TWI: [13, 13],
  TWE: [14, 14],
  TID0: [15, 15],
  TID1: [16, 16],
  TID2: [17, 17],
  TID3: [18, 18],
  TSC: [19, 19],
  TIDCP: [20, 20],
  TACR: [21, 21],
  TSW: [22, 22],
  TPCP: [23, 23],
  TPU: [24, 24],
  TTLB: [25, 25],
  TVM: [26, 26],
  TGE: [27, 27],
  TDZ: [28, 28],
  HCD: [29, 29],
  TRVM: [30, 30],
  RW: [31, 31],
  CD: [32, 32],
  ID: [33, 33],
  E2H: [34, 34],
});

// Single-bit masks for the hot path (all below bit 32, so 32-bit operators are safe).
export const HCR_VM = 1 << 0;
export const HCR_FMO = 1 << 3;
export const HCR_IMO = 1 << 4;
export const HCR_AMO = 1 << 5;
export const HCR_VF = 1 << 6;
export const HCR_VI = 1 << 7;
export const HCR_VSE = 1 << 8;
export const HCR_TWI = 1 << 13;
export const HCR_TWE = 1 << 14;
export const HCR_TSC = 1 << 19;
export const HCR_TTLB = 1 << 25;
export const HCR_TVM = 1 << 26;
export const HCR_TGE = 1 << 27;
export const HCR_HCD = 1 << 29;
export const HCR_TRVM = 1 << 30;
export const HCR_RW = 2 ** 31;
