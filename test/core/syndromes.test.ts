/**
 * Syndromes of each trap class (Arm ARM DDI 0487, ESR_EL2): ESR value, which EL took it, and where ELR
 * points (the instruction itself, or the next one).
 */
import test from 'ava';
import { EC, ESR, ISS_SYS64, ISS_WFX, esrOf } from '../../core/esr.js';
import { HCR_HCD, HCR_RW, HCR_TSC, HCR_TVM, HCR_TWI } from '../../core/hcr.js';
import { eret, hvc, ldr, mrs, msr, smc, svc, wfi } from '../../core/ops.js';
import { PSCI } from '../../core/psci.js';
import { CNTPCT_EL0 } from '../../core/timer.js';
import { DAIF, ESR_EL1, FAR_EL1, HCR_EL2, SCTLR_EL1 } from '../../core/sysregs.js';
import { cpuOff, eretSkipping, recordSync, setup, type Taken } from '../helpers/harness.js';
import { THREAD_BASE } from '../../core/threads.js';

test('HVC #0x1234 at EL1 gives ESR_EL2 0x5A001234 and returns to the next instruction with x0', (t) => {
  const log: Taken[] = [];
  let ret: unknown;
  let pcAfter = 0;
  const m = setup({
    el: 1,
    el2Vectors: {
      lower64: {
        sync: recordSync(2, log, function* () {
          yield msr(HCR_EL2, HCR_RW, 9); // a plain EL2 access while handling
          yield eret();
        }),
      },
    },
    main: function* () {
      ret = yield hvc(0x1234, 99);
      pcAfter = m.pes[0]!.currentPc();
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(log.length, 1);
  t.is(log[0]!.esr, 0x5a001234);
  t.is(ret, 99);
  // ELR pointed at the op after the HVC: the guest continued without re-executing it.
  t.is(log[0]!.elr, pcAfter);
  t.true(log[0]!.elr >= THREAD_BASE);
});

test('HVC at EL0 is UNDEFINED (EC 0x00 to EL1, ELR at the HVC)', (t) => {
  const log: Taken[] = [];
  const m = setup({
    el: 0,
    el1Vectors: { lower64: { sync: recordSync(1, log, 'stop') } },
    main: function* () {
      yield hvc(1);
    },
  });
  m.run(1e6);
  t.is(log.length, 1);
  t.is(log[0]!.esr, esrOf(EC.UNKNOWN, 0));
  t.is(ESR.get(log[0]!.esr, 'IL'), 1);
});

test('HCR_EL2.HCD = 1 makes HVC UNDEFINED at EL2 as well as EL1 (no EL3): EC 0x00 at EL2, ELR at the HVC', (t) => {
  const log: Taken[] = [];
  let hvcPc = -1;
  let returned = false;
  const m = setup({
    el: 2,
    hcr: HCR_RW | HCR_HCD,
    el2Vectors: { curSpx: { sync: recordSync(2, log, 'stop') } },
    main: function* () {
      hvcPc = m.pes[0]!.currentPc();
      yield hvc(1);
      returned = true;
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(log.length, 1);
  t.is(log[0]!.esr, esrOf(EC.UNKNOWN, 0));
  t.is(log[0]!.elr, hvcPc);
  t.false(returned);
});

test('SVC #7 at EL0 goes to EL1 with ESR 0x56000007', (t) => {
  const log: Taken[] = [];
  let back = false;
  const m = setup({
    el: 0,
    el1Vectors: { lower64: { sync: recordSync(1, log) } },
    main: function* () {
      yield svc(7);
      back = true;
      yield svc(8);
    },
  });
  m.run(20_000);
  t.is(log[0]!.esr, 0x56000007);
  t.is(log[1]!.esr, 0x56000008);
  t.true(back);
});

test('SMC trapped by HCR_EL2.TSC: EC 0x17 at EL2, ELR at the SMC itself (hypervisor adds 4)', (t) => {
  const log: Taken[] = [];
  let after = false;
  const m = setup({
    el: 1,
    hcr: HCR_RW | HCR_TSC,
    el2Vectors: { lower64: { sync: recordSync(2, log, 'skip') } },
    main: function* () {
      yield smc(0x42, PSCI.VERSION);
      after = true;
      yield hvc(0);
    },
  });
  m.run(1e6);
  t.is(log[0]!.esr, esrOf(EC.SMC64, 0x42));
  t.is(log[1]!.esr, esrOf(EC.HVC64, 0));
  t.true(after);
  // The SMC's ELR is one op before the HVC's preferred return (HVC returns to the op after it).
  t.is(log[1]!.elr - log[0]!.elr, 8);
});

test('WFI trapped by HCR_EL2.TWI: EC 0x01 with CV=1, COND=0xE, TI=0; ELR at the WFI', (t) => {
  const log: Taken[] = [];
  let done = false;
  const m = setup({
    el: 1,
    hcr: HCR_RW | HCR_TWI,
    el2Vectors: { lower64: { sync: recordSync(2, log, 'skip') } },
    main: function* () {
      yield wfi();
      done = true;
      yield hvc(0);
    },
  });
  m.run(1e6);
  t.is(log[0]!.esr, 0x07e00000);
  t.true(done);
  t.is(log[1]!.elr - log[0]!.elr, 8);
});

test('an EL2 register accessed from EL1 is UNDEFINED at EL1 (EC 0x00)', (t) => {
  const log: Taken[] = [];
  let hcrSeen: unknown = 'not read';
  const m = setup({
    el: 1,
    el1Vectors: { curSpx: { sync: recordSync(1, log, 'skip') } },
    main: function* () {
      hcrSeen = yield mrs(HCR_EL2, 3);
      yield* cpuOff();
    },
  });
  m.pes[0]!.x[3] = 0xabc;
  m.run(1e6);
  t.is(log.length, 1);
  t.is(ESR.get(log[0]!.esr, 'EC'), EC.UNKNOWN);
  // Skipped by the handler: the program receives x3 unchanged.
  t.is(hcrSeen, 0xabc);
});

test('HCR_EL2.TVM traps an EL1 write of SCTLR_EL1 to EL2 with the register in the ISS', (t) => {
  const log: Taken[] = [];
  const written: unknown[] = [];
  const m = setup({
    el: 1,
    hcr: HCR_RW | HCR_TVM,
    el2Vectors: {
      lower64: {
        sync: recordSync(2, log, function* ({ esr, elr }) {
          const rt = ISS_SYS64.get(esr, 'Rt');
          written.push(m.pes[0]!.x[rt]);
          yield* eretSkipping(2, elr);
        }),
      },
    },
    main: function* () {
      yield msr(SCTLR_EL1, 0x1005, 5);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  const iss = ISS_SYS64.decode(ESR.get(log[0]!.esr, 'ISS'));
  t.is(ESR.get(log[0]!.esr, 'EC'), EC.SYS64);
  t.deepEqual(iss, { Op0: 3, Op1: 0, CRn: 1, CRm: 0, Op2: 0, Rt: 5, Direction: 0 });
  t.deepEqual(written, [0x1005]);
});

test('CNTHCTL_EL2.EL1PCTEN = 0 traps an EL1 read of CNTPCT_EL0 (EC 0x18, Direction = 1)', (t) => {
  const log: Taken[] = [];
  let v: unknown;
  const m = setup({
    el: 1,
    el2Vectors: {
      lower64: {
        sync: recordSync(2, log, function* ({ esr, elr }) {
          // Emulate: hand the guest a value in its transfer register, step over the MRS.
          m.pes[0]!.x[ISS_SYS64.get(esr, 'Rt')] = 1234;
          yield* eretSkipping(2, elr);
        }),
      },
    },
    main: function* () {
      v = yield mrs(CNTPCT_EL0, 2);
      yield* cpuOff();
    },
  });
  m.pes[0]!.timer.cnthctl = 0;
  m.run(1e6);
  t.is(ESR.get(log[0]!.esr, 'EC'), EC.SYS64);
  t.is(ISS_SYS64.get(log[0]!.esr, 'Direction'), 1);
  t.is(ISS_SYS64.get(log[0]!.esr, 'CRn'), 14);
  t.is(v, 1234);
});

test('a load from an address no region decodes is a synchronous external abort at the current EL', (t) => {
  const log: Taken[] = [];
  let far = 0;
  const m = setup({
    el: 1,
    el1Vectors: {
      curSpx: {
        sync: function* () {
          const esr: number = yield mrs(ESR_EL1, 9);
          far = yield mrs(FAR_EL1, 9);
          log.push({ el: 1, esr, elr: 0 });
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      yield ldr(0x1_0000_0000, 4, 1);
    },
  });
  m.run(1e6);
  t.is(ESR.get(log[0]!.esr, 'EC'), EC.DABT_CUR);
  t.is(ESR.get(log[0]!.esr, 'ISS') & 0x3f, 0x10);
  t.is(far, 0x1_0000_0000);
});

test('EL0 MRS DAIF with SCTLR_EL1.UMA = 0 traps to EL1 with EC 0x18 and the access in the ISS, ELR at the MRS', (t) => {
  const log: Taken[] = [];
  let mrsPc = -1;
  const m = setup({
    el: 0,
    el1Vectors: { lower64: { sync: recordSync(1, log, 'stop') } },
    main: function* () {
      mrsPc = m.pes[0]!.currentPc();
      yield mrs(DAIF, 7);
      yield* cpuOff();
    },
  });
  m.run(1e6);
  t.is(log.length, 1);
  t.is(ESR.get(log[0]!.esr, 'EC'), EC.SYS64);
  // DAIF is op0 3, op1 3, CRn 4, CRm 2, op2 1.
  t.deepEqual(ISS_SYS64.decode(ESR.get(log[0]!.esr, 'ISS')), { Op0: 3, Op1: 3, CRn: 4, CRm: 2, Op2: 1, Rt: 7, Direction: 1 });
  t.is(log[0]!.elr, mrsPc);
});

test('EL0 WFI: SCTLR_EL1.nTWI = 0 traps it to EL1 (EC 0x01) ahead of HCR_EL2.TWI; with nTWI = 1 TWI takes it to EL2', (t) => {
  const run = (sctlr: number): Taken[] => {
    const log: Taken[] = [];
    const m = setup({
      el: 0,
      hcr: HCR_RW | HCR_TWI,
      el1Vectors: { lower64: { sync: recordSync(1, log, 'stop') } },
      el2Vectors: { lower64: { sync: recordSync(2, log, 'stop') } },
      main: function* () {
        yield wfi();
        yield svc(0);
      },
    });
    m.pes[0]!.regs.set('SCTLR_EL1', sctlr);
    m.run(1e6);
    return log;
  };
  const wfiEsr = esrOf(EC.WFX, ISS_WFX.encode({ CV: 1, COND: 0xe, TI: 0 }));
  t.deepEqual(run(0x30d00800).map((l) => [l.el, l.esr]), [[1, wfiEsr]]);
  t.deepEqual(run(0x30d00800 + 0x50000).map((l) => [l.el, l.esr]), [[2, wfiEsr]]);
});
