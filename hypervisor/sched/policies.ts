/** The shipped policies, by name. */
import { fairShare } from './fair-share.js';
import { fixedPriority } from './fixed-priority.js';
import { latencyFirst } from './latency-first.js';
import { pinned } from './pinned.js';
import type { Policy } from './policy.js';
import { roundRobin } from './round-robin.js';

export const POLICIES: readonly Policy<any>[] = [roundRobin, fixedPriority, latencyFirst, pinned, fairShare];

export function policyNamed(name: string): Policy<any> | undefined {
  return POLICIES.find((p) => p.name === name);
}
