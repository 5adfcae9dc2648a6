/**
 * A board in one call: the machine (PEs, clock, seed, trace, costs, RAM) and the whole GIC on
 * it (`createGic`: distributor, redistributors, physical and virtual CPU interfaces, ITS), as
 * firmware finds them at reset. What runs on it (a hypervisor, a bare-metal test, guest
 * kernels, devices) is added by the caller.
 *
 * The GIC configuration is validated (`gicConfig`) before the machine is built, so a bad field
 * is reported by name and nothing is half-built. Building the GIC draws nothing from the
 * machine's random source: one seed gives the same trace on a board as on a machine built by
 * hand (`new Machine` then `createGic`).
 */
import type { CostTable } from '../core/costs.js';
import { Machine, type RamRange } from '../core/machine.js';
import { gicConfig, type GicConfig, type GicOverrides } from './config.js';
import { createGic, type Gic } from './gic.js';
import { GITS } from './its/its-registers.js';

export interface BoardOptions {
  /** Number of PEs (default 1). */
  readonly cores?: number;
  /** Core clock in Hz (default 2 GHz). */
  readonly clockHz?: number;
  /** Seed of the machine's random source (default 1). */
  readonly seed?: number;
  /** Record the trace (default false). */
  readonly trace?: boolean;
  /** Overrides of the cost table (core/costs.ts). */
  readonly costs?: Partial<CostTable>;
  /** RAM ranges (default the Machine's: 2 GiB at 0x4000_0000). */
  readonly ram?: readonly RamRange[];
  /** The GIC: version, list registers, ID bits, frame bases, ITS options (default DEFAULT_GIC_CONFIG). */
  readonly gic?: GicOverrides;
}

export interface Board {
  readonly m: Machine;
  readonly gic: Gic;
  /** The GIC configuration in force (the defaults with the options applied). */
  readonly config: GicConfig;
  /** Physical address of GITS_TRANSLATER, where devices (and, with `its.cpuDeviceId`, PEs) write MSIs. */
  readonly translater: number;
  /** GITS_TRANSLATER of each ITS, by number (`gic.itsCount`). */
  readonly translaters: readonly number[];
}

/** Builds a machine and its GIC from `o`; throws, naming the field, on an invalid option. */
export function createBoard(o: BoardOptions = {}): Board {
  const config = gicConfig(o.gic ?? {});
  const m = new Machine({ cores: o.cores, clockHz: o.clockHz, seed: o.seed, trace: o.trace, costs: o.costs, ram: o.ram });
  const gic = createGic(m, config);
  const translaters = gic.itsList.map((its) => its.base + GITS.TRANSLATER);
  return { m, gic, config, translater: translaters[0]!, translaters };
}
