/**
 * System registers: the (op0, op1, CRn, CRm, op2) encoding of each, the access rules that
 * decide between "access", "UNDEFINED" and "trap to EL2", and the per-machine registry
 * through which other layers (gic/ adds ICC_*, ICV_*, ICH_*) attach their registers to the
 * PEs without core importing them.
 */
import type { Word } from './bits.js';
import type { PE } from './pe.js';

export interface SysReg {
  readonly name: string;
  readonly op0: number;
  readonly op1: number;
  readonly crn: number;
  readonly crm: number;
  readonly op2: number;
  /** op0:op1:CRn:CRm:op2 packed into 16 bits: the registry's index. */
  readonly key: number;
}

export function sysreg(name: string, op0: number, op1: number, crn: number, crm: number, op2: number): SysReg {
  const key = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  return Object.freeze({ name, op0, op1, crn, crm, op2, key });
}

/**
 * The A64 instruction word of `MRS Xt, reg` (read) or `MSR reg, Xt`: [31:22] = 0b1101010100,
 * [21] = L, [20] = 1, [19] = op0[0], [18:16] op1, [15:12] CRn, [11:8] CRm, [7:5] op2, [4:0] Rt.
 */
export function encodeMrsMsr(reg: SysReg, rt: number, read: boolean): number {
  return (
    (0b1101010100 << 22) + ((read ? 1 : 0) << 21) + (1 << 20) + ((reg.op0 & 1) << 19) +
    (reg.op1 << 16) + (reg.crn << 12) + (reg.crm << 8) + (reg.op2 << 5) + rt
  ) >>> 0;
}

/** Outcome of the access check that precedes every MRS/MSR. */
export const Access = {
  /** The access happens. */
  Ok: 0,
  /** UNDEFINED: EC 0x00 to EL1 (from EL0/EL1) or to EL2 (from EL2). */
  Undefined: 1,
  /** Trapped to EL2 with EC 0x18 and the access in the syndrome. */
  TrapEl2: 2,
  /**
   * Trapped to EL1 with EC 0x18 and the access in the syndrome: an EL0 access that an EL1
   * control forbids (SCTLR_EL1.UMA for DAIF, CNTKCTL_EL1 for the generic timer).
   */
  TrapEl1: 3,
} as const;
export type Access = (typeof Access)[keyof typeof Access];

export interface SysRegHandler {
  readonly reg: SysReg;
  /** Values are bigint (fields above bit 52) instead of number. */
  readonly wide: boolean;
  readonly readCost: number;
  readonly writeCost: number;
  access(pe: PE, read: boolean): Access;
  read(pe: PE): Word;
  write(pe: PE, value: Word): void;
}

export interface HandlerSpec {
  reg: SysReg;
  /** Lowest EL that may access it (from lower ELs: UNDEFINED). */
  minEl: 0 | 1 | 2;
  wide?: boolean;
  /** Read-only: MSR is UNDEFINED. */
  ro?: boolean;
  /** Write-only: MRS is UNDEFINED. */
  wo?: boolean;
  readCost: number;
  writeCost?: number;
  /** Extra rule checked after the EL rule: return TrapEl2, TrapEl1 (or Undefined) to stop the access. */
  trap?: (pe: PE, read: boolean) => Access;
  read?: (pe: PE) => Word;
  write?: (pe: PE, value: Word) => void;
}

/** Builds a handler from the common rules: minimum EL, RO/WO, then `trap`. */
export function handler(spec: HandlerSpec): SysRegHandler {
  const { minEl, ro = false, wo = false, trap } = spec;
  const read = spec.read ?? (() => 0);
  const write = spec.write ?? (() => {});
  return {
    reg: spec.reg,
    wide: spec.wide ?? false,
    readCost: spec.readCost,
    writeCost: spec.writeCost ?? spec.readCost,
    access(pe: PE, isRead: boolean): Access {
      if (pe.el < minEl) return Access.Undefined;
      if (isRead ? wo : ro) return Access.Undefined;
      return trap === undefined ? Access.Ok : trap(pe, isRead);
    },
    read,
    write,
  };
}

/** The system registers of one machine, indexed by encoding. */
export class SysRegRegistry {
  private readonly table: (SysRegHandler | undefined)[] = new Array(1 << 16);

  define(h: SysRegHandler): void {
    if (this.table[h.reg.key] !== undefined) throw new Error(`system register ${h.reg.name} defined twice (encoding clash with ${this.table[h.reg.key]!.reg.name})`);
    this.table[h.reg.key] = h;
  }

  get(key: number): SysRegHandler | undefined {
    return this.table[key];
  }
}
