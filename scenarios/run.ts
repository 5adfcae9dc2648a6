/**
 * Runs a scenario on one delivery path and measures it: builds the platform (scenarios/
 * platform.ts), boots, starts the devices after a warm-up, runs for the scenario's duration
 * (plus a drain so in-flight interrupts finish), and derives every figure of the comparison
 * from counters kept in step with the trace and from what the guests recorded.
 *
 * Latency (scenario field `record`): with 'all' (the default) the devices keep every MSI write
 * and the guests every delivery, and `matchRun` pairs them after the run (latency.ts); with
 * 'counters' nothing is kept and an `OnlineLatency` fed by the devices' write hooks and the
 * guests' delivery sinks pairs them as the run goes, with the same rules, so a long run's
 * memory does not grow with its length. The counts, max and mean are the same either way, the
 * percentiles within the histogram's error (histogram.ts: 1/256).
 */
import { costProfile } from '../core/costs.js';
import type { MsiDevice, MsiPattern } from '../core/msi-device.js';
import type { DeliveryLogOptions } from '../guests/delivery-log.js';
import type { Kernel } from '../guests/kernel.js';
import { deviceKernel, DeviceKernel, hogKernel, idleKernel, ipiKernel } from '../guests/samples.js';
import { policyNamed } from '../hypervisor/sched/policies.js';
import { matchLatencies, percentile, type DeliveryRecord, type LatencyResult, type MsiRecord } from './latency.js';
import { OnlineLatency } from './online-latency.js';
import { addDevice, buildPlatform, type Platform, type PlatformVm } from './platform.js';
import type { DeliveryPath, RecordMode, Scenario, TrafficPattern, VmSpec } from './scenario.js';

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
  /** Host time of the run in ms, NaN unless `RunOptions.hostClock` was given. */
  readonly hostMs: number;
}

export interface RunHandle {
  readonly platform: Platform;
  readonly devices: readonly MsiDevice[];
  /** Guest LPI of each device's EventIDs (index: device, then EventID). */
  readonly vintids: readonly (readonly number[])[];
  /** VM index of each device. */
  readonly deviceVm: readonly number[];
  /** What the run records (the scenario's `record`). */
  readonly record: RecordMode;
  /** With `record: 'counters'`: the latency matcher the devices and guests feed as the run goes. */
  readonly online?: OnlineLatency;
}

/** The key latency.ts matches on: VM index and guest INTID. */
export const latencyKey = (vm: number, vintid: number): number => vm * 2 ** 24 + vintid;

/** Thrown by what needs every MSI and delivery record when the run kept only counters. */
export class RecordsNeededError extends Error {
  constructor(what: string, scenario?: string) {
    super(`${what} needs every MSI and delivery record, but ${scenario === undefined ? 'the run' : `scenario '${scenario}'`} was made with record: 'counters' (set "record": "all", the default, in the scenario)`);
  }
}

export interface RunOptions {
  readonly trace?: boolean;
  /**
   * A host clock in milliseconds (the CLI and the benchmarks pass `performance.now`), read before
   * and after the run for `PathResult.hostMs`. The model itself never reads one: without it
   * `hostMs` is NaN.
   */
  readonly hostClock?: () => number;
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

function kernelFor(vm: VmSpec, log: DeliveryLogOptions): PlatformVm['kernel'] {
  switch (vm.kernel) {
    case 'device':
      return (c) => deviceKernel(c, { log });
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
  const record: RecordMode = s.record ?? 'all';
  // With 'counters', each device kernel's log keeps no records and tells the matcher of each
  // delivery; the matcher needs the machine's costs and counter rate, so it is made just after.
  const feed: { online: OnlineLatency | null; tick: number } = { online: null, tick: 1 };
  const logFor = (vm: number): DeliveryLogOptions =>
    record === 'all'
      ? {}
      : {
          keep: 'none',
          sink: {
            delivered: (intid: number, _cpu: number, counter: number): void => feed.online!.delivery(latencyKey(vm, intid), counter * feed.tick),
          },
        };
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
    vms: vms.map((v, i) => ({
      name: v.name,
      vcpus: v.vcpus,
      kernel: kernelFor(v, logFor(i)),
      injection: (opts.path ?? v.path ?? s.path) === 'direct' ? 'direct' : 'list-register',
      devices: perVm.get(v.name) ?? [],
      priority: v.priority ?? 0,
      pinned: v.pinned,
      ramMiB: v.ramMiB ?? 16,
      trapWfi: v.wfi === undefined ? undefined : v.wfi === 'trap',
    })),
  });
  const warm = platform.m.usToCycles(WARMUP_US);
  const until = warm + platform.m.usToCycles(s.durationUs);
  const devs = devices.map((d, i) =>
    addDevice(platform, i + 1, Array.from({ length: d.events }, (_, e) => e), pattern(d.traffic, clockHz), { start: warm, until, ...(d.count !== undefined ? { count: d.count } : {}) }),
  );
  let online: OnlineLatency | undefined;
  if (record === 'counters') {
    const m = platform.m;
    online = new OnlineLatency(m.costs.itsTranslate + m.costs.iccAck);
    feed.online = online;
    feed.tick = m.clockHz / m.cntfrq;
    const o = online;
    devs.forEach((dev, i) => {
      const vm = deviceVm[i]!;
      const keys = vintids[i]!.map((v) => latencyKey(vm, v));
      dev.setRecording('none', (_index, time, eventId) => o.msi(keys[eventId]!, time));
    });
  }
  const h: RunHandle = { platform, devices: devs, vintids, deviceVm, record, ...(online !== undefined ? { online } : {}) };
  opts.onBuilt?.(h);
  return h;
}

/** Runs `s` on one path and measures it. */
export function runScenario(s: Scenario, opts: RunOptions = {}): PathResult {
  const path = opts.path ?? s.path;
  const h = buildScenario(s, { ...opts, path });
  const m = h.platform.m;
  const warm = m.usToCycles(WARMUP_US);
  const clock = opts.hostClock;
  const t0 = clock === undefined ? NaN : clock();
  m.run(warm);
  for (const d of h.devices) d.start();
  const before = counters(h);
  // A maximum cannot be taken as a difference: it restarts with the measurement.
  h.platform.hyp.stats.runQueueWaitMax = 0;
  const end = warm + m.usToCycles(s.durationUs + DRAIN_US);
  const progress = opts.onProgress;
  if (progress === undefined) m.run(end);
  else {
    for (let i = 1; i <= PROGRESS_CHUNKS; i++) {
      m.run(warm + Math.round(((end - warm) * i) / PROGRESS_CHUNKS));
      progress(m.now - warm, end - warm);
    }
  }
  const hostMs = clock === undefined ? NaN : clock() - t0;
  return measure(s, path, h, before, end - warm, hostMs);
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
 * Needs the records: throws `RecordsNeededError` for a run made with record: 'counters'.
 */
export function matchRun(h: RunHandle, scenario?: string): { msis: RunMsi[]; deliveries: RunDelivery[]; lat: LatencyResult } {
  if (h.record !== 'all') throw new RecordsNeededError('matching MSIs to deliveries after the run', scenario);
  const m = h.platform.m;
  const tick = m.clockHz / m.cntfrq;
  const msis: RunMsi[] = [];
  h.devices.forEach((d, i) => {
    const vm = h.deviceVm[i]!;
    for (let k = 0; k < d.sent; k++) {
      const vintid = h.vintids[i]![d.eventOf(k)]!;
      msis.push({ key: latencyKey(vm, vintid), time: d.timeOf(k), device: i, index: k, vm, eventId: d.eventOf(k), vintid });
    }
  });
  const deliveries: RunDelivery[] = [];
  h.platform.kernels.forEach((k: Kernel, vm) => {
    if (!(k instanceof DeviceKernel)) return;
    const log = k.log;
    for (let i = 0; i < log.length; i++) deliveries.push({ key: latencyKey(vm, log.intid[i]!), time: log.counter[i]! * tick, vm, vcpu: log.cpu[i]!, vintid: log.intid[i]! });
  });
  return { msis, deliveries, lat: matchLatencies(msis, deliveries, m.costs.itsTranslate + m.costs.iccAck) };
}

/** The counters the figures are differences of: per core, EL2 entries and cycles; the hypervisor's; direct injection's (0 without it). */
interface Counters {
  readonly el2: readonly number[];
  readonly el2Cycles: readonly number[];
  readonly switches: number;
  readonly kicks: number;
  readonly doorbells: number;
  readonly maintenance: number;
  readonly runQueueWait: number;
  readonly runQueueWaits: number;
  readonly residencyChanges: number;
  readonly residencyCycles: number;
  readonly dirtyPolls: number;
  readonly vmovps: number;
}

function counters(h: RunHandle): Counters {
  const { m, hyp } = h.platform;
  const hs = hyp.stats;
  const ds = hyp.direct.stats;
  return {
    el2: m.pes.map((pe) => pe.counters.exceptions[2]!),
    el2Cycles: m.pes.map((pe) => pe.counters.cyclesAt[2]!),
    switches: hs.switches,
    kicks: hs.kicksSent,
    doorbells: hs.doorbells,
    maintenance: hs.maintenance,
    runQueueWait: hs.runQueueWait,
    runQueueWaits: hs.runQueueWaits,
    residencyChanges: ds?.residencyChanges ?? 0,
    residencyCycles: ds?.residencyCycles ?? 0,
    dirtyPolls: ds?.dirtyPolls ?? 0,
    vmovps: ds?.vmovps ?? 0,
  };
}

/** The MSI and latency figures of a finished run: from its records, or from its online matcher. */
function latencyOf(s: Scenario, h: RunHandle): { msis: number; delivered: number; coalesced: number; undelivered: number; cycles: LatencyFigures } {
  const online = h.online;
  if (online === undefined) {
    const { msis, lat } = matchRun(h, s.name);
    const delivered = lat.latencies.length;
    return {
      msis: msis.length,
      delivered,
      coalesced: lat.coalesced,
      undelivered: lat.undelivered,
      cycles: {
        p50: percentile(lat.latencies, 50),
        p99: percentile(lat.latencies, 99),
        max: lat.latencies.reduce((a, b) => Math.max(a, b), 0),
        mean: lat.latencies.reduce((a, b) => a + b, 0) / Math.max(1, delivered),
      },
    };
  }
  const c = online.counts();
  // Cannot happen while the machine is causal (online-latency.ts); if it does, the figures
  // would not be the offline matcher's, so say so rather than report them.
  if (c.outOfOrder > 0) throw new Error(`scenario '${s.name}': ${c.outOfOrder} MSIs or deliveries reached the online latency matcher out of order; run it with record: 'all'`);
  const hist = online.latency;
  const delivered = hist.count;
  return {
    msis: h.devices.reduce((a, d) => a + d.sent, 0),
    delivered,
    coalesced: c.coalesced,
    undelivered: c.undelivered,
    cycles: { p50: hist.percentile(50), p99: hist.percentile(99), max: delivered > 0 ? hist.max : 0, mean: delivered > 0 ? hist.mean : 0 },
  };
}

function measure(s: Scenario, path: DeliveryPath, h: RunHandle, before: Counters, span: number, hostMs: number): PathResult {
  const m = h.platform.m;
  const lat = latencyOf(s, h);
  const now = counters(h);
  const el2CyclesPerCore = now.el2Cycles.map((c, i) => c - before.el2Cycles[i]!);
  const el2Entries = now.el2.reduce((a, n, i) => a + n - before.el2[i]!, 0);
  const el2Cycles = el2CyclesPerCore.reduce((a, c) => a + c, 0);
  const delivered = lat.delivered;
  const c = lat.cycles;
  const us = (x: number): number => m.cyclesToUs(x);
  const waits = now.runQueueWaits - before.runQueueWaits;
  return {
    scenario: s.name,
    path,
    seed: s.seed,
    msis: lat.msis,
    delivered,
    coalesced: lat.coalesced,
    undelivered: lat.undelivered,
    el2Entries,
    el2EntriesPerIrq: el2Entries / Math.max(1, delivered),
    el2CyclesPerIrq: el2Cycles / Math.max(1, delivered),
    latencyCycles: c,
    latencyUs: { p50: us(c.p50), p99: us(c.p99), max: us(c.max), mean: us(c.mean) },
    vpeSwitches: now.residencyChanges - before.residencyChanges,
    vpeSwitchCycles: now.residencyCycles - before.residencyCycles,
    dirtyPolls: now.dirtyPolls - before.dirtyPolls,
    vmovps: now.vmovps - before.vmovps,
    doorbells: now.doorbells - before.doorbells,
    runQueueWaitUs: { mean: waits > 0 ? us((now.runQueueWait - before.runQueueWait) / waits) : 0, max: us(h.platform.hyp.stats.runQueueWaitMax) },
    vcpuSwitches: now.switches - before.switches,
    kicks: now.kicks - before.kicks,
    maintenance: now.maintenance - before.maintenance,
    el2Share: el2CyclesPerCore.map((x) => x / span),
    simulatedUs: us(span),
    hostMs,
  };
}
