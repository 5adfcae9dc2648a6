/**
 * The interrupt routing matrix (Arm ARM DDI 0487, HCR_EL2.IMO and PSTATE.I): for a PE
 * executing at EL0, EL1 or EL2, with HCR_EL2.IMO 0 or 1 and PSTATE.I 0 or 1, which EL takes a
 * physical IRQ and a virtual IRQ (or nobody). Interrupt lines are driven directly (there is no
 * GIC in this test).
 */
import test from 'ava';
import { HCR_IMO, HCR_RW } from '../../core/hcr.js';
import { SimEvent } from '../../core/events.js';
import { LINE_IRQ, LINE_VIRQ } from '../../core/pe.js';
import { mrs, svc, work, type EntryFn } from '../../core/ops.js';
import { PSR_I } from '../../core/pstate.js';
import { CURRENT_EL } from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';
import type { VectorGroup } from '../../core/code.js';

type Outcome = 'EL1' | 'EL2' | 'none';

function expected(el: number, imo: boolean, masked: boolean, line: 'irq' | 'virq'): Outcome {
  if (line === 'irq') {
    if (imo) return el < 2 ? 'EL2' : masked ? 'none' : 'EL2';
    return el < 2 && !masked ? 'EL1' : 'none';
  }
  return el < 2 && imo && !masked ? 'EL1' : 'none';
}

function run(el: 0 | 1 | 2, imo: boolean, masked: boolean, line: 'irq' | 'virq'): { outcome: Outcome; vector: string } {
  let outcome: Outcome = 'none';
  let vector = '';
  const taken = (where: string): EntryFn =>
    function* () {
      const cur: number = yield mrs(CURRENT_EL);
      outcome = cur >> 2 === 2 ? 'EL2' : 'EL1';
      vector = where;
      yield* cpuOff();
    };
  const group = (name: string): VectorGroup => ({ sync: taken(`${name}.sync`), irq: taken(`${name}.irq`), fiq: taken(`${name}.fiq`), serror: taken(`${name}.serror`) });
  // EL0 finishes with SVC; the EL1 sync vector of "lower EL" then stops the PE quietly.
  const el1Lower = group('el1.lower64');
  el1Lower.sync = function* () {
    yield* cpuOff();
  };
  const m = setup({
    el,
    hcr: HCR_RW | (imo ? HCR_IMO : 0),
    daif: masked ? PSR_I : 0,
    el2Vectors: { curSpx: group('el2.cur'), lower64: group('el2.lower64') },
    el1Vectors: { curSpx: group('el1.cur'), lower64: el1Lower },
    main: function* () {
      yield work(5000);
      if (el === 0) yield svc(0);
      else yield* cpuOff();
    },
  });
  const bit = line === 'irq' ? LINE_IRQ : LINE_VIRQ;
  m.events.schedule(new SimEvent('raise', 0, () => m.pes[0]!.setLine(bit, true)), 1000);
  m.run(100_000);
  return { outcome, vector };
}

for (const el of [0, 1, 2] as const) {
  for (const imo of [false, true]) {
    for (const masked of [false, true]) {
      for (const line of ['irq', 'virq'] as const) {
        const want = expected(el, imo, masked, line);
        test(`${line} at EL${el}, IMO=${imo ? 1 : 0}, PSTATE.I=${masked ? 1 : 0} -> ${want}`, (t) => {
          const r = run(el, imo, masked, line);
          t.is(r.outcome, want);
          if (want !== 'none') {
            const lower = (want === 'EL2' && el < 2) || (want === 'EL1' && el === 0);
            t.is(r.vector, `${want.toLowerCase()}.${lower ? 'lower64' : 'cur'}.irq`);
          }
        });
      }
    }
  }
}
