/**
 * The steady-state interrupt benchmark: one VM with one vCPU running the device kernel with a
 * small handler, one device at a fixed periodic rate into it, WFI native (HCR_EL2.TWI = 0) so
 * the vCPU stays on its core (and on the direct path its vPE stays resident) between
 * interrupts. Around that fixed workload the system can grow, for the scaling curves:
 *
 * - `cores`: more PEs, idle in the hypervisor's idle loop (the VM is pinned to core 0);
 * - `vcpus`: idle vCPUs (the idle kernel, WFI) in VMs of 8 vCPUs pinned to core 1 (the machine
 *   has 2 cores for every point of that curve, so only the vCPU count changes);
 * - `events`: more events mapped (ITS and hypervisor tables), quiet, spread over 16 guest LPIs of
 *   the vCPU (several events per guest LPI): the device's, and past 65,536 (its ITS's 16-bit
 *   EventIDs) those of more quiet devices of 65,536 events each;
 * - `devices`: more devices assigned to the VM, one quiet event each;
 * - `idBits`: the host's LPI INTID space (gic.idBits).
 *
 * The platform boots (until every guest CPU is up), the device starts, a warm-up runs, then
 * each measured window is `windowIrqs` device periods of simulated time; the host time of
 * `m.run` over the window is what is measured, deliveries are counted in the guest's log.
 * Several points (a scaling curve, trace on and off) are measured in one process with their
 * windows interleaved (`runSteady`).
 */
import type { PlatformVm } from '../scenarios/platform.js';
import { addDevice, buildPlatform, type Platform } from '../scenarios/platform.js';
import { deviceKernel, type DeviceKernel, idleKernel } from '../guests/samples.js';
import { collectGarbage, load1, memorySnapshot } from './host.js';
import { fastest, median } from './stats.js';

export type Path = 'direct' | 'injected';

export interface SteadyParams {
  readonly path: Path;
  readonly cores: number;
  /** vCPUs in the system: the device's vCPU plus `vcpus - 1` idle ones. */
  readonly vcpus: number;
  /** Events of the device that are mapped (only event 0 fires). */
  readonly events: number;
  /** Devices assigned (only device 1 fires). */
  readonly devices: number;
  /** gic.idBits of the host GIC. */
  readonly idBits: number;
  /** gic.its.eventIdBits (default 16; the events curve needs 20 for 1,000,000 events). */
  readonly eventIdBits?: number;
  readonly trace: boolean;
  /** HCR_EL2.TWI (trap guest WFI; default false: WFI native). Trapped, the vCPU blocks between interrupts and (direct path) each vLPI rings its vPE's doorbell. */
  readonly trapWfi?: boolean;
  /** Cycles between two MSIs of the device (default PERIOD). */
  readonly periodCycles?: number;
  /** Run the machine to this cycle before the warm-up (the 2^31-cycle crossing job; default: right after boot). */
  readonly startCycles?: number;
}

export const BASE_PARAMS: SteadyParams = Object.freeze({ path: 'direct', cores: 1, vcpus: 1, events: 1, devices: 1, idBits: 16, trace: false });

/** Cycles between two MSIs of the device (2 us at 2 GHz: 500,000 interrupts per simulated second). */
export const PERIOD = 4000;
/** Cycles of work the guest handler does per interrupt. */
export const HANDLER_CYCLES = 50;
/** Scheduler slice (us). Re-picking the same vCPU at a slice end does no world switch. */
export const SLICE_US = 10_000;
const LPI0 = 8192 + 32;
const GUEST_LPIS = 16;
const IDLE_VM_VCPUS = 8;

export interface WindowSample {
  readonly irqs: number;
  readonly hostMs: number;
  readonly ops: number;
  readonly cycles: number;
  /** Trace records emitted in the window (tracing on), else 0. */
  readonly records: number;
}

export interface PointResult {
  readonly params: SteadyParams;
  readonly ok: boolean;
  /** Why the point could not be measured (ok = false). */
  readonly error?: string;
  readonly bootHostMs: number;
  readonly bootSimMs: number;
  /** Host memory the booted platform retains (after a full GC, before the device starts). */
  readonly retained: { readonly heapUsed: number; readonly arrayBuffers: number };
  readonly samples: readonly WindowSample[];
  /** Best window (least host time per interrupt). */
  readonly nsPerIrq: number;
  readonly medianNsPerIrq: number;
  readonly irqsPerSec: number;
  /** Simulated cycles (machine clock) per host second. */
  readonly cyclesPerSec: number;
  /** Host ns per simulated op (all PEs). */
  readonly nsPerOp: number;
  readonly opsPerIrq: number;
  /** Trace records per interrupt (tracing on). */
  readonly recordsPerIrq: number;
}

export interface SteadyResult {
  readonly points: readonly PointResult[];
  readonly load: readonly [number, number];
  /** Peak resident set of the process (bytes). */
  readonly peakRss: number;
}

/** Events one device maps at most: the guest's emulated ITS has 16 EventID bits. */
const EVENTS_PER_DEVICE = 65_536;
/** Host DeviceID of the first extra device of the events curve. */
const EXTRA_EVENT_DEVICES = 60_000;

/** Builds the platform of `p` (not booted yet: `buildPlatform` only powers core 0 on). */
export function buildSteady(p: SteadyParams): Platform {
  const injection = p.path === 'direct' ? 'direct' : 'list-register';
  // A guest's emulated ITS has 16-bit EventIDs (hypervisor/vits, as KVM's): past 65,536 the
  // events are mapped on more quiet devices (host DeviceIDs from EXTRA_EVENT_DEVICES), so that the
  // ITS and hypervisor tables still hold `p.events` mapped events.
  const chunk = (first: number): { eventId: number; vcpu: number; vintid: number }[] =>
    Array.from({ length: Math.min(EVENTS_PER_DEVICE, p.events - first) }, (_, e) => ({ eventId: e, vcpu: 0, vintid: LPI0 + ((first + e) % GUEST_LPIS) }));
  const devices = [{ deviceId: 1, events: chunk(0) }];
  for (let first = EVENTS_PER_DEVICE, k = 0; first < p.events; first += EVENTS_PER_DEVICE, k++) devices.push({ deviceId: EXTRA_EVENT_DEVICES + k, events: chunk(first) });
  for (let d = 2; d <= p.devices; d++) devices.push({ deviceId: d, events: [{ eventId: 0, vcpu: 0, vintid: LPI0 + (d % GUEST_LPIS) }] });
  const vms: PlatformVm[] = [{ name: 'dev', vcpus: 1, injection, pinned: [0], kernel: (c) => deviceKernel(c, { handlerCycles: HANDLER_CYCLES }), devices }];
  const idleCore = Math.min(1, p.cores - 1);
  for (let left = p.vcpus - 1, i = 0; left > 0; i++) {
    const n = Math.min(IDLE_VM_VCPUS, left);
    left -= n;
    vms.push({ name: `idle${i}`, vcpus: n, injection, ramMiB: 2, pinned: new Array<number>(n).fill(idleCore), kernel: (c) => idleKernel(c) });
  }
  return buildPlatform({
    cores: p.cores,
    trace: p.trace,
    trapWfi: p.trapWfi ?? false,
    sliceUs: SLICE_US,
    gic: { version: 4, idBits: p.idBits, its: { eventIdBits: p.eventIdBits ?? 16 } },
    vms,
  });
}

function allBooted(pl: Platform): boolean {
  for (const k of pl.kernels) for (const c of k.cpus) if (!c.booted) return false;
  return true;
}

function totalOps(pl: Platform): number {
  let n = 0;
  for (const pe of pl.m.pes) n += pe.counters.ops;
  return n;
}

/** Runs until every guest CPU has booted; returns false if that did not happen within `limit` cycles. */
export function bootSteady(pl: Platform, limit = 4e12): boolean {
  const m = pl.m;
  const chunk = m.usToCycles(SLICE_US) / 4;
  while (!allBooted(pl)) {
    if (m.now > limit || m.isHalted) return false;
    m.runFor(chunk);
  }
  return true;
}

export interface SteadyOptions {
  readonly warmIrqs: number;
  readonly windowIrqs: number;
  readonly reps: number;
  /** Wraps the measured windows (the profiler uses it). */
  readonly around?: (measure: () => void) => void;
}

function problems(pl: Platform): string | null {
  const its = pl.gic.its;
  if (its.errorCount > 0) return `ITS command errors at boot: ${its.errorCount} (last ${its.lastError?.name ?? '?'})`;
  if (pl.hyp.stats.panics > 0) return `hypervisor panics: ${pl.hyp.stats.panics}`;
  for (const k of pl.kernels) for (const c of k.cpus) if (c.faults.length > 0) return `guest ${k.config.name} cpu ${c.index} faulted`;
  return null;
}

interface Live {
  readonly params: SteadyParams;
  pl: Platform | null;
  error: string | null;
  readonly bootHostMs: number;
  readonly bootSimMs: number;
  readonly retained: { heapUsed: number; arrayBuffers: number };
  readonly samples: WindowSample[];
}

function bootPoint(params: SteadyParams): Live {
  const before = memorySnapshot();
  const t0 = performance.now();
  let pl: Platform | null = null;
  let error: string | null = null;
  let bootSimMs = 0;
  try {
    pl = buildSteady(params);
    error = bootSteady(pl) ? problems(pl) : 'the guests did not boot';
    bootSimMs = pl.m.cyclesToUs(pl.m.now) / 1000;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const bootHostMs = performance.now() - t0;
  const after = memorySnapshot();
  const retained = { heapUsed: after.heapUsed - before.heapUsed, arrayBuffers: after.arrayBuffers - before.arrayBuffers };
  return { params, pl: error === null ? pl : null, error, bootHostMs, bootSimMs, retained, samples: [] };
}

/** Cycles between two MSIs of the device at point `p`. */
export function periodOf(p: SteadyParams): number {
  return p.periodCycles ?? PERIOD;
}

function window(x: Live, irqs: number): void {
  const pl = x.pl!;
  const m = pl.m;
  const k = pl.kernels[0] as DeviceKernel;
  if (x.params.trace) m.trace.clear();
  // A full collection first: the garbage earlier windows (of every point in the process) left in
  // the old generation is collected here, not by a major GC that lands in a random window and
  // makes it half as fast again (the windows of a curve were bimodal without it).
  collectGarbage();
  const n0 = k.log.length;
  const ops0 = totalOps(pl);
  const c0 = m.now;
  const h0 = performance.now();
  m.runFor(periodOf(x.params) * irqs);
  const hostMs = performance.now() - h0;
  const records = x.params.trace ? m.trace.records.length + m.trace.dropped : 0;
  x.samples.push({ irqs: k.log.length - n0, hostMs, ops: totalOps(pl) - ops0, cycles: m.now - c0, records });
  if (x.params.trace) m.trace.clear();
}

function finish(x: Live, windowIrqs: number): PointResult {
  const base = { params: x.params, bootHostMs: x.bootHostMs, bootSimMs: x.bootSimMs, retained: x.retained, samples: x.samples };
  const lost = x.samples.find((s) => Math.abs(s.irqs - windowIrqs) > 2);
  const error = x.error ?? (x.samples.length === 0 ? 'nothing measured' : lost !== undefined ? `a window delivered ${lost.irqs} of ${windowIrqs} interrupts` : null);
  if (error !== null) return { ...base, ok: false, error, nsPerIrq: NaN, medianNsPerIrq: NaN, irqsPerSec: NaN, cyclesPerSec: NaN, nsPerOp: NaN, opsPerIrq: NaN, recordsPerIrq: NaN };
  const nsPerIrq = (s: WindowSample): number => (s.hostMs * 1e6) / s.irqs;
  const best = fastest(x.samples, nsPerIrq);
  return {
    ...base,
    ok: true,
    nsPerIrq: nsPerIrq(best),
    medianNsPerIrq: median(x.samples.map(nsPerIrq)),
    irqsPerSec: (best.irqs / best.hostMs) * 1000,
    cyclesPerSec: (best.cycles / best.hostMs) * 1000,
    nsPerOp: (best.hostMs * 1e6) / best.ops,
    opsPerIrq: best.ops / best.irqs,
    recordsPerIrq: best.records / best.irqs,
  };
}

/**
 * Builds and boots every point (measuring the memory each retains; outside-in), warms each up, then
 * measures `reps` windows of each, interleaved (rep r visits the points starting at r mod n),
 * so that every point sees the same host conditions (load, JIT state) and their ratios are
 * robust to drift of a shared machine. Each point's figure is its best window.
 */
export function runSteady(points: readonly SteadyParams[], o: SteadyOptions): SteadyResult {
  const l0 = load1();
  // Built outside-in (first, last, second, second to last...): platforms built earlier in a
  // process measure a little slower, and this keeps that off the ends of a curve, whose ratio
  // is its growth factor.
  const live: Live[] = new Array<Live>(points.length);
  for (let lo = 0, hi = points.length - 1; lo <= hi; lo++, hi--) {
    live[lo] = bootPoint(points[lo]!);
    if (hi !== lo) live[hi] = bootPoint(points[hi]!);
  }
  for (const x of live) {
    if (x.pl === null) continue;
    const k = x.pl.kernels[0] as DeviceKernel;
    const start = x.params.startCycles ?? 0;
    if (x.pl.m.now < start) x.pl.m.runFor(start - x.pl.m.now);
    addDevice(x.pl, 1, [0], { kind: 'periodic', period: periodOf(x.params) }).start();
    x.pl.m.runFor(periodOf(x.params) * o.warmIrqs);
    if (k.log.length < o.warmIrqs / 2) {
      x.error = `only ${k.log.length} of ${o.warmIrqs} warm-up interrupts delivered`;
      x.pl = null;
    }
  }
  const ok = live.filter((x) => x.pl !== null);
  const measure = (): void => {
    for (let r = 0; r < o.reps; r++) for (let i = 0; i < ok.length; i++) window(ok[(r + i) % ok.length]!, o.windowIrqs);
  };
  if (ok.length > 0) {
    if (o.around !== undefined) o.around(measure);
    else measure();
  }
  const result = { points: live.map((x) => finish(x, o.windowIrqs)), load: [l0, load1()] as const, peakRss: process.resourceUsage().maxRSS * 1024 };
  for (const x of live) x.pl = null;
  return result;
}
