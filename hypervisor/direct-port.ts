/**
 * The hooks direct injection (GICv4) adds to the hypervisor's flows. A list-register-only
 * hypervisor uses `NO_DIRECT`, whose hooks do nothing.
 */
import type { Program } from '../core/ops.js';
import type { PerCpu, Vcpu } from './vm.js';

export interface DirectInjection {
  /** Part of vcpu_load: make the vCPU's vPE resident on this core's redistributor. */
  load(pcpu: PerCpu, v: Vcpu): Program;
  /** Part of vcpu_put: make it non-resident (with a doorbell if it is blocking). */
  put(pcpu: PerCpu, v: Vcpu): Program;
  /** Whether the vCPU has directly injected vLPIs pending (decides whether WFI may block). */
  pending(v: Vcpu): boolean;
}

export const NO_DIRECT: DirectInjection = {
  *load() {},
  *put() {},
  pending: () => false,
};
