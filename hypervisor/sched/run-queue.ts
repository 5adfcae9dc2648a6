/**
 * The run-queue state most policies share, and pure helpers over it. Every update returns a
 * new frozen state and never touches the old one.
 *
 * `queue` holds runnable vCPUs not running anywhere, in policy order; `running[core]` is the
 * vCPU a core runs; `last[vcpu]` the core it ran on last (for cache-warm placement).
 *
 * CHOICE: these helpers build the next state with plain immutable array operations rather than
 * immer's `produce`. Measured here, a `produce` on this state costs 5-50 us of host time
 * (proxies on every array access, deep freezing), and a workload whose vCPUs block in WFI
 * calls the policy on every interrupt; plain updates cost about 0.1 us. Policies written by
 * users can use `produce` freely (see the README's example): the contract is the same.
 */
import type { Decision, SchedEvent, Topology, VcpuId } from './policy.js';

export interface RunQueueState {
  readonly topology: Topology;
  readonly queue: readonly VcpuId[];
  readonly running: readonly (VcpuId | null)[];
  readonly last: readonly (number | null)[];
}

/** Puts `v` in the queue (given without `v`) and returns the new queue. */
export type Enqueue = (queue: readonly VcpuId[], v: VcpuId, e: SchedEvent) => readonly VcpuId[];

const back: Enqueue = (q, v) => [...q, v];

// The next state's arrays are copies (the contract: an update never touches the old state), made
// element by element rather than with `map`/`filter` and a closure per element (`slice` of a
// frozen array is slower still); an array whose
// entry already holds the value is shared as it is. The policies run on every block and wake-up.

/** `a` with entry `i` set to `x`: `a` itself when it already holds `x`, else a copy. */
function withAt<T>(a: readonly T[], i: number, x: T): readonly T[] {
  if (a[i] === x) return a;
  const c: T[] = [];
  for (let j = 0; j < a.length; j++) c.push(j === i ? x : a[j]!);
  return c;
}

/** A copy of `a` without entry `i`. */
function without<T>(a: readonly T[], i: number): readonly T[] {
  const c: T[] = [];
  for (let j = 0; j < a.length; j++) if (j !== i) c.push(a[j]!);
  return c;
}

/** A copy of `a` without any entry equal to `x`, which `a` holds at `first` first. */
function withoutAll<T>(a: readonly T[], first: number, x: T): readonly T[] {
  const c: T[] = [];
  for (let j = 0; j < a.length; j++) if (j < first || a[j] !== x) c.push(a[j]!);
  return c;
}

function frozen<S extends RunQueueState>(s: S): S {
  Object.freeze(s.queue);
  Object.freeze(s.running);
  Object.freeze(s.last);
  return Object.freeze(s);
}

export function initRunQueue(t: Topology): RunQueueState {
  return frozen({ topology: Object.freeze(t), queue: [], running: new Array<VcpuId | null>(t.cores).fill(null), last: t.vcpus.map(() => null) });
}

/** The state with `v` neither queued nor running. */
export function detach<S extends RunQueueState>(s: S, v: VcpuId): S {
  const at = s.queue.indexOf(v);
  const core = s.running.indexOf(v);
  if (at < 0 && core < 0) return s;
  return {
    ...s,
    queue: at >= 0 ? withoutAll(s.queue, at, v) : s.queue,
    running: core >= 0 ? withAt(s.running, core, null) : s.running,
  };
}

export function allowedOn(t: Topology, v: VcpuId, core: number): boolean {
  const p = t.vcpus[v]?.pinned ?? null;
  return p === null || p === core;
}

/**
 * The common event handling: runnable/woken/slice-expired/yielded put the vCPU back in the
 * queue (at the back, or where `enqueue` decides); blocked/off take it out.
 */
export function onEvent<S extends RunQueueState>(s: S, e: SchedEvent, enqueue: Enqueue = back): S {
  switch (e.kind) {
    case 'runnable':
    case 'woken':
    case 'slice-expired':
    case 'preempted':
    case 'yielded': {
      const d = detach(s, e.vcpu);
      return frozen({ ...d, queue: enqueue(d.queue, e.vcpu, e) });
    }
    case 'blocked':
    case 'off':
      return frozen(detach(s, e.vcpu));
    case 'core-idle':
      return s.running[e.core] === null ? s : frozen({ ...s, running: withAt(s.running, e.core, null) });
  }
}

/** Takes the queue entry `choose` selects (index, or -1 for none) and runs it on `core`. */
export function pickWith<S extends RunQueueState>(s: S, core: number, choose: (s: S) => number): readonly [S, Decision] {
  const i = choose(s);
  if (i < 0) {
    const idle = s.running[core] === null ? s : frozen({ ...s, running: withAt(s.running, core, null) });
    return [idle, { vcpu: null, slice: 0 }];
  }
  const v = s.queue[i]!;
  const next = frozen({
    ...s,
    queue: without(s.queue, i),
    running: withAt(s.running, core, v),
    last: withAt(s.last, v, core),
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
