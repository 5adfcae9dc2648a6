/**
 * The hooks direct injection (GICv4) adds to the hypervisor's flows. A list-register-only
 * hypervisor uses `NO_DIRECT`, whose hooks do nothing.
 */
import type { Program } from '../core/ops.js';
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
  /** Deschedules that asked for a doorbell (vCPU blocking in WFI). */
  doorbellsArmed: number;
}

export interface DirectInjection {
  readonly stats: DirectStats | null;
  /** Part of vcpu_load: make the vCPU's vPE resident on this core's redistributor. */
  load(pcpu: PerCpu, v: Vcpu): Program;
  /** Part of vcpu_put: make it non-resident (with a doorbell if it is blocking). */
  put(pcpu: PerCpu, v: Vcpu): Program;
  /** Whether the vCPU has directly injected vLPIs pending (decides whether WFI may block). */
  pending(v: Vcpu): boolean;
}

export const NO_DIRECT: DirectInjection = {
  stats: null,
  *load() {},
  *put() {},
  pending: () => false,
};
