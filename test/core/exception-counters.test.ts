/**
 * Exception counters by source and target EL (core/pe.ts `PeCounters.exceptionsFrom`,
 * `taken(from, to)`): a guest's HVC is an EL1 -> EL2 entry (a VM exit), an IRQ taken by EL2 in its
 * idle loop is EL2 -> EL2, an IRQ a guest takes itself is EL1 -> EL1, an SVC from EL0 is
 * EL0 -> EL1; `exceptions[target]` stays the sum over the source ELs.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { HCR_IMO, HCR_RW, HCR_VI } from '../../core/hcr.js';
import type { Machine } from '../../core/machine.js';
import { eret, hvc, msr, str, svc, wfi, work, type EntryFn, type Program } from '../../core/ops.js';
import { LINE_IRQ, type PeCounters } from '../../core/pe.js';
import { HCR_EL2 } from '../../core/sysregs.js';
import { cpuOff, recordSync, setup, type Taken } from '../helpers/harness.js';
import { LINE_DEV, addLineDevice } from '../helpers/line-device.js';

/** Every (from, to) count, as "from->to": n for the non-zero ones. */
function matrix(c: PeCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (let to = 0; to < 3; to++) for (let from = 0; from < 3; from++) if (c.taken(from, to) !== 0) out[`${from}->${to}`] = c.taken(from, to);
  return out;
}

/** The sums over the source EL are the per-target counts. */
function consistent(c: PeCounters): boolean {
  for (let to = 0; to < 3; to++) if (c.taken(0, to) + c.taken(1, to) + c.taken(2, to) !== c.exceptions[to]) return false;
  return true;
}

/** Raises the PE's IRQ input at `t` (the line device lowers it again). */
function raiseAt(m: Machine, t: number): void {
  m.events.schedule(new SimEvent('raise', 0, () => m.pes[0]!.setLine(LINE_IRQ, true)), t);
}

/** An IRQ handler that lowers the line, counts, and returns. */
function irqHandler(count: { n: number }): EntryFn {
  return function* (): Program {
    yield str(LINE_DEV, 0);
    count.n++;
    yield eret();
  };
}

test('a guest HVC counts EL1 -> EL2 (a VM exit), nothing else', (t) => {
  const log: Taken[] = [];
  const m = setup({
    el: 1,
    el2Vectors: { lower64: { sync: recordSync(2, log) } },
    main: function* (): Program {
      yield hvc(0);
      yield hvc(1);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(log.length, 2);
  const c = m.pes[0]!.counters;
  t.deepEqual(matrix(c), { '1->2': 2 });
  t.is(c.exceptions[2], 2);
  t.true(consistent(c));
});

test('an IRQ taken by EL2 in its idle loop counts EL2 -> EL2', (t) => {
  const irqs = { n: 0 };
  const m = setup({
    el: 2,
    hcr: HCR_RW | HCR_IMO,
    el2Vectors: { curSpx: { irq: irqHandler(irqs) } },
    main: function* (): Program {
      while (irqs.n === 0) yield wfi();
      yield* cpuOff();
    },
  });
  addLineDevice(m);
  raiseAt(m, 20_000);
  m.run(1e6);
  t.is(irqs.n, 1);
  const c = m.pes[0]!.counters;
  t.deepEqual(matrix(c), { '2->2': 1 });
  t.true(consistent(c));
});

test('an IRQ a guest takes at EL1 counts EL1 -> EL1, a vIRQ too; a physical IRQ routed to EL2 from the guest counts EL1 -> EL2', (t) => {
  let guestIrqs = 0;
  const el2Irqs = { n: 0 };
  const m = setup({
    el: 1,
    hcr: HCR_RW,
    el1Vectors: {
      curSpx: {
        irq: function* (): Program {
          guestIrqs++;
          if (guestIrqs === 1) yield str(LINE_DEV, 0); // the physical IRQ: lower the line
          else yield hvc(2); // the vIRQ: ask EL2 to clear HCR_EL2.VI
          yield eret();
        },
      },
    },
    el2Vectors: {
      lower64: {
        irq: irqHandler(el2Irqs),
        // HVC #1: HCR_EL2.IMO | VI (a virtual IRQ for the guest); HVC #2: IMO only.
        sync: recordSync(2, [], function* (taken) {
          yield msr(HCR_EL2, HCR_RW | HCR_IMO | ((taken.esr & 0xffff) === 1 ? HCR_VI : 0), 9);
          yield eret();
        }),
      },
    },
    main: function* (): Program {
      while (guestIrqs === 0) yield wfi(); // the physical IRQ at 20,000 goes to EL1 (IMO = 0)
      yield hvc(1); // a vIRQ is pending on return
      while (guestIrqs === 1) yield work(100);
      while (el2Irqs.n === 0) yield wfi(); // the physical IRQ at 200,000 goes to EL2 (IMO = 1)
      yield* cpuOff();
    },
  });
  addLineDevice(m);
  raiseAt(m, 20_000);
  raiseAt(m, 200_000);
  m.run(1e6);
  t.is(guestIrqs, 2);
  t.is(el2Irqs.n, 1);
  const c = m.pes[0]!.counters;
  // At EL1 the physical IRQ and the vIRQ; at EL2 the two HVCs and the routed IRQ.
  t.deepEqual(matrix(c), { '1->1': 2, '1->2': 3 });
  t.is(c.interrupts[1], 2);
  t.true(consistent(c));
});

test('an SVC from EL0 counts EL0 -> EL1', (t) => {
  const m = setup({
    el: 0,
    el1Vectors: { lower64: { sync: recordSync(1, [], 'return') } },
    main: function* (): Program {
      yield svc(0);
      yield svc(0);
      yield svc(0);
      for (;;) yield work(1000);
    },
  });
  m.run(100_000);
  const c = m.pes[0]!.counters;
  t.deepEqual(matrix(c), { '0->1': 3 });
  t.true(consistent(c));
});

test('taken() refuses an EL outside 0-2', (t) => {
  const c = setup({ el: 2, main: function* (): Program {
    yield* cpuOff();
  } }).pes[0]!.counters;
  t.throws(() => c.taken(3, 2), { message: /ELs are 0, 1 or 2/ });
  t.throws(() => c.taken(1, -1), { message: /ELs are 0, 1 or 2/ });
  t.throws(() => c.taken(0.5, 1), { message: /ELs are 0, 1 or 2/ });
  t.is(c.taken(1, 2), 0);
});
