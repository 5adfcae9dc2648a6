/**
 * Glue between the hypervisor and its pluggable policy: keeps the policy's immutable state,
 * feeds it events, asks it for decisions, and records every decision in the trace.
 */
import type { Trace } from '../core/trace.js';
import type { Decision, Policy, RunningVcpu, SchedEvent, Topology, VcpuId } from './sched/policy.js';
import './trace-kinds.js';

export class Scheduler {
  private state: unknown;
  decisions = 0;
  idleDecisions = 0;
  /** Preemptions the policy decided. */
  preemptions = 0;
  private lastEvent = 'boot';

  constructor(
    readonly policy: Policy<any>,
    readonly topology: Topology,
    private readonly trace: Trace,
    private readonly now: () => number,
  ) {
    this.state = policy.init(topology);
  }

  event(e: SchedEvent): void {
    this.state = this.policy.on(this.state, e);
    this.lastEvent = e.kind;
  }

  pick(core: number): Decision {
    const [s, d] = this.policy.pick(this.state, core, this.now());
    this.state = s;
    this.decisions++;
    if (d.vcpu === null) this.idleDecisions++;
    if (this.trace.on) this.trace.emit({ t: this.now(), core, el: 2, kind: 'sched-decision', decision: d.vcpu ?? -1, slice: d.slice, event: this.lastEvent });
    return d;
  }

  place(vcpu: VcpuId, idleCores: readonly number[]): number | null {
    return idleCores.length === 0 ? null : this.policy.place(this.state, vcpu, idleCores);
  }

  /** Asks the policy whether runnable `vcpu` displaces one of `running` now; records a yes. */
  preempt(vcpu: VcpuId, running: readonly RunningVcpu[], core: number): number | null {
    const p = this.policy.preempt;
    if (p === undefined || running.length === 0) return null;
    const target = p(this.state, vcpu, running, this.now());
    if (target === null) return null;
    const victim = running.find((r) => r.core === target);
    if (victim === undefined) return null; // not a running core: nothing to preempt
    this.preemptions++;
    if (this.trace.on) this.trace.emit({ t: this.now(), core, el: 2, kind: 'sched-preempt', vcpu, target, victim: victim.vcpu });
    return target;
  }

  doorbell(vcpu: VcpuId): boolean {
    return this.policy.doorbell(this.state, vcpu);
  }

  /** The policy's state (for tests and reports). */
  get snapshot(): unknown {
    return this.state;
  }
}
