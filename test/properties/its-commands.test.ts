/**
 * Random ITS command bytes from EL2 (scenarios/random-cases.ts, on a 2-PE board with the driver
 * library's ITS driver, drivers/its.ts): a driver program writes batches of random 32-byte commands (any
 * bytes, random opcodes valid and not, real commands with fields in and out of the ranges of its
 * tables) into the command queue of a GICv3 or GICv4 ITS, advances GITS_CWRITER, and mends every
 * stall as a driver would (the command at GITS_CREADR replaced by a SYNC, GITS_CWRITER written
 * with Retry = 1). No JavaScript exception; the queue always drains (GITS_CREADR reaches
 * GITS_CWRITER within a bound); every error is recorded with a code 0x01_CC_EE naming the
 * command in its slot and a known reason; afterwards MAPD, MAPC, MAPTI, INT and an MSI still make
 * their LPIs pending at redistributor 1, and PE 1 acknowledges both through ICC_IAR1_EL1.
 */
import test from 'ava';
import fc from 'fast-check';
import { checkItsCase, randomItsCase } from '../../scenarios/random-cases.js';

const caseSeed = fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 }));

test('property: random command bytes never break the ITS: the queue drains, every error is architected-looking, and LPIs are still delivered', (t) => {
  const totals = { runs: 0, commands: 0, errors: 0, stalls: 0 };
  t.notThrows(() =>
    fc.assert(
      fc.property(caseSeed, (seed) => {
        const r = checkItsCase(seed);
        totals.runs++;
        totals.commands += r.commands;
        totals.errors += r.errors;
        totals.stalls += r.stalls;
      }),
      { seed: 20_15, numRuns: 100, endOnFailure: true, includeErrorInReport: true },
    ),
  );
  t.log(totals);
  t.is(totals.runs, 100);
  // The generator reaches commands that act, commands that are skipped, and commands that stall.
  t.true(totals.errors > 0 && totals.errors < totals.commands);
  t.true(totals.stalls > 0);
});

test('randomItsCase: one seed gives one case', (t) => {
  for (let seed = 0; seed < 50; seed++) t.deepEqual(randomItsCase(seed), randomItsCase(seed));
});
