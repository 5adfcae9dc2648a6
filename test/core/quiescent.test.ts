/**
 * Telling idle from time-out (core/machine.ts): the machine is quiescent when no event is queued
 * and every PE is off or asleep with nothing to wake it. `runUntilQuiescent(limit)` says which
 * came first and leaves time where activity stopped; `run(until)` keeps moving time to a finite
 * `until` and reports it in `lastRunQuiescent`.
 */
import test from 'ava';
import { Machine, type InterruptController } from '../../core/machine.js';
import { msr, wfi, work, type Program } from '../../core/ops.js';
import { LINE_IRQ, PeState } from '../../core/pe.js';
import { PSR_DAIF } from '../../core/pstate.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0 } from '../../core/timer.js';
import { cpuOff, setup } from '../helpers/harness.js';

/** Works `cycles` at EL2, then powers the PE off. */
function finite(cycles: number): Machine {
  return setup({ el: 2, main: function* (): Program {
    yield work(cycles);
    yield* cpuOff();
  } });
}

/** Spins at EL2 for ever. */
function spinning(): Machine {
  return setup({ el: 2, main: function* (): Program {
    for (;;) yield work(100);
  } });
}

test('a program that powers off: quiescent, and time stays where the PE stopped', (t) => {
  const m = finite(10_000);
  const r = m.runUntilQuiescent(1_000_000);
  t.true(r.quiescent);
  t.is(r.end, 'idle');
  t.is(m.pes[0]!.state, PeState.Off);
  t.true(m.quiescent);
  t.true(r.at >= 10_000 && r.at < 20_000, `at ${r.at}`);
  t.is(m.now, r.at);
  t.is(r.at, m.trace.of('cpu-off')[0]!.t, 'the time of the power-off');
  t.true(m.lastRunQuiescent);
});

test('a spinning PE is not quiescent: the limit comes first and time is moved to it', (t) => {
  const m = spinning();
  const r = m.runUntilQuiescent(50_000);
  t.false(r.quiescent);
  t.is(r.end, 'until');
  t.is(r.at, 50_000);
  t.is(m.now, 50_000);
  t.is(m.pes[0]!.state, PeState.Run);
  t.false(m.quiescent);
  t.false(m.lastRunQuiescent);
  // The limit counts from now.
  t.is(m.runUntilQuiescent(1000).at, 51_000);
});

test('run(until) keeps moving time to a finite until, and lastRunQuiescent tells idle from time-out', (t) => {
  const idle = finite(10_000);
  t.is(idle.run(1_000_000), 'until');
  t.is(idle.now, 1_000_000);
  t.true(idle.lastRunQuiescent);
  const busy = spinning();
  t.is(busy.run(50_000), 'until');
  t.is(busy.now, 50_000);
  t.false(busy.lastRunQuiescent);
  // With no end in time, quiescence is the 'idle' end itself.
  t.is(finite(10_000).run(Infinity), 'idle');
});

/** A stand-in interrupt controller: the virtual timer's PPI 27 drives the PE's IRQ input. */
class TimerToIrq implements InterruptController {
  constructor(private readonly m: Machine) {}
  setPpiLevel(pe: number, intid: number, level: boolean): void {
    if (intid === 27) this.m.pes[pe]!.setLine(LINE_IRQ, level);
  }
}

test('a PE in WFI with its timer armed is not quiescent until the timer fires and the PE powers off', (t) => {
  // The counter runs at 1 GHz, the core at 2 GHz: 100,000 ticks are 200,000 cycles.
  const m = setup({ el: 2, main: function* (): Program {
    yield msr(CNTV_TVAL_EL0, 100_000);
    yield msr(CNTV_CTL_EL0, 1);
    yield wfi(); // IRQs are masked (DAIF): the rising line only wakes the PE
    yield* cpuOff();
  }, daif: PSR_DAIF, machine: { clockHz: 2e9, cntfrqHz: 1e9, trace: true } });
  m.interruptController = new TimerToIrq(m);
  const early = m.runUntilQuiescent(100_000);
  t.false(early.quiescent, 'asleep, but the timer event is queued');
  t.is(early.end, 'until');
  t.is(m.pes[0]!.state, PeState.Wfi);
  t.is(m.events.size, 1);
  t.false(m.quiescent);

  const late = m.runUntilQuiescent(10_000_000);
  t.true(late.quiescent);
  t.is(m.pes[0]!.state, PeState.Off);
  const fired = m.trace.of('timer')[0]!.t;
  t.true(fired >= 200_000, `timer at ${fired}`);
  t.true(late.at >= fired && late.at < fired + 10_000, `quiescent at ${late.at}, timer at ${fired}`);
  t.is(m.events.size, 0);
});
