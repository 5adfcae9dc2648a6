/**
 * The hypervisor's own GIC set-up and the few GIC operations its world switch needs, built on
 * the driver library's routines (drivers/gic-init.ts): the distributor once, then per core its
 * redistributor (SGI 0 for kicks, PPIs 25 maintenance, 26 EL2 timer, 27 virtual timer, all at
 * PRIO_CONTROL, above the device LPIs' PRIO_DEVICE), LPIs,
 * and the CPU interface with ICC_CTLR_EL1.EOImode = 1 (priority drop and deactivation split,
 * so a forwarded interrupt stays active until the guest deactivates it through an HW = 1 LR).
 */
import type { Program } from '../core/ops.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { initCpuInterface, initDistributor, initRedistributor, sendSgi, setActivePrivate, takeActivePrivate } from '../drivers/gic-init.js';
import { enableLpis, type LpiTables } from '../drivers/lpi.js';
import { PMR_ALL, PPI_HYP_TIMER, PPI_MAINTENANCE, PPI_VTIMER, PRIO_CONTROL, SGI_KICK } from './layout.js';

export function* hostDistributorInit(gicd: number): Program {
  yield* initDistributor(gicd);
}

/** Per-core set-up. Returns the RD_base address of this core's redistributor. */
export function* hostCpuInit(gicr: number, lpis: LpiTables | null, pendTable: number): Program<number> {
  const rd: number = yield* initRedistributor(gicr, [PPI_MAINTENANCE, PPI_HYP_TIMER, PPI_VTIMER], PRIO_CONTROL);
  if (rd < 0) return rd;
  if (lpis !== null) yield* enableLpis(rd, lpis, pendTable);
  // EOImode = 1: EOIR drops priority, DIR deactivates; PMR 0xff lets every priority through.
  yield* initCpuInterface({ eoiMode: 1, pmr: PMR_ALL });
  return rd;
}

// The run-time routines below only forward to a driver routine: plain functions returning its
// program (no generator of their own, and no forwarding level for each of its ops).

/** Sends the kick SGI to core `core`. */
export function kickCore(core: number): Program {
  return sendSgi(SGI_KICK, cpuAffinity(core));
}

/** Reads whether the virtual timer PPI is active at `rd` and deactivates it (vCPU put). */
export function saveTimerActive(rd: number): Program<boolean> {
  return takeActivePrivate(rd, PPI_VTIMER);
}

/** Makes the virtual timer PPI active again at `rd` (vCPU load of a vCPU whose timer interrupt is in flight). */
export function restoreTimerActive(rd: number): Program {
  return setActivePrivate(rd, PPI_VTIMER);
}
