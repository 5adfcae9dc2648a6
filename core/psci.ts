/**
 * The EL3 firmware, reduced to what a machine without EL3 needs: an SMC from EL1 (when
 * HCR_EL2.TSC = 0) or from EL2 is served here atomically, as Trusted Firmware-A would serve
 * it, following the Arm Power State Coordination Interface (PSCI 1.0, DEN0022) function IDs
 * and return codes. Return codes are written to x0 as signed numbers.
 */
import type { Machine } from './machine.js';
import { PeState, type PE } from './pe.js';
import { toNum } from './bits.js';

export const PSCI = {
  VERSION: 0x84000000,
  CPU_OFF: 0x84000002,
  CPU_ON: 0xc4000003,
  AFFINITY_INFO: 0xc4000004,
  SYSTEM_OFF: 0x84000008,
  FEATURES: 0x8400000a,
} as const;

export const PSCI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
} as const;

/** PSCI 1.0. */
export const PSCI_VERSION_1_0 = 0x10000;

/** Affinity bits of MPIDR_EL1 (Aff3 [39:32], Aff2..Aff0 [23:0]). */
export function mpidrAffinity(mpidr: number): number {
  return (mpidr % 2 ** 40) - (Math.floor(mpidr / 2 ** 24) % 256) * 2 ** 24;
}

export class Firmware {
  calls = 0;

  constructor(private readonly m: Machine) {}

  /** Serves the SMC in `pe`'s x0..x3. Returns false when the call does not return. */
  call(pe: PE): boolean {
    this.calls++;
    const fn = toNum(pe.x[0]!) >>> 0;
    const m = this.m;
    switch (fn) {
      case PSCI.VERSION:
        pe.x[0] = PSCI_VERSION_1_0;
        return true;
      case PSCI.FEATURES: {
        const q = toNum(pe.x[1]!) >>> 0;
        pe.x[0] = (Object.values(PSCI) as number[]).includes(q) ? 0 : PSCI_RET.NOT_SUPPORTED;
        return true;
      }
      case PSCI.CPU_ON: {
        const target = m.peByMpidr(toNum(pe.x[1]!));
        if (target === undefined) {
          pe.x[0] = PSCI_RET.INVALID_PARAMETERS;
          return true;
        }
        if (target.state !== PeState.Off) {
          pe.x[0] = PSCI_RET.ALREADY_ON;
          return true;
        }
        target.powerOn(toNum(pe.x[2]!), pe.el, pe.now + m.costs.cpuOnLatency, pe.x[3]!, pe.index);
        pe.x[0] = PSCI_RET.SUCCESS;
        return true;
      }
      case PSCI.AFFINITY_INFO: {
        const target = m.peByMpidr(toNum(pe.x[1]!));
        pe.x[0] = target === undefined ? PSCI_RET.INVALID_PARAMETERS : target.state === PeState.Off ? 1 : 0;
        return true;
      }
      case PSCI.CPU_OFF:
        pe.powerOff('PSCI CPU_OFF');
        return false;
      case PSCI.SYSTEM_OFF:
        if (m.trace.on) m.trace.emit({ t: m.now, core: pe.index, el: pe.el, kind: 'system-off', by: pe.index });
        m.halt('PSCI SYSTEM_OFF');
        pe.powerOff('PSCI SYSTEM_OFF');
        return false;
      default:
        pe.x[0] = PSCI_RET.NOT_SUPPORTED;
        return true;
    }
  }
}
