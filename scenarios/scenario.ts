/**
 * A scenario: everything that defines one run — the machine, the GIC, the VMs and their guest
 * kernels, the devices assigned to them and their traffic, the delivery path, the scheduling
 * policy, interference, duration and seed. Scenarios are plain data (a typed object or a JSON
 * file) and are validated before anything runs (validate.ts).
 */

/**
 * 'direct' on a gicVersion 4 machine is GICv4.0 direct injection; on a gicVersion 4.1 scenario
 * it is the GICv4.0 column (the run builds a GICv4.0 machine), and 'direct-v41' drives the
 * GICv4.1 machine the GICv4.1 way (hypervisor/direct.ts).
 */
export type DeliveryPath = 'injected' | 'direct' | 'direct-v41';

/** The path injects directly (GICv4.0 or GICv4.1). */
export function isDirectPath(p: DeliveryPath | undefined): boolean {
  return p === 'direct' || p === 'direct-v41';
}
/**
 * What one run of a scenario delivers through: every VM on one path, or `mixed`, the scenario as
 * written, each VM on its own `path` (a scenario whose VMs do not all share one path; see `isMixed`).
 */
export type RunPath = DeliveryPath | 'mixed';
export type GuestKernelKind = 'device' | 'hog' | 'idle' | 'ipi' | 'ipi-exchange';
export type TrafficPattern =
  | { readonly kind: 'periodic'; readonly periodUs: number }
  | { readonly kind: 'poisson'; readonly ratePerSec: number }
  | { readonly kind: 'bursts'; readonly burst: number; readonly gapUs: number; readonly everyUs: number };

export interface VmSpec {
  readonly name: string;
  readonly vcpus: number;
  readonly kernel: GuestKernelKind;
  /** Delivery path of this VM; default: the scenario's path. */
  readonly path?: DeliveryPath;
  /** Scheduling priority of each vCPU (fixed-priority policy); default 0. */
  readonly priority?: number;
  /** Cores the vCPUs are pinned to (index = vCPU), or omitted. */
  readonly pinned?: readonly number[];
  /** Guest RAM in MiB (default 16). */
  readonly ramMiB?: number;
  /** WFI of this VM's vCPUs, as the scenario's `wfi`; default: the scenario's `wfi`. */
  readonly wfi?: 'trap' | 'native';
}

export interface DeviceSpec {
  /** Which VM the device is assigned to (by name). */
  readonly vm: string;
  /** Number of events (MSIs) the device uses; event n goes to vCPU n mod vcpus. */
  readonly events: number;
  readonly traffic: TrafficPattern;
  /** Stop after this many MSIs (default: run until the scenario ends). */
  readonly count?: number;
  /** The ITS the device is attached to, 0 to itsCount - 1 (default: its index in `devices` mod itsCount). */
  readonly its?: number;
}

export interface InterferenceSpec {
  /** Compute-bound neighbour VMs added to the scenario. */
  readonly hogs: number;
  /** Interrupt-heavy neighbours: VMs with a device at `rateHz`. */
  readonly noisy: number;
  readonly noisyRatePerSec: number;
  /** 'same': neighbours pinned to the cores of the VMs under test; 'other': to the remaining cores; 'any'. */
  readonly placement: 'same' | 'other' | 'any';
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  readonly cores: number;
  readonly clockMHz: number;
  /** 3, 4 (GICv4.0) or 4.1 (GICv4.1: vPEID residency, default doorbells; hypervisor/direct.ts). */
  readonly gicVersion: 3 | 4 | 4.1;
  readonly listRegs: number;
  readonly lpiIdBits: number;
  readonly vpeIdBits: number;
  readonly costProfile: string;
  readonly path: DeliveryPath;
  readonly policy: string;
  /** Time slice of the scheduler, in microseconds. */
  readonly sliceUs: number;
  /**
   * 'trap': HCR_EL2.TWI = 1, a vCPU in WFI blocks; 'native': TWI = 0, WFI completes on the core.
   * The default of every VM's own `wfi`.
   */
  readonly wfi: 'trap' | 'native';
  /**
   * Direct injection: wait for GICR_VPENDBASER.Dirty = 0 after making a vPE resident before
   * entering the guest (Linux does); false enters at once, while the VPT is still being parsed.
   */
  readonly waitDirtyOnEntry: boolean;
  /**
   * What serialises VMOVP on the direct path: 'per-vm', one lock per VM (Linux since 6.12), or
   * 'global', one lock for the machine (Linux's vmovp_lock before; hypervisor/config.ts).
   */
  readonly vmovpLock: 'global' | 'per-vm';
  /**
   * Hypervisor choices (hypervisor/config.ts), each absent unless given: where the wait for the
   * VPT parse is taken ('before-entry', default, KVM's since Linux 5.11; 'at-schedule', before),
   * when residency changes ('load-put', default, Linux 5.5+; 'entry-exit', before), and KVM's
   * opportunistic WFI trapping (false by default: the scenario's `wfi` says whether WFI traps, as
   * Linux's kvm-arm.wfi_trap_policy; true is KVM's behaviour without that parameter).
   */
  readonly vptParseWait?: 'at-schedule' | 'before-entry';
  readonly residency?: 'load-put' | 'entry-exit';
  readonly opportunisticWfi?: boolean;
  /**
   * Number of ITSs of the machine, 1 to 4 (default 1; gic/config.ts `itsCount`), and their
   * GITS_TYPER.VMOVP (default 1: VMOVP on one ITS; 0: on every ITS that maps the vPE, with
   * ITSList and a SequenceNumber). Absent unless given, so a scenario without them reads as before.
   */
  readonly itsCount?: number;
  readonly itsVmovp?: 0 | 1;
  readonly vms: readonly VmSpec[];
  readonly devices: readonly DeviceSpec[];
  readonly interference?: InterferenceSpec;
  /** Simulated duration, in microseconds. */
  readonly durationUs: number;
  readonly seed: number;
  /**
   * What the run records (default 'all'). 'all': every MSI write and every delivery, matched
   * after the run (latency.ts: exact percentiles; needed by `--trace` flows and the `--report`
   * CDF). 'counters': counters only, latency matched as the run goes (online-latency.ts), so
   * memory stays bounded by the interrupts outstanding however long the run; percentiles within
   * 1/256 of the exact ones, every count, the max and the mean exact.
   */
  readonly record?: RecordMode;
}

/** The path each VM of `s` takes when the scenario runs as written (interference neighbours take the scenario's). */
export function vmPathsOf(s: Pick<Scenario, 'path' | 'vms'>): DeliveryPath[] {
  return s.vms.map((v) => v.path ?? s.path);
}

/** Whether the VMs of `s` as written do not all take one path (then its runs include `mixed`). */
export function isMixed(s: Pick<Scenario, 'path' | 'vms' | 'interference'>): boolean {
  const paths = new Set(vmPathsOf(s));
  const inter = s.interference;
  if (inter !== undefined && inter.hogs + inter.noisy > 0) paths.add(s.path);
  return paths.size > 1;
}

/** The path of a run of `s` as written: `mixed` when its VMs take different paths, else the one they all take. */
export function asWrittenPath(s: Pick<Scenario, 'path' | 'vms' | 'interference'>): RunPath {
  return isMixed(s) ? 'mixed' : (vmPathsOf(s)[0] ?? s.path);
}

/**
 * The runs the comparison makes of a scenario: the scenario as written when its VMs take
 * different paths (`mixed`), then every path of the machine with all VMs on it: injected on
 * GICv3; injected and direct on GICv4; injected, direct on GICv4.0 and direct on GICv4.1 on a
 * GICv4.1 machine. A scenario whose VMs all take one path is that path's column as written.
 */
export function pathsOf(s: Pick<Scenario, 'gicVersion' | 'path' | 'vms' | 'interference'>): RunPath[] {
  const uniform: DeliveryPath[] = s.gicVersion === 4.1 ? ['injected', 'direct', 'direct-v41'] : s.gicVersion === 4 ? ['injected', 'direct'] : ['injected'];
  return s.gicVersion !== 3 && isMixed(s) ? ['mixed', ...uniform] : uniform;
}

/** See `Scenario.record`. */
export type RecordMode = 'all' | 'counters';

/**
 * The guest LPI of a VM's first device event: `buildScenario` (run.ts) numbers the events of each
 * VM's devices, in order, from here up; the guest's INTID space ends at 65535.
 */
export const FIRST_DEVICE_LPI = 8192 + 32;

/** Defaults for every optional top-level field. */
export const SCENARIO_DEFAULTS = {
  cores: 4,
  clockMHz: 2000,
  gicVersion: 4,
  listRegs: 4,
  lpiIdBits: 16,
  vpeIdBits: 16,
  costProfile: 'default',
  path: 'direct',
  policy: 'round-robin',
  sliceUs: 1000,
  wfi: 'trap',
  waitDirtyOnEntry: true,
  vmovpLock: 'per-vm',
  durationUs: 20_000,
  seed: 1,
} as const;

/** A scenario as written by hand (shipped scenarios, JSON files): every field optional except these; validation fills the rest. */
export type ScenarioSpec = Omit<Partial<Scenario>, 'vms' | 'devices'> & Pick<Scenario, 'name' | 'summary' | 'vms' | 'devices'>;
