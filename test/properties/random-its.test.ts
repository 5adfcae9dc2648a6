/**
 * The random-platform property (random-platforms.test.ts, scenarios/random-cases.ts) on machines
 * with several ITSs: each random platform run again with 2 to 4 ITSs (its devices spread over
 * them: device i on ITS i mod itsCount) and GITS_TYPER.VMOVP = 0 (VMOVP on every ITS of the VM
 * with ITSList) or 1: on both paths nothing is lost, duplicated or misdelivered, every MSI
 * written is accepted, and per (VM, vCPU, vINTID) the same MSIs are accounted for on both.
 */
import test from 'ava';
import fc from 'fast-check';
import { checkScenario, randomScenario } from '../../scenarios/random-cases.js';
import { validateScenario } from '../../scenarios/validate.js';

test('property: random platforms on 2-4 ITSs, either GITS_TYPER.VMOVP, lose, duplicate and misdeliver nothing on either path', (t) => {
  const seen = { runs: 0, interrupts: 0, its: new Set<number>(), vmovp: new Set<number>(), spread: 0 };
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })), fc.integer({ min: 2, max: 4 }), fc.constantFrom(0 as const, 1 as const), (seed, itsCount, itsVmovp) => {
        const s = validateScenario({ ...randomScenario(seed), itsCount, itsVmovp });
        const r = checkScenario(s);
        seen.runs++;
        seen.interrupts += r.interrupts;
        seen.its.add(itsCount);
        seen.vmovp.add(itsVmovp);
        if (s.devices.length > 1) seen.spread++;
      }),
      { seed: 20_17, numRuns: 16, endOnFailure: true, includeErrorInReport: true },
    ),
  );
  t.log(`${seen.runs} platforms, ${seen.interrupts} MSIs accepted on both paths, ITS counts ${[...seen.its].sort().join(',')}`);
  t.is(seen.runs, 16);
  t.deepEqual([...seen.its].sort(), [2, 3, 4]);
  t.deepEqual([...seen.vmovp].sort(), [0, 1]);
  // Platforms with devices on more than one ITS, and real traffic.
  t.true(seen.spread > 4);
  t.true(seen.interrupts > 500);
});
