/**
 * The hard cases of GICv4 scheduling, as scenarios (seeded, deterministic). Each makes one
 * problem visible in the trace and in the numbers; test/hypervisor/hard-cases.test.ts asserts
 * what a user should observe (nothing lost, and the counted cost).
 */
import type { ScenarioSpec } from './scenario.js';

export const HARD_CASES: readonly ScenarioSpec[] = [
  {
    name: 'wfi-churn',
    summary: 'a vCPU that enters, executes WFI and leaves before its VPT is parsed, again and again (direct, TWI=1, no Dirty wait on entry)',
    cores: 1,
    path: 'direct',
    wfi: 'trap',
    waitDirtyOnEntry: false,
    costProfile: 'slow-residency',
    durationUs: 4000,
    vms: [{ name: 'churn', vcpus: 1, kernel: 'device' }],
    devices: [{ vm: 'churn', events: 2, traffic: { kind: 'poisson', ratePerSec: 40_000 } }],
  },
  {
    name: 'doorbell-race',
    summary: 'vLPIs and doorbells arriving while their vPE is being descheduled (direct, TWI=1, slow residency changes)',
    cores: 2,
    path: 'direct',
    wfi: 'trap',
    costProfile: 'slow-residency',
    durationUs: 4000,
    vms: [{ name: 'racer', vcpus: 2, kernel: 'device' }],
    devices: [{ vm: 'racer', events: 4, traffic: { kind: 'poisson', ratePerSec: 150_000 } }],
  },
  {
    name: 'migration-storm',
    summary: 'more vCPUs than cores with 30 us slices: vCPUs keep changing cores and VMOVP dominates (direct)',
    cores: 2,
    path: 'direct',
    wfi: 'trap',
    sliceUs: 30,
    durationUs: 4000,
    vms: [
      { name: 'mover0', vcpus: 2, kernel: 'device' },
      { name: 'mover1', vcpus: 2, kernel: 'device' },
      { name: 'hog', vcpus: 2, kernel: 'hog' },
    ],
    devices: [
      { vm: 'mover0', events: 2, traffic: { kind: 'poisson', ratePerSec: 40_000 } },
      { vm: 'mover1', events: 2, traffic: { kind: 'poisson', ratePerSec: 40_000 } },
    ],
  },
  {
    name: 'lr-storm',
    summary: 'bursts of 16 interrupts to one vCPU with a single list register: no-pending maintenance interrupts in a storm (injected)',
    cores: 1,
    path: 'injected',
    listRegs: 1,
    wfi: 'trap',
    durationUs: 2000,
    vms: [{ name: 'stormy', vcpus: 1, kernel: 'device' }],
    devices: [{ vm: 'stormy', events: 16, traffic: { kind: 'bursts', burst: 16, gapUs: 0.05, everyUs: 200 } }],
  },
];
