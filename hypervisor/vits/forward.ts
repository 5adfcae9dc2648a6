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
import type { VirtualIts } from './vits.js';

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

/** The host DeviceID and the host LPI (-1: direct path) of ITE `s`, an event of one of the VM's own devices, or null. */
function ownedEvent(its: VirtualIts, s: number): { hostId: number; hostLpi: number } | null {
  const owned = its.owned.get(its.ites.deviceId(s));
  const hostLpi = owned?.events.get(its.ites.eventId(s));
  return owned === undefined || hostLpi === undefined ? null : { hostId: owned.hostId, hostLpi };
}

/** Host DeviceID of forwarded ITE `s`. */
function hostIdOf(its: VirtualIts, s: number): number {
  return its.owned.get(its.ites.deviceId(s))!.hostId;
}

/** Host LPI of forwarded ITE `s` (-1: directly injected). */
function hostLpiOf(its: VirtualIts, s: number): number {
  return its.owned.get(its.ites.deviceId(s))!.events.get(its.ites.eventId(s))!;
}

/** The vCPU ITE `s`'s interrupt goes to (forwarded or in software), or null. */
export function targetOf(its: VirtualIts, s: number): Vcpu | null {
  const t = its.ites.target(s);
  return t < 0 ? null : its.vm.vcpus[t]!;
}

/** Whether ITE `s` is forwarded and directly injected (its pending state is the GIC's). */
export function isDirect(its: VirtualIts, s: number): boolean {
  return its.ites.isForwarded(s) && hostLpiOf(its, s) < 0;
}

/** The ITE's interrupt now has target `v` (its collection is mapped to `v`): forward it, or keep it in software. */
export function* attach(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number, v: Vcpu): Program {
  const ites = its.ites;
  const intid = ites.intid(s);
  const eventId = ites.eventId(s);
  const owned = ownedEvent(its, s);
  if (owned === null) {
    softIrq(v, intid);
    ites.setSoft(s, v.index);
    yield* readConfig(h, pcpu, v, intid);
    return;
  }
  if (h.direct.handles(v)) {
    const d = direct(h);
    const vpe = d.vpe(v)!;
    yield* d.mirrorConfig(v, intid);
    yield* hostSend(h, pcpu, its, [
      ItsCmd.VMAPTI({ DeviceID: owned.hostId, EventID: eventId, vPEID: vpe.id, vINTID: intid, Dbell_pINTID: vpe.doorbell }),
      ItsCmd.INV({ DeviceID: owned.hostId, EventID: eventId }),
      ItsCmd.VSYNC({ vPEID: vpe.id }),
    ]);
  } else {
    const virq = softIrq(v, intid);
    yield* readConfig(h, pcpu, v, intid);
    h.lpiRoute[owned.hostLpi - FIRST_LPI] = h.guestRoute(v, virq);
    yield* hostSend(h, pcpu, its, [ItsCmd.MAPTI({ DeviceID: owned.hostId, EventID: eventId, pINTID: owned.hostLpi, ICID: h.homeCore(v) })]);
  }
  ites.forward(s, v.index);
}

/**
 * The ITE's interrupt loses its target (DISCARD, MAPD, MAPC V = 0): a forwarded event is
 * unmapped on the physical ITS (DISCARD, which also clears its pending state there); a software
 * one keeps its pending state unless `clearPending`.
 */
export function* detach(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number, clearPending: boolean): Program {
  const ites = its.ites;
  const v = targetOf(its, s);
  if (ites.isForwarded(s)) {
    const hostLpi = hostLpiOf(its, s);
    ites.unforward(s);
    if (hostLpi >= 0) h.lpiRoute[hostLpi - FIRST_LPI] = undefined;
    yield* hostSend(h, pcpu, its, [ItsCmd.DISCARD({ DeviceID: hostIdOf(its, s), EventID: ites.eventId(s) })]);
    if (clearPending && hostLpi >= 0) clearSoft(v!, ites.intid(s));
    return;
  }
  ites.clearSoft(s);
  if (v !== null && clearPending) clearSoft(v, ites.intid(s));
}

/** Clears the pending state of `v`'s LPI `intid` (an interrupt already in a list register may still be taken once, as in KVM). */
function clearSoft(v: Vcpu, intid: number): void {
  const irq = v.vgic.lpis.get(intid);
  if (irq === undefined) return;
  irq.pending = false;
  irq.repend = false;
}

/** The ITE's interrupt moves to `to` (MOVI, a MAPC that remaps its collection). */
export function* move(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number, to: Vcpu): Program {
  const ites = its.ites;
  const intid = ites.intid(s);
  const from = targetOf(its, s);
  if (!ites.isForwarded(s)) {
    if (from === null) return yield* attach(h, pcpu, its, s, to);
    ites.setSoft(s, to.index);
    if (from !== to) yield* movePending(h, pcpu, from, to, intid);
    return;
  }
  if (from === to) return;
  ites.retarget(s, to.index);
  const hostId = hostIdOf(its, s);
  const hostLpi = hostLpiOf(its, s);
  if (hostLpi < 0) {
    const vpe = direct(h).vpe(to)!;
    yield* hostSend(h, pcpu, its, [ItsCmd.VMOVI({ DeviceID: hostId, EventID: ites.eventId(s), vPEID: vpe.id, D: 1, Dbell_pINTID: vpe.doorbell }), ItsCmd.VSYNC({ vPEID: vpe.id })]);
    return;
  }
  const virq = softIrq(to, intid);
  h.lpiRoute[hostLpi - FIRST_LPI] = h.guestRoute(to, virq);
  yield* movePending(h, pcpu, from!, to, intid);
  // CHOICE: a host LPI follows its guest vCPU's home core (the collection it was mapped in).
  if (h.homeCore(from!) !== h.homeCore(to)) yield* hostSend(h, pcpu, its, [ItsCmd.MOVI({ DeviceID: hostId, EventID: ites.eventId(s), ICID: h.homeCore(to) })]);
}

/** INT: the ITE's interrupt becomes pending (on the physical ITS for a directly injected one). */
export function* trigger(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number): Program {
  if (isDirect(its, s)) {
    yield* hostSend(h, pcpu, its, [ItsCmd.INT({ DeviceID: hostIdOf(its, s), EventID: its.ites.eventId(s) })]);
    return;
  }
  const v = targetOf(its, s);
  if (v === null) return;
  yield* inject(h, pcpu, v, softIrq(v, its.ites.intid(s)), SOURCE_INT_COMMAND);
}

/** CLEAR: the ITE's interrupt is no longer pending. */
export function* clear(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number): Program {
  if (isDirect(its, s)) {
    yield* hostSend(h, pcpu, its, [ItsCmd.CLEAR({ DeviceID: hostIdOf(its, s), EventID: its.ites.eventId(s) })]);
    return;
  }
  const v = targetOf(its, s);
  if (v !== null) clearSoft(v, its.ites.intid(s));
}

/** INV: the ITE's interrupt's configuration is read again from the guest's table. */
export function* invalidate(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, s: number): Program {
  const intid = its.ites.intid(s);
  if (isDirect(its, s)) {
    const d = direct(h);
    // The target is read at each use: a SET_AFFINITY hypercall (retarget.ts) may move it meanwhile.
    const enabled: boolean = yield* d.mirrorConfig(targetOf(its, s)!, intid);
    yield* hostSend(h, pcpu, its, [ItsCmd.INV({ DeviceID: hostIdOf(its, s), EventID: its.ites.eventId(s) })]);
    if (d.mustWake(targetOf(its, s)!, enabled)) yield* deliver(h, pcpu, targetOf(its, s)!);
    return;
  }
  const v = targetOf(its, s);
  if (v !== null) yield* readConfig(h, pcpu, v, intid);
}

/** INVALL: every LPI of `v` has its configuration read again (VINVALL of its vPE on the direct path). */
export function* invalidateAll(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, v: Vcpu): Program {
  if (h.direct.handles(v)) {
    const d = direct(h);
    const ites = its.ites;
    let enabled = false;
    for (let s = ites.firstForwarded(); s >= 0; ) {
      const seq = ites.seq(s);
      if (ites.target(s) === v.index && (yield* d.mirrorConfig(v, ites.intid(s)))) enabled = true;
      s = ites.nextForwarded(s, seq);
    }
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
