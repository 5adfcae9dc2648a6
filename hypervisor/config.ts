/**
 * The hypervisor's static configuration, in the style of partitioning hypervisors such as bao:
 * the platform (scenarios/) loads each guest image into its VM's RAM before the hypervisor
 * boots, and this configuration tells the hypervisor where the RAM is, which devices' events go
 * to which vCPU as which guest LPI, and how each VM receives them.
 */
import type { GicConfig } from '../gic/config.js';
import { LPI_BASE } from '../gic/gic-registers.js';
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
  /**
   * HCR_EL2.TWI while this VM's vCPUs run (trap guest WFI: the vCPU blocks; or let it complete
   * on the core); default: `HypervisorConfig.trapWfi`. Hypervisors choose per vCPU: Linux's
   * kvm-arm.wfi_trap_policy, and KVM clears TWI for a vCPU alone on its run queue.
   */
  readonly trapWfi?: boolean;
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
  /** HCR_EL2.TWI: trap guest WFI (the vCPU blocks) or let it complete on the core; the default of `VmConfig.trapWfi`. */
  readonly trapWfi: boolean;
  /** Wait for GICR_VPENDBASER.Dirty = 0 after scheduling a vPE before entering the guest (as Linux does). */
  readonly waitDirtyOnEntry: boolean;
  /**
   * What serialises VMOVP (hypervisor/direct.ts): 'per-vm', one lock per VM (Linux since 6.12,
   * `vmapp_lock`), or 'global', one lock for the machine (Linux's `vmovp_lock` before it, which a
   * 2024 report from GICv4.1 servers found pinning host CPUs while vPEs of different VMs moved).
   * Either is held across the VMOVP and the wait for the ITS to execute it.
   */
  readonly vmovpLock: VmovpLock;
  /**
   * How long a guest runs with device interrupts held back (ICC_PMR_EL1) after an exit that met
   * an interrupt storm (run-loop.ts), in cycles of the core clock.
   */
  readonly stormQuantumCycles: number;
  /** Physical address of the hypervisor image (entry; per-core vectors follow). */
  readonly codePa: number;
  /** Physical memory the hypervisor owns for tables, queues and VPTs. */
  readonly heapPa: number;
  readonly heapSize: number;
  /** Cycles of EL2 bookkeeping charged per software action (scheduler decision, injection...). */
  readonly bookkeeping: BookkeepingCosts;
}

export type VmovpLock = 'global' | 'per-vm';

/** Cycles the hypervisor's own software spends on its bookkeeping (charged with `work`). */
export interface BookkeepingCosts {
  readonly inject: number;
  readonly schedule: number;
  readonly mmioEmulation: number;
  readonly hypercall: number;
}

export const DEFAULT_BOOKKEEPING: BookkeepingCosts = Object.freeze({ inject: 40, schedule: 150, mmioEmulation: 60, hypercall: 40 });

/** The first LPI INTID (IHI 0069H §2.2 "INTIDs"). */
export const FIRST_LPI = LPI_BASE;

/**
 * INTID bits of the GIC every guest sees (its emulated GICD_TYPER.IDbits + 1, and the vINTID
 * bits of each vPE's virtual pending table on the direct path): guest LPIs are 8192..65535.
 */
export const GUEST_INTID_BITS = 16;

/** Bits an ID field needs to hold `id` (at least 1: MAPD's Size field is bits - 1). */
export function idBitsFor(id: number): number {
  let bits = 1;
  while (2 ** bits <= id) bits++;
  return bits;
}

/** EventID bits the ITT of `d` needs: enough for its highest assigned EventID. */
export function eventBitsOf(d: AssignedDevice): number {
  return idBitsFor(d.events.reduce((a, e) => Math.max(a, e.eventId), 0));
}

/**
 * Refuses a configuration the GIC it describes cannot carry out, with an error naming the VM,
 * the device, the field and the limit. Without this, an ID beyond what the ITS advertises
 * makes it refuse the MAPD/MAPTI/VMAPP (a command error the driver steps over) and the
 * device's interrupts are silently never delivered; running out of host LPIs would write LPI
 * configuration bytes beyond the table.
 *
 * Limits, from `cfg.gic` (the GIC's description the hypervisor is given, from which the model
 * builds its ID registers):
 * - DeviceID < 2^Devbits+1 and EventID < 2^ID_bits+1 (GITS_TYPER): MAPD with Size > ID_bits is
 *   ITTSIZE_OOR, a DeviceID beyond the device table DEVICE_OOR (IHI 0069H §5.5 "ITS command
 *   error encodings"; names as in Linux include/linux/irqchip/arm-gic-v3.h);
 * - direct injection: VMAPP's VPT_size (guest INTID bits - 1) must not exceed ID_bits either
 *   (as QEMU checks);
 * - guest LPIs inside the guest's INTID space (8192..2^16 - 1) and targeting a vCPU of the VM;
 * - host LPIs (GICD_TYPER.IDbits): one per event on the injected path, one doorbell per vCPU
 *   on the direct path, allocated in that order (doorbells at construction, events at boot).
 * The vPE ID limit (GITS_TYPER / vpeIdBits) is checked where vPE IDs are allocated (direct.ts).
 * Every ID must also be assigned once: a DeviceID in two places would have its ITT replaced by
 * the second MAPD, an EventID mapped twice is UNPREDICTABLE (the ITS ignores the second MAPTI).
 */
export function checkConfig(cfg: HypervisorConfig): void {
  const g = cfg.gic;
  const its = g.its;
  const direct = (vc: VmConfig): boolean => vc.injection === 'direct' && g.version === 4;
  const owner = new Map<number, string>();
  for (const vc of cfg.vms) {
    const vm = `vm '${vc.name}'`;
    if (direct(vc) && its.eventIdBits < GUEST_INTID_BITS) {
      throw new Error(`${vm}: direct injection needs ${GUEST_INTID_BITS} ID bits for its vPEs' virtual pending tables (VMAPP VPT_size ${GUEST_INTID_BITS - 1}), the ITS supports ${its.eventIdBits} (GITS_TYPER.ID_bits = ${its.eventIdBits - 1})`);
    }
    for (const d of vc.devices) {
      const dev = `${vm}: device ${d.deviceId}`;
      if (!Number.isInteger(d.deviceId) || d.deviceId < 0) throw new Error(`${dev}: DeviceID must be a non-negative integer`);
      if (d.deviceId >= 2 ** its.deviceIdBits) {
        throw new Error(`${dev}: DeviceID ${d.deviceId} needs ${idBitsFor(d.deviceId)} ID bits, the ITS supports ${its.deviceIdBits} (GITS_TYPER.Devbits = ${its.deviceIdBits - 1})`);
      }
      const other = owner.get(d.deviceId);
      if (other !== undefined) throw new Error(`${dev}: DeviceID ${d.deviceId} is already assigned to ${other} (one device, one ITT)`);
      owner.set(d.deviceId, vm);
      const seen = new Set<number>();
      for (const e of d.events) {
        if (!Number.isInteger(e.eventId) || e.eventId < 0 || e.eventId >= 2 ** 32) throw new Error(`${dev}: EventID ${e.eventId} must be an integer from 0 to 2^32 - 1`);
        if (e.eventId >= 2 ** its.eventIdBits) {
          throw new Error(`${dev}: EventID ${e.eventId} needs ${idBitsFor(e.eventId)} ID bits, the ITS supports ${its.eventIdBits} (GITS_TYPER.ID_bits = ${its.eventIdBits - 1})`);
        }
        if (seen.has(e.eventId)) throw new Error(`${dev}: EventID ${e.eventId} is assigned twice`);
        seen.add(e.eventId);
        if (!Number.isInteger(e.vcpu) || e.vcpu < 0 || e.vcpu >= vc.vcpus) throw new Error(`${dev}: EventID ${e.eventId} targets vCPU ${e.vcpu}, but the VM has ${vc.vcpus} vCPU${vc.vcpus === 1 ? '' : 's'}`);
        if (!Number.isInteger(e.vintid) || e.vintid < FIRST_LPI || e.vintid >= 2 ** GUEST_INTID_BITS) {
          throw new Error(`${dev}: EventID ${e.eventId}: guest LPI ${e.vintid} is outside the guest's LPIs ${FIRST_LPI}..${2 ** GUEST_INTID_BITS - 1} (its GIC has ${GUEST_INTID_BITS} INTID bits, GICD_TYPER.IDbits = ${GUEST_INTID_BITS - 1})`);
        }
      }
    }
  }
  // Host LPIs, in the order the hypervisor allocates them.
  const limit = 2 ** g.idBits;
  const space = `the GIC supports ${g.idBits} INTID bits (GICD_TYPER.IDbits = ${g.idBits - 1}: LPIs ${FIRST_LPI}..${limit - 1}; one per event on the injected path, one doorbell per vCPU on the direct path)`;
  let next = FIRST_LPI;
  for (const vc of cfg.vms) {
    if (!direct(vc)) continue;
    if (next + vc.vcpus > limit) throw new Error(`vm '${vc.name}': vCPU ${limit - next}: its vPE doorbell needs host LPI ${limit}, ${space}`);
    next += vc.vcpus;
  }
  for (const vc of cfg.vms) {
    if (vc.injection === 'direct') continue;
    for (const d of vc.devices) {
      if (next + d.events.length > limit) throw new Error(`vm '${vc.name}': device ${d.deviceId}: EventID ${d.events[limit - next]!.eventId} needs host LPI ${limit}, ${space}`);
      next += d.events.length;
    }
  }
}
