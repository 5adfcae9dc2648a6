/**
 * The EL1 physical timer's registers on the model's PE (core/timer.ts), as the Arm ARM (DDI 0487)
 * describes CNTHCTL_EL2, CNTKCTL_EL1, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0 and CNTPCT_EL0:
 * which EL an access traps to, what TVAL reads and writes, and the timer's output level.
 */
import test from 'ava';
import { Machine, type InterruptController } from '../../core/machine.js';
import { EC, ESR, ISS_SYS64 } from '../../core/esr.js';
import { eret, mrs, msr, svc, work, type Program } from '../../core/ops.js';
import { LINE_IRQ } from '../../core/pe.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, ESR_EL1, SPSR_EL2 } from '../../core/sysregs.js';
import { CNTHCTL, CNTHCTL_EL2, CNTKCTL_EL1, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0, CNTPCT_EL0, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS } from '../../core/timer.js';
import { cpuOff, recordSync, setup, type Taken } from '../helpers/harness.js';

const EL1_CODE = 0x4003_0000;

/** Boots at EL2, writes CNTHCTL_EL2 (and CNTKCTL_EL1), then ERETs to `main` at EL1 or EL0. */
function atLowerEl(el: 0 | 1, cnthctl: number, main: () => Program, vectors: { el1?: Parameters<typeof setup>[0]['el1Vectors']; el2?: Parameters<typeof setup>[0]['el2Vectors'] }, cntkctl = 0): Machine {
  const m = setup({
    el: 2,
    el1Vectors: vectors.el1,
    el2Vectors: vectors.el2,
    main: function* () {
      yield msr(CNTHCTL_EL2, cnthctl, 1);
      yield msr(CNTKCTL_EL1, cntkctl, 1);
      yield msr(SPSR_EL2, (el === 0 ? MODE.EL0t : MODE.EL1h) | PSR_DAIF, 1);
      yield msr(ELR_EL2, EL1_CODE, 1);
      yield eret();
    },
  });
  m.code.install(EL1_CODE, main, 'lower');
  return m;
}

const iss = (t: Taken) => ISS_SYS64.decode(ESR.get(t.esr, 'ISS'));

test('CNTHCTL_EL2.EL1PCEN = 0 traps EL1 accesses to CNTP_CTL/CVAL/TVAL_EL0 to EL2 (EC 0x18, the access in the ISS); EL1PCTEN = 1 leaves CNTPCT_EL0 direct', (t) => {
  const log: Taken[] = [];
  let pct = -1;
  const m = atLowerEl(1, CNTHCTL.encode({ EL1PCTEN: 1, EL1PCEN: 0 }), function* () {
    pct = yield mrs(CNTPCT_EL0, 4);
    yield mrs(CNTP_CTL_EL0, 5);
    yield msr(CNTP_CVAL_EL0, 1234, 6);
    yield msr(CNTP_TVAL_EL0, 100, 7);
    yield mrs(CNTP_TVAL_EL0, 8);
    yield msr(CNTP_CTL_EL0, CTL_ENABLE, 9);
    yield svc(0);
  }, { el2: { lower64: { sync: recordSync(2, log, 'skip') } }, el1: { curSpx: { sync: function* () { yield* cpuOff(); } } } });
  m.run(1e6);
  t.true(pct > 0);
  t.deepEqual(log.map((x) => ESR.get(x.esr, 'EC')), [EC.SYS64, EC.SYS64, EC.SYS64, EC.SYS64, EC.SYS64]);
  t.deepEqual(iss(log[0]!), { Op0: 3, Op1: 3, CRn: 14, CRm: 2, Op2: 1, Rt: 5, Direction: 1 });
  t.deepEqual(iss(log[1]!), { Op0: 3, Op1: 3, CRn: 14, CRm: 2, Op2: 2, Rt: 6, Direction: 0 });
  t.deepEqual(iss(log[2]!), { Op0: 3, Op1: 3, CRn: 14, CRm: 2, Op2: 0, Rt: 7, Direction: 0 });
  t.deepEqual(iss(log[3]!), { Op0: 3, Op1: 3, CRn: 14, CRm: 2, Op2: 0, Rt: 8, Direction: 1 });
  t.deepEqual(iss(log[4]!), { Op0: 3, Op1: 3, CRn: 14, CRm: 2, Op2: 1, Rt: 9, Direction: 0 });
  // The trapped writes did not happen.
  const timer = m.pes[0]!.timer;
  t.is(timer.cval[0], 0);
  t.is(timer.ctl[0], 0);
});

test('EL0: CNTKCTL_EL1.EL0PTEN = 0 traps to EL1 before CNTHCTL_EL2 is looked at; with EL0PTEN = 1, EL1PCEN = 0 traps EL0 to EL2 and EL1PCEN = 1 lets it through', (t) => {
  const outcome = (cntkctl: number, el1pcen: 0 | 1): string => {
    let where = 'access';
    let read = -1;
    const m = atLowerEl(
      0,
      CNTHCTL.encode({ EL1PCTEN: 1, EL1PCEN: el1pcen }),
      function* () {
        read = yield mrs(CNTP_CTL_EL0, 3);
        yield svc(0);
      },
      {
        el1: {
          lower64: {
            sync: function* () {
              const esr: number = yield mrs(ESR_EL1, 9);
              if (ESR.get(esr, 'EC') === EC.SYS64) where = 'EL1';
              yield* cpuOff();
            },
          },
        },
        el2: {
          lower64: {
            sync: function* () {
              where = 'EL2';
              yield* cpuOff();
            },
          },
        },
      },
      cntkctl,
    );
    m.run(1e6);
    return where === 'access' ? `access ${read}` : where;
  };
  t.is(outcome(0, 0), 'EL1');
  t.is(outcome(0, 1), 'EL1');
  t.is(outcome(0x200, 0), 'EL2');
  t.is(outcome(0x200, 1), 'access 0');
});

/** Records the PPI levels the timer drives (a GIC stand-in) and takes none. */
class Levels implements InterruptController {
  readonly log: { t: number; intid: number; level: boolean }[] = [];
  constructor(private readonly m: Machine) {}
  setPpiLevel(_pe: number, intid: number, level: boolean): void {
    this.log.push({ t: this.m.now, intid, level });
    if (intid === 30) this.m.pes[0]!.setLine(LINE_IRQ, false);
  }
}

test('CNTP_TVAL_EL0: a write sets CVAL = CNTPCT + SignExtend(TVAL[31:0]) (bits [63:32] ignored); a read returns (CVAL - CNTPCT)[31:0]; the output is ENABLE && !IMASK && ISTATUS, a level', (t) => {
  const m = new Machine({ clockHz: 2e9, cntfrqHz: 1e9 });
  const ic = new Levels(m);
  m.interruptController = ic;
  const got: Record<string, number> = {};
  m.code.install(0x4000_0000, function* (): Program {
    yield work(20_000); // the counter at 10,000 ticks
    // -100 in the low 32 bits, garbage above: the timer is 100 ticks past already.
    const before: number = yield mrs(CNTPCT_EL0, 1);
    yield msr(CNTP_TVAL_EL0, 0x1234_ffff_ff9cn, 2);
    const after: number = yield mrs(CNTPCT_EL0, 1);
    got.cvalLo = (yield mrs(CNTP_CVAL_EL0, 3)) - (before - 100);
    got.cvalHi = after - 100 - (yield mrs(CNTP_CVAL_EL0, 3));
    got.ctlDisabled = yield mrs(CNTP_CTL_EL0, 4);
    // Enabled and masked: ISTATUS reads 1, the output stays low.
    yield msr(CNTP_CTL_EL0, CTL_ENABLE | CTL_IMASK | 0xfff8, 4);
    got.ctlMasked = yield mrs(CNTP_CTL_EL0, 4);
    const tv: number = yield mrs(CNTP_TVAL_EL0, 5);
    got.tval = tv;
    got.levelsWhileMasked = ic.log.length;
    // Unmasked: the output rises at once.
    yield msr(CNTP_CTL_EL0, CTL_ENABLE, 4);
    got.ctlFiring = yield mrs(CNTP_CTL_EL0, 4);
    // CVAL moved ahead: the condition no longer holds, the output falls; TVAL counts down.
    const now: number = yield mrs(CNTPCT_EL0, 1);
    yield msr(CNTP_CVAL_EL0, now + 10_000, 3);
    got.ctlAhead = yield mrs(CNTP_CTL_EL0, 4);
    const tv1: number = yield mrs(CNTP_TVAL_EL0, 5);
    yield work(2_000); // 1,000 counter ticks
    const tv2: number = yield mrs(CNTP_TVAL_EL0, 5);
    got.countdown = tv1 - tv2;
    got.tvalAhead = tv1;
    yield msr(CNTP_CTL_EL0, 0, 4);
    yield* cpuOff();
  });
  m.boot(0x4000_0000, { el: 2 });
  m.run(1e6);
  t.true(got.cvalLo! >= 0 && got.cvalHi! >= 0, JSON.stringify(got));
  t.is(got.ctlDisabled! & ~CTL_ISTATUS, 0);
  t.is(got.ctlMasked, CTL_ENABLE | CTL_IMASK | CTL_ISTATUS);
  // (CVAL - CNTPCT)[31:0] of a small negative distance: just below 2^32, bits [63:32] zero.
  t.true(got.tval! > 0xffff_ff00 && got.tval! <= 0xffff_ffff, `${got.tval}`);
  t.is(got.levelsWhileMasked, 0);
  t.is(got.ctlFiring, CTL_ENABLE | CTL_ISTATUS);
  t.is(got.ctlAhead, CTL_ENABLE);
  t.true(got.tvalAhead! > 9_900 && got.tvalAhead! <= 10_000, `${got.tvalAhead}`);
  t.true(got.countdown! >= 1_000 && got.countdown! <= 1_010, `${got.countdown}`);
  t.deepEqual(
    ic.log.filter((e) => e.intid === 30).map((e) => e.level),
    [true, false],
  );
});

test('CNTP_TVAL_EL0: the sum is 64-bit: a negative TimerValue larger than the count gives a CVAL far ahead (its low 53 bits), not one in the past', (t) => {
  const m = new Machine({ clockHz: 2e9, cntfrqHz: 1e9 });
  const ic = new Levels(m);
  m.interruptController = ic;
  const got: Record<string, number> = {};
  m.code.install(0x4000_0000, function* (): Program {
    const before: number = yield mrs(CNTPCT_EL0, 1);
    yield msr(CNTP_TVAL_EL0, 0x8000_0000, 2); // -2^31, with CNTPCT far below 2^31
    const after: number = yield mrs(CNTPCT_EL0, 1);
    yield msr(CNTP_CTL_EL0, CTL_ENABLE, 4);
    got.before = before;
    got.after = after;
    got.cval = yield mrs(CNTP_CVAL_EL0, 3);
    got.ctl = yield mrs(CNTP_CTL_EL0, 4);
    got.tval = yield mrs(CNTP_TVAL_EL0, 5);
    yield msr(CNTP_CTL_EL0, 0, 4);
    yield* cpuOff();
  });
  m.boot(0x4000_0000, { el: 2 });
  m.run(1e6);
  t.true(got.after! < 2 ** 31);
  t.true(got.cval! >= 2 ** 53 + got.before! - 2 ** 31 && got.cval! <= 2 ** 53 + got.after! - 2 ** 31, JSON.stringify(got));
  t.is(got.ctl, CTL_ENABLE);
  // (CVAL - CNTPCT)[31:0]: just below 2^31.
  t.true(got.tval! <= 2 ** 31 && got.tval! > 2 ** 31 - 100, `${got.tval}`);
  t.is(ic.log.length, 0);
});
