/**
 * ERET to a thread PC (core/threads.ts): ELR unchanged resumes the interrupted program at its
 * next op, ELR + 4 skips that op, and any other address in the thread window (another multiple
 * of 4, a misaligned or fractional one) names no op and takes an Instruction Abort at the
 * handler's EL with that address in FAR_EL1. `ThreadTable.resolve` decides this without `%` of a
 * double; these are what a program observes of it.
 */
import test from 'ava';
import fc from 'fast-check';
import { EC, ESR } from '../../core/esr.js';
import { eret, mrs, msr, svc } from '../../core/ops.js';
import { ELR_EL1, ESR_EL1, FAR_EL1, TPIDR_EL1 } from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';

interface Outcome {
  /** TPIDR_EL1 as the program read it after the SVC (7 when its MSR ran, 0 when skipped); -1 if it never read it. */
  readBack: number;
  /** EC of the exception taken after the ERET, or -1. */
  abortEc: number;
  /** FAR_EL1 minus the ERET's target, for that exception. */
  farDelta: number;
}

function eretTo(delta: number): Outcome {
  const out: Outcome = { readBack: -1, abortEc: -1, farDelta: NaN };
  let target = 0;
  let taken = 0;
  const m = setup({
    el: 1,
    machine: { trace: false },
    el1Vectors: {
      curSpx: {
        *sync() {
          taken++;
          if (taken === 1) {
            // The SVC: return to its ELR moved by `delta`.
            const elr: number = yield mrs(ELR_EL1, 9);
            target = elr + delta;
            yield msr(ELR_EL1, target, 9);
            yield eret();
            return;
          }
          const esr: number = yield mrs(ESR_EL1, 9);
          const far: number = yield mrs(FAR_EL1, 9);
          out.abortEc = ESR.get(esr, 'EC');
          out.farDelta = far - target;
          yield* cpuOff();
        },
      },
    },
    *main() {
      yield svc(0);
      yield msr(TPIDR_EL1, 7, 3);
      out.readBack = yield mrs(TPIDR_EL1, 4);
      yield* cpuOff();
    },
  });
  m.run(1e7);
  return out;
}

test('ERET to ELR resumes the program at its next op; ELR + 4 skips that op', (t) => {
  t.deepEqual(eretTo(0), { readBack: 7, abortEc: -1, farDelta: NaN });
  // The MSR is skipped: TPIDR_EL1 still holds its reset value.
  t.deepEqual(eretTo(4), { readBack: 0, abortEc: -1, farDelta: NaN });
});

test('ERET to any other address of the thread window takes an Instruction Abort at that address (property)', (t) => {
  const other = fc.oneof(
    fc.integer({ min: -64, max: 64 }).filter((d) => d !== 0 && d !== 4),
    // Fractions in eighths: thread PCs are near 2^47, where a double resolves 1/32.
    fc.integer({ min: -512, max: 512 }).map((k) => k / 8).filter((d) => !Number.isInteger(d)),
  );
  const run = fc.check(
    fc.property(other, (d) => {
      const o = eretTo(d);
      return o.readBack === -1 && o.abortEc === EC.IABT_CUR && o.farDelta === 0;
    }),
    { numRuns: 60, seed: 15 },
  );
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
});
