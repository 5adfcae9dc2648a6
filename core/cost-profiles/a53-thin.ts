/**
 * Cortex-A53 class, 1.2 GHz, with a thin static-partitioning hypervisor (Bao / Jailhouse class):
 * the machine of the static-partitioning interrupt-latency studies (Martins & Pinto, "Shedding
 * Light on Static Partitioning Hypervisors for Arm-based Mixed-Criticality Systems", RTAS 2023:
 * Xilinx ZCU104, 4x Cortex-A53 at 1.2 GHz, GIC-400 with 4 list registers, 1 MiB shared L2).
 *
 * Cycles are of the 1.2 GHz core clock. Where a source measured nanoseconds on another clock,
 * the entry says how it was converted. An operation software performs (firmware, bookkeeping)
 * scales with the core clock, so it is carried over in cycles.
 *
 * The GIC: the board's GIC-400 is a GICv2, whose CPU interface and virtual interface (GICC,
 * GICV, GICH) are MMIO frames on the AXI bus. minivisor models a GICv3 CPU interface (system
 * registers); CHOICE: this profile keeps the model's GICv3 interface but prices its accesses as
 * the GICv2 frames' MMIO accesses (an acknowledge is a device read, an EOI a posted device
 * write, a list-register access an MMIO access to GICH), so that the trapped path pays what a
 * GIC-400 board pays. The ITS and GICv4 entries have no counterpart on a GIC-400 (it has
 * neither): they are GIC-500-class estimates at this clock, there only so that the model's
 * direct path can run on this profile for comparison.
 */
import { machineProfile } from './entry.js';

export const A53_THIN = machineProfile({
  name: 'a53-thin',
  summary: 'Cortex-A53 1.2 GHz, GIC-400-priced CPU interface, 4 LRs, thin static-partitioning hypervisor (ZCU104 class; run it at 1200 MHz)',
  machine: { clockMHz: 1200, listRegs: 4, gicVersion: 4, description: 'Cortex-A53 at 1.2 GHz (Xilinx ZynqMP / ZCU104 class), GIC-400-class GIC with 4 list registers' },
  costs: {
    op: [1, 'estimate: dual-issue in-order pipeline (soclabs.org "Cortex-A53": 8-stage symmetric dual-issue in-order); dependent integer code issues about one per cycle'],
    sysregRead: [3, 'estimate: an MRS of a non-serialising register on an in-order core, a few cycles; no A53 software optimisation guide is published'],
    sysregWrite: [5, 'estimate: an MSR waits for older instructions on an in-order pipeline; a context register that needs synchronisation pays an ISB besides'],
    memRead: [3, 'estimate: L1D load-to-use of an in-order A53-class core, 3 cycles (the A53 TRM gives no latency; commonly measured 3)'],
    memWrite: [1, 'estimate: stores retire into the store buffer'],
    s2WalkLevel: [15, 'Hennessy & Patterson, Computer Architecture: A Quantitative Approach, 6th ed., "ARM Cortex-A53" (secondary summary): L1 miss served by L2 in 13 cycles; a walk step reads one descriptor that hits L2, plus 2 cycles of walker overhead (estimate)'],
    exceptionEntryEl1: [20, 'estimate: pipeline drain of an 8-stage in-order pipeline (soclabs.org "Cortex-A53") plus PSTATE/SPSR/ELR update and the vector fetch; less than an OoO core'],
    exceptionEntryEl2: [20, 'estimate: as exceptionEntryEl1'],
    eret: [15, 'estimate: pipeline refill at the return address of an 8-stage pipeline plus PSTATE restore'],
    isb: [8, 'estimate: pipeline refill of an 8-stage pipeline (soclabs.org "Cortex-A53")'],
    dsb: [15, 'estimate: drains the store buffer and waits for outstanding accesses (L1 hits)'],
    dmb: [8, 'estimate: orders accesses, cheaper than DSB on an in-order core'],
    tlbi: [20, 'estimate: a local TLB invalidation; completion is paid by the following DSB'],
    wfiWake: [100, 'estimate: clock-gating exit of a small core (WFI exit latency is IMPLEMENTATION DEFINED)'],
    firmwareCall: [550, 'TF-A docs/perf/psci-performance-juno.rst, "PSCI_VERSION latency in parallel" (v2.14 CSV test_rt_instr_psci_version_parallel.csv, cluster 1 = the 4 Cortex-A53 of Juno R1 at 650 MHz): 680-1020 ns, i.e. 440-660 cycles; the middle, 550 cycles, kept in cycles (firmware code scales with the core clock). The 2017 table of the same document gives 3x more: the range is wide'],
    cpuOnLatency: [14000, 'TF-A docs/perf/psci-performance-juno.rst, CPU_OFF/CPU_ON test, "Wakeup" (PSCI_EXIT) column of test_rt_instr_cpu_off_serial.csv, Juno R1 Cortex-A53 at 650 MHz: 21.3-23.2 us, i.e. about 14,000 cycles; a lower bound (the SCP power-up before it is not included)'],
    mmioRead: [100, 'estimate: an uncached device read over AXI on a ZynqMP-class SoC, about 80 ns at 1.2 GHz'],
    mmioWrite: [20, 'estimate: a posted device write leaves the core in a few tens of cycles'],
    exclusiveLoad: [5, 'estimate: an L1-hit load (memRead 3) that also marks the exclusive monitor'],
    exclusiveStore: [6, 'estimate: the monitor check, the store and the status write, in order'],
    atomic: [12, 'estimate: the A53 implements Armv8.0 without LSE atomics, so an atomic is an LDXR/STXR loop: exclusiveLoad + exclusiveStore + a compare and branch'],
    acquireRelease: [4, 'estimate: a one-sided barrier, cheaper than DMB (8)'],
    gicdRead: [300, 'estimate: a distributor read cannot be posted, so it costs at least a write (gicdWrite, 300)'],
    gicdWrite: [300, 'DERIVED from seL4/seL4 pull request 1183 and issue 952 (i.MX8MQ, Cortex-A53, GIC-500): removing two distributor writes per IRQ (ICENABLER, ISENABLER) and adding one ICC_DIR write saved about 620 cycles, so about 300 cycles per GICD write; low confidence (order of magnitude)'],
    gicrRead: [300, 'estimate: as gicdRead (the redistributor frames are on the same AXI path)'],
    gicrWrite: [300, 'estimate: the redistributor frames sit on the same AXI path as the distributor: as gicdWrite'],
    gitsRead: [300, 'estimate: as gicdRead (no ITS on a GIC-400; GIC-500-class)'],
    gitsWrite: [300, 'estimate: as gicdWrite (no ITS on a GIC-400; GIC-500-class)'],
    iccAck: [100, 'estimate: on a GIC-400 the acknowledge is a GICC_IAR (GICV_IAR in a guest) MMIO read: priced as mmioRead (see the CHOICE above)'],
    iccEoi: [20, 'estimate: on a GIC-400 the EOI is a posted GICC_EOIR (GICV_EOIR) MMIO write: priced as mmioWrite (see the CHOICE above)'],
    iccOther: [20, 'estimate: other GICC/GICV frame accesses (PMR, CTLR), mostly posted writes: priced as mmioWrite'],
    ichAccess: [60, 'estimate: on a GIC-400 the list registers and virtual-interface control are GICH MMIO registers: writes posted (20), reads of ELRSR/MISR/LRs device reads (100); 60 as the mix of a hypervisor that writes more than it reads'],
    sgiLatency: [200, 'estimate: GICD_SGIR write to pending at the target CPU interface, through the distributor'],
    signalLatency: [20, 'estimate: a pending change presented to the CPU interface'],
    lpiConfigFetch: [120, 'estimate: one DRAM read by the GIC (about 100 ns at 1.2 GHz); no LPIs on a GIC-400'],
    itsTranslate: [300, 'estimate: device/ITT/collection lookups with warm caches (GIC-500-class; no ITS on a GIC-400)'],
    itsCommand: [150, 'estimate: command fetch and decode (GIC-500-class; no ITS on a GIC-400)'],
    itsTableAccess: [120, 'estimate: one DRAM access per table entry, about 100 ns at 1.2 GHz'],
    vpeScheduleDirty: [1200, 'estimate: no GICv4 on this class; a VPT parse of about 1 us, as the HiSilicon statements for GICv4.1 ("hundreds of nanoseconds, or 1~2 microseconds", Shenming Lu, lkml 2020-09-15)'],
    vpeDescheduleDirty: [600, 'estimate: no GICv4 on this class; half a parse (flush and PendingLast), no published figure'],
  },
  bookkeeping: {
    inject: [20, 'estimate: a static-partitioning hypervisor (Bao, Jailhouse) maps a physical interrupt to its one VM by a table lookup and writes a list register: about twenty instructions between the architectural steps; the RTAS 2023 PMU counts of EL2 instructions that would bound it were not retrieved'],
    schedule: [30, 'estimate: one vCPU pinned per core, no scheduler: only the check that the vCPU can run'],
    mmioEmulation: [40, 'estimate: decode of the ESR syndrome and a switch on the emulated register, in C'],
    hypercall: [20, 'estimate: a switch on the function ID'],
    exit: [10, 'estimate: a static-partitioning hypervisor dispatches an exit straight from its vector to the handler of its cause (bao: the exception vector branches to the C handler by ESR class) and returns; only the register save and restore, which the model executes as ops'],
  },
});
