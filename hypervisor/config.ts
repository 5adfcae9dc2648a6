/**
 * The hypervisor's static configuration, in the style of partitioning hypervisors such as bao:
 * the platform (scenarios/) loads each guest image into its VM's RAM before the hypervisor
 * boots, and this configuration tells the hypervisor where the RAM is, which devices' events go
 * to which vCPU as which guest LPI, and how each VM receives them.
 */
import type { GicConfig } from '../gic/config.js';
import type { Policy } from './sched/policy.js';

/** How a VM's device interrupts reach it: through list registers (GICv3) or directly (GICv4). */
export type Injection = 'list-register' | 'direct';

export interface AssignedEvent {
  readonly eventId: number;
  /** vCPU (index in its VM) that receives it. */
  readonly vcpu: number;
  /** The guest LPI the event becomes (>= 8192). */
  readonly vintid: number;
}

export interface AssignedDevice {
  readonly deviceId: number;
  readonly events: readonly AssignedEvent[];
}

export interface VmConfig {
  readonly name: string;
  readonly vcpus: number;
  /** Guest-physical base of RAM (the image's load address as the guest sees it). */
  readonly ramIpa: number;
  /** Physical base of the VM's RAM. */
  readonly ramPa: number;
  readonly ramSize: number;
  /** IPA where vCPU 0 starts. */
  readonly entry: number;
  readonly injection: Injection;
  readonly devices: readonly AssignedDevice[];
  /** Scheduling priority of every vCPU (fixed-priority policy). */
  readonly priority: number;
  /** Core each vCPU is pinned to (index = vCPU), or null. */
  readonly pinned: readonly (number | null)[] | null;
}

export interface HypervisorConfig {
  /** Host GIC layout (the hypervisor's "device tree"). */
  readonly gic: GicConfig;
  readonly vms: readonly VmConfig[];
  readonly policy: Policy<any>;
  /** Scheduler time slice, in cycles of the core clock. */
  readonly sliceCycles: number;
  /** Core clock / counter frequency ratio (cycles per CNTPCT tick), to program the EL2 timer. */
  readonly cyclesPerTick: number;
  /** HCR_EL2.TWI: trap guest WFI (the vCPU blocks) or let it complete on the core. */
  readonly trapWfi: boolean;
  /** Wait for GICR_VPENDBASER.Dirty = 0 after scheduling a vPE before entering the guest (as Linux does). */
  readonly waitDirtyOnEntry: boolean;
  /** Physical address of the hypervisor image (entry; per-core vectors follow). */
  readonly codePa: number;
  /** Physical memory the hypervisor owns for tables, queues and VPTs. */
  readonly heapPa: number;
  readonly heapSize: number;
  /** Cycles of EL2 bookkeeping charged per software action (scheduler decision, injection...). */
  readonly bookkeeping: BookkeepingCosts;
}

/** Cycles the hypervisor's own software spends on its bookkeeping (charged with `work`). */
export interface BookkeepingCosts {
  readonly inject: number;
  readonly schedule: number;
  readonly mmioEmulation: number;
  readonly hypercall: number;
}

export const DEFAULT_BOOKKEEPING: BookkeepingCosts = Object.freeze({ inject: 40, schedule: 150, mmioEmulation: 60, hypercall: 40 });
