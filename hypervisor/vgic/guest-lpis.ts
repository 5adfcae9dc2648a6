/**
 * The guest's LPI tables, read by the hypervisor when the guest enables LPIs or invalidates
 * their configuration (GICR_INVLPIR/INVALLR on its emulated redistributor): the configuration
 * byte (priority, enable) of each LPI routed to the vCPU, and at EnableLPIs the pending bit
 * (unless PENDBASER.PTZ said the table is zero). Like a real redistributor, the hypervisor
 * caches the configuration: a change in the guest's table takes effect only after the
 * invalidation.
 *
 * Isolation: the guest chooses where its tables are (GICR_PROPBASER, GICR_PENDBASER) and how
 * large (PROPBASER.IDbits), so every byte the hypervisor reads is checked to lie in the VM's own
 * RAM, not only the table's base: a configuration byte the table places outside it is never read
 * (another VM's memory, or beyond physical RAM, where the EL2 load would fault). CHOICE: such an
 * LPI reads as disabled (priority 0) and such a pending bit as clear. The architecture leaves an
 * LPI table in memory the GIC cannot read UNPREDICTABLE (IHI 0069, 5.1.1: the tables must be in
 * memory the redistributor can access); "disabled" is the outcome that delivers nothing the
 * guest did not configure.
 */
import { ldr, type Program } from '../../core/ops.js';
import { GICR_PENDBASER, GICR_PROPBASER, LPI_CONFIG } from '../../gic/gic-registers.js';
import { FIRST_LPI, GUEST_INTID_BITS } from '../config.js';
import type { Vcpu } from '../vm.js';
import type { ReadConfigAction } from './emul-regs.js';
import { lrChanged } from './lr-sync.js';
import type { VIrq } from './virq.js';

/**
 * Physical address of LPI `intid`'s configuration byte in `v`'s guest configuration table
 * (GICR_PROPBASER), or -1 when the table does not cover it (beyond PROPBASER.IDbits or the
 * guest's 16-bit INTID space) or places it outside the VM's RAM.
 */
export function guestConfigBytePa(v: Vcpu, intid: number): number {
  const prop = GICR_PROPBASER.decode(v.vgic.propbaser);
  if (intid < FIRST_LPI || intid >= 2 ** Math.min(GUEST_INTID_BITS, prop.IDbits + 1)) return -1;
  return v.vm.ramPa(prop.PA * 4096 + (intid - FIRST_LPI));
}

/**
 * Physical address of the byte holding LPI `intid`'s bit in `v`'s guest pending table
 * (GICR_PENDBASER), or -1 when PENDBASER.PTZ says the table is zero or the byte lies outside
 * the VM's RAM.
 */
export function guestPendingBytePa(v: Vcpu, intid: number): number {
  const pend = GICR_PENDBASER.decode(v.vgic.pendbaser);
  if (pend.PTZ === 1) return -1;
  return v.vm.ramPa(pend.PA * 65536 + Math.floor(intid / 8));
}

/** Carries out `act`. Returns true when an interrupt became deliverable. */
export function* readGuestLpis(act: ReadConfigAction): Program<boolean> {
  const v = act.vcpu;
  const g = v.vgic;
  let deliverable = false;
  const one = function* (irq: VIrq): Program {
    let priority = 0;
    let enabled = false;
    const configPa = guestConfigBytePa(v, irq.intid);
    if (configPa >= 0) {
      const byte: number = yield ldr(configPa, 1, 9);
      const c = LPI_CONFIG.decode(byte);
      priority = c.Priority << 2;
      enabled = c.Enable === 1;
    }
    if (irq.priority !== priority) {
      irq.priority = priority;
      lrChanged(irq);
    }
    irq.enabled = enabled;
    const pendingPa = act.pending ? guestPendingBytePa(v, irq.intid) : -1;
    if (pendingPa >= 0) {
      const byte: number = yield ldr(pendingPa, 1, 9);
      if (((byte >> irq.intid % 8) & 1) === 1) irq.pending = true;
    }
    g.touched();
    if (g.queueIfDeliverable(irq)) deliverable = true;
  };
  if (act.intid === 'all') {
    for (const irq of g.lpis.values()) yield* one(irq);
  } else {
    const irq = g.lpis.get(act.intid);
    if (irq !== undefined) yield* one(irq);
  }
  return deliverable;
}
