/**
 * SError exceptions, physical and virtual: the syndrome they leave in ESR_ELx (EC 0x2F) and
 * which EL takes them (HCR_EL2.AMO routing; HCR_EL2.VSE for the virtual one).
 */
import test from 'ava';
import { EC, esrOf } from '../../core/esr.js';
import { HCR_AMO, HCR_RW } from '../../core/hcr.js';
import { LINE_SERROR } from '../../core/pe.js';
import { mrs, work } from '../../core/ops.js';
import { ESR_EL1, ESR_EL2 } from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';

test('a physical SError routed by HCR_EL2.AMO is taken at EL2 with ESR_EL2.EC = 0x2F (0xBE000000)', (t) => {
  const esrs: number[] = [];
  const m = setup({
    el: 1,
    hcr: HCR_RW | HCR_AMO,
    el2Vectors: {
      lower64: {
        serror: function* () {
          esrs.push(yield mrs(ESR_EL2, 9));
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      m.pes[0]!.setLine(LINE_SERROR, true);
      for (;;) yield work(10);
    },
  });
  m.run(1e6);
  t.deepEqual(esrs, [esrOf(EC.SERROR, 0)]);
  t.is(esrs[0], 0xbe000000);
});

test('a physical SError with HCR_EL2.AMO = 0 is taken at EL1 with ESR_EL1.EC = 0x2F', (t) => {
  const esrs: number[] = [];
  const m = setup({
    el: 1,
    hcr: HCR_RW,
    el1Vectors: {
      curSpx: {
        serror: function* () {
          esrs.push(yield mrs(ESR_EL1, 9));
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      m.pes[0]!.setLine(LINE_SERROR, true);
      for (;;) yield work(10);
    },
  });
  m.run(1e6);
  t.deepEqual(esrs, [0xbe000000]);
});
