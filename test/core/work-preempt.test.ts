/**
 * WORK(n) and interrupts (core/pe.ts execWork): an interrupt that arrives while a WORK is in
 * progress is taken when it arrives, with the rest of the work resumed after ERET, exactly as if
 * it had come between two of the instructions the WORK stands for; one that arrives after the
 * WORK's end is taken after it. The PE completes a WORK at once when nothing can arrive inside
 * it (the slice goes on past its end), and holds it otherwise; these are what a program sees.
 */
import test from 'ava';
import fc from 'fast-check';
import { SimEvent } from '../../core/events.js';
import { daifclr, eret, work, DAIF_I } from '../../core/ops.js';
import { cpuOff, setup } from '../helpers/harness.js';

interface Seen {
  /** The PE's clock when the IRQ handler started, relative to the start of the WORK. */
  handlerAt: number;
  /** Cycles from the start of the WORK to the program's next op. */
  elapsed: number;
}

/** A WORK of `length` cycles with an IRQ raised `arrival` cycles after it starts (once). */
function run(length: number, arrival: number): Seen {
  const seen: Seen = { handlerAt: -1, elapsed: -1 };
  let start = 0;
  const m = setup({
    el: 1,
    machine: { trace: false },
    el1Vectors: {
      curSpx: {
        irq: function* () {
          seen.handlerAt = m.pes[0]!.now - start;
          m.pes[0]!.setLine(1, false);
          yield work(100);
          yield eret();
        },
      },
    },
    main: function* () {
      yield daifclr(DAIF_I);
      start = m.pes[0]!.now;
      m.events.schedule(new SimEvent('irq', 0, () => m.pes[0]!.setLine(1, true)), start + arrival);
      yield work(length);
      seen.elapsed = m.pes[0]!.now - start;
      // Something to interrupt after the WORK too.
      yield work(50_000);
      yield* cpuOff();
    },
  });
  m.run(1e7);
  return seen;
}

test('an IRQ inside a WORK is taken when it arrives, the rest of the work after ERET; one after it, after it (property)', (t) => {
  const entry = 1000; // more than the exception entry, the handler's 100 cycles and the ERET
  const r = fc.check(
    fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 40_000 }), (length, arrival) => {
      const s = run(length, arrival);
      if (arrival < length) {
        // Taken at its arrival, inside the work; the whole work still runs.
        return s.handlerAt >= arrival && s.handlerAt < arrival + entry && s.elapsed > length && s.elapsed < length + entry;
      }
      // Taken after the work: never before its end.
      return s.handlerAt >= length;
    }),
    { numRuns: 60, seed: 15 },
  );
  t.false(r.failed, fc.defaultReportMessage(r) ?? 'property failed');
});
