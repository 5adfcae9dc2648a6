/**
 * What the timer tests share: a bare-metal machine running a kernel at EL1 (the reference the
 * same guest code is held to inside a VM), and a summary of the latencies a kernel logged.
 */
import { HCR_RW } from '../../core/hcr.js';
import { Machine } from '../../core/machine.js';
import { eret, msr, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2 } from '../../core/sysregs.js';
import { gicConfig } from '../../gic/config.js';
import { createGic } from '../../gic/gic.js';
import type { Kernel, KernelConfig } from '../../guests/kernel.js';

const KBASE = 0x4000_0000;

/** `cpus` PEs and a GICv4; a firmware stub at EL2 drops to the kernel at EL1 (HCR_EL2.IMO = 0). */
export function bareMetal<K extends Kernel>(cpus: number, build: (cfg: KernelConfig) => K, trace = false): { m: Machine; k: K } {
  const m = new Machine({ cores: cpus, trace, clockHz: 2e9, cntfrqHz: 1e9 });
  const gcfg = gicConfig({ version: 4 });
  createGic(m, gcfg);
  const k = build({ name: 'k', cpus, psci: 'smc', gicd: gcfg.gicdBase, gicr: gcfg.gicrBase, ramBase: KBASE, ramSize: 0x100_0000 });
  k.install(m.code, KBASE);
  m.code.install(0x7000_0000, function* (): Program {
    yield msr(HCR_EL2, HCR_RW);
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, KBASE);
    yield eret();
  });
  m.boot(0x7000_0000);
  return { m, k };
}

export interface LatencySummary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Percentiles of counter-tick latencies (nearest rank). */
export function summarize(latencies: readonly number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

/** "n interrupts: p50 / p99 / max us" for ticks of a 1 GHz counter. */
export function describe(l: LatencySummary): string {
  const us = (x: number): string => (x / 1000).toFixed(2);
  return `${l.n} interrupts, due to acknowledge p50 ${us(l.p50)} / p99 ${us(l.p99)} / max ${us(l.max)} us`;
}
