/**
 * The guest kernel framework on bare metal at EL1: it finds its redistributors, brings the GIC
 * up through MMIO and ICC_*, and handles SGIs, LPIs and its timer tick.
 */
import test from 'ava';
import { HCR_RW } from '../../core/hcr.js';
import { Machine } from '../../core/machine.js';
import { eret, msr, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2 } from '../../core/sysregs.js';
import { gicConfig } from '../../gic/config.js';
import { createGic } from '../../gic/gic.js';
import { deviceKernel, ipiKernel } from '../../guests/samples.js';
import type { Kernel, KernelConfig } from '../../guests/kernel.js';

const KBASE = 0x4000_0000;

function bareMetal(cores: number, build: (cfg: KernelConfig) => Kernel, lpis: KernelConfig['lpis'] = []) {
  const m = new Machine({ cores, trace: true });
  const gcfg = gicConfig({ version: 4 });
  const gic = createGic(m, gcfg);
  const kcfg: KernelConfig = { name: 'k', cpus: cores, psci: 'smc', gicd: gcfg.gicdBase, gicr: gcfg.gicrBase, ramBase: KBASE, ramSize: 0x100_0000, lpis };
  const k = build(kcfg);
  k.install(m.code, KBASE);
  // A firmware stub at EL2 drops to the kernel at EL1 (HCR_EL2.IMO = 0: bare metal).
  m.code.install(0x7000_0000, function* (): Program {
    yield msr(HCR_EL2, HCR_RW);
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, KBASE);
    yield eret();
  });
  // Secondary CPUs are started by the kernel with PSCI CPU_ON at EL1 (the caller's EL).
  m.boot(0x7000_0000);
  return { m, gic, k };
}

test('the kernel boots every CPU through PSCI and each receives the IPIs CPU 0 sends', (t) => {
  const { m, k } = bareMetal(4, (c) => ipiKernel(c, 20_000, 5));
  m.run(2_000_000);
  t.true(k.cpus.every((c) => c.booted));
  t.true(k.cpus.every((c) => c.rd >= 0));
  const ipi = k as ReturnType<typeof ipiKernel>;
  t.is(ipi.sent, 5);
  t.deepEqual(ipi.received, [0, 5, 5, 5]);
});

test('LPIs made pending at a redistributor reach the handler with the configured priority', (t) => {
  const lpis = [
    { intid: 8192 + 5, priority: 0x80 },
    { intid: 8192 + 6, priority: 0x40 },
  ];
  const { m, gic, k } = bareMetal(2, (c) => deviceKernel(c), lpis);
  m.runFor(500_000);
  t.true(k.cpus.every((c) => c.booted));
  // Both pending at once on CPU 1: the higher priority (0x40) is taken first.
  gic.physical.setLpiPending(1, 8192 + 5);
  gic.physical.setLpiPending(1, 8192 + 6);
  m.runFor(200_000);
  const dk = k as ReturnType<typeof deviceKernel>;
  t.deepEqual(dk.log.intid, [8192 + 6, 8192 + 5]);
  t.deepEqual(dk.log.cpu, [1, 1]);
});
