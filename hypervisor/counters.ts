/**
 * What each vCPU cost the hypervisor, counted as it happens (per vCPU; a VM's counters are the
 * sum over its vCPUs, `sumCounters`). Plain numbers and one typed array, so counting allocates
 * nothing on the exit path.
 *
 * - exits: every exception from the guest (EL1) to EL2, by class: `exitsByEc[EC]` for
 *   synchronous exits (ESR_EL2.EC, Arm ARM DDI 0487, ESR_EL2), `irqExits` for physical
 *   interrupts taken from the guest (HCR_EL2.IMO = 1);
 * - el2Cycles: cycles the hypervisor spent on its behalf: from each exit's handler to the guest's
 *   re-entry (or to the point the core reschedules), and each entry from the world switch to the
 *   ERET; what is left of a core's EL2 time (idle, picking, host interrupts taken at EL2) belongs
 *   to no vCPU;
 * - hostIrqs: physical interrupts the hypervisor acknowledged while this vCPU was interrupted
 *   (device LPIs, doorbells, kicks, maintenance and timer PPIs);
 * - injected: virtual interrupts the hypervisor made pending for it (the injected path);
 * - maintenance: IRQ exits the maintenance interrupt caused (ICH_MISR_EL2 non-zero; vgic/lr-sync.ts
 *   `maintenanceRaised`);
 * - lrWrites: interrupts written into a list register before entering it;
 * - doorbells: its vPE's doorbell LPIs taken (GICv4.0 direct path);
 * - residencyChanges: its vPE made resident or non-resident, and `vmovps` of them moved it;
 * - blocks: WFIs it blocked in; runQueueWaits/runQueueWaitCycles: times it waited runnable
 *   for a core, and the cycles waited.
 */
export class VcpuCounters {
  exits = 0;
  irqExits = 0;
  el2Cycles = 0;
  /** Synchronous exits by ESR_EL2.EC (6 bits). */
  readonly exitsByEc = new Uint32Array(64);
  hostIrqs = 0;
  injected = 0;
  lrWrites = 0;
  maintenance = 0;
  doorbells = 0;
  residencyChanges = 0;
  vmovps = 0;
  blocks = 0;
  runQueueWaits = 0;
  runQueueWaitCycles = 0;
}

/** The sum of `list` (a VM's counters from its vCPUs'). */
export function sumCounters(list: readonly VcpuCounters[]): VcpuCounters {
  const s = new VcpuCounters();
  for (const c of list) {
    s.exits += c.exits;
    s.irqExits += c.irqExits;
    s.el2Cycles += c.el2Cycles;
    for (let ec = 0; ec < 64; ec++) s.exitsByEc[ec]! += c.exitsByEc[ec]!;
    s.hostIrqs += c.hostIrqs;
    s.injected += c.injected;
    s.lrWrites += c.lrWrites;
    s.maintenance += c.maintenance;
    s.doorbells += c.doorbells;
    s.residencyChanges += c.residencyChanges;
    s.vmovps += c.vmovps;
    s.blocks += c.blocks;
    s.runQueueWaits += c.runQueueWaits;
    s.runQueueWaitCycles += c.runQueueWaitCycles;
  }
  return s;
}

/** `after` minus `before` (counters over a window). */
export function subtractCounters(after: VcpuCounters, before: VcpuCounters): VcpuCounters {
  const d = new VcpuCounters();
  d.exits = after.exits - before.exits;
  d.irqExits = after.irqExits - before.irqExits;
  d.el2Cycles = after.el2Cycles - before.el2Cycles;
  for (let ec = 0; ec < 64; ec++) d.exitsByEc[ec] = after.exitsByEc[ec]! - before.exitsByEc[ec]!;
  d.hostIrqs = after.hostIrqs - before.hostIrqs;
  d.injected = after.injected - before.injected;
  d.lrWrites = after.lrWrites - before.lrWrites;
  d.maintenance = after.maintenance - before.maintenance;
  d.doorbells = after.doorbells - before.doorbells;
  d.residencyChanges = after.residencyChanges - before.residencyChanges;
  d.vmovps = after.vmovps - before.vmovps;
  d.blocks = after.blocks - before.blocks;
  d.runQueueWaits = after.runQueueWaits - before.runQueueWaits;
  d.runQueueWaitCycles = after.runQueueWaitCycles - before.runQueueWaitCycles;
  return d;
}
