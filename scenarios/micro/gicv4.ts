/**
 * GICv4-specific micro-benchmarks, read from the trace of small runs of the shipped hypervisor
 * on the direct path (vPEs, residency, doorbells, VMOVP):
 * - `vcpuLoadToEntry`: from the start of the world switch that loads a vCPU (KVM's vcpu_load)
 *   to its ERET into the guest ('vcpu-load' to the next 'vcpu-enter' on that core), on a core
 *   that switches between two busy single-vCPU VMs every slice; every load makes a vPE
 *   resident and (with `waitDirtyOnEntry`, Linux's choice) waits for the redistributor's VPT
 *   parse. First runs are left out and the VPTs are empty, as in the published Kunpeng 920
 *   figure ("not first run && the VPT is empty").
 * - the doorbell wake-up: irq-latency.ts with an idle guest on the direct path (an MSI to a
 *   blocked vCPU: the vLPI waits in its VPT, the doorbell LPI wakes the hypervisor, which makes
 *   the vPE resident and enters the guest).
 * - `vmovp`: the residency changes that move a vPE to another redistributor (VMOVP and VSYNC
 *   under the VMOVP lock, then the schedule) against those that do not, on two cores sharing
 *   three busy single-vCPU VMs (the round-robin policy moves them between cores).
 */
import { costProfile } from '../../core/costs.js';
import { hogKernel } from '../../guests/samples.js';
import { bootGuests, buildPlatform, type Platform } from '../platform.js';
import { clockOf, type HypervisorChoices } from './kvm-unit-tests.js';

export interface V4Options {
  readonly seed?: number;
  /** Simulated microseconds of the run (default 2,000). */
  readonly durationUs?: number;
  /** Hypervisor choices. */
  readonly platform?: HypervisorChoices;
}

function platformFor(name: string, cores: number, vms: number, pinned: boolean, o: V4Options) {
  const p = costProfile(name);
  if (p === undefined) throw new Error(`unknown cost profile ${name}`);
  const pl = buildPlatform({
    cores, clockHz: clockOf(p), seed: o.seed ?? 1, trace: true, costs: p.costs, bookkeeping: p.bookkeeping,
    gic: { version: 4, listRegs: p.machine?.listRegs ?? 4 }, sliceUs: 50, ...o.platform,
    vms: Array.from({ length: vms }, (_, i) => ({ name: `vm${i}`, vcpus: 1, injection: 'direct' as const, pinned: pinned ? [0] : undefined, kernel: hogKernel })),
  });
  bootGuests(pl);
  pl.m.trace.clear();
  pl.m.runFor(pl.m.usToCycles(o.durationUs ?? 2000));
  return pl;
}

/**
 * Mean ns from a vCPU load to its guest entry (not first runs), and how many were seen. The load
 * starts at its 'vcpu-load' record, or earlier where the vPE is made resident before the rest
 * of the load (vptParseWait 'before-entry': the 'vpe-schedule' record's start).
 */
export function vcpuLoadToEntry(name: string, o: V4Options = {}): { ns: number; count: number } {
  const pl = platformFor(name, 1, 2, true, o);
  const open = new Map<number, number>();
  let sum = 0;
  let count = 0;
  const start = (core: number, t: number): void => void open.set(core, Math.min(open.get(core) ?? Infinity, t));
  for (const r of pl.m.trace.records) {
    if (r.kind === 'vcpu-load') start(r.core, r.t);
    else if (r.kind === 'vpe-schedule') start(r.core, r.t - r.cycles);
    else if (r.kind === 'vcpu-enter') {
      const t0 = open.get(r.core);
      open.delete(r.core);
      if (t0 === undefined || !r.switched) continue;
      sum += r.t - t0;
      count++;
    }
  }
  if (count === 0) throw new Error(`${name}: no vCPU load seen`);
  return { ns: (sum / count / pl.m.clockHz) * 1e9, count };
}

/** vPE schedules' cycles in the trace of `pl`, moved (VMOVP) or not: [count, cycles]. */
function schedules(pl: Platform, moved: boolean): [number, number] {
  let n = 0;
  let cycles = 0;
  for (const r of pl.m.trace.records) {
    if (r.kind !== 'vpe-schedule' || r.vmovp !== moved) continue;
    n++;
    cycles += r.cycles;
  }
  return [n, cycles];
}

/**
 * Mean ns of a vPE schedule that moves it (VMOVP: two cores sharing three VMs, where every
 * schedule finds the vPE last ran on the other core) and of one that does not (one core
 * switching between two VMs).
 */
export function vmovp(name: string, o: V4Options = {}): { movedNs: number; stayedNs: number; moves: number } {
  const two = platformFor(name, 2, 3, false, o);
  const one = platformFor(name, 1, 2, true, o);
  const [moved, movedCycles] = schedules(two, true);
  const [stayed, stayedCycles] = schedules(one, false);
  if (moved === 0 || stayed === 0) throw new Error(`${name}: no vPE moved (${moved}) or stayed (${stayed})`);
  const ns = (c: number, n: number): number => (c / n / two.m.clockHz) * 1e9;
  return { movedNs: ns(movedCycles, moved), stayedNs: ns(stayedCycles, stayed), moves: moved };
}
