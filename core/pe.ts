/**
 * The processing element: an AArch64-like core with EL0, EL1 and EL2 (no EL3: SMC goes to a
 * firmware model, see psci.ts) that runs programs one op at a time.
 *
 * How it works
 * - `step()` is one instruction boundary. First the PE takes a pending interrupt if PSTATE
 *   and HCR_EL2 allow one (routing: Arm ARM DDI 0487, HCR_EL2.IMO/FMO), then it fetches the
 *   next op of the current thread (or starts a thread at `fetchPc` through stage 2 and the
 *   code map) and executes it.
 * - An op either completes (the thread's position advances and its result is delivered at the
 *   next fetch, read from the transfer register so that a handler can change it), is held
 *   (it trapped or faulted: ELR points at it, ERET to ELR retries it, ERET to ELR+4 skips it),
 *   or puts the PE to sleep (WFI/WFE).
 * - Exception entry saves SPSR/ELR (and ESR/FAR/HPFAR for synchronous exceptions), masks
 *   DAIF, switches EL and starts the vector at VBAR_ELx + offset (Arm ARM DDI 0487, "Exception
 *   vectors") as a new thread.
 * - Every op is charged cycles from the cost table to the PE's local clock; the machine runs
 *   whichever PE or event is earliest, so ops of different PEs interleave in time order.
 */
import { doubleField } from './double-field.js';
import { lo32, toBig, toNum, type Word } from './bits.js';
import { crossesPage, misaligned } from './align.js';
import { BusStatus, type AccessAttrs } from './bus.js';
import type { CostTable } from './costs.js';
import { EC, esrOf, FSC, ISS_DABT, ISS_SYS64, ISS_WFX, sasOf } from './esr.js';
import { HCR_FMO, HCR_HCD, HCR_IMO, HCR_TSC, HCR_TWE, HCR_TWI, HCR_VF, HCR_VI, HCR_VM, HCR_AMO, HCR_VSE } from './hcr.js';
import type { Machine } from './machine.js';
import { builtSeq, CALL, type Op, OpKind, takeCallee, ORD_ACQUIRE, ORD_RELEASE, Tlbi, TLBI_NAMES } from './ops.js';
import { newPlainSlots, PlainRegs, SLOT_SCTLR_EL1 } from './plain-sysregs.js';
import { PSR_A, PSR_DAIF, PSR_F, PSR_I, PSR_IL, PSR_NZCV, spsrFor } from './pstate.js';
import { S2_EXEC, S2_READ, S2_WRITE, Stage2Mmu } from './stage2.js';
import { Access, type SysRegEntry } from './sysreg.js';
import { Result, Thread, isThreadPc } from './threads.js';
import type { GenericTimer } from './timer.js';
import type { ExceptionType } from './trace.js';

export const PeState = { Off: 0, Run: 1, Wfi: 2, Wfe: 3 } as const;
export type PeState = (typeof PeState)[keyof typeof PeState];

// This file writes OpKind, PeState and Result values as literals, each followed by its name in a
// comment (`case 1 /* OpKind.MSR */`), on the per-op path. A module-level constant costs a context
// load and a TDZ check at each use, an imported object's member a cell load and a field load
// (neither compiler inlines a const enum across modules, and tsc not even within one under
// isolatedModules), and a switch with such case labels is a chain of compares where literals give
// a jump table: a loop of NOPs ran 1.25x faster with literals. Every literal followed by a comment
// naming a constant, in core/, is checked against that constant by test/core/literals.test.ts.

/** Interrupt inputs of the PE. */
export const LINE_IRQ = 1;
export const LINE_FIQ = 2;
export const LINE_VIRQ = 4;
export const LINE_VFIQ = 8;
export const LINE_SERROR = 16;
/** Pseudo-input for HCR_EL2.VSE (virtual SError pending). */
const LINE_VSERROR = 32;

const TYPE_OFFSET_IRQ = 0x080;
const TYPE_OFFSET_FIQ = 0x100;
const TYPE_OFFSET_SERROR = 0x180;
/** ESR_ELx of an SError exception (physical or virtual): EC 0x2F, IL = 1, ISS 0. */
const SERROR_ESR = esrOf(EC.SERROR, 0);

/** SCTLR_EL1.UMA (bit 9): EL0 may access DAIF. nTWI (bit 16), nTWE (bit 18): 0 traps EL0 WFI/WFE to EL1. */
const SCTLR_UMA = 1 << 9;
const SCTLR_NTWI = 1 << 16;
const SCTLR_NTWE = 1 << 18;
/** ISS of a trapped WFI and WFE (TI 0 and 1): the same two values every time. */
const WFI_ISS = ISS_WFX.encode({ CV: 1, COND: 0xe, TI: 0 });
const WFE_ISS = ISS_WFX.encode({ CV: 1, COND: 0xe, TI: 1 });

const MASK64 = 0xffff_ffff_ffff_ffffn;

/** The low `size` (1, 2 or 4) bytes of a word, as an unsigned number (no allocation). */
function narrow(v: Word, size: number): number {
  const n = typeof v === 'number' ? v : lo32(v);
  return size === 4 ? n >>> 0 : size === 2 ? n & 0xffff : n & 0xff;
}

/** The stage-2 translation granule (4 KB): an unaligned access crossing it is translated per page. */
const PAGE = 4096;

/** A program broke the op protocol (a bug in simulator-side code, not guest behaviour). */
export class ProgramError extends Error {}

/** Per-PE counters, kept in step with the trace. */
export class PeCounters {
  ops = 0;
  /** Exceptions taken, by target EL. */
  readonly exceptions = new Float64Array(3);
  /**
   * Exceptions taken, by target EL and the EL they were taken from: index `target * 3 + from`
   * (read it with `taken(from, to)`). EL1 -> EL2 are the VM exits of a hypervisor; EL2 -> EL2
   * its own interrupts (in its idle loop or handlers); EL1 -> EL1 and EL0 -> EL1 what a guest
   * kernel takes itself. The sum over `from` is `exceptions[target]`.
   */
  readonly exceptionsFrom = new Float64Array(9);
  /** Interrupts (IRQ/FIQ/vIRQ/vFIQ) taken, by target EL. */
  readonly interrupts = new Float64Array(3);
  /** Synchronous exceptions by target EL * 64 + EC. */
  readonly syncByEc = new Float64Array(3 * 64);
  erets = 0;
  wfiSleeps = 0;
  /** Cycles spent executing at each EL (op costs and exception entries, charged to the EL they ran at). */
  readonly cyclesAt = new Float64Array(3);
  /** Cycles asleep in WFI/WFE or powered off while the machine ran. */
  idleCycles = 0;
  mmioAccesses = 0;
  /** STXR/STLXR that failed (status 1): the retries of exclusive loops. */
  exclusiveFails = 0;

  /**
   * Exceptions taken from EL `from` to EL `to`, each 0 to 2. Counts with `to < from` stay 0: an
   * exception is taken to the same or a higher EL (Arm ARM DDI 0487, D1 "The AArch64 Exception
   * model").
   */
  constructor() {
    // Counts that can pass 2^31 in a long run get their double representation now (double-field.ts).
    doubleField(this, 'ops');
    doubleField(this, 'erets');
    doubleField(this, 'wfiSleeps');
    doubleField(this, 'idleCycles');
    doubleField(this, 'mmioAccesses');
    doubleField(this, 'exclusiveFails');
  }

  taken(from: number, to: number): number {
    if (!(from >= 0 && from <= 2 && to >= 0 && to <= 2) || !Number.isInteger(from) || !Number.isInteger(to)) throw new Error(`taken(${from}, ${to}): ELs are 0, 1 or 2`);
    return this.exceptionsFrom[to * 3 + from]!;
  }
}

export class PE {
  readonly index: number;
  /** MPIDR_EL1 affinity value (Aff1 = index / 16, Aff0 = index % 16). */
  readonly mpidr: number;
  readonly attrs: AccessAttrs;
  readonly mmu: Stage2Mmu;
  readonly counters = new PeCounters();
  timer!: GenericTimer;

  /** Local clock, in cycles. */
  now = 0;
  state: PeState = 0 /* PeState.Off */;
  private sleepStart = 0;

  // PSTATE
  el = 2;
  spsel = 1;
  /** PSTATE.{D,A,I,F} in SPSR bit positions (PSR_D ... PSR_F). */
  daif = PSR_DAIF;
  /** PSTATE.IL: set by an illegal exception return. */
  il = false;
  /** PSTATE.{N,Z,C,V} in SPSR bit positions [31:28] (unsigned). */
  nzcv = 0;
  eventRegister = false;

  /** General registers x0..x30. */
  readonly x: Word[] = new Array<Word>(31).fill(0);
  /** The running thread, or null while about to start one at `fetchPc`. */
  thread: Thread | null = null;
  fetchPc = 0;

  /** Asserted interrupt inputs (LINE_*). */
  lines = 0;
  /** True when an interrupt can be taken at the next instruction boundary. */
  private takeable = false;

  // Core-owned system registers (the plain ones live in `plain`, core/plain-sysregs.ts).
  elr1 = 0;
  elr2 = 0;
  spsr1 = 0;
  spsr2 = 0;
  esr1 = 0;
  esr2 = 0;
  far1 = 0;
  far2 = 0;
  hpfar2 = 0;
  vbar1 = 0;
  vbar2 = 0;
  hcr = 0;
  vttbr: Word = 0n;
  vtcr = 0;
  vpidr: number;
  vmpidr: number;
  /** Plain system registers with no side effects, by slot (core/plain-sysregs.ts); undefined before the first write. */
  readonly plain: (Word | undefined)[] = newPlainSlots();
  /** The same registers by name. */
  readonly regs = new PlainRegs(this.plain);

  private readonly costs: CostTable;
  /** `counters.cyclesAt`, one load nearer: `charge` runs at every op. */
  private readonly cyclesAt: Float64Array;

  constructor(
    readonly m: Machine,
    index: number,
  ) {
    doubleField(this, 'now');
    // A cycle time too: it passes 2^31 with `now`.
    doubleField(this as unknown as { sleepStart: number }, 'sleepStart');
    this.index = index;
    this.mpidr = 0x80000000 + Math.floor(index / 16) * 256 + (index % 16);
    this.vmpidr = this.mpidr;
    this.vpidr = m.midr;
    this.attrs = { requester: 'pe', id: index };
    this.mmu = new Stage2Mmu(m.bus, this.attrs);
    this.costs = m.costs;
    this.cyclesAt = this.counters.cyclesAt;
  }

  // ---------------------------------------------------------------- running

  /** Runs ops while this PE is the earliest runnable entity (until `m.sliceLimit`). */
  runSlice(): void {
    const m = this.m;
    while (this.state === 1 /* PeState.Run */ && this.now < m.sliceLimit) {
      m.now = this.now;
      this.step();
    }
  }

  /** One instruction boundary. */
  step(): void {
    if (this.takeable && this.pick(true)) return;
    if (this.il) {
      this.takeSync(this.el === 0 ? 1 : this.el, EC.ILLEGAL_STATE, 0);
      return;
    }
    const t = this.thread;
    if (t === null) {
      this.startAt(this.fetchPc);
      return;
    }
    let op = t.held;
    if (op === null) {
      op = this.fetch(t);
      if (op === null) {
        this.programEnded(t);
        return;
      }
      t.pendKind = 0 /* Result.None */;
      this.setup(op, t);
      this.counters.ops++;
    }
    this.exec(op, t);
  }

  /**
   * Resumes the thread's program with the result of its previous op and returns the op it
   * yields next, or null when the program returned. Checks the op protocol (ops.ts).
   */
  private fetch(t: Thread): Op | null {
    const r = t.gen.next(this.deliver(t));
    if (r.done === true) return t.depth === 0 ? null : this.followCalls(t, r);
    const op = r.value as Op;
    const m = this.m;
    if (op === undefined || op.seq !== builtSeq || op.seq === m.lastOpSeq) return this.followCalls(t, r);
    m.lastOpSeq = op.seq;
    return op;
  }

  /**
   * `fetch` for what is not an op: a `call` (ops.ts) starts its sub-program with the caller
   * suspended beneath it, a sub-program's return resumes its caller with the value; either
   * goes on until an op is yielded or the thread's first program returns.
   */
  private followCalls(t: Thread, r: IteratorResult<Op, unknown>): Op | null {
    const m = this.m;
    for (;;) {
      if (r.done === true) {
        if (t.depth === 0) return null;
        const caller = t.callers[--t.depth]!;
        t.gen = caller;
        r = caller.next(r.value);
        continue;
      }
      const op = r.value;
      if (op !== undefined && op !== null && op.seq === builtSeq && op.seq !== m.lastOpSeq) {
        m.lastOpSeq = op.seq;
        return op;
      }
      const sub = op === CALL ? takeCallee() : null;
      if (sub === null) {
        throw new ProgramError(`${t.label}: yielded an op that is not the one built last (build each op inside its yield expression)`);
      }
      t.callers[t.depth++] = t.gen;
      t.gen = sub;
      r = sub.next(undefined);
    }
  }

  /** Register writes an op implies before it executes (the MOVs that set its operands). */
  private setup(op: Op, t: Thread): void {
    switch (op.kind) {
      case 1 /* OpKind.MSR */:
      case 3 /* OpKind.STR */:
      case 29 /* OpKind.STLR */:
      case 26 /* OpKind.STXR */:
      case 31 /* OpKind.SWP */:
      case 32 /* OpKind.LDADD */:
      case 33 /* OpKind.LDCLR */:
      case 34 /* OpKind.LDSET */:
      case 35 /* OpKind.LDEOR */:
        if (op.rt < 31) this.x[op.rt] = op.value;
        return;
      case 30 /* OpKind.CAS */:
        // CAS Xs, Xt, [Xn]: Xs holds the compare value, Xt the new value.
        if (op.rs < 31) this.x[op.rs] = op.value;
        if (op.rt < 31) this.x[op.rt] = op.value2;
        return;
      case 4 /* OpKind.HVC */:
      case 5 /* OpKind.SVC */:
      case 6 /* OpKind.SMC */:
        if (op.argc > 0) this.x[0] = op.a0;
        if (op.argc > 1) this.x[1] = op.a1;
        if (op.argc > 2) this.x[2] = op.a2;
        if (op.argc > 3) this.x[3] = op.a3;
        return;
      case 11 /* OpKind.WORK */:
        t.workLeft = op.imm;
        return;
    }
  }

  /** The value the next fetch hands to the generator. */
  private deliver(t: Thread): unknown {
    const k = t.pendKind;
    if (k === 0 /* Result.None */) return undefined;
    const v = t.pendRt < 31 ? this.x[t.pendRt]! : 0;
    if (k === 1 /* Result.Number */) return typeof v === 'number' ? v : toNum(v);
    if (k === 2 /* Result.Big */) return typeof v === 'bigint' ? v : toBig(v);
    return v;
  }

  private complete(t: Thread, rt: number, kind: Result): void {
    t.pos++;
    t.held = null;
    t.pendRt = rt;
    t.pendKind = kind;
  }

  /** SCTLR_EL1 as EL1 last wrote it; 0 before that (its reset value has UMA, nTWI and nTWE clear too). */
  private sctlrEl1(): number {
    return toNum(this.plain[SLOT_SCTLR_EL1] ?? 0);
  }

  /** An EL0 access to DAIF (MRS/MSR DAIF, MSR DAIFSet/DAIFClr) traps to EL1 unless SCTLR_EL1.UMA is set. */
  el0DaifTraps(): boolean {
    return this.el === 0 && (this.sctlrEl1() & SCTLR_UMA) === 0;
  }

  private charge(c: number): void {
    this.now += c;
    this.cyclesAt[this.el]! += c;
  }

  private exec(op: Op, t: Thread): void {
    const c = this.costs;
    switch (op.kind) {
      case 0 /* OpKind.MRS */:
      case 1 /* OpKind.MSR */:
        this.execSysreg(op, t);
        return;
      case 2 /* OpKind.LDR */:
      case 3 /* OpKind.STR */:
      case 28 /* OpKind.LDAR */:
      case 29 /* OpKind.STLR */:
        this.execMem(op, t);
        return;
      case 25 /* OpKind.LDXR */:
      case 26 /* OpKind.STXR */:
      case 30 /* OpKind.CAS */:
      case 31 /* OpKind.SWP */:
      case 32 /* OpKind.LDADD */:
      case 33 /* OpKind.LDCLR */:
      case 34 /* OpKind.LDSET */:
      case 35 /* OpKind.LDEOR */:
        this.execAtomic(op, t);
        return;
      case 27 /* OpKind.CLREX */:
        // CLREX (C6): the local monitor becomes Open (B2.9.1).
        this.m.monitors.clearLocal(this.index);
        this.charge(c.op);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 36 /* OpKind.SEVL */:
        // SEVL: a local event, this PE's event register only (it is running, so nothing wakes).
        this.eventRegister = true;
        this.charge(c.op);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 11 /* OpKind.WORK */:
        this.execWork(op, t);
        return;
      case 4 /* OpKind.HVC */:
        // HCR_EL2.HCD (no EL3 here, so it is not RES0): HVC is UNDEFINED at EL1 *and* EL2,
        // taken to the EL that executed it. At EL0 HVC is always UNDEFINED.
        if (this.el === 0 || (this.hcr & HCR_HCD) !== 0) return this.undefinedInstr(t, op);
        this.charge(c.op);
        this.complete(t, 0, 3 /* Result.Raw */);
        this.takeSync(2, EC.HVC64, op.imm);
        return;
      case 5 /* OpKind.SVC */:
        this.charge(c.op);
        this.complete(t, 0, 3 /* Result.Raw */);
        this.takeSync(this.el === 0 ? 1 : this.el, EC.SVC64, op.imm);
        return;
      case 6 /* OpKind.SMC */:
        if (this.el === 0) return this.undefinedInstr(t, op);
        if (this.el === 1 && (this.hcr & HCR_TSC) !== 0) {
          // Trapped SMC: preferred return is the SMC itself (Arm ARM DDI 0487, HCR_EL2.TSC, ESR_EL2).
          t.hold(op);
          this.takeSync(2, EC.SMC64, op.imm);
          return;
        }
        this.charge(c.firmwareCall);
        // CPU_OFF and SYSTEM_OFF do not return.
        if (!this.m.firmware.call(this)) return;
        this.complete(t, 0, 3 /* Result.Raw */);
        return;
      case 7 /* OpKind.WFI */:
      case 8 /* OpKind.WFE */:
        this.execWfx(op, t);
        return;
      case 9 /* OpKind.SEV */:
        this.charge(c.op);
        this.complete(t, 0, 0 /* Result.None */);
        this.m.sendEvent();
        return;
      case 10 /* OpKind.ERET */:
        this.execEret(op, t);
        return;
      case 12 /* OpKind.ISB */:
        this.charge(c.isb);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 13 /* OpKind.DSB */:
        this.charge(c.dsb);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 14 /* OpKind.DMB */:
        this.charge(c.dmb);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 15 /* OpKind.DAIFSET */:
      case 16 /* OpKind.DAIFCLR */:
        this.execDaif(op, t);
        return;
      case 17 /* OpKind.GETX */:
        this.charge(c.op);
        this.complete(t, op.rt, 3 /* Result.Raw */);
        return;
      case 18 /* OpKind.SETX */:
        this.charge(c.op);
        if (op.rt < 31) this.x[op.rt] = op.value;
        this.complete(t, 0, 0 /* Result.None */);
        return;
      case 19 /* OpKind.TLBI */:
        this.execTlbi(op, t);
        return;
      case 21 /* OpKind.SAVEX */: {
        // `x` held in a local: a store into `into` could alias `this.x` as far as the compiler knows, reloading it per element.
        const into = op.regs!;
        const x = this.x;
        for (let i = 0; i < 31; i++) into[i] = x[i]!;
        this.charge(16 * c.memWrite);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      }
      case 22 /* OpKind.RESTOREX */: {
        const from = op.regs!;
        const x = this.x;
        for (let i = 0; i < 31; i++) x[i] = from[i] ?? 0;
        this.charge(16 * c.memRead);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      }
      case 23 /* OpKind.MRSN */:
      case 24 /* OpKind.MSRN */:
        this.execSysregRun(op, t);
        return;
      case 20 /* OpKind.NOP */:
        this.charge(c.op);
        this.complete(t, 0, 0 /* Result.None */);
        return;
      default:
        this.undefinedInstr(t, op);
    }
  }

  private execSysreg(op: Op, t: Thread): void {
    const read = op.kind === 0 /* OpKind.MRS */;
    const h = this.m.sysregs.get(op.reg!.key);
    if (h === undefined) return this.undefinedInstr(t, op);
    const a = h.access(this, read);
    if (a !== 0 /* Access.Ok */) {
      if (a === 2 /* Access.TrapEl2 */) return this.trapSysreg(t, op, h, read, 2);
      if (a === 3 /* Access.TrapEl1 */) return this.trapSysreg(t, op, h, read, 1);
      return this.undefinedInstr(t, op);
    }
    // A plain register's slot is read and written here, without the call through the entry
    // (SysRegEntry.slot): what its handler's read/write do.
    const slot = h.slot;
    if (read) {
      this.charge(h.readCost);
      const v = slot >= 0 ? (this.plain[slot] ?? h.reset) : h.read(this);
      if (op.rt < 31) this.x[op.rt] = v;
      this.complete(t, op.rt, h.wide ? 2 /* Result.Big */ : 1 /* Result.Number */);
    } else {
      this.charge(h.writeCost);
      const v = op.rt < 31 ? this.x[op.rt]! : 0;
      const w = h.wide ? toBig(v) : toNum(v);
      if (slot >= 0) this.plain[slot] = w;
      else h.write(this, w);
      this.complete(t, 0, 0 /* Result.None */);
    }
  }

  /** MRSN/MSRN: a run of MRS or MSR, each checked and charged as its own instruction. */
  private execSysregRun(op: Op, t: Thread): void {
    const read = op.kind === 23 /* OpKind.MRSN */;
    const list = op.sysregs!;
    const vals = op.regs!;
    const table = this.m.sysregs;
    for (let i = 0; i < list.length; i++) {
      const h = table.get(list[i]!.key);
      if (h === undefined || h.access(this, read) !== 0 /* Access.Ok */) return this.undefinedInstr(t, op);
    }
    for (let i = 0; i < list.length; i++) {
      const h = table.get(list[i]!.key)!;
      const slot = h.slot; // plain registers inline, as in execSysreg
      if (read) {
        this.charge(h.readCost);
        vals[i] = slot >= 0 ? (this.plain[slot] ?? h.reset) : h.read(this);
      } else {
        this.charge(h.writeCost);
        const v = vals[i] ?? 0;
        const w = h.wide ? toBig(v) : toNum(v);
        if (slot >= 0) this.plain[slot] = w;
        else h.write(this, w);
      }
    }
    this.complete(t, 0, 0 /* Result.None */);
  }

  /**
   * LDR/STR, and LDAR/STLR (C6 "LDAR", "STLR"): ordinary single-copy-atomic accesses, the latter
   * with acquire/release ordering. Memory here is coherent and sequentially consistent, so the
   * ordering is only a cost (`acquireRelease`); LDAR/STLR must be naturally aligned (an Alignment
   * fault otherwise, whatever the memory type: no FEAT_LSE2) and work on MMIO like LDR/STR.
   */
  private execMem(op: Op, t: Thread): void {
    const kind = op.kind;
    const write = kind === 3 /* OpKind.STR */ || kind === 29 /* OpKind.STLR */;
    const ordered = kind === 28 /* OpKind.LDAR */ || kind === 29 /* OpKind.STLR */;
    const size = op.size;
    const va = op.addr;
    if (ordered && misaligned(va, size)) return this.dataAbortHere(t, op, va, write, FSC.ALIGNMENT);
    let pa = va;
    if (this.el < 2 && (this.hcr & 0x1) /* HCR_VM */ !== 0) {
      pa = this.mmu.translate(va, write ? 2 /* S2_WRITE */ : 1 /* S2_READ */);
      if (this.mmu.walkSteps > 0) this.charge(this.mmu.walkSteps * this.costs.s2WalkLevel);
      if (pa < 0) return this.stage2DataAbort(t, op, va, write);
      // An unaligned access that crosses into the next (4 KB) page is translated there too.
      if (crossesPage(va, size)) return this.execStraddling(op, t, va, pa, write);
    }
    const m = this.m;
    const bus = m.bus;
    const region = bus.find(pa);
    const mmio = region !== undefined && region.kind === 'mmio';
    if (mmio && misaligned(pa, size)) return this.dataAbortHere(t, op, va, write, FSC.ALIGNMENT);
    let v: Word = 0;
    if (write) {
      v = op.rt < 31 ? this.x[op.rt]! : 0;
      bus.write(pa, size, v, this.attrs);
    } else {
      v = bus.read(pa, size, this.attrs);
    }
    if (bus.status !== 0 /* BusStatus.Ok */) return this.dataAbortHere(t, op, va, write, FSC.SYNC_EXTERNAL);
    if (mmio) {
      this.counters.mmioAccesses++;
      const cost = write ? region.writeCost : region.readCost;
      this.charge(cost >= 0 ? cost : write ? this.costs.mmioWrite : this.costs.mmioRead);
      if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 'mmio', addr: pa, size, write, value: v, region: region.name });
    } else {
      this.charge(write ? this.costs.memWrite : this.costs.memRead);
    }
    if (ordered) this.charge(this.costs.acquireRelease);
    if (write) {
      this.complete(t, 0, 0 /* Result.None */);
    } else {
      if (op.rt < 31) this.x[op.rt] = v;
      this.complete(t, op.rt, size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */);
    }
  }

  /**
   * An unaligned LDR/STR at EL1/EL0 under stage 2 whose bytes span two 4 KB pages: each page is
   * translated (Arm ARM D8, "Unaligned data accesses": the access is made as smaller accesses,
   * each translated, and faults on the page that faults), the second page's fault taken with its
   * own IPA in FAR and HPFAR. The bytes then go to the two physical pages, which need not be
   * adjacent. An access that touches MMIO this way is not naturally aligned: an alignment fault.
   */
  private execStraddling(op: Op, t: Thread, va: number, pa: number, write: boolean): void {
    const size = op.size;
    const va2 = (Math.floor(va / PAGE) + 1) * PAGE;
    const pa2 = this.mmu.translate(va2, write ? S2_WRITE : S2_READ);
    if (this.mmu.walkSteps > 0) this.charge(this.mmu.walkSteps * this.costs.s2WalkLevel);
    if (pa2 < 0) return this.stage2DataAbort(t, op, va2, write);
    const bus = this.m.bus;
    const first = va2 - va;
    const r1 = bus.find(pa);
    const r2 = bus.find(pa2);
    if ((r1 !== undefined && r1.kind === 'mmio') || (r2 !== undefined && r2.kind === 'mmio')) return this.dataAbortHere(t, op, va, write, FSC.ALIGNMENT);
    const at = (i: number): number => (i < first ? pa + i : pa2 + (i - first));
    if (write) {
      const v = toBig(op.rt < 31 ? this.x[op.rt]! : 0);
      for (let i = 0; i < size; i++) {
        bus.write(at(i), 1, Number((v >> BigInt(8 * i)) & 0xffn), this.attrs);
        if (bus.status !== BusStatus.Ok) return this.dataAbortHere(t, op, i < first ? va : va2, write, FSC.SYNC_EXTERNAL);
      }
      this.charge(this.costs.memWrite);
      this.complete(t, 0, 0 /* Result.None */);
      return;
    }
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) {
      const b = toNum(bus.read(at(i), 1, this.attrs));
      if (bus.status !== BusStatus.Ok) return this.dataAbortHere(t, op, i < first ? va : va2, write, FSC.SYNC_EXTERNAL);
      v = (v << 8n) | BigInt(b);
    }
    this.charge(this.costs.memRead);
    if (op.rt < 31) this.x[op.rt] = size === 8 ? v : Number(v);
    this.complete(t, op.rt, size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */);
  }

  /**
   * The exclusives and the LSE atomics: LDXR/LDAXR, STXR/STLXR (Arm ARM B2.9 "Synchronization
   * and semaphores", C6 "LDXR", "STXR") and CAS, SWP, LDADD, LDCLR, LDSET, LDEOR (FEAT_LSE, C6).
   *
   * - Alignment: all of them must be naturally aligned whatever the memory type (no FEAT_LSE2):
   *   an Alignment fault (DFSC 0x21) at the current EL otherwise, checked before translation.
   *   An aligned access of at most 8 bytes never straddles a reservation granule.
   * - Stage 2 (EL1/EL0 with HCR_EL2.VM = 1): LDXR needs read permission, STXR write, an atomic
   *   both (CAS is checked for write even when its compare fails, as the Arm pseudocode's
   *   MemAtomicCompareAndSwap access is a write). A fault is a Data Abort to EL2 with ISV = 0:
   *   the ESR_EL2 instruction syndrome is valid only for single-register loads and stores
   *   without writeback, exclusives and atomics excluded. CHOICE: an STXR is translated (and
   *   may fault) whether or not its monitor check would pass.
   * - Device memory: an exclusive or atomic access to an MMIO region takes a Data Abort at the
   *   current EL (EL1 from EL0) with DFSC 0x35, IMPLEMENTATION DEFINED fault (Unsupported
   *   Exclusive or Atomic access), ISV = 0, WnR = 1 for STXR and the atomics. An address no
   *   region decodes is a synchronous external abort, as for LDR/STR.
   * - RAM: LDXR loads and marks the monitors; STXR checks and clears them and stores only on
   *   success (status 0 in W<rs>, else 1); an atomic reads, computes and writes in this one op,
   *   so nothing interleaves (a CAS whose compare fails writes nothing). Every write goes
   *   through the bus, which clears the other PEs' global marks on the granule.
   */
  private execAtomic(op: Op, t: Thread): void {
    const kind = op.kind;
    const size = op.size;
    const va = op.addr;
    const load = kind === 25 /* OpKind.LDXR */;
    const store = kind === 26 /* OpKind.STXR */;
    // WnR: 0 for the exclusive load, 1 for the exclusive store and the read-modify-write atomics.
    const write = !load;
    if (misaligned(va, size)) return this.dataAbortHere(t, op, va, write, FSC.ALIGNMENT);
    let pa = va;
    if (this.el < 2 && (this.hcr & HCR_VM) !== 0) {
      pa = this.mmu.translate(va, load ? S2_READ : store ? S2_WRITE : S2_READ | S2_WRITE);
      if (this.mmu.walkSteps > 0) this.charge(this.mmu.walkSteps * this.costs.s2WalkLevel);
      if (pa < 0) return this.stage2DataAbort(t, op, va, write);
    }
    const m = this.m;
    const bus = m.bus;
    const region = bus.find(pa);
    if (region === undefined || pa + size > region.base + region.size) return this.dataAbortHere(t, op, va, write, FSC.SYNC_EXTERNAL);
    if (region.kind === 'mmio') return this.dataAbortHere(t, op, va, write, FSC.EXCL_ATOMIC);
    const c = this.costs;
    const ord = op.ord;
    const ordering = ((ord & ORD_ACQUIRE) !== 0 ? c.acquireRelease : 0) + ((ord & ORD_RELEASE) !== 0 ? c.acquireRelease : 0);
    const x = this.x;
    if (load) {
      const v = bus.read(pa, size, this.attrs);
      m.monitors.mark(this.index, pa);
      this.charge(c.exclusiveLoad + ordering);
      if (op.rt < 31) x[op.rt] = v;
      this.complete(t, op.rt, size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */);
      return;
    }
    if (store) {
      const ok = m.monitors.storeExclusive(this.index, pa);
      if (ok) bus.write(pa, size, op.rt < 31 ? x[op.rt]! : 0, this.attrs);
      else this.counters.exclusiveFails++;
      // W<s>: 0 when the store was made, 1 when it was not.
      if (op.rs < 31) x[op.rs] = ok ? 0 : 1;
      this.charge(c.exclusiveStore + ordering);
      this.complete(t, op.rs, 1 /* Result.Number */);
      return;
    }
    // CAS: compare value and result in X<s>, new value in X<t>. The others: operand and result in X<t>.
    const res = kind === 30 /* OpKind.CAS */ ? op.rs : op.rt;
    const operand = op.rt < 31 ? x[op.rt]! : 0;
    const old = bus.read(pa, size, this.attrs);
    if (size === 8) {
      const o = old as bigint;
      const v = toBig(operand);
      let nv = v;
      let writes = true;
      switch (kind) {
        case 30 /* OpKind.CAS */:
          writes = o === toBig(op.rs < 31 ? x[op.rs]! : 0);
          break;
        case 32 /* OpKind.LDADD */:
          nv = BigInt.asUintN(64, o + v);
          break;
        case 33 /* OpKind.LDCLR */:
          nv = o & (v ^ MASK64);
          break;
        case 34 /* OpKind.LDSET */:
          nv = o | v;
          break;
        case 35 /* OpKind.LDEOR */:
          nv = o ^ v;
          break;
      }
      if (writes) bus.write(pa, 8, nv, this.attrs);
    } else {
      // Below 8 bytes everything is an unsigned number of `size` bytes: no allocation.
      const o = old as number;
      const v = narrow(operand, size);
      let nv = v;
      let writes = true;
      switch (kind) {
        case 30 /* OpKind.CAS */:
          writes = o === narrow(op.rs < 31 ? x[op.rs]! : 0, size);
          break;
        case 32 /* OpKind.LDADD */:
          nv = narrow(o + v, size);
          break;
        case 33 /* OpKind.LDCLR */:
          nv = (o & ~v) >>> 0;
          break;
        case 34 /* OpKind.LDSET */:
          nv = (o | v) >>> 0;
          break;
        case 35 /* OpKind.LDEOR */:
          nv = (o ^ v) >>> 0;
          break;
      }
      if (writes) bus.write(pa, size, nv, this.attrs);
    }
    if (res < 31) x[res] = old;
    this.charge(c.atomic + ordering);
    this.complete(t, res, size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */);
  }

  /**
   * WORK(n) stands for n cycles of straight-line instructions. Nothing in them is observable,
   * so the whole length is charged at once (the PE jumps ahead) and the op stays held; if an
   * interrupt becomes takeable before the PE's clock, `setLine` rewinds the PE to that time with
   * the rest of the work still held, exactly as if the interrupt had been taken between two of
   * those instructions. A held WORK with nothing left completes at the next step.
   */
  private execWork(op: Op, t: Thread): void {
    const left = t.workLeft;
    if (left <= 0) {
      this.complete(t, 0, 0 /* Result.None */);
      return;
    }
    this.charge(left);
    t.workLeft = 0;
    // Still before the end of the slice, the PE runs its next step at once and nothing else runs
    // first: no interrupt can arrive inside the work, and that step would find nothing takeable
    // (nothing changed since this one found nothing) and complete the held WORK. Completing it
    // here is that step, without the copy of the op and the second dispatch.
    if (this.now < this.m.sliceLimit) {
      this.complete(t, 0, 0 /* Result.None */);
      return;
    }
    t.hold(op);
  }

  /** An interrupt became takeable at machine time `m.now` while the PE was ahead inside WORK: rewind. */
  private preemptWork(): void {
    const t = this.thread;
    const at = this.m.now;
    if (t === null || this.state !== 1 /* PeState.Run */ || at >= this.now) return;
    const h = t.held;
    if (h === null || h.kind !== 11 /* OpKind.WORK */ || t.workLeft !== 0) return;
    const rest = this.now - at;
    this.now = at;
    this.cyclesAt[this.el]! -= rest;
    t.workLeft = rest;
    this.m.peWoken(this);
  }

  private execWfx(op: Op, t: Thread): void {
    const wfe = op.kind === 8 /* OpKind.WFE */;
    if (wfe && this.eventRegister) {
      this.eventRegister = false;
      this.charge(this.costs.op);
      this.complete(t, 0, 0 /* Result.None */);
      return;
    }
    const wake = this.wakeupPending();
    // WFx traps apply only to a WFx that would enter the low-power state (Arm ARM DDI 0487,
    // HCR_EL2.TWI/TWE).
    // At EL0, SCTLR_EL1.nTWI/nTWE = 0 trap to EL1 first; then HCR_EL2.TWI/TWE trap EL0/EL1 to EL2.
    if (!wake) {
      let target = 0;
      if (this.el === 0 && (this.sctlrEl1() & (wfe ? SCTLR_NTWE : SCTLR_NTWI)) === 0) target = 1;
      else if (this.el < 2 && (this.hcr & (wfe ? HCR_TWE : HCR_TWI)) !== 0) target = 2;
      if (target !== 0) {
        t.hold(op);
        this.takeSync(target, EC.WFX, wfe ? WFE_ISS : WFI_ISS);
        return;
      }
    }
    this.charge(this.costs.op);
    this.complete(t, 0, 0 /* Result.None */);
    if (!wake) this.sleep(wfe ? 3 /* PeState.Wfe */ : 2 /* PeState.Wfi */);
  }

  private execEret(op: Op, t: Thread): void {
    const from = this.el;
    if (from === 0) return this.undefinedInstr(t, op);
    const spsr = from === 2 ? this.spsr2 : this.spsr1;
    const elr = from === 2 ? this.elr2 : this.elr1;
    this.charge(this.costs.eret);
    this.counters.erets++;
    const mode = spsr & 0xf;
    const target = mode >>> 2;
    // Illegal return: to a higher EL, to a reserved mode, or AArch32 (M[4] = 1).
    const illegal = target > from || (mode & 2) !== 0 || (target === 0 && (mode & 1) !== 0) || (spsr & 0x10) !== 0;
    // NZCV and DAIF come from SPSR_ELx whether or not the return is illegal.
    this.nzcv = (spsr & 0xf0000000) /* PSR_NZCV */ >>> 0;
    this.daif = spsr & 0x3c0 /* PSR_DAIF */;
    if (illegal) {
      this.il = true;
    } else {
      this.el = target;
      this.spsel = mode & 1;
      this.il = (spsr & 0x100000) /* PSR_IL */ !== 0;
    }
    // An exception return clears the local monitor (B2.9.4 "Context switch support";
    // ClearExclusiveLocal in AArch64.ExceptionReturn), so an LDXR/STXR pair interrupted by an
    // exception fails and is retried. Not modelled: the same pseudocode's SendEventLocal (an
    // exception return also sets the event register); a WFE after an ERET may sleep here.
    this.m.monitors.clearLocal(this.index);
    t.owner = -1;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 'eret', from, to: this.el, elr, illegal });
    this.branch(elr);
    if (this.thread !== t) m.threads.release(t);
    this.updateTakeable();
  }

  private execDaif(op: Op, t: Thread): void {
    if (this.el0DaifTraps()) {
      // MSR DAIFSet/DAIFClr at EL0 with SCTLR_EL1.UMA = 0 traps to EL1 as a system access.
      t.hold(op);
      const iss = ISS_SYS64.encode({ Op0: 0, Op1: 3, CRn: 4, CRm: op.imm, Op2: op.kind === 15 /* OpKind.DAIFSET */ ? 6 : 7, Rt: 31, Direction: 0 });
      this.takeSync(1, EC.SYS64, iss);
      return;
    }
    const bits = op.imm << 6; // #imm D,A,I,F -> PSTATE bits 9..6
    if (op.kind === 15 /* OpKind.DAIFSET */) this.daif |= bits;
    else this.daif &= ~bits;
    this.charge(this.costs.op);
    this.complete(t, 0, 0 /* Result.None */);
    this.updateTakeable();
  }

  private execTlbi(op: Op, t: Thread): void {
    const which = op.imm;
    const el2Only = which !== Tlbi.VMALLE1 && which !== Tlbi.VMALLE1IS;
    if (this.el === 0 || (el2Only && this.el < 2)) return this.undefinedInstr(t, op);
    this.charge(this.costs.tlbi);
    const vmid = this.mmu.vmid;
    const pes = this.m.pes;
    switch (which) {
      case Tlbi.VMALLS12E1:
        this.mmu.invalidateVmid(vmid);
        break;
      case Tlbi.VMALLS12E1IS:
        for (const p of pes) p.mmu.invalidateVmid(vmid);
        break;
      case Tlbi.IPAS2E1:
        this.mmu.invalidateIpa(vmid, op.addr);
        break;
      case Tlbi.IPAS2E1IS:
        for (const p of pes) p.mmu.invalidateIpa(vmid, op.addr);
        break;
      case Tlbi.ALLE1IS:
        for (const p of pes) p.mmu.invalidateAll();
        break;
      default:
        // VMALLE1(IS): stage-1 entries only; this machine has no stage 1, so nothing is cached.
        break;
    }
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 'tlbi', op: TLBI_NAMES[which] ?? '?', vmid, ipa: op.addr * 4096 });
    this.complete(t, 0, 0 /* Result.None */);
  }

  // ---------------------------------------------------------------- control flow

  /** The PC of the current instruction boundary (ELR for an exception taken now). */
  currentPc(): number {
    return this.thread !== null ? this.thread.pc : this.fetchPc;
  }

  /**
   * Continues execution at `pc`: a thread PC resumes (delta 0) or skips one op (delta 4 bytes)
   * of a suspended thread; any other address starts code there at the next step.
   */
  branch(pc: number): void {
    if (isThreadPc(pc)) {
      const threads = this.m.threads;
      const t = threads.resolve(pc);
      const delta = threads.delta;
      if (t !== undefined && t.owner < 0 && (delta === 0 || delta === 1)) {
        this.thread = t;
        t.owner = this.index;
        if (delta === 1) this.skipOne(t);
        return;
      }
    }
    this.thread = null;
    this.fetchPc = pc;
  }

  /** ELR + 4: completes the held op without executing it (or skips the next op). */
  private skipOne(t: Thread): void {
    let op = t.held;
    if (op === null) {
      op = this.fetch(t);
      if (op === null) {
        t.pos++;
        t.pendKind = 0 /* Result.None */;
        return;
      }
    }
    t.workLeft = 0;
    let kind: Result = 0 /* Result.None */;
    switch (op.kind) {
      case 0 /* OpKind.MRS */: {
        const h = this.m.sysregs.get(op.reg!.key);
        kind = h !== undefined && h.wide ? 2 /* Result.Big */ : 1 /* Result.Number */;
        break;
      }
      case 2 /* OpKind.LDR */:
      case 28 /* OpKind.LDAR */:
      case 25 /* OpKind.LDXR */:
      case 31 /* OpKind.SWP */:
      case 32 /* OpKind.LDADD */:
      case 33 /* OpKind.LDCLR */:
      case 34 /* OpKind.LDSET */:
      case 35 /* OpKind.LDEOR */:
        kind = op.size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */;
        break;
      case 26 /* OpKind.STXR */:
        // The status register W<s> is the result: whatever the handler left there.
        this.complete(t, op.rs, 1 /* Result.Number */);
        return;
      case 30 /* OpKind.CAS */:
        // CAS returns the old value in X<s>.
        this.complete(t, op.rs, op.size === 8 ? 2 /* Result.Big */ : 1 /* Result.Number */);
        return;
      case 17 /* OpKind.GETX */:
        kind = 3 /* Result.Raw */;
        break;
      case 4 /* OpKind.HVC */:
      case 5 /* OpKind.SVC */:
      case 6 /* OpKind.SMC */:
        this.complete(t, 0, 3 /* Result.Raw */);
        return;
    }
    this.complete(t, op.rt, kind);
  }

  /** Starts the code at `pc` (instruction fetch through stage 2 and the code map). */
  private startAt(pc: number): void {
    const m = this.m;
    if (isThreadPc(pc)) {
      // A PC in the thread window that names no suspended op: nothing executable there.
      const target = this.el === 0 ? 1 : this.el;
      this.takeException(target, 'sync', 0, esrOf(target === this.el ? EC.IABT_CUR : EC.IABT_LOW, FSC.translation(0)), pc, -1);
      return;
    }
    let pa = pc;
    if (this.el < 2 && (this.hcr & 0x1) /* HCR_VM */ !== 0) {
      pa = this.mmu.translate(pc, 4 /* S2_EXEC */);
      if (this.mmu.walkSteps > 0) this.charge(this.mmu.walkSteps * this.costs.s2WalkLevel);
      if (pa < 0) {
        const f = this.mmu.fault;
        this.traceS2Fault(pc, false, true);
        this.takeException(2, 'sync', 0, esrOf(EC.IABT_LOW, f.fsc), pc, Math.floor(pc / 4096) * 16);
        return;
      }
    }
    const e = m.code.at(pa);
    if (e === undefined) {
      // No code at this address: the bytes there decode as an UNDEFINED instruction.
      this.takeSync(this.el === 0 ? 1 : this.el, EC.UNKNOWN, 0);
      return;
    }
    const t = m.threads.create(e.fn(), pc, e.label);
    t.owner = this.index;
    this.thread = t;
  }

  private programEnded(t: Thread): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 'program-ended', pc: t.pc });
    // Running off the end of the code: what follows decodes as UNDEFINED.
    this.takeSync(this.el === 0 ? 1 : this.el, EC.UNKNOWN, 0);
  }

  // ---------------------------------------------------------------- exceptions

  /** PSTATE as SPSR_ELx saves it: NZCV, IL, DAIF, M[3:0]. */
  private spsrValue(): number {
    return (spsrFor(this.el, this.daif, this.spsel) | (this.il ? PSR_IL : 0)) + this.nzcv;
  }

  /**
   * Exception entry (Arm ARM DDI 0487, "Exception entry"): SPSR_ELx <- PSTATE, ELR_ELx <-
   * preferred return, ESR/FAR/HPFAR for synchronous exceptions, DAIF masked, EL and SPSel
   * switched, and the vector VBAR_ELx + group + type started.
   */
  takeException(target: number, type: ExceptionType, typeOffset: number, esr: number, far: number, hpfar: number): void {
    const m = this.m;
    const from = this.el;
    const spsr = this.spsrValue();
    const elr = this.currentPc();
    const t = this.thread;
    if (t !== null) t.owner = -1;
    const sync = type === 'sync' || type === 'serror';
    if (target === 2) {
      this.spsr2 = spsr;
      this.elr2 = elr;
      if (sync) this.esr2 = esr;
      if (far >= 0) this.far2 = far;
      if (hpfar >= 0) this.hpfar2 = hpfar;
    } else {
      this.spsr1 = spsr;
      this.elr1 = elr;
      if (sync) this.esr1 = esr;
      if (far >= 0) this.far1 = far;
    }
    const group = from === target ? (this.spsel === 1 ? 0x200 : 0x000) : 0x400;
    this.el = target;
    this.spsel = 1;
    this.daif = 0x3c0 /* PSR_DAIF */;
    this.il = false;
    this.charge(target === 2 ? this.costs.exceptionEntryEl2 : this.costs.exceptionEntryEl1);
    const c = this.counters;
    c.exceptions[target]!++;
    c.exceptionsFrom[target * 3 + from]!++;
    if (type === 'sync') c.syncByEc[target * 64 + ((esr / 0x4000000) & 0x3f)]!++;
    else if (type !== 'serror') c.interrupts[target]!++;
    if (m.trace.on) {
      m.trace.emit({ t: m.now, core: this.index, el: target, kind: 'exception', type, from, target, ec: sync ? (esr / 0x4000000) & 0x3f : -1, esr: sync ? esr : 0, elr, far });
    }
    this.thread = null;
    this.fetchPc = (target === 2 ? this.vbar2 : this.vbar1) + group + typeOffset;
    this.updateTakeable();
  }

  /** A synchronous exception whose preferred return is the current PC. */
  takeSync(target: number, ec: number, iss: number): void {
    this.takeException(target, 'sync', 0, esrOf(ec, iss), -1, -1);
  }

  /** UNDEFINED instruction: EC 0x00, ELR at the instruction. */
  undefinedInstr(t: Thread, op: Op): void {
    t.hold(op);
    this.takeSync(this.el === 0 ? 1 : this.el, EC.UNKNOWN, 0);
  }

  /** A trapped MRS/MSR: EC 0x18 to `target`, ELR at the instruction. */
  private trapSysreg(t: Thread, op: Op, h: SysRegEntry, read: boolean, target: 1 | 2): void {
    t.hold(op);
    const r = h.reg;
    const iss = ISS_SYS64.encode({ Op0: r.op0, Op1: r.op1, CRn: r.crn, CRm: r.crm, Op2: r.op2, Rt: op.rt, Direction: read ? 1 : 0 });
    this.takeSync(target, EC.SYS64, iss);
  }

  /**
   * ISS of a Data Abort. The instruction syndrome (ISV = 1: SAS, SRT, SF, AR) is given only when
   * `isv` is asked for and the op is a single-register load or store without writeback: LDR,
   * STR, and LDAR/STLR with AR = 1; never for exclusives and atomics.
   */
  private dabtIss(op: Op, write: boolean, dfsc: number, isv: boolean): number {
    const k = op.kind;
    const ar = k === 28 /* OpKind.LDAR */ || k === 29 /* OpKind.STLR */;
    const valid = isv && (k === 2 /* OpKind.LDR */ || k === 3 /* OpKind.STR */ || ar);
    return ISS_DABT.encode({ ISV: valid ? 1 : 0, SAS: valid ? sasOf(op.size) : 0, SRT: valid ? op.rt : 0, SF: valid && op.size === 8 ? 1 : 0, AR: valid && ar ? 1 : 0, WnR: write ? 1 : 0, DFSC: dfsc });
  }

  /** Stage-2 fault on a data access: Data Abort to EL2 with HPFAR_EL2 (Arm ARM DDI 0487, ESR_EL2, HPFAR_EL2). */
  private stage2DataAbort(t: Thread, op: Op, ipa: number, write: boolean): void {
    t.hold(op);
    this.traceS2Fault(ipa, write, false);
    const iss = this.dabtIss(op, write, this.mmu.fault.fsc, true);
    this.takeException(2, 'sync', 0, esrOf(EC.DABT_LOW, iss), ipa, Math.floor(ipa / 4096) * 16);
  }

  /** External abort or alignment fault: taken to the current EL (EL1 from EL0). */
  private dataAbortHere(t: Thread, op: Op, va: number, write: boolean, dfsc: number): void {
    t.hold(op);
    const target = this.el === 0 ? 1 : this.el;
    const ec = target === this.el ? EC.DABT_CUR : EC.DABT_LOW;
    this.takeException(target, 'sync', 0, esrOf(ec, this.dabtIss(op, write, dfsc, false)), va, -1);
  }

  private traceS2Fault(ipa: number, write: boolean, fetch: boolean): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 's2-fault', ipa, level: this.mmu.fault.level, fsc: this.mmu.fault.fsc, write, fetch });
  }

  // ---------------------------------------------------------------- interrupts

  /*
   * The interrupt logic below runs at every exception entry, ERET, DAIF or HCR_EL2 write and line
   * change, so it writes its constants as literals (named in comments; see the note on literals
   * at the top of the file, and the load-time check `LITERALS`): LINE_IRQ 1, LINE_FIQ 2,
   * LINE_VIRQ 4, LINE_VFIQ 8, LINE_SERROR 16, LINE_VSERROR 32; HCR_EL2.FMO 0x8, IMO 0x10,
   * AMO 0x20, VF 0x40, VI 0x80, VSE 0x100; PSTATE.A 0x100, I 0x80, F 0x40.
   */

  /** Drives one interrupt input (LINE_*). */
  setLine(line: number, level: boolean): void {
    const before = this.lines;
    this.lines = level ? before | line : before & ~line;
    if (this.lines === before) return;
    this.updateTakeable();
    if (!level) return;
    const st = this.state;
    if ((st === 2 /* PeState.Wfi */ || st === 3 /* PeState.Wfe */) && this.wakeupPending()) this.wake('interrupt');
    else if (this.takeable) this.preemptWork();
  }

  /** Asserted inputs including HCR_EL2.VI/VF/VSE (virtual interrupts pending by register). */
  private effectiveLines(): number {
    const h = this.hcr;
    let l = this.lines;
    if ((h & 0x80) /* HCR_VI */ !== 0) l |= 4 /* LINE_VIRQ */;
    if ((h & 0x40) /* HCR_VF */ !== 0) l |= 8 /* LINE_VFIQ */;
    if ((h & 0x100) /* HCR_VSE */ !== 0) l |= 32 /* LINE_VSERROR */;
    return l;
  }

  /** Recomputes whether an interrupt is takeable; call after any change of lines, HCR, PSTATE. */
  updateTakeable(): void {
    this.takeable = this.lines !== 0 || (this.hcr & 0x1c0) /* HCR_VI | HCR_VF | HCR_VSE */ !== 0 ? this.pick(false) : false;
  }

  /** Whether a physical exception routed to `route` is taken at the current EL (Arm ARM DDI 0487, HCR_EL2.IMO/FMO). */
  private unmasked(route: number, mask: number): boolean {
    if (route < this.el) return false;
    if (route === 2 && this.el < 2) return true;
    return (this.daif & mask) === 0;
  }

  /** Finds (and when `take`, takes) the highest-priority takeable interrupt. */
  private pick(take: boolean): boolean {
    const l = this.effectiveLines();
    const h = this.hcr;
    if ((l & 16) /* LINE_SERROR */ !== 0) {
      const route = (h & 0x20) /* HCR_AMO */ !== 0 ? 2 : 1;
      if (this.unmasked(route, 0x100 /* PSR_A */)) return !take || this.takeAsync(route, 'serror', TYPE_OFFSET_SERROR);
    }
    if ((l & 2) /* LINE_FIQ */ !== 0) {
      const route = (h & 0x8) /* HCR_FMO */ !== 0 ? 2 : 1;
      if (this.unmasked(route, 0x40 /* PSR_F */)) return !take || this.takeAsync(route, 'fiq', TYPE_OFFSET_FIQ);
    }
    if ((l & 1) /* LINE_IRQ */ !== 0) {
      const route = (h & 0x10) /* HCR_IMO */ !== 0 ? 2 : 1;
      if (this.unmasked(route, 0x80 /* PSR_I */)) return !take || this.takeAsync(route, 'irq', TYPE_OFFSET_IRQ);
    }
    if (this.el < 2) {
      // Virtual exceptions are taken at EL1 only, only when routed by AMO/FMO/IMO, masked by PSTATE.
      const daif = this.daif;
      if ((l & 32) /* LINE_VSERROR */ !== 0 && (h & 0x20) /* HCR_AMO */ !== 0 && (daif & 0x100) /* PSR_A */ === 0) {
        if (!take) return true;
        // Arm ARM D1 (virtual interrupts): on taking a vSError, HCR_EL2.VSE is cleared to 0.
        // (HCR_EL2.RW is bit 31: clear by subtraction, not with 32-bit operators.)
        if ((h & 0x100) /* HCR_VSE */ !== 0) this.hcr -= 0x100 /* HCR_VSE */;
        return this.takeAsync(1, 'serror', TYPE_OFFSET_SERROR);
      }
      if ((l & 8) /* LINE_VFIQ */ !== 0 && (h & 0x8) /* HCR_FMO */ !== 0 && (daif & 0x40) /* PSR_F */ === 0) return !take || this.takeAsync(1, 'fiq', TYPE_OFFSET_FIQ);
      if ((l & 4) /* LINE_VIRQ */ !== 0 && (h & 0x10) /* HCR_IMO */ !== 0 && (daif & 0x80) /* PSR_I */ === 0) return !take || this.takeAsync(1, 'irq', TYPE_OFFSET_IRQ);
    }
    return false;
  }

  private takeAsync(target: number, type: ExceptionType, offset: number): boolean {
    // An SError exception writes ESR_ELx (EC 0x2F, IL = 1; ISS 0: no FEAT_RAS syndrome);
    // IRQ and FIQ leave it alone.
    this.takeException(target, type, offset, type === 'serror' ? SERROR_ESR : 0, -1, -1);
    return true;
  }

  /** True when a WFI/WFE wake-up event is pending (interrupts wake WFI whatever PSTATE says). */
  wakeupPending(): boolean {
    const l = this.effectiveLines();
    if ((l & 19) /* LINE_IRQ | LINE_FIQ | LINE_SERROR */ !== 0) return true;
    if (this.el < 2) {
      const h = this.hcr;
      if ((l & 4) /* LINE_VIRQ */ !== 0 && (h & 0x10) /* HCR_IMO */ !== 0) return true;
      if ((l & 8) /* LINE_VFIQ */ !== 0 && (h & 0x8) /* HCR_FMO */ !== 0) return true;
      if ((l & 32) /* LINE_VSERROR */ !== 0 && (h & 0x20) /* HCR_AMO */ !== 0) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- power and sleep

  private sleep(state: PeState): void {
    this.state = state;
    this.sleepStart = this.now;
    this.counters.wfiSleeps++;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.el, kind: 'wfi-sleep', wfe: state === 3 /* PeState.Wfe */ });
  }

  /** Leaves WFI/WFE at the current machine time. */
  wake(reason: string): void {
    if (this.state !== 2 /* PeState.Wfi */ && this.state !== 3 /* PeState.Wfe */) return;
    const m = this.m;
    const at = Math.max(this.now, m.now);
    this.counters.idleCycles += at - this.sleepStart;
    this.now = at + this.costs.wfiWake;
    this.state = 1 /* PeState.Run */;
    if (m.trace.on) m.trace.emit({ t: at, core: this.index, el: this.el, kind: 'wfi-wake', reason, slept: at - this.sleepStart });
    m.peWoken(this);
  }

  /** Powers the PE on at `entry` in EL `el` with DAIF masked (reset or PSCI CPU_ON). */
  powerOn(entry: number, el: number, at: number, x0: Word = 0, by = -1): void {
    this.now = Math.max(this.now, at);
    if (this.state === 0 /* PeState.Off */) this.counters.idleCycles += Math.max(0, this.now - this.sleepStart);
    this.state = 1 /* PeState.Run */;
    this.el = el;
    this.spsel = 1;
    this.daif = PSR_DAIF;
    this.il = false;
    this.x.fill(0);
    this.x[0] = x0;
    this.m.monitors.reset(this.index);
    this.thread = null;
    this.fetchPc = entry;
    this.updateTakeable();
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: this.now, core: this.index, el, kind: 'cpu-on', entry, startEl: el, by });
    m.peWoken(this);
  }

  powerOff(reason: string): void {
    const t = this.thread;
    if (t !== null) {
      t.owner = -1;
      this.m.threads.release(t);
    }
    this.thread = null;
    this.m.monitors.reset(this.index);
    this.state = 0 /* PeState.Off */;
    this.sleepStart = this.now;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: this.now, core: this.index, el: this.el, kind: 'cpu-off', reason });
  }

  /** Cycles this PE has been idle until `until` (closing an open sleep). */
  idleUntil(until: number): number {
    const open = this.state === 1 /* PeState.Run */ ? 0 : Math.max(0, until - this.sleepStart);
    return this.counters.idleCycles + open;
  }

  /** Debug summary. */
  toString(): string {
    return `PE${this.index}@${this.now} EL${this.el} ${['off', 'run', 'wfi', 'wfe'][this.state]} daif=${(this.daif >>> 6).toString(2).padStart(4, '0')} pc=0x${this.currentPc().toString(16)}`;
  }
}

/**
 * The constants this file writes as literals on its hot paths (see the note at the top), checked
 * once when it loads: a constant changed elsewhere stops the simulator here rather than
 * silently diverging.
 */
const LITERALS: readonly (readonly [string, number, number])[] = [
  ['LINE_IRQ', LINE_IRQ, 1], ['LINE_FIQ', LINE_FIQ, 2], ['LINE_VIRQ', LINE_VIRQ, 4], ['LINE_VFIQ', LINE_VFIQ, 8],
  ['LINE_SERROR', LINE_SERROR, 16], ['LINE_VSERROR', LINE_VSERROR, 32],
  ['HCR_VM', HCR_VM, 0x1], ['HCR_FMO', HCR_FMO, 0x8], ['HCR_IMO', HCR_IMO, 0x10], ['HCR_AMO', HCR_AMO, 0x20],
  ['HCR_VF', HCR_VF, 0x40], ['HCR_VI', HCR_VI, 0x80], ['HCR_VSE', HCR_VSE, 0x100],
  ['PSR_A', PSR_A, 0x100], ['PSR_I', PSR_I, 0x80], ['PSR_F', PSR_F, 0x40], ['PSR_DAIF', PSR_DAIF, 0x3c0],
  ['PSR_IL', PSR_IL, 0x100000], ['PSR_NZCV', PSR_NZCV, 0xf0000000],
  ['S2_READ', S2_READ, 1], ['S2_WRITE', S2_WRITE, 2], ['S2_EXEC', S2_EXEC, 4], ['PAGE', PAGE, 4096],
  ['Access.Ok', Access.Ok, 0], ['Access.TrapEl2', Access.TrapEl2, 2], ['Access.TrapEl1', Access.TrapEl1, 3],
  ['BusStatus.Ok', BusStatus.Ok, 0],
];
for (const [name, value, literal] of LITERALS) {
  if (value !== literal) throw new Error(`core/pe.ts writes ${name} as ${literal}, but it is ${value}`);
}
