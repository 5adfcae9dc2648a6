/**
 * What a run measures: the jobs of the full run and of the quick one, and the scaling curves
 * (which parameter grows, over which points, with the rest of the system fixed).
 */
import type { Job } from './jobs.js';
import { BASE_PARAMS, type Path, type SteadyParams } from './steady.js';

export const PATHS: readonly Path[] = ['direct', 'injected'];

export type CurveName = 'cores' | 'vcpus' | 'events' | 'idBits' | 'devices';

export interface CurveDef {
  readonly name: CurveName;
  readonly label: string;
  /** What stays fixed while the parameter grows. */
  readonly around: string;
  readonly full: readonly number[];
  readonly quick: readonly number[];
  /** The system at point `x`. */
  readonly params: (x: number, path: Path) => SteadyParams;
}

export const CURVES: readonly CurveDef[] = [
  {
    name: 'cores',
    label: 'cores',
    around: 'the device VM pinned to core 0; the other cores idle in the hypervisor',
    full: [1, 2, 4, 8, 16, 32, 64],
    quick: [1, 4, 16],
    params: (x, path) => ({ ...BASE_PARAMS, path, cores: x }),
  },
  {
    name: 'vcpus',
    label: 'vCPUs',
    around: '2 cores; the device vCPU on core 0, the other vCPUs idle (WFI) in 8-vCPU VMs on core 1',
    full: [1, 4, 16, 64, 256, 1024],
    quick: [1, 16, 64],
    params: (x, path) => ({ ...BASE_PARAMS, path, cores: 2, vcpus: x }),
  },
  {
    name: 'events',
    label: 'mapped events',
    around: 'N mapped events (event 0 of the device fires; past 65,536, the 16-bit EventIDs of the guest\'s ITS, on more quiet devices of 65,536 events), 16 guest LPIs, gic.idBits 20',
    full: [16, 256, 4096, 65536, 1_000_000],
    quick: [16, 16384, 65536],
    params: (x, path) => ({ ...BASE_PARAMS, path, events: x, idBits: 20, eventIdBits: 20 }),
  },
  {
    name: 'idBits',
    label: 'LPI ID bits',
    around: 'gic.idBits of the host GIC (guests keep 16-bit INTIDs)',
    full: [14, 16, 18, 20, 22, 24],
    quick: [14, 19, 24],
    params: (x, path) => ({ ...BASE_PARAMS, path, idBits: x }),
  },
  {
    name: 'devices',
    label: 'assigned devices',
    around: 'N devices assigned to the VM, one event each; device 1 fires',
    full: [1, 4, 16, 64, 256, 1024, 4096],
    quick: [1, 64, 512],
    params: (x, path) => ({ ...BASE_PARAMS, path, devices: x }),
  },
];

/** The doorbell-path job's point: 1 core, 1 VM, guest WFI trapped, one MSI every 10 us (20,000 cycles at 2 GHz). */
export const DOORBELL_PARAMS: SteadyParams = Object.freeze({ ...BASE_PARAMS, path: 'direct', trapWfi: true, periodCycles: 20_000 });

/**
 * The crossing job's point: steady-direct with its device started 120 M cycles before 2^31
 * cycles, so that after the warm-up of 20,000 interrupts (80 M cycles) the first measured
 * window of 20,000 crosses 2^31 in its middle.
 */
export const CLIFF_PARAMS: SteadyParams = Object.freeze({ ...BASE_PARAMS, path: 'direct', startCycles: 2 ** 31 - 120_000_000 });

export function curveJobId(c: CurveName, path: Path): string {
  return `scale-${c}-${path}`;
}

export function planJobs(quick: boolean): Job[] {
  const jobs: Job[] = [];
  const steadyW = quick ? { warmIrqs: 5_000, windowIrqs: 8_000, reps: 5 } : { warmIrqs: 20_000, windowIrqs: 20_000, reps: 12 };
  const traceW = quick ? { warmIrqs: 2_000, windowIrqs: 4_000, reps: 3 } : { warmIrqs: 10_000, windowIrqs: 10_000, reps: 12 };
  const curveW = quick ? { warmIrqs: 1_500, windowIrqs: 4_000, reps: 3 } : { warmIrqs: 5_000, windowIrqs: 10_000, reps: 8 };
  for (const path of PATHS) jobs.push({ kind: 'steady', id: `steady-${path}`, points: [{ ...BASE_PARAMS, path }], ...steadyW, processes: 3 });
  // The GICv4.0 doorbell path: WFI trapped, so between two MSIs (10 us apart) the vCPU blocks,
  // its vPE leaves the core, the vLPI rings the doorbell and the hypervisor schedules it back in.
  jobs.push({ kind: 'steady', id: 'doorbell-direct', points: [DOORBELL_PARAMS], ...(quick ? { warmIrqs: 1_000, windowIrqs: 2_000, reps: 4 } : { warmIrqs: 4_000, windowIrqs: 5_000, reps: 10 }), processes: 3 });
  // Past 2^31 simulated cycles (1.07 s at 2 GHz): the machine runs to just before it, the first
  // window crosses it, the others run beyond (users sweep seconds, not milliseconds).
  if (!quick) jobs.push({ kind: 'steady', id: 'cliff-direct', points: [CLIFF_PARAMS], warmIrqs: 20_000, windowIrqs: 20_000, reps: 6, processes: 1 });
  for (const path of PATHS) jobs.push({ kind: 'steady', id: `trace-${path}`, points: [{ ...BASE_PARAMS, path, trace: true }], ...traceW, processes: 3 });
  for (const path of PATHS) jobs.push({ kind: 'default', id: `default-${path}`, path, reps: quick ? 2 : 5, processes: 3 });
  jobs.push({ kind: 'its', id: 'its-engine', feed: 'engine', commands: quick ? 30_000 : 300_000, reps: quick ? 2 : 5, processes: 2 });
  jobs.push({ kind: 'its', id: 'its-driver', feed: 'driver', commands: quick ? 15_000 : 150_000, reps: quick ? 2 : 5, processes: 2 });
  jobs.push({ kind: 'locks', id: 'locks', perCore: quick ? 2_000 : 20_000, reps: quick ? 1 : 3, processes: 2 });
  for (const c of CURVES) {
    for (const path of PATHS) jobs.push({ kind: 'steady', id: curveJobId(c.name, path), points: (quick ? c.quick : c.full).map((x) => c.params(x, path)), ...curveW });
  }
  jobs.push({ kind: 'core', id: 'core', ops: quick ? 300_000 : 3_000_000, calls: quick ? 50_000 : 500_000 });
  return jobs;
}

/** The value of the curve's parameter in `p`. */
export function curveX(c: CurveName, p: SteadyParams): number {
  return p[c];
}
