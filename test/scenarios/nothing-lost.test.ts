/**
 * "Nothing lost" as every run checks it (scenarios/delivery-check.ts, trace-invariants.ts), on
 * the cases issue 12 found broken: lpi-stress under load, deliveries counted from acknowledges
 * (not from a handler a preemption delays), devices started when their guest is ready, devices of
 * VMs that do not log, and the trace invariants (one vPE per redistributor, no directly injected
 * vLPI in a list register), each also shown to catch a planted fault.
 */
import test from 'ava';
import { DeviceKernel } from '../../guests/samples.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { guestReady } from '../../scenarios/platform.js';
import { runScenario, type PathResult, type RunHandle } from '../../scenarios/run.js';
import type { DeliveryPath, Scenario } from '../../scenarios/scenario.js';
import { traceInvariants } from '../../scenarios/trace-invariants.js';
import { validateScenario } from '../../scenarios/validate.js';

function run(s: Scenario, path: DeliveryPath, trace = false): { r: PathResult; h: RunHandle } {
  let h: RunHandle | undefined;
  const r = runScenario(s, { path, trace, onBuilt: (x) => (h = x) });
  return { r, h: h! };
}

test('lpi-stress for 100 ms: every MSI delivered or merged on both paths (before the ITS lock: 22,568 undelivered on the direct path)', (t) => {
  const s = validateScenario({ ...scenarioNamed('lpi-stress')!, durationUs: 100_000, record: 'counters' });
  for (const path of ['injected', 'direct'] as const) {
    const { r } = run(s, path);
    t.deepEqual(r.violations, [], path);
    t.is(r.undelivered, 0, path);
    t.true(r.msis > 60_000, `${path}: ${r.msis} MSIs`);
    t.is(r.delivered + r.coalesced, r.msis, path);
  }
});

test('a 4-core run of 200 ms with record: counters loses nothing on either path', (t) => {
  const s = validateScenario({ ...scenarioNamed('default')!, durationUs: 200_000, record: 'counters' });
  t.is(s.cores, 4);
  for (const path of ['injected', 'direct'] as const) {
    const { r } = run(s, path);
    t.deepEqual(r.violations, [], path);
    t.is(r.delivered + r.coalesced, r.msis, path);
  }
});

test('deliveries are acknowledges: migration-storm counts one delivery per handler run, however the handler is preempted', (t) => {
  const s = scenarioNamed('migration-storm')!;
  const { r, h } = run(s, 'direct');
  t.deepEqual(r.violations, []);
  // Every acknowledge of a device LPI starts one handler run in the device kernels.
  const handlerRuns = h.platform.kernels.reduce((a, k) => a + (k instanceof DeviceKernel ? k.log.length : 0), 0);
  t.is(r.delivered, handlerRuns);
  t.is(r.duplicated, 0);
});

test('devices start when their guest is ready: a guest slower to boot than the old fixed warm-up loses nothing, on both paths', (t) => {
  // One core shared with a hog on 1 ms slices: the 16-vCPU guest takes about 2 ms to bring its CPUs up.
  const s = validateScenario({
    name: 'slow-boot',
    summary: '',
    cores: 1,
    sliceUs: 1000,
    durationUs: 500,
    vms: [
      { name: 'hog', vcpus: 1, kernel: 'hog' },
      { name: 'slow', vcpus: 16, kernel: 'device' },
    ],
    devices: [{ vm: 'slow', events: 16, traffic: { kind: 'poisson', ratePerSec: 100_000 } }],
  });
  const results = (['injected', 'direct'] as const).map((path) => {
    const { r, h } = run(s, path);
    const m = h.platform.m;
    t.true(m.cyclesToUs(h.measureFrom) > 1500, `${path}: ready at ${m.cyclesToUs(h.measureFrom)} us, after the old 1,500 us warm-up`);
    t.true(h.devices[0]!.timeOf(0) >= h.measureFrom, `${path}: the first MSI comes after the guest said it was ready`);
    t.true(guestReady(h.platform, 1));
    t.deepEqual(r.violations, [], path);
    t.is(r.accepted, r.msis, path);
    return r;
  });
  // Same seed, same traffic: the same MSIs accounted for on both paths.
  t.is(results[0]!.msis, results[1]!.msis);
  t.is(results[0]!.delivered + results[0]!.coalesced, results[1]!.delivered + results[1]!.coalesced);
});

test('devices of hog, idle and IPI VMs are delivered and counted too (their kernels acknowledge without logging)', (t) => {
  const s = validateScenario({
    name: 'every-kernel',
    summary: '',
    cores: 2,
    durationUs: 2000,
    vms: ['device', 'hog', 'idle', 'ipi'].map((kernel) => ({ name: kernel, vcpus: 2, kernel })),
    devices: ['device', 'hog', 'idle', 'ipi'].map((vm) => ({ vm, events: 2, traffic: { kind: 'poisson', ratePerSec: 20_000 } })),
  });
  for (const path of ['injected', 'direct'] as const) {
    const { r } = run(s, path);
    t.deepEqual(r.violations, [], path);
    t.true(r.msis > 100);
    t.is(r.delivered + r.coalesced, r.msis, path);
  }
});

test('traced runs check residency and list registers; a planted double residency or a direct vLPI in an LR is named', (t) => {
  const s = validateScenario({ ...scenarioNamed('doorbell-race')!, durationUs: 500 });
  const { r, h } = run(s, 'direct', true);
  t.deepEqual(r.violations, []);
  const recs = h.platform.m.trace.records;
  t.deepEqual(traceInvariants(h, recs), []);
  const sched = recs.find((x) => x.kind === 'vpe-residency' && x.event === 'schedule');
  t.truthy(sched);
  if (sched === undefined || sched.kind !== 'vpe-residency') return;
  // The same vPE made resident on a second redistributor while still resident on the first.
  const twice = traceInvariants(h, [sched, { ...sched, rd: sched.rd + 1, t: sched.t + 1 }]);
  t.is(twice.length, 1);
  t.regex(twice[0]!, /made resident on redistributor \d while resident on \d/);
  // One of its vLPIs written into a list register of that core while it is resident.
  const vintid = [...h.platform.hyp.eventsOf(h.platform.hyp.vms[0]!).keys()][0]!;
  const lr = { t: sched.t + 2, core: sched.rd, el: 2, kind: 'ich-lr-write' as const, lr: 0, vintid, state: 1, priority: 0xa0, group: 1, hw: false, pintid: 0, eoi: false };
  // (A vINTID counts only while the vPE of the vCPU its event targets is the resident one.)
  const owner = h.platform.hyp.eventOf(h.platform.hyp.vms[0]!, vintid)!.vcpu;
  const vpt = (h.platform.hyp.direct as import('../../hypervisor/direct.js').DirectInjector).vpe(owner)!.vpt;
  const mine = traceInvariants(h, [{ ...sched, vpt }, lr]);
  t.is(mine.length, 1);
  t.regex(mine[0]!, new RegExp(`wrote vINTID ${vintid} into ICH_LR0_EL2 while .*'s vPE, which gets it directly, was resident there`));
});
