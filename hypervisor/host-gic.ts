/**
 * The hypervisor's own GIC set-up and the few GIC operations its world switch needs, built on
 * the shared driver routines of gic/driver.ts: the distributor once, then per core its
 * redistributor (SGI 0 for kicks, PPIs 25 maintenance, 26 EL2 timer, 27 virtual timer, all at
 * PRIO_CONTROL, above the device LPIs' PRIO_DEVICE), LPIs,
 * and the CPU interface with ICC_CTLR_EL1.EOImode = 1 (priority drop and deactivation split,
 * so a forwarded interrupt stays active until the guest deactivates it through an HW = 1 LR).
 */
import { ldr, str, type Program } from '../core/ops.js';
import { cpuAffinity, enableLpis, findRedistributor, initCpuInterface, initDistributor, initPrivateInterrupts, sendSgi, wakeRedistributor, type LpiTables } from '../gic/driver.js';
import { GICR_SGI, GICR_SGI_BASE } from '../gic/mmio-offsets.js';
import { PMR_ALL, PPI_HYP_TIMER, PPI_MAINTENANCE, PPI_VTIMER, PRIO_CONTROL, SGI_KICK } from './layout.js';

export function* hostDistributorInit(gicd: number): Program {
  yield* initDistributor(gicd);
}

/** Per-core set-up. Returns the RD_base address of this core's redistributor. */
export function* hostCpuInit(gicr: number, lpis: LpiTables | null, pendTable: number): Program<number> {
  const rd: number = yield* findRedistributor(gicr);
  if (rd < 0) return rd;
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, [PPI_MAINTENANCE, PPI_HYP_TIMER, PPI_VTIMER], PRIO_CONTROL);
  if (lpis !== null) yield* enableLpis(rd, lpis, pendTable);
  // EOImode = 1: EOIR drops priority, DIR deactivates; PMR 0xff lets every priority through.
  yield* initCpuInterface(1, PMR_ALL);
  return rd;
}

/** Sends the kick SGI to core `core`. */
export function* kickCore(core: number): Program {
  yield* sendSgi(SGI_KICK, [cpuAffinity(core)]);
}

/** Reads whether the virtual timer PPI is active at `rd` and deactivates it (vCPU put). */
export function* saveTimerActive(rd: number): Program<boolean> {
  const act: number = yield ldr(rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, 4, 9);
  const active = ((act >>> PPI_VTIMER) & 1) === 1;
  if (active) yield str(rd + GICR_SGI_BASE + GICR_SGI.ICACTIVER0, 1 << PPI_VTIMER, 4, 9);
  return active;
}

/** Makes the virtual timer PPI active again at `rd` (vCPU load of a vCPU whose timer interrupt is in flight). */
export function* restoreTimerActive(rd: number): Program {
  yield str(rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, 1 << PPI_VTIMER, 4, 9);
}
