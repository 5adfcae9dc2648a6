/** Trace records the hypervisor emits (what its software decided and did). */
declare module '../core/trace.js' {
  interface TraceKinds {
    /** A vCPU exited to EL2 (`reason`: the EC name, or 'irq'). */
    'vcpu-exit': { vm: number; vcpu: number; reason: string };
    /** The hypervisor entered (or resumed) a vCPU. */
    'vcpu-enter': { vm: number; vcpu: number; switched: boolean };
    /** A vCPU's state was loaded onto / saved from this core (a full world switch half). */
    'vcpu-load': { vm: number; vcpu: number };
    'vcpu-put': { vm: number; vcpu: number };
    /** A vCPU blocked in WFI (trapped). */
    'vcpu-block': { vm: number; vcpu: number };
    /** A blocked vCPU became runnable. */
    'vcpu-wake': { vm: number; vcpu: number; reason: string };
    /** A scheduling decision: `vcpu` (global id) or -1 for idle, after `event`. */
    'sched-decision': { decision: number; slice: number; event: string };
    /** The policy decided that runnable `vcpu` preempts `victim`, running on core `target` (a kick follows unless it is this core). */
    'sched-preempt': { vcpu: number; target: number; victim: number };
    /** A virtual interrupt was made pending for a vCPU by software (injected path). */
    'virq-inject': { vm: number; vcpu: number; vintid: number; source: number };
    /** The hypervisor kicked another core with an SGI. */
    'hyp-kick': { target: number; vcpu: number };
    /** A guest access to emulated MMIO. */
    'hyp-mmio': { vm: number; vcpu: number; ipa: number; write: boolean; value: number };
    /** A guest hypercall (HVC function ID). */
    hypercall: { vm: number; vcpu: number; fn: number; ret: number };
    /** The hypervisor made a vCPU's vPE resident on this core (`cycles` includes VMOVP and Dirty polling). */
    'vpe-schedule': { vm: number; vcpu: number; vpe: number; vmovp: boolean; cycles: number };
    /** The hypervisor made a vPE non-resident; `pendingLast` as GICR_VPENDBASER said, `doorbell` armed or not. */
    'vpe-deschedule': { vm: number; vcpu: number; vpe: number; pendingLast: boolean; doorbell: boolean; cycles: number };
    /** The hypervisor injected a synchronous exception into a guest (it could not emulate the access). */
    'guest-exception': { vm: number; vcpu: number; ec: number; far: number };
  }
}
export {};
