/**
 * Scheduling policies decide on scripted event sequences: pure functions, no machine.
 */
import test from 'ava';
import { fixedPriority } from '../../hypervisor/sched/fixed-priority.js';
import { latencyFirst } from '../../hypervisor/sched/latency-first.js';
import { pinned } from '../../hypervisor/sched/pinned.js';
import { POLICIES, policyNamed } from '../../hypervisor/sched/policies.js';
import type { Policy, SchedEvent, Topology, VcpuInfo } from '../../hypervisor/sched/policy.js';
import { roundRobin } from '../../hypervisor/sched/round-robin.js';
import { fairShare } from '../../hypervisor/sched/fair-share.js';

function topo(n: number, cores: number, over: Partial<VcpuInfo>[] = []): Topology {
  return {
    cores,
    slice: 1000,
    vcpus: Array.from({ length: n }, (_, id) => ({ id, vm: id, index: 0, priority: 0, pinned: null, ...over[id] })),
  };
}

/** Feeds events, then returns the vCPUs picked on `core` by `picks` consecutive decisions. */
function drive<S>(p: Policy<S>, t: Topology, events: SchedEvent[], core: number, picks: number, expireBetween = true): (number | null)[] {
  let s = p.init(t);
  for (const e of events) s = p.on(s, e);
  const out: (number | null)[] = [];
  for (let i = 0; i < picks; i++) {
    const [s2, d] = p.pick(s, core, i);
    s = s2;
    out.push(d.vcpu);
    if (d.vcpu !== null && expireBetween) s = p.on(s, { kind: 'slice-expired', vcpu: d.vcpu, core, at: i });
  }
  return out;
}

const runnable = (...vs: number[]): SchedEvent[] => vs.map((vcpu) => ({ kind: 'runnable', vcpu, at: 0 }));

test('round-robin takes runnable vCPUs in FIFO order and cycles through them', (t) => {
  t.deepEqual(drive(roundRobin, topo(3, 1), runnable(2, 0, 1), 0, 6), [2, 0, 1, 2, 0, 1]);
});

test('round-robin: a blocked vCPU leaves the queue until it is woken', (t) => {
  let s = roundRobin.init(topo(2, 1));
  for (const e of runnable(0, 1)) s = roundRobin.on(s, e);
  let [s1, d] = roundRobin.pick(s, 0, 0);
  t.is(d.vcpu, 0);
  s1 = roundRobin.on(s1, { kind: 'blocked', vcpu: 0, core: 0, at: 1 });
  [s1, d] = roundRobin.pick(s1, 0, 1);
  t.is(d.vcpu, 1);
  s1 = roundRobin.on(s1, { kind: 'blocked', vcpu: 1, core: 0, at: 2 });
  [s1, d] = roundRobin.pick(s1, 0, 2);
  t.is(d.vcpu, null);
  s1 = roundRobin.on(s1, { kind: 'woken', vcpu: 1, reason: 'interrupt', at: 3 });
  [, d] = roundRobin.pick(s1, 0, 3);
  t.is(d.vcpu, 1);
  t.is(d.slice, 1000);
});

test('policy state is immutable: deciding returns new state and leaves the old one as it was', (t) => {
  const s0 = roundRobin.on(roundRobin.init(topo(2, 1)), { kind: 'runnable', vcpu: 1, at: 0 });
  const [s1] = roundRobin.pick(s0, 0, 0);
  t.deepEqual(s0.queue, [1]);
  t.deepEqual(s1.queue, []);
  t.true(Object.isFrozen(s1));
  t.throws(() => (s1.queue as number[]).push(3));
});

test('fixed priority runs the highest priority first and keeps FIFO order among equals', (t) => {
  const tp = topo(4, 1, [{ priority: 1 }, { priority: 5 }, { priority: 1 }, { priority: 5 }]);
  t.deepEqual(drive(fixedPriority, tp, runnable(0, 1, 2, 3), 0, 4, false), [1, 3, 0, 2]);
});

test('latency-first queues vCPUs woken with an interrupt by wake time, ahead of those only waiting their turn', (t) => {
  const tp = topo(5, 1);
  let s = latencyFirst.init(tp);
  for (const e of runnable(0, 1, 2)) s = latencyFirst.on(s, e);
  s = latencyFirst.on(s, { kind: 'woken', vcpu: 4, reason: 'doorbell', at: 5 });
  s = latencyFirst.on(s, { kind: 'woken', vcpu: 3, reason: 'interrupt', at: 2 }); // older, though woken later in this script
  s = latencyFirst.on(s, { kind: 'woken', vcpu: 1, reason: 'psci', at: 6 }); // not an interrupt: its turn only
  const order: (number | null)[] = [];
  for (let i = 0; i < 4; i++) {
    const [n, d] = latencyFirst.pick(s, 0, 10 + i);
    order.push(d.vcpu);
    s = latencyFirst.on(n, { kind: 'slice-expired', vcpu: d.vcpu!, core: 0, at: 11 + i });
  }
  t.deepEqual(order, [3, 4, 0, 2]);
});

test('latency-first preempts, for a vCPU with an interrupt waiting, the vCPU that has run longest (at least a tenth of a slice)', (t) => {
  const tp = topo(3, 2); // slices of 1,000 cycles
  let s = latencyFirst.init(tp);
  s = latencyFirst.on(s, { kind: 'woken', vcpu: 2, reason: 'interrupt', at: 5 });
  t.is(latencyFirst.preempt!(s, 2, [{ core: 0, vcpu: 0, ran: 300 }, { core: 1, vcpu: 1, ran: 700 }], 5), 1);
  t.is(latencyFirst.preempt!(s, 2, [{ core: 0, vcpu: 0, ran: 50 }, { core: 1, vcpu: 1, ran: 99 }], 5), null, 'no one has run a tenth of its slice');
  s = latencyFirst.on(s, { kind: 'runnable', vcpu: 2, at: 6 });
  t.is(latencyFirst.preempt!(s, 2, [{ core: 1, vcpu: 1, ran: 700 }], 6), null, 'a vCPU only waiting its turn preempts no one');
});

test('pinned: each core only runs its own vCPUs; placement kicks only the home core', (t) => {
  const tp = topo(4, 2, [{}, {}, { pinned: 1 }, {}]);
  // Homes: v0 -> 0, v1 -> 1, v2 -> 1 (configured), v3 -> 1.
  t.deepEqual(drive(pinned, tp, runnable(0, 1, 2, 3), 1, 3), [1, 2, 3]);
  t.deepEqual(drive(pinned, tp, runnable(0, 1, 2, 3), 0, 2), [0, 0]);
  const s = pinned.init(tp);
  t.is(pinned.place(s, 2, [0, 1]), 1);
  t.is(pinned.place(s, 2, [0]), null);
});

test('placement prefers the core a vCPU last ran on, if it is idle', (t) => {
  let s = roundRobin.init(topo(2, 4));
  s = roundRobin.on(s, { kind: 'runnable', vcpu: 1, at: 0 });
  [s] = roundRobin.pick(s, 2, 0);
  s = roundRobin.on(s, { kind: 'blocked', vcpu: 1, core: 2, at: 1 });
  t.is(roundRobin.place(s, 1, [0, 2, 3]), 2);
  t.is(roundRobin.place(s, 1, [0, 3]), 0);
});

test('a pinned vCPU is never picked by another core under round-robin', (t) => {
  const tp = topo(2, 2, [{ pinned: 1 }, {}]);
  t.deepEqual(drive(roundRobin, tp, runnable(0, 1), 0, 3), [1, 1, 1]);
});

test('every shipped policy is listed by name with a one-line summary', (t) => {
  t.deepEqual(POLICIES.map((p) => p.name), ['round-robin', 'fixed-priority', 'latency-first', 'pinned', 'fair-share']);
  for (const p of POLICIES) {
    t.is(policyNamed(p.name), p);
    t.true(p.summary.length > 10 && !p.summary.includes('\n'));
  }
});

test('fair share runs the vCPU that has had the least core time', (t) => {
  let s = fairShare.init(topo(3, 1));
  for (const e of runnable(0, 1, 2)) s = fairShare.on(s, e);
  // v0 runs 500 cycles, v1 runs 100, v2 runs 300: next is v1, then v2, then v0.
  const run = (v: number, from: number, to: number) => {
    const [s1, d] = fairShare.pick(s, 0, from);
    t.is(d.vcpu, v);
    s = fairShare.on(s1, { kind: 'slice-expired', vcpu: v, core: 0, at: to });
  };
  run(0, 0, 500);
  run(1, 500, 600);
  run(2, 600, 900);
  let now = 1000;
  const order = [0, 1, 2].map(() => {
    const [s1, d] = fairShare.pick(s, 0, now);
    now += 1000;
    s = fairShare.on(s1, { kind: 'slice-expired', vcpu: d.vcpu!, core: 0, at: now });
    return d.vcpu;
  });
  t.deepEqual(order, [1, 2, 0]);
  t.true(Object.isFrozen(s));
});
