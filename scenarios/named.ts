/**
 * The shipped scenarios, by name. Each is plain data, validated like a user's JSON file.
 */
import type { Scenario } from './scenario.js';
import { validateScenario } from './validate.js';

type Raw = Omit<Partial<Scenario>, 'vms' | 'devices'> & Pick<Scenario, 'name' | 'summary' | 'vms' | 'devices'>;

const RAW: readonly Raw[] = [
  {
    name: 'default',
    summary: '4 cores, 4 VMs of 2 vCPUs each with a device at 10k-80k MSIs/s, and a 2-vCPU hog VM competing for the cores',
    cores: 4,
    durationUs: 20_000,
    vms: [
      { name: 'vm0', vcpus: 2, kernel: 'device' },
      { name: 'vm1', vcpus: 2, kernel: 'device' },
      { name: 'vm2', vcpus: 2, kernel: 'device' },
      { name: 'vm3', vcpus: 2, kernel: 'device' },
      { name: 'hog', vcpus: 2, kernel: 'hog' },
    ],
    devices: [
      { vm: 'vm0', events: 4, traffic: { kind: 'poisson', ratePerSec: 10_000 } },
      { vm: 'vm1', events: 4, traffic: { kind: 'poisson', ratePerSec: 20_000 } },
      { vm: 'vm2', events: 4, traffic: { kind: 'poisson', ratePerSec: 40_000 } },
      { vm: 'vm3', events: 4, traffic: { kind: 'poisson', ratePerSec: 80_000 } },
    ],
  },
];

export const SCENARIOS: readonly Scenario[] = RAW.map((r) => validateScenario(r));

export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
