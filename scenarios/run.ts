/**
 * Runs a scenario on one delivery path and measures it: builds the platform (scenarios/
 * platform.ts), boots, starts the devices after a warm-up, runs for the scenario's duration
 * (plus a drain so in-flight interrupts finish), and derives every figure of the comparison
 * from counters kept in step with the trace and from what the guests recorded.
 */
import { costProfile } from '../core/costs.js';
import type { MsiDevice, MsiPattern } from '../core/msi-device.js';
import type { Kernel } from '../guests/kernel.js';
import { deviceKernel, DeviceKernel, hogKernel, idleKernel, ipiKernel } from '../guests/samples.js';
import { policyNamed } from '../hypervisor/sched/policies.js';
import { matchLatencies, percentile, type DeliveryRecord, type LatencyResult, type MsiRecord } from './latency.js';
import { addDevice, buildPlatform, type Platform, type PlatformVm } from './platform.js';
import type { DeliveryPath, Scenario, TrafficPattern, VmSpec } from './scenario.js';

/** Simulated time the machine gets to boot before devices start. */
export const WARMUP_US = 1500;
/** Time after the devices stop for in-flight interrupts to be delivered. */
export const DRAIN_US = 500;

export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface PathResult {
  readonly scenario: string;
  readonly path: DeliveryPath;
  readonly seed: number;
  readonly msis: number;
  readonly delivered: number;
  readonly coalesced: number;
  readonly undelivered: number;
  readonly el2Entries: number;
  readonly el2EntriesPerIrq: number;
  readonly el2CyclesPerIrq: number;
  /** Latency from MSI write to the guest handler, in cycles and in microseconds. */
  readonly latencyCycles: LatencyFigures;
  readonly latencyUs: LatencyFigures;
  readonly vpeSwitches: number;
  readonly vpeSwitchCycles: number;
  /** Polls of GICR_VPENDBASER that found Dirty = 1. */
  readonly dirtyPolls: number;
  readonly vmovps: number;
  readonly doorbells: number;
  /** Time vCPUs waited runnable before running: mean and max, microseconds. */
  readonly runQueueWaitUs: { readonly mean: number; readonly max: number };
  readonly vcpuSwitches: number;
  readonly kicks: number;
  readonly maintenance: number;
  /** Fraction of each core's time spent at EL2 during the measurement. */
  readonly el2Share: readonly number[];
  readonly simulatedUs: number;
  readonly hostMs: number;
}

export interface RunHandle {
  readonly platform: Platform;
  readonly devices: readonly MsiDevice[];
  /** Guest LPI of each device's EventIDs (index: device, then EventID). */
  readonly vintids: readonly (readonly number[])[];
  /** VM index of each device. */
  readonly deviceVm: readonly number[];
}

export interface RunOptions {
  readonly trace?: boolean;
  /** Overrides the scenario's per-VM paths. */
  readonly path?: DeliveryPath;
  /** Called with the handle before the run starts (tests, reports). */
  readonly onBuilt?: (h: RunHandle) => void;
  /**
   * Called after each chunk of the measured run with the simulated cycles done and to do (the
   * machine runs in `PROGRESS_CHUNKS` chunks; the result is the same as one run, chunking only
   * moves where `Machine.run` returns).
   */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Chunks of the measured run when `onProgress` is given. */
export const PROGRESS_CHUNKS = 100;

function kernelFor(vm: VmSpec): PlatformVm['kernel'] {
  switch (vm.kernel) {
    case 'device':
      return (c) => deviceKernel(c);
    case 'hog':
      return (c) => hogKernel(c);
    case 'idle':
      return (c) => idleKernel(c);
    case 'ipi':
      return (c) => ipiKernel(c, 100_000, 1_000_000);
  }
}

function pattern(t: TrafficPattern, clockHz: number): MsiPattern {
  const cyc = (us: number): number => Math.max(1, Math.round((us * clockHz) / 1e6));
  switch (t.kind) {
    case 'periodic':
      return { kind: 'periodic', period: cyc(t.periodUs) };
    case 'poisson':
      return { kind: 'poisson', mean: clockHz / t.ratePerSec };
    case 'bursts':
      return { kind: 'bursts', length: t.burst, spacing: cyc(t.gapUs), interval: cyc(t.everyUs) };
  }
}

/** The VMs of a scenario, interference neighbours included, with their pinning. */
export function expandVms(s: Scenario): VmSpec[] {
  const vms: VmSpec[] = [...s.vms];
  const inter = s.interference;
  if (inter === undefined || inter.hogs + inter.noisy === 0) return vms;
  const half = Math.max(1, Math.floor(s.cores / 2));
  const mine = Array.from({ length: half }, (_, i) => i);
  const others = s.cores > half ? Array.from({ length: s.cores - half }, (_, i) => half + i) : mine;
  const pin = (cores: number[], n: number, k: number): number[] => Array.from({ length: n }, (_, j) => cores[(k + j) % cores.length]!);
  const placed = inter.placement !== 'any';
  const out: VmSpec[] = vms.map((v, i) => (placed && v.pinned === undefined ? { ...v, pinned: pin(mine, v.vcpus, i) } : v));
  const theirs = inter.placement === 'same' ? mine : others;
  for (let i = 0; i < inter.hogs; i++) out.push({ name: `hog-neighbour${i}`, vcpus: 1, kernel: 'hog', ...(placed ? { pinned: pin(theirs, 1, i) } : {}) });
  for (let i = 0; i < inter.noisy; i++) out.push({ name: `noisy-neighbour${i}`, vcpus: 1, kernel: 'device', ...(placed ? { pinned: pin(theirs, 1, i + inter.hogs) } : {}) });
  return out;
}

/** Builds the platform of `s` for `path` and returns it with its (not yet started) devices. */
export function buildScenario(s: Scenario, opts: RunOptions = {}): RunHandle {
  const clockHz = s.clockMHz * 1e6;
  const vms = expandVms(s);
  const devices = [...s.devices];
  const inter = s.interference;
  if (inter !== undefined) for (let i = 0; i < inter.noisy; i++) devices.push({ vm: `noisy-neighbour${i}`, events: 1, traffic: { kind: 'poisson', ratePerSec: inter.noisyRatePerSec } });
  const nextIntid = new Map<string, number>();
  const vintids: number[][] = [];
  const deviceVm: number[] = [];
  const perVm = new Map<string, { deviceId: number; events: { eventId: number; vcpu: number; vintid: number }[] }[]>();
  devices.forEach((d, i) => {
    const vmIndex = vms.findIndex((v) => v.name === d.vm);
    const vm = vms[vmIndex]!;
    let next = nextIntid.get(d.vm) ?? 8192 + 32;
    const evs = Array.from({ length: d.events }, (_, e) => ({ eventId: e, vcpu: e % vm.vcpus, vintid: next + e }));
    next += d.events;
    nextIntid.set(d.vm, next);
    vintids.push(evs.map((e) => e.vintid));
    deviceVm.push(vmIndex);
    const list = perVm.get(d.vm) ?? [];
    list.push({ deviceId: i + 1, events: evs });
    perVm.set(d.vm, list);
  });
  const policy = policyNamed(s.policy);
  if (policy === undefined) throw new Error(`unknown policy ${s.policy}`);
  const platform = buildPlatform({
    cores: s.cores,
    clockHz,
    seed: s.seed,
    trace: opts.trace ?? false,
    costs: costProfile(s.costProfile)?.costs,
    gic: { version: s.gicVersion, listRegs: s.listRegs, idBits: s.lpiIdBits, its: { vpeIdBits: s.vpeIdBits } },
    policy,
    sliceUs: s.sliceUs,
    trapWfi: s.wfi === 'trap',
    waitDirtyOnEntry: s.waitDirtyOnEntry,
    vms: vms.map((v) => ({
      name: v.name,
      vcpus: v.vcpus,
      kernel: kernelFor(v),
      injection: (opts.path ?? v.path ?? s.path) === 'direct' ? 'direct' : 'list-register',
      devices: perVm.get(v.name) ?? [],
      priority: v.priority ?? 0,
      pinned: v.pinned,
      ramMiB: v.ramMiB ?? 16,
      trapWfi: v.wfi === undefined ? undefined : v.wfi === 'trap',
    })),
  });
  const warm = Math.round((WARMUP_US * clockHz) / 1e6);
  const until = warm + Math.round((s.durationUs * clockHz) / 1e6);
  const devs = devices.map((d, i) =>
    addDevice(platform, i + 1, Array.from({ length: d.events }, (_, e) => e), pattern(d.traffic, clockHz), { start: warm, until, ...(d.count !== undefined ? { count: d.count } : {}) }),
  );
  const h: RunHandle = { platform, devices: devs, vintids, deviceVm };
  opts.onBuilt?.(h);
  return h;
}

/** Runs `s` on one path and measures it. */
export function runScenario(s: Scenario, opts: RunOptions = {}): PathResult {
  const path = opts.path ?? s.path;
  const h = buildScenario(s, { ...opts, path });
  const { platform } = h;
  const m = platform.m;
  const clockHz = m.clockHz;
  const warm = Math.round((WARMUP_US * clockHz) / 1e6);
  const t0 = performance.now();
  m.run(warm);
  for (const d of h.devices) d.start();
  const base = m.pes.map((pe) => ({ el2: pe.counters.exceptions[2]!, cyc: pe.counters.cyclesAt[2]! }));
  const hs0 = { ...platform.hyp.stats };
  const ds0 = { ...(platform.hyp.direct.stats ?? { residencyChanges: 0, residencyCycles: 0, dirtyPolls: 0, vmovps: 0, doorbellsArmed: 0 }) };
  platform.hyp.stats.runQueueWaitMax = 0;
  const end = warm + Math.round(((s.durationUs + DRAIN_US) * clockHz) / 1e6);
  const progress = opts.onProgress;
  if (progress === undefined) m.run(end);
  else {
    for (let i = 1; i <= PROGRESS_CHUNKS; i++) {
      m.run(warm + Math.round(((end - warm) * i) / PROGRESS_CHUNKS));
      progress(m.now - warm, end - warm);
    }
  }
  const hostMs = performance.now() - t0;
  return measure(s, path, h, base, hs0, ds0, end - warm, hostMs);
}

/** An MSI a device wrote: which device, which of its writes, and the guest LPI it becomes. */
export interface RunMsi extends MsiRecord {
  readonly device: number;
  readonly index: number;
  readonly vm: number;
  readonly eventId: number;
  readonly vintid: number;
}

/** A guest handler start a device kernel recorded. */
export interface RunDelivery extends DeliveryRecord {
  readonly vm: number;
  readonly vcpu: number;
  readonly vintid: number;
}

/**
 * Every MSI the devices wrote and every delivery the guests recorded so far, and their matching
 * (latency.ts): `lat.msiIndex[i]` and `lat.deliveryIndex[i]` pair MSI and delivery of latency i.
 */
export function matchRun(h: RunHandle): { msis: RunMsi[]; deliveries: RunDelivery[]; lat: LatencyResult } {
  const m = h.platform.m;
  const tick = m.clockHz / m.cntfrq;
  const msis: RunMsi[] = [];
  h.devices.forEach((d, i) => {
    const vm = h.deviceVm[i]!;
    for (let k = 0; k < d.sent; k++) {
      const vintid = h.vintids[i]![d.eventOf(k)]!;
      msis.push({ key: vm * 2 ** 24 + vintid, time: d.timeOf(k), device: i, index: k, vm, eventId: d.eventOf(k), vintid });
    }
  });
  const deliveries: RunDelivery[] = [];
  h.platform.kernels.forEach((k: Kernel, vm) => {
    if (!(k instanceof DeviceKernel)) return;
    const log = k.log;
    for (let i = 0; i < log.length; i++) deliveries.push({ key: vm * 2 ** 24 + log.intid[i]!, time: log.counter[i]! * tick, vm, vcpu: log.cpu[i]!, vintid: log.intid[i]! });
  });
  return { msis, deliveries, lat: matchLatencies(msis, deliveries, m.costs.itsTranslate + m.costs.iccAck) };
}

type StatsBefore = { switches: number; kicksSent: number; doorbells: number; maintenance: number; runQueueWait: number; runQueueWaits: number };
type DirectBefore = { residencyChanges: number; residencyCycles: number; dirtyPolls: number; vmovps: number };

function measure(s: Scenario, path: DeliveryPath, h: RunHandle, base: { el2: number; cyc: number }[], hs0: StatsBefore, ds0: DirectBefore, span: number, hostMs: number): PathResult {
  const { platform } = h;
  const m = platform.m;
  const { msis, lat } = matchRun(h);
  const el2Entries = m.pes.reduce((a, pe, i) => a + pe.counters.exceptions[2]! - base[i]!.el2, 0);
  const el2Cycles = m.pes.reduce((a, pe, i) => a + pe.counters.cyclesAt[2]! - base[i]!.cyc, 0);
  const delivered = lat.latencies.length;
  const figures = (f: (x: number) => number): LatencyFigures => ({
    p50: f(percentile(lat.latencies, 50)),
    p99: f(percentile(lat.latencies, 99)),
    max: f(lat.latencies.reduce((a, b) => Math.max(a, b), 0)),
    mean: f(lat.latencies.reduce((a, b) => a + b, 0) / Math.max(1, delivered)),
  });
  const hs = platform.hyp.stats;
  const ds = platform.hyp.direct.stats;
  const us = (c: number): number => (c / m.clockHz) * 1e6;
  const waits = hs.runQueueWaits - hs0.runQueueWaits;
  return {
    scenario: s.name,
    path,
    seed: s.seed,
    msis: msis.length,
    delivered,
    coalesced: lat.coalesced,
    undelivered: lat.undelivered,
    el2Entries,
    el2EntriesPerIrq: el2Entries / Math.max(1, delivered),
    el2CyclesPerIrq: el2Cycles / Math.max(1, delivered),
    latencyCycles: figures((x) => x),
    latencyUs: figures((x) => (x / m.clockHz) * 1e6),
    vpeSwitches: (ds?.residencyChanges ?? 0) - ds0.residencyChanges,
    vpeSwitchCycles: (ds?.residencyCycles ?? 0) - ds0.residencyCycles,
    dirtyPolls: (ds?.dirtyPolls ?? 0) - ds0.dirtyPolls,
    vmovps: (ds?.vmovps ?? 0) - ds0.vmovps,
    doorbells: hs.doorbells - hs0.doorbells,
    runQueueWaitUs: { mean: waits > 0 ? us((hs.runQueueWait - hs0.runQueueWait) / waits) : 0, max: us(hs.runQueueWaitMax) },
    vcpuSwitches: hs.switches - hs0.switches,
    kicks: hs.kicksSent - hs0.kicksSent,
    maintenance: hs.maintenance - hs0.maintenance,
    el2Share: m.pes.map((pe, i) => (pe.counters.cyclesAt[2]! - base[i]!.cyc) / span),
    simulatedUs: (span / m.clockHz) * 1e6,
    hostMs,
  };
}
