/**
 * Runs the kvm-unit-tests arm/micro-bench set (scenarios/micro/kut-guest.ts) inside a VM of the
 * shipped hypervisor on a machine of one cost profile, as the suite runs (arm/unittests.cfg
 * [micro-bench]: smp = 2): one VM with two vCPUs, each pinned alone on its own core, guest WFI
 * trapped (the guest never executes it), the guest's device of the `lpi` test mapped through
 * its own emulated ITS. Returns the mean ns per iteration of each test the way the suite prints
 * it (total counter ticks x ns per tick / iterations).
 */
import { costProfile, type BookkeepingCosts, type CostProfile } from '../../core/costs.js';
import { GUEST_GITS } from '../../hypervisor/layout.js';
import { buildPlatform, bootGuests, type Platform, type PlatformOptions } from '../platform.js';
import { KUT_LPI, KUT_TESTS, KutKernel, type KutTest } from './kut-guest.js';

/** The hypervisor choices a micro-benchmark can be run with (hypervisor/config.ts). */
export type HypervisorChoices = Pick<PlatformOptions, 'trapWfi' | 'waitDirtyOnEntry' | 'vptParseWait' | 'residency' | 'opportunisticWfi'>;

export interface KutOptions {
  /** Iterations of each test but timer_10ms (the suite: 65,536). */
  readonly iterations: number;
  /** Iterations of timer_10ms (the suite: 256). */
  readonly timerIterations: number;
  readonly tests?: readonly KutTest[];
  readonly seed?: number;
  /** The hypervisor's bookkeeping instead of the profile's (to show what one entry does). */
  readonly bookkeeping?: BookkeepingCosts;
  /** Hypervisor choices (scenarios/micro/options.ts) passed to the platform. */
  readonly platform?: HypervisorChoices;
  /** How the VM's device interrupts are delivered (default 'list-register'; the tests here use no device of the host). */
  readonly injection?: 'list-register' | 'direct';
  /** A GICv4.1 machine (needs `injection: 'direct'` for vSGIs: the suite's ipi_hw). */
  readonly v41?: boolean;
  /** Trace the run (the platform is handed to `inspect` after it). */
  readonly trace?: boolean;
  readonly inspect?: (p: Platform, k: KutKernel) => void;
}

export interface KutFigure {
  readonly test: KutTest;
  readonly iterations: number;
  /** Mean ns per iteration. */
  readonly ns: number;
}

/** The clock a profile runs at: its machine's, or the scenario default (2 GHz). */
export function clockOf(p: CostProfile): number {
  return (p.machine?.clockMHz ?? 2000) * 1e6;
}

export function runKut(profileName: string, o: KutOptions): KutFigure[] {
  const p = costProfile(profileName);
  if (p === undefined) throw new Error(`unknown cost profile ${profileName}`);
  const tests = o.tests ?? KUT_TESTS;
  let k!: KutKernel;
  const pl = buildPlatform({
    cores: 2,
    clockHz: clockOf(p),
    seed: o.seed ?? 1,
    trace: o.trace ?? false,
    costs: p.costs,
    bookkeeping: o.bookkeeping ?? p.bookkeeping,
    // A VM with vPEs needs a GICv4 (the machine's own GIC otherwise).
    gic: { version: o.injection === 'direct' ? 4 : (p.machine?.gicVersion ?? 4), listRegs: p.machine?.listRegs ?? 4, ...(o.v41 === true ? { version: 4 as const, v41: true } : {}) },
    ...o.platform,
    vms: [
      {
        name: 'micro-bench',
        vcpus: 2,
        pinned: [0, 1],
        injection: o.injection ?? 'list-register',
        kernel: (c) => {
          k = new KutKernel(
            {
              ...c,
              ppis: [27],
              its: GUEST_GITS,
              lpis: [{ intid: KUT_LPI.intid, priority: 0xa0 }],
              devices: [{ deviceId: KUT_LPI.deviceId, events: [{ eventId: KUT_LPI.eventId, intid: KUT_LPI.intid, cpu: 1 }] }],
            },
            tests,
            (t) => (t === 'timer_10ms' ? o.timerIterations : o.iterations),
          );
          return k;
        },
      },
    ],
  });
  k.cyclesPerTick = pl.m.clockHz / pl.m.cntfrq;
  bootGuests(pl);
  const m = pl.m;
  const limit = m.now + m.usToCycles(60_000_000);
  while (!k.done && m.now < limit) {
    if (m.run(Math.min(limit, m.now + m.usToCycles(1000))) === 'halted') break;
  }
  o.inspect?.(pl, k);
  if (!k.done) throw new Error(`${profileName}: the micro-bench guest did not finish (${k.results.length} of ${tests.length} tests done)`);
  return k.results.map((r) => ({ test: r.test, iterations: r.iterations, ns: (r.ticks * (1e9 / r.cntfrq)) / r.iterations }));
}
