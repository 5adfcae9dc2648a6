/**
 * The memory-interference model of the interrupt-latency test, in the shape of the static-
 * partitioning hypervisor studies (Martins & Pinto, RTAS 2023; artifact repository
 * ESRGv3/shedding-light-static-partitioning-hypervisors: guests/irqlat, guests/interf2):
 * - the measured guest cools its own L1 between interrupts (it writes a buffer of its L1D size
 *   and ends every handler with `ic iallu`), so every interrupt's path, the hypervisor's EL2
 *   code and data included, starts with a cold L1 and is served from the next level;
 * - the interference is another VM on other cores that streams writes over a buffer twice the
 *   shared L2, touching no GIC: it slows the measured path only through that path's misses,
 *   which now go to a loaded DRAM instead of the shared L2.
 *
 * minivisor has no caches, so the model charges the path's line fills where the path starts:
 * each exception entry to EL2 pays `el2Lines` fills, each entry to EL1 (the guest's vector and
 * handler) `guestLines` fills, at the solo latency (`fillCycles`) or, with interference, the
 * loaded one (`loadedFillCycles`). The interfering cores themselves are not simulated: their
 * only effect is this cost. Every number is per profile, with its source or "estimate:".
 */
import type { CostTable } from '../../core/costs.js';

export interface InterferenceModel {
  /** Cache lines the hypervisor's trapped path refills per EL2 entry. */
  readonly el2Lines: number;
  /** Cache lines the guest's interrupt entry and handler refill per EL1 entry. */
  readonly guestLines: number;
  /** Cycles of one refill alone: from the level behind L1 that the interference does not touch. */
  readonly fillCycles: number;
  /** Cycles of one refill with the interference running. */
  readonly loadedFillCycles: number;
  readonly sources: Readonly<Record<'el2Lines' | 'guestLines' | 'fillCycles' | 'loadedFillCycles', string>>;
}

const A53: InterferenceModel = {
  el2Lines: 35,
  guestLines: 14,
  fillCycles: 13,
  loadedFillCycles: 240,
  sources: {
    el2Lines: 'estimate: a thin hypervisor\'s injected path (exception vector, register save and restore, IAR/EOI, a list-register write, ERET) is some 300-400 instructions, about 25 instruction lines of 64 bytes, plus about 10 data lines (the trap frame, per-CPU and vCPU records); the RTAS 2023 PMU counts of EL2 refills that would measure it were not retrieved',
    guestLines: 'estimate: the guest\'s IRQ vector, its register save (4 lines) and handler, about 14 lines',
    fillCycles: 'Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 6th ed., "ARM Cortex-A53" (secondary summary): an L1 miss served by the shared L2 costs 13 cycles',
    loadedFillCycles: 'estimate: the interfering VM streams writes over twice the 1 MiB shared L2 (RTAS 2023 interf2), so the path\'s lines come from DRAM behind a loaded controller: about 200 ns at 1.2 GHz',
  },
};

const SERVER: InterferenceModel = {
  el2Lines: 120,
  guestLines: 14,
  fillCycles: 11,
  loadedFillCycles: 11,
  sources: {
    el2Lines: 'estimate: a KVM exit and re-entry runs some 2,000 instructions of C and assembly (about 100 instruction lines) plus about 20 data lines',
    guestLines: 'estimate: the guest\'s IRQ vector, register save and handler, about 14 lines',
    fillCycles: 'estimate: N1-class cores have a private L2 (up to 1 MiB per core); an L1 refill from it costs about 11 cycles',
    loadedFillCycles: 'estimate: the same as alone: the L2 is private, so neighbours streaming over the shared system-level cache and DRAM do not evict the measured core\'s lines (the model has no SLC contention)',
  },
};

export const INTERFERENCE: Readonly<Record<string, InterferenceModel>> = {
  'a53-thin': A53,
  'n1-altra-kvm': SERVER,
  'kunpeng920-kvm': SERVER,
  default: SERVER,
  'slow-residency': SERVER,
  'cheap-traps': SERVER,
};

/** The costs of `base` with the refills of a cold-L1 path, alone or with interference. */
export function withColdPath(base: Readonly<CostTable>, m: InterferenceModel, loaded: boolean): CostTable {
  const fill = loaded ? m.loadedFillCycles : m.fillCycles;
  return { ...base, exceptionEntryEl2: base.exceptionEntryEl2 + m.el2Lines * fill, exceptionEntryEl1: base.exceptionEntryEl1 + m.guestLines * fill };
}
