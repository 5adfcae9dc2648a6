/**
 * readUsedLrs in its steps (drivers/list-registers.ts): the hypervisor's exit path reads
 * ICH_ELRSR_EL2 itself, lets `emptyLrValues` record the empty LRs, and runs `readLrs` only for the
 * others. Whatever ICH_ELRSR_EL2 says, the steps read the same LRs in the same order and leave the
 * same values as `readUsedLrs`.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Op, Program } from '../../core/ops.js';
import { emptyLrValues, readLrs, readUsedLrs } from '../../drivers/list-registers.js';
import { ICH_ELRSR_EL2, ICH_LR_EL2 } from '../../gic/sysregs.js';

/** Runs `p` answering each MRS from `lrs` (ICH_LR<n>_EL2) or `elrsr`; returns the registers read, in order. */
function drive(p: Program<unknown>, elrsr: number, lrs: bigint[]): string[] {
  const read: string[] = [];
  let r = p.next();
  while (r.done !== true) {
    const op = r.value as Op;
    const reg = op.reg!;
    read.push(reg.name);
    const n = ICH_LR_EL2.indexOf(reg);
    r = p.next(reg === ICH_ELRSR_EL2 ? elrsr : lrs[n]!);
  }
  return read;
}

test('emptyLrValues + readLrs read the LRs readUsedLrs reads, in its order, with the same values', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xffff }), (used, elrsr) => {
      const lrs = ICH_LR_EL2.map((_, n) => (BigInt(n + 1) << 62n) | BigInt(0x2000 + n));
      const whole: bigint[] = new Array<bigint>(16).fill(-1n);
      const readWhole = drive(readUsedLrs(used, whole), elrsr, lrs);
      const steps: bigint[] = new Array<bigint>(16).fill(-1n);
      const full = emptyLrValues(elrsr, used, steps);
      const readSteps = ['ICH_ELRSR_EL2', ...(full !== 0 ? drive(readLrs(full, steps), elrsr, lrs) : [])];
      t.deepEqual(readSteps, readWhole);
      t.deepEqual(steps, whole);
      // The LRs flagged empty are 0n and never read; the others hold what was read; none above `used` is touched.
      for (let n = 0; n < 16; n++) {
        const expected = n >= used ? -1n : ((elrsr >>> n) & 1) === 1 ? 0n : lrs[n]!;
        t.is(steps[n], expected);
      }
    }),
  );
});
