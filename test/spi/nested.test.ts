/**
 * 31 vSPIs each preempting the last (the KVM selftest vgic_irq's test_inject_preemption on its SPI
 * range), raised by the guest (GICD_ISPENDR) or by the host (KVM_IRQ_LINE), through 1, 4 and 16
 * list registers, EOImode 0 and 1: see nested-spis.ts.
 */
import test from 'ava';
import { NESTED_SPIS, runNestedSpis } from './nested-spis.js';

for (const listRegs of [1, 4, 16]) {
  for (const eoiMode of [0, 1] as const) {
    test(`31 nested vSPIs (the selftest's SPI range), guest GICD_ISPENDR, ${listRegs} LR(s), EOImode ${eoiMode}: each acknowledged in turn, nothing left active or pending`, (t) => {
      const { k } = runNestedSpis({ listRegs, eoiMode, inject: 'ispendr' });
      t.deepEqual(k.acked, NESTED_SPIS);
      t.deepEqual(k.end, { ap1r0: 0, active: 0, iar: 1023 });
      t.deepEqual(k.cpus[0]!.faults, []);
    });
  }
}

for (const eoiMode of [0, 1] as const) {
  test(`31 nested vSPIs raised by the host (KVM_IRQ_LINE) as the guest asks, 4 LRs, EOImode ${eoiMode}`, (t) => {
    const { p, k } = runNestedSpis({ listRegs: 4, eoiMode, inject: 'irq-line' });
    t.deepEqual(k.acked, NESTED_SPIS);
    t.deepEqual(k.end, { ap1r0: 0, active: 0, iar: 1023 });
    t.is(p.hyp.spiHost.stats.requests, 31);
  });
}
