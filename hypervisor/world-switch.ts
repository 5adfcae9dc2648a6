/**
 * The world switch: loading a vCPU's state onto a core and putting it back (KVM's
 * vcpu_load/vcpu_put halves). Load: stage-2 context (VTTBR_EL2), VMPIDR_EL2, HCR_EL2, the EL1
 * system registers, the virtual timer (CNTVOFF_EL2, CNTV_CVAL/CTL, and the physical PPI 27
 * active state if its interrupt was in flight), the virtual CPU interface control state
 * (ICH_VMCR_EL2, ICH_AP0R/AP1R<n>_EL2). Put: the reverse, stopping the timer so it cannot fire
 * for the next vCPU. Every access is an MRS/MSR or MMIO op charged by the cost model; the list
 * registers are flushed and folded separately (vgic/lr-sync.ts).
 *
 * The EL1 physical timer is not switched: its registers trap to EL2 and are emulated on the
 * vCPU's record (ptimer.ts, which says why), so the load only evaluates its line, reading the
 * counter if the timer is armed, and the put has nothing to save.
 */
import { call, isb, mrs, mrsn, msr, msrn, type Program } from '../core/ops.js';
import { EL1_CONTEXT, HCR_EL2, VMPIDR_EL2, VTTBR_EL2 } from '../core/sysregs.js';
import { CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTVOFF_EL2 } from '../core/timer.js';
import { restoreVirtualInterface, saveVirtualInterface } from '../drivers/list-registers.js';
import { ICH_HCR_EL2 } from '../gic/sysregs.js';
import { restoreTimerActive, saveTimerActive } from './host-gic.js';
import type { Hypervisor } from './hypervisor.js';
import { ptimerPoll, ptimerPollNeeded } from './ptimer.js';
import { hcrAtLoad } from './wfi-policy.js';
import type { PerCpu, Vcpu } from './vm.js';

export function* loadVcpu(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  const vm = v.vm;
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-load', vm: vm.index, vcpu: v.index });
  yield msr(VTTBR_EL2, vm.vttbr, 1);
  yield msr(VMPIDR_EL2, v.mpidr, 1);
  yield msr(HCR_EL2, hcrAtLoad(h, v), 1);
  yield msrn(EL1_CONTEXT, v.el1);
  yield msr(CNTVOFF_EL2, vm.cntvoff, 1);
  yield msr(CNTV_CVAL_EL0, v.timerCval, 1);
  yield msr(CNTV_CTL_EL0, v.timerCtl, 1);
  if (v.timerActive) yield* restoreTimerActive(pcpu.rd);
  // The emulated physical timer is not loaded anywhere: its state stays in memory; only its
  // line is brought up to date (expired while the vCPU waited for a core: pending at entry).
  if (ptimerPollNeeded(v)) yield* ptimerPoll(h, pcpu, v);
  yield* restoreVirtualInterface(v.vgic);
  yield isb();
  v.loadedOn = pcpu.index;
  pcpu.loaded = v;
}

export function* putVcpu(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-put', vm: v.vm.index, vcpu: v.index });
  yield mrsn(EL1_CONTEXT, v.el1);
  v.timerCtl = yield mrs(CNTV_CTL_EL0, 1);
  v.timerCval = yield mrs(CNTV_CVAL_EL0, 1);
  yield msr(CNTV_CTL_EL0, 0, 1);
  v.timerActive = yield* saveTimerActive(pcpu.rd);
  yield* saveVirtualInterface(v.vgic);
  // The virtual CPU interface off while no vCPU is loaded: no vIRQ, no maintenance interrupt.
  yield msr(ICH_HCR_EL2, 0, 1);
  pcpu.lrFile.hcr = 0;
  yield call(h.direct.put(pcpu, v));
  v.loadedOn = -1;
  pcpu.loaded = null;
}
