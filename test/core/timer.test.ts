/**
 * The generic timer and WFI: the virtual timer output rises when CNTVCT (= CNTPCT -
 * CNTVOFF_EL2) reaches CNTV_CVAL, and a PE in WFI skips simulated time instead of spinning.
 */
import test from 'ava';
import { Machine, type InterruptController } from '../../core/machine.js';
import { eret, isb, mrs, msr, svc, wfi, work } from '../../core/ops.js';
import { LINE_IRQ } from '../../core/pe.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL1, ELR_EL2, ESR_EL1, SPSR_EL2 } from '../../core/sysregs.js';
import { CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTV_TVAL_EL0, CNTVCT_EL0, CNTVOFF_EL2, CNTPCT_EL0, CTL_ISTATUS } from '../../core/timer.js';
import { EC, ESR, ISS_SYS64 } from '../../core/esr.js';
import { cpuOff, setup } from '../helpers/harness.js';

/** Records PPI levels and, like a GIC would, turns PPI 27 into the PE's IRQ input. */
class RecordingIc implements InterruptController {
  readonly log: { t: number; pe: number; intid: number; level: boolean }[] = [];
  constructor(private readonly m: Machine) {}
  setPpiLevel(pe: number, intid: number, level: boolean): void {
    this.log.push({ t: this.m.now, pe, intid, level });
    if (intid === 27) this.m.pes[pe]!.setLine(LINE_IRQ, level);
  }
}

test('the virtual timer fires when CNTPCT - CNTVOFF reaches CVAL', (t) => {
  const m = new Machine({ trace: true, clockHz: 2e9, cntfrqHz: 1e9 });
  const ic = new RecordingIc(m);
  m.interruptController = ic;
  let vct0 = 0;
  let pct0 = 0;
  let ctlAfter = 0;
  m.code.install(0x4000_0000, function* () {
    yield msr(CNTVOFF_EL2, 1_000_000);
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, 0x4001_0000);
    yield eret();
  });
  m.code.install(0x4001_0000, function* () {
    pct0 = yield mrs(CNTPCT_EL0);
    vct0 = yield mrs(CNTVCT_EL0);
    yield msr(CNTV_CVAL_EL0, vct0 + 5000);
    yield msr(CNTV_CTL_EL0, 1);
    yield isb();
    yield work(20_000);
    ctlAfter = yield mrs(CNTV_CTL_EL0);
    yield* cpuOff();
  });
  m.boot(0x4000_0000);
  m.run(1e6);
  t.true(pct0 > 0);
  // Read one instruction apart: the counter may tick in between.
  t.true(Math.abs(pct0 - vct0 - 1_000_000) <= 1);
  const rise = ic.log.find((e) => e.intid === 27 && e.level);
  t.truthy(rise);
  // The counter runs at half the core clock: CVAL is reached at cycle 2 * (CVAL + CNTVOFF).
  t.is(rise!.t, 2 * (vct0 + 5000 + 1_000_000));
  t.is(ctlAfter & CTL_ISTATUS, CTL_ISTATUS);
  t.is(m.trace.of('timer').length, 1);
});

test('TVAL reads back the signed distance to CVAL', (t) => {
  const m = new Machine({});
  let tval = 0;
  m.code.install(0x4000_0000, function* () {
    yield msr(CNTV_TVAL_EL0, 300);
    tval = yield mrs(CNTV_TVAL_EL0);
    yield* cpuOff();
  });
  m.boot(0x4000_0000);
  m.run(1e6);
  t.true(tval <= 300 && tval > 290, `tval ${tval}`);
});

test('WFI skips simulated time: one second asleep costs a handful of ops', (t) => {
  const m = new Machine({ trace: true, clockHz: 2e9, cntfrqHz: 1e9 });
  m.interruptController = new RecordingIc(m);
  let woke = 0;
  m.code.install(0x4000_0000, function* () {
    yield msr(CNTV_TVAL_EL0, 1e9); // one second at 1 GHz
    yield msr(CNTV_CTL_EL0, 1);
    yield wfi(); // IRQ masked: WFI still wakes on the pending interrupt
    woke = m.pes[0]!.now;
    yield* cpuOff();
  });
  m.boot(0x4000_0000, { el: 2 });
  const start = performance.now();
  m.run(1e10);
  const hostMs = performance.now() - start;
  const pe = m.pes[0]!;
  t.true(woke >= 2e9 && woke < 2e9 + 1000, `woke at ${woke}`);
  t.true(pe.counters.ops < 10, `${pe.counters.ops} ops`);
  t.true(pe.counters.idleCycles > 1.99e9);
  t.deepEqual(m.trace.records.filter((r) => r.kind.startsWith('wfi')).map((r) => r.kind), ['wfi-sleep', 'wfi-wake']);
  t.log(`1 simulated second asleep took ${hostMs.toFixed(2)} ms of host time`);
});

test('EL0 timer accesses CNTKCTL_EL1 does not allow trap to EL1 with EC 0x18; allowed ones go through', (t) => {
  const traps: { ec: number; iss: number }[] = [];
  const got: unknown[] = [];
  const m = setup({
    el: 0,
    el1Vectors: {
      lower64: {
        sync: function* () {
          const esr: number = yield mrs(ESR_EL1, 9);
          if (ESR.get(esr, 'EC') === EC.SVC64) yield* cpuOff(); // EL0's way to stop
          traps.push({ ec: ESR.get(esr, 'EC'), iss: ESR.get(esr, 'ISS') });
          const elr: number = yield mrs(ELR_EL1, 9);
          yield msr(ELR_EL1, elr + 4, 9); // step over the trapped access
          yield eret();
        },
      },
    },
    main: function* () {
      // CNTKCTL_EL1 = 0 (reset here): EL0 may use neither counter nor timer.
      got.push(yield mrs(CNTVCT_EL0, 1));
      got.push(yield mrs(CNTFRQ_EL0, 2));
      yield msr(CNTV_CTL_EL0, 1, 3);
      yield svc(0);
    },
  });
  m.pes[0]!.x[1] = 111;
  m.pes[0]!.x[2] = 222;
  m.run(1e6);
  t.deepEqual(traps.map((x) => x.ec), [EC.SYS64, EC.SYS64, EC.SYS64]);
  t.deepEqual(ISS_SYS64.decode(traps[0]!.iss), { Op0: 3, Op1: 3, CRn: 14, CRm: 0, Op2: 2, Rt: 1, Direction: 1 });
  t.deepEqual(ISS_SYS64.decode(traps[1]!.iss), { Op0: 3, Op1: 3, CRn: 14, CRm: 0, Op2: 0, Rt: 2, Direction: 1 });
  t.deepEqual(ISS_SYS64.decode(traps[2]!.iss), { Op0: 3, Op1: 3, CRn: 14, CRm: 3, Op2: 1, Rt: 3, Direction: 0 });
  // Skipped: the transfer registers kept what they held.
  t.deepEqual(got, [111, 222]);
});

test('with CNTKCTL_EL1.EL0VCTEN/EL0VTEN set, EL0 reads CNTVCT_EL0 and CNTFRQ_EL0 and uses the virtual timer', (t) => {
  let traps = 0;
  let frq = -1;
  let ctl = -1;
  const m = setup({
    el: 0,
    el1Vectors: {
      lower64: {
        sync: function* () {
          const esr: number = yield mrs(ESR_EL1, 9);
          if (ESR.get(esr, 'EC') !== EC.SVC64) traps++;
          yield* cpuOff();
        },
      },
    },
    main: function* () {
      yield mrs(CNTVCT_EL0, 1);
      frq = yield mrs(CNTFRQ_EL0, 2);
      yield msr(CNTV_CTL_EL0, 3, 3); // ENABLE | IMASK
      ctl = yield mrs(CNTV_CTL_EL0, 3);
      yield svc(0);
    },
  });
  m.pes[0]!.timer.cntkctl = 0x102; // EL0VTEN | EL0VCTEN
  m.run(1e6);
  t.is(traps, 0);
  t.is(frq, m.cntfrq);
  t.is(ctl & 3, 3);
});
