/**
 * Pinned: every vCPU runs on one core only, its configured `pinned` core or (vCPU id mod cores);
 * a core round-robins among its own vCPUs.
 */
import type { Policy, Topology, VcpuId } from './policy.js';
import { initRunQueue, onEvent, pickWith, type RunQueueState } from './run-queue.js';

export function homeCore(t: Topology, v: VcpuId): number {
  return t.vcpus[v]?.pinned ?? v % t.cores;
}

export const pinned: Policy<RunQueueState> = {
  name: 'pinned',
  summary: 'each vCPU on a fixed core (configured, else id mod cores), round-robin per core',
  init: initRunQueue,
  on: (s, e) => onEvent(s, e),
  pick: (s, core) => pickWith(s, core, (q) => q.queue.findIndex((v) => homeCore(q.topology, v) === core)),
  place: (s, v, idle) => {
    const home = homeCore(s.topology, v);
    return idle.includes(home) ? home : null;
  },
  doorbell: () => true,
};
