/** Fixed priority: the runnable vCPU with the largest `priority` runs first; FIFO among equals. */
import type { Policy } from './policy.js';
import { allowedOn, initRunQueue, onEvent, pickWith, placeWarm, type RunQueueState } from './run-queue.js';

export const fixedPriority: Policy<RunQueueState> = {
  name: 'fixed-priority',
  summary: 'highest vCPU priority first, FIFO among equal priorities',
  init: initRunQueue,
  on: (s, e) => onEvent(s, e),
  pick: (s, core) =>
    pickWith(s, core, (q) => {
      let best = -1;
      q.queue.forEach((v, i) => {
        if (!allowedOn(q.topology, v, core)) return;
        if (best < 0 || q.topology.vcpus[v]!.priority > q.topology.vcpus[q.queue[best]!]!.priority) best = i;
      });
      return best;
    }),
  place: placeWarm,
  doorbell: () => true,
};
