/**
 * Randomized checks: case generators and runners shared by the property tests
 * (test/properties/) and the soak (scenarios/soak-cli.ts). One integer seed fully determines a
 * case: every choice is drawn from the model's own seeded generator (core/random.ts), never
 * from fast-check or the wall clock, so a seed printed by a failing test or the soak is all it
 * takes to run the same case again (`checkScenario(randomScenario(seed, size))`,
 * `checkRogueCase(seed)`, `checkItsCase(seed)`; the soak's `runCase(seed)`).
 *
 * Three kinds of case:
 * - platform: a random scenario (cores, VMs, kernels, devices and traffic, list registers, WFI
 *   trap or native, every shipped policy, slice, seed), run on both delivery paths. Nothing may
 *   be lost, duplicated or misdelivered, every MSI the devices wrote must have been accepted (the
 *   devices start only once their guest is ready), and for every (VM, vCPU, vINTID) the MSIs
 *   accounted for (delivered + merged while pending) must equal those accepted, the same on both
 *   paths. Sizes: 'normal' (the property), 'small' (traced: `checkDeterminism` runs a case
 *   twice with a trace, same trace hash, same figures), 'large' (the soak: up to 16 cores and 24
 *   VMs, vPEs moving between cores at once).
 * - rogue: a victim VM with an assigned device, and a rogue VM whose vCPUs run a seeded stream of
 *   hostile actions (random accesses to its emulated GIC frames and to unmapped IPAs, random
 *   system registers including unallocated encodings, HVC/SMC/SVC with random function IDs and
 *   arguments, WFI, SGIs to vCPUs that do not exist, exclusives and atomics to MMIO), surviving
 *   every fault with its own vector entries (ELR_EL1 + 4, ERET). The victim must get every
 *   interrupt, the hypervisor must never panic, no JavaScript exception may escape, and the
 *   victim's RAM must not change where only the rogue could have written (`RogueOptions` can
 *   leave out the accesses that straddle the end of the rogue's RAM: a known fault).
 * - its: random 32-byte commands (valid and invalid opcodes, random and in-range fields) written
 *   by the driver library's ITS driver (drivers/its.ts) at EL2 into the command queue of the ITS
 *   of a 2-PE board (gic/board.ts), stalls mended as a driver would; the queue must drain, every
 *   error must carry an architected-looking code for the command that raised it, and a valid
 *   MAPD/MAPC/MAPTI/INT sequence and an MSI must still make two LPIs pending at redistributor 1,
 *   which PE 1 then acknowledges through its CPU interface.
 *
 * Every runner throws a `CaseFailure` whose message names the kind, the seed and what was wrong.
 */
import type { Word } from '../core/bits.js';
import { COST_PROFILES } from '../core/costs.js';
import { EC, ESR } from '../core/esr.js';
import type { Machine } from '../core/machine.js';
import {
  cas, eret, hvc, ldadd, ldclr, ldeor, ldr, ldset, ldxr, mrs, msr, smc, stxr, str, svc, swp, wfi, work,
  ORD_ACQUIRE_RELEASE, type AccessSize, type EntryFn, type Program,
} from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { Random } from '../core/random.js';
import { HVC_SET_AFFINITY, HVC_YIELD } from '../core/smccc.js';
import { sysreg, type SysReg } from '../core/sysreg.js';
import * as CoreRegs from '../core/sysregs.js';
import * as TimerRegs from '../core/timer.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0 } from '../core/timer.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { ItsDriver } from '../drivers/its.js';
import { allocLpiTables, allocPendingTable, configureLpi, enableLpis } from '../drivers/lpi.js';
import { createBoard } from '../gic/board.js';
import { redistributorSize } from '../gic/config.js';
import { ICC_SGIR } from '../gic/gic-registers.js';
import { commandOfOpcode, encodeCommand, ItsCmd, ITS_COMMANDS, writeCommand, type CommandWords, type ItsCommandName } from '../gic/its/commands.js';
import { errorName, Reason } from '../gic/its/errors.js';
import { COMMAND_BYTES, GITS, GITS_CREADR } from '../gic/its/its-registers.js';
import { GICD, GICR, GICR_SGI, GICR_SGI_BASE } from '../gic/mmio-offsets.js';
import * as GicRegs from '../gic/sysregs.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_SGI1R_EL1 } from '../gic/sysregs.js';
import { Kernel, KERNEL_READY_OFFSET, type KernelConfig, type KernelCpu } from '../guests/kernel.js';
import { deviceKernel, type DeviceKernel } from '../guests/samples.js';
import type { Injection } from '../hypervisor/config.js';
import { GUEST_GICD, GUEST_GICR, GUEST_GICR_STRIDE, GUEST_RAM } from '../hypervisor/layout.js';
import { POLICIES, policyNamed } from '../hypervisor/sched/policies.js';
import { attachDeliveryCheck } from './delivery-check.js';
import { addDevice, buildPlatform, guestReady, type Platform } from './platform.js';
import { runScenario, type PathResult, type RunHandle } from './run.js';
import type { DeliveryPath, DeviceSpec, Scenario, TrafficPattern, VmSpec } from './scenario.js';
import { ScenarioError, validateScenario } from './validate.js';

export type CaseKind = 'platform' | 'rogue' | 'its';

/** A randomized case that found something wrong: its kind, its seed, the case in a few words, and what was wrong. */
export class CaseFailure extends Error {
  constructor(
    readonly kind: CaseKind,
    readonly seed: number,
    /** The case in a few words (the scenario seed, cores, policy, ...). */
    readonly context: string,
    readonly violations: readonly string[],
    /** What the case did before it was found wrong (the soak counts it too). */
    readonly stats: CaseStats = { interrupts: 0, simulatedSeconds: 0 },
  ) {
    const n = violations.length;
    super(`${kind} case, seed ${seed} (${context}): ${n} violation${n === 1 ? '' : 's'}\n  ${violations.slice(0, 12).join('\n  ')}${n > 12 ? `\n  ... and ${n - 12} more` : ''}`);
    this.name = 'CaseFailure';
  }
}

/** What a case did, for the soak's summary. */
export interface CaseStats {
  /** MSIs the ITS accepted (both paths, or both injections). */
  readonly interrupts: number;
  /** Simulated time of every machine the case ran, seconds. */
  readonly simulatedSeconds: number;
}

const PATHS: readonly DeliveryPath[] = ['injected', 'direct'];

/** A short description of an exception thrown by the model, for a violation message. */
function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}${e.stack === undefined ? '' : ` (${e.stack.split('\n').slice(1, 3).map((l) => l.trim()).join(' / ')})`}`;
  return String(e);
}

/** Uniform on a log scale in [lo, hi]. */
function logUniform(r: Random, lo: number, hi: number): number {
  return lo * Math.exp(r.float() * Math.log(hi / lo));
}

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

/** True with probability `p`. */
function chance(r: Random, p: number): boolean {
  return r.float() < p;
}

// ====================================================================== random platforms

/** Simulated time the slowest core may need for one turn of every vCPU it runs during boot (slices are shortened to fit). */
const BOOT_TURN_US = 2500;
/** A VM whose devices together send more than this may keep its vCPUs busy (fixed-priority: it gets no priority above others). */
const QUIET_RATE = 50_000;

/**
 * How large a random scenario is: 'normal' (the property tests: well under a second of host time
 * for both paths), 'small' (cheap to trace), 'large' (8-16 cores, 8-24 VMs with a device each,
 * short slices: many vPEs moving at once and cores contending for the ITS and VMOVP locks; a few
 * seconds of host time, for the soak).
 */
export type ScenarioSize = 'normal' | 'small' | 'large';

interface SizeLimits {
  readonly cores: readonly [number, number];
  readonly vms: readonly [number, number];
  readonly vcpus: readonly [number, number];
  readonly devices: readonly [number, number];
  readonly ratePerSec: readonly [number, number];
  readonly sliceUs: readonly [number, number];
  readonly durationUs: readonly [number, number];
  /** Interference neighbours now and then. */
  readonly interference: boolean;
}

const SIZES: Readonly<Record<ScenarioSize, SizeLimits>> = {
  normal: { cores: [1, 8], vms: [1, 4], vcpus: [1, 4], devices: [1, 4], ratePerSec: [1_000, 500_000], sliceUs: [20, 2000], durationUs: [200, 1500], interference: true },
  small: { cores: [1, 2], vms: [1, 2], vcpus: [1, 2], devices: [1, 2], ratePerSec: [10_000, 100_000], sliceUs: [20, 2000], durationUs: [100, 299], interference: false },
  large: { cores: [8, 16], vms: [8, 24], vcpus: [1, 2], devices: [8, 24], ratePerSec: [10_000, 100_000], sliceUs: [20, 200], durationUs: [1000, 3000], interference: false },
};

/** The name of a random scenario: `random-<seed>`, or `random-<size>-<seed>` (so a scenario names its case). */
export function randomScenarioName(seed: number, size: ScenarioSize = 'normal'): string {
  return size === 'normal' ? `random-${seed}` : `random-${size}-${seed}`;
}

/**
 * A random scenario of `size` (`SIZES`), validated. The choices are adjusted, never skipped, so that the
 * scenario is valid and every guest can boot in time:
 * - slices shortened so that one turn of every vCPU on the busiest core takes at most
 *   BOOT_TURN_US (with 16 vCPUs that sleep in native WFI on one core and 2 ms slices, the last
 *   guest would need longer than the 20 ms boot limit);
 * - under fixed-priority, only VMs that sleep between interrupts (trapped WFI, no compute
 *   kernel, light traffic) get a priority above 0: a busy higher-priority VM starves the rest,
 *   as the policy promises, and they would never boot;
 * - on a ScenarioError about an ID limit, the numbers are reduced and validation tried again.
 */
export function randomScenario(seed: number, size: ScenarioSize = 'normal'): Scenario {
  const r = new Random(seed);
  const z = SIZES[size];
  const between = ([lo, hi]: readonly [number, number]): number => lo + r.int(hi - lo + 1);
  const cores = between(z.cores);
  const wfi: 'trap' | 'native' = chance(r, 0.6) ? 'trap' : 'native';
  const nVms = between(z.vms);
  const vms: VmSpec[] = [];
  for (let i = 0; i < nVms; i++) {
    const k = r.float();
    const kernel = k < 0.7 ? 'device' : k < 0.8 ? 'hog' : k < 0.9 ? 'idle' : 'ipi';
    const vm: VmSpec = { name: `vm${i}`, vcpus: between(z.vcpus), kernel };
    vms.push(chance(r, 0.25) ? { ...vm, wfi: chance(r, 0.5) ? 'trap' : 'native' } : vm);
  }
  const nDevices = between(z.devices);
  const devices: DeviceSpec[] = [];
  const rateOf = new Map<string, number>();
  for (let i = 0; i < nDevices; i++) {
    // Mostly to a device VM, when there is one.
    const deviceVms = vms.filter((v) => v.kernel === 'device');
    const target = deviceVms.length > 0 && chance(r, 0.8) ? pick(r, deviceVms) : pick(r, vms);
    const rate = logUniform(r, z.ratePerSec[0], z.ratePerSec[1]);
    rateOf.set(target.name, (rateOf.get(target.name) ?? 0) + rate);
    const k = r.float();
    let traffic: TrafficPattern;
    if (k < 0.35) traffic = { kind: 'periodic', periodUs: round3(1e6 / rate) };
    else if (k < 0.7) traffic = { kind: 'poisson', ratePerSec: Math.round(rate) };
    else {
      const burst = 1 + r.int(16);
      const gapUs = round3(logUniform(r, 0.05, 5));
      traffic = { kind: 'bursts', burst, gapUs, everyUs: round3(Math.max((burst * 1e6) / rate, burst * gapUs + 1)) };
    }
    const d: DeviceSpec = { vm: target.name, events: 1 + r.int(8), traffic };
    devices.push(chance(r, 0.2) ? { ...d, count: 1 + r.int(200) } : d);
  }
  const policy = pick(r, POLICIES).name;
  const interference = z.interference && chance(r, 0.1)
    ? { hogs: r.int(2), noisy: r.int(3), noisyRatePerSec: Math.round(logUniform(r, 1_000, 200_000)), placement: pick(r, ['same', 'other', 'any'] as const) }
    : undefined;
  // Fixed priority: only VMs that sleep between (few) interrupts may be preferred.
  if (policy === 'fixed-priority') {
    vms.forEach((v, i) => {
      const quiet = (v.kernel === 'device' || v.kernel === 'idle') && (v.wfi ?? wfi) === 'trap' && (rateOf.get(v.name) ?? 0) <= QUIET_RATE;
      if (quiet && chance(r, 0.5)) vms[i] = { ...v, priority: 1 + r.int(3) };
    });
  }
  // Boot in time: one turn of every vCPU of the busiest core within BOOT_TURN_US.
  const neighbours = interference === undefined ? 0 : interference.hogs + interference.noisy;
  const totalVcpus = vms.reduce((a, v) => a + v.vcpus, 0) + neighbours;
  const coresUsed = interference !== undefined && interference.placement !== 'any' ? Math.max(1, Math.floor(cores / 2)) : cores;
  const perCore = Math.ceil(totalVcpus / coresUsed);
  let sliceUs = Math.round(logUniform(r, z.sliceUs[0], z.sliceUs[1]));
  sliceUs = Math.max(20, Math.min(sliceUs, Math.floor(BOOT_TURN_US / perCore)));
  const raw = {
    name: randomScenarioName(seed, size),
    summary: `random platform (${size}), case seed ${seed}`,
    cores,
    clockMHz: chance(r, 0.8) ? 2000 : pick(r, [1000, 2500]),
    gicVersion: 4,
    listRegs: 1 + r.int(16),
    costProfile: pick(r, COST_PROFILES).name,
    policy,
    sliceUs,
    wfi,
    waitDirtyOnEntry: chance(r, 0.8),
    vmovpLock: chance(r, 0.5) ? 'per-vm' : 'global',
    vms,
    devices,
    ...(interference !== undefined ? { interference } : {}),
    durationUs: between(z.durationUs),
    seed: r.u32(),
    record: 'counters',
  };
  // Valid by construction; an ID limit (none is near with these numbers) is met by shrinking.
  for (let attempt = 0; ; attempt++) {
    try {
      return validateScenario(raw);
    } catch (e) {
      if (!(e instanceof ScenarioError) || attempt >= 8) throw e;
      raw.devices = raw.devices.map((d) => ({ ...d, events: Math.max(1, Math.floor(d.events / 2)) }));
      if (raw.interference !== undefined) raw.interference = { ...raw.interference, noisy: 0, hogs: 0 };
    }
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A scenario in a few words, for a failure's context. */
function describeScenario(s: Scenario): string {
  return `${s.name}, scenario seed ${s.seed}, ${s.cores} core${s.cores === 1 ? '' : 's'}, ${s.vms.length} VM${s.vms.length === 1 ? '' : 's'}, ${s.devices.length} device${s.devices.length === 1 ? '' : 's'}, policy ${s.policy}, WFI ${s.wfi}, slice ${s.sliceUs} us, ${s.durationUs} us, costs ${s.costProfile}`;
}

/** The case seed of a scenario made by `randomScenario` (from its name), else its own seed. */
function caseSeedOf(s: Scenario): number {
  const m = /^random-(?:[a-z]+-)?(\d+)$/.exec(s.name);
  return m === null ? s.seed : Number(m[1]);
}

export interface PlatformCaseResult extends CaseStats {
  readonly results: readonly PathResult[];
  /** Per path, per key: accepted, delivered, coalesced. */
  readonly perKey: readonly ReturnType<RunHandle['check']['perKey']>[];
}

/**
 * Runs `s` on both paths (counters only) and checks: no violation on either path; every MSI the
 * devices wrote accepted; for every (VM, vCPU, vINTID) delivered + coalesced = accepted, and the
 * same on both paths. Throws a CaseFailure naming the case seed, the path and the violations.
 */
export function checkScenario(s: Scenario): PlatformCaseResult {
  const seed = caseSeedOf(s);
  const sc: Scenario = { ...s, record: 'counters' };
  const bad: string[] = [];
  const results: PathResult[] = [];
  const perKey: ReturnType<RunHandle['check']['perKey']>[] = [];
  let simulated = 0;
  for (const path of PATHS) {
    let handle: RunHandle | undefined;
    let r: PathResult;
    try {
      r = runScenario(sc, { path, onBuilt: (h) => (handle = h) });
    } catch (e) {
      throw new CaseFailure('platform', seed, describeScenario(s), [`${path} path: the run threw ${describeError(e)}`]);
    }
    results.push(r);
    const m = handle!.platform.m;
    simulated += m.now / m.clockHz;
    const keys = handle!.check.perKey();
    perKey.push(keys);
    for (const v of r.violations) bad.push(`${path} path: ${v}`);
    if (r.accepted !== r.msis) bad.push(`${path} path: ${r.msis} MSIs written, ${r.accepted} accepted (the devices start once their guest is ready: the ITS must accept all)`);
    if (handle!.platform.hyp.stats.panics > 0) bad.push(`${path} path: the hypervisor panicked ${handle!.platform.hyp.stats.panics} time(s)`);
    for (const k of keys) {
      if (k.delivered + k.coalesced !== k.accepted) bad.push(`${path} path: vm${k.vm}.vcpu${k.vcpu} vINTID ${k.vintid}: ${k.accepted} MSIs accepted, ${k.delivered} delivered + ${k.coalesced} coalesced`);
    }
  }
  const [a, b] = perKey as [typeof perKey[0], typeof perKey[0]];
  if (a.length !== b.length) bad.push(`the paths follow different keys: ${a.length} and ${b.length}`);
  else {
    a.forEach((k, i) => {
      const o = b[i]!;
      const what = `vm${k.vm}.vcpu${k.vcpu} vINTID ${k.vintid}`;
      if (k.vm !== o.vm || k.vcpu !== o.vcpu || k.vintid !== o.vintid) bad.push(`key ${i}: ${what} on the injected path, vm${o.vm}.vcpu${o.vcpu} vINTID ${o.vintid} on the direct path`);
      else if (k.accepted !== o.accepted || k.delivered + k.coalesced !== o.delivered + o.coalesced) {
        bad.push(`${what}: injected path ${k.accepted} accepted, ${k.delivered + k.coalesced} accounted for; direct path ${o.accepted} accepted, ${o.delivered + o.coalesced} accounted for`);
      }
    });
  }
  const stats: CaseStats = { interrupts: results.reduce((x, r) => x + r.accepted, 0), simulatedSeconds: simulated };
  if (bad.length > 0) throw new CaseFailure('platform', seed, describeScenario(s), bad, stats);
  return { results, perKey, ...stats };
}

/** The figures of a PathResult that must not depend on anything but the seed (all but hostMs). */
function figures(r: PathResult): string {
  const { hostMs: _hostMs, ...rest } = r;
  return JSON.stringify(rest);
}

/**
 * Runs `s` twice on each path with a full trace: the two runs must give the same trace hash and
 * the same figures (everything but hostMs), and no violation (the trace invariants included).
 */
export function checkDeterminism(s: Scenario): CaseStats {
  const seed = caseSeedOf(s);
  const bad: string[] = [];
  let interrupts = 0;
  let simulated = 0;
  for (const path of PATHS) {
    const runs: { hash: string; figures: string; r: PathResult }[] = [];
    for (let i = 0; i < 2; i++) {
      let p: Platform | undefined;
      let r: PathResult;
      try {
        r = runScenario(s, { path, trace: true, onBuilt: (h) => (p = h.platform) });
      } catch (e) {
        throw new CaseFailure('platform', seed, `traced twice, ${describeScenario(s)}`, [`${path} path, traced run ${i + 1}: the run threw ${describeError(e)}`]);
      }
      runs.push({ hash: p!.m.trace.hash(), figures: figures(r), r });
      simulated += p!.m.now / p!.m.clockHz;
      interrupts += r.accepted;
      // The hash is taken: let the records go before the next run.
      p!.m.trace.records.length = 0;
    }
    const [x, y] = runs as [typeof runs[0], typeof runs[0]];
    for (const v of x.r.violations) bad.push(`${path} path: ${v}`);
    if (x.hash !== y.hash) bad.push(`${path} path: the same seed gave two traces (hash ${x.hash} then ${y.hash})`);
    if (x.figures !== y.figures) bad.push(`${path} path: the same seed gave two sets of figures:\n    ${x.figures}\n    ${y.figures}`);
  }
  if (bad.length > 0) throw new CaseFailure('platform', seed, `traced twice, ${describeScenario(s)}`, bad);
  return { interrupts, simulatedSeconds: simulated };
}

// ====================================================================== rogue guests

/** One rogue-guest case: the platform, the victim's traffic, and the rogue's seed. */
export interface RogueCase {
  readonly seed: number;
  readonly cores: number;
  readonly policy: string;
  readonly sliceUs: number;
  readonly trapWfi: boolean;
  readonly rogueVcpus: number;
  readonly victimVcpus: number;
  /** The rogue VM comes first (its RAM just below the victim's) or second. */
  readonly rogueFirst: boolean;
  readonly victimEvents: number;
  /** The victim's device: one MSI every `periodUs` on average (Poisson) or exactly (periodic), `count` of them. */
  readonly traffic: 'periodic' | 'poisson';
  readonly periodUs: number;
  readonly count: number;
  /** The rogue may switch itself off (PSCI CPU_OFF, SYSTEM_OFF) somewhere in its stream. */
  readonly allowOff: boolean;
  /** Seed of the rogue's action streams. */
  readonly actionSeed: number;
  readonly machineSeed: number;
}

export function randomRogueCase(seed: number): RogueCase {
  const r = new Random(seed ^ 0x5eed_0a5e);
  const cores = 1 + r.int(3);
  return {
    seed,
    cores,
    // Every shipped policy; all VMs are at priority 0 (fixed-priority: FIFO among equals).
    policy: pick(r, POLICIES).name,
    sliceUs: Math.round(logUniform(r, 20, 500)),
    trapWfi: chance(r, 0.5),
    rogueVcpus: 1 + r.int(2),
    victimVcpus: 1 + r.int(2),
    rogueFirst: chance(r, 0.5),
    victimEvents: 1 + r.int(4),
    traffic: chance(r, 0.5) ? 'periodic' : 'poisson',
    periodUs: round3(logUniform(r, 5, 50)),
    count: 20 + r.int(80),
    allowOff: chance(r, 0.15),
    actionSeed: r.u32(),
    machineSeed: r.u32(),
  };
}

/** What the rogue did, per kind of action, and the exceptions its handler absorbed. */
export interface RogueStats {
  readonly actions: Record<string, number>;
  /** Synchronous exceptions the rogue took and stepped over, by ESR_EL1.EC. */
  readonly faults: Record<number, number>;
}

export interface RogueResult extends CaseStats {
  readonly injection: Injection;
  readonly sent: number;
  readonly delivered: number;
  readonly coalesced: number;
  readonly rogue: RogueStats;
}

/** The guest kernel's per-CPU vectors (guests/kernel.ts): RAM base + 0x1000 + 0x800 * cpu. */
const KERNEL_VECTORS = 0x1000;
const KERNEL_VECTOR_STRIDE = 0x800;
/** Synchronous vector entries: current EL with SP_EL0, with SP_ELx, lower EL (AArch64). */
const SYNC_OFFSETS = [0x000, 0x200, 0x400];
/** FIQ and SError entries of the same three groups. */
const ASYNC_OFFSETS = [0x100, 0x180, 0x300, 0x380, 0x500, 0x580];
/** The virtual timer PPI, which the rogue arms before WFI so that a trapped WFI wakes again. */
const VTIMER_PPI = 27;
const VM_RAM = 16 * 0x10_0000;
/** Where a victim's RAM is never written by itself or the hypervisor (guests/kernel.ts layout): byte ranges [from, to). */
const CANARY_RANGES: readonly [number, number][] = [
  [0x0, KERNEL_READY_OFFSET],
  [KERNEL_READY_OFFSET + 4, KERNEL_VECTORS + 2 * KERNEL_VECTOR_STRIDE],
  [VM_RAM - 0x1_0000, VM_RAM],
];
const CANARY_WORD = 0xdeadc0de;
/** Boot and drain bounds of a rogue case (simulated). */
const ROGUE_BOOT_US = 20_000;
const ROGUE_DRAIN_US = 20_000;

/** Every system register the model declares (core, timer, GIC), for random MRS/MSR. */
const DECLARED_SYSREGS: readonly SysReg[] = (() => {
  const out: SysReg[] = [];
  const isReg = (x: unknown): x is SysReg => typeof x === 'object' && x !== null && 'key' in x && 'op0' in x && 'name' in x;
  for (const mod of [CoreRegs, TimerRegs, GicRegs] as Record<string, unknown>[]) {
    for (const v of Object.values(mod)) {
      if (isReg(v)) out.push(v);
      else if (Array.isArray(v)) for (const x of v) if (isReg(x)) out.push(x);
    }
  }
  const seen = new Set<number>();
  return out.filter((x) => (seen.has(x.key) ? false : (seen.add(x.key), true)));
})();

/**
 * Registers the rogue never writes: its own vector base (writing it would leave it no handler
 * for its next fault: it would loop in exception entry and do nothing else the case could test).
 */
const NEVER_WRITTEN = new Set([CoreRegs.VBAR_EL1.key]);

const GICD_OFFSETS: readonly number[] = Object.values(GICD);
const GICR_OFFSETS: readonly number[] = [...Object.values(GICR), ...Object.values(GICR_SGI).map((o) => GICR_SGI_BASE + o)];

/** The rogue's environment: where things are, as it sees them. */
interface RogueEnv {
  readonly cpus: number;
  readonly allowOff: boolean;
  readonly stats: { actions: Record<string, number>; faults: Record<number, number> };
}

function count(stats: RogueEnv['stats'], what: string): void {
  stats.actions[what] = (stats.actions[what] ?? 0) + 1;
}

function randomSize(r: Random): AccessSize {
  return pick(r, [1, 2, 4, 8] as const);
}

/** A random value for an access of `size` bytes (bigint for 8). */
function randomValue(r: Random, size: number): Word {
  if (size === 8) return (BigInt(r.u32()) << 32n) | BigInt(r.u32());
  const v = chance(r, 0.3) ? pick(r, [0, 1, 0xffffffff, 0x80000000]) : r.u32();
  return size === 4 ? v >>> 0 : v % 2 ** (8 * size);
}

/** An address in the rogue's emulated GIC frames (a register, or anywhere), `size`-aligned mostly. */
function gicAddress(r: Random, cpus: number, size: number): number {
  let a: number;
  if (chance(r, 0.4)) a = GUEST_GICD + (chance(r, 0.6) ? pick(r, GICD_OFFSETS) + 4 * r.int(4) : r.int(0x10000));
  else {
    // A redistributor of one of its vCPUs, or of one beyond (not emulated: unmapped).
    const rd = r.int(cpus + 1);
    a = GUEST_GICR + rd * GUEST_GICR_STRIDE + (chance(r, 0.6) ? pick(r, GICR_OFFSETS) + 4 * r.int(2) : r.int(GUEST_GICR_STRIDE));
  }
  if (chance(r, 0.85)) a -= a % size;
  return a;
}

/** An IPA nothing maps for the rogue (or whose mapping ends inside the access). */
function unmappedAddress(r: Random, size: number): number {
  const k = r.int(7);
  let a: number;
  switch (k) {
    case 0:
      a = r.int(0x10_0000); // the first MiB
      break;
    case 1:
      a = GUEST_RAM + VM_RAM + r.int(0x20_0000); // just past its RAM: the next VM's, physically
      break;
    case 2:
      a = GUEST_RAM - 1 - r.int(0x1000); // just below its RAM
      break;
    case 3:
      a = 0x5000_0000 + r.int(0x1000_0000); // where VMs' RAM sits physically
      break;
    case 4:
      a = 0x0800_0000 + 0x10000 + r.int(0x1_0000); // past the emulated distributor
      break;
    case 5:
      a = r.int(2 ** 20) * 4096 + r.int(4096); // anywhere below 4 GiB
      break;
    default:
      a = r.int(2 ** 16) * 2 ** 24 + r.int(2 ** 24); // anywhere in 40 bits
  }
  if (chance(r, 0.7)) a -= a % size;
  return a;
}

/** A random system register: a declared one, or an encoding nothing allocates. */
function randomSysreg(r: Random): SysReg {
  if (chance(r, 0.75)) return pick(r, DECLARED_SYSREGS);
  return sysreg('S?_?_C?_C?_?', r.int(4), r.int(8), r.int(16), r.int(16), r.int(8));
}

/** A random SMCCC function ID: PSCI and minivisor calls, their neighbours, or anything. */
function randomFunction(r: Random, allowOff: boolean): number {
  const k = r.float();
  if (k < 0.45) {
    const known: number[] = [PSCI.VERSION, PSCI.FEATURES, PSCI.AFFINITY_INFO, PSCI.CPU_ON, HVC_SET_AFFINITY, HVC_YIELD];
    if (allowOff && chance(r, 0.02)) known.push(PSCI.CPU_OFF, PSCI.SYSTEM_OFF);
    return pick(r, known);
  }
  if (k < 0.7) {
    const base = pick(r, [0x8400_0000, 0xc400_0000, 0xc600_0000, 0x8600_0000, 0x8000_0000, 0xc500_0000]);
    const fn = base + r.int(0x20);
    // CPU_OFF and SYSTEM_OFF only when the case allows them.
    if (!allowOff && (fn === PSCI.CPU_OFF || fn === PSCI.SYSTEM_OFF)) return PSCI.VERSION;
    return fn;
  }
  const fn = r.u32();
  return !allowOff && (fn === PSCI.CPU_OFF || fn === PSCI.SYSTEM_OFF) ? PSCI.VERSION : fn;
}

/** A random argument register value: small, an affinity, an address, or any 32/64-bit value. */
function randomArg(r: Random, env: RogueEnv): Word {
  switch (r.int(6)) {
    case 0:
      return r.int(16);
    case 1:
      return cpuAffinity(r.int(env.cpus + 2)) + (chance(r, 0.2) ? 0x80000000 : 0);
    case 2:
      return 8192 + r.int(64); // an LPI
    case 3:
      return GUEST_RAM + pick(r, [0, 0x100, r.int(VM_RAM)]); // its own entry points, or anywhere in its RAM
    case 4:
      return r.u32();
    default:
      return (BigInt(r.u32()) << 32n) | BigInt(r.u32());
  }
}

/**
 * One hostile action of a rogue vCPU, drawn from `r` (ops yielded; every fault is absorbed by
 * the rogue's own vector entries, which step over the faulting op).
 */
function* rogueAction(r: Random, env: RogueEnv): Program {
  const k = r.int(100);
  const stats = env.stats;
  if (k < 22) {
    // A load or store in its emulated GIC frames.
    const size = randomSize(r);
    const a = gicAddress(r, env.cpus, size);
    if (chance(r, 0.5)) {
      count(stats, 'gic-load');
      yield ldr(a, size, 2);
    } else {
      count(stats, 'gic-store');
      const v = randomValue(r, size);
      yield str(a, v, size, 2);
    }
  } else if (k < 34) {
    // A load or store where nothing is mapped; sometimes one that straddles the end of its RAM.
    const size = randomSize(r);
    // Straddling the end of its RAM: the second page must fault (stage 2 maps nothing there).
    const straddle = chance(r, 0.2);
    const a = straddle ? GUEST_RAM + VM_RAM - 1 - r.int(size - 1 > 0 ? size - 1 : 1) : unmappedAddress(r, size);
    if (chance(r, 0.4)) {
      count(stats, straddle ? 'straddling-load' : 'unmapped-load');
      yield ldr(a, size, 3);
    } else {
      count(stats, straddle ? 'straddling-store' : 'unmapped-store');
      const v = randomValue(r, size);
      yield str(a, v, size, 3);
    }
  } else if (k < 52) {
    // MRS or MSR of a random system register (declared or unallocated).
    const reg = randomSysreg(r);
    if (chance(r, 0.5) || NEVER_WRITTEN.has(reg.key)) {
      count(stats, 'mrs');
      yield mrs(reg, 4);
    } else {
      count(stats, 'msr');
      const v = randomValue(r, chance(r, 0.5) ? 8 : 4);
      yield msr(reg, v, 4);
    }
  } else if (k < 64) {
    // HVC, SMC or SVC with a random function ID and arguments.
    const conduit = r.int(10);
    const imm = chance(r, 0.8) ? 0 : r.int(0x10000);
    const fn = randomFunction(r, env.allowOff);
    const a1 = randomArg(r, env);
    const a2 = randomArg(r, env);
    const a3 = randomArg(r, env);
    if (conduit < 6) {
      count(stats, 'hvc');
      yield hvc(imm, fn, a1, a2, a3);
    } else if (conduit < 9) {
      count(stats, 'smc');
      yield smc(imm, fn, a1, a2, a3);
    } else {
      count(stats, 'svc');
      yield svc(imm, fn, a1, a2, a3);
    }
  } else if (k < 72) {
    // A run of WFI, with its virtual timer armed so that a trapped WFI wakes again.
    count(stats, 'wfi');
    const ticks = 1 + r.int(2000);
    yield msr(CNTV_TVAL_EL0, ticks, 5);
    yield msr(CNTV_CTL_EL0, 1, 5);
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) yield wfi();
  } else if (k < 84) {
    // ICC_SGI1R_EL1 naming vCPUs that (mostly) do not exist.
    count(stats, 'sgi');
    const v = ICC_SGIR.encode({
      INTID: r.int(16),
      TargetList: r.int(0x10000),
      Aff1: chance(r, 0.5) ? 0 : r.int(256),
      Aff2: chance(r, 0.7) ? 0 : r.int(256),
      Aff3: chance(r, 0.8) ? 0 : r.int(256),
      RS: chance(r, 0.6) ? 0 : r.int(16),
      IRM: chance(r, 0.2) ? 1 : 0,
    });
    yield msr(ICC_SGI1R_EL1, v, 6);
  } else {
    // Exclusives and atomics to MMIO, to unmapped IPAs, and (legitimately) to its own RAM.
    const size = randomSize(r);
    const where = r.int(3);
    const a = where === 0 ? gicAddress(r, env.cpus, size) : where === 1 ? unmappedAddress(r, size) : GUEST_RAM + 0x80_0000 + r.int(0x1000) * 8;
    const v = randomValue(r, size);
    const op = r.int(8);
    count(stats, `atomic-${['mmio', 'unmapped', 'ram'][where]}`);
    switch (op) {
      case 0:
        yield ldxr(a, size, 7);
        break;
      case 1:
        yield stxr(a, v, size, 7, 8);
        break;
      case 2: {
        const w = randomValue(r, size);
        yield cas(a, v, w, size, r.int(4), 7, 8);
        break;
      }
      case 3:
        yield ldadd(a, v, size, r.int(4), 7);
        break;
      case 4:
        yield swp(a, v, size, ORD_ACQUIRE_RELEASE, 7);
        break;
      case 5:
        yield ldclr(a, v, size, 0, 7);
        break;
      case 6:
        yield ldset(a, v, size, 0, 7);
        break;
      default:
        yield ldeor(a, v, size, 0, 7);
    }
  }
}

/** The rogue kernel: boots like any guest (with the virtual timer PPI), waits for all its CPUs, then acts forever. */
function rogueKernel(c: KernelConfig, seed: number, env: RogueEnv): Kernel {
  const k = new Kernel({ ...c, ppis: [VTIMER_PPI] });
  k.onIrq(VTIMER_PPI, function* (): Program {
    // Disarm: the timer's output is a level.
    yield msr(CNTV_CTL_EL0, 0, 1);
  });
  const streams = Array.from({ length: c.cpus }, (_, i) => new Random((seed + i * 0x9e3779b9) >>> 0));
  k.main = function* (cpu: KernelCpu): Program {
    for (;;) {
      const up: number = yield ldr(c.ramBase + KERNEL_READY_OFFSET, 4, 1);
      if (up >= c.cpus) break;
      yield work(2000);
    }
    const r = streams[cpu.index]!;
    for (;;) {
      yield* rogueAction(r, env);
      yield work(50 + r.int(500));
    }
  };
  return k;
}

/** The rogue's own exception entries: step over the faulting op (ELR_EL1 + 4) and return; FIQ/SError: return. */
function installRogueVectors(p: Platform, vm: number, cpus: number, env: RogueEnv): void {
  const step: EntryFn = function* (): Program {
    const esr: number = yield mrs(CoreRegs.ESR_EL1, 1);
    const ec = ESR.get(esr, 'EC');
    env.stats.faults[ec] = (env.stats.faults[ec] ?? 0) + 1;
    const elr: number = yield mrs(CoreRegs.ELR_EL1, 1);
    yield msr(CoreRegs.ELR_EL1, elr + 4, 1);
    yield eret();
  };
  const back: EntryFn = function* (): Program {
    yield eret();
  };
  for (let cpu = 0; cpu < cpus; cpu++) {
    const base = p.vmRamPa[vm]! + KERNEL_VECTORS + KERNEL_VECTOR_STRIDE * cpu;
    for (const o of SYNC_OFFSETS) p.m.code.install(base + o, step, `rogue.cpu${cpu}.sync+0x${o.toString(16)}`);
    for (const o of ASYNC_OFFSETS) p.m.code.install(base + o, back, `rogue.cpu${cpu}.async+0x${o.toString(16)}`);
  }
}

export interface RogueOptions {
  /** Trace the run (default false). */
  readonly trace?: boolean;
  /** Called with the platform before it runs (to look at it after a failure). */
  readonly onBuilt?: (p: Platform) => void;
}

/** Runs one rogue case with one injection. Throws a CaseFailure (kind 'rogue') on any violation. */
export function runRogueCase(c: RogueCase, injection: Injection, o: RogueOptions = {}): RogueResult {
  const policy = policyNamed(c.policy);
  const env: RogueEnv = { cpus: c.rogueVcpus, allowOff: c.allowOff, stats: { actions: {}, faults: {} } };
  const rogueIndex = c.rogueFirst ? 0 : 1;
  const victimIndex = 1 - rogueIndex;
  const events = Array.from({ length: c.victimEvents }, (_, e) => ({ eventId: e, vcpu: e % c.victimVcpus, vintid: 8224 + e }));
  const rogueVm = { name: 'rogue', vcpus: c.rogueVcpus, injection, kernel: (k: KernelConfig) => rogueKernel(k, c.actionSeed, env) };
  const victimVm = { name: 'victim', vcpus: c.victimVcpus, injection, kernel: (k: KernelConfig) => deviceKernel(k, { log: { keep: 'none' } }), devices: [{ deviceId: 1, events }] };
  const where = `injection ${injection}, ${c.cores} core${c.cores === 1 ? '' : 's'}, policy ${c.policy}, slice ${c.sliceUs} us, WFI ${c.trapWfi ? 'trapped' : 'native'}, rogue ${c.rogueVcpus} vCPU(s) ${c.rogueFirst ? 'before' : 'after'} the victim (${c.victimVcpus} vCPU(s))`;
  const fail = (what: string[], stats?: CaseStats): never => {
    throw new CaseFailure('rogue', c.seed, where, what, stats);
  };
  const p = buildPlatform({
    cores: c.cores,
    seed: c.machineSeed,
    gic: { version: 4 },
    policy,
    sliceUs: c.sliceUs,
    trapWfi: c.trapWfi,
    trace: o.trace ?? false,
    vms: c.rogueFirst ? [rogueVm, victimVm] : [victimVm, rogueVm],
  });
  o.onBuilt?.(p);
  installRogueVectors(p, rogueIndex, c.rogueVcpus, env);
  // Canaries where the victim's RAM is never written by the victim or the hypervisor.
  const mem = p.m.bus.memory;
  const victimPa = p.vmRamPa[victimIndex]!;
  for (const [from, to] of CANARY_RANGES) for (let o = from; o < to; o += 4) mem.write32(victimPa + o, (CANARY_WORD ^ o) >>> 0);
  const m = p.m;
  const device = addDevice(p, 1, events.map((e) => e.eventId), c.traffic === 'periodic' ? { kind: 'periodic', period: m.usToCycles(c.periodUs) } : { kind: 'poisson', mean: m.usToCycles(c.periodUs) }, { count: c.count, record: 'none' });
  const check = attachDeliveryCheck(p, [{ device, deviceId: 1, vm: victimIndex, events: events.map((e) => ({ vcpu: e.vcpu, vintid: e.vintid })) }], false);
  const runTo = (t: number): void => {
    try {
      m.run(t);
    } catch (e) {
      fail([`a JavaScript exception escaped m.run at cycle ${m.now}: ${describeError(e)}`]);
    }
  };
  // Both guests ready (the rogue acts only once all its CPUs are up), then the victim's device.
  const bootEnd = m.usToCycles(ROGUE_BOOT_US);
  while (!(guestReady(p, 0) && guestReady(p, 1)) && m.now < bootEnd) runTo(m.now + m.usToCycles(5));
  if (!guestReady(p, victimIndex)) fail([`the victim did not say it was ready within ${ROGUE_BOOT_US} us of boot`]);
  if (!guestReady(p, rogueIndex)) fail([`the rogue did not say it was ready within ${ROGUE_BOOT_US} us of boot`]);
  device.start();
  // Run while the device sends, then drain (bounded).
  const drainEnd = m.now + m.usToCycles(c.periodUs * c.count * 4 + ROGUE_DRAIN_US);
  while ((device.active || check.outstanding > 0) && m.now < drainEnd) runTo(m.now + m.usToCycles(10));
  // A little longer, so a late duplicate or misdelivery would be seen.
  runTo(m.now + m.usToCycles(50));
  const verdict = check.finish();
  const k = verdict.counts;
  const bad: string[] = [...verdict.violations];
  if (device.active) bad.push(`the device was still sending at the end of the run (${device.sent} of ${c.count} MSIs sent)`);
  if (k.sent !== c.count) bad.push(`the device sent ${k.sent} MSIs, ${c.count} expected`);
  if (k.accepted !== k.sent) bad.push(`${k.sent} MSIs written, ${k.accepted} accepted by the ITS`);
  if (k.delivered + k.coalesced !== k.sent) bad.push(`${k.sent} MSIs sent, ${k.delivered} delivered + ${k.coalesced} coalesced (${k.undelivered} undelivered, ${check.outstanding} outstanding)`);
  if (p.hyp.stats.panics > 0) bad.push(`the hypervisor panicked ${p.hyp.stats.panics} time(s)`);
  const victim = p.kernels[victimIndex] as DeviceKernel;
  victim.cpus.forEach((cpu) => {
    for (const f of cpu.faults) bad.push(`the victim's CPU ${cpu.index} took an exception it did not expect: ESR 0x${f.esr.toString(16)}, FAR 0x${f.far.toString(16)}`);
  });
  const changed: string[] = [];
  for (const [from, to] of CANARY_RANGES) {
    for (let o = from; o < to; o += 4) {
      const w = mem.read32(victimPa + o);
      if (w !== (CANARY_WORD ^ o) >>> 0) changed.push(`0x${o.toString(16)}: 0x${w.toString(16)}`);
    }
  }
  if (changed.length > 0) bad.push(`the victim's RAM changed where neither it nor the hypervisor writes (offset: value): ${changed.slice(0, 6).join(', ')}${changed.length > 6 ? `, ... (${changed.length} words)` : ''}`);
  if (bad.length > 0) fail(bad, { interrupts: k.accepted, simulatedSeconds: m.now / m.clockHz });
  return {
    injection,
    sent: k.sent,
    delivered: k.delivered,
    coalesced: k.coalesced,
    interrupts: k.accepted,
    simulatedSeconds: m.now / m.clockHz,
    rogue: { actions: { ...env.stats.actions }, faults: { ...env.stats.faults } },
  };
}

/** The rogue case of `seed`, with both injections (list registers, then direct). */
export function checkRogueCase(seed: number, o: RogueOptions = {}): RogueResult[] {
  const c = randomRogueCase(seed);
  return (['list-register', 'direct'] as const).map((inj) => runRogueCase(c, inj, o));
}

// ====================================================================== random ITS command bytes

/** The IDs random commands use "in range" (some mapped by the prefix, some not). */
const ITS_DEVICES = 12;
const ITS_EVENTS = 40;
const ITS_ICIDS = 12;
const ITS_VPES = 6;
/** The final check's device, collection and LPIs: outside every range the random commands use in range. */
const FINAL_DEVICE = 200;
const FINAL_ICID = 100;
const FINAL_LPI = 9000;
/** GITS_CREADR polls before a wait gives up (the queue did not drain). */
const ITS_WAIT_POLLS = 200_000;
/** The case's RAM (the board's 2 GiB at 0x4000_0000): the command queue and the ITS tables (one 4 KB page each: 512 DeviceIDs, collections, vPEs). */
const ITS_QUEUE = 0x4800_0000;
const ITS_DEVICE_TABLE = 0x4810_0000;
const ITS_COLLECTION_TABLE = 0x4820_0000;
const ITS_VPE_TABLE = 0x4830_0000;
/** Where random commands put ITTs and VPTs (most of the time), and an address no region decodes (memory faults). */
const ITT_AREA = 0x4900_0000;
const VPT_AREA = 0x4a00_0000;
const NOWHERE = 0x1_0000_0000;
/** What the software allocates (redistributor 1's LPI tables), and where PE 1 records the INTIDs it acknowledged (a count, then the INTIDs). */
const ITS_HEAP = 0x6000_0000;
const ITS_HEAP_SIZE = 0x0100_0000;
const ITS_ACKS = 0x6800_0000;
/** Acknowledgements PE 1 takes at most (it stops at the first 1023). */
const ITS_MAX_ACKS = 16;

export interface ItsCase {
  readonly seed: number;
  readonly version: 3 | 4;
  /** Command queue pages (1 or 2: the ring wraps). */
  readonly queuePages: number;
  /** Batches of commands, each written, published with GITS_CWRITER and waited for. */
  readonly batches: readonly (readonly CommandWords[])[];
  readonly machineSeed: number;
}

function randomBig64(r: Random): bigint {
  return (BigInt(r.u32()) << 32n) | BigInt(r.u32());
}

/** One random command: any bytes, a random opcode with random fields, or a real command with fields in and out of range. */
function randomCommand(r: Random): CommandWords {
  const k = r.float();
  if (k < 0.15) return [randomBig64(r), randomBig64(r), randomBig64(r), randomBig64(r)];
  if (k < 0.25) {
    // A random opcode (mostly unallocated) with random other bytes.
    const dw0 = (randomBig64(r) & ~0xffn) | BigInt(r.int(256));
    return [dw0, randomBig64(r), randomBig64(r), randomBig64(r)];
  }
  const names = Object.keys(ITS_COMMANDS) as ItsCommandName[];
  const name = pick(r, names);
  const inRange = chance(r, 0.8);
  const id = (n: number): number => (inRange ? r.int(n) : chance(r, 0.5) ? r.u32() : r.int(0x10000));
  const intid = chance(r, 0.7) ? 8192 + r.int(200) : chance(r, 0.5) ? r.int(8192) : r.u32();
  const addr = chance(r, 0.7) ? ITT_AREA + r.int(64) * 0x1_0000 : chance(r, 0.5) ? NOWHERE + r.int(16) * 0x1_0000 : r.int(2 ** 20) * 0x1_0000;
  const rd = chance(r, 0.8) ? r.int(3) : r.int(0x10000);
  const words = encodeCommand(name, {
    DeviceID: id(ITS_DEVICES), EventID: id(ITS_EVENTS), ICID: id(ITS_ICIDS), pINTID: intid, vINTID: intid,
    RDbase: rd, RDbase1: rd, RDbase2: chance(r, 0.8) ? r.int(3) : r.int(0x10000), vPEID: id(ITS_VPES),
    Size: r.int(20), VPT_size: r.int(20), ITT_addr: addr, VPT_addr: chance(r, 0.8) ? VPT_AREA + r.int(16) * 0x1_0000 : addr,
    V: chance(r, 0.8) ? 1 : 0, D: r.int(2), Dbell_pINTID: pick(r, [1023, 8250 + r.int(20), r.int(8192), r.u32()]),
    SequenceNumber: r.int(0x10000), ITSList: r.int(0x10000),
  } as never);
  // Sometimes RES0 bits set too (the ITS ignores them: commands.ts CHOICE).
  if (chance(r, 0.15)) return [words[0] | (BigInt(r.int(256)) << 8n), words[1] | (BigInt(r.int(2)) << 62n), words[2], words[3] | (BigInt(r.int(2)) << 60n)];
  return words;
}

export function randomItsCase(seed: number): ItsCase {
  const r = new Random(seed ^ 0x175_c0de);
  const nBatches = 1 + r.int(6);
  const batches = Array.from({ length: nBatches }, () => Array.from({ length: 1 + r.int(40) }, () => randomCommand(r)));
  return { seed, version: chance(r, 0.8) ? 4 : 3, queuePages: 1 + r.int(2), batches, machineSeed: r.u32() };
}

/** A command written into a queue slot (the log the errors are matched against). */
interface Written {
  readonly offset: number;
  readonly words: CommandWords;
}

export interface ItsResult extends CaseStats {
  readonly commands: number;
  readonly errors: number;
  readonly stalls: number;
}

/** Entry address of the program an ITS case runs on PE `pe` (each case has its own machine). */
const itsEntry = (pe: number): number => 0x7000_0000 + pe * 0x1000;

/**
 * Runs `fn` on PE `pe` of `m` at EL2 until it ends (then PSCI CPU_OFF); throws if it did not end
 * within `limit` cycles.
 */
function runOnPe(m: Machine, pe: number, fn: () => Program, limit: number): void {
  const entry = itsEntry(pe);
  let done = false;
  m.code.install(entry, function* (): Program {
    yield* fn();
    done = true;
    m.stop();
    yield smc(0, PSCI.CPU_OFF);
  });
  m.pes[pe]!.powerOn(entry, 2, m.now);
  m.run(m.now + limit);
  if (!done) throw new Error(`the program on PE ${pe} did not finish within ${limit} cycles`);
}

/**
 * Runs one ITS case on a 2-PE board (the case's GIC version and machine seed, trace off) with the
 * driver library's ITS driver on PE 0 at EL2: a valid prefix (devices, collections, vPEs) so
 * random commands meet mapped things, the random batches (written with the raw queue primitives
 * so that every error shows; stalls mended: the command at GITS_CREADR replaced by a SYNC,
 * GITS_CWRITER written with Retry = 1). Then PE 0 brings the distributor up and gives
 * redistributor 1 LPI tables (the final LPIs enabled), and sends MAPD/MAPC/MAPTI/INT on IDs the
 * random commands never touch; a device's MSI follows. Last, PE 1 is powered on: it wakes its
 * redistributor, enables its CPU interface and acknowledges (ICC_IAR1_EL1, interrupts masked)
 * until it reads 1023. Both final LPIs must have been acknowledged there, each once, and nothing
 * else. Throws a CaseFailure (kind 'its').
 */
export function runItsCase(c: ItsCase): ItsResult {
  const bad: string[] = [];
  const fail = (what: string[]): never => {
    throw new CaseFailure('its', c.seed, `GICv${c.version} ITS, ${c.queuePages}-page queue, ${c.batches.reduce((a, b) => a + b.length, 0)} random commands in ${c.batches.length} batch(es)`, what);
  };
  const board = createBoard({ cores: 2, seed: c.machineSeed, trace: false, gic: { version: c.version } });
  const { m, config: cfg } = board;
  const its = board.gic.its;
  const heap = new PhysHeap(ITS_HEAP, ITS_HEAP_SIZE);
  const d = new ItsDriver(cfg.itsBase, heap);
  const rd1 = cfg.gicrBase + 1 * redistributorSize(cfg.version);
  const written: Written[] = [];
  let stalls = 0;
  let finalFrom = 0;
  const put = function* (cmds: readonly CommandWords[]): Program {
    cmds.forEach((words, i) => written.push({ offset: (d.writeOffset + i * COMMAND_BYTES) % d.queueBytes, words }));
    yield* d.write(cmds);
  };
  /** Waits until CREADR reaches CWRITER, mending stalls; throws when it does not within the bound. */
  const drain = function* (what: string): Program {
    for (let mends = 0; ; mends++) {
      let v = 0;
      let polls = 0;
      for (; polls < ITS_WAIT_POLLS; polls++) {
        v = yield ldr(cfg.itsBase + GITS.CREADR, 4, 2);
        if (GITS_CREADR.get(v, 'Stalled') === 1 || GITS_CREADR.get(v, 'Offset') * COMMAND_BYTES === d.writeOffset) break;
      }
      if (polls === ITS_WAIT_POLLS) throw new Error(`${what}: the queue did not drain: GITS_CREADR.Offset ${GITS_CREADR.get(v, 'Offset') * COMMAND_BYTES} after ${ITS_WAIT_POLLS} polls, GITS_CWRITER ${d.writeOffset}`);
      if (GITS_CREADR.get(v, 'Stalled') === 0) return;
      if (mends > 4 * 128 * c.queuePages) throw new Error(`${what}: the queue stalled ${mends} times in a row`);
      // Replace the command it stalled on with a SYNC and resume with Retry = 1.
      stalls++;
      const slot = GITS_CREADR.get(v, 'Offset');
      written.push({ offset: slot * COMMAND_BYTES, words: ItsCmd.SYNC({ RDbase: 0 }) });
      yield* writeCommand(d.queue, slot, ItsCmd.SYNC({ RDbase: 0 }));
      yield* d.publish(true);
    }
  };
  const virtual = c.version === 4;
  const prefix: CommandWords[] = [
    ...Array.from({ length: ITS_DEVICES / 2 }, (_, i) => ItsCmd.MAPD({ DeviceID: i, Size: 5, ITT_addr: ITT_AREA + i * 0x1000, V: 1 })),
    ...Array.from({ length: ITS_ICIDS / 2 }, (_, i) => ItsCmd.MAPC({ ICID: i, RDbase: i % 2, V: 1 })),
    ...(virtual ? Array.from({ length: ITS_VPES / 2 }, (_, i) => ItsCmd.VMAPP({ vPEID: i, RDbase: i % 2, V: 1, VPT_size: 15, VPT_addr: VPT_AREA + i * 0x1_0000 })) : []),
  ];
  try {
    runOnPe(m, 0, function* () {
      yield* d.init({
        tables: { devices: { base: ITS_DEVICE_TABLE }, collections: { base: ITS_COLLECTION_TABLE }, vpes: virtual ? { base: ITS_VPE_TABLE } : undefined },
        queue: ITS_QUEUE,
        queueBytes: c.queuePages * 0x1000,
      });
      yield* put(prefix);
      yield* d.publish();
      yield* drain('prefix');
      for (const [i, batch] of c.batches.entries()) {
        yield* put(batch);
        yield* d.publish();
        yield* drain(`batch ${i + 1}`);
      }
      // Redistributor 1 gets LPIs (its tables, the two final LPIs enabled); the distributor enables Group 1.
      yield* initDistributor(cfg.gicdBase);
      const tables = allocLpiTables(heap, cfg.idBits);
      yield* configureLpi(tables, FINAL_LPI, 0xa0, true);
      yield* configureLpi(tables, FINAL_LPI + 1, 0xa0, true);
      yield* enableLpis(rd1, tables, allocPendingTable(heap, cfg.idBits));
      finalFrom = written.length;
      yield* put([
        ItsCmd.MAPD({ DeviceID: FINAL_DEVICE, Size: 4, ITT_addr: ITT_AREA + 0x80_0000, V: 1 }),
        ItsCmd.MAPC({ ICID: FINAL_ICID, RDbase: 1, V: 1 }),
        ItsCmd.MAPTI({ DeviceID: FINAL_DEVICE, EventID: 3, pINTID: FINAL_LPI, ICID: FINAL_ICID }),
        ItsCmd.MAPTI({ DeviceID: FINAL_DEVICE, EventID: 4, pINTID: FINAL_LPI + 1, ICID: FINAL_ICID }),
        ItsCmd.INT({ DeviceID: FINAL_DEVICE, EventID: 3 }),
        ItsCmd.SYNC({ RDbase: 1 }),
      ]);
      yield* d.publish();
      yield* drain('the final MAPD/MAPC/MAPTI/INT');
    }, 2e9);
  } catch (e) {
    fail([`exception: ${describeError(e)}`]);
  }
  // An MSI from the final device, then PE 1 acknowledges what its redistributor holds.
  try {
    m.bus.write(board.translater, 4, 4, { requester: 'device', id: FINAL_DEVICE });
    m.runFor(20_000);
    runOnPe(m, 1, function* () {
      yield* initRedistributor(cfg.gicrBase);
      yield* initCpuInterface();
      let n = 0;
      while (n < ITS_MAX_ACKS) {
        const intid: number = yield mrs(ICC_IAR1_EL1, 1);
        if (intid === 1023) break;
        yield str(ITS_ACKS + 4 + 4 * n, intid, 4, 1);
        n++;
        yield msr(ICC_EOIR1_EL1, intid, 1);
      }
      yield str(ITS_ACKS, n, 4, 1);
    }, 1e7);
  } catch (e) {
    fail([`exception after an MSI: ${describeError(e)}`]);
  }
  const mem = m.bus.memory;
  const acks = Array.from({ length: Math.min(mem.read32(ITS_ACKS), ITS_MAX_ACKS) }, (_, i) => mem.read32(ITS_ACKS + 4 + 4 * i));
  const count = (intid: number): number => acks.filter((x) => x === intid).length;
  if (count(FINAL_LPI) !== 1) bad.push(`the final INT's LPI ${FINAL_LPI} was acknowledged ${count(FINAL_LPI)} times on PE 1 (acknowledged: ${acks.join(', ') || 'nothing'})`);
  if (count(FINAL_LPI + 1) !== 1) bad.push(`the final MSI's LPI ${FINAL_LPI + 1} (device ${FINAL_DEVICE}, EventID 4) was acknowledged ${count(FINAL_LPI + 1)} times on PE 1 (acknowledged: ${acks.join(', ') || 'nothing'})`);
  const others = acks.filter((x) => x !== FINAL_LPI && x !== FINAL_LPI + 1);
  if (others.length > 0) bad.push(`PE 1 acknowledged INTIDs nothing made pending: ${others.join(', ')}`);
  if (its.queue.stalled) bad.push('the queue is still stalled at the end');
  if (its.queue.creadr !== its.queue.cwriter) bad.push(`the queue did not drain: CREADR ${its.queue.creadr}, CWRITER ${its.queue.cwriter}`);
  if (its.errorCount !== its.errors.length) bad.push(`${its.errorCount} errors, ${its.errors.length} recorded`);
  // Every error: 0x01_CC_EE with CC the opcode of the command in that slot (CLEAR: 0x05; a fetch fault: 0) and EE a known reason.
  const reasons = new Set<number>(Object.values(Reason));
  let w = 0;
  for (const e of its.errors) {
    const at = `error ${e.name} (0x${e.code.toString(16)}) at offset 0x${e.offset.toString(16)}`;
    while (w < written.length && written[w]!.offset !== e.offset) w++;
    const cmd = written[w];
    if (cmd === undefined) {
      bad.push(`${at}: no command was written there`);
      break;
    }
    if (w >= finalFrom) bad.push(`${at}: raised by the final valid sequence`);
    const opcode = Number(cmd.words[0] & 0xffn);
    const known = commandOfOpcode(opcode);
    // An opcode no command has is 'UNKNOWN'; a virtual command on a GICv3 ITS keeps its name, with reason UNKNOWN_COMMAND.
    const name = known === undefined ? 'UNKNOWN' : known.name;
    const unknown = known === undefined || (known.virtual && !virtual);
    const cc = name === 'CLEAR' ? 0x05 : opcode;
    const reason = e.code & 0xff;
    if (Math.floor(e.code / 0x10000) !== 0x01 || ((e.code >>> 8) & 0xff) !== cc || !reasons.has(reason) || (unknown && reason !== Reason.UNKNOWN_COMMAND)) bad.push(`${at}: not 0x01_CC_EE for ${name} (opcode 0x${opcode.toString(16)}${unknown ? ', not implemented here' : ''})`);
    if (e.command !== name) bad.push(`${at}: recorded for ${e.command}, the command there is ${name}`);
    if (e.name !== errorName(name, e.code)) bad.push(`${at}: named ${e.name}, expected ${errorName(name, e.code)}`);
    // A stalled command is replaced (a SYNC is logged at the same offset next): move on to it; a skipped one is passed.
    w++;
  }
  if (bad.length > 0) fail(bad);
  return { commands: written.length, errors: its.errors.length, stalls, interrupts: 0, simulatedSeconds: m.now / m.clockHz };
}

export function checkItsCase(seed: number): ItsResult {
  return runItsCase(randomItsCase(seed));
}

// ====================================================================== any case

/** Which case the soak runs for a seed: its kind and, for a platform, its size. */
export interface CaseOfSeed {
  readonly kind: CaseKind;
  readonly size: ScenarioSize;
}

/**
 * The case the soak runs for `seed`: platforms, rogue guests and ITS command bytes in turn
 * (seed mod 3), one platform in four a large one. One seed, one case: `runCase(seed)` runs it
 * again.
 */
export function caseOfSeed(seed: number): CaseOfSeed {
  const k = seed % 3;
  if (k === 1) return { kind: 'rogue', size: 'normal' };
  if (k === 2) return { kind: 'its', size: 'normal' };
  return { kind: 'platform', size: Math.floor(seed / 3) % 4 === 3 ? 'large' : 'normal' };
}

/** A case in a word: 'platform', 'platform (large)', 'rogue', 'its'. */
export function caseName(c: CaseOfSeed): string {
  return c.size === 'normal' ? c.kind : `${c.kind} (${c.size})`;
}


/** Runs the case of `seed` (`caseOfSeed`); throws a CaseFailure when something is wrong. */
export function runCase(seed: number): CaseStats {
  const c = caseOfSeed(seed);
  switch (c.kind) {
    case 'platform':
      return checkScenario(randomScenario(seed, c.size));
    case 'rogue': {
      const rs = checkRogueCase(seed);
      return { interrupts: rs.reduce((a, r) => a + r.interrupts, 0), simulatedSeconds: rs.reduce((a, r) => a + r.simulatedSeconds, 0) };
    }
    case 'its':
      return checkItsCase(seed);
  }
}
