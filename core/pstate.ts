/**
 * PSTATE as saved in SPSR_ELx (AArch64 state; Arm ARM DDI 0487, SPSR_EL2 and "Process state,
 * PSTATE"). M[3:0] = EL << 2 | SPSel.
 */
import { defineReg } from './bits.js';

export const SPSR = defineReg('SPSR_ELx', {
  N: [31, 31],
  Z: [30, 30],
  C: [29, 29],
  V: [28, 28],
  PAN: [22, 22],
  SS: [21, 21],
  IL: [20, 20],
  D: [9, 9],
  A: [8, 8],
  I: [7, 7],
  F: [6, 6],
  M4: [4, 4],
  M: [3, 0],
});

/** PSTATE.{D,A,I,F} bits in SPSR/DAIF position. */
export const PSR_D = 0x200;
export const PSR_A = 0x100;
export const PSR_I = 0x80;
export const PSR_F = 0x40;
export const PSR_DAIF = 0x3c0;
export const PSR_IL = 0x100000;
/** PSTATE.{N,Z,C,V}, SPSR bits [31:28] (mask with `&`, then `>>> 0`). */
export const PSR_NZCV = 0xf0000000;

export const MODE = { EL0t: 0b0000, EL1t: 0b0100, EL1h: 0b0101, EL2t: 0b1000, EL2h: 0b1001 } as const;

/** SPSR value for `el` with SP_ELx selected and the given DAIF bits (PSR_* mask). */
export function spsrFor(el: number, daif: number, spsel = 1): number {
  return (daif & PSR_DAIF) | (el << 2) | (el === 0 ? 0 : spsel);
}
