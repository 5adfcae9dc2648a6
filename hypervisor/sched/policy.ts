/**
 * Scheduling policies: small pure functions over immutable state.
 *
 * The hypervisor tells a policy what happened (`on`) and asks it what a core runs next
 * (`pick`), which idle core to kick when a vCPU becomes runnable (`place`), optionally which
 * running vCPU such a vCPU displaces when no core is idle (`preempt`), and whether a vCPU
 * blocking in WFI asks for a doorbell (`doorbell`, GICv4). A policy never touches the machine:
 * the hypervisor carries its decisions out through the architecture (residency changes, VMOVP,
 * the EL2 timer, IPIs between cores) and records every decision in the trace. Policy state is
 * immutable (immer), so a policy can be tested on scripted event sequences and replayed.
 */

/** Global vCPU number (all VMs' vCPUs numbered from 0). */
export type VcpuId = number;

export interface VcpuInfo {
  readonly id: VcpuId;
  readonly vm: number;
  /** vCPU index inside its VM. */
  readonly index: number;
  /** Larger runs first under the fixed-priority policy. */
  readonly priority: number;
  /** Core this vCPU must run on, or null for any. */
  readonly pinned: number | null;
}

export interface Topology {
  readonly cores: number;
  readonly vcpus: readonly VcpuInfo[];
  /** Default time slice, in cycles. */
  readonly slice: number;
}

export type WakeReason = 'interrupt' | 'doorbell' | 'timer' | 'ipi' | 'psci';

export type SchedEvent =
  /** Became runnable for the first time (VM start, PSCI CPU_ON). */
  | { readonly kind: 'runnable'; readonly vcpu: VcpuId; readonly at: number }
  /** Blocked in WFI (trapped) on `core`. */
  | { readonly kind: 'blocked'; readonly vcpu: VcpuId; readonly core: number; readonly at: number }
  /** A blocked vCPU became runnable. */
  | { readonly kind: 'woken'; readonly vcpu: VcpuId; readonly reason: WakeReason; readonly at: number }
  /** The running vCPU's slice ended on `core`. */
  | { readonly kind: 'slice-expired'; readonly vcpu: VcpuId; readonly core: number; readonly at: number }
  /** The running vCPU was preempted on `core` (the policy's `preempt` chose it) for `by`. */
  | { readonly kind: 'preempted'; readonly vcpu: VcpuId; readonly core: number; readonly by: VcpuId; readonly at: number }
  /** The running vCPU gave the core up (yield hypercall). */
  | { readonly kind: 'yielded'; readonly vcpu: VcpuId; readonly core: number; readonly at: number }
  /** The vCPU powered off (PSCI CPU_OFF) or its VM stopped. */
  | { readonly kind: 'off'; readonly vcpu: VcpuId; readonly at: number }
  /** `core` found nothing to run and went idle. */
  | { readonly kind: 'core-idle'; readonly core: number; readonly at: number };

export interface Decision {
  /** vCPU to run, or null to idle. */
  readonly vcpu: VcpuId | null;
  /** Cycles until the EL2 timer preempts it. */
  readonly slice: number;
}

/** A vCPU running on a core, as `preempt` sees it. */
export interface RunningVcpu {
  readonly core: number;
  readonly vcpu: VcpuId;
  /** Cycles it has run since its slice began. */
  readonly ran: number;
}

export interface Policy<S = unknown> {
  readonly name: string;
  readonly summary: string;
  init(t: Topology): S;
  on(s: S, e: SchedEvent): S;
  pick(s: S, core: number, at: number): readonly [S, Decision];
  /** Which of the idle cores to kick for a vCPU that just became runnable (null: none). */
  place(s: S, vcpu: VcpuId, idleCores: readonly number[]): number | null;
  /** Whether a vCPU blocking in WFI asks for a GICv4 doorbell. */
  doorbell(s: S, vcpu: VcpuId): boolean;
  /**
   * Optional: `vcpu` just became runnable and no idle core took it. The core whose running vCPU
   * it displaces now (one of `running`), or null to let it wait for a slice end. The hypervisor
   * carries it out through the architecture: a kick SGI to that core, whose vCPU exits, is
   * requeued (event 'preempted') and the core picks again (`pick` should then choose `vcpu`).
   */
  preempt?(s: S, vcpu: VcpuId, running: readonly RunningVcpu[], at: number): number | null;
}
