/**
 * Kunpeng 920 class (HiSilicon TaiShan v110 cores, 2.6 GHz), a GICv4.0 server with KVM: the
 * machine of the kvm-unit-tests micro-bench run posted by heqiong (Phytium), "[kvm-unit-tests
 * 1/1] arm64: microbench: Move the read of the count register and the ISB operation out of the
 * while loop" (kvm list, 2023-11-01, quoted by Alexandru Elisei), and of Shenming Lu's GICv4
 * VPT-parse measurements ("[PATCH v2 0/2] KVM: arm64: Optimize the wait for the completion of
 * the VPT analysis", 2020-11-28). Residency, Dirty-wait and VMOVP costs come from the published
 * statements of those operations where one exists (the entries say so); the end-to-end
 * figures (vcpu_load to guest entry 2.55 us, the micro-bench rows) are outputs to compare with.
 *
 * Cycles are of a 2.6 GHz core clock (the common Kunpeng 920 SKU; the post gives no clock: an
 * assumption). TaiShan v110 is a 4-wide OoO Armv8.2 core of the A76 generation: without a
 * published software optimisation guide, its core entries are the N1-class estimates.
 */
import { machineProfile } from './entry.js';

export const KUNPENG920_KVM = machineProfile({
  name: 'kunpeng920-kvm',
  summary: 'Kunpeng 920 2.6 GHz (TaiShan v110), GICv4.0, 4 LRs, KVM-like bookkeeping, published VPT-parse time (run it at 2600 MHz)',
  machine: { clockMHz: 2600, listRegs: 4, gicVersion: 4, description: 'Kunpeng 920 at 2.6 GHz (TaiShan v110 cores), HiSilicon GICv4.0 with 4 list registers' },
  costs: {
    op: [1, 'estimate: 4-wide OoO Armv8.2 core: simple integer instructions retire at 1+ per cycle (N1-class)'],
    sysregRead: [2, 'estimate: non-serialising MRS issue in a few cycles (N1-class)'],
    sysregWrite: [4, 'estimate: as sysregRead; context registers pay an ISB besides'],
    memRead: [4, 'estimate: L1D load-to-use 4 cycles, as the N1 (LLVM AArch64SchedNeoverseN1.td after the N1 SOG); no TaiShan v110 guide is published'],
    memWrite: [1, 'estimate: stores retire into the store buffer'],
    s2WalkLevel: [25, 'estimate: a walk step that hits in the private L2 plus walker overhead (N1-class)'],
    exceptionEntryEl1: [40, 'estimate: pipeline flush, context synchronisation and vector fetch of an OoO core (N1-class)'],
    exceptionEntryEl2: [40, 'estimate: as exceptionEntryEl1'],
    eret: [30, 'estimate: context synchronisation and refill'],
    isb: [20, 'estimate: pipeline flush and refill'],
    dsb: [30, 'estimate: drain of the store buffer and outstanding loads'],
    dmb: [10, 'estimate: ordering without a full drain'],
    tlbi: [50, 'estimate: TLB maintenance; completion paid by the following DSB'],
    wfiWake: [200, 'estimate: clock-gating exit (IMPLEMENTATION DEFINED)'],
    firmwareCall: [800, 'estimate: an SMC round trip through the EL3 firmware of an OoO core (see n1-altra-kvm)'],
    cpuOnLatency: [20000, 'estimate: core power-up plus the firmware PSCI path, about 8 us'],
    mmioRead: [150, 'estimate: uncached device read across the on-die interconnect'],
    mmioWrite: [40, 'estimate: a posted device write'],
    exclusiveLoad: [6, 'estimate: as on an N1-class core (see n1-altra-kvm): an L1 access plus the monitor'],
    exclusiveStore: [8, 'estimate: as on an N1-class core (see n1-altra-kvm): an L1 access plus the monitor'],
    atomic: [30, 'estimate: LSE atomics performed at the interconnect when shared (N1-class)'],
    acquireRelease: [5, 'estimate: a one-sided barrier'],
    gicdRead: [300, 'estimate: a distributor read across the die, about 115 ns'],
    gicdWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    gicrRead: [300, 'estimate: the same interconnect path as a distributor read: as gicdRead'],
    gicrWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    gitsRead: [300, 'estimate: as gicdRead, for the local socket\'s ITS (a remote ITS costs about 100 ns more: Nianyao Tang, "[RESPIN PATCH] irqchip/gic-v4.1: Use local 4_1 ITS to generate VSGI", 2024-07-01, DERIVED; the model has one ITS)'],
    gitsWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    iccAck: [60, 'estimate: handshake between the CPU interface and the redistributor'],
    iccEoi: [35, 'SET from kvm-unit-tests eoi on Kunpeng 920 after the whole-loop change: 16 ns (heqiong, kvm list, 2023-11-01) = 42 cycles at 2.6 GHz per iteration, less about 7 cycles of loop: 35. The eoi row is therefore not a validation point of this profile'],
    iccOther: [10, 'estimate: a CPU-interface register in the core'],
    ichAccess: [10, 'estimate: ICH_* registers in the core'],
    sgiLatency: [300, 'estimate: distributor/redistributor messages'],
    signalLatency: [20, 'estimate: a pending change presented to the CPU interface'],
    lpiConfigFetch: [100, 'estimate: one memory read on a configuration-cache miss'],
    itsTranslate: [400, 'estimate: device/ITT/vPE lookups with warm caches'],
    itsCommand: [150, 'estimate: command fetch and decode; no published ITS command latency (a VMOVP is VMOVP + VSYNC: two commands and their table accesses; Linux only says "Changing affinity is mega expensive")'],
    itsTableAccess: [100, 'estimate: a memory access per table entry'],
    vpeScheduleDirty: [2600, 'Shenming Lu, "[PATCH] irqchip/gic-v4.1: Optimize the delay time of the poll on the GICR_VENPENDBASER.Dirty bit" (lkml, 2020-09-15) and the v2 cover letter (2020-11-28): the VPT parse after Valid 0->1 takes "hundreds of nanoseconds, or 1~2 microseconds ... in most cases", and "even the VPT full of interrupts (56k) can be parsed within 2 microseconds"; 1 us = 2,600 cycles at 2.6 GHz. Low confidence: a vendor statement, possibly measured on an emulation platform'],
    vpeDescheduleDirty: [1300, 'estimate: no published figure for the Valid 1->0 flush; half the parse (it writes back pending state and computes PendingLast without scanning the whole table)'],
  },
  bookkeeping: {
    inject: [200, 'estimate: KVM vgic_queue_irq_unlock under the vgic locks (as n1-altra-kvm: same software on a core of the same class)'],
    schedule: [500, 'estimate: a Linux scheduler decision (as n1-altra-kvm)'],
    mmioEmulation: [300, 'estimate: KVM io_mem_abort and the vgic MMIO region search (as n1-altra-kvm)'],
    hypercall: [150, 'estimate: KVM\'s SMCCC handler (as n1-altra-kvm)'],
    exit: [300, 'estimate: the KVM run-loop iteration on every exit (as n1-altra-kvm)'],
  },
});
