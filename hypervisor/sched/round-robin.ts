/** Round-robin: one FIFO of runnable vCPUs; every core takes the oldest it may run, for one slice. */
import type { Policy } from './policy.js';
import { firstAllowed, initRunQueue, onEvent, pickWith, placeWarm, type RunQueueState } from './run-queue.js';

export const roundRobin: Policy<RunQueueState> = {
  name: 'round-robin',
  summary: 'one FIFO of runnable vCPUs, a fixed time slice each',
  init: initRunQueue,
  on: (s, e) => onEvent(s, e),
  pick: (s, core) => pickWith(s, core, (q) => firstAllowed(q, core)),
  place: placeWarm,
  doorbell: () => true,
};
