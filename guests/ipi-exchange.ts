/**
 * `ipiExchangeKernel`: vCPUs exchanging SGIs, an IPI-heavy guest. Every CPU sends SGI 2 to the
 * next CPU in a ring (CPU i to CPU (i + 1) mod n) every `periodCycles` of its own busy work,
 * the way a kernel's cross-calls and reschedule IPIs keep every CPU busy-polling (no WFI between
 * sends, so a resident target takes its IPI where it runs). It asks for SGIs without an active
 * state (`nassgi`, as Linux does when the distributor offers them), so on a GICv4.1 hypervisor
 * that offers them its SGIs are direct vSGIs.
 *
 * The guest's log (deliveries are not MSIs, so the scenario delivery check does not see them):
 * SGIs sent and received per CPU, and each IPI's latency in counter ticks, from the sender's
 * CNTVCT_EL0 read just before its ICC_SGI1R_EL1 write to the receiver's read at the start of
 * its handler (one VM: one virtual counter). The sender's time for a target waits in a FIFO
 * until the target's handler takes it; an SGI sent while the previous one to the same target is
 * still pending merges with it (one pending bit), so `received` <= `sent` and the extra send
 * times are dropped at the next handler (`merged`).
 */
import { mrs, work, type Program } from '../core/ops.js';
import { CNTVCT_EL0 } from '../core/timer.js';
import { sendSgi } from '../drivers/gic-init.js';
import { Kernel, type KernelConfig, type KernelCpu } from './kernel.js';

export const EXCHANGE_SGI = 2;
/** The shipped scenario's period (scenarios/named.ts 'ipi-exchange'): 20 us at 2 GHz. */
export const IPI_EXCHANGE_PERIOD = 40_000;

export class IpiExchangeKernel extends Kernel {
  readonly sent: number[];
  readonly received: number[];
  /** Latencies (counter ticks) of every IPI received, in order of receipt. */
  readonly latencies: number[] = [];
  /** Sends that merged with an earlier pending SGI to the same target. */
  merged = 0;
  /** Per target CPU: send times not yet received (oldest first). */
  private readonly inFlight: number[][];

  constructor(cfg: KernelConfig) {
    super(cfg);
    this.sent = new Array<number>(cfg.cpus).fill(0);
    this.received = new Array<number>(cfg.cpus).fill(0);
    this.inFlight = Array.from({ length: cfg.cpus }, () => []);
  }

  /** The receiver's handler ran at counter value `now`: the oldest send time is its IPI's. */
  took(cpu: number, now: number): void {
    const q = this.inFlight[cpu]!;
    this.received[cpu]!++;
    if (q.length === 0) return;
    // Every send before this handler started was taken by it (later ones merged into it).
    const first = q[0]!;
    this.latencies.push(now - first);
    this.merged += q.length - 1;
    q.length = 0;
  }

  sending(target: number, now: number): void {
    this.inFlight[target]!.push(now);
  }
}

/** Every CPU sends SGI 2 to the next CPU every `periodCycles` of busy work, `rounds` times. */
export function ipiExchangeKernel(cfg: KernelConfig, periodCycles: number, rounds: number): IpiExchangeKernel {
  const k = new IpiExchangeKernel({ ...cfg, nassgi: cfg.nassgi ?? true });
  const n = cfg.cpus;
  k.onIrq(EXCHANGE_SGI, function* (cpu: KernelCpu): Program {
    const now: number = yield mrs(CNTVCT_EL0, 1);
    k.took(cpu.index, now);
  });
  k.main = function* (cpu: KernelCpu): Program {
    const target = (cpu.index + 1) % n;
    for (let r = 0; r < rounds; r++) {
      yield work(periodCycles);
      if (n < 2) continue;
      const now: number = yield mrs(CNTVCT_EL0, 1);
      k.sending(target, now);
      yield* sendSgi(EXCHANGE_SGI, [target]);
      k.sent[cpu.index]!++;
    }
    for (;;) yield work(periodCycles);
  };
  return k;
}
