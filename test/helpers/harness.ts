/**
 * A small bare-metal harness for core tests: installs EL2/EL1 vector tables and a `main`
 * program, and boots a stub at EL2 that programs VBARs and HCR_EL2 and ERETs to `main` at
 * the requested EL with the requested DAIF.
 */
import { HCR_RW } from '../../core/hcr.js';
import { Machine, type MachineConfig } from '../../core/machine.js';
import { eret, mrs, msr, smc, type EntryFn, type Program } from '../../core/ops.js';
import { PSCI } from '../../core/psci.js';
import { spsrFor } from '../../core/pstate.js';
import { ELR_EL1, ELR_EL2, ESR_EL1, ESR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL1, VBAR_EL2 } from '../../core/sysregs.js';
import type { VectorTable } from '../../core/code.js';

export const VEC_EL2 = 0x4000_0000;
export const VEC_EL1 = 0x4000_0800;
export const BOOT = 0x4001_0000;
export const MAIN = 0x4002_0000;

export interface Setup {
  el: 0 | 1 | 2;
  main: EntryFn;
  hcr?: number;
  /** PSTATE.DAIF for main, as PSR_* bits (default 0: all unmasked). */
  daif?: number;
  el1Vectors?: VectorTable;
  el2Vectors?: VectorTable;
  machine?: MachineConfig;
}

export function setup(s: Setup): Machine {
  const m = new Machine({ trace: true, ...s.machine });
  if (s.el2Vectors) m.code.installVectors(VEC_EL2, s.el2Vectors, 'el2');
  if (s.el1Vectors) m.code.installVectors(VEC_EL1, s.el1Vectors, 'el1');
  m.code.install(MAIN, s.main, 'main');
  m.code.install(
    BOOT,
    function* (): Program {
      yield msr(VBAR_EL2, VEC_EL2);
      yield msr(VBAR_EL1, VEC_EL1);
      yield msr(HCR_EL2, s.hcr ?? HCR_RW);
      yield msr(SPSR_EL2, spsrFor(s.el, s.daif ?? 0));
      yield msr(ELR_EL2, MAIN);
      yield eret();
    },
    'boot',
  );
  m.boot(BOOT);
  return m;
}

/** PSCI CPU_OFF through the firmware (from EL1 with HCR_EL2.TSC = 0, or EL2). */
export function* cpuOff(): Program {
  yield smc(0, PSCI.CPU_OFF);
}

/** What a synchronous exception handler read: the EL that took it, ESR_ELx and ELR_ELx. */
export interface Taken {
  el: number;
  esr: number;
  elr: number;
}

/** ERET to ELR_ELx + 4 from EL `el`: completes the trapped op without executing it. */
export function* eretSkipping(el: 1 | 2, elr: number): Program {
  yield msr(el === 2 ? ELR_EL2 : ELR_EL1, elr + 4, 9);
  yield eret();
}

/**
 * A synchronous-exception vector entry for EL `el` that reads ESR_ELx and ELR_ELx (into x9) and
 * logs them, then: 'return' ERETs to ELR (retrying a held op), 'skip' ERETs to ELR + 4, 'stop'
 * powers the PE off, and a function goes on with what was read.
 */
export function recordSync(el: 1 | 2, log: Taken[], then: 'return' | 'skip' | 'stop' | ((taken: Taken) => Program) = 'return'): EntryFn {
  return function* () {
    const esr: number = yield mrs(el === 2 ? ESR_EL2 : ESR_EL1, 9);
    const elr: number = yield mrs(el === 2 ? ELR_EL2 : ELR_EL1, 9);
    const taken = { el, esr, elr };
    log.push(taken);
    if (then === 'stop') yield* cpuOff();
    else if (then === 'skip') yield* eretSkipping(el, elr);
    else if (then === 'return') yield eret();
    else yield* then(taken);
  };
}
