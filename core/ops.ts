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
 *
 * Synchronization (Arm ARM DDI 0487 B2.9 "Synchronization and semaphores", C6 instruction pages):
 * LDXR/LDAXR/STXR/STLXR/CLREX use the exclusive monitors (`exclusive-monitor.ts`); LDAR/STLR are
 * ordinary single-copy-atomic accesses with acquire/release ordering; CAS/SWP/LDADD/LDCLR/LDSET/
 * LDEOR are the FEAT_LSE atomics, one op that reads and writes memory atomically. Memory here is
 * coherent and sequentially consistent, so every ordering (the A/L forms, LDAR/STLR) is only a
 * cost (`acquireRelease` in costs.ts).
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
  /** LDXR/LDAXR (ord = ORD_ACQUIRE). */
  LDXR: 25,
  /** STXR/STLXR (ord = ORD_RELEASE). */
  STXR: 26,
  CLREX: 27,
  LDAR: 28,
  STLR: 29,
  CAS: 30,
  SWP: 31,
  LDADD: 32,
  LDCLR: 33,
  LDSET: 34,
  LDEOR: 35,
  SEVL: 36,
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

/** Ordering of an LSE atomic, a bit mask: the A (acquire), L (release) and AL forms (CASA, SWPL, LDADDAL, ...). */
export const ORD_ACQUIRE = 1;
export const ORD_RELEASE = 2;
/** ORD_ACQUIRE | ORD_RELEASE: the AL forms (CASAL, SWPAL, LDADDAL, ...). */
export const ORD_ACQUIRE_RELEASE = 3;

/** Access sizes in bytes of loads, stores and atomics. */
export type AccessSize = 1 | 2 | 4 | 8;

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
  /** Second operand: the new value (Xt) of CAS. */
  value2: Word = 0;
  /** Second register: the status register W<s> of STXR, the compare/result register X<s> of CAS. */
  rs = 0;
  /** Ordering (ORD_ACQUIRE | ORD_RELEASE) of the exclusive, acquire/release and atomic ops. */
  ord = 0;
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
    this.value2 = o.value2;
    this.rs = o.rs;
    this.ord = o.ord;
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
/**
 * Sequence number of the op built last (the PE checks the op it receives against it). It counts
 * from 1 to 2^30 - 1 and then again from 2, so that it stays a small integer (a Smi) for ever and
 * the two records keep alternating: past 2^31 a plain count became a heap number, one allocation
 * per op built, and changed the representation of `Op.seq` and `Machine.lastOpSeq` under running
 * code (a loop of NOPs ran 1.2x slower, steady injected about 1.05x slower). 0 is never built: it
 * is the `CALL` marker's. A stale op is caught unless exactly a multiple of 2^30 - 2 ops were
 * built in between.
 */
export let builtSeq = 0;

function build(kind: OpKind): Op {
  const n = builtSeq === 0x3fffffff ? 2 : builtSeq + 1;
  builtSeq = n;
  const op = POOL[n & 1]!;
  op.kind = kind;
  op.seq = n;
  return op;
}

/**
 * A sub-program call run by the PE instead of by `yield*` delegation:
 * `const r: R = yield call(sub(args))` computes the same ops in the same order as
 * `const r = yield* sub(args)`, but the PE runs `sub` itself (its thread keeps the caller
 * suspended beneath it, threads.ts) and resumes the caller with `sub`'s return value when it
 * returns. Under `yield*` every op of a program nested d levels deep resumes d generators (each
 * level forwards it); under `call` one, whatever the depth, for about one resumption more per
 * call. So deep, long-running paths (the hypervisor's exit, schedule and residency programs)
 * use `call`; short leaf helpers keep `yield*`. The value of the `yield` is the sub-program's
 * return value, untyped: annotate it. Only a program run by a PE can make calls.
 */
export function call<R>(sub: Program<R>): Op {
  // The PE recognises the marker and takes `callee` (pe.ts `followCalls`); as with ops, build it inside the yield.
  callee = sub;
  return CALL;
}
/** The marker `call` yields, and the sub-program it names (taken by the PE that fetches the marker). */
export const CALL = new Op();
let callee: Program<unknown> | null = null;
/** The PE takes the sub-program of the CALL it fetched (one call is in flight at a time, like one op). */
export function takeCallee(): Program<unknown> | null {
  const g = callee;
  callee = null;
  return g;
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

function callOp(kind: OpKind, imm: number, args: readonly Word[]): Op {
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
  return callOp(OpKind.HVC, imm, args);
}

/** SVC #imm, with x0..x3 first set to `args`: result is x0 after return. */
export function svc(imm = 0, ...args: Word[]): Op {
  return callOp(OpKind.SVC, imm, args);
}

/** SMC #imm, with x0..x3 first set to `args`: result is x0 after return. */
export function smc(imm = 0, ...args: Word[]): Op {
  return callOp(OpKind.SMC, imm, args);
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

// ---------------------------------------------------------------- synchronization

/**
 * LDXR (Load Exclusive Register, C6): loads `size` bytes into x<rt> and marks the local and
 * global exclusive monitors for the reservation granule (B2.9). Result: the value loaded
 * (bigint for 8 bytes). The address must be aligned to `size`; MMIO takes a Data Abort (DFSC 0x35).
 */
export function ldxr(addr: number, size: AccessSize = 8, rt = 0): Op {
  return exclusiveLoad(addr, size, rt, 0);
}

/** LDAXR (Load-Acquire Exclusive Register): LDXR with acquire ordering. */
export function ldaxr(addr: number, size: AccessSize = 8, rt = 0): Op {
  return exclusiveLoad(addr, size, rt, ORD_ACQUIRE);
}

function exclusiveLoad(addr: number, size: AccessSize, rt: number, ord: number): Op {
  const op = build(OpKind.LDXR);
  op.addr = addr;
  op.size = size;
  op.rt = rt;
  op.ord = ord;
  return op;
}

/**
 * STXR W<rs>, X<rt>, [addr] (Store Exclusive Register, C6): x<rt> is first set to `value`; the
 * store happens only if this PE's local monitor is Exclusive for the granule of `addr` and its
 * global mark survives (B2.9). Result: the status written to W<rs>, 0 = stored, 1 = failed (no
 * store). Either way the monitors are cleared.
 */
export function stxr(addr: number, value: Word, size: AccessSize = 8, rs = 0, rt = 1): Op {
  return exclusiveStore(addr, value, size, rs, rt, 0);
}

/** STLXR (Store-Release Exclusive Register): STXR with release ordering. */
export function stlxr(addr: number, value: Word, size: AccessSize = 8, rs = 0, rt = 1): Op {
  return exclusiveStore(addr, value, size, rs, rt, ORD_RELEASE);
}

function exclusiveStore(addr: number, value: Word, size: AccessSize, rs: number, rt: number, ord: number): Op {
  const op = build(OpKind.STXR);
  op.addr = addr;
  op.value = value;
  op.size = size;
  op.rs = rs;
  op.rt = rt;
  op.ord = ord;
  return op;
}

/** CLREX (Clear Exclusive, C6): the local monitor of this PE becomes Open. */
export function clrex(): Op {
  return build(OpKind.CLREX);
}

/** LDAR (Load-Acquire Register): a load of `size` bytes into x<rt> with acquire ordering. */
export function ldar(addr: number, size: AccessSize = 8, rt = 0): Op {
  const op = build(OpKind.LDAR);
  op.addr = addr;
  op.size = size;
  op.rt = rt;
  op.ord = ORD_ACQUIRE;
  return op;
}

/** STLR (Store-Release Register): x<rt> is first set to `value`, then stored with release ordering. */
export function stlr(addr: number, value: Word, size: AccessSize = 8, rt = 0): Op {
  const op = build(OpKind.STLR);
  op.addr = addr;
  op.value = value;
  op.size = size;
  op.rt = rt;
  op.ord = ORD_RELEASE;
  return op;
}

/**
 * CAS X<rs>, X<rt>, [addr] (Compare and Swap, FEAT_LSE; CASA/CASL/CASAL with `ord`): x<rs> is
 * first set to `expected` and x<rt> to `desired`; atomically, memory is read and, if it equals
 * x<rs>, x<rt> is stored. The old value of memory is written to x<rs> either way, and is the
 * result (compare it with `expected` to know whether the swap happened).
 */
export function cas(addr: number, expected: Word, desired: Word, size: AccessSize = 8, ord = 0, rs = 0, rt = 1): Op {
  const op = build(OpKind.CAS);
  op.addr = addr;
  op.value = expected;
  op.value2 = desired;
  op.size = size;
  op.ord = ord;
  op.rs = rs;
  op.rt = rt;
  return op;
}

function atomicOp(kind: OpKind, addr: number, value: Word, size: AccessSize, ord: number, rt: number): Op {
  const op = build(kind);
  op.addr = addr;
  op.value = value;
  op.size = size;
  op.ord = ord;
  op.rt = rt;
  return op;
}

/*
 * The LSE read-modify-write atomics below take their operand in x<rt> (first set to `value`)
 * and leave the old value of memory in x<rt>, as SWP/LD<op> Xs, Xt, [Xn] with Xs = Xt does.
 * Result: the old value. Arithmetic wraps at the access size.
 */

/** SWP (Swap, FEAT_LSE): memory = value; result: the old value. */
export function swp(addr: number, value: Word, size: AccessSize = 8, ord = 0, rt = 0): Op {
  return atomicOp(OpKind.SWP, addr, value, size, ord, rt);
}

/** LDADD (atomic add, FEAT_LSE): memory += value (wrapping); result: the old value. */
export function ldadd(addr: number, value: Word, size: AccessSize = 8, ord = 0, rt = 0): Op {
  return atomicOp(OpKind.LDADD, addr, value, size, ord, rt);
}

/** LDCLR (atomic bit clear, FEAT_LSE): memory &= ~value; result: the old value. */
export function ldclr(addr: number, value: Word, size: AccessSize = 8, ord = 0, rt = 0): Op {
  return atomicOp(OpKind.LDCLR, addr, value, size, ord, rt);
}

/** LDSET (atomic bit set, FEAT_LSE): memory |= value; result: the old value. */
export function ldset(addr: number, value: Word, size: AccessSize = 8, ord = 0, rt = 0): Op {
  return atomicOp(OpKind.LDSET, addr, value, size, ord, rt);
}

/** LDEOR (atomic exclusive OR, FEAT_LSE): memory ^= value; result: the old value. */
export function ldeor(addr: number, value: Word, size: AccessSize = 8, ord = 0, rt = 0): Op {
  return atomicOp(OpKind.LDEOR, addr, value, size, ord, rt);
}

/** SEVL (Send Event Local): sets this PE's own event register (the first WFE of a spin loop falls through). */
export function sevl(): Op {
  return build(OpKind.SEVL);
}
