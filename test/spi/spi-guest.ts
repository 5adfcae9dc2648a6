/**
 * A guest kernel for the vSPI tests: CPU 0 configures its SPIs through the driver library, as a
 * Linux guest's irq-gic-v3 does for a device's interrupt (GICD_ICFGR trigger, GICD_IPRIORITYR,
 * GICD_IROUTER to a CPU, GICD_ISENABLER), then writes a word in its RAM that says so; every CPU
 * idles in WFI and records each SPI it takes (INTID, CPU, the virtual counter), with an optional
 * handler of its own. The framework's IRQ entry acknowledges (ICC_IAR1_EL1) and EOIs
 * (ICC_EOIR1_EL1, EOImode 0) around the handler.
 */
import { mrs, str, work, type Program } from '../../core/ops.js';
import { CNTVCT_EL0 } from '../../core/timer.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { configureSpi } from '../../drivers/gic-init.js';
import { idleLoop, Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { bootGuests, type Platform } from '../../scenarios/platform.js';

/** Offset in the guest's RAM of the word CPU 0 sets once its SPIs are configured. */
export const SPI_READY_OFFSET = 0x300;

export interface GuestSpi {
  readonly intid: number;
  readonly edge: boolean;
  /** GICD_IPRIORITYR (default 0xa0). */
  readonly priority?: number;
  /** The CPU GICD_IROUTER names (default 0). */
  readonly cpu?: number;
}

export interface Delivery {
  readonly intid: number;
  readonly cpu: number;
  readonly t: number;
}

export class SpiKernel extends Kernel {
  readonly seen: Delivery[] = [];

  /** Deliveries of `intid` (on `cpu`, if given). */
  count(intid: number, cpu?: number): number {
    return this.seen.filter((d) => d.intid === intid && (cpu === undefined || d.cpu === cpu)).length;
  }
}

export type SpiHandler = (k: SpiKernel, cpu: KernelCpu, intid: number) => Program;

/**
 * A kernel that configures `spis` at boot and records every delivery (see the top). `busy`: its
 * CPUs compute instead of idling in WFI (no WFI exits: the vCPU leaves the guest only for
 * interrupts and traps).
 */
export function spiKernel(cfg: KernelConfig, spis: readonly GuestSpi[], onSpi?: SpiHandler, busy = false): SpiKernel {
  const k = new SpiKernel(cfg);
  for (const s of spis) {
    k.onIrq(s.intid, function* (cpu: KernelCpu, intid: number): Program {
      const t: number = yield mrs(CNTVCT_EL0, 1);
      k.seen.push({ intid, cpu: cpu.index, t });
      if (onSpi !== undefined) yield* onSpi(k, cpu, intid);
      else yield work(200);
    });
  }
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index === 0) {
      for (const s of spis) yield* configureSpi(cfg.gicd, s.intid, { edge: s.edge, priority: s.priority ?? 0xa0, affinity: cpuAffinity(s.cpu ?? 0), enable: true });
      yield str(cfg.ramBase + SPI_READY_OFFSET, 1, 4, 1);
    }
    if (busy) for (;;) yield work(1000);
    yield* idleLoop();
  };
  return k;
}

/** Boots the platform's guests and runs until every VM's CPU 0 has configured its SPIs. */
export function bootSpiGuests(p: Platform, limitUs = 2000): void {
  bootGuests(p);
  const m = p.m;
  const end = m.now + m.usToCycles(limitUs);
  const ready = (): boolean => p.vmRamPa.every((pa) => m.bus.memory.read32(pa + SPI_READY_OFFSET) === 1);
  while (!ready() && m.now < end) m.runFor(m.usToCycles(2));
  if (!ready()) throw new Error('the guests did not configure their SPIs');
}

/** Runs `p` for `us` simulated microseconds. */
export function runUs(p: Platform, us: number): void {
  p.m.runFor(p.m.usToCycles(us));
}
