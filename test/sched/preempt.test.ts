/**
 * Preemption, carried out through the architecture: the policy decides that a vCPU woken by an
 * interrupt displaces a running hog; the hypervisor records the decision, kicks the hog's core
 * with an SGI, the hog exits (an IRQ exception to EL2), is requeued ('preempted') and the core
 * runs the woken vCPU next. Compared with round-robin on the same machine and traffic.
 */
import test from 'ava';
import { latencyFirst } from '../../hypervisor/sched/latency-first.js';
import { roundRobin } from '../../hypervisor/sched/round-robin.js';
import type { Policy } from '../../hypervisor/sched/policy.js';
import { deviceKernel, hogKernel } from '../../guests/samples.js';
import { addDevice, bootGuests, buildPlatform, type Platform } from '../../scenarios/platform.js';

/** Two cores: a device VM whose vCPU blocks in WFI between interrupts, and two hog vCPUs that never block. */
function machine(policy: Policy<any>): Platform {
  return buildPlatform({
    cores: 2,
    trace: true,
    policy,
    sliceUs: 500,
    vms: [
      { name: 'dev', vcpus: 1, injection: 'list-register', kernel: (cfg) => deviceKernel(cfg), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] },
      { name: 'hog', vcpus: 2, injection: 'list-register', kernel: (cfg) => hogKernel(cfg), devices: [] },
    ],
  });
}

function run(policy: Policy<any>): Platform {
  const p = machine(policy);
  bootGuests(p);
  addDevice(p, 1, [0], { kind: 'periodic', period: 300_000 }, { count: 10 }).start(); // every 150 us
  p.m.runFor(4_000_000);
  return p;
}

test('latency-first: a woken vCPU preempts the hog: decision, kick, the hog exits and is requeued, the woken vCPU runs next', (t) => {
  const p = run(latencyFirst);
  const tr = p.m.trace.records;
  const decisions = tr.filter((x) => x.kind === 'sched-preempt');
  t.true(decisions.length >= 5, `${decisions.length} preemptions`);
  const hogs = p.hyp.vms[1]!.vcpus.map((v) => v.id);
  const dev = p.hyp.vms[0]!.vcpus[0]!.id;
  let kicked = 0;
  for (const d of decisions) {
    if (d.kind !== 'sched-preempt') continue;
    t.is(d.vcpu, dev);
    t.true(hogs.includes(d.victim));
    const after = tr.filter((x) => x.t >= d.t && x.core === d.target);
    const next = after.find((x) => x.kind === 'sched-decision');
    if (d.target !== d.core) {
      // Another core's hog: a kick SGI to it, its exit (an IRQ exception to EL2), then its decision.
      kicked++;
      t.true(tr.some((x) => x.kind === 'hyp-kick' && x.t >= d.t && x.core === d.core && x.target === d.target));
      const exit = after.find((x) => x.kind === 'vcpu-exit');
      t.true(exit?.kind === 'vcpu-exit' && exit.vm === 1 && exit.reason === 'irq' && exit.t <= (next?.t ?? Infinity), 'the hog exits first');
    }
    // This core's hog was the one the interrupt exited: no kick; either way the woken vCPU runs next there.
    t.is(next?.kind === 'sched-decision' ? next.decision : -2, dev, 'the woken vCPU runs next');
  }
  t.log(`${decisions.length} preemptions, ${kicked} of them of another core's hog (kicked)`);
  t.is(p.hyp.sched.preemptions, decisions.length);
});

test('preemption shortens what the device VM waits: latency-first against round-robin on the same machine and traffic', (t) => {
  /** For each MSI, the cycles until the acknowledge that delivered it (the first after it: later ones merge). */
  const waits = (p: Platform): number[] => {
    const tr = p.m.trace.records;
    const acks = tr.filter((x) => x.kind === 'icv-ack' && x.vintid === 8224).map((x) => x.t);
    return tr.filter((x) => x.kind === 'msi-write').map((x) => (acks.find((a) => a > x.t) ?? Infinity) - x.t);
  };
  const rr = run(roundRobin);
  const lf = run(latencyFirst);
  const [wr, wl] = [waits(rr), waits(lf)];
  t.is(wr.length, 10);
  t.true(wr.concat(wl).every(Number.isFinite), 'every MSI is delivered under both policies');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  t.true(median(wl) * 5 < median(wr), `median MSI-to-acknowledge: latency-first ${median(wl)} cycles, round-robin ${median(wr)}`);
  t.log(`median MSI-to-acknowledge: latency-first ${(median(wl) / 2000).toFixed(1)} us, round-robin ${(median(wr) / 2000).toFixed(1)} us; preemptions ${lf.hyp.sched.preemptions} and ${rr.hyp.sched.preemptions}`);
  t.is(rr.hyp.sched.preemptions, 0);
});
