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
import type { AccessAttrs } from '../core/bus.js';
import type { BookkeepingCosts, CostTable } from '../core/costs.js';
import { WiredLineDevice, type LineMode } from '../core/line-device.js';
import type { Machine } from '../core/machine.js';
import { MsiDevice, type MsiPattern, type RecordKeep } from '../core/msi-device.js';
import { createBoard } from '../gic/board.js';
import type { GicOverrides } from '../gic/config.js';
import type { Gic } from '../gic/gic.js';
import { KERNEL_READY_OFFSET, type Kernel, type KernelConfig, type KernelDevice, type KernelLpi } from '../guests/kernel.js';
import type { AssignedDevice, Injection, ResidencyPoint, VmovpLock, VptParseWait, WiredSpi } from '../hypervisor/config.js';
import { DEFAULT_BOOKKEEPING, FIRST_LPI, GUEST_INTID_BITS } from '../hypervisor/config.js';
import { Trace } from '../core/trace.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { GUEST_GICD, GUEST_GICR, GUEST_GITS, GUEST_RAM, GUEST_WIRED_FRAMES, HYP_REQUESTS, KVM_IRQ, REQUEST, REQUEST_KIND, REQUEST_PENDING, REQUEST_RING } from '../hypervisor/layout.js';
import { roundRobin } from '../hypervisor/sched/round-robin.js';
import type { Policy } from '../hypervisor/sched/policy.js';

export const HYP_CODE_PA = 0x4000_0000;
export const HYP_HEAP_PA = 0x4100_0000;
export const HYP_HEAP_SIZE = 0x0f00_0000;
export const VM_RAM_PA = 0x5000_0000;
/** The machine's RAM (the Machine default: 2 GiB at 0x4000_0000) ends here; VM RAM must fit below. */
export const VM_RAM_END = 0xc000_0000;
/** Physical addresses of wired devices' 4 KB register frames, the n-th device's at + 0x1000 * n (below RAM). */
export const WIRED_FRAMES_PA = 0x2000_0000;
/** The trace of the guests' own lock statistics: off (a guest's spin is counted, not traced). */
const SILENT = new Trace(false);
/** VM RAM is placed 2 MiB aligned: what a VM of `bytes` takes of the physical map. */
export function vmRamFootprint(bytes: number): number {
  return Math.ceil(bytes / 0x20_0000) * 0x20_0000;
}

/**
 * A device (MSI source) assigned to a VM. The hypervisor is told only that the VM owns host
 * DeviceID `deviceId` (and its EventIDs), and the DeviceID the guest knows it by; the guest's
 * kernel is told, in its configuration (its "device tree"), which guest LPI and vCPU each event
 * is for, and maps them itself through its ITS (guests/kernel.ts, hypervisor/vits/).
 */
export interface PlatformDevice {
  readonly deviceId: number;
  /** The DeviceID the guest knows it by (default: `deviceId`). */
  readonly guestDeviceId?: number;
  /** event n -> (vCPU, guest LPI, and the priority the guest configures for it, default the VM's). */
  readonly events: readonly { readonly eventId: number; readonly vcpu: number; readonly vintid: number; readonly priority?: number }[];
  /** The ITS the device is attached to (default 0): it writes its MSIs to that ITS's GITS_TRANSLATER. */
  readonly its?: number;
}

/**
 * Refuses a device tree the guest could not follow: an event for a vCPU the VM does not have, or
 * a guest LPI outside the guest's INTID space (its emulated GIC has GUEST_INTID_BITS INTID bits),
 * with an error naming the VM, the device and the limit.
 */
export function checkDeviceTree(vm: Pick<PlatformVm, 'name' | 'vcpus' | 'devices'>): void {
  for (const d of vm.devices ?? []) {
    const dev = `vm '${vm.name}': device ${d.deviceId}`;
    for (const e of d.events) {
      if (!Number.isInteger(e.vcpu) || e.vcpu < 0 || e.vcpu >= vm.vcpus) throw new Error(`${dev}: EventID ${e.eventId} targets vCPU ${e.vcpu}, but the VM has ${vm.vcpus} vCPU${vm.vcpus === 1 ? '' : 's'}`);
      if (!Number.isInteger(e.vintid) || e.vintid < FIRST_LPI || e.vintid >= 2 ** GUEST_INTID_BITS) {
        throw new Error(`${dev}: EventID ${e.eventId}: guest LPI ${e.vintid} is outside the guest's LPIs ${FIRST_LPI}..${2 ** GUEST_INTID_BITS - 1} (its GIC has ${GUEST_INTID_BITS} INTID bits, GICD_TYPER.IDbits = ${GUEST_INTID_BITS - 1})`);
      }
    }
  }
}

/**
 * A device with a wired interrupt line (core/line-device.ts) assigned to a VM: it drives host SPI
 * `hostSpi`, which the hypervisor forwards to the VM's vSPI `vintid` with the LR's HW bit. Its
 * register frame (STATUS, ACK, COUNT) is at physical WIRED_FRAMES_PA + 0x1000 * n (n counting
 * every VM's wired devices in order) and, in the VM, at GUEST_WIRED_FRAMES + 0x1000 * i (i: its
 * index in the VM's `wired`), mapped as a device page.
 */
export interface PlatformWired {
  readonly hostSpi: number;
  readonly vintid: number;
  /** 'level' (default): the line stays high until the guest writes the device's ACK register; 'edge': pulses. */
  readonly mode?: LineMode;
  /** Core the host SPI is routed to (default: the home core of the VM's vCPU 0). */
  readonly hostCore?: number;
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
  /** SPIs of the VM's emulated distributor (hypervisor/config.ts VmConfig.spis; default 0). */
  readonly spis?: number;
  /** Wired devices assigned to the VM. */
  readonly wired?: readonly PlatformWired[];
}

export interface PlatformOptions {
  readonly cores: number;
  readonly clockHz?: number;
  readonly seed?: number;
  readonly trace?: boolean;
  readonly costs?: Partial<CostTable>;
  /** The hypervisor's bookkeeping costs (a cost profile's; default DEFAULT_BOOKKEEPING). */
  readonly bookkeeping?: BookkeepingCosts;
  readonly gic?: GicOverrides;
  readonly policy?: Policy<any>;
  readonly sliceUs?: number;
  /** HCR_EL2.TWI for every VM that does not choose (PlatformVm.trapWfi); default true. */
  readonly trapWfi?: boolean;
  readonly waitDirtyOnEntry?: boolean;
  /** VMOVP serialisation (hypervisor/config.ts `vmovpLock`); default 'per-vm'. */
  readonly vmovpLock?: VmovpLock;
  /** Hypervisor choices (hypervisor/config.ts): where the VPT-parse wait is taken, when residency changes, KVM's opportunistic WFI trapping. */
  readonly vptParseWait?: VptParseWait;
  readonly residency?: ResidencyPoint;
  readonly opportunisticWfi?: boolean;
  /**
   * A VMM beside the machine that makes KVM-style requests (`irqLine`, `signalMsi`), carried out by
   * the hypervisor at EL2: the hypervisor then sets up its request SPI at boot (default false, so a
   * platform without one boots exactly as before).
   */
  readonly vmm?: boolean;
  /** The host SPI the VMM rings (default: the board's last SPI). */
  readonly requestSpi?: number;
  readonly vms: readonly PlatformVm[];
}

export interface Platform {
  readonly m: Machine;
  readonly gic: Gic;
  readonly hyp: Hypervisor;
  readonly kernels: Kernel[];
  /** Physical base of each VM's RAM. */
  readonly vmRamPa: number[];
  /** GITS_TRANSLATER of ITS 0, where devices write their MSIs. */
  readonly doorbell: number;
  /** GITS_TRANSLATER of each ITS, by number (gic.itsCount). */
  readonly doorbells: readonly number[];
  /** Per VM, its wired devices (PlatformVm.wired order). */
  readonly wired: readonly (readonly WiredLineDevice[])[];
}

/** Builds and boots (powers on core 0 at the hypervisor entry) a platform. */
export function buildPlatform(o: PlatformOptions): Platform {
  const { m, gic, config: gcfg, translater, translaters } = createBoard({ cores: o.cores, clockHz: o.clockHz ?? 2e9, seed: o.seed ?? 1, trace: o.trace ?? false, costs: o.costs, gic: o.gic });
  const kernels: Kernel[] = [];
  const vmRamPa: number[] = [];
  const wired: WiredLineDevice[][] = [];
  let framePa = WIRED_FRAMES_PA;
  let ramPa = VM_RAM_PA;
  // Made here, not in the per-VM function below: a closure made there would keep that function's
  // context alive with the kernel, and with it the VM's whole spec (about 56 bytes per event).
  const simNow = (): number => m.now;
  const vms = o.vms.map((spec) => {
    const size = (spec.ramMiB ?? 16) * 0x10_0000;
    const pa = ramPa;
    ramPa += vmRamFootprint(size);
    if (ramPa > VM_RAM_END) throw new Error(`${spec.name}: the VMs' RAM does not fit in the machine's (VM RAM spans 0x${VM_RAM_PA.toString(16)}..0x${VM_RAM_END.toString(16)})`);
    vmRamPa.push(pa);
    checkDeviceTree(spec);
    // The hypervisor's part: which host devices (and EventIDs) the VM owns, and their guest DeviceIDs.
    const devices: AssignedDevice[] = (spec.devices ?? []).map((d) => ({ deviceId: d.deviceId, guestDeviceId: d.guestDeviceId, events: d.events.map((e) => ({ eventId: e.eventId })), ...(d.its !== undefined ? { its: d.its } : {}) }));
    // The guest's part: its LPIs, and its devices behind its ITS with each event's LPI and CPU.
    const lpis: KernelLpi[] = [];
    const listed = new Set<number>();
    for (const d of spec.devices ?? []) {
      for (const e of d.events) {
        if (listed.has(e.vintid)) continue;
        listed.add(e.vintid);
        lpis.push({ intid: e.vintid, priority: e.priority ?? spec.lpiPriority ?? 0xa0 });
      }
    }
    const guestDevices: KernelDevice[] = (spec.devices ?? []).map((d) => ({ deviceId: d.guestDeviceId ?? d.deviceId, events: d.events.map((e) => ({ eventId: e.eventId, intid: e.vintid, cpu: e.vcpu })) }));
    const itsTree = guestDevices.length > 0 ? { its: GUEST_GITS, devices: guestDevices, env: { trace: SILENT, now: simNow } } : {};
    const k = spec.kernel({ name: spec.name, cpus: spec.vcpus, psci: 'hvc', gicd: GUEST_GICD, gicr: GUEST_GICR, ramBase: GUEST_RAM, ramSize: size, lpis, ...itsTree });
    k.install(m.code, pa);
    kernels.push(k);
    const lines: WiredLineDevice[] = [];
    const wiredSpis: WiredSpi[] = (spec.wired ?? []).map((w, i) => {
      const mode = w.mode ?? 'level';
      const frame = { pa: framePa, ipa: GUEST_WIRED_FRAMES + 0x1000 * i };
      framePa += 0x1000;
      lines.push(new WiredLineDevice(m, { name: `${spec.name}.wired${i}`, spi: w.hostSpi, mode, frame: frame.pa }));
      return { hostSpi: w.hostSpi, vintid: w.vintid, trigger: mode, hostCore: w.hostCore, frame };
    });
    wired.push(lines);
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
      spis: spec.spis,
      wired: wiredSpis,
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
      vptParseWait: o.vptParseWait ?? 'before-entry',
      residency: o.residency ?? 'load-put',
      opportunisticWfi: o.opportunisticWfi ?? false,
      requestSpi: o.vmm === true ? (o.requestSpi ?? 31 + gcfg.spis) : null,
      // A guest in an interrupt storm runs 5 us at a time between host interrupt bursts.
      stormQuantumCycles: Math.round((5 * m.clockHz) / 1e6),
      codePa: HYP_CODE_PA,
      heapPa: HYP_HEAP_PA,
      heapSize: HYP_HEAP_SIZE,
      bookkeeping: o.bookkeeping ?? DEFAULT_BOOKKEEPING,
    },
    o.cores,
    { trace: m.trace, now: () => m.now, el2Cycles: (core) => m.pes[core]!.counters.cyclesAt[2]! },
  );
  hyp.install(m.code);
  m.boot(HYP_CODE_PA);
  return { m, gic, hyp, kernels, vmRamPa, doorbell: translater, doorbells: translaters, wired };
}

/** An MSI device writing to the platform's ITS (`its`, default 0). */
export function addDevice(p: Platform, deviceId: number, events: readonly number[], pattern: MsiPattern, opts: { count?: number; start?: number; until?: number; record?: RecordKeep; its?: number } = {}): MsiDevice {
  const { its, ...rest } = opts;
  const doorbell = p.doorbells[its ?? 0];
  if (doorbell === undefined) throw new Error(`device ${deviceId}: its ${its} is not one of the machine's ITSs 0..${p.doorbells.length - 1}`);
  const d = new MsiDevice(p.m, { deviceId, doorbell, events, pattern, ...rest });
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

// ---------------------------------------------------------------- the VMM: host-side injection

/**
 * A request the VMM made (`irqLine`, `signalMsi`): its number in the request ring, to read its
 * result with `requestResult` once the hypervisor has carried it out.
 */
export interface HostRequest {
  readonly seq: number;
}

/** Bus attributes of the VMM's writes: a requester outside the machine's PEs, as a DMA master. */
const VMM: AccessAttrs = { requester: 'device', id: -1 };

/**
 * Writes a request into the hypervisor's request ring and rings the request SPI (a pulse of its
 * line), as a VMM's ioctl hands its argument to the kernel: the hypervisor carries it out at EL2
 * on the core the SPI is routed to (hypervisor/requests.ts), when the machine next runs. Several
 * requests made before it runs queue in the ring; a full ring (REQUEST_RING.SLOTS waiting) is an
 * error. A request made before the hypervisor has set up the request SPI (during its boot) waits
 * for the next one.
 */
function submit(p: Platform, kind: number, vm: number, a: number, b: number): HostRequest {
  const spi = p.hyp.cfg.requestSpi ?? null;
  if (spi === null) throw new Error('the platform has no VMM: build it with vmm: true');

  const bus = p.m.bus;
  const ring = p.hyp.cfg.codePa + HYP_REQUESTS;
  const head = bus.read32(ring + REQUEST_RING.HEAD, VMM);
  const tail = bus.read32(ring + REQUEST_RING.TAIL, VMM);
  if (((head - tail) >>> 0) >= REQUEST_RING.SLOTS) throw new Error(`the request ring is full (${REQUEST_RING.SLOTS} requests wait): run the machine so the hypervisor carries them out`);
  const slot = ring + REQUEST_RING.ENTRIES + (head % REQUEST_RING.SLOTS) * REQUEST_RING.SLOT;
  bus.write32(slot + REQUEST.KIND, kind, VMM);
  bus.write32(slot + REQUEST.VM, vm >>> 0, VMM);
  bus.write32(slot + REQUEST.A, a >>> 0, VMM);
  bus.write32(slot + REQUEST.B, b >>> 0, VMM);
  bus.write32(slot + REQUEST.RESULT, REQUEST_PENDING, VMM);
  bus.write32(ring + REQUEST_RING.HEAD, (head + 1) >>> 0, VMM);
  p.m.spi(spi, true);
  p.m.spi(spi, false);
  return { seq: head };
}

/**
 * KVM_IRQ_LINE on VM `vm`: the line of its SPI `intid` (32 and up), or of PPI `intid` (16-31) of
 * vCPU `vcpu`, raised (`level` true) or lowered. A level-sensitive interrupt follows the line; an
 * edge-triggered one takes a raise as an edge. The irq field is KVM's (type, vCPU, INTID).
 */
export function irqLine(p: Platform, vm: number, intid: number, level: boolean, vcpu = 0): HostRequest {
  const type = intid >= 32 ? KVM_IRQ.TYPE_SPI : KVM_IRQ.TYPE_PPI;
  const irq = (type << KVM_IRQ.TYPE_SHIFT) | ((type === KVM_IRQ.TYPE_PPI ? vcpu & KVM_IRQ.VCPU_MASK : 0) << KVM_IRQ.VCPU_SHIFT) | (intid & KVM_IRQ.NUM_MASK);
  return submit(p, REQUEST_KIND.IRQ_LINE, vm, irq >>> 0, level ? 1 : 0);
}

/** KVM_SIGNAL_MSI on VM `vm`: an MSI of its device `deviceId` (as the guest knows it) with data `eventId`. */
export function signalMsi(p: Platform, vm: number, deviceId: number, eventId: number): HostRequest {
  return submit(p, REQUEST_KIND.SIGNAL_MSI, vm, deviceId, eventId);
}

/**
 * The result of request `r` (the ioctl's return value: 0 or -EINVAL for KVM_IRQ_LINE; 1
 * delivered, 0 blocked, -EINVAL for KVM_SIGNAL_MSI), or null while the hypervisor has not carried
 * it out. Only the last REQUEST_RING.SLOTS requests' results are kept.
 */
export function requestResult(p: Platform, r: HostRequest): number | null {
  const bus = p.m.bus;
  const ring = p.hyp.cfg.codePa + HYP_REQUESTS;
  const head = bus.read32(ring + REQUEST_RING.HEAD, VMM);
  if (((head - r.seq) >>> 0) > REQUEST_RING.SLOTS) throw new Error(`request ${r.seq}: its ring slot has been reused (only the last ${REQUEST_RING.SLOTS} results are kept)`);
  const tail = bus.read32(ring + REQUEST_RING.TAIL, VMM);
  // Carried out once TAIL has passed it (modulo 2^32: TAIL - seq in 1 .. HEAD - seq).
  const past = (tail - r.seq) >>> 0;
  if (past === 0 || past > ((head - r.seq) >>> 0)) return null;
  return bus.read32(ring + REQUEST_RING.ENTRIES + (r.seq % REQUEST_RING.SLOTS) * REQUEST_RING.SLOT + REQUEST.RESULT, VMM) | 0;
}
