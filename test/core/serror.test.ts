/**
 * SError exceptions, physical and virtual: the syndrome they leave in ESR_ELx (EC 0x2F) and
 * which EL takes them (HCR_EL2.AMO routing; HCR_EL2.VSE for the virtual one).
 */
import test from 'ava';
import { EC, esrOf } from '../../core/esr.js';
import { HCR_AMO, HCR_RW, HCR_VSE } from '../../core/hcr.js';
import { LINE_SERROR } from '../../core/pe.js';
import { daifclr, DAIF_A, eret, hvc, mrs, work } from '../../core/ops.js';
import { PSR_A } from '../../core/pstate.js';
import { ESR_EL1, ESR_EL2, HCR_EL2 } from '../../core/sysregs.js';
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

test('a virtual SError (HCR_EL2.VSE) is taken once at EL1 with EC 0x2F, and taking it clears HCR_EL2.VSE', (t) => {
  const esrs: number[] = [];
  let hcrAfter = -1;
  const m = setup({
    el: 1,
    hcr: HCR_RW | HCR_AMO | HCR_VSE,
    daif: PSR_A,
    el1Vectors: {
      curSpx: {
        serror: function* () {
          esrs.push(yield mrs(ESR_EL1, 9));
          if (esrs.length > 3) yield* cpuOff(); // a vSError that keeps firing
          yield eret(); // SPSR_EL1.A = 0: back with SErrors unmasked
        },
      },
    },
    el2Vectors: {
      lower64: {
        sync: function* () {
          hcrAfter = yield mrs(HCR_EL2, 9);
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      yield daifclr(DAIF_A);
      yield work(100);
      yield hvc(0);
    },
  });
  m.run(1e6);
  t.deepEqual(esrs, [0xbe000000]);
  t.is(hcrAfter, HCR_RW | HCR_AMO);
});
