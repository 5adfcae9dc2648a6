/**
 * Latency-first: the vCPU whose pending interrupt is oldest runs first, and may preempt.
 *
 * A vCPU woken by an interrupt, a doorbell, its timer or an IPI queues by the time it was woken
 * (oldest first), ahead of every vCPU that only waits for its turn (round-robin among those). When
 * no core is idle, such a vCPU preempts the running vCPU that has run longest in its slice,
 * provided that one has run at least a tenth of a slice (so two latency-sensitive vCPUs do not
 * take the core from each other at every interrupt) and that it was not itself woken with an
 * interrupt still waiting behind it. A vCPU that has run (slice end, yield, preemption) loses its
 * place and goes to the back. The hypervisor carries a preemption out with a kick SGI to the
 * victim's core (hypervisor/host-irq.ts placeRunnable).
 */
import type { Policy, RunningVcpu, SchedEvent, VcpuId } from './policy.js';
import { allowedOn, detach, initRunQueue, pickWith, placeWarm, type RunQueueState } from './run-queue.js';

export interface LatencyFirstState extends RunQueueState {
  /** When each vCPU was woken with an interrupt it has not yet run to take (Infinity: none). */
  readonly since: readonly number[];
}

const WAKES = new Set(['interrupt', 'doorbell', 'timer', 'ipi']);

function freeze(s: LatencyFirstState): LatencyFirstState {
  Object.freeze(s.queue);
  Object.freeze(s.running);
  Object.freeze(s.last);
  Object.freeze(s.since);
  return Object.freeze(s);
}

const withSince = (since: readonly number[], v: VcpuId, t: number): number[] => since.map((x, i) => (i === v ? t : x));

/** `v` at the back of the queue, with no interrupt waiting. */
function toBack(s: LatencyFirstState, v: VcpuId): LatencyFirstState {
  const d = detach(s, v);
  return freeze({ ...d, queue: [...d.queue, v], since: withSince(s.since, v, Infinity) });
}

function on(s: LatencyFirstState, e: SchedEvent): LatencyFirstState {
  switch (e.kind) {
    case 'woken': {
      // Woken for another reason (PSCI): at the back, as any vCPU waiting for its turn.
      if (!WAKES.has(e.reason)) return toBack(s, e.vcpu);
      const d = detach(s, e.vcpu);
      // Before the first queued vCPU woken later, or that waits without an interrupt.
      let i = d.queue.findIndex((x) => s.since[x]! > e.at);
      if (i < 0) i = d.queue.length;
      return freeze({ ...d, queue: [...d.queue.slice(0, i), e.vcpu, ...d.queue.slice(i)], since: withSince(s.since, e.vcpu, e.at) });
    }
    case 'runnable':
    case 'slice-expired':
    case 'preempted':
    case 'yielded':
      return toBack(s, e.vcpu);
    case 'blocked':
    case 'off':
      return freeze({ ...detach(s, e.vcpu), since: withSince(s.since, e.vcpu, Infinity) });
    case 'core-idle':
      return s.running[e.core] === null ? s : freeze({ ...s, running: s.running.map((x, i) => (i === e.core ? null : x)) });
  }
}

/** Whether `r` may be preempted for `v`: it has run a tenth of a slice and no interrupt of its own waited behind it. */
function victimOk(s: LatencyFirstState, v: VcpuId, r: RunningVcpu): boolean {
  return r.ran >= s.topology.slice / 10 && s.since[r.vcpu] === Infinity && allowedOn(s.topology, v, r.core);
}

export const latencyFirst: Policy<LatencyFirstState> = {
  name: 'latency-first',
  summary: 'the vCPU with the oldest pending interrupt first; it preempts the vCPU that has run longest',
  init: (t) => freeze({ ...initRunQueue(t), since: t.vcpus.map(() => Infinity) }),
  on,
  pick: (s, core) => {
    const [next, d] = pickWith(s, core, (q) => q.queue.findIndex((v) => allowedOn(q.topology, v, core)));
    // Running now: its interrupt is being taken.
    if (d.vcpu === null) return [next, d];
    return [freeze({ ...next, since: withSince(next.since, d.vcpu, Infinity) }), d];
  },
  place: placeWarm,
  preempt: (s, v, running) => {
    if (s.since[v] === Infinity) return null;
    let best: RunningVcpu | null = null;
    for (const r of running) if (victimOk(s, v, r) && (best === null || r.ran > best.ran)) best = r;
    return best?.core ?? null;
  },
  doorbell: () => true,
};
