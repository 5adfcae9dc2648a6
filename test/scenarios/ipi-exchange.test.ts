/**
 * The shipped 'ipi-exchange' scenario (guests/ipi-exchange.ts, scenarios/ipi-figures.ts): vCPUs
 * exchanging SGIs on a GICv4.1, measured from the guests' own log and the hypervisor's counters.
 * On injected and on GICv4.0 direct each IPI costs the sender's ICC_SGI1R_EL1 trap and the
 * target's kick IRQ exit; on direct-v41 the guest's nASSGIreq is granted, its SGIs are direct
 * vSGIs, and each IPI costs the sender's trap only, and arrives sooner.
 */
import test from 'ava';
import { ipiFigures } from '../../scenarios/ipi-figures.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { pathsOf } from '../../scenarios/scenario.js';
import { validateScenario } from '../../scenarios/validate.js';

test('ipi-exchange: direct vSGIs halve the EL2 entries per IPI (the sender still traps, the target takes it without an exit) and cut its latency; every IPI sent is received', (t) => {
  const s = validateScenario({ ...scenarioNamed('ipi-exchange')!, durationUs: 300 });
  t.deepEqual(pathsOf(s), ['injected', 'direct', 'direct-v41']);
  const [inj, d40, d41] = pathsOf(s).map((path) => ipiFigures(s, path));
  for (const r of [inj!, d40!, d41!]) {
    t.true(r.received >= 50, r.path);
    // The guests' log: every IPI sent in the window was received, but for at most one in flight per CPU.
    t.true(r.sent - r.received <= 4 && r.sent - r.received >= -4, `${r.path}: ${r.sent} sent, ${r.received} received`);
    t.is(r.merged, 0, r.path);
    t.true(r.sgiTrapsPerIpi > 0.95 && r.sgiTrapsPerIpi < 1.05, r.path);
  }
  t.deepEqual([inj!.vsgis, d40!.vsgis, d41!.vsgis], [false, false, true]);
  t.deepEqual([inj!.gic, d40!.gic, d41!.gic], ['4.1', '4.0', '4.1']);
  // Trapped SGIs: a kick IRQ exit at the target for each; direct vSGIs: none.
  t.true(inj!.irqExitsPerIpi >= 1 && d40!.irqExitsPerIpi >= 1);
  t.true(d41!.irqExitsPerIpi < 0.1);
  t.true(d41!.el2EntriesPerIpi < inj!.el2EntriesPerIpi - 0.9);
  t.true(d41!.el2CyclesPerIpi < inj!.el2CyclesPerIpi);
  t.true(d41!.latencyCycles.p50 < inj!.latencyCycles.p50);
});
