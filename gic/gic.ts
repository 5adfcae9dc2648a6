/**
 * Assembly of the interrupt controller: the physical GIC (distributor, redistributors, CPU
 * interfaces), one virtual CPU interface per PE, and the ITS, wired through the ports of
 * ports.ts (1 to 4 ITSs, `itsCount`), plus the system-register interface (ICC/ICV/ICH) on every PE.
 */
import type { Machine } from '../core/machine.js';
import type { GicConfig } from './config.js';
import { defineGicSysregs } from './cpuif-regs.js';
import { Its } from './its/its.js';
import { VmovpSync } from './its/vmovp-sync.js';
import { PhysicalGic } from './physical-gic.js';
import { VirtualCpuInterface } from './virtual-cpu-interface.js';

export interface Gic {
  readonly config: GicConfig;
  readonly physical: PhysicalGic;
  readonly virtual: readonly VirtualCpuInterface[];
  /** ITS 0 (the only one unless `itsCount` > 1). */
  readonly its: Its;
  /** Every ITS, by number (`itsCount`). */
  readonly itsList: readonly Its[];
}

/** Builds the GIC of `cfg` on machine `m` and attaches it (MMIO, system registers, PPI inputs). */
export function createGic(m: Machine, cfg: GicConfig): Gic {
  const physical = new PhysicalGic(m, cfg);
  m.interruptController = physical;
  const virtual = m.pes.map((pe) => new VirtualCpuInterface(m, cfg, pe, physical));
  // GICv4: each redistributor's resident vPE competes with the list registers of its PE's
  // virtual CPU interface, and tells it when its best vLPI changes.
  physical.vlpiFrames.forEach((frame, i) => {
    const v = virtual[i]!;
    v.vlpiSource = physical.vlpiSources[i]!;
    frame.onChanged = () => v.vlpiChanged();
  });
  const sync = new VmovpSync();
  const itsList = Array.from({ length: cfg.itsCount }, (_, n) => new Its(m, cfg, physical, physical, n, sync));
  defineGicSysregs(m, cfg, physical.cpuInterfaces, virtual);
  return { config: cfg, physical, virtual, its: itsList[0]!, itsList };
}
