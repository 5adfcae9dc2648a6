/**
 * The platform: builds a whole machine — PEs and the GIC (gic/board.ts `createBoard`), the
 * hypervisor image, each VM's guest kernel image loaded into the VM's RAM, MSI devices — as
 * firmware and a board would, and boots the hypervisor at EL2 on core 0. This is the one place
 * that wires every layer together.
 *
 * Physical map: RAM from 0x4000_0000; the hypervisor image at 0x4000_0000, its heap from
 * 0x4100_0000 (240 MiB), VM RAM from 0x5000_0000 (2 MiB aligned); GIC at its configured
 * addresses (gic/config.ts).
 */
import type { CostTable } from '../core/costs.js';
import type { Machine } from '../core/machine.js';
import { MsiDevice, type MsiPattern, type RecordKeep } from '../core/msi-device.js';
import { createBoard } from '../gic/board.js';
import type { GicOverrides } from '../gic/config.js';
import type { Gic } from '../gic/gic.js';
import { KERNEL_READY_OFFSET, type Kernel, type KernelConfig, type KernelLpi } from '../guests/kernel.js';
import type { AssignedDevice, Injection, VmovpLock } from '../hypervisor/config.js';
import { DEFAULT_BOOKKEEPING } from '../hypervisor/config.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { GUEST_GICD, GUEST_GICR, GUEST_RAM } from '../hypervisor/layout.js';
import { roundRobin } from '../hypervisor/sched/round-robin.js';
import type { Policy } from '../hypervisor/sched/policy.js';

export const HYP_CODE_PA = 0x4000_0000;
export const HYP_HEAP_PA = 0x4100_0000;
export const HYP_HEAP_SIZE = 0x0f00_0000;
export const VM_RAM_PA = 0x5000_0000;
/** The machine's RAM (the Machine default: 2 GiB at 0x4000_0000) ends here; VM RAM must fit below. */
export const VM_RAM_END = 0xc000_0000;
/** VM RAM is placed 2 MiB aligned: what a VM of `bytes` takes of the physical map. */
export function vmRamFootprint(bytes: number): number {
  return Math.ceil(bytes / 0x20_0000) * 0x20_0000;
}

export interface PlatformDevice {
  readonly deviceId: number;
  /** event n -> (vCPU, guest LPI, and the priority the guest configures for it, default the VM's). */
  readonly events: readonly { readonly eventId: number; readonly vcpu: number; readonly vintid: number; readonly priority?: number }[];
}

export interface PlatformVm {
  readonly name: string;
  readonly vcpus: number;
  /** Builds the VM's kernel from the configuration the platform gives it. */
  readonly kernel: (cfg: KernelConfig) => Kernel;
  readonly injection?: Injection;
  readonly devices?: readonly PlatformDevice[];
  readonly priority?: number;
  readonly pinned?: readonly (number | null)[];
  readonly ramMiB?: number;
  /** Guest LPI priority the kernel configures (default 0xa0). */
  readonly lpiPriority?: number;
  /** HCR_EL2.TWI for this VM's vCPUs (trap guest WFI); default: the platform's `trapWfi`. */
  readonly trapWfi?: boolean;
}

export interface PlatformOptions {
  readonly cores: number;
  readonly clockHz?: number;
  readonly seed?: number;
  readonly trace?: boolean;
  readonly costs?: Partial<CostTable>;
  readonly gic?: GicOverrides;
  readonly policy?: Policy<any>;
  readonly sliceUs?: number;
  /** HCR_EL2.TWI for every VM that does not choose (PlatformVm.trapWfi); default true. */
  readonly trapWfi?: boolean;
  readonly waitDirtyOnEntry?: boolean;
  /** VMOVP serialisation (hypervisor/config.ts `vmovpLock`); default 'per-vm'. */
  readonly vmovpLock?: VmovpLock;
  readonly vms: readonly PlatformVm[];
}

export interface Platform {
  readonly m: Machine;
  readonly gic: Gic;
  readonly hyp: Hypervisor;
  readonly kernels: Kernel[];
  /** Physical base of each VM's RAM. */
  readonly vmRamPa: number[];
  /** GITS_TRANSLATER, where devices write their MSIs. */
  readonly doorbell: number;
}

/** Builds and boots (powers on core 0 at the hypervisor entry) a platform. */
export function buildPlatform(o: PlatformOptions): Platform {
  const { m, gic, config: gcfg, translater } = createBoard({ cores: o.cores, clockHz: o.clockHz ?? 2e9, seed: o.seed ?? 1, trace: o.trace ?? false, costs: o.costs, gic: o.gic });
  const kernels: Kernel[] = [];
  const vmRamPa: number[] = [];
  let ramPa = VM_RAM_PA;
  const vms = o.vms.map((spec) => {
    const size = (spec.ramMiB ?? 16) * 0x10_0000;
    const pa = ramPa;
    ramPa += vmRamFootprint(size);
    if (ramPa > VM_RAM_END) throw new Error(`${spec.name}: the VMs' RAM does not fit in the machine's (VM RAM spans 0x${VM_RAM_PA.toString(16)}..0x${VM_RAM_END.toString(16)})`);
    vmRamPa.push(pa);
    const devices: AssignedDevice[] = (spec.devices ?? []).map((d) => ({ deviceId: d.deviceId, events: d.events.map((e) => ({ eventId: e.eventId, vcpu: e.vcpu, vintid: e.vintid })) }));
    const lpis: KernelLpi[] = [];
    for (const d of spec.devices ?? []) for (const e of d.events) if (!lpis.some((l) => l.intid === e.vintid)) lpis.push({ intid: e.vintid, priority: e.priority ?? spec.lpiPriority ?? 0xa0 });
    const k = spec.kernel({ name: spec.name, cpus: spec.vcpus, psci: 'hvc', gicd: GUEST_GICD, gicr: GUEST_GICR, ramBase: GUEST_RAM, ramSize: size, lpis });
    k.install(m.code, pa);
    kernels.push(k);
    return {
      name: spec.name,
      vcpus: spec.vcpus,
      ramIpa: GUEST_RAM,
      ramPa: pa,
      ramSize: size,
      entry: k.entry,
      injection: spec.injection ?? 'list-register',
      devices,
      priority: spec.priority ?? 0,
      pinned: spec.pinned ?? null,
      trapWfi: spec.trapWfi,
    };
  });
  const hyp = new Hypervisor(
    {
      gic: gcfg,
      vms,
      policy: o.policy ?? roundRobin,
      sliceCycles: Math.round(((o.sliceUs ?? 1000) * m.clockHz) / 1e6),
      cyclesPerTick: m.clockHz / m.cntfrq,
      trapWfi: o.trapWfi ?? true,
      waitDirtyOnEntry: o.waitDirtyOnEntry ?? true,
      vmovpLock: o.vmovpLock ?? 'per-vm',
      // A guest in an interrupt storm runs 5 us at a time between host interrupt bursts.
      stormQuantumCycles: Math.round((5 * m.clockHz) / 1e6),
      codePa: HYP_CODE_PA,
      heapPa: HYP_HEAP_PA,
      heapSize: HYP_HEAP_SIZE,
      bookkeeping: DEFAULT_BOOKKEEPING,
    },
    o.cores,
    { trace: m.trace, now: () => m.now },
  );
  hyp.install(m.code);
  m.boot(HYP_CODE_PA);
  return { m, gic, hyp, kernels, vmRamPa, doorbell: translater };
}

/** An MSI device writing to the platform's ITS. */
export function addDevice(p: Platform, deviceId: number, events: readonly number[], pattern: MsiPattern, opts: { count?: number; start?: number; until?: number; record?: RecordKeep } = {}): MsiDevice {
  const d = new MsiDevice(p.m, { deviceId, doorbell: p.doorbell, events, pattern, ...opts });
  return d;
}

/**
 * Whether VM `vm`'s guest has said it is ready: every one of its CPUs has added itself to the
 * readiness word in the guest's RAM (guests/kernel.ts `KERNEL_READY_OFFSET`), which the
 * platform reads as firmware would read a mailbox.
 */
export function guestReady(p: Platform, vm: number): boolean {
  const ready = p.m.bus.memory.read32(p.vmRamPa[vm]! + KERNEL_READY_OFFSET);
  return ready >= p.kernels[vm]!.config.cpus;
}

/** How long `runUntilGuestsReady` waits by default: simulated us from the call. */
export const GUEST_BOOT_LIMIT_US = 20_000;
/** How often `runUntilGuestsReady` looks at the readiness words by default (simulated us). */
export const GUEST_READY_POLL_US = 5;

export interface GuestWaitOptions {
  /** The VMs to wait for (indices into the platform's VMs), in the order `onReady` hears of them; default all. */
  readonly vms?: readonly number[];
  /** Longest wait, in simulated us from the call (default `GUEST_BOOT_LIMIT_US`). */
  readonly limitUs?: number;
  /** Poll step, simulated us (default `GUEST_READY_POLL_US`). */
  readonly pollUs?: number;
  /**
   * Called once for each VM when it is first seen ready, with the machine stopped at the end of
   * that poll step (`p.m.now`); VMs seen ready at the same step come in `vms` order.
   */
  readonly onReady?: (vm: number) => void;
}

export interface GuestWait {
  /** Whether every VM waited for said it was ready. */
  readonly ready: boolean;
  /** The VMs that had not said so when the wait ended (the limit, or a halted machine), in `vms` order. */
  readonly notReady: number[];
  /** Simulated time (cycles) when the wait ended: the poll step at which the last VM was seen ready, or the limit. */
  readonly at: number;
}

/**
 * Runs the machine in steps of `pollUs` until every VM in `vms` has said its guest is ready
 * (`guestReady`), the limit passes or the machine halts, calling `onReady` for each VM as it is
 * seen ready; a VM already ready at the call counts at once, without running. Time stops at a
 * step boundary: after it, `p.m.now` is `at`. The one boot wait of the platform's users (the
 * scenario runner starts each VM's devices from `onReady`; tests use `bootGuests`).
 */
export function runUntilGuestsReady(p: Platform, o: GuestWaitOptions = {}): GuestWait {
  const m = p.m;
  const waiting = [...(o.vms ?? p.kernels.map((_, vm) => vm))];
  const step = m.usToCycles(o.pollUs ?? GUEST_READY_POLL_US);
  if (!(step > 0)) throw new Error(`runUntilGuestsReady: pollUs must be positive, got ${o.pollUs}`);
  const end = m.now + m.usToCycles(o.limitUs ?? GUEST_BOOT_LIMIT_US);
  const look = (): void => {
    for (const vm of [...waiting]) {
      if (!guestReady(p, vm)) continue;
      waiting.splice(waiting.indexOf(vm), 1);
      o.onReady?.(vm);
    }
  };
  look();
  while (waiting.length > 0 && m.now < end) {
    if (m.run(Math.min(m.now + step, end)) === 'halted') break;
    look();
  }
  return { ready: waiting.length === 0, notReady: waiting, at: m.now };
}

/**
 * Boots the platform's guests for a test: `runUntilGuestsReady` over every VM (or `o.vms`), and
 * an Error naming each VM whose guest did not say it was ready, with how many of its CPUs did.
 */
export function bootGuests(p: Platform, o: Omit<GuestWaitOptions, 'onReady'> = {}): GuestWait {
  const r = runUntilGuestsReady(p, o);
  if (!r.ready) {
    const names = r.notReady.map((vm) => {
      const up = p.m.bus.memory.read32(p.vmRamPa[vm]! + KERNEL_READY_OFFSET);
      return `vm '${p.kernels[vm]!.config.name}' (${up} of ${p.kernels[vm]!.config.cpus} CPUs up)`;
    });
    const why = p.m.isHalted ? `before the machine halted (${p.m.haltReason})` : `within ${o.limitUs ?? GUEST_BOOT_LIMIT_US} us`;
    throw new Error(`guest kernel not ready ${why}: ${names.join(', ')}`);
  }
  return r;
}
