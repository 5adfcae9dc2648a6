/**
 * The VLPI_base frame of a GICv4 redistributor (RD + 0x20000, gic-facts §2.2) and the
 * redistributor's side of direct injection (`VlpiSource` for the virtual CPU interface).
 *
 * For now the frame is RAZ/WI and no vPE is ever resident: `best()` is -1. The direct-injection
 * work fills this file in without touching the rest of the physical GIC: GICR_VPROPBASER (0x70)
 * and GICR_VPENDBASER (0x78) go into `regions()`, residency and the resident vPE's pending
 * vLPIs (a `KeyHeap` like lpi-tables.ts) into this class, and `PhysicalGic` forwards `VlpiPort`
 * calls for redistributor `rd` to `vlpiFrames[rd]`. A v4.0 doorbell is a physical LPI: it goes
 * through the owning redistributor's `setLpiPending`, available here as `setPhysicalLpi`.
 */
import type { Machine } from '../core/machine.js';
import { RegisterBlock, type RegisterRegion } from '../core/regions.js';
import type { VlpiSource } from './ports.js';

export const VLPI_FRAME_SIZE = 0x10000;

export class VlpiFrame implements VlpiSource {
  readonly block: RegisterBlock;

  constructor(
    readonly m: Machine,
    /** Redistributor (= PE) index. */
    readonly index: number,
    /** Makes a physical LPI pending at this redistributor (v4.0 doorbells). */
    readonly setPhysicalLpi: (intid: number) => boolean,
  ) {
    this.block = new RegisterBlock(`GICR${index}.VLPI_base`, VLPI_FRAME_SIZE, this.regions());
  }

  /** The VLPI_base registers. Empty for now: the whole frame is RAZ/WI. */
  private regions(): RegisterRegion[] {
    return [];
  }

  /** Highest-priority pending enabled vLPI of the resident vPE: none while nothing is resident. */
  best(): number {
    return -1;
  }

  acknowledge(_vintid: number): void {}
}
