/**
 * HCR_EL2.TWI of a vCPU as it is loaded on a core (world-switch.ts): the VM's configured choice
 * (`trapWfi`, `VmConfig.trapWfi`), or, with `HypervisorConfig.opportunisticWfi`, KVM's
 * opportunistic policy (Linux 5.5, "KVM: arm64: Opportunistically turn off WFI trapping when
 * using direct LPI injection"): kvm_arch_vcpu_load clears TWI when the vCPU's thread is alone on
 * its CPU's run queue (single_task_running) and its vPE has vLPIs mapped (vlpi_count), so the
 * guest's WFI completes on the core and a vLPI wakes it without any exit; otherwise TWI is set.
 *
 * CHOICE: "alone on its core" is decided from the configuration, since the scheduling policy's
 * run queues are its own: the machine has a core for every vCPU (no vCPU ever waits for one),
 * or the vCPU is pinned to a core no other vCPU may run on (none pinned to it, none unpinned).
 * KVM looks at the host run queue at each load.
 */
import { HCR_TWI } from '../core/hcr.js';
import type { Hypervisor } from './hypervisor.js';
import type { Vcpu } from './vm.js';

/** Whether `v` is alone on its core for as long as the configuration stands (see CHOICE above). */
export function aloneOnCore(h: Hypervisor, v: Vcpu): boolean {
  if (h.vcpus.length <= h.cores) return true;
  const core = v.vm.config.pinned?.[v.index] ?? null;
  if (core === null) return false;
  for (const o of h.vcpus) {
    if (o === v) continue;
    const oc = o.vm.config.pinned?.[o.index] ?? null;
    if (oc === null || oc === core) return false;
  }
  return true;
}

/** Whether the guest has mapped at least one vLPI to `v`'s vPE (KVM's its_vpe.vlpi_count != 0). */
export function hasVlpis(h: Hypervisor, v: Vcpu): boolean {
  if (!h.direct.handles(v)) return false;
  return h.vits[v.vm.index]!.ites.hasForwardedTo(v.index);
}

/** HCR_EL2 to load for `v`. */
export function hcrAtLoad(h: Hypervisor, v: Vcpu): number {
  const hcr = v.vm.hcr;
  if (h.cfg.opportunisticWfi !== true) return hcr;
  const trapped = (hcr & HCR_TWI) !== 0;
  const trap = !(aloneOnCore(h, v) && hasVlpis(h, v));
  if (trap === trapped) return hcr;
  return trap ? hcr + HCR_TWI : hcr - HCR_TWI;
}
