/**
 * The hypervisor's spinlock under contention (drivers/spinlock.ts): N cores at EL2 take one
 * shared ticket lock in a loop, hold it for a short critical section (a load, an add and a store
 * of a shared counter, plus `CRITICAL` cycles of work) and do `OUTSIDE` cycles of other work
 * between acquisitions. Reported per core count: host throughput of lock round trips, and what
 * the model shows: simulated cycles spent spinning per acquisition, the share of contended
 * acquisitions and the longest wait. The counter's final value checks that the lock excluded.
 */
import { Machine } from '../core/machine.js';
import { ldr, smc, str, work, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { LockStats, Spinlock } from '../drivers/spinlock.js';

/** Cycles inside the lock (besides the counter update) and outside it, per acquisition. */
const CRITICAL = 200;
const OUTSIDE = 600;
const LOCK_PA = 0x4100_0000;
const COUNTER_PA = 0x4100_1000;

export interface LockRow {
  readonly cores: number;
  readonly acquisitions: number;
  readonly hostMs: number;
  readonly acquisitionsPerSec: number;
  readonly hostNsPerAcquisition: number;
  readonly spinCyclesPerAcquisition: number;
  readonly contendedShare: number;
  readonly maxSpinCycles: number;
}

export interface LockResult {
  readonly rows: readonly LockRow[];
  readonly critical: number;
  readonly outside: number;
}

function one(cores: number, perCore: number): LockRow {
  const m = new Machine({ cores });
  const stats = new LockStats();
  const lock = new Spinlock('bench', stats, LOCK_PA, { trace: m.trace, now: () => m.now });
  for (let c = 0; c < cores; c++) {
    const entry = 0x4000_0000 + c * 0x100;
    m.code.install(entry, function* (): Program {
      for (let i = 0; i < perCore; i++) {
        yield* lock.acquire(c);
        const v: number = yield ldr(COUNTER_PA, 4, 1);
        yield str(COUNTER_PA, v + 1, 4, 1);
        yield work(CRITICAL);
        yield* lock.release();
        yield work(OUTSIDE);
      }
      yield smc(0, PSCI.CPU_OFF);
    });
    m.pes[c]!.powerOn(entry, 2, 0);
  }
  const t0 = performance.now();
  m.run(Infinity);
  const hostMs = performance.now() - t0;
  const n = cores * perCore;
  const counted = m.bus.memory.read32(COUNTER_PA);
  if (counted !== n) throw new Error(`lock bench: ${cores} cores counted ${counted} of ${n} increments: the lock did not exclude`);
  return {
    cores,
    acquisitions: n,
    hostMs,
    acquisitionsPerSec: (n / hostMs) * 1000,
    hostNsPerAcquisition: (hostMs * 1e6) / n,
    spinCyclesPerAcquisition: stats.spinCycles / n,
    contendedShare: stats.contended / n,
    maxSpinCycles: stats.maxSpin,
  };
}

/** `perCore` acquisitions on each of 1, 2, 4 and 8 cores; the best of `reps` host timings per row. */
export function runLocks(perCore: number, reps: number, around?: (measure: () => void) => void): LockResult {
  const rows: LockRow[] = [];
  const measure = (): void => {
    for (const cores of [1, 2, 4, 8]) {
      let best: LockRow | null = null;
      for (let r = 0; r < reps; r++) {
        const row = one(cores, perCore);
        if (best === null || row.hostMs < best.hostMs) best = row;
      }
      rows.push(best!);
    }
  };
  if (around !== undefined) around(measure);
  else measure();
  return { rows, critical: CRITICAL, outside: OUTSIDE };
}
