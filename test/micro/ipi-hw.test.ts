/**
 * kvm-unit-tests' ipi_hw (arm/micro-bench.c ipi_hw_prep): with GICD_TYPER2.nASSGIcap the guest
 * sets GICD_CTLR.nASSGIreq and times SGI 1 to CPU 1 and back as `ipi` does; on the hypervisor's
 * GICv4.1 path its SGIs are then direct vSGIs (the sender still traps, the target takes it
 * without an exit). Without nASSGIcap the test is skipped, as the suite skips it.
 */
import test from 'ava';
import { runKut } from '../../scenarios/micro/kvm-unit-tests.js';

test('ipi_hw on GICv4.1 (direct-v41): faster than ipi, which clears nASSGIreq again; skipped without nASSGIcap (GICv4.0 direct, list registers)', (t) => {
  const o = { iterations: 64, timerIterations: 1, tests: ['ipi', 'ipi_hw', 'ipi'] as const };
  const v41 = runKut('default', { ...o, injection: 'direct', v41: true });
  t.deepEqual(v41.map((r) => r.test), ['ipi', 'ipi_hw', 'ipi']);
  const [ipi, hw, again] = v41.map((r) => r.ns) as [number, number, number];
  t.true(hw < 0.8 * ipi, `ipi ${ipi} ns, ipi_hw ${hw} ns`);
  // Back to trapped SGIs and list registers: the same figure, within the loop's alignment.
  t.true(Math.abs(again - ipi) < 5, `ipi ${ipi} ns, then ${again} ns`);
  for (const other of [runKut('default', { ...o, injection: 'direct' }), runKut('default', { ...o, injection: 'list-register', v41: true })]) {
    t.deepEqual(other.map((r) => r.test), ['ipi', 'ipi']);
    t.true(Math.abs(other[0]!.ns - ipi) < 5);
  }
});
