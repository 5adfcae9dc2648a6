/**
 * The hypervisor's static configuration, in the style of partitioning hypervisors such as bao:
 * the platform (scenarios/) loads each guest image into its VM's RAM before the hypervisor
 * boots, and this configuration tells the hypervisor where the RAM is, which host devices each
 * VM owns (and the DeviceID its guest knows each by), and how each VM receives their interrupts.
 * Which guest LPI and vCPU a device's event becomes is the guest's to say, with its own ITS
 * driver against the VM's emulated ITS (hypervisor/vits/), as a Linux guest does under KVM.
 */
import type { BookkeepingCosts } from '../core/costs.js';
import type { GicConfig } from '../gic/config.js';
import { LPI_BASE } from '../gic/gic-registers.js';
import { GUEST_GICD, GUEST_GICR, GUEST_GICR_STRIDE, GUEST_GITS, GUEST_GITS_SIZE } from './layout.js';
import type { Policy } from './sched/policy.js';

/** How a VM's device interrupts reach it: through list registers (GICv3) or directly (GICv4). */
export type Injection = 'list-register' | 'direct';

/** An EventID an assigned device can signal (one of its MSI vectors). */
export interface AssignedEvent {
  readonly eventId: number;
}

/**
 * A host device assigned to a VM: the VM owns host DeviceID `deviceId` and the EventIDs in
 * `events`. The hypervisor maps the host device on the physical ITS when it creates the VM (MAPD,
 * with an ITT for its highest EventID) and reserves one host LPI per event on the injected path
 * (as Linux allocates a device's LPIs when it creates its ITS device); an event reaches the guest
 * only once the guest maps it with its own ITS (MAPD/MAPTI of `guestDeviceId`).
 */
export interface AssignedDevice {
  /** The DeviceID the physical ITS knows the device by (its MSIs carry it). */
  readonly deviceId: number;
  /** The DeviceID the guest knows it by in its emulated ITS (default: `deviceId`). */
  readonly guestDeviceId?: number;
  readonly events: readonly AssignedEvent[];
  /** The ITS the device is attached to and writes its MSIs to (0 to gic.itsCount - 1; default 0). */
  readonly its?: number;
}

/**
 * A host device with a wired interrupt line, assigned to a VM as one of its vSPIs: the host SPI
 * is taken at EL2 and forwarded with the list register's HW bit (pINTID = the host SPI), so the
 * guest's deactivation deactivates it at the host distributor (hypervisor/spi-host.ts).
 */
export interface WiredSpi {
  /** The host SPI the device's line drives (the physical INTID, the LR's pINTID). */
  readonly hostSpi: number;
  /** The guest SPI it becomes (32 .. 32 + spis - 1 of the VM). */
  readonly vintid: number;
  /** How the device signals, and so how the host distributor is configured for it (GICD_ICFGR<n>). */
  readonly trigger: 'level' | 'edge';
  /** Core the host SPI is routed to (GICD_IROUTER<n>); default: the home core of the VM's vCPU 0. */
  readonly hostCore?: number;
  /** The device's 4 KB register frame, mapped into the VM's stage 2 as a device page at `ipa`. */
  readonly frame?: { readonly pa: number; readonly ipa: number };
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
  /**
   * SPIs the VM's emulated distributor offers: INTIDs 32 .. 32 + spis - 1, GICD_TYPER.ITLinesNumber
   * = ceil(spis / 32) (the rest of the last block of 32 is unimplemented: RAZ/WI), 0 to 988.
   * CHOICE: default 0, a VM gets SPIs only if its configuration asks (KVM gives 224 when the VMM
   * does not set KVM_DEV_ARM_VGIC_GRP_NR_IRQS: vgic-init.c, VGIC_NR_IRQS_LEGACY - 32).
   */
  readonly spis?: number;
  /** Host devices with a wired interrupt line assigned to the VM (each one of its vSPIs). */
  readonly wired?: readonly WiredSpi[];
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
   * Where that wait is taken (hypervisor/direct.ts): 'before-entry' (default, KVM's choice
   * today), at the last step before the ERET, overlapped with the rest of the entry path (Linux
   * 5.11+: vgic_v4_commit); 'at-schedule', as soon as the vPE is made resident
   * (its_vpe_schedule, Linux 5.7-5.10).
   */
  readonly vptParseWait?: VptParseWait;
  /**
   * When vPE residency changes: 'load-put' (default), when the vCPU is loaded on a core and put
   * (or blocks), as Linux since 5.5 ("Move the GICv4 residency flow to be driven by
   * vcpu_load/put", KVM's choice today); 'entry-exit', on every guest entry and exit (Linux before
   * it, whose commit message calls that wasteful).
   */
  readonly residency?: ResidencyPoint;
  /**
   * KVM's opportunistic WFI trapping (Linux 5.5, "Opportunistically turn off WFI trapping when
   * using direct LPI injection"; kvm_arch_vcpu_load): when a vCPU is loaded alone on its core and
   * has vLPIs mapped, HCR_EL2.TWI = 0 (its WFI completes on the core, woken by its vLPIs);
   * otherwise TWI = 1. Default false: TWI as `trapWfi` / `VmConfig.trapWfi` say (KVM does it always).
   */
  readonly opportunisticWfi?: boolean;
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
  /**
   * The host SPI the VMM rings when it has written requests (KVM_IRQ_LINE, KVM_SIGNAL_MSI) into
   * the request ring in the hypervisor image (hypervisor/requests.ts), or null/absent: no VMM.
   */
  readonly requestSpi?: number | null;
  /** Physical address of the hypervisor image (entry; per-core vectors follow). */
  readonly codePa: number;
  /** Physical memory the hypervisor owns for tables, queues and VPTs. */
  readonly heapPa: number;
  readonly heapSize: number;
  /** Cycles of EL2 bookkeeping charged per software action (scheduler decision, injection...). */
  readonly bookkeeping: BookkeepingCosts;
}

export type VmovpLock = 'global' | 'per-vm';
export type VptParseWait = 'at-schedule' | 'before-entry';
export type ResidencyPoint = 'load-put' | 'entry-exit';

/** Cycles the hypervisor's own software spends on its bookkeeping (charged with `work`); part of a cost profile (core/costs.ts). */
export type { BookkeepingCosts } from '../core/costs.js';
export { DEFAULT_BOOKKEEPING } from '../core/costs.js';

/** The first LPI INTID (IHI 0069H §2.2 "INTIDs"). */
export const FIRST_LPI = LPI_BASE;

/**
 * INTID bits of the GIC every guest sees (its emulated GICD_TYPER.IDbits + 1, and the vINTID
 * bits of each vPE's virtual pending table on the direct path): guest LPIs are 8192..65535.
 */
export const GUEST_INTID_BITS = 16;

/**
 * DeviceID bits of every VM's emulated ITS (its GITS_TYPER.Devbits + 1), as KVM's
 * (vgic-its.c, VITS_TYPER_DEVBITS): guest DeviceIDs are 0..65535.
 */
export const GUEST_DEVICE_ID_BITS = 16;

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
 * - a guest DeviceID the VM's emulated ITS can hold (GUEST_DEVICE_ID_BITS) and given once per VM;
 * - host LPIs (GICD_TYPER.IDbits): one per assigned event on the injected path, one doorbell per
 *   vCPU on the direct path, allocated in that order at construction (doorbells first). A guest
 *   can never take more: its mappings only use the LPIs reserved for its own devices.
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
      const itsN = d.its ?? 0;
      if (!Number.isInteger(itsN) || itsN < 0 || itsN >= g.itsCount) throw new Error(`${dev}: its ${itsN} is not one of the machine's ITSs 0..${g.itsCount - 1} (gic.itsCount = ${g.itsCount})`);
      const other = owner.get(d.deviceId);
      if (other !== undefined) throw new Error(`${dev}: DeviceID ${d.deviceId} is already assigned to ${other} (one device, one ITT)`);
      owner.set(d.deviceId, vm);
      const gid = d.guestDeviceId ?? d.deviceId;
      if (!Number.isInteger(gid) || gid < 0 || gid >= 2 ** GUEST_DEVICE_ID_BITS) {
        throw new Error(`${dev}: guest DeviceID ${gid} is outside the guest ITS's DeviceIDs 0..${2 ** GUEST_DEVICE_ID_BITS - 1} (GITS_TYPER.Devbits = ${GUEST_DEVICE_ID_BITS - 1})`);
      }
      const twin = vc.devices.find((o) => o !== d && (o.guestDeviceId ?? o.deviceId) === gid);
      if (twin !== undefined) throw new Error(`${dev}: guest DeviceID ${gid} is also device ${twin.deviceId}'s: the guest would not tell them apart`);
      const seen = new Set<number>();
      for (const e of d.events) {
        if (!Number.isInteger(e.eventId) || e.eventId < 0 || e.eventId >= 2 ** 32) throw new Error(`${dev}: EventID ${e.eventId} must be an integer from 0 to 2^32 - 1`);
        if (e.eventId >= 2 ** its.eventIdBits) {
          throw new Error(`${dev}: EventID ${e.eventId} needs ${idBitsFor(e.eventId)} ID bits, the ITS supports ${its.eventIdBits} (GITS_TYPER.ID_bits = ${its.eventIdBits - 1})`);
        }
        if (seen.has(e.eventId)) throw new Error(`${dev}: EventID ${e.eventId} is assigned twice`);
        seen.add(e.eventId);
      }
    }
  }
  checkSpis(cfg);
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

/** The most SPIs a GIC has: INTIDs 32-1019 (IHI 0069, GICD_TYPER.ITLinesNumber; 1020-1023 are special). */
export const MAX_SPIS = 988;

/**
 * SPIs: each VM's count (0-988), its wired devices (a host SPI the board has, given to one VM
 * once, not the VMM's request SPI; a guest SPI the VM has, used once) and the request SPI.
 */
function checkSpis(cfg: HypervisorConfig): void {
  const hostSpis = cfg.gic.spis;
  const hostRange = `the host GIC has SPIs 32..${31 + hostSpis} (gic.spis = ${hostSpis})`;
  const req = cfg.requestSpi ?? null;
  if (req !== null && (!Number.isInteger(req) || req < 32 || req >= 32 + hostSpis)) throw new Error(`requestSpi ${req} is not a host SPI: ${hostRange}`);
  const owner = new Map<number, string>();
  for (const vc of cfg.vms) {
    const vm = `vm '${vc.name}'`;
    const n = vc.spis ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > MAX_SPIS) throw new Error(`${vm}: spis must be an integer from 0 to ${MAX_SPIS} (INTIDs 32-1019), got ${n}`);
    const seen = new Set<number>();
    for (const w of vc.wired ?? []) {
      const dev = `${vm}: wired device on host SPI ${w.hostSpi}`;
      if (!Number.isInteger(w.hostSpi) || w.hostSpi < 32 || w.hostSpi >= 32 + hostSpis) throw new Error(`${dev}: not a host SPI: ${hostRange}`);
      if (w.hostSpi === req) throw new Error(`${dev}: host SPI ${w.hostSpi} is the VMM's request SPI (requestSpi)`);
      const other = owner.get(w.hostSpi);
      if (other !== undefined) throw new Error(`${dev}: host SPI ${w.hostSpi} is already assigned to ${other} (one line, one owner)`);
      owner.set(w.hostSpi, vm);
      if (!Number.isInteger(w.vintid) || w.vintid < 32 || w.vintid >= 32 + n) throw new Error(`${dev}: guest SPI ${w.vintid} is not one of the VM's SPIs 32..${31 + n} (spis = ${n})`);
      if (seen.has(w.vintid)) throw new Error(`${dev}: guest SPI ${w.vintid} is already wired to another device`);
      seen.add(w.vintid);
      if (w.trigger !== 'level' && w.trigger !== 'edge') throw new Error(`${dev}: trigger must be 'level' or 'edge', got ${JSON.stringify(w.trigger)}`);
      if (w.frame !== undefined) {
        const { pa, ipa } = w.frame;
        if (pa % 4096 !== 0 || ipa % 4096 !== 0) throw new Error(`${dev}: its register frame must be 4 KB aligned (pa 0x${pa.toString(16)}, ipa 0x${ipa.toString(16)})`);
        const inRam = ipa + 4096 > vc.ramIpa && ipa < vc.ramIpa + vc.ramSize;
        const inGic =
          (ipa + 4096 > GUEST_GICD && ipa < GUEST_GICD + 0x10000) ||
          (ipa + 4096 > GUEST_GITS && ipa < GUEST_GITS + GUEST_GITS_SIZE) ||
          (ipa + 4096 > GUEST_GICR && ipa < GUEST_GICR + GUEST_GICR_STRIDE * vc.vcpus);
        if (inRam || inGic) throw new Error(`${dev}: its register frame at IPA 0x${ipa.toString(16)} overlaps the VM's ${inRam ? 'RAM' : 'GIC'}`);
      }
    }
  }
}
