/**
 * Neoverse N1 class (Ampere Altra), about 3.0 GHz, with KVM (VHE): the machine of the
 * kvm-unit-tests arm/micro-bench results posted for Altra (Raghavendra Rao Ananta, kvm list,
 * "Re: [PATCH v2] KVM: arm64: Get rid of userspace_irqchip_in_use", 2024-10-29) and for a
 * Neoverse N1 (Ricardo Koller, kvmarm list, "Spectre - BHB", 2022-03-17). Those end-to-end
 * figures are outputs to compare with (scenarios/micro/), never inputs, with one exception said
 * at its entry (iccEoi): the `eoi` row is then left out of this profile's comparison.
 *
 * Cycles are of a 3.0 GHz core clock (Altra Q80-30; the posts give no SKU: an assumption).
 * The GIC is a GICv3 (Altra's GIC-600-class; no GICv4 direct injection is used by these
 * figures): the ITS and GICv4 entries are the model's generic estimates at this clock.
 */
import { machineProfile } from './entry.js';

export const N1_ALTRA_KVM = machineProfile({
  name: 'n1-altra-kvm',
  summary: 'Neoverse N1 3.0 GHz (Ampere Altra), GIC-600 class, 4 LRs, KVM-like exit and world-switch bookkeeping (run it at 3000 MHz)',
  machine: { clockMHz: 3000, listRegs: 4, gicVersion: 3, description: 'Neoverse N1 at 3.0 GHz (Ampere Altra class), GIC-600-class GICv3 with 4 list registers' },
  costs: {
    op: [1, 'estimate: simple integer instructions retire at 1+ per cycle on a 4-wide OoO core (LLVM AArch64SchedNeoverseN1.td, after the Arm Neoverse N1 Software Optimization Guide: ALU latency 1)'],
    sysregRead: [2, 'estimate: non-serialising MRS issue in a few cycles (the LLVM N1 model gives only a placeholder latency of 1 for system instructions)'],
    sysregWrite: [4, 'estimate: as sysregRead; a context register that needs synchronisation pays an ISB besides'],
    memRead: [4, 'LLVM AArch64SchedNeoverseN1.td (LoadLatency = 4, after the Arm Neoverse N1 Software Optimization Guide): L1D load-to-use 4 cycles'],
    memWrite: [1, 'estimate: stores retire into the store buffer'],
    s2WalkLevel: [25, 'estimate: a walk step that hits in the private L2 (about 10 cycles on an A76/N1-class core) plus walker overhead'],
    exceptionEntryEl1: [40, 'estimate: pipeline flush (branch-mispredict penalty 11 cycles, LLVM AArch64SchedNeoverseN1.td MispredictPenalty) plus context synchronisation and the vector fetch of a deep OoO pipeline: a few tens of cycles'],
    exceptionEntryEl2: [40, 'estimate: as exceptionEntryEl1'],
    eret: [30, 'estimate: context synchronisation and refill at the return address'],
    isb: [20, 'estimate: a pipeline flush and refill (mispredict penalty 11, plus draining the OoO window)'],
    dsb: [30, 'estimate: drains the store buffer and outstanding loads'],
    dmb: [10, 'estimate: ordering without draining everything'],
    tlbi: [50, 'estimate: a TLB maintenance operation; completion is paid by the following DSB'],
    wfiWake: [200, 'estimate: clock-gating exit (WFI exit latency is IMPLEMENTATION DEFINED)'],
    firmwareCall: [800, 'estimate: an SMC round trip through TF-A on an OoO core; TF-A docs/perf/psci-performance-juno.rst measures PSCI_VERSION at 1160-1640 ns on the Cortex-A57 cores of Juno R1 (v2.13/v2.14 CSVs; their clock is not stated there, so no cycle count is derived); 800 cycles is about 270 ns at 3 GHz, for a newer, faster core'],
    cpuOnLatency: [20000, 'estimate: core power-up plus the TF-A PSCI_EXIT path (TF-A docs/perf/psci-performance-juno.rst: about 31 us on Juno A57 for PSCI_EXIT alone, slower cores); a server core, about 7 us'],
    mmioRead: [150, 'estimate: uncached device read across the mesh interconnect, about 50 ns'],
    mmioWrite: [40, 'estimate: a posted device write'],
    exclusiveLoad: [6, 'estimate: an L1-hit load (memRead 4) that also requests the line unique and marks the monitor'],
    exclusiveStore: [8, 'estimate: cannot retire into the store buffer before its status is known'],
    atomic: [30, 'estimate: N1 executes LSE atomics far (at the interconnect) when the line is shared: tens of cycles'],
    acquireRelease: [5, 'estimate: a one-sided barrier, cheaper than DMB (10)'],
    gicdRead: [300, 'estimate: a GIC-600 register read travels to the distributor across the mesh, about 100 ns'],
    gicdWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    gicrRead: [300, 'estimate: the same interconnect path as a distributor read: as gicdRead'],
    gicrWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    gitsRead: [300, 'estimate: the same interconnect path as a distributor read: as gicdRead'],
    gitsWrite: [60, 'estimate: a posted write to the GIC leaves the core in tens of cycles'],
    iccAck: [60, 'estimate: the acknowledge needs a handshake between the CPU interface and the redistributor'],
    iccEoi: [35, 'SET from kvm-unit-tests eoi on Ampere Altra, whole-loop timing: 14 ns (R. R. Ananta, kvm list, 2024-10-29) = 42 cycles at 3.0 GHz per iteration, less about 7 cycles of loop (increment, compare, branch, the indirect call): 35. The eoi row is therefore not a validation point of this profile'],
    iccOther: [10, 'estimate: a CPU-interface register in the core'],
    ichAccess: [10, 'estimate: ICH_* registers are in the core (GICv3 system-register interface)'],
    sgiLatency: [300, 'estimate: an SGI travels as distributor/redistributor messages, about 100 ns'],
    signalLatency: [20, 'estimate: a pending change presented to the CPU interface'],
    lpiConfigFetch: [100, 'estimate: one memory read by the redistributor on a configuration-cache miss'],
    itsTranslate: [400, 'estimate: device/ITT/collection lookups with warm ITS caches'],
    itsCommand: [150, 'estimate: command fetch and decode'],
    itsTableAccess: [100, 'estimate: a memory access per table entry'],
    vpeScheduleDirty: [1500, 'estimate: Altra does not use GICv4 here; the model default'],
    vpeDescheduleDirty: [800, 'estimate: Altra does not use GICv4 here; the model default'],
  },
  bookkeeping: {
    inject: [200, 'estimate: KVM queues a virtual interrupt under the vgic locks (vgic_queue_irq_unlock: ap_list insertion sorted by priority, a kick decision): a few hundred instructions of C; not measured in any retrieved source (Dall et al., ATC 2017 breakdown not retrieved)'],
    schedule: [500, 'estimate: a Linux scheduler decision (schedule(), pick_next_task) on a server core, a few hundred ns'],
    mmioEmulation: [300, 'estimate: KVM io_mem_abort: kvm_io_bus lookup of the device, then the vgic MMIO region search (vgic_find_mmio_region) and the register handler'],
    hypercall: [150, 'estimate: kvm_smccc_call_handler: the SMCCC filter lookup and the function-ID switch of KVM\'s hypercall handler, in C'],
    exit: [300, 'estimate: every exit of a VHE KVM returns from __kvm_vcpu_run through handle_exit to the kvm_arch_vcpu_ioctl_run loop (kvm_vgic_sync_hwstate, the timer sync, preemption and signal checks, kvm_vgic_flush_hwstate) before re-entering: hundreds of instructions that a thin hypervisor does not have'],
  },
});
