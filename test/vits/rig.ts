/**
 * The rig of the emulated-ITS tests: one guest kernel (the framework's, with its own ITS driver)
 * whose CPU 0 runs a script of steps, on three machines with the same guest code:
 * - 'injected' / 'direct': inside a VM of the shipped hypervisor (scenarios/platform.ts), its
 *   devices' events mapped by the guest through the VM's emulated ITS and forwarded;
 * - 'bare': on bare metal at EL1 against the physical ITS (the kernel's DeviceIDs are then the
 *   devices' own).
 *
 * Host and guest meet at a mailbox in the guest's RAM, as the KVM selftests' ucall and the
 * platform's readiness word do: the test writes the number of the step it wants run, CPU 0
 * runs the steps up to it and writes back the number done. Between steps the test sends the
 * devices' MSIs (`MsiDevice.msi`) and runs the machine. Every handled interrupt is logged by
 * the guest (INTID, CPU); what the guest observed in a step goes into `notes`.
 */
import { HCR_RW } from '../../core/hcr.js';
import type { Machine } from '../../core/machine.js';
import { MsiDevice } from '../../core/msi-device.js';
import { eret, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2 } from '../../core/sysregs.js';
import { CNTVCT_EL0 } from '../../core/timer.js';
import { createBoard } from '../../gic/board.js';
import type { Gic } from '../../gic/gic.js';
import { idleLoop, KERNEL_READY_OFFSET, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { deviceKernel, DeviceKernel } from '../../guests/samples.js';
import type { Hypervisor } from '../../hypervisor/hypervisor.js';
import type { VirtualIts } from '../../hypervisor/vits/vits.js';
import { bootGuests, buildPlatform, type PlatformDevice, type PlatformVm } from '../../scenarios/platform.js';

export type Path = 'injected' | 'direct' | 'bare';
export const VM_PATHS = ['injected', 'direct'] as const;
export const ALL_PATHS = ['injected', 'direct', 'bare'] as const;

/** Offsets in the guest's RAM of the mailbox words: the step wanted, the step done. */
const MAILBOX_REQUEST = 0x300;
const MAILBOX_DONE = 0x304;
const KBASE = 0x4000_0000;
const RAM = 0x100_0000;

export type Step = (k: ScriptKernel, cpu: KernelCpu) => Program;

/** A device kernel (every LPI it configures is logged when handled) whose CPU 0 runs `steps`. */
export class ScriptKernel extends DeviceKernel {
  /** What the steps observed, by name. */
  readonly notes: Record<string, unknown> = {};

  constructor(
    cfg: KernelConfig,
    readonly steps: readonly Step[],
  ) {
    super(cfg);
    const k = this;
    for (const l of cfg.lpis ?? []) {
      this.onIrq(l.intid, function* (cpu: KernelCpu, intid: number): Program {
        const t: number = yield mrs(CNTVCT_EL0, 1);
        k.log.push(intid, cpu.index, t);
        yield work(200);
      });
    }
    const base = cfg.ramBase;
    this.main = function* (cpu: KernelCpu): Program {
      if (cpu.index !== 0) return yield* idleLoop();
      for (let i = 0; i < steps.length; i++) {
        for (;;) {
          const want: number = yield ldr(base + MAILBOX_REQUEST, 4, 1);
          if (want > i) break;
          yield work(2000);
        }
        yield* steps[i]!(k, cpu);
        yield str(base + MAILBOX_DONE, i + 1, 4, 1);
      }
      yield* idleLoop();
    };
  }

  /** How many times `intid` was handled, and on which CPUs. */
  handled(intid: number): number[] {
    const cpus: number[] = [];
    for (let i = 0; i < this.log.length; i++) if (this.log.intid[i] === intid) cpus.push(this.log.cpu[i]!);
    return cpus;
  }

  /** Waits (polling, bounded) until `n` interrupts have been logged in all. */
  *waitLogged(n: number, polls = 200): Program<boolean> {
    for (let i = 0; i < polls && this.log.length < n; i++) yield work(2000);
    return this.log.length >= n;
  }
}

export interface RigDevice extends PlatformDevice {
  /** The DeviceID the guest knows the device by; on bare metal it is `deviceId`. */
  readonly guestDeviceId: number;
}

export interface RigOptions {
  readonly cpus?: number;
  readonly devices: readonly RigDevice[];
  readonly steps: readonly Step[];
  /** Another VM with its own device (VM paths): `other` (host DeviceID 90, LPI 8224 to its CPU 0). */
  readonly neighbour?: boolean;
  readonly trace?: boolean;
  /** HCR_EL2.TWI (VM paths; default true). */
  readonly trapWfi?: boolean;
}

export interface Rig {
  readonly path: Path;
  readonly m: Machine;
  readonly gic: Gic;
  readonly kernel: ScriptKernel;
  /** The guest's devices by host DeviceID (their MSIs carry it). */
  readonly devices: ReadonlyMap<number, MsiDevice>;
  /** The hypervisor and the guest VM's emulated ITS (VM paths). */
  readonly hyp: Hypervisor | null;
  readonly vits: VirtualIts | null;
  /** The neighbour VM's kernel and device (VM paths with `neighbour`). */
  readonly other: { kernel: DeviceKernel; device: MsiDevice } | null;
  readonly mailbox: number;
  /** Guest DeviceID of host device `hostId` (what the guest's commands name). */
  guestId(hostId: number): number;
}

/** Builds and boots the rig on `path` (throws if the guest does not come up). */
export function rig(path: Path, o: RigOptions): Rig {
  const cpus = o.cpus ?? 4;
  const guestId = (hostId: number): number => (path === 'bare' ? hostId : (o.devices.find((d) => d.deviceId === hostId)?.guestDeviceId ?? hostId));
  let kernel!: ScriptKernel;
  if (path === 'bare') {
    const { m, gic, config, translater } = createBoard({ cores: cpus, trace: o.trace ?? false, gic: { version: 4 } });
    const lpis = o.devices.flatMap((d) => d.events.map((e) => ({ intid: e.vintid, priority: e.priority ?? 0xa0 })));
    const kcfg: KernelConfig = {
      name: 'bare', cpus, psci: 'smc', gicd: config.gicdBase, gicr: config.gicrBase, ramBase: KBASE, ramSize: RAM, lpis,
      its: config.itsBase,
      devices: o.devices.map((d) => ({ deviceId: d.deviceId, events: d.events.map((e) => ({ eventId: e.eventId, intid: e.vintid, cpu: e.vcpu })) })),
      env: { trace: m.trace, now: () => m.now },
    };
    kernel = new ScriptKernel(kcfg, o.steps);
    kernel.install(m.code, KBASE);
    // A firmware stub at EL2 drops to the kernel at EL1 (HCR_EL2.IMO = 0: bare metal).
    m.code.install(0x7000_0000, function* (): Program {
      yield msr(HCR_EL2, HCR_RW);
      yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
      yield msr(ELR_EL2, KBASE);
      yield eret();
    });
    m.boot(0x7000_0000);
    for (let i = 0; i < 400 && m.bus.memory.read32(KBASE + KERNEL_READY_OFFSET) < cpus; i++) m.runFor(20_000);
    if (m.bus.memory.read32(KBASE + KERNEL_READY_OFFSET) < cpus) throw new Error('bare-metal kernel did not boot');
    const devices = new Map(o.devices.map((d) => [d.deviceId, new MsiDevice(m, { deviceId: d.deviceId, doorbell: translater })] as const));
    return { path, m, gic, kernel, devices, hyp: null, vits: null, other: null, mailbox: KBASE, guestId };
  }
  const vms: PlatformVm[] = [
    { name: 'guest', vcpus: cpus, injection: path === 'direct' ? 'direct' : 'list-register', pinned: Array.from({ length: cpus }, (_, i) => i), kernel: (c) => (kernel = new ScriptKernel(c, o.steps)), devices: o.devices },
  ];
  let otherKernel: DeviceKernel | null = null;
  if (o.neighbour === true) {
    vms.push({ name: 'other', vcpus: 1, injection: path === 'direct' ? 'direct' : 'list-register', pinned: [cpus - 1], kernel: (c) => (otherKernel = deviceKernel(c)), devices: [{ deviceId: 90, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] });
  }
  const p = buildPlatform({ cores: cpus, trace: o.trace ?? false, trapWfi: o.trapWfi, gic: { version: 4 }, vms });
  bootGuests(p);
  const devices = new Map(o.devices.map((d) => [d.deviceId, new MsiDevice(p.m, { deviceId: d.deviceId, doorbell: p.doorbell })] as const));
  const other = otherKernel === null ? null : { kernel: otherKernel as DeviceKernel, device: new MsiDevice(p.m, { deviceId: 90, doorbell: p.doorbell }) };
  return { path, m: p.m, gic: p.gic, kernel, devices, hyp: p.hyp, vits: p.hyp.vits[0]!, other, mailbox: p.vmRamPa[0]!, guestId };
}

/** Runs guest steps up to `n` (1-based) and returns once CPU 0 says they are done (bounded). */
export function step(r: Rig, n: number): void {
  r.m.bus.memory.write32(r.mailbox + MAILBOX_REQUEST, n);
  for (let i = 0; i < 2000 && r.m.bus.memory.read32(r.mailbox + MAILBOX_DONE) < n; i++) r.m.runFor(10_000);
  const done = r.m.bus.memory.read32(r.mailbox + MAILBOX_DONE);
  if (done < n) throw new Error(`${r.path}: the guest did not finish step ${n} (done ${done})`);
}

/** Runs the machine for `us` microseconds of simulated time. */
export function settle(r: Rig, us = 200): void {
  r.m.runFor(r.m.usToCycles(us));
}

/** Two devices of four events each, over CPUs 0-3 (event e to CPU e % 4): host DeviceIDs 10 and 11, known to a VM's guest as 3 and 4. */
export const TWO_DEVICES: readonly RigDevice[] = [
  { deviceId: 10, guestDeviceId: 3, events: [0, 1, 2, 3].map((e) => ({ eventId: e, vcpu: e % 4, vintid: 8224 + e })) },
  { deviceId: 11, guestDeviceId: 4, events: [0, 1, 2, 3].map((e) => ({ eventId: e, vcpu: e % 4, vintid: 8240 + e })) },
];
