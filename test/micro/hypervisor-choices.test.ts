/**
 * The hypervisor choices (hypervisor/config.ts), by what a user observes: WFI exits counted and
 * interrupts delivered with KVM's opportunistic WFI trapping; residency changes per exit with
 * residency on every entry/exit; the vcpu_load-to-entry time with the VPT-parse wait taken at the
 * last step before entry. Every run also passes the delivery check.
 */
import test from 'ava';
import { runKut } from '../../scenarios/micro/kvm-unit-tests.js';
import { vcpuLoadToEntry } from '../../scenarios/micro/gicv4.js';
import { SCENARIOS } from '../../scenarios/named.js';
import { runScenario } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';
import type { Scenario } from '../../scenarios/scenario.js';

/** wfi-native's machine (a core per single-vCPU VM) with guest WFI trapped, for 1 ms. */
function trappedAlone(extra: Partial<Scenario> = {}): Scenario {
  const s = SCENARIOS.find((x) => x.name === 'wfi-native')!;
  return validateScenario({ ...s, name: 'wfi-trapped', wfi: 'trap', durationUs: 1000, vms: s.vms.map((v) => ({ ...v, wfi: undefined })), ...extra });
}

const wfiExits = (r: ReturnType<typeof runScenario>): number => r.vms.reduce((a, v) => a + (v.exitsByClass.WFX ?? 0), 0);

test('opportunistic WFI trapping: a vCPU alone on its core with vLPIs completes its WFI on the core (no WFI exits), and still gets every interrupt', (t) => {
  const off = runScenario(trappedAlone(), { path: 'direct' });
  const on = runScenario(trappedAlone({ opportunisticWfi: true }), { path: 'direct' });
  t.deepEqual(off.violations, []);
  t.deepEqual(on.violations, []);
  t.true(wfiExits(off) > off.delivered / 2, `trapped: ${wfiExits(off)} WFI exits for ${off.delivered} interrupts`);
  t.is(wfiExits(on), 0);
  t.is(on.delivered + on.coalesced, off.delivered + off.coalesced);
  t.true(on.latencyUs.p50 < off.latencyUs.p50, 'no doorbell and no residency change on the way');
});

test('opportunistic WFI trapping keeps TWI where KVM keeps it: on the injected path (no vLPIs) and for vCPUs that share a core', (t) => {
  const injected = runScenario(trappedAlone({ opportunisticWfi: true }), { path: 'injected' });
  t.deepEqual(injected.violations, []);
  t.true(wfiExits(injected) > 0, 'no vLPIs: WFI trapped');
  const shared = runScenario(trappedAlone({ opportunisticWfi: true, cores: 2 }), { path: 'direct' });
  t.deepEqual(shared.violations, []);
  t.true(wfiExits(shared) > 0, 'four vCPUs on two cores: WFI trapped');
});

test('residency on every entry/exit: each HVC exit makes the vPE non-resident and resident again; at load/put it stays resident', (t) => {
  const changes = (residency: 'load-put' | 'entry-exit'): number => {
    let n = 0;
    runKut('n1-altra-kvm', {
      iterations: 64, timerIterations: 1, tests: ['hvc'], injection: 'direct', platform: { residency },
      inspect: (p) => void (n = p.hyp.direct.stats!.residencyChanges),
    });
    return n;
  };
  const perExit = changes('entry-exit');
  const atLoad = changes('load-put');
  t.true(perExit >= 2 * 64, `entry-exit: ${perExit}`);
  t.true(atLoad < 16, `load-put: ${atLoad}`);
});

test('the VPT-parse wait before entry overlaps the rest of vcpu_load: the load-to-entry time drops, the wait is still taken', (t) => {
  const at = vcpuLoadToEntry('kunpeng920-kvm', { durationUs: 600, platform: { vptParseWait: 'at-schedule' } });
  const before = vcpuLoadToEntry('kunpeng920-kvm', { durationUs: 600, platform: { vptParseWait: 'before-entry' } });
  t.true(before.ns < at.ns, `${before.ns} < ${at.ns}`);
  // Still above the parse itself (1 us on this profile): the guest is not entered before it ends.
  t.true(before.ns > 1000, `${before.ns}`);
});

test('the choices in a scenario file: validated, and the shipped default scenario keeps its delivery check with each', (t) => {
  t.throws(() => validateScenario({ ...SCENARIOS[0], residency: 'sometimes' }), { message: /residency/ });
  const base = SCENARIOS.find((x) => x.name === 'default')!;
  for (const extra of [{ vptParseWait: 'at-schedule' }, { residency: 'entry-exit' }, { opportunisticWfi: true }] as const) {
    const r = runScenario(validateScenario({ ...base, durationUs: 800, ...extra }), { path: 'direct' });
    t.deepEqual(r.violations, [], JSON.stringify(extra));
  }
});
