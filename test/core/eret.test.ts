/**
 * Exception return: ERET restores PSTATE from SPSR and resumes the interrupted continuation
 * with its state intact; ELR unchanged retries a held op, ELR + 4 completes it with the value
 * the handler left in the transfer register; exceptions nest; illegal returns are caught.
 */
import test from 'ava';
import { EC, ESR } from '../../core/esr.js';
import { SimEvent } from '../../core/events.js';
import { daifclr, eret, getx, hvc, ldr, mrs, msr, setx, str, svc, work, DAIF_I } from '../../core/ops.js';
import { PSR_DAIF, spsrFor } from '../../core/pstate.js';
import { CURRENT_EL, DAIF, ELR_EL1, ESR_EL1, NZCV, SPSR_EL1, SPSR_EL2 } from '../../core/sysregs.js';
import { ISS_DABT } from '../../core/esr.js';
import { cpuOff, setup } from '../helpers/harness.js';
import { addLineDevice, LINE_DEV } from '../helpers/line-device.js';

test('a synchronous exception inside an IRQ handler nests and both return where they should', (t) => {
  const log: string[] = [];
  let mainIterations = 0;
  let finalDaif = -1;
  let finalEl = -1;
  let svcSpsr = -1;
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        irq: function* () {
          log.push('irq-enter');
          // A nested exception overwrites ELR_EL1/SPSR_EL1: save them first, as kernel_entry does.
          const elr: number = yield mrs(ELR_EL1, 9);
          const spsr: number = yield mrs(SPSR_EL1, 9);
          const r: number = yield svc(5, 41);
          log.push(`svc-returned:${r}`);
          yield str(LINE_DEV, 0, 4, 9); // the device drops its level
          log.push('irq-exit');
          yield msr(ELR_EL1, elr, 9);
          yield msr(SPSR_EL1, spsr, 9);
          yield eret();
        },
        sync: function* () {
          const esr: number = yield mrs(ESR_EL1, 9);
          svcSpsr = yield mrs(SPSR_EL1, 9);
          log.push(`sync:${ESR.get(esr, 'EC').toString(16)}`);
          const x0: number = yield getx(0);
          yield setx(0, x0 + 1);
          yield eret();
        },
      },
    },
    main: function* () {
      for (let i = 0; i < 20; i++) {
        yield work(100);
        mainIterations++;
      }
      finalDaif = yield mrs(DAIF, 9);
      finalEl = yield mrs(CURRENT_EL, 9);
      yield* cpuOff();
    },
  });
  addLineDevice(m);
  m.events.schedule(new SimEvent('device', 0, () => m.pes[0]!.setLine(1, true)), 700);
  m.run(1e6);
  t.deepEqual(log, ['irq-enter', 'sync:15', 'svc-returned:42', 'irq-exit']);
  t.is(mainIterations, 20);
  t.is(finalDaif, 0); // PSTATE.DAIF restored from SPSR_EL1 at the IRQ's ERET
  t.is(finalEl, 1 << 2);
  t.is(svcSpsr, spsrFor(1, PSR_DAIF)); // the SVC was taken from the IRQ handler: EL1h, all masked
  const exc = m.trace.of('exception');
  t.deepEqual(exc.map((e) => [e.type, e.from, e.target]), [['irq', 1, 1], ['sync', 1, 1]]);
});

test('ELR unchanged retries the faulting load; ELR + 4 completes it with the handler value', (t) => {
  let faults = 0;
  let got: unknown;
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        sync: function* () {
          faults++;
          const esr: number = yield mrs(ESR_EL1, 9);
          if (faults === 2) {
            // External aborts report ISV = 0 (no SRT): the handler knows the register from the code.
            t.is(ISS_DABT.get(ESR.get(esr, 'ISS'), 'ISV'), 0);
            yield setx(4, 0x77);
            const elr: number = yield mrs(ELR_EL1, 9);
            yield msr(ELR_EL1, elr + 4, 9);
          }
          yield eret();
        },
      },
    },
    main: function* () {
      got = yield ldr(0x2_0000_0000, 4, 4);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(faults, 2);
  t.is(got, 0x77);
});

test('a WORK op interrupted midway resumes with only the remaining cycles', (t) => {
  let end = 0;
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        irq: function* () {
          yield str(LINE_DEV, 0, 4, 9);
          yield work(1000);
          yield eret();
        },
      },
    },
    main: function* () {
      yield daifclr(DAIF_I);
      const start: number = m.pes[0]!.now;
      yield work(10_000);
      end = m.pes[0]!.now - start;
      yield* cpuOff();
    },
  });
  addLineDevice(m);
  m.events.schedule(new SimEvent('device', 0, () => m.pes[0]!.setLine(1, true)), 3000);
  m.run(1e6);
  // 10 000 cycles of work plus the handler (entry, MMIO store, 1000 cycles, ERET), not 20 000.
  t.true(end > 11_000 && end < 12_000, `elapsed ${end}`);
});

test('an illegal exception return sets PSTATE.IL and the next instruction takes EC 0x0E', (t) => {
  const ecs: number[] = [];
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        sync: function* () {
          const esr: number = yield mrs(ESR_EL1, 9);
          ecs.push(ESR.get(esr, 'EC'));
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      yield msr(SPSR_EL1, spsrFor(2, PSR_DAIF), 9); // EL1 cannot return to EL2
      yield msr(ELR_EL1, 0x4002_0000, 9);
      yield eret();
    },
  });
  m.run(1e6);
  t.deepEqual(ecs, [EC.ILLEGAL_STATE]);
});

test('PSTATE.NZCV is saved in SPSR_ELx on exception entry, left unchanged by it, and restored by ERET', (t) => {
  let spsr = -1;
  let nzcvAtEl2 = -1;
  let nzcvBack = -1;
  const m = setup({
    el: 1,
    el2Vectors: {
      lower64: {
        sync: function* () {
          spsr = yield mrs(SPSR_EL2, 9);
          nzcvAtEl2 = yield mrs(NZCV, 9);
          yield msr(NZCV, 0x80000000, 9); // the handler's own flags must not leak back
          yield eret();
        },
      },
    },
    main: function* () {
      yield msr(NZCV, 0x60000000, 1); // Z and C
      yield hvc(0);
      nzcvBack = yield mrs(NZCV, 1);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(spsr, 0x60000000 + spsrFor(1, 0));
  t.is(nzcvAtEl2, 0x60000000);
  t.is(nzcvBack, 0x60000000);
});
