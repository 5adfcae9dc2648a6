/**
 * The interrupt-latency test of the static-partitioning hypervisor studies (Martins & Pinto,
 * RTAS 2023, guests/irqlat of their artifact): one interrupt at a time to a guest that is busy
 * (it runs code, never WFI), its latency from the interrupt's cause to the guest's handler, the
 * mean of 50 samples after 10 warm-ups, alone and with memory interference (interference.ts).
 *
 * CHOICE: the interrupt is a device MSI (an event of an assigned device), not the papers'
 * virtual-timer PPI, so that the same interrupt can reach the guest on all three paths: bare
 * metal at EL1 (the physical LPI, no hypervisor), injected (a host LPI taken at EL2, put in a
 * list register) and direct (a GICv4 vLPI of the resident vPE). The latency runs from the
 * device's write to GITS_TRANSLATER to the first instruction of the guest's handler, where it
 * reads CNTVCT_EL0 (as the papers' handler does first thing), after the framework's vector has
 * saved the registers and read ICC_IAR1_EL1.
 */
import { costProfile, type CostProfile } from '../../core/costs.js';
import { HCR_RW } from '../../core/hcr.js';
import type { Machine } from '../../core/machine.js';
import { MsiDevice } from '../../core/msi-device.js';
import { eret, msr, work, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2 } from '../../core/sysregs.js';
import { createBoard } from '../../gic/board.js';
import { KERNEL_READY_OFFSET, type KernelConfig } from '../../guests/kernel.js';
import { deviceKernel, type DeviceKernel } from '../../guests/samples.js';
import { bootGuests, buildPlatform } from '../platform.js';
import { INTERFERENCE, withColdPath } from './interference.js';
import { clockOf, type HypervisorChoices } from './kvm-unit-tests.js';

export type LatencyPath = 'bare' | 'injected' | 'direct';
export const LATENCY_PATHS: readonly LatencyPath[] = ['bare', 'injected', 'direct'];

export interface LatencyOptions {
  /**
   * What the guest does between interrupts: 'busy' (default: it runs code, as the papers' guest)
   * or 'idle' (WFI, trapped: the vCPU blocks, and on the direct path its vPE leaves the
   * redistributor and a doorbell wakes it: the GICv4 doorbell wake-up).
   */
  readonly guest?: 'busy' | 'idle';
  readonly samples?: number;
  readonly warmups?: number;
  /** Hypervisor choices (VM paths). */
  readonly platform?: HypervisorChoices;
  readonly seed?: number;
}

const LPI = 8224;
const DEVICE_ID = 1;
const KBASE = 0x4000_0000;
const KRAM = 0x100_0000;
const STUB = 0x7000_0000;

/** A device kernel whose CPU 0 stays busy (the papers' guest runs its main loop, never WFI). */
function busy(cfg: KernelConfig): DeviceKernel {
  const k = deviceKernel(cfg, { handlerCycles: 100 });
  k.main = function* (): Program {
    for (;;) yield work(1_000_000);
  };
  return k;
}

interface Rig {
  readonly m: Machine;
  readonly k: DeviceKernel;
  readonly dev: MsiDevice;
}

function rigFor(p: CostProfile, path: LatencyPath, interference: boolean, seed: number, idle: boolean, choices: HypervisorChoices = {}): Rig {
  const guest = (cfg: KernelConfig): DeviceKernel => (idle ? deviceKernel(cfg, { handlerCycles: 100 }) : busy(cfg));
  const costs = withColdPath(p.costs, INTERFERENCE[p.name] ?? INTERFERENCE.default!, interference);
  const gic = { version: 4 as const, listRegs: p.machine?.listRegs ?? 4 };
  if (path === 'bare') {
    const { m, config, translater } = createBoard({ cores: 1, clockHz: clockOf(p), seed, costs, gic });
    const k = guest({
      name: 'irqlat', cpus: 1, psci: 'smc', gicd: config.gicdBase, gicr: config.gicrBase, ramBase: KBASE, ramSize: KRAM,
      lpis: [{ intid: LPI, priority: 0xa0 }], its: config.itsBase,
      devices: [{ deviceId: DEVICE_ID, events: [{ eventId: 0, intid: LPI, cpu: 0 }] }],
    });
    k.install(m.code, KBASE);
    // Firmware at EL2 drops to the kernel at EL1 (HCR_EL2.IMO = 0: bare metal).
    m.code.install(STUB, function* (): Program {
      yield msr(HCR_EL2, HCR_RW);
      yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
      yield msr(ELR_EL2, KBASE);
      yield eret();
    });
    m.boot(STUB);
    for (let i = 0; i < 1000 && m.bus.memory.read32(KBASE + KERNEL_READY_OFFSET) < 1; i++) m.runFor(m.usToCycles(20));
    if (m.bus.memory.read32(KBASE + KERNEL_READY_OFFSET) < 1) throw new Error(`${p.name}: the bare-metal kernel did not boot`);
    return { m, k, dev: new MsiDevice(m, { deviceId: DEVICE_ID, doorbell: translater }) };
  }
  let k!: DeviceKernel;
  const pl = buildPlatform({
    cores: 1, clockHz: clockOf(p), seed, costs, bookkeeping: p.bookkeeping, gic, trapWfi: true, ...choices,
    vms: [{
      name: 'irqlat', vcpus: 1, pinned: [0], injection: path === 'direct' ? 'direct' : 'list-register',
      devices: [{ deviceId: DEVICE_ID, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }],
      kernel: (c) => (k = guest(c)),
    }],
  });
  bootGuests(pl);
  return { m: pl.m, k, dev: new MsiDevice(pl.m, { deviceId: DEVICE_ID, doorbell: pl.doorbell }) };
}

/** Mean latency (ns) of `path` on profile `name`, alone or with interference. */
export function irqLatency(name: string, path: LatencyPath, interference: boolean, o: LatencyOptions = {}): number {
  const p = costProfile(name);
  if (p === undefined) throw new Error(`unknown cost profile ${name}`);
  const { m, k, dev } = rigFor(p, path, interference, o.seed ?? 1, o.guest === 'idle', o.platform);
  const warm = o.warmups ?? 10;
  const n = o.samples ?? 50;
  const perTick = m.clockHz / m.cntfrq;
  let sum = 0;
  for (let i = 0; i < warm + n; i++) {
    // One interrupt at a time, 20 us apart (the papers' period is 10 ms: only the spacing matters here).
    m.runFor(m.usToCycles(20));
    dev.msi(0);
    for (let j = 0; j < 100 && k.log.length <= i; j++) m.runFor(m.usToCycles(5));
    if (k.log.length <= i) throw new Error(`${name} ${path}: interrupt ${i} was not handled`);
    if (i >= warm) sum += k.log.counterAt(i) * perTick - dev.timeOf(i);
  }
  return (sum / n / m.clockHz) * 1e9;
}
