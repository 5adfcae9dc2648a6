/**
 * Moving an assigned event's interrupt to another vCPU of the same VM (the guest asks with the
 * SET_AFFINITY hypercall). On the direct path the GIC does it: VMOVI names the new vPE and its
 * doorbell, and the ITS moves a pending vLPI between the VPTs. On the injected path the routing
 * is software: the host LPI now feeds the new vCPU, and a pending interrupt moves with it.
 */
import { work, type Program } from '../core/ops.js';
import { ItsCmd } from '../gic/its/commands.js';
import { PSCI_RET } from '../core/psci.js';
import { FIRST_LPI } from './config.js';
import type { DirectInjector } from './direct.js';
import { deliver } from './host-irq.js';
import type { Hypervisor } from './hypervisor.js';
import { VIrq } from './vgic/virq.js';
import type { PerCpu, Vcpu, Vm } from './vm.js';

export function* retarget(h: Hypervisor, pcpu: PerCpu, vm: Vm, vintid: number, to: Vcpu): Program<number> {
  yield work(h.cfg.bookkeeping.inject);
  const ev = h.eventOf(vm, vintid);
  if (ev === undefined) return PSCI_RET.INVALID_PARAMETERS;
  if (ev.vcpu === to) return PSCI_RET.SUCCESS;
  const from = ev.vcpu;
  // The event is the new vCPU's from here on (direct.ts finds a vPE's events through it).
  ev.vcpu = to;
  if (h.direct.handles(from)) {
    const d = h.direct as DirectInjector;
    const b = d.vpe(to)!;
    yield* h.itsRoutes.send(pcpu.index, [ItsCmd.VMOVI({ DeviceID: ev.deviceId, EventID: ev.eventId, vPEID: b.id, D: 1, Dbell_pINTID: b.doorbell }), ItsCmd.VSYNC({ vPEID: b.id })]);
  } else {
    const old = from.vgic.lpis.get(vintid)!;
    let moved = to.vgic.lpis.get(vintid);
    if (moved === undefined) to.vgic.lpis.set(vintid, (moved = new VIrq(vintid, old.priority, old.enabled)));
    moved.priority = old.priority;
    moved.enabled = old.enabled;
    const wasPending = old.pending || old.repend;
    old.pending = false;
    old.repend = false;
    from.vgic.lpis.delete(vintid);
    if (ev.hostLpi >= 0) h.lpiRoute[ev.hostLpi - FIRST_LPI] = h.guestRoute(to, moved);
    if (wasPending && to.vgic.setPending(moved)) yield* deliver(h, pcpu, to);
  }
  return PSCI_RET.SUCCESS;
}
