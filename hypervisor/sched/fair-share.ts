/** Fair share, a user's policy written from scratch with immer: run whoever has had the core least. */
import { produce } from 'immer';
import type { Policy, Topology, VcpuId } from './policy.js';

interface FairState {
  readonly t: Topology;
  readonly runnable: readonly VcpuId[];
  readonly used: readonly number[]; // cycles each vCPU has run
  readonly started: readonly number[]; // when each running vCPU got its core
}

export const fairShare: Policy<FairState> = {
  name: 'fair-share',
  summary: 'the runnable vCPU that has had the least core time runs next',
  init: (t) => ({ t, runnable: [], used: t.vcpus.map(() => 0), started: t.vcpus.map(() => 0) }),
  on: (s, e) =>
    produce(s, (d) => {
      if (e.kind === 'core-idle') return;
      const v = e.vcpu;
      if (e.kind === 'slice-expired' || e.kind === 'preempted' || e.kind === 'yielded' || e.kind === 'blocked') d.used[v]! += e.at - d.started[v]!;
      d.runnable = d.runnable.filter((x) => x !== v);
      if (e.kind !== 'blocked' && e.kind !== 'off') d.runnable.push(v);
    }),
  pick: (s, core, at) => {
    const ok = s.runnable.filter((v) => (s.t.vcpus[v]!.pinned ?? core) === core);
    if (ok.length === 0) return [s, { vcpu: null, slice: 0 }];
    const v = ok.reduce((a, b) => (s.used[b]! < s.used[a]! ? b : a));
    const next = produce(s, (d) => {
      d.runnable = d.runnable.filter((x) => x !== v);
      d.started[v] = at;
    });
    return [next, { vcpu: v, slice: s.t.slice }];
  },
  place: (s, v, idle) => idle.find((c) => (s.t.vcpus[v]!.pinned ?? c) === c) ?? null,
  doorbell: () => true,
};
