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
  /**
   * A plain register (core/plain-sysregs.ts): MRS reads `pe.plain[slot]` (`reset` before the
   * first write), MSR writes it; give no `read`/`write`. The PE reads and writes the slot itself,
   * without calling the handler.
   */
  slot?: number;
  reset?: Word;
}

/**
 * A handler built by `handler`: its access rule is data (minimum EL, RO/WO, an optional extra
 * `trap`), which the registry's entry checks inline instead of calling a closure per access.
 */
class SpecHandler implements SysRegHandler {
  readonly wide: boolean;
  readonly readCost: number;
  readonly writeCost: number;
  readonly minEl: number;
  readonly ro: boolean;
  readonly wo: boolean;
  readonly trap: ((pe: PE, read: boolean) => Access) | null;
  readonly read: (pe: PE) => Word;
  readonly write: (pe: PE, value: Word) => void;
  /** A plain register's slot in `PE.plain` (-1: not plain) and its reset value. */
  readonly slot: number;
  readonly reset: Word;

  constructor(
    readonly reg: SysReg,
    spec: HandlerSpec,
  ) {
    this.wide = spec.wide ?? false;
    this.readCost = spec.readCost;
    this.writeCost = spec.writeCost ?? spec.readCost;
    this.minEl = spec.minEl;
    this.ro = spec.ro ?? false;
    this.wo = spec.wo ?? false;
    this.trap = spec.trap ?? null;
    const slot = spec.slot ?? -1;
    const reset = spec.reset ?? 0;
    this.slot = slot;
    this.reset = reset;
    if (slot >= 0) {
      this.read = (pe) => pe.plain[slot] ?? reset;
      this.write = (pe, v) => {
        pe.plain[slot] = v;
      };
    } else {
      this.read = spec.read ?? (() => 0);
      this.write = spec.write ?? (() => {});
    }
  }

  access(pe: PE, isRead: boolean): Access {
    if (pe.el < this.minEl) return Access.Undefined;
    if (isRead ? this.wo : this.ro) return Access.Undefined;
    const trap = this.trap;
    return trap === null ? Access.Ok : trap(pe, isRead);
  }
}

/** Builds a handler from the common rules: minimum EL, RO/WO, then `trap`. */
export function handler(spec: HandlerSpec): SysRegHandler {
  return new SpecHandler(spec.reg, spec);
}

/**
 * What the registry keeps for one encoding: the handler's members copied into one object shape,
 * so that the PE's loads of them are monomorphic whichever layer built the handler (core's
 * `handler`, gic/'s object literals), and a `handler`-built register's access rule as data,
 * checked without a call. The PE calls the handler's functions with the handler as receiver.
 */
export class SysRegEntry {
  readonly reg: SysReg;
  readonly wide: boolean;
  readonly readCost: number;
  readonly writeCost: number;
  /** The access rule of a `handler`-built register; `minEl` -1 for a handler with its own `access`. */
  private readonly minEl: number;
  private readonly ro: boolean;
  private readonly wo: boolean;
  private readonly trap: ((pe: PE, read: boolean) => Access) | null;
  private readonly accessFn: (pe: PE, read: boolean) => Access;
  private readonly readFn: (pe: PE) => Word;
  private readonly writeFn: (pe: PE, value: Word) => void;
  /**
   * A plain register's slot in `PE.plain`, or -1, and its reset value: the PE accesses the slot
   * inline (what the handler's `read`/`write` do, without the call through the entry).
   */
  readonly slot: number;
  readonly reset: Word;

  constructor(readonly h: SysRegHandler) {
    this.reg = h.reg;
    this.wide = h.wide;
    this.readCost = h.readCost;
    this.writeCost = h.writeCost;
    const spec = h instanceof SpecHandler ? h : null;
    this.minEl = spec !== null ? spec.minEl : -1;
    this.ro = spec !== null && spec.ro;
    this.wo = spec !== null && spec.wo;
    this.trap = spec !== null ? spec.trap : null;
    this.slot = spec !== null ? spec.slot : -1;
    this.reset = spec !== null ? spec.reset : 0;
    this.accessFn = h.access;
    this.readFn = h.read;
    this.writeFn = h.write;
  }

  /** The handler's access check (`SysRegHandler.access`). */
  access(pe: PE, read: boolean): Access {
    const min = this.minEl;
    if (min < 0) return this.accessFn.call(this.h, pe, read);
    if (pe.el < min || (read ? this.wo : this.ro)) return Access.Undefined;
    const trap = this.trap;
    return trap === null ? Access.Ok : trap(pe, read);
  }

  read(pe: PE): Word {
    return this.readFn.call(this.h, pe);
  }

  write(pe: PE, value: Word): void {
    this.writeFn.call(this.h, pe, value);
  }
}

/** The system registers of one machine, indexed by encoding. */
export class SysRegRegistry {
  private readonly table: (SysRegEntry | undefined)[] = new Array(1 << 16);

  define(h: SysRegHandler): void {
    if (this.table[h.reg.key] !== undefined) throw new Error(`system register ${h.reg.name} defined twice (encoding clash with ${this.table[h.reg.key]!.reg.name})`);
    this.table[h.reg.key] = new SysRegEntry(h);
  }

  get(key: number): SysRegEntry | undefined {
    return this.table[key];
  }
}
