/**
 * The run-queue state most policies share, and pure helpers over it (immer drafts).
 * `queue` holds runnable vCPUs not running anywhere, in policy order; `running[core]` is the
 * vCPU a core runs; `last[vcpu]` the core it ran on last (for cache-warm placement).
 */
import { produce, type Draft } from 'immer';
import type { Decision, SchedEvent, Topology, VcpuId } from './policy.js';

export interface RunQueueState {
  readonly topology: Topology;
  readonly queue: readonly VcpuId[];
  readonly running: readonly (VcpuId | null)[];
  readonly last: readonly (number | null)[];
}

export function initRunQueue(t: Topology): RunQueueState {
  return { topology: t, queue: [], running: new Array<VcpuId | null>(t.cores).fill(null), last: t.vcpus.map(() => null) };
}

/** Removes `v` from the queue and from whatever core runs it. */
export function detach(d: Draft<RunQueueState>, v: VcpuId): void {
  const i = d.queue.indexOf(v);
  if (i >= 0) d.queue.splice(i, 1);
  const c = d.running.indexOf(v);
  if (c >= 0) d.running[c] = null;
}

export function allowedOn(t: Topology, v: VcpuId, core: number): boolean {
  const p = t.vcpus[v]?.pinned ?? null;
  return p === null || p === core;
}

/**
 * The common event handling: runnable/woken/slice-expired/yielded put the vCPU back in the
 * queue (at the back, or where `enqueue` decides); blocked/off take it out.
 */
export function onEvent<S extends RunQueueState>(s: S, e: SchedEvent, enqueue: (d: Draft<S>, v: VcpuId, e: SchedEvent) => void = (d, v) => void d.queue.push(v)): S {
  return produce(s, (d) => {
    switch (e.kind) {
      case 'runnable':
      case 'woken':
      case 'slice-expired':
      case 'yielded':
        detach(d as Draft<RunQueueState>, e.vcpu);
        enqueue(d, e.vcpu, e);
        break;
      case 'blocked':
      case 'off':
        detach(d as Draft<RunQueueState>, e.vcpu);
        break;
      case 'core-idle':
        d.running[e.core] = null;
        break;
    }
  });
}

/** Takes the queue entry `choose` selects (index, or -1 for none) and runs it on `core`. */
export function pickWith<S extends RunQueueState>(s: S, core: number, choose: (s: S) => number): readonly [S, Decision] {
  const i = choose(s);
  if (i < 0) {
    return [produce(s, (d) => void (d.running[core] = null)), { vcpu: null, slice: 0 }];
  }
  const v = s.queue[i]!;
  const next = produce(s, (d) => {
    d.queue.splice(i, 1);
    d.running[core] = v;
    d.last[v] = core;
  });
  return [next, { vcpu: v, slice: s.topology.slice }];
}

/** First queue index allowed on `core`, or -1. */
export function firstAllowed(s: RunQueueState, core: number): number {
  return s.queue.findIndex((v) => allowedOn(s.topology, v, core));
}

/** Prefer the vCPU's last core when idle, then any idle core it may run on. */
export function placeWarm(s: RunQueueState, v: VcpuId, idle: readonly number[]): number | null {
  const last = s.last[v] ?? null;
  if (last !== null && idle.includes(last) && allowedOn(s.topology, v, last)) return last;
  return idle.find((c) => allowedOn(s.topology, v, c)) ?? null;
}
