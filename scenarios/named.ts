/**
 * The shipped scenarios, by name. Each is plain data, validated like a user's JSON file
 * (`npm start -- --scenario FILE` takes the same fields; `--help` lists these).
 *
 * - default: the comparison `npm start` prints.
 * - wfi-native: the default traffic, one vCPU per core, WFI left to the guest: where direct
 *   injection pays off.
 * - idle-heavy: many small VMs that sleep in WFI between rare interrupts, so nearly every
 *   interrupt finds its vCPU blocked and its vPE not resident: the doorbell path.
 * - overcommit: twice as many vCPUs as cores, so vCPUs queue for cores and vPEs keep changing
 *   residency (and cores: VMOVP).
 * - lpi-stress: the shape of KVM's vgic_lpi_stress selftest (tools/testing/selftests/kvm/arm64/
 *   vgic_lpi_stress.c): several devices with 16 EventIDs each, their LPIs spread round-robin
 *   over the vCPUs of one VM, every event signalled back to back.
 * - explain: the small run `--explain` narrates (one core, one VM, one device; bursts of two
 *   MSIs so one finds the vPE not resident and the next finds it resident).
 * - explain41: the same device VM on a GICv4.1 machine beside a 2-vCPU VM exchanging SGIs, so
 *   `--explain --scenario explain41` also follows a default doorbell and a direct vSGI.
 * - vmovp-global and vmovp-per-vm: 64 single-vCPU VMs on 16 cores whose vCPUs block and wake
 *   all the time, so their vPEs keep moving (VMOVP), with one VMOVP lock for the machine (Linux's
 *   vmovp_lock before 6.12, which a 2024 report from GICv4.1 servers found pinning host CPUs) or
 *   one per VM (its vmapp_lock since): the lock contention and what it does to latency.
 * - mixed-paths: one VM direct and one injected on the same machine (per-VM `path`).
 * - ipi-exchange: vCPUs exchanging SGIs on a GICv4.1: trapped SGIs and list registers against
 *   direct vSGIs (guests/ipi-exchange.ts, scenarios/ipi-figures.ts).
 * - the hard cases of GICv4 scheduling (scenarios/hard-cases.ts).
 */
import { HARD_CASES } from './hard-cases.js';
import { ITS_LIST_SCENARIO } from './its-list-scenario.js';
import type { Scenario, ScenarioSpec } from './scenario.js';
import { validateScenario } from './validate.js';

type Raw = ScenarioSpec;

/** `n` VMs named vm0.. running the device kernel, `vcpus` each. */
function deviceVms(n: number, vcpus: number): Raw['vms'] {
  return Array.from({ length: n }, (_, i) => ({ name: `vm${i}`, vcpus, kernel: 'device' as const }));
}

/** One device of 4 events per listed rate, for vm0, vm1, ... in order (Poisson arrivals). */
function poissonDevices(ratesPerSec: readonly number[]): Raw['devices'] {
  return ratesPerSec.map((ratePerSec, i) => ({ vm: `vm${i}`, events: 4, traffic: { kind: 'poisson' as const, ratePerSec } }));
}

/** The default scenario's traffic: one device per VM at 10k, 20k, 40k and 80k MSIs/s. */
const DEFAULT_RATES = [10_000, 20_000, 40_000, 80_000];

/** The VMOVP lock pair: many small VMs whose vCPUs block and wake on whichever core is idle. */
function vmovpScenario(lock: 'global' | 'per-vm'): Raw {
  const n = 64;
  return {
    name: `vmovp-${lock}`,
    summary: `16 cores, 64 single-vCPU VMs (40k MSIs/s each, WFI trapped, 50 us slices) whose vPEs keep moving between cores: VMOVP serialised by ${lock === 'global' ? 'one lock for the machine' : 'one lock per VM'}`,
    cores: 16,
    path: 'direct',
    wfi: 'trap',
    sliceUs: 50,
    vmovpLock: lock,
    durationUs: 3000,
    vms: Array.from({ length: n }, (_, i) => ({ name: `vm${i}`, vcpus: 1, kernel: 'device' as const })),
    devices: Array.from({ length: n }, (_, i) => ({ vm: `vm${i}`, events: 1, traffic: { kind: 'poisson' as const, ratePerSec: 40_000 } })),
  };
}

const RAW: readonly Raw[] = [
  {
    name: 'default',
    summary: '4 cores, 4 VMs of 2 vCPUs each with a device at 10k-80k MSIs/s, and a 2-vCPU hog VM competing for the cores',
    cores: 4,
    durationUs: 20_000,
    vms: [...deviceVms(4, 2), { name: 'hog', vcpus: 2, kernel: 'hog' }],
    devices: poissonDevices(DEFAULT_RATES),
  },
  {
    // Linux's kvm-arm.wfi_trap_policy=notrap (or a vCPU alone on its core): a guest's WFI stays
    // in the guest, so its vPE stays resident while it sleeps and every vLPI is taken without EL2.
    name: 'wfi-native',
    summary: 'the default traffic to 4 single-vCPU VMs, one per core, with WFI not trapped (TWI=0): vCPUs sleep in the guest and their vPEs stay resident',
    cores: 4,
    wfi: 'native',
    durationUs: 20_000,
    vms: deviceVms(4, 1),
    devices: poissonDevices(DEFAULT_RATES),
  },
  {
    name: 'idle-heavy',
    summary: '2 cores, 8 single-vCPU VMs asleep in WFI between rare interrupts (2k-5k MSIs/s each): nearly every vLPI rings a doorbell',
    cores: 2,
    wfi: 'trap',
    durationUs: 20_000,
    vms: Array.from({ length: 8 }, (_, i) => ({ name: `idle${i}`, vcpus: 1, kernel: 'device' as const })),
    devices: Array.from({ length: 8 }, (_, i) => ({ vm: `idle${i}`, events: 2, traffic: { kind: 'poisson' as const, ratePerSec: 2000 + 1000 * (i % 4) } })),
  },
  {
    name: 'overcommit',
    summary: '2 cores, 8 vCPUs: 3 device VMs of 2 vCPUs at 20k-60k MSIs/s and a 2-vCPU hog, 500 us slices',
    cores: 2,
    sliceUs: 500,
    durationUs: 20_000,
    vms: [...deviceVms(3, 2), { name: 'hog', vcpus: 2, kernel: 'hog' }],
    devices: poissonDevices([20_000, 40_000, 60_000]),
  },
  {
    name: 'lpi-stress',
    summary: 'vgic_lpi_stress shape: 4 cores, one 8-vCPU VM, 8 devices x 16 EventIDs spread over the vCPUs, each device signalling all 16 back to back every 200 us',
    cores: 4,
    durationUs: 5_000,
    vms: [{ name: 'stress', vcpus: 8, kernel: 'device' }],
    devices: Array.from({ length: 8 }, () => ({ vm: 'stress', events: 16, traffic: { kind: 'bursts' as const, burst: 16, gapUs: 0.1, everyUs: 200 } })),
  },
  {
    name: 'explain',
    summary: '1 core, one single-vCPU VM with a device sending bursts of 2 MSIs 2 us apart every 100 us: the first finds the vCPU asleep (vPE not resident), the second finds it running',
    cores: 1,
    wfi: 'trap',
    durationUs: 400,
    vms: [{ name: 'vm0', vcpus: 1, kernel: 'device' }],
    devices: [{ vm: 'vm0', events: 2, traffic: { kind: 'bursts', burst: 2, gapUs: 2, everyUs: 100 } }],
  },
  {
    // 'explain' on a GICv4.1 machine, with a second vCPU so that there are SGIs to follow:
    // `--explain --scenario explain41` adds the direct-v41 cases (default doorbell, direct vSGI).
    name: 'explain41',
    summary: "GICv4.1, 3 cores: 'explain' (a single-vCPU VM whose device sends bursts of 2 MSIs 2 us apart every 100 us) beside a 2-vCPU VM whose vCPUs send each other SGIs",
    cores: 3,
    gicVersion: 4.1,
    wfi: 'trap',
    policy: 'pinned',
    durationUs: 400,
    vms: [
      { name: 'vm0', vcpus: 1, kernel: 'device' },
      { name: 'ipi', vcpus: 2, kernel: 'ipi-exchange' },
    ],
    devices: [{ vm: 'vm0', events: 2, traffic: { kind: 'bursts', burst: 2, gapUs: 2, everyUs: 100 } }],
  },
  {
    // One machine, both paths: the comparison runs it as written (mixed) and all-injected and
    // all-direct, so each VM's figures can be read beside the same VM on the other path.
    name: 'mixed-paths',
    summary: '2 cores, 2 single-vCPU VMs, one per core, WFI not trapped, 40k MSIs/s each: vm-direct takes vLPIs directly while vm-injected takes them through the list registers, on one machine',
    cores: 2,
    wfi: 'native',
    policy: 'pinned',
    durationUs: 10_000,
    vms: [
      { name: 'vm-direct', vcpus: 1, kernel: 'device', path: 'direct' },
      { name: 'vm-injected', vcpus: 1, kernel: 'device', path: 'injected' },
    ],
    devices: [
      { vm: 'vm-direct', events: 4, traffic: { kind: 'poisson', ratePerSec: 40_000 } },
      { vm: 'vm-injected', events: 4, traffic: { kind: 'poisson', ratePerSec: 40_000 } },
    ],
  },
  {
    // Direct vSGIs (GICv4.1): the comparison runs injected and direct-v41 on GICv4.1 and direct on
    // GICv4.0; only direct-v41 grants the guest's nASSGIreq, so only there are its SGIs vSGIs.
    // Its deliveries are SGIs, which the MSI delivery check does not count: the guest logs them
    // (guests/ipi-exchange.ts) and scenarios/ipi-figures.ts reads the figures.
    name: 'ipi-exchange',
    summary: 'GICv4.1, 4 cores, one 4-vCPU VM whose vCPUs send each other SGIs in a ring every 20 us of busy work (no devices): trapped ICC_SGI1R_EL1 + list registers against direct vSGIs',
    cores: 4,
    gicVersion: 4.1,
    wfi: 'native',
    policy: 'pinned',
    durationUs: 2_000,
    vms: [{ name: 'ipi', vcpus: 4, kernel: 'ipi-exchange' }],
    devices: [],
  },
  vmovpScenario('global'),
  vmovpScenario('per-vm'),
  ...HARD_CASES,
  ITS_LIST_SCENARIO,
];

export const SCENARIOS: readonly Scenario[] = RAW.map((r) => validateScenario(r));

export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
