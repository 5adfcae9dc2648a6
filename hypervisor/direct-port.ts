/**
 * The hooks direct injection (GICv4) adds to the hypervisor's flows; `DirectInjector`
 * (direct.ts) implements them. A hypervisor whose VMs all use list registers uses `NO_DIRECT`,
 * whose hooks do nothing.
 */
import type { Program } from '../core/ops.js';
import type { GuestLpiAction } from './vgic/emul-regs.js';
import type { PerCpu, Vcpu } from './vm.js';

/** What direct injection cost, counted by the hypervisor (cycles measured with the counter). */
export interface DirectStats {
  /** GICR_VPENDBASER.Valid transitions (schedule in and out). */
  residencyChanges: number;
  /** Cycles spent making vPEs resident and non-resident, Dirty polling included. */
  residencyCycles: number;
  /** Polls of GICR_VPENDBASER that found Dirty = 1. */
  dirtyPolls: number;
  vmovps: number;
  /** VMOVP commands issued (one per move per ITS it was issued on: several with ITSList). */
  vmovpCommands: number;
  /** Deschedules that asked for a doorbell (vCPU blocking in WFI). */
  doorbellsArmed: number;
}

export interface DirectInjection {
  readonly stats: DirectStats | null;
  /** Whether `v`'s VM uses direct injection. */
  handles(v: Vcpu): boolean;
  /** Before entering `v` on this core: its vPE resident here. */
  enter(pcpu: PerCpu, v: Vcpu): Program;
  /**
   * The last step before the ERET into `v`: the wait for the VPT parse when it is taken there
   * (`HypervisorConfig.vptParseWait` 'before-entry', Linux 5.11+), overlapped with the rest of
   * the entry path.
   */
  commit(pcpu: PerCpu, v: Vcpu): Program;
  /** Whether `commit` has anything to do for `v`; the entry path calls it only then. */
  commitNeeded(v: Vcpu): boolean;
  /** Whether `enter` has anything to do for `v`; the entry path calls it only then. */
  entryNeeded(v: Vcpu): boolean;
  /** vcpu put: its vPE leaves the core. */
  put(pcpu: PerCpu, v: Vcpu): Program;
  /** `v` is about to block in WFI: returns true when a vLPI is pending (it must not block). */
  block(pcpu: PerCpu, v: Vcpu): Program<boolean>;
  /** Whether `v`'s doorbell rang since it was armed (it is one-shot: the vCPU must not block on it). */
  rang(v: Vcpu): boolean;
  /** `v`'s doorbell fired (and was acknowledged on core `core`): disable it until `v` blocks again. */
  doorbellFired(core: number, v: Vcpu): Program;
  /** The guest changed its LPI configuration (or, GICv4.1, its vSGIs: direct-vsgi.ts): mirror it for the GIC. */
  mirror(act: GuestLpiAction): Program<boolean>;
  /** GICv4.1: SGI `intid` for `t`, whose SGIs are direct vSGIs: a GITS_SGIR write. */
  sendVsgi(t: Vcpu, intid: number): Program;
}

export const NO_DIRECT: DirectInjection = {
  stats: null,
  handles: () => false,
  *enter() {},
  *commit() {},
  commitNeeded: () => false,
  entryNeeded: () => false,
  *put() {},
  *block() {
    return false;
  },
  rang: () => false,
  *doorbellFired() {},
  *mirror() {
    return false;
  },
  *sendVsgi() {},
};
