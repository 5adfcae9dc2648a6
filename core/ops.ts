/**
 * The instruction set that programs run on a PE.
 *
 * A program is a generator that yields one op per instruction and receives the op's result
 * (the value of its transfer register for MRS/LDR/GETX, x0 for HVC/SVC/SMC). Build each op
 * inside the `yield` expression: `const iar = yield mrs(ICC_IAR1_EL1)`. Builders fill one of
 * two preallocated records instead of allocating, so executing an op allocates nothing; the
 * PE checks that the op it receives is the one built last and stops a program that keeps
 * ops around (`const a = mrs(X); yield mrs(Y); yield a` would execute the wrong op).
 *
 * Values follow `Word`: an MRS of a register declared wide, and an 8-byte LDR, give bigint;
 * everything else gives number.
 */
import type { Word } from './bits.js';
import type { SysReg } from './sysreg.js';

/** A program: yields ops, receives their results. */
export type Program<R = void> = Generator<Op, R, any>;
/** The code at an address: starts a program there. */
export type EntryFn = () => Program<unknown>;

export const OpKind = {
  MRS: 0,
  MSR: 1,
  LDR: 2,
  STR: 3,
  HVC: 4,
  SVC: 5,
  SMC: 6,
  WFI: 7,
  WFE: 8,
  SEV: 9,
  ERET: 10,
  WORK: 11,
  ISB: 12,
  DSB: 13,
  DMB: 14,
  DAIFSET: 15,
  DAIFCLR: 16,
  GETX: 17,
  SETX: 18,
  TLBI: 19,
  NOP: 20,
  SAVEX: 21,
  RESTOREX: 22,
  MRSN: 23,
  MSRN: 24,
} as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

/** TLB maintenance operations (the subset a stage-2-only machine needs). */
export const Tlbi = {
  /** All stage 1 and 2 entries of the current VMID, this PE. */
  VMALLS12E1: 0,
  /** ... broadcast to the Inner Shareable domain (all PEs). */
  VMALLS12E1IS: 1,
  /** Stage-2 entries for IPA (arg = IPA >> 12) of the current VMID, this PE. */
  IPAS2E1: 2,
  IPAS2E1IS: 3,
  /** All EL1&0 entries of every VMID, broadcast. */
  ALLE1IS: 4,
  /** Stage-1 EL1 entries of the current VMID (no stage 1 here: nothing cached), this PE. */
  VMALLE1: 5,
  VMALLE1IS: 6,
} as const;
export type Tlbi = (typeof Tlbi)[keyof typeof Tlbi];
export const TLBI_NAMES: readonly string[] = Object.keys(Tlbi);

/** DAIF immediates for `daifset`/`daifclr` (MSR DAIFSet, #imm: D=8, A=4, I=2, F=1). */
export const DAIF_D = 8;
export const DAIF_A = 4;
export const DAIF_I = 2;
export const DAIF_F = 1;

export class Op {
  kind: OpKind = OpKind.NOP;
  reg: SysReg | null = null;
  addr = 0;
  size = 4;
  rt = 0;
  value: Word = 0;
  imm = 0;
  /** Argument registers x0..x3 written by HVC/SVC/SMC before the call; `argc` of them. */
  argc = 0;
  a0: Word = 0;
  a1: Word = 0;
  a2: Word = 0;
  a3: Word = 0;
  /** Register file image for SAVEX/RESTOREX; values for MRSN/MSRN. */
  regs: Word[] | null = null;
  /** The system registers of MRSN/MSRN. */
  sysregs: readonly SysReg[] | null = null;
  /** Build sequence number (checked by the PE). */
  seq = 0;

  copyFrom(o: Op): void {
    this.kind = o.kind;
    this.reg = o.reg;
    this.addr = o.addr;
    this.size = o.size;
    this.rt = o.rt;
    this.value = o.value;
    this.imm = o.imm;
    this.argc = o.argc;
    this.a0 = o.a0;
    this.a1 = o.a1;
    this.a2 = o.a2;
    this.a3 = o.a3;
    this.regs = o.regs;
    this.sysregs = o.sysregs;
    this.seq = o.seq;
  }
}

const POOL = [new Op(), new Op()];
/** Sequence number of the op built last (the PE checks the op it receives against it). */
export let builtSeq = 0;

function build(kind: OpKind): Op {
  const n = ++builtSeq;
  const op = POOL[n & 1]!;
  op.kind = kind;
  op.seq = n;
  return op;
}

/** MRS x<rt>, <reg>: result is the register's value. */
export function mrs(reg: SysReg, rt = 0): Op {
  const op = build(OpKind.MRS);
  op.reg = reg;
  op.rt = rt;
  return op;
}

/** MSR <reg>, x<rt> (x<rt> is first set to `value`). */
export function msr(reg: SysReg, value: Word, rt = 0): Op {
  const op = build(OpKind.MSR);
  op.reg = reg;
  op.value = value;
  op.rt = rt;
  return op;
}

/** LDR of `size` bytes (1, 2, 4, 8) into x<rt>: result is the value loaded. */
export function ldr(addr: number, size: 1 | 2 | 4 | 8 = 4, rt = 0): Op {
  const op = build(OpKind.LDR);
  op.addr = addr;
  op.size = size;
  op.rt = rt;
  return op;
}

/** STR of `size` bytes from x<rt> (x<rt> is first set to `value`). */
export function str(addr: number, value: Word, size: 1 | 2 | 4 | 8 = 4, rt = 0): Op {
  const op = build(OpKind.STR);
  op.addr = addr;
  op.value = value;
  op.size = size;
  op.rt = rt;
  return op;
}

function call(kind: OpKind, imm: number, args: readonly Word[]): Op {
  const op = build(kind);
  op.imm = imm & 0xffff;
  op.argc = args.length;
  op.a0 = args[0] ?? 0;
  op.a1 = args[1] ?? 0;
  op.a2 = args[2] ?? 0;
  op.a3 = args[3] ?? 0;
  return op;
}

/** HVC #imm, with x0..x3 first set to `args`: result is x0 after return. */
export function hvc(imm = 0, ...args: Word[]): Op {
  return call(OpKind.HVC, imm, args);
}

/** SVC #imm, with x0..x3 first set to `args`: result is x0 after return. */
export function svc(imm = 0, ...args: Word[]): Op {
  return call(OpKind.SVC, imm, args);
}

/** SMC #imm, with x0..x3 first set to `args`: result is x0 after return. */
export function smc(imm = 0, ...args: Word[]): Op {
  return call(OpKind.SMC, imm, args);
}

export function wfi(): Op {
  return build(OpKind.WFI);
}

export function wfe(): Op {
  return build(OpKind.WFE);
}

export function sev(): Op {
  return build(OpKind.SEV);
}

export function eret(): Op {
  return build(OpKind.ERET);
}

/** `cycles` cycles of straight-line code; interrupts are taken in between (the op resumes). */
export function work(cycles: number): Op {
  const op = build(OpKind.WORK);
  op.imm = Math.max(0, Math.round(cycles));
  return op;
}

export function isb(): Op {
  return build(OpKind.ISB);
}

export function dsb(): Op {
  return build(OpKind.DSB);
}

export function dmb(): Op {
  return build(OpKind.DMB);
}

/** MSR DAIFSet, #mask (mask: DAIF_D | DAIF_A | DAIF_I | DAIF_F). */
export function daifset(mask: number): Op {
  const op = build(OpKind.DAIFSET);
  op.imm = mask & 0xf;
  return op;
}

/** MSR DAIFClr, #mask. */
export function daifclr(mask: number): Op {
  const op = build(OpKind.DAIFCLR);
  op.imm = mask & 0xf;
  return op;
}

/** Reads general register x<n> (a MOV to the program): result is its value. */
export function getx(n: number): Op {
  const op = build(OpKind.GETX);
  op.rt = n;
  return op;
}

/** Writes general register x<n>. */
export function setx(n: number, value: Word): Op {
  const op = build(OpKind.SETX);
  op.rt = n;
  op.value = value;
  return op;
}

/** TLBI <op>, with `arg` = IPA >> 12 for the by-IPA forms. */
export function tlbi(which: Tlbi, arg = 0): Op {
  const op = build(OpKind.TLBI);
  op.imm = which;
  op.addr = arg;
  return op;
}

export function nop(): Op {
  return build(OpKind.NOP);
}

/** Stores x0..x30 into `into` (31 entries), costed as 16 STPs. */
export function savex(into: Word[]): Op {
  const op = build(OpKind.SAVEX);
  op.regs = into;
  return op;
}

/** Loads x0..x30 from `from`, costed as 16 LDPs. */
export function restorex(from: Word[]): Op {
  const op = build(OpKind.RESTOREX);
  op.regs = from;
  return op;
}

/**
 * A run of MRS, one per register of `list`, into `into` (same index): what a world switch's
 * save sequence does. Each access is checked and charged as its own MRS; if any of them is not
 * allowed at this EL the whole run is UNDEFINED before any access (use it for EL2 context
 * switching, where every access is allowed).
 */
export function mrsn(list: readonly SysReg[], into: Word[]): Op {
  const op = build(OpKind.MRSN);
  op.sysregs = list;
  op.regs = into;
  return op;
}

/** A run of MSR, one per register of `list`, from `values` (same index). See `mrsn`. */
export function msrn(list: readonly SysReg[], values: Word[]): Op {
  const op = build(OpKind.MSRN);
  op.sysregs = list;
  op.regs = values;
  return op;
}
