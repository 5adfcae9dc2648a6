/**
 * The guest's LPI tables, read by the hypervisor when the guest enables LPIs or invalidates
 * their configuration (GICR_INVLPIR/INVALLR on its emulated redistributor): the configuration
 * byte (priority, enable) of each LPI routed to the vCPU, and at EnableLPIs the pending bit
 * (unless PENDBASER.PTZ said the table is zero). Like a real redistributor, the hypervisor
 * caches the configuration: a change in the guest's table takes effect only after the
 * invalidation.
 */
import { ldr, type Program } from '../../core/ops.js';
import { GICR_PENDBASER, GICR_PROPBASER, LPI_CONFIG } from '../../gic/gic-registers.js';
import { FIRST_LPI } from '../config.js';
import type { GuestLpiAction } from './emul-regs.js';
import { lrChanged } from './lr-sync.js';
import type { VIrq } from './virq.js';

/** Carries out `act`. Returns true when an interrupt became deliverable. */
export function* readGuestLpis(act: GuestLpiAction): Program<boolean> {
  const v = act.vcpu;
  const g = v.vgic;
  const prop = GICR_PROPBASER.decode(g.propbaser);
  const propPa = v.vm.ramPa(prop.PA * 4096);
  const idLimit = 2 ** Math.min(16, prop.IDbits + 1);
  const pend = GICR_PENDBASER.decode(g.pendbaser);
  const pendPa = v.vm.ramPa(pend.PA * 65536);
  let deliverable = false;
  const one = function* (irq: VIrq): Program {
    let priority = 0;
    let enabled = false;
    if (propPa >= 0 && irq.intid < idLimit) {
      const byte: number = yield ldr(propPa + (irq.intid - FIRST_LPI), 1, 9);
      const c = LPI_CONFIG.decode(byte);
      priority = c.Priority << 2;
      enabled = c.Enable === 1;
    }
    if (irq.priority !== priority) {
      irq.priority = priority;
      lrChanged(irq);
    }
    irq.enabled = enabled;
    if (act.pending && pend.PTZ === 0 && pendPa >= 0) {
      const byte: number = yield ldr(pendPa + Math.floor(irq.intid / 8), 1, 9);
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
