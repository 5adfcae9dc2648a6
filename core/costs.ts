/**
 * The one cost table: cycles charged for every op and every hardware action, in cycles of the
 * configured core clock. Every number has its source or rationale beside it. Most are
 * estimates for a 2-3 GHz out-of-order Armv8.2 core (Cortex-A76 / Neoverse N1 class) with a
 * GIC-600-class interrupt controller: public documents give few exact latencies for these
 * paths, so the defaults aim at the right order of magnitude and the relative costs that
 * matter for the comparison (a trap to EL2 and back costs far more than an ICV access; an ITS
 * command costs far more than a translation). Users change them per scenario (cost profiles).
 */
import { A53_THIN } from './cost-profiles/a53-thin.js';
import { KUNPENG920_KVM } from './cost-profiles/kunpeng920-kvm.js';
import { N1_ALTRA_KVM } from './cost-profiles/n1-altra-kvm.js';

export interface CostTable {
  // ---- PE ----
  /** A plain instruction (ALU, branch, register move, NOP). */
  op: number;
  /** MRS of an ordinary system register. */
  sysregRead: number;
  /** MSR of an ordinary system register. */
  sysregWrite: number;
  /** Load from RAM (L1 hit). */
  memRead: number;
  /** Store to RAM. */
  memWrite: number;
  /** Extra cycles of each level of a stage-2 table walk on a TLB miss. */
  s2WalkLevel: number;
  /** Exception entry to EL1 (vector fetch, PSTATE/SPSR/ELR update, pipeline flush). */
  exceptionEntryEl1: number;
  /** Exception entry to EL2. */
  exceptionEntryEl2: number;
  /** ERET. */
  eret: number;
  isb: number;
  dsb: number;
  dmb: number;
  /** A TLBI operation, local or broadcast (completion is ordered by the following DSB). */
  tlbi: number;
  /** Leaving the WFI low-power state once a wake-up event arrives. */
  wfiWake: number;
  /** An SMC handled by the EL3 firmware (PSCI), entry to return. */
  firmwareCall: number;
  /** From PSCI CPU_ON until the target PE fetches its first instruction. */
  cpuOnLatency: number;
  /** MMIO read of a device with no latency of its own. */
  mmioRead: number;
  /** MMIO write (posted) of a device with no latency of its own. */
  mmioWrite: number;
  /** LDXR/LDAXR from RAM: the load plus marking the exclusive monitors. */
  exclusiveLoad: number;
  /** STXR/STLXR to RAM, successful or not: the monitor check, the store and the status write. */
  exclusiveStore: number;
  /** An LSE atomic (CAS, SWP, LDADD, LDCLR, LDSET, LDEOR) performed far, at the interconnect. */
  atomic: number;
  /** Extra cycles of each acquire or release ordering on top of its access (LDAR, STLR, LDAXR, STLXR, the A/L forms). */
  acquireRelease: number;

  // ---- GIC: register access latencies ----
  gicdRead: number;
  gicdWrite: number;
  gicrRead: number;
  gicrWrite: number;
  gitsRead: number;
  gitsWrite: number;
  /** ICC_IAR1_EL1 / ICV_IAR1_EL1 read: acknowledge handshake with the CPU interface. */
  iccAck: number;
  /** ICC_EOIR1_EL1 / ICV_EOIR1_EL1 / DIR write. */
  iccEoi: number;
  /** Any other ICC_ / ICV_ register. */
  iccOther: number;
  /** ICH_* register read or write (list registers, APRs, HCR, VMCR, status). */
  ichAccess: number;

  // ---- GIC: internal actions ----
  /** From an SGI register write until the SGI is pending at its targets. */
  sgiLatency: number;
  /** From a pending change until the CPU interface drives the PE's interrupt line. */
  signalLatency: number;
  /** Redistributor fetch of one LPI configuration byte (cache fill after an invalidation). */
  lpiConfigFetch: number;
  /** ITS translation of one MSI: device table, ITT and collection/vPE lookups (cached). */
  itsTranslate: number;
  /** Fixed cost of executing one ITS command (fetch of 32 bytes from the queue, decode). */
  itsCommand: number;
  /** Each table entry an ITS command reads or writes in memory. */
  itsTableAccess: number;
  /** GICR_VPENDBASER.Dirty time after Valid 0->1 (VPT scan for the new resident vPE). */
  vpeScheduleDirty: number;
  /** GICR_VPENDBASER.Dirty time after Valid 1->0 (flush, PendingLast computation). */
  vpeDescheduleDirty: number;
}

/**
 * Defaults. Sources and rationale, entry by entry:
 * - op 1: simple integer instructions retire at 1+/cycle (Arm Cortex-A76 Software Optimization Guide, section 3).
 * - sysregRead/Write 2/4: non-serialising MRS/MSR issue in a few cycles (A76 SOG lists MRS/MSR on the
 *   branch/system pipes); context registers that need synchronisation pay an explicit ISB.
 * - memRead 4 / memWrite 1: A76 L1D load-to-use latency 4 cycles; stores retire into the store buffer.
 * - s2WalkLevel 25: a walk step that hits in L2 (A76 L2 latency 9-11 cycles) plus walker overhead; estimate.
 * - exceptionEntry 40/40, eret 30: pipeline flush and vector fetch on an OoO core (~tens of cycles). Estimate
 *   consistent with Dall et al., "ARM Virtualization: Performance and Architectural Implications" (ISCA 2016),
 *   where a Xen hypercall round trip (entry, minimal save, return) costs a few hundred cycles on ARMv8.
 * - isb 20, dsb 30, dmb 10, tlbi 50: pipeline refill and barrier drain; estimates.
 * - wfiWake 200: clock-gating exit, estimate (WFI exit latency is IMPLEMENTATION DEFINED).
 * - firmwareCall 800 / cpuOnLatency 20000: EL3 world switch through TF-A and core power-up; estimates.
 * - mmio 150/40: uncached device access across the interconnect vs. a posted write; estimate.
 * - exclusiveLoad 6: an L1-hit load (memRead 4) that also requests the line in a unique state and
 *   marks the local monitor; estimate.
 * - exclusiveStore 8: unlike a plain store (memWrite 1) it cannot retire into the store buffer
 *   before its status is known: the monitor check needs the line held unique; estimate.
 * - atomic 30: Neoverse N1-class cores execute LSE atomics "far" (at the interconnect's home node /
 *   system level cache) when the line is shared, which costs tens of cycles; uncontended near
 *   atomics in L1 are cheaper. The model has no caches, so one figure between the two. Estimate.
 * - acquireRelease 5: a one-sided barrier (loads after an acquire wait for it; a release waits for
 *   earlier accesses) costs less than the full DMB (10) it replaces. Memory here is coherent and
 *   sequentially consistent, so the ordering itself changes nothing but this cost. Estimate.
 * - gicd/gicr/gits 300/60: GIC-600 register reads travel through the distributor (AXI/ACE-lite) and take
 *   hundreds of cycles; writes are posted. Estimate.
 * - iccAck 60, iccEoi 30, iccOther 10, ichAccess 10: the CPU interface is in the core (GICv3 system register
 *   interface), an acknowledge needs a handshake with the redistributor; estimates.
 * - sgiLatency 300, signalLatency 20: SGIs travel distributor/redistributor messages; a pending change is
 *   presented to the CPU interface in a few tens of cycles. Estimates.
 * - lpiConfigFetch 100: one memory read by the redistributor on a configuration-cache miss; estimate.
 * - itsTranslate 400: device/ITT/collection lookups with warm ITS caches; estimate.
 * - itsCommand 150 + itsTableAccess 100: command fetch and decode plus a memory access per table entry.
 * - vpeScheduleDirty 1500 / vpeDescheduleDirty 800: GIC-600 parses the VPT when a vPE becomes resident and
 *   flushes it when it leaves; Linux polls Dirty for this (its_wait_vpt_parse_complete). Estimates.
 */
export const DEFAULT_COSTS: Readonly<CostTable> = Object.freeze({
  op: 1,
  sysregRead: 2,
  sysregWrite: 4,
  memRead: 4,
  memWrite: 1,
  s2WalkLevel: 25,
  exceptionEntryEl1: 40,
  exceptionEntryEl2: 40,
  eret: 30,
  isb: 20,
  dsb: 30,
  dmb: 10,
  tlbi: 50,
  wfiWake: 200,
  firmwareCall: 800,
  cpuOnLatency: 20000,
  mmioRead: 150,
  mmioWrite: 40,
  exclusiveLoad: 6,
  exclusiveStore: 8,
  atomic: 30,
  acquireRelease: 5,
  gicdRead: 300,
  gicdWrite: 60,
  gicrRead: 300,
  gicrWrite: 60,
  gitsRead: 300,
  gitsWrite: 60,
  iccAck: 60,
  iccEoi: 30,
  iccOther: 10,
  ichAccess: 10,
  sgiLatency: 300,
  signalLatency: 20,
  lpiConfigFetch: 100,
  itsTranslate: 400,
  itsCommand: 150,
  itsTableAccess: 100,
  vpeScheduleDirty: 1500,
  vpeDescheduleDirty: 800,
});

/**
 * Cycles the hypervisor's own software spends on its bookkeeping (charged with `work` at EL2):
 * the code between the architectural steps, which a thin static-partitioning hypervisor and
 * KVM differ most in. Part of a cost profile, since it is a property of the machine's software.
 */
export interface BookkeepingCosts {
  /** Deciding where a host interrupt goes and queuing it for a vCPU. */
  readonly inject: number;
  /** One scheduler decision (policy, run queues). */
  readonly schedule: number;
  /** Decoding and dispatching one trapped MMIO access to its emulated register. */
  readonly mmioEmulation: number;
  /** Dispatching one HVC/SMC by function ID. */
  readonly hypercall: number;
  /**
   * Software run on every guest exit besides the handler of its cause (KVM's return to its vCPU
   * run loop and the checks there); 0 for a hypervisor that handles an exit and returns.
   */
  readonly exit: number;
}

/** Estimates for a thin C hypervisor on a 2-3 GHz core: tens of instructions per action. */
export const DEFAULT_BOOKKEEPING: Readonly<BookkeepingCosts> = Object.freeze({ inject: 40, schedule: 150, mmioEmulation: 60, hypercall: 40, exit: 0 });

export interface CostProfile {
  readonly name: string;
  readonly summary: string;
  readonly costs: Readonly<CostTable>;
  /** The hypervisor's bookkeeping on this machine (default: DEFAULT_BOOKKEEPING). */
  readonly bookkeeping?: Readonly<BookkeepingCosts>;
  /**
   * Profiles of a real machine: what it is (its core clock: the costs are cycles of it; its list
   * registers; its GIC's version), and the source of every entry (`sources[key]` for each cost,
   * `sources['bookkeeping.' + key]` for each bookkeeping entry; core/cost-profiles/).
   */
  readonly machine?: { readonly clockMHz: number; readonly listRegs: number; readonly gicVersion: 3 | 4; readonly description: string };
  readonly sources?: Readonly<Record<string, string>>;
}

/** Named cost profiles a scenario can pick. */
export const COST_PROFILES: readonly CostProfile[] = [
  { name: 'default', summary: 'A76/N1-class core with a GIC-600-class GIC (estimates, see core/costs.ts)', costs: DEFAULT_COSTS },
  {
    name: 'slow-residency',
    summary: 'default, but vPE residency changes cost 10x (a GIC that parses large VPTs slowly)',
    costs: Object.freeze({ ...DEFAULT_COSTS, vpeScheduleDirty: 15000, vpeDescheduleDirty: 8000 }),
  },
  {
    name: 'cheap-traps',
    summary: 'default, but exception entry/return cost a third (a core with fast world switches)',
    costs: Object.freeze({ ...DEFAULT_COSTS, exceptionEntryEl1: 13, exceptionEntryEl2: 13, eret: 10 }),
  },
  A53_THIN,
  N1_ALTRA_KVM,
  KUNPENG920_KVM,
];

/** The profiles of real machines (every entry sourced; core/cost-profiles/). */
export const MACHINE_PROFILES: readonly CostProfile[] = COST_PROFILES.filter((p) => p.machine !== undefined);

export function costProfile(name: string): CostProfile | undefined {
  return COST_PROFILES.find((p) => p.name === name);
}
