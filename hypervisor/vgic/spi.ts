/**
 * Virtual SPIs: a VM's shared peripheral interrupts, as KVM's vgic keeps them (vgic.c,
 * vgic-mmio.c, vgic-mmio-v3.c). How it works:
 *
 * - State. Each SPI of the VM is one `VIrq` owned by the VM (`VmSpis`), with an `IrqLine`
 *   beside it: its trigger (GICD_ICFGR), its input line and pending latch (level-sensitive), its
 *   routing (GICD_IROUTER: the target vCPU) and the vCPU whose active/pending list holds it while
 *   it is queued (KVM's irq->vcpu). A private interrupt the host drives (KVM_IRQ_LINE on a PPI)
 *   gets an `IrqLine` too, owned and targeted by its vCPU.
 * - Queueing (KVM's vgic_queue_irq_unlock / vgic_target_oracle): an SPI pending and enabled, with
 *   the VM's distributor enabled (GICD_CTLR.EnableGrp1), or active, goes on its target's list; one
 *   already on a list stays there and that vCPU is told. Whoever changes the state gets back the
 *   vCPU that must see it (to be kicked if it runs on another core, woken if blocked). CHOICE: an
 *   SPI already on a list when the guest clears GICD_CTLR.EnableGrp1 is still delivered (KVM's
 *   prune drops it); one made pending afterwards waits until the distributor is enabled again.
 * - Locks. The hypervisor's virtual GIC takes none: every read-modify-write of an interrupt's
 *   state and of a list happens between two ops, so it is atomic with respect to every other core
 *   (see README "Locks"). What cannot be done that way is an interrupt sitting in a list register
 *   of a vCPU running on another core (`VIrq.lr >= 0`): the LR is the truth until that core folds
 *   it. So a change to it is left for the fold (a level line: `foldLine` recomputes), recorded for
 *   it (an edge: `repend`), or the owner is kicked so that it folds.
 * - Level-sensitive interrupts (KVM's line_level and pending_latch): pending = latch | line. A
 *   list register holding one asks for an EOI maintenance interrupt (ICH_LR<n>_EL2.EOI = 1,
 *   `VIrq.eoiMaintenance`, as vgic_v3_populate_lr writes level-sensitive HW = 0 interrupts), so
 *   its deactivation makes the vCPU exit and the fold re-evaluates it: if the line is still high it
 *   is pending again (resampling). The fold forgets what the LR said about pending (`foldLine`),
 *   so a line lowered before the guest acknowledges retracts it (lowering kicks a vCPU that may
 *   hold it in a list register).
 * - Edge-triggered: every rising edge (KVM_IRQ_LINE 1, GICD_SETSPI_NSR, GICD_ISPENDR, a host SPI
 *   forwarded with HW = 1) makes it pending, merging with one still pending (`merged` counts).
 * - HW = 1 (a wired host device, spi-host.ts): the physical distributor holds the pending and active
 *   state; the guest's deactivation deactivates the host SPI, and a level line still high re-pends
 *   there. Guest writes to its pending and active state are mirrored to the host SPI, as KVM's
 *   vgic_hw_irq_spending / vgic_hw_irq_cpending / vgic_irq_set_phys_active do (`SpiAction` 'phys').
 * - Routing (GICD_IROUTER; KVM's vgic_mmio_write_irouter and vgic_prune_ap_list): changing the
 *   target of an SPI that is on a list moves it to the new target's list as soon as it is neither
 *   active nor in a list register of a vCPU running elsewhere: at once when it is, else when its
 *   owner next takes an interrupt at EL2 (the write kicks the owner; spi-host.ts `settle`). An
 *   active SPI finishes its activation where it was acknowledged (KVM keeps an active interrupt on
 *   its vCPU, too).
 */
import { GICD } from '../../gic/mmio-offsets.js';
import type { Vcpu, Vm } from '../vm.js';
import { lrChanged } from './lr-sync.js';
import { DEFAULT_VIRQ_PRIORITY } from './vcpu-vgic.js';
import { VIrq } from './virq.js';

export const FIRST_SPI = 32;

/** What the hypervisor knows of an interrupt's input and routing, beside its `VIrq`. */
export class IrqLine {
  /** GICD_ICFGR<n> / GICR_ICFGR1: level-sensitive (false: edge-triggered). */
  level: boolean;
  /** The input line (KVM's line_level): KVM_IRQ_LINE, GICD_SETSPI_NSR/CLRSPI_NSR on a level SPI. */
  high = false;
  /** A level interrupt's pending latch (GICD_ISPENDR), cleared once the guest has taken and deactivated it. */
  latch = false;
  /** The vCPU whose list holds the interrupt while `VIrq.queued` (KVM's irq->vcpu). */
  owner: Vcpu | null;
  /** Where it goes when it next becomes pending (KVM's target_vcpu); null: no vCPU has the routed affinity. */
  target: Vcpu | null;
  /** GICD_IROUTER<n> as written: Aff2.Aff1.Aff0 (Aff3 and Interrupt_Routing_Mode are RAZ/WI). */
  affinity = 0;
  /** On the hypervisor's list of SPIs to move to their new target (spi-host.ts). */
  moving = false;

  constructor(
    readonly vm: Vm,
    /** An SPI (shared: GICD_CTLR.EnableGrp1 gates it) or a private interrupt. */
    readonly shared: boolean,
    level: boolean,
    target: Vcpu | null,
  ) {
    this.level = level;
    this.owner = null;
    this.target = target;
  }
}

/**
 * What a state change made from an MMIO trap leaves for the trapping core to carry out as ops
 * once the access is emulated (spi-host.ts `runActions`): a write of 1 to the host SPI's bit of a
 * host distributor register family (HW = 1 interrupts), or a vCPU to tell (kick or wake).
 */
export type SpiAction = { readonly kind: 'phys'; readonly reg: number; readonly intid: number } | { readonly kind: 'deliver'; readonly vcpu: Vcpu };

/** Where VmSpis leaves work for the hypervisor (SpiHost implements it). */
export interface SpiSink {
  /** The action list of core `core` (the requester of the access that made the change). */
  actions(core: number): SpiAction[];
  /** Records that `v` is on a list other than its target's: to be moved (settle). */
  move(v: VIrq): void;
  /** `v` moved from `from`'s list to its target's (or off the list) on core `core`: counted and traced. */
  moved(v: VIrq, from: Vcpu, core: number): void;
}

/** Counters of one VM's SPIs. */
export class SpiStats {
  /** Edges that made an SPI or host-driven PPI pending (KVM_IRQ_LINE, GICD_SETSPI_NSR, GICD_ISPENDR, host SPIs). */
  edges = 0;
  /** Of those, edges that found it still pending and merged with it. */
  merged = 0;
  /** Level lines raised (0 -> 1) and lowered. */
  raised = 0;
  lowered = 0;
  /** Interrupts moved to another vCPU's list after a GICD_IROUTER change. */
  migrations = 0;
}

/**
 * The fold of a list register holding `v` (lr-sync.ts `foldLrs`, after the LR's State is in
 * `v`): a level-sensitive interrupt is pending while its latch or line says so, whatever the LR
 * said (KVM's vgic_v3_fold_lr_state keeps the LR's pending bit for edges only); its latch is
 * consumed once the guest has taken and deactivated it (State 00).
 */
export function foldLine(v: VIrq, state: number): void {
  const l = v.line!;
  if (!l.level || v.hw) return;
  if (state === 0) l.latch = false;
  v.pending = l.latch || l.high;
}

/**
 * Puts `v` on the list it belongs to now, if it is deliverable (KVM's vgic_queue_irq_unlock).
 * Returns the vCPU that must see it (kick or wake), or null.
 */
export function queueLine(v: VIrq): Vcpu | null {
  const l = v.line!;
  if (v.queued) return v.deliverable || v.repend ? l.owner : null;
  if (!v.deliverable) return null;
  if (!v.active && l.shared && !l.vm.distEnabled) return null;
  const t = l.target;
  if (t === null) return null;
  t.vgic.queueIfDeliverable(v);
  l.owner = t;
  return t;
}

/**
 * An edge on `v` (KVM_IRQ_LINE 1 on an edge interrupt, GICD_SETSPI_NSR, a host SPI forwarded with
 * HW = 1): pending, merging with one still pending. Returns the vCPU to tell, or null.
 */
export function lineEdge(v: VIrq, stats: SpiStats): Vcpu | null {
  const l = v.line!;
  stats.edges++;
  if (v.pending || v.repend) stats.merged++;
  if (v.queued) {
    const o = l.owner!;
    return o.vgic.setPending(v) ? o : null;
  }
  v.pending = true;
  return queueLine(v);
}

/**
 * The input line of `v` moved to `high` (KVM's kvm_vgic_inject_irq). An edge-triggered
 * interrupt takes a 1 as an edge and ignores a 0; a level-sensitive one follows the line (a
 * level that does not change does nothing, as vgic_validate_injection). Returns the vCPU to tell:
 * the one to give it to, or, when a lowered line may still be pending in a list register of a
 * running vCPU, that vCPU (a kick makes it exit, and its fold retracts the interrupt).
 */
export function setLine(v: VIrq, high: boolean, stats: SpiStats): Vcpu | null {
  const l = v.line!;
  if (!l.level || v.hw) return high ? lineEdge(v, stats) : null;
  if (l.high === high) return null;
  l.high = high;
  if (high) stats.raised++;
  else stats.lowered++;
  if (v.lr >= 0) return high ? null : l.owner;
  v.pending = l.latch || high;
  return v.pending ? queueLine(v) : null;
}

/** The SPIs of one VM: state, and the semantics of the GICD registers that change it. */
export class VmSpis {
  /** SPI 32 + i. */
  readonly irqs: VIrq[];
  readonly stats = new SpiStats();

  constructor(
    readonly vm: Vm,
    /** SPIs offered (VmConfig.spis). */
    readonly count: number,
    private readonly priorityMask: number,
    readonly sink: SpiSink,
  ) {
    const v0 = vm.vcpus[0] ?? null;
    this.irqs = Array.from({ length: count }, (_, i) => {
      const v = new VIrq(FIRST_SPI + i, DEFAULT_VIRQ_PRIORITY, false);
      // CHOICE: SPIs reset level-sensitive (KVM: VGIC_CONFIG_LEVEL), routed to affinity 0 (vCPU 0).
      v.line = new IrqLine(vm, true, true, v0);
      v.eoiMaintenance = true;
      return v;
    });
  }

  /** The SPI `intid`, if the VM has it. */
  irq(intid: number): VIrq | undefined {
    return intid >= FIRST_SPI ? this.irqs[intid - FIRST_SPI] : undefined;
  }

  /** Forwards `v` with HW = 1 from host SPI `hostSpi` (a wired device; its trigger as the device signals). */
  wire(v: VIrq, hostSpi: number, edge: boolean): void {
    v.hw = true;
    v.pintid = hostSpi;
    v.line!.level = !edge;
    v.eoiMaintenance = false;
    lrChanged(v);
  }

  private deliver(v: Vcpu | null, core: number): void {
    if (v !== null) this.sink.actions(core).push({ kind: 'deliver', vcpu: v });
  }

  private phys(v: VIrq, reg: number, core: number): void {
    this.sink.actions(core).push({ kind: 'phys', reg, intid: v.pintid });
  }

  // ---------------------------------------------------------------- GICD registers (MMIO traps on core `core`)

  /** GICD_CTLR.EnableGrp1 went 0 -> 1: pending, enabled SPIs go to their targets. */
  distributorEnabled(core: number): void {
    for (const v of this.irqs) if (!v.queued && v.pending && v.enabled) this.deliver(queueLine(v), core);
  }

  /** GICD_ISENABLER / GICD_ICENABLER. */
  setEnabled(v: VIrq, on: boolean, core: number): void {
    if (v.enabled === on) return;
    v.enabled = on;
    const l = v.line!;
    if (v.queued) l.owner!.vgic.touched();
    if (on) this.deliver(queueLine(v), core);
  }

  /** GICD_ISPENDR, and GICD_SETSPI_NSR on an edge SPI: pending (a level SPI's latch). */
  setPendingBit(v: VIrq, core: number): void {
    const l = v.line!;
    if (v.hw) {
      // vgic_hw_irq_spending: the host SPI made active so that the device's own assertion waits
      // for the guest's deactivation of this one (which deactivates the host SPI).
      if (!v.active) this.phys(v, GICD.ISACTIVER, core);
      this.deliver(lineEdge(v, this.stats), core);
      return;
    }
    if (!l.level) {
      this.deliver(lineEdge(v, this.stats), core);
      return;
    }
    l.latch = true;
    if (v.lr >= 0) return; // the fold sees the latch
    v.pending = true;
    this.deliver(queueLine(v), core);
  }

  /** GICD_ICPENDR: not pending (a level SPI stays pending while its line is high). */
  clearPendingBit(v: VIrq, core: number): void {
    const l = v.line!;
    if (v.hw) {
      // vgic_hw_irq_cpending: clear the host SPI's pending state, and its active state if the
      // guest does not hold it active (a level line still high then re-pends there).
      this.phys(v, GICD.ICPENDR, core);
      if (!v.active) this.phys(v, GICD.ICACTIVER, core);
    }
    if (l.level && !v.hw) {
      l.latch = false;
      if (v.lr < 0) v.pending = l.high;
      return;
    }
    v.pending = false;
    v.repend = false;
  }

  /** GICD_ISACTIVER / GICD_ICACTIVER (HW = 1: the host SPI's active state too, vgic_irq_set_phys_active). */
  setActiveBit(v: VIrq, on: boolean, core: number): void {
    if (v.hw) this.phys(v, on ? GICD.ISACTIVER : GICD.ICACTIVER, core);
    v.active = on;
    const l = v.line!;
    if (!on && l.level && !v.hw && v.lr < 0) v.pending = l.latch || l.high;
    this.deliver(queueLine(v), core);
  }

  /** GICD_IPRIORITYR byte (unimplemented low bits RAZ/WI). */
  setPriority(v: VIrq, priority: number): void {
    v.priority = priority & this.priorityMask;
    lrChanged(v);
    if (v.queued) v.line!.owner!.vgic.touched();
  }

  /** GICD_ICFGR: edge-triggered (true) or level-sensitive. */
  setEdge(v: VIrq, edge: boolean): void {
    const l = v.line!;
    if (l.level === !edge) return;
    l.level = !edge;
    if (v.hw) return;
    v.eoiMaintenance = l.level;
    // KVM keeps the pending state across the change; a level interrupt's is its latch.
    if (l.level) l.latch = v.pending;
  }

  /**
   * GICD_IROUTER<n>: Aff2.Aff1.Aff0 name the target vCPU. CHOICE: as KVM (vgic_mmio_write_irouter)
   * Aff3 and Interrupt_Routing_Mode are RAZ/WI (GICD_TYPER.No1N = 1: no 1-of-N routing); an
   * affinity no vCPU has leaves the SPI with no target, pending in the distributor.
   */
  setRoute(v: VIrq, affinity: number, core: number): void {
    const l = v.line!;
    l.affinity = affinity;
    const t = this.vm.vcpuByAffinity(affinity) ?? null;
    l.target = t;
    if (!v.queued) {
      this.deliver(queueLine(v), core);
      return;
    }
    const o = l.owner!;
    if (o === t) return;
    // To another vCPU, or to none (then it leaves the list and waits, pending, for a target).
    const moved = migrate(v, core);
    if (moved !== undefined) {
      this.sink.moved(v, o, core);
      this.deliver(moved, core);
      return;
    }
    this.sink.move(v);
    // Its owner runs elsewhere (maybe with it in a list register): make it exit, and the move
    // completes on its core (settle). An active one waits for its deactivation.
    if (!v.active) this.deliver(o, core);
  }

  /** GICD_SETSPI_NSR: an edge SPI becomes pending; CHOICE: a level SPI's line is asserted (as Linux's level MBIs use it). */
  messageSet(v: VIrq, core: number): void {
    if (v.line!.level && !v.hw) this.deliver(setLine(v, true, this.stats), core);
    else this.setPendingBit(v, core);
  }

  /** GICD_CLRSPI_NSR: an edge SPI is no longer pending; a level SPI's line is deasserted. */
  messageClear(v: VIrq, core: number): void {
    if (v.line!.level && !v.hw) this.deliver(setLine(v, false, this.stats), core);
    else this.clearPendingBit(v, core);
  }

  /** GICD_ISPENDR/ICPENDR read: the pending state (a level SPI's latch or line). */
  pendingBit(v: VIrq): boolean {
    return v.pending || v.repend;
  }

  /** The value written to a GICD_IROUTER<n>, as the register reads back. */
  routeOf(v: VIrq): number {
    return v.line!.affinity;
  }
}

/**
 * Moves `v` from its owner's list to its target's if that can be done now: it is not active, not
 * in a list register, and its owner is not running on another core (`core` is the core doing
 * it, which may be running the owner: then its list registers have been folded). Returns the new
 * owner to tell (null if it is not deliverable and simply left the list), or undefined when it
 * must wait.
 */
export function migrate(v: VIrq, core: number): Vcpu | null | undefined {
  const l = v.line!;
  if (!v.queued) return null;
  const o = l.owner!;
  if (o === l.target) return null;
  if (v.active || v.lr >= 0 || (o.state === 'running' && o.core !== core)) return undefined;
  const ap = o.vgic.ap;
  const i = ap.indexOf(v);
  if (i >= 0) ap.splice(i, 1);
  v.queued = false;
  l.owner = null;
  return queueLine(v);
}
