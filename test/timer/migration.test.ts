/**
 * The emulated EL1 physical timer on vCPUs that move between cores, the shape of the KVM selftest
 * arch_timer (whose host migrates the vCPU threads while the guest runs its timer stages): more
 * vCPUs than cores under round-robin with short slices, some waiting for their interrupt busy
 * (preempted and resumed on whichever core frees up), some blocked in trapped WFI (woken by their
 * timer's deadline on the core they blocked on, and placed on any core). Every interrupt is taken
 * once, at or after CVAL, CNTPCT_EL0 and CNTVCT_EL0 never go backwards in any vCPU, and the
 * latency from CVAL to the guest's acknowledge stays within what the run queue explains.
 */
import test from 'ava';
import { archTimerKernel, type ArchTimerKernel } from '../../guests/arch-timer.js';
import { roundRobin } from '../../hypervisor/sched/round-robin.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';
import { describe, summarize } from './timer-rig.js';

const CORES = 2;
const SLICE_US = 20;
const ROUNDS = 3;

for (const injection of ['list-register', 'direct'] as const) {
  test(`${injection}: 8 vCPUs on 2 cores run the physical-timer stages while they migrate: each interrupt once, counters monotonic, latency bounded`, (t) => {
    const vms = [
      { name: 'busy', vcpus: 5, wait: 'poll' as const },
      { name: 'sleepy', vcpus: 3, wait: 'wfi' as const },
    ];
    const p = buildPlatform({
      cores: CORES,
      trace: true,
      policy: roundRobin,
      sliceUs: SLICE_US,
      vms: vms.map((v) => ({ name: v.name, vcpus: v.vcpus, injection, kernel: (c) => archTimerKernel(c, { rounds: ROUNDS, wait: v.wait }) })),
    });
    bootGuests(p);
    p.m.runFor(60_000_000); // 30 ms
    const kernels = p.kernels as ArchTimerKernel[];
    for (const [i, k] of kernels.entries()) {
      const stages = k.stagesPerCpu;
      t.deepEqual(k.errors, [], vms[i]!.name);
      for (const [c, l] of k.log.entries()) {
        t.true(l.finished, `${vms[i]!.name} cpu ${c}`);
        t.is(l.fired, stages, `${vms[i]!.name} cpu ${c}`);
        t.is(l.stagesDone, stages, `${vms[i]!.name} cpu ${c}`);
        t.true(l.counterReads > 5 * stages);
      }
    }
    // They did move: every vCPU was loaded on both cores, many times.
    const loads = p.m.trace.of('vcpu-load');
    for (const [i, v] of vms.entries()) {
      for (let c = 0; c < v.vcpus; c++) {
        const on = new Set(loads.filter((r) => r.vm === i && r.vcpu === c).map((r) => r.core));
        t.is(on.size, CORES, `${v.name}.vcpu${c} ran on cores ${[...on]}`);
      }
    }
    const lastCore = new Map<string, number>();
    let moved = 0;
    for (const r of loads) {
      const key = `${r.vm}.${r.vcpu}`;
      if (lastCore.has(key) && lastCore.get(key) !== r.core) moved++;
      lastCore.set(key, r.core);
    }
    t.true(moved > 50, `${moved} loads on another core than the vCPU's previous one`);
    // The WFI vCPUs were woken by their physical timer's deadline.
    t.true(p.m.trace.of('vcpu-wake').filter((r) => r.vm === 1 && r.reason === 'timer').length >= 3 * 3 * ROUNDS);
    // Bound: a due vCPU waits at most for the others sharing the cores to use their slices.
    const vcpus = vms.reduce((a, v) => a + v.vcpus, 0);
    const bound = Math.ceil(vcpus / CORES) * SLICE_US * 1000 + 10_000;
    for (const [i, k] of kernels.entries()) {
      const s = summarize(k.log.flatMap((l) => l.irqs.map((q) => q.latency)));
      t.true(s.max <= bound, `${vms[i]!.name}: ${describe(s)}, bound ${bound / 1000} us`);
      t.log(`${injection}, ${vms[i]!.name} (${vms[i]!.wait} wait): ${describe(s)}`);
    }
    t.log(`${injection}: ${moved} of ${loads.length} loads put a vCPU on another core than its previous one`);
  });
}
