/**
 * Runs a scenario on one delivery path and measures it: builds the platform (scenarios/
 * platform.ts), boots it, starts each VM's devices as soon as its guest kernel says it is ready
 * (guests/kernel.ts: every CPU adds itself to a word in the guest's RAM once it takes
 * interrupts), runs for the scenario's duration, then drains until every interrupt the ITS
 * accepted has reached its guest (or a bound, named in the result, is hit), and derives every
 * figure of the comparison from counters kept in step with the trace and from the delivery
 * check (delivery-check.ts), which also decides whether anything was lost, duplicated or
 * misdelivered.
 *
 * Latency is from the MSI's write to the guest's acknowledge (its ICV_IAR1_EL1 read). With
 * `record: 'all'` (the default) every delivery is kept (exact percentiles, the trace export's
 * flows); with 'counters' only counts and a histogram (percentiles within 1/256), so a long
 * run's memory does not grow with its length.
 */
import { costProfile } from '../core/costs.js';
import { EC_NAMES } from '../core/esr.js';
import type { MsiDevice, MsiPattern } from '../core/msi-device.js';
import type { KernelConfig } from '../guests/kernel.js';
import { deviceKernel, hogKernel, idleKernel, ipiKernel } from '../guests/samples.js';
import { IPI_EXCHANGE_PERIOD, ipiExchangeKernel } from '../guests/ipi-exchange.js';
import { subtractCounters, VcpuCounters } from '../hypervisor/counters.js';
import { policyOf } from './policy-modules.js';
import { attachDeliveryCheck, keyOf, percentile, type DeliveryCheck, type DeliveryRecord } from './delivery-check.js';
import { addDevice, buildPlatform, GUEST_BOOT_LIMIT_US, runUntilGuestsReady, type Platform, type PlatformVm } from './platform.js';
import { traceInvariants } from './trace-invariants.js';
import { asWrittenPath, isDirectPath, type DeliveryPath, type RecordMode, type RunPath, type Scenario, type TrafficPattern, type VmSpec } from './scenario.js';

/**
 * Longest boot before a guest must have said it is ready (its devices start then or never); the
 * platform looks at the readiness words every 5 us (platform.ts `runUntilGuestsReady`).
 */
export const BOOT_LIMIT_US = GUEST_BOOT_LIMIT_US;
/** Longest drain after the devices stop; hitting it is reported (the interrupts left count as undelivered). */
export const DRAIN_LIMIT_US = 50_000;
/** Drain step: the run stops at the first step boundary with nothing outstanding. */
const DRAIN_STEP_US = 10;

export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Contention of one class of the hypervisor's spinlocks over the measurement (drivers/spinlock.ts). */
export interface LockFigures {
  readonly acquisitions: number;
  /** Acquisitions that found the lock held. */
  readonly contended: number;
  /** Cycles cores spent waiting for it: in all, per delivered interrupt, and the longest wait. */
  readonly spinCycles: number;
  readonly spinCyclesPerIrq: number;
  readonly maxSpinCycles: number;
}

export type LockClass = 'its' | 'vmovp' | 'vpe';
export const LOCK_CLASSES: readonly LockClass[] = ['its', 'vmovp', 'vpe'];

export interface PathResult {
  readonly scenario: string;
  /** What the run delivered through: every VM injected, every VM direct, or `mixed` (each VM its own path, `vms[i].path`). */
  readonly path: RunPath;
  /** The GIC the run's machine had: '3', '4.0' or '4.1'. */
  readonly gic: '3' | '4.0' | '4.1';
  /** The number of ITSs the run's machine had (scenario `itsCount`). */
  readonly its: number;
  readonly seed: number;
  /** MSIs the devices wrote. */
  readonly msis: number;
  /** MSIs the ITS accepted (delivered + coalesced + undelivered). */
  readonly accepted: number;
  readonly delivered: number;
  readonly coalesced: number;
  readonly undelivered: number;
  readonly duplicated: number;
  readonly misdelivered: number;
  /** What the delivery check found wrong (empty: nothing lost, duplicated or misdelivered). */
  readonly violations: readonly string[];
  /** Simulated microseconds the drain took after the devices stopped, and whether it hit its bound. */
  readonly drainUs: number;
  readonly drainLimitHit: boolean;
  readonly el2Entries: number;
  readonly el2EntriesPerIrq: number;
  readonly el2CyclesPerIrq: number;
  /** Latency from MSI write to the guest's acknowledge, in cycles and in microseconds. */
  readonly latencyCycles: LatencyFigures;
  readonly latencyUs: LatencyFigures;
  readonly vpeSwitches: number;
  readonly vpeSwitchCycles: number;
  /** Polls of GICR_VPENDBASER that found Dirty = 1. */
  readonly dirtyPolls: number;
  readonly vmovps: number;
  /** VMOVP commands issued: one per move, or one per ITS mapping the vPE with ITSList (GITS_TYPER.VMOVP = 0). */
  readonly vmovpCommands: number;
  readonly doorbells: number;
  /** Time vCPUs waited runnable before running: mean and max, microseconds. */
  readonly runQueueWaitUs: { readonly mean: number; readonly max: number };
  readonly vcpuSwitches: number;
  readonly kicks: number;
  readonly maintenance: number;
  /** Spinlock contention by class: the ITS queue lock, the VMOVP lock(s), the vPE locks. */
  readonly locks: Readonly<Record<LockClass, LockFigures>>;
  /** Fraction of each core's time spent at EL2 during the measurement. */
  readonly el2Share: readonly number[];
  /**
   * Every figure above per VM (its vCPUs' counters summed, hypervisor/counters.ts, and its share
   * of the delivery check), and per vCPU: the VMs' counts sum to the run's (see `unattributed`
   * for the EL2 time and entries that belong to no vCPU).
   */
  readonly vms: readonly VmCost[];
  /**
   * EL2 entries and cycles of the measurement that belong to no vCPU: exceptions taken at EL2
   * itself (host interrupts in the idle loop) and the time spent idle, picking or switching with
   * no vCPU's exit being handled. With the VMs' `exits` and `el2Cycles`, the run's totals.
   */
  readonly unattributed: { readonly el2Entries: number; readonly el2Cycles: number };
  /**
   * The devices the guests mapped themselves with their own ITS driver against their VM's
   * emulated ITS (hypervisor/vits/), at the end of the run: the assigned devices they mapped
   * (MAPD), of how many, and the events of those the hypervisor forwarded to the physical ITS
   * (MAPTI to a host LPI, or VMAPTI).
   */
  readonly guestMapped: { readonly devices: number; readonly assigned: number; readonly events: number };
  readonly simulatedUs: number;
  /** Host time of the run in ms, NaN unless `RunOptions.hostClock` was given. */
  readonly hostMs: number;
}

/** What one vCPU (or, summed, one VM) cost the hypervisor over the measurement (hypervisor/counters.ts). */
export interface CostFigures {
  /** EL1 -> EL2 entries: all, physical IRQs, and synchronous ones by ESR_EL2.EC name. */
  readonly exits: number;
  readonly irqExits: number;
  readonly exitsByClass: Readonly<Record<string, number>>;
  /** Cycles at EL2 spent on its behalf (exit handling, its entries and world switches). */
  readonly el2Cycles: number;
  readonly hostIrqs: number;
  readonly injected: number;
  readonly lrWrites: number;
  /** IRQ exits the maintenance interrupt caused (ICH_MISR_EL2 non-zero on the exit). */
  readonly maintenance: number;
  readonly doorbells: number;
  readonly residencyChanges: number;
  readonly vmovps: number;
  readonly blocks: number;
  readonly runQueueWaits: number;
  readonly runQueueWaitUs: number;
  /** Interrupts this vCPU / VM acknowledged as delivered, and their latency. */
  readonly delivered: number;
  readonly el2EntriesPerIrq: number;
  readonly el2CyclesPerIrq: number;
  readonly latencyCycles: LatencyFigures;
  readonly latencyUs: LatencyFigures;
}

/** One vCPU's figures. */
export interface VcpuFigures extends CostFigures {
  readonly vcpu: number;
}

/** One VM's figures over the measurement: its delivery counts, what its vCPUs cost, and each vCPU's. */
export interface VmCost extends CostFigures {
  readonly vm: string;
  /** The path its interrupts took in this run. */
  readonly path: DeliveryPath;
  /** MSIs its devices wrote, accepted by the ITS, merged while pending, never acknowledged; acknowledges with no MSI, or by the wrong vCPU. */
  readonly msis: number;
  readonly accepted: number;
  readonly coalesced: number;
  readonly undelivered: number;
  readonly duplicated: number;
  readonly misdelivered: number;
  readonly vcpus: readonly VcpuFigures[];
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
  /** The delivery check watching the run. */
  readonly check: DeliveryCheck;
  /** Cycle the measurement started at (the first device's start), set by `runScenario`. */
  measureFrom: number;
}

/** The key (VM index, guest INTID) deliveries are counted by. */
export const latencyKey = keyOf;

/** Thrown by what needs every delivery record when the run kept only counters. */
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
  /** Every VM on this path, or `mixed`: each VM on its own (the scenario as written; also the default). */
  readonly path?: RunPath;
  /** Called with the handle before the run starts (tests, reports). */
  readonly onBuilt?: (h: RunHandle) => void;
  /**
   * Called as the measured run progresses with the simulated cycles done and to do (the machine
   * runs in `PROGRESS_CHUNKS` chunks; chunking only moves where `Machine.run` returns).
   */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Chunks of the measured run when `onProgress` is given. */
export const PROGRESS_CHUNKS = 100;

function kernelFor(vm: VmSpec): PlatformVm['kernel'] {
  switch (vm.kernel) {
    case 'device':
      return (c: KernelConfig) => deviceKernel(c, { log: { keep: 'none' } });
    case 'hog':
      return (c) => hogKernel(c);
    case 'idle':
      return (c) => idleKernel(c);
    case 'ipi':
      return (c) => ipiKernel(c, 100_000, 1_000_000);
    case 'ipi-exchange':
      return (c) => ipiExchangeKernel(c, IPI_EXCHANGE_PERIOD, 1_000_000_000);
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

/** The path VM `v` of `s` takes in a run on `path` (undefined or 'mixed': the VM's own, else the scenario's). */
export function vmPath(s: Scenario, v: VmSpec, path: RunPath | undefined): DeliveryPath {
  return path === undefined || path === 'mixed' ? (v.path ?? s.path) : path;
}

/** Builds the platform of `s` for `path` and returns it with its (not yet started) devices and its delivery check. */
export function buildScenario(s: Scenario, opts: RunOptions = {}): RunHandle {
  const clockHz = s.clockMHz * 1e6;
  const vms = expandVms(s);
  const devices = [...s.devices];
  const inter = s.interference;
  if (inter !== undefined) for (let i = 0; i < inter.noisy; i++) devices.push({ vm: `noisy-neighbour${i}`, events: 1, traffic: { kind: 'poisson', ratePerSec: inter.noisyRatePerSec } });
  const nextIntid = new Map<string, number>();
  const vintids: number[][] = [];
  const deviceVm: number[] = [];
  const targets: { vcpu: number; vintid: number }[][] = [];
  const perVm = new Map<string, { deviceId: number; guestDeviceId: number; events: { eventId: number; vcpu: number; vintid: number }[]; its: number }[]>();
  devices.forEach((d, i) => {
    const vmIndex = vms.findIndex((v) => v.name === d.vm);
    const vm = vms[vmIndex]!;
    let next = nextIntid.get(d.vm) ?? 8192 + 32;
    const evs = Array.from({ length: d.events }, (_, e) => ({ eventId: e, vcpu: e % vm.vcpus, vintid: next + e }));
    next += d.events;
    nextIntid.set(d.vm, next);
    vintids.push(evs.map((e) => e.vintid));
    targets.push(evs.map((e) => ({ vcpu: e.vcpu, vintid: e.vintid })));
    deviceVm.push(vmIndex);
    const list = perVm.get(d.vm) ?? [];
    // The guest knows its devices by their place in its VM (0, 1, ...), the host by the platform's numbering.
    list.push({ deviceId: i + 1, guestDeviceId: list.length, events: evs, its: deviceIts(s, d, i) });
    perVm.set(d.vm, list);
  });
  const policy = policyOf(s.policy);
  if (policy === undefined) throw new Error(`unknown policy ${s.policy}`);
  const record: RecordMode = s.record ?? 'all';
  const platform = buildPlatform({
    cores: s.cores,
    clockHz,
    seed: s.seed,
    trace: opts.trace ?? false,
    costs: costProfile(s.costProfile)?.costs,
    bookkeeping: costProfile(s.costProfile)?.bookkeeping,
    // gicVersion 4.1: a GICv4.1 machine, except for a run on 'direct' (the GICv4.0 column).
    gic: { version: s.gicVersion === 3 ? 3 : 4, v41: gicV41(s, vms, opts.path), listRegs: s.listRegs, idBits: s.lpiIdBits, itsCount: s.itsCount ?? 1, its: { vpeIdBits: s.vpeIdBits, vmovp: s.itsVmovp !== 0 } },
    policy,
    sliceUs: s.sliceUs,
    trapWfi: s.wfi === 'trap',
    waitDirtyOnEntry: s.waitDirtyOnEntry,
    vmovpLock: s.vmovpLock,
    vptParseWait: s.vptParseWait,
    residency: s.residency,
    opportunisticWfi: s.opportunisticWfi,
    vms: vms.map((v) => ({
      name: v.name,
      vcpus: v.vcpus,
      kernel: kernelFor(v),
      injection: isDirectPath(vmPath(s, v, opts.path)) ? 'direct' : 'list-register',
      devices: perVm.get(v.name) ?? [],
      priority: v.priority ?? 0,
      pinned: v.pinned,
      ramMiB: v.ramMiB ?? 16,
      trapWfi: v.wfi === undefined ? undefined : v.wfi === 'trap',
    })),
  });
  const keep = record === 'all' ? 'all' : 'none';
  const devs = devices.map((d, i) => addDevice(platform, i + 1, Array.from({ length: d.events }, (_, e) => e), pattern(d.traffic, clockHz), { record: keep, its: deviceIts(s, d, i), ...(d.count !== undefined ? { count: d.count } : {}) }));
  const check = attachDeliveryCheck(
    platform,
    devs.map((device, i) => ({ device, deviceId: i + 1, vm: deviceVm[i]!, events: targets[i]! })),
    record === 'all',
  );
  const h: RunHandle = { platform, devices: devs, vintids, deviceVm, record, check, measureFrom: 0 };
  opts.onBuilt?.(h);
  return h;
}

/** The ITS device `i` of the run is attached to: its own `its`, else i mod itsCount (devices spread over the ITSs). */
function deviceIts(s: Scenario, d: { readonly its?: number }, i: number): number {
  return d.its ?? i % (s.itsCount ?? 1);
}

/** Whether the run of `s` (on `path`, or each VM's own) builds a GICv4.1 machine: gicVersion 4.1 and no VM on 'direct' (GICv4.0). */
function gicV41(s: Scenario, vms: readonly VmSpec[], path: RunPath | undefined): boolean {
  return s.gicVersion === 4.1 && !vms.some((v) => vmPath(s, v, path) === 'direct');
}

/** Runs `s` on one path and measures it. */
export function runScenario(s: Scenario, opts: RunOptions = {}): PathResult {
  // Unless told otherwise, the scenario as written: `mixed` when its VMs take different paths.
  const path: RunPath = opts.path ?? asWrittenPath(s);
  const h = buildScenario(s, { ...opts, path });
  const p = h.platform;
  const m = p.m;
  const clock = opts.hostClock;
  const t0 = clock === undefined ? NaN : clock();
  const violations: string[] = [];
  const duration = m.usToCycles(s.durationUs);

  // Boot: each VM with devices has them start once its guest is ready (a scenario with no
  // devices, such as ipi-exchange, measures from when every guest is ready).
  let first = -1;
  const boot = runUntilGuestsReady(p, {
    vms: h.devices.length > 0 ? [...new Set(h.deviceVm)] : undefined,
    limitUs: BOOT_LIMIT_US,
    onReady: (vm) => {
      if (first < 0) first = m.now;
      h.devices.forEach((d, i) => {
        if (h.deviceVm[i] === vm) d.start(m.now + duration);
      });
    },
  });
  for (const vm of boot.notReady) violations.push(`${p.hyp.vms[vm]?.config.name ?? `vm${vm}`}: its guest did not say it was ready within ${BOOT_LIMIT_US} us of boot, so its devices never ran`);
  if (first < 0) first = m.now;
  h.measureFrom = first;
  const before = counters(h);
  // A maximum cannot be taken as a difference: it restarts with the measurement.
  p.hyp.stats.runQueueWaitMax = 0;
  for (const c of LOCK_CLASSES) p.hyp.locks[c].maxSpin = 0;

  // The devices run for the scenario's duration from their own start.
  const devicesEnd = m.now + duration;
  const progress = opts.onProgress;
  const total = devicesEnd - first;
  if (progress === undefined) m.run(devicesEnd);
  else {
    const from = m.now;
    for (let i = 1; i <= PROGRESS_CHUNKS; i++) {
      m.run(from + Math.round(((devicesEnd - from) * i) / PROGRESS_CHUNKS));
      progress(m.now - first, total);
    }
  }
  // Drain until nothing accepted is still on its way (bounded).
  const drainStart = m.now;
  const drainEnd = drainStart + m.usToCycles(DRAIN_LIMIT_US);
  while ((h.check.outstanding > 0 || h.devices.some((d) => d.active)) && m.now < drainEnd) m.run(m.now + m.usToCycles(DRAIN_STEP_US));
  const drainLimitHit = h.check.outstanding > 0;
  // With a trace, what the GIC was told must also hold (trace-invariants.ts).
  if (m.trace.on) violations.push(...traceInvariants(h, m.trace.records));
  if (drainLimitHit) violations.push(`the drain stopped at its bound (${DRAIN_LIMIT_US} us after the devices stopped) with ${h.check.outstanding} interrupts still on their way: they count as undelivered`);
  const hostMs = clock === undefined ? NaN : clock() - t0;
  return measure(s, path, h, before, m.now - first, m.cyclesToUs(m.now - drainStart), drainLimitHit, violations, hostMs);
}

/** An MSI a device wrote: which device, which of its writes, and the guest LPI it becomes. */
export interface RunMsi {
  readonly key: number;
  readonly time: number;
  readonly device: number;
  readonly index: number;
  readonly vm: number;
  readonly eventId: number;
  readonly vintid: number;
}

/** A guest acknowledge that delivered an MSI (delivery-check.ts). */
export interface RunDelivery {
  readonly key: number;
  /** Cycle of the acknowledge (the guest's ICV_IAR1_EL1 read). */
  readonly time: number;
  /** The core it ran on. */
  readonly core: number;
  readonly vm: number;
  readonly vcpu: number;
  readonly vintid: number;
}

/** The deliveries paired with the MSIs they delivered: latency i is of `msis[msiIndex[i]]` delivered by `deliveries[deliveryIndex[i]]`. */
export interface RunMatching {
  readonly latencies: Float64Array;
  readonly msiIndex: Int32Array;
  readonly deliveryIndex: Int32Array;
}

/**
 * Every MSI the devices wrote and every delivery the check recorded, paired. Needs the records:
 * throws `RecordsNeededError` for a run made with record: 'counters'.
 */
export function deliveriesOf(h: RunHandle, scenario?: string): { msis: RunMsi[]; deliveries: RunDelivery[]; lat: RunMatching } {
  if (h.record !== 'all') throw new RecordsNeededError('pairing MSIs with their deliveries', scenario);
  const msis: RunMsi[] = [];
  const firstOf: number[] = [];
  h.devices.forEach((d, i) => {
    firstOf.push(msis.length);
    const vm = h.deviceVm[i]!;
    for (let k = 0; k < d.sent; k++) {
      const vintid = h.vintids[i]![d.eventOf(k)]!;
      msis.push({ key: keyOf(vm, vintid), time: d.timeOf(k), device: i, index: k, vm, eventId: d.eventOf(k), vintid });
    }
  });
  const recs: readonly DeliveryRecord[] = h.check.records;
  const deliveries: RunDelivery[] = recs.map((r) => ({ key: keyOf(r.vm, r.vintid), time: r.ackTime, core: r.pe, vm: r.vm, vcpu: r.vcpu, vintid: r.vintid }));
  return {
    msis,
    deliveries,
    lat: {
      latencies: Float64Array.from(recs, (r) => r.ackTime - r.writeTime),
      msiIndex: Int32Array.from(recs, (r) => firstOf[r.device]! + r.write),
      deliveryIndex: Int32Array.from(recs, (_, i) => i),
    },
  };
}

/** The counters the figures are differences of: per core, EL2 entries and cycles; the hypervisor's; direct injection's (0 without it). */
interface Counters {
  readonly el2: readonly number[];
  readonly el2Cycles: readonly number[];
  readonly vms: readonly VcpuCounters[];
  /** Per VM, per vCPU. */
  readonly vcpus: readonly (readonly VcpuCounters[])[];
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
  readonly vmovpCommands: number;
  readonly locks: Readonly<Record<LockClass, { acquisitions: number; contended: number; spinCycles: number }>>;
}

function counters(h: RunHandle): Counters {
  const { m, hyp } = h.platform;
  const hs = hyp.stats;
  const ds = hyp.direct.stats;
  return {
    el2: m.pes.map((pe) => pe.counters.exceptions[2]!),
    el2Cycles: m.pes.map((pe) => pe.counters.cyclesAt[2]!),
    vms: hyp.vms.map((vm) => vm.counters()),
    vcpus: hyp.vms.map((vm) => vm.vcpus.map((v) => Object.assign(new VcpuCounters(), v.counters, { exitsByEc: v.counters.exitsByEc.slice() }))),
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
    vmovpCommands: ds?.vmovpCommands ?? 0,
    locks: Object.fromEntries(LOCK_CLASSES.map((c) => {
      const l = hyp.locks[c];
      return [c, { acquisitions: l.acquisitions, contended: l.contended, spinCycles: l.spinCycles }];
    })) as Counters['locks'],
  };
}

/** What counters `d` say, with `delivered` interrupts of latency `lat` (cycles). */
function costFigures(d: VcpuCounters, delivered: number, lat: LatencyFigures, us: (cycles: number) => number): CostFigures {
  const exitsByClass: Record<string, number> = {};
  for (let ec = 0; ec < 64; ec++) if (d.exitsByEc[ec]! > 0) exitsByClass[EC_NAMES[ec] ?? `EC 0x${ec.toString(16)}`] = d.exitsByEc[ec]!;
  return {
    exits: d.exits,
    irqExits: d.irqExits,
    exitsByClass,
    el2Cycles: d.el2Cycles,
    hostIrqs: d.hostIrqs,
    injected: d.injected,
    lrWrites: d.lrWrites,
    maintenance: d.maintenance,
    doorbells: d.doorbells,
    residencyChanges: d.residencyChanges,
    vmovps: d.vmovps,
    blocks: d.blocks,
    runQueueWaits: d.runQueueWaits,
    runQueueWaitUs: d.runQueueWaits > 0 ? us(d.runQueueWaitCycles / d.runQueueWaits) : 0,
    delivered,
    el2EntriesPerIrq: d.exits / Math.max(1, delivered),
    el2CyclesPerIrq: d.el2Cycles / Math.max(1, delivered),
    latencyCycles: lat,
    latencyUs: { p50: us(lat.p50), p99: us(lat.p99), max: us(lat.max), mean: us(lat.mean) },
  };
}

/** VM `i`'s figures: its delivery counts from the check, its vCPUs' counters over the measurement. */
function vmFigures(s: Scenario, specs: readonly VmSpec[], byUnit: ReadonlyMap<number, number[]> | undefined, path: RunPath, h: RunHandle, i: number, before: Counters, now: Counters, us: (cycles: number) => number): VmCost {
  const vm = h.platform.hyp.vms[i]!;
  const spec = specs.find((v) => v.name === vm.config.name);
  const k = h.check.countsOf(i);
  const byVcpu = h.check.deliveredByVcpu(i, vm.vcpus.length);
  const vcpus = vm.vcpus.map((v, j) => ({
    vcpu: j,
    ...costFigures(subtractCounters(now.vcpus[i]![j]!, before.vcpus[i]![j]!), byVcpu[j]!, latencyOf(h, i, j, byUnit), us),
  }));
  return {
    vm: vm.config.name,
    path: spec === undefined ? (path === 'mixed' ? s.path : path) : vmPath(s, spec, path),
    ...costFigures(subtractCounters(now.vms[i]!, before.vms[i]!), k.delivered, latencyOf(h, i, undefined, byUnit), us),
    msis: k.sent,
    accepted: k.accepted,
    coalesced: k.coalesced,
    undelivered: k.undelivered,
    duplicated: k.duplicated,
    misdelivered: k.misdelivered,
    vcpus,
  };
}

/** Latency figures of a list of latencies (cycles). */
function figuresOf(lat: Float64Array): LatencyFigures {
  const n = lat.length;
  return {
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.reduce((a, b) => Math.max(a, b), 0),
    mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, n),
  };
}

/** No deliveries: no percentiles (NaN, null in JSON), as `percentile` of an empty sample gives; max and mean 0. */
const NO_LATENCY: LatencyFigures = { p50: NaN, p99: NaN, max: 0, mean: 0 };

/**
 * Latency figures from the check, of the run, of VM `vm` or of one of its vCPUs: exact from the
 * records when kept, else from the check's histograms.
 */
function latencyOf(h: RunHandle, vm?: number, vcpu?: number, byUnit?: ReadonlyMap<number, number[]>): LatencyFigures {
  const c = h.check;
  if (h.record === 'all') {
    if (vm === undefined) return figuresOf(Float64Array.from(c.records, (r) => r.ackTime - r.writeTime));
    return figuresOf(Float64Array.from((byUnit ?? latenciesByUnit(h)).get(unitKey(vm, vcpu)) ?? []));
  }
  const hist = vm === undefined ? c.latency : c.latencyHistogramOf(vm, vcpu);
  if (hist === null || hist.count === 0) return NO_LATENCY;
  return { p50: hist.percentile(50), p99: hist.percentile(99), max: hist.max, mean: hist.mean };
}

/** Key of a VM (vcpu undefined) or one of its vCPUs in `latenciesByUnit`. */
function unitKey(vm: number, vcpu?: number): number {
  return vm * 65_537 + (vcpu === undefined ? 0 : vcpu + 1);
}

/** The recorded latencies grouped by VM and by vCPU, in one pass over the records. */
function latenciesByUnit(h: RunHandle): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const add = (k: number, x: number): void => {
    const l = out.get(k);
    if (l === undefined) out.set(k, [x]);
    else l.push(x);
  };
  for (const r of h.check.records) {
    const x = r.ackTime - r.writeTime;
    add(unitKey(r.vm), x);
    add(unitKey(r.vm, r.vcpu), x);
  }
  return out;
}

function measure(s: Scenario, path: RunPath, h: RunHandle, before: Counters, span: number, drainUs: number, drainLimitHit: boolean, runViolations: readonly string[], hostMs: number): PathResult {
  const m = h.platform.m;
  const verdict = h.check.finish();
  const k = verdict.counts;
  const now = counters(h);
  const el2CyclesPerCore = now.el2Cycles.map((c, i) => c - before.el2Cycles[i]!);
  const el2Entries = now.el2.reduce((a, n, i) => a + n - before.el2[i]!, 0);
  const el2Cycles = el2CyclesPerCore.reduce((a, c) => a + c, 0);
  const delivered = k.delivered;
  const c = latencyOf(h);
  const us = (x: number): number => m.cyclesToUs(x);
  const waits = now.runQueueWaits - before.runQueueWaits;
  const specs = expandVms(s);
  const byUnit = h.record === 'all' ? latenciesByUnit(h) : undefined;
  const vms = h.platform.hyp.vms.map((_, i) => vmFigures(s, specs, byUnit, path, h, i, before, now, us));
  return {
    scenario: s.name,
    path,
    gic: h.platform.gic.config.version === 3 ? '3' : h.platform.gic.config.v41 ? '4.1' : '4.0',
    its: h.platform.gic.config.itsCount,
    seed: s.seed,
    msis: k.sent,
    accepted: k.accepted,
    delivered,
    coalesced: k.coalesced,
    undelivered: k.undelivered,
    duplicated: k.duplicated,
    misdelivered: k.misdelivered,
    violations: [...runViolations, ...verdict.violations],
    drainUs,
    drainLimitHit,
    el2Entries,
    el2EntriesPerIrq: el2Entries / Math.max(1, delivered),
    el2CyclesPerIrq: el2Cycles / Math.max(1, delivered),
    latencyCycles: c,
    latencyUs: { p50: us(c.p50), p99: us(c.p99), max: us(c.max), mean: us(c.mean) },
    vpeSwitches: now.residencyChanges - before.residencyChanges,
    vpeSwitchCycles: now.residencyCycles - before.residencyCycles,
    dirtyPolls: now.dirtyPolls - before.dirtyPolls,
    vmovps: now.vmovps - before.vmovps,
    vmovpCommands: now.vmovpCommands - before.vmovpCommands,
    doorbells: now.doorbells - before.doorbells,
    runQueueWaitUs: { mean: waits > 0 ? us((now.runQueueWait - before.runQueueWait) / waits) : 0, max: us(h.platform.hyp.stats.runQueueWaitMax) },
    vcpuSwitches: now.switches - before.switches,
    kicks: now.kicks - before.kicks,
    maintenance: now.maintenance - before.maintenance,
    locks: Object.fromEntries(LOCK_CLASSES.map((cls) => {
      const a = before.locks[cls];
      const b = now.locks[cls];
      const spin = b.spinCycles - a.spinCycles;
      return [cls, { acquisitions: b.acquisitions - a.acquisitions, contended: b.contended - a.contended, spinCycles: spin, spinCyclesPerIrq: spin / Math.max(1, delivered), maxSpinCycles: h.platform.hyp.locks[cls].maxSpin }];
    })) as PathResult['locks'],
    el2Share: el2CyclesPerCore.map((x) => x / span),
    vms,
    unattributed: {
      el2Entries: el2Entries - vms.reduce((a, v) => a + v.exits, 0),
      el2Cycles: el2Cycles - vms.reduce((a, v) => a + v.el2Cycles, 0),
    },
    guestMapped: guestMapped(h),
    simulatedUs: us(span),
    hostMs,
  };
}

/** What the guests mapped through their emulated ITSs (`PathResult.guestMapped`). */
function guestMapped(h: RunHandle): PathResult['guestMapped'] {
  let devices = 0;
  let assigned = 0;
  let events = 0;
  for (const its of h.platform.hyp.vits) {
    assigned += its.owned.size;
    for (const d of its.devices.values()) if (d.owned !== null) devices++;
    events += its.forwarded.size;
  }
  return { devices, assigned, events };
}

/** The violations of `results` as one message (empty string: none). */
export function violationReport(results: readonly PathResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.violations.length === 0) continue;
    lines.push(`${r.path} path of scenario '${r.scenario}' (seed ${r.seed}): ${r.undelivered} undelivered, ${r.duplicated} duplicated, ${r.misdelivered} misdelivered`);
    for (const v of r.violations) lines.push(`  ${v}`);
  }
  return lines.join('\n');
}
