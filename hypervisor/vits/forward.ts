/**
 * What a guest's ITS mapping becomes on the physical ITS (KVM's vgic-its.c for the injected
 * path, vgic-v4.c kvm_vgic_v4_set_forwarding / its_map_vlpi for the direct one). An ITE of the
 * guest is *attached* once its collection names a vCPU (MAPTI into a mapped collection, or MAPC
 * of its collection), and then:
 *
 * - An event of one of the VM's own devices (`OwnedDevice`: a host DeviceID the VM owns, an
 *   EventID that device signals) is forwarded:
 *   - injected path: the event's host LPI (reserved for the VM when it was created, so a guest
 *     can never take another VM's) is routed to the guest LPI on the target vCPU (the
 *     hypervisor's `lpiRoute`) and mapped with MAPTI (host DeviceID/EventID, in the collection of
 *     the target vCPU's home core); it arrives at EL2 and goes through a list register.
 *   - direct path (GICv4.0): its configuration byte is mirrored into the VM's vLPI configuration
 *     table, then VMAPTI (host DeviceID/EventID, the guest INTID as vINTID, the target vCPU's
 *     vPE and its doorbell), INV and VSYNC, as its_vlpi_map does: the GIC delivers it.
 * - Any other event (a DeviceID the VM does not own, or an EventID its device never signals)
 *   stays in software, as KVM keeps an LPI no device is forwarded to: a virtual interrupt of
 *   the target vCPU's virtual GIC that only the guest's INT command makes pending. No physical
 *   command ever names it.
 *
 * Later commands follow: INT/CLEAR act on the guest's pending state (injected, software) or
 * become INT/CLEAR on the physical ITS (direct); INV/INVALL re-read the guest's configuration
 * (and INV/VINVALL the mirrored bytes, direct, waking a blocked target vCPU when a vLPI became
 * enabled: direct.ts `mustWake`); MOVI retargets (route, and a host MOVI when the
 * new vCPU's home core differs, injected; VMOVI, direct); DISCARD and MAPD V = 0 unmap with a
 * host DISCARD (the host device stays mapped: its ITT was allocated once, with the VM).
 * CHOICE: a retarget carries the interrupt's pending state to the new vCPU on every path (VMOVI
 * does in the GIC; KVM's update_affinity does in software, for MOVI and for a MAPC that remaps a
 * collection).
 *
 * Every physical command goes through `h.its.send` (the ITS lock); the caller holds the VM's
 * ITS command lock. Order: VM ITS lock, then the ITS lock.
 */
import type { Program } from '../../core/ops.js';
import { ItsCmd, type CommandWords } from '../../gic/its/commands.js';
import { FIRST_LPI } from '../config.js';
import type { DirectInjector } from '../direct.js';
import { deliver, inject } from '../host-irq.js';
import type { Hypervisor } from '../hypervisor.js';
import { readGuestLpis } from '../vgic/guest-lpis.js';
import { DEFAULT_VIRQ_PRIORITY } from '../vgic/vcpu-vgic.js';
import { VIrq } from '../vgic/virq.js';
import type { PerCpu, Vcpu } from '../vm.js';
import type { ForwardedEvent, GuestIte, VirtualIts } from './vits.js';

/** `source` of the 'virq-inject' record of an interrupt a guest's INT command made pending (no host LPI behind it). */
export const SOURCE_INT_COMMAND = -1;

/** Sends `cmds` to the physical ITS (each to its device's, its-route.ts) from this core, counted as the VM's. */
function* hostSend(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, cmds: readonly CommandWords[]): Program {
  its.stats.hostCommands += cmds.length;
  yield* h.itsRoutes.send(pcpu.index, cmds);
}

/** `v`'s virtual interrupt for guest LPI `intid`, made if it has none. */
function softIrq(v: Vcpu, intid: number): VIrq {
  let irq = v.vgic.lpis.get(intid);
  if (irq === undefined) v.vgic.lpis.set(intid, (irq = new VIrq(intid, DEFAULT_VIRQ_PRIORITY, false)));
  return irq;
}

/** Re-reads LPI `intid`'s (or all of `v`'s) configuration from the guest's table into `v`'s virtual GIC, and delivers what became deliverable. */
function* readConfig(h: Hypervisor, pcpu: PerCpu, v: Vcpu, intid: number | 'all'): Program {
  const deliverable: boolean = yield* readGuestLpis({ kind: 'read-config', vcpu: v, intid, pending: false, core: pcpu.index });
  if (deliverable) yield* deliver(h, pcpu, v);
}

/** Moves the pending state of `v`'s LPI `intid` (software) to `to`'s, configured from the guest's table. */
function* movePending(h: Hypervisor, pcpu: PerCpu, from: Vcpu, to: Vcpu, intid: number): Program {
  const old = from.vgic.lpis.get(intid);
  const moved = softIrq(to, intid);
  yield* readConfig(h, pcpu, to, intid);
  if (old === undefined || !(old.pending || old.repend)) return;
  old.pending = false;
  old.repend = false;
  if (to.vgic.setPending(moved)) yield* deliver(h, pcpu, to);
}

function direct(h: Hypervisor): DirectInjector {
  return h.direct as DirectInjector;
}

/** The ITE's interrupt now has target `v` (its collection is mapped to `v`): forward it, or keep it in software. */
export function* attach(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte, v: Vcpu): Program {
  const owned = ite.device.owned;
  const hostLpi = owned?.events.get(ite.eventId);
  if (owned === null || hostLpi === undefined) {
    softIrq(v, ite.intid);
    ite.soft = v;
    yield* readConfig(h, pcpu, v, ite.intid);
    return;
  }
  const fwd: ForwardedEvent = { deviceId: owned.hostId, eventId: ite.eventId, vintid: ite.intid, vcpu: v, hostLpi };
  if (h.direct.handles(v)) {
    const d = direct(h);
    const vpe = d.vpe(v)!;
    fwd.hostLpi = -1;
    yield* d.mirrorConfig(v, ite.intid);
    yield* hostSend(h, pcpu, its, [
      ItsCmd.VMAPTI({ DeviceID: owned.hostId, EventID: ite.eventId, vPEID: vpe.id, vINTID: ite.intid, Dbell_pINTID: vpe.doorbell }),
      ItsCmd.INV({ DeviceID: owned.hostId, EventID: ite.eventId }),
      ItsCmd.VSYNC({ vPEID: vpe.id }),
    ]);
  } else {
    const virq = softIrq(v, ite.intid);
    yield* readConfig(h, pcpu, v, ite.intid);
    h.lpiRoute[hostLpi - FIRST_LPI] = { kind: 'guest', vcpu: v, virq };
    yield* hostSend(h, pcpu, its, [ItsCmd.MAPTI({ DeviceID: owned.hostId, EventID: ite.eventId, pINTID: hostLpi, ICID: h.homeCore(v) })]);
  }
  ite.fwd = fwd;
  its.forwarded.add(fwd);
}

/**
 * The ITE's interrupt loses its target (DISCARD, MAPD, MAPC V = 0): a forwarded event is
 * unmapped on the physical ITS (DISCARD, which also clears its pending state there); a software
 * one keeps its pending state unless `clearPending`.
 */
export function* detach(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte, clearPending: boolean): Program {
  const fwd = ite.fwd;
  if (fwd !== null) {
    ite.fwd = null;
    its.forwarded.delete(fwd);
    if (fwd.hostLpi >= 0) h.lpiRoute[fwd.hostLpi - FIRST_LPI] = undefined;
    yield* hostSend(h, pcpu, its, [ItsCmd.DISCARD({ DeviceID: fwd.deviceId, EventID: fwd.eventId })]);
    if (clearPending && fwd.hostLpi >= 0) clearSoft(fwd.vcpu, ite.intid);
    return;
  }
  const v = ite.soft;
  ite.soft = null;
  if (v !== null && clearPending) clearSoft(v, ite.intid);
}

/** Clears the pending state of `v`'s LPI `intid` (an interrupt already in a list register may still be taken once, as in KVM). */
function clearSoft(v: Vcpu, intid: number): void {
  const irq = v.vgic.lpis.get(intid);
  if (irq === undefined) return;
  irq.pending = false;
  irq.repend = false;
}

/** The ITE's interrupt moves to `to` (MOVI, a MAPC that remaps its collection). */
export function* move(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte, to: Vcpu): Program {
  const fwd = ite.fwd;
  if (fwd === null) {
    const from = ite.soft;
    if (from === null) return yield* attach(h, pcpu, its, ite, to);
    ite.soft = to;
    if (from !== to) yield* movePending(h, pcpu, from, to, ite.intid);
    return;
  }
  const from = fwd.vcpu;
  if (from === to) return;
  fwd.vcpu = to;
  if (fwd.hostLpi < 0) {
    const vpe = direct(h).vpe(to)!;
    yield* hostSend(h, pcpu, its, [ItsCmd.VMOVI({ DeviceID: fwd.deviceId, EventID: fwd.eventId, vPEID: vpe.id, D: 1, Dbell_pINTID: vpe.doorbell }), ItsCmd.VSYNC({ vPEID: vpe.id })]);
    return;
  }
  const virq = softIrq(to, ite.intid);
  h.lpiRoute[fwd.hostLpi - FIRST_LPI] = { kind: 'guest', vcpu: to, virq };
  yield* movePending(h, pcpu, from, to, ite.intid);
  // CHOICE: a host LPI follows its guest vCPU's home core (the collection it was mapped in).
  if (h.homeCore(from) !== h.homeCore(to)) yield* hostSend(h, pcpu, its, [ItsCmd.MOVI({ DeviceID: fwd.deviceId, EventID: fwd.eventId, ICID: h.homeCore(to) })]);
}

/** INT: the ITE's interrupt becomes pending (on the physical ITS for a directly injected one). */
export function* trigger(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte): Program {
  const fwd = ite.fwd;
  if (fwd !== null && fwd.hostLpi < 0) {
    yield* hostSend(h, pcpu, its, [ItsCmd.INT({ DeviceID: fwd.deviceId, EventID: fwd.eventId })]);
    return;
  }
  const v = fwd?.vcpu ?? ite.soft;
  if (v === null) return;
  yield* inject(h, pcpu, v, softIrq(v, ite.intid), SOURCE_INT_COMMAND);
}

/** CLEAR: the ITE's interrupt is no longer pending. */
export function* clear(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte): Program {
  const fwd = ite.fwd;
  if (fwd !== null && fwd.hostLpi < 0) {
    yield* hostSend(h, pcpu, its, [ItsCmd.CLEAR({ DeviceID: fwd.deviceId, EventID: fwd.eventId })]);
    return;
  }
  const v = fwd?.vcpu ?? ite.soft;
  if (v !== null) clearSoft(v, ite.intid);
}

/** INV: the ITE's interrupt's configuration is read again from the guest's table. */
export function* invalidate(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, ite: GuestIte): Program {
  const fwd = ite.fwd;
  if (fwd !== null && fwd.hostLpi < 0) {
    const d = direct(h);
    const enabled: boolean = yield* d.mirrorConfig(fwd.vcpu, ite.intid);
    yield* hostSend(h, pcpu, its, [ItsCmd.INV({ DeviceID: fwd.deviceId, EventID: fwd.eventId })]);
    if (d.mustWake(fwd.vcpu, enabled)) yield* deliver(h, pcpu, fwd.vcpu);
    return;
  }
  const v = fwd?.vcpu ?? ite.soft;
  if (v !== null) yield* readConfig(h, pcpu, v, ite.intid);
}

/** INVALL: every LPI of `v` has its configuration read again (VINVALL of its vPE on the direct path). */
export function* invalidateAll(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, v: Vcpu): Program {
  if (h.direct.handles(v)) {
    const d = direct(h);
    let enabled = false;
    for (const fwd of its.forwarded) if (fwd.vcpu === v && (yield* d.mirrorConfig(v, fwd.vintid))) enabled = true;
    yield* hostSend(h, pcpu, its, [ItsCmd.VINVALL({ vPEID: d.vpe(v)!.id })]);
    if (d.mustWake(v, enabled)) yield* deliver(h, pcpu, v);
  }
  yield* readConfig(h, pcpu, v, 'all');
}

/**
 * MOVALL: the LPIs pending for `from` (in software) become pending for `to`; the ITEs do not
 * change (IHI 0069, MOVALL). CHOICE: a directly injected vLPI's pending state is the GIC's, in
 * `from`'s vPE's VPT, which the hypervisor must not touch while it is mapped: it stays there.
 */
export function* moveAll(h: Hypervisor, pcpu: PerCpu, from: Vcpu, to: Vcpu): Program {
  for (const irq of [...from.vgic.lpis.values()]) {
    if (irq.pending || irq.repend) yield* movePending(h, pcpu, from, to, irq.intid);
  }
}
