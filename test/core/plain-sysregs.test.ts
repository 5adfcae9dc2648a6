/**
 * The core's plain system registers (core/plain-sysregs.ts): what MSR writes, MRS reads back, per
 * register, with the reset value before the first write; PE.regs shows the same values by name.
 */
import test from 'ava';
import fc from 'fast-check';
import { mrs, mrsn, msr, msrn, type Program } from '../../core/ops.js';
import { PLAIN_NAMES } from '../../core/plain-sysregs.js';
import type { SysReg } from '../../core/sysreg.js';
import * as R from '../../core/sysregs.js';
import { cpuOff, setup } from '../helpers/harness.js';

const REGS: readonly SysReg[] = PLAIN_NAMES.map((n) => (R as unknown as Record<string, SysReg>)[n]!);
const resetOf = (name: string): number => (name === 'SCTLR_EL1' ? 0x30d00800 : 0);

test('every plain register name is a register of core/sysregs.ts', (t) => {
  t.is(REGS.length, PLAIN_NAMES.length);
  for (let i = 0; i < REGS.length; i++) t.is(REGS[i]!.name, PLAIN_NAMES[i]!);
});

test('property: MRS at EL2 reads the last MSR to the same plain register (its reset value before any), and PE.regs agrees', (t) => {
  const access = fc.record({ reg: fc.nat(REGS.length - 1), write: fc.boolean(), value: fc.nat(0xffff_ffff) });
  fc.assert(
    fc.property(fc.array(access, { minLength: 1, maxLength: 40 }), (accesses) => {
      const reads: number[] = [];
      const m = setup({
        el: 2,
        main: function* (): Program {
          for (const a of accesses) {
            if (a.write) yield msr(REGS[a.reg]!, a.value, 3);
            else reads.push(yield mrs(REGS[a.reg]!, 4));
          }
          yield* cpuOff();
        },
      });
      m.run(1e7);
      const model = new Map<number, number>();
      const expected: number[] = [];
      for (const a of accesses) {
        if (a.write) model.set(a.reg, a.value);
        else expected.push(model.get(a.reg) ?? resetOf(PLAIN_NAMES[a.reg]!));
      }
      t.deepEqual(reads, expected);
      const pe = m.pes[0]!;
      for (let i = 0; i < REGS.length; i++) t.is(pe.regs.get(PLAIN_NAMES[i]!), model.get(i));
    }),
    { numRuns: 40 },
  );
});

test('PE.regs names only plain registers', (t) => {
  const m = setup({ el: 2, main: cpuOff });
  t.throws(() => m.pes[0]!.regs.get('ELR_EL2'), { message: /not a plain system register/ });
});

test('property: MRSN/MSRN runs over plain registers (a world switch) read what MSR/MSRN wrote, reset values before, and MRS agrees', (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(0xffff_ffff), { minLength: REGS.length, maxLength: REGS.length }), fc.nat(REGS.length - 1), (values, single) => {
      const before: number[] = REGS.map(() => -1);
      const after: number[] = REGS.map(() => -1);
      let one = -1;
      const m = setup({
        el: 2,
        main: function* (): Program {
          yield mrsn(REGS, before);
          yield msrn(REGS, values.slice());
          yield msr(REGS[single]!, values[single]! ^ 1, 3);
          yield mrsn(REGS, after);
          one = yield mrs(REGS[single]!, 4);
          yield* cpuOff();
        },
      });
      m.run(1e7);
      t.deepEqual(before, PLAIN_NAMES.map(resetOf));
      const expected = values.slice();
      expected[single] = values[single]! ^ 1;
      t.deepEqual(after, expected);
      t.is(one, expected[single]);
      t.is(m.pes[0]!.regs.get(PLAIN_NAMES[single]!), expected[single]);
    }),
    { numRuns: 20 },
  );
});
