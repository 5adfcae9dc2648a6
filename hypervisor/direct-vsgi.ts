/**
 * GICv4.1 direct vSGIs for a VM on the direct-v41 path, the way KVM drives them
 * (arch/arm64/kvm/vgic/vgic-v4.c `vgic_v4_configure_vsgis`, `vgic_v4_enable_vsgis`,
 * `vgic_v4_disable_vsgis`; vgic-mmio.c's handling of `irq->hw` SGIs; irq-gic-v3-its.c's vSGI
 * irqchip):
 *
 * - The VM's emulated distributor offers GICD_TYPER2.nASSGIcap = 1 (vgic/emul-regs.ts). When the
 *   guest sets GICD_CTLR.nASSGIreq (only while its distributor is disabled or being enabled:
 *   the bit is read-only while it stays enabled, as KVM makes it), every vCPU's SGIs become
 *   vSGIs of its vPE: one VSGI command per SGI with the priority and enable the guest gave it
 *   (GICR_IPRIORITYR, GICR_ISENABLER0; Group 1), a VSYNC, and a GITS_SGIR for each SGI that was
 *   pending in software. Clearing nASSGIreq takes them back: VSGI with Enable = 0, the pending
 *   vSGIs read through GICR_VSGIR/GICR_VSGIPENDR, cleared in the GIC (VSGI Clear = 1) and made
 *   pending in software again.
 * - While they are vSGIs, the guest's later GICR_ISENABLER0/ICENABLER0/IPRIORITYR writes to an
 *   SGI re-send its VSGI configuration, GICR_ISPENDR0 writes become GITS_SGIR, GICR_ICPENDR0 writes
 *   VSGI Clear = 1; GICR_IS/ICACTIVER0 writes of an SGI are ignored and its active bit reads 0:
 *   a vSGI has no active state (the architectural loss the guest accepted with nASSGIreq).
 * - The guest's ICC_SGI1R_EL1 writes still trap (traps.ts `guestSgi`), and each target's SGI
 *   becomes a GITS_SGIR write of (its vPEID, INTID): no list register, no kick of the target's
 *   core; the GIC presents it to a resident vPE, or keeps it pending and rings the default
 *   doorbell of a blocked one.
 * - ICH_HCR_EL2.vSGIEOICount = 1 while a vCPU's SGIs are vSGIs (vgic/lr-sync.ts), so the guest's
 *   EOIs of vSGIs do not count as deactivations of interrupts kept outside the list registers.
 *
 * CHOICEs: an SGI that sits in a list register when nASSGIreq is set stays on the list-register
 * path until the guest has handled it (KVM halts the guest around the switch and the guest sets
 * the bit at boot, before any SGI); a guest's GICR_ISPENDR0 read of a vSGI shows 0 (KVM reads the
 * GIC's state with GICR_VSGIR; not modelled: a Simplification).
 */
import type { Program } from '../core/ops.js';
import { queryVsgi, sendVsgi, vsgiClear, vsgiConfig } from '../drivers/vsgi.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { GICR_VLPI_BASE } from '../gic/mmio-offsets.js';
import type { Vpe } from './direct.js';
import type { Hypervisor } from './hypervisor.js';
import type { VsgiAction } from './vgic/emul-regs.js';
import type { Vcpu } from './vm.js';

/** The VSGI configuration of SGI `intid` of `v` as the guest set it (Group 1: the emulated GIC has no Group 0). */
function config(vpe: Vpe, v: Vcpu, intid: number, enable: boolean): CommandWords {
  const irq = v.vgic.private[intid]!;
  return vsgiConfig(vpe.id, intid, irq.priority, 1, enable && irq.enabled);
}

/** Carries out a vSGI action left by the guest's emulated GIC registers (see the module comment). */
export function* vsgiAction(h: Hypervisor, vpeOf: (v: Vcpu) => Vpe | undefined, act: VsgiAction): Program<boolean> {
  const v = act.vcpu;
  const its = h.cfg.gic.itsBase;
  if (act.what === 'mode') return yield* switchMode(h, vpeOf, act);
  const vpe = vpeOf(v);
  if (vpe === undefined || !v.vgic.hwSgis) return false;
  if (act.what === 'pend') {
    yield sendVsgi(its, vpe.id, act.intid);
    return false;
  }
  const cmds: CommandWords[] = [];
  if (act.what === 'clear') cmds.push(vsgiClear(vpe.id, act.intid));
  else if (act.intid < 0) for (let i = 0; i < 16; i++) cmds.push(config(vpe, v, i, true));
  else cmds.push(config(vpe, v, act.intid, true));
  cmds.push(ItsCmd.VSYNC({ vPEID: vpe.id }));
  yield* h.its.send(act.core, cmds);
  return false;
}

/** GICD_CTLR.nASSGIreq changed: every vCPU of the VM moves its SGIs to (or back from) vSGIs. */
function* switchMode(h: Hypervisor, vpeOf: (v: Vcpu) => Vpe | undefined, act: VsgiAction): Program<boolean> {
  const vm = act.vcpu.vm;
  const on = vm.nassgi;
  const its = h.cfg.gic.itsBase;
  const cmds: CommandWords[] = [];
  const handed: [number, number][] = [];
  for (const o of vm.vcpus) {
    const vpe = vpeOf(o);
    if (vpe === undefined || o.vgic.hwSgis === on) continue;
    for (let i = 0; i < 16; i++) cmds.push(config(vpe, o, i, on));
    cmds.push(ItsCmd.VSYNC({ vPEID: vpe.id }));
    if (on) {
      // Software pending state handed to the GIC (KVM: irq_set_irqchip_state(PENDING, pending_latch)).
      for (let i = 0; i < 16; i++) {
        const irq = o.vgic.private[i]!;
        if (irq.pending && irq.lr < 0 && !irq.active) {
          irq.pending = false;
          handed.push([vpe.id, i]);
        }
      }
      o.vgic.touched();
    }
    o.vgic.hwSgis = on;
  }
  yield* h.its.send(act.core, cmds);
  for (const [id, i] of handed) yield sendVsgi(its, id, i);
  if (on) return false;
  // Back to list registers: the GIC's pending vSGIs become software pending state.
  let deliverable = false;
  const frame = h.pcpus[act.core]!.rd + GICR_VLPI_BASE;
  for (const o of vm.vcpus) {
    const vpe = vpeOf(o);
    if (vpe === undefined) continue;
    const pending: number = yield* queryVsgi(frame, vpe.id);
    if (pending === 0) continue;
    const clear: CommandWords[] = [];
    for (let i = 0; i < 16; i++) {
      if (((pending >>> i) & 1) === 0) continue;
      clear.push(vsgiClear(vpe.id, i));
      if (o.vgic.setPending(o.vgic.private[i]!)) deliverable = true;
    }
    clear.push(ItsCmd.VSYNC({ vPEID: vpe.id }));
    yield* h.its.send(act.core, clear);
  }
  return deliverable;
}

/** A trapped ICC_SGI1R_EL1 of the VM aimed SGI `intid` at `t`, whose SGIs are vSGIs: one GITS_SGIR write. */
export function* forwardSgi(h: Hypervisor, vpe: Vpe, intid: number): Program {
  yield sendVsgi(h.cfg.gic.itsBase, vpe.id, intid);
}
