/**
 * `its-list`: vCPUs that keep changing cores (30 us slices, more vCPUs than cores) on a GICv4.0
 * machine with three ITSs and GITS_TYPER.VMOVP = 0, each VM with a device on every ITS: every
 * move is a VMOVP on each of the three ITSs, with one SequenceNumber and an ITSList naming them,
 * under the machine's one VMOVP lock (hypervisor/direct.ts, Linux's its_send_vmovp). Compare
 * with one ITS, or with VMOVP = 1, by `--grid itsCount=1,3 itsVmovp=0,1` (devices without an
 * `its` spread over the ITSs: device i on ITS i mod itsCount).
 */
import type { ScenarioSpec } from './scenario.js';

export const ITS_LIST_SCENARIO: ScenarioSpec = {
  name: 'its-list',
  summary: 'vCPUs changing cores on 3 ITSs with GITS_TYPER.VMOVP = 0: VMOVP on every ITS with ITSList, one lock (direct)',
  cores: 2,
  path: 'direct',
  wfi: 'trap',
  sliceUs: 30,
  durationUs: 4000,
  itsCount: 3,
  itsVmovp: 0,
  vms: [
    { name: 'mover0', vcpus: 2, kernel: 'device' },
    { name: 'mover1', vcpus: 2, kernel: 'device' },
    { name: 'hog', vcpus: 2, kernel: 'hog' },
  ],
  // Device i on ITS i mod 3: each mover has one device on every ITS.
  devices: [0, 1, 2].flatMap(() => [
    { vm: 'mover0', events: 1, traffic: { kind: 'poisson', ratePerSec: 15_000 } } as const,
    { vm: 'mover1', events: 1, traffic: { kind: 'poisson', ratePerSec: 15_000 } } as const,
  ]),
};
