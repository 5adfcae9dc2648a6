/**
 * Interrupt-aware: a vCPU woken by an interrupt or a doorbell goes to the front of the queue, so
 * it runs at the next scheduling decision; everything else is round-robin.
 */
import type { Policy } from './policy.js';
import { firstAllowed, initRunQueue, onEvent, pickWith, placeWarm, type RunQueueState } from './run-queue.js';

export const interruptAware: Policy<RunQueueState> = {
  name: 'interrupt-aware',
  summary: 'vCPUs woken by an interrupt or doorbell run next; otherwise round-robin',
  init: initRunQueue,
  on: (s, e) => onEvent(s, e, (q, v, ev) => (ev.kind === 'woken' && (ev.reason === 'interrupt' || ev.reason === 'doorbell') ? [v, ...q] : [...q, v])),
  pick: (s, core) => pickWith(s, core, (q) => firstAllowed(q, core)),
  place: placeWarm,
  doorbell: () => true,
};
