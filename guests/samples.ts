/**
 * Sample kernels built on the framework:
 * - `deviceKernel`: handles the LPIs of its devices (which every kernel maps through its ITS at
 *   boot, from `KernelConfig.devices`); for each it records the INTID, CPU and the counter when
 *   the handler started, then does `handlerCycles` of work;
 * - `hogKernel`: only computes, never idles;
 * - `idleKernel`: boots and idles in WFI;
 * - `ipiKernel`: CPU 0 sends SGI 1 to every other CPU every `periodCycles`; the others count.
 * Any of them can run a periodic virtual-timer tick (PPI 27).
 */
import { mrs, msr, work, type Program } from '../core/ops.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0, CNTVCT_EL0 } from '../core/timer.js';
import { DeliveryLog, type DeliveryLogOptions } from './delivery-log.js';
import { sendSgi } from '../drivers/gic-init.js';
import { idleLoop, Kernel, type KernelConfig, type KernelCpu } from './kernel.js';

export const TIMER_PPI = 27;
export const IPI_SGI = 1;

export interface SampleOptions {
  /** Cycles of work per device interrupt (default 500). */
  handlerCycles?: number;
  /** Virtual timer tick period in counter ticks (0 = no tick). */
  tickCounts?: number;
  /** `deviceKernel`: which delivery records to keep and who else sees each delivery (default: keep all). */
  log?: DeliveryLogOptions;
}

export class DeviceKernel extends Kernel {
  readonly log: DeliveryLog;
  ticks = 0;
  constructor(cfg: KernelConfig, log: DeliveryLogOptions = {}) {
    super(cfg);
    this.log = new DeliveryLog(log);
  }
}

function withTick(k: Kernel & { ticks: number }, counts: number): void {
  if (counts <= 0) return;
  k.onIrq(TIMER_PPI, function* (): Program {
    k.ticks++;
    yield msr(CNTV_TVAL_EL0, counts, 1);
  });
  const inner = k.main;
  k.main = function* (cpu: KernelCpu): Program {
    yield msr(CNTV_TVAL_EL0, counts, 1);
    yield msr(CNTV_CTL_EL0, 1, 1);
    yield* inner(cpu);
  };
}

function tickPpis(cfg: KernelConfig, o: SampleOptions): KernelConfig {
  return (o.tickCounts ?? 0) > 0 ? { ...cfg, ppis: [...(cfg.ppis ?? []), TIMER_PPI] } : cfg;
}

/** A kernel that handles its configured LPIs and records every delivery. */
export function deviceKernel(cfg: KernelConfig, o: SampleOptions = {}): DeviceKernel {
  const k = new DeviceKernel(tickPpis(cfg, o), o.log);
  const cycles = o.handlerCycles ?? 500;
  for (const l of cfg.lpis ?? []) {
    k.onIrq(l.intid, function* (cpu: KernelCpu, intid: number): Program {
      const t: number = yield mrs(CNTVCT_EL0, 1);
      k.log.push(intid, cpu.index, t);
      yield work(cycles);
    });
  }
  withTick(k, o.tickCounts ?? 0);
  return k;
}

export class HogKernel extends Kernel {
  ticks = 0;
  /** Work chunks completed, per CPU. */
  readonly chunks: number[];
  constructor(cfg: KernelConfig) {
    super(cfg);
    this.chunks = new Array<number>(cfg.cpus).fill(0);
  }
}

/** A kernel that only computes (never WFI). */
export function hogKernel(cfg: KernelConfig, o: SampleOptions = {}): HogKernel {
  const k = new HogKernel(tickPpis(cfg, o));
  k.main = function* (cpu: KernelCpu): Program {
    for (;;) {
      yield work(100_000);
      k.chunks[cpu.index]!++;
    }
  };
  withTick(k, o.tickCounts ?? 0);
  return k;
}

export class IdleKernel extends Kernel {
  ticks = 0;
}

export function idleKernel(cfg: KernelConfig, o: SampleOptions = {}): IdleKernel {
  const k = new IdleKernel(tickPpis(cfg, o));
  k.main = idleLoop;
  withTick(k, o.tickCounts ?? 0);
  return k;
}

export class IpiKernel extends Kernel {
  ticks = 0;
  sent = 0;
  readonly received: number[];
  constructor(cfg: KernelConfig) {
    super(cfg);
    this.received = new Array<number>(cfg.cpus).fill(0);
  }
}

/** CPU 0 sends SGI 1 to all other CPUs every `periodCycles`; each records what it received. */
export function ipiKernel(cfg: KernelConfig, periodCycles: number, rounds: number): IpiKernel {
  const k = new IpiKernel(cfg);
  k.onIrq(IPI_SGI, function* (cpu: KernelCpu): Program {
    k.received[cpu.index]!++;
  });
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index !== 0) {
      yield* idleLoop();
      return;
    }
    for (let r = 0; r < rounds; r++) {
      yield work(periodCycles);
      yield* sendSgi(IPI_SGI, 'others');
      k.sent++;
    }
    yield* idleLoop();
  };
  return k;
}
