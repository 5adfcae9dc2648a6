/**
 * Validation of scenarios: every field is checked before anything runs, and an error names the
 * field at fault (as a path: `vms[1].vcpus`), the value found and the value expected.
 */
import { costProfile, COST_PROFILES } from '../core/costs.js';
import { DEFAULT_GIC_CONFIG } from '../gic/config.js';
import { FIRST_LPI, GUEST_INTID_BITS } from '../hypervisor/config.js';
import { policyExpectation, policyOf } from './policy-modules.js';
import { kernelRamNeeded } from '../guests/kernel.js';
import { VM_RAM_END, VM_RAM_PA, vmRamFootprint } from './platform.js';
import { FIRST_DEVICE_LPI, SCENARIO_DEFAULTS, isDirectPath, type DeliveryPath, type DeviceSpec, type InterferenceSpec, type Scenario, type TrafficPattern, type VmSpec } from './scenario.js';

export class ScenarioError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${field}: expected ${expected}, got ${describe(got)}`);
  }
}

/** A short preview of a value for an error message (at most 60 characters, however large or deep the value). */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = preview(v, 3);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * JSON-like text of `v` down to `depth` levels (deeper values show as [...] and {...}) and the
 * first few entries of each level: bounded work and stack, so a value nested 20,000 levels deep
 * (or a huge array) still gets its one-line message.
 */
function preview(v: unknown, depth: number): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v.length > 60 ? v.slice(0, 60) : v) : String(v);
  if (Array.isArray(v)) return depth === 0 ? '[...]' : `[${v.slice(0, 4).map((x) => preview(x, depth - 1)).join(',')}${v.length > 4 ? ',...' : ''}]`;
  if (depth === 0) return '{...}';
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  return `{${keys.slice(0, 4).map((k) => `${JSON.stringify(k)}:${preview(o[k], depth - 1)}`).join(',')}${keys.length > 4 ? ',...' : ''}}`;
}

type Obj = Record<string, unknown>;

const MIB = 0x10_0000;

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScenarioError(field, 'an object', v);
  return v as Obj;
}

function int(o: Obj, key: string, field: string, min: number, max: number, dflt?: number): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ScenarioError(field, `an integer from ${min} to ${max}`, o[key]);
  return v;
}

function num(o: Obj, key: string, field: string, min: number, max: number, dflt?: number): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ScenarioError(field, `a number from ${min} to ${max}`, o[key]);
  return v;
}

function oneOf<T extends string | number>(o: Obj, key: string, field: string, options: readonly T[], dflt?: T): T {
  const v = o[key] ?? dflt;
  if (!options.includes(v as T)) throw new ScenarioError(field, `one of ${options.map((x) => JSON.stringify(x)).join(', ')}`, o[key]);
  return v as T;
}

function str(o: Obj, key: string, field: string, dflt?: string): string {
  const v = o[key] ?? dflt;
  if (typeof v !== 'string' || v.length === 0) throw new ScenarioError(field, 'a non-empty string', o[key]);
  return v;
}

/** The free-text summary: optional (empty when absent), but a string when given. */
function summary(o: Obj): string {
  const v = o.summary ?? '';
  if (typeof v !== 'string') throw new ScenarioError('summary', 'a string', o.summary);
  return v;
}

function bool(o: Obj, key: string, field: string, dflt: boolean): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') throw new ScenarioError(field, 'true or false', o[key]);
  return v;
}

function arr(o: Obj, key: string, field: string, dflt?: unknown[]): unknown[] {
  const v = o[key] ?? dflt;
  if (!Array.isArray(v)) throw new ScenarioError(field, 'an array', o[key]);
  // A sparse array (a scenario built in code: `[a, , b]`, or an element deleted) has holes that
  // `map` would skip, leaving them in the result: each hole becomes `undefined`, which its
  // element's check names (`devices[1]: an object`).
  return Array.from(v as unknown[]);
}

const KNOWN_TOP = ['name', 'summary', 'cores', 'clockMHz', 'gicVersion', 'listRegs', 'lpiIdBits', 'vpeIdBits', 'costProfile', 'path', 'policy', 'sliceUs', 'wfi', 'waitDirtyOnEntry', 'vmovpLock', 'vptParseWait', 'residency', 'opportunisticWfi', 'itsCount', 'itsVmovp', 'vms', 'devices', 'interference', 'durationUs', 'seed', 'record'];

function noUnknown(o: Obj, known: readonly string[], prefix: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    // A key that is no identifier ('', 'a b', '1') is quoted, so the message still names it.
    const field = /^[A-Za-z_$][\w$]*$/.test(k) ? `${prefix}${k}` : `${prefix.replace(/\.$/, '')}[${JSON.stringify(k)}]`;
    throw new ScenarioError(field, `no such field (known: ${known.join(', ')})`, o[k]);
  }
}

function traffic(v: unknown, field: string): TrafficPattern {
  const o = obj(v, field);
  const kind = oneOf(o, 'kind', `${field}.kind`, ['periodic', 'poisson', 'bursts'] as const);
  if (kind === 'periodic') {
    noUnknown(o, ['kind', 'periodUs'], `${field}.`);
    return { kind, periodUs: num(o, 'periodUs', `${field}.periodUs`, 0.01, 1e9) };
  }
  if (kind === 'poisson') {
    noUnknown(o, ['kind', 'ratePerSec'], `${field}.`);
    return { kind, ratePerSec: num(o, 'ratePerSec', `${field}.ratePerSec`, 0.001, 1e8) };
  }
  noUnknown(o, ['kind', 'burst', 'gapUs', 'everyUs'], `${field}.`);
  return { kind, burst: int(o, 'burst', `${field}.burst`, 1, 1_000_000), gapUs: num(o, 'gapUs', `${field}.gapUs`, 0, 1e9), everyUs: num(o, 'everyUs', `${field}.everyUs`, 0.01, 1e9) };
}

function vm(v: unknown, i: number, cores: number): VmSpec {
  const f = `vms[${i}]`;
  const o = obj(v, f);
  noUnknown(o, ['name', 'vcpus', 'kernel', 'path', 'priority', 'pinned', 'ramMiB', 'wfi'], `${f}.`);
  const vcpus = int(o, 'vcpus', `${f}.vcpus`, 1, 1024);
  const out: VmSpec = {
    name: str(o, 'name', `${f}.name`),
    vcpus,
    kernel: oneOf(o, 'kernel', `${f}.kernel`, ['device', 'hog', 'idle', 'ipi', 'ipi-exchange'] as const),
    path: o.path === undefined ? undefined : oneOf(o, 'path', `${f}.path`, ['injected', 'direct', 'direct-v41'] as const),
    priority: int(o, 'priority', `${f}.priority`, -1000, 1000, 0),
    ramMiB: int(o, 'ramMiB', `${f}.ramMiB`, 2, 4096, 16),
    ...(o.wfi === undefined ? {} : { wfi: oneOf(o, 'wfi', `${f}.wfi`, ['trap', 'native'] as const) }),
  };
  if (o.pinned !== undefined) {
    const p = arr(o, 'pinned', `${f}.pinned`);
    if (p.length !== vcpus) throw new ScenarioError(`${f}.pinned`, `one core per vCPU (${vcpus} entries)`, o.pinned);
    p.forEach((c, j) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= cores) throw new ScenarioError(`${f}.pinned[${j}]`, `a core index from 0 to ${cores - 1}`, c);
    });
    return { ...out, pinned: p as number[] };
  }
  return out;
}

function device(v: unknown, i: number, vms: readonly VmSpec[], itsCount: number): DeviceSpec {
  const f = `devices[${i}]`;
  const o = obj(v, f);
  noUnknown(o, ['vm', 'events', 'traffic', 'count', 'its'], `${f}.`);
  const target = str(o, 'vm', `${f}.vm`);
  if (!vms.some((x) => x.name === target)) throw new ScenarioError(`${f}.vm`, `the name of a VM (${vms.map((x) => x.name).join(', ')})`, target);
  return {
    vm: target,
    events: int(o, 'events', `${f}.events`, 1, 1 << 20),
    traffic: traffic(o.traffic, `${f}.traffic`),
    count: o.count === undefined ? undefined : int(o, 'count', `${f}.count`, 1, 1e9),
    ...(o.its === undefined ? {} : { its: int(o, 'its', `${f}.its`, 0, itsCount - 1) }),
  };
}

function interference(v: unknown): InterferenceSpec | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, 'interference');
  noUnknown(o, ['hogs', 'noisy', 'noisyRatePerSec', 'placement'], 'interference.');
  return {
    hogs: int(o, 'hogs', 'interference.hogs', 0, 256, 0),
    noisy: int(o, 'noisy', 'interference.noisy', 0, 256, 0),
    noisyRatePerSec: num(o, 'noisyRatePerSec', 'interference.noisyRatePerSec', 1, 1e8, 50_000),
    placement: oneOf(o, 'placement', 'interference.placement', ['same', 'other', 'any'] as const, 'any'),
  };
}

/** The smallest number of ID bits that gives `n` IDs. */
function bitsFor(n: number): number {
  let b = 1;
  while (2 ** b < n) b++;
  return b;
}

/**
 * The ID limits of the machine a scenario builds (the hypervisor refuses the same at build
 * time, hypervisor/config.ts, but without the scenario's field names):
 * - each device's events are EventIDs 0..events-1 and its DeviceID is its index + 1: the ITS
 *   (default configuration: 16 EventID and 16 DeviceID bits) must hold them;
 * - the events of a VM's devices become its guest LPIs from FIRST_DEVICE_LPI up, inside the
 *   guest's 16-bit INTID space;
 * - host LPIs (lpiIdBits): one per event of an injected-path VM, one vPE doorbell per vCPU of a
 *   direct-path VM; vPE IDs (vpeIdBits): one per vCPU of a direct-path VM. A scenario is run on
 *   both paths unless `--path` says otherwise, so the limits must hold for its own paths, for
 *   all VMs injected, and (GICv4) for all VMs direct. Interference neighbours count too.
 */
function checkIds(s: Scenario): void {
  const its = DEFAULT_GIC_CONFIG.its;
  const maxEvents = 2 ** its.eventIdBits;
  const guestLpis = new Map<string, number>();
  s.devices.forEach((d, i) => {
    if (d.events > maxEvents) throw new ScenarioError(`devices[${i}].events`, `an integer from 1 to ${maxEvents} (EventIDs 0..${maxEvents - 1}: the ITS has ${its.eventIdBits} EventID bits, GITS_TYPER.ID_bits = ${its.eventIdBits - 1})`, d.events);
    const first = guestLpis.get(d.vm) ?? FIRST_DEVICE_LPI;
    const room = 2 ** GUEST_INTID_BITS - first;
    if (d.events > room) {
      throw new ScenarioError(`devices[${i}].events`, `at most ${room} (the events of VM '${d.vm}''s devices become its guest LPIs, ${FIRST_DEVICE_LPI} up to ${2 ** GUEST_INTID_BITS - 1}; ${first - FIRST_DEVICE_LPI} are taken by its earlier devices)`, d.events);
    }
    guestLpis.set(d.vm, first + d.events);
  });
  const inter = s.interference;
  const hogs = inter?.hogs ?? 0;
  const noisy = inter?.noisy ?? 0;
  const deviceIds = s.devices.length + noisy;
  if (deviceIds >= 2 ** its.deviceIdBits) {
    throw new ScenarioError('devices', `at most ${2 ** its.deviceIdBits - 1} devices, noisy neighbours included (DeviceIDs from 1: the ITS has ${its.deviceIdBits} DeviceID bits)`, `${deviceIds} devices`);
  }
  // Every VM of the run with its vCPUs and device events: the scenario's, then the neighbours.
  const events = new Map<string, number>();
  for (const d of s.devices) events.set(d.vm, (events.get(d.vm) ?? 0) + d.events);
  const all = [
    ...s.vms.map((v) => ({ vcpus: v.vcpus, events: events.get(v.name) ?? 0, path: v.path })),
    ...Array.from({ length: hogs }, () => ({ vcpus: 1, events: 0, path: undefined })),
    ...Array.from({ length: noisy }, () => ({ vcpus: 1, events: 1, path: undefined })),
  ];
  const modes: ('own' | DeliveryPath)[] = s.gicVersion !== 3 ? ['own', 'injected', 'direct'] : ['injected'];
  let lpis = { n: 0, what: '' };
  let vpes = 0;
  for (const mode of modes) {
    let injectedEvents = 0;
    let directVcpus = 0;
    for (const v of all) {
      if (isDirectPath(mode === 'own' ? (v.path ?? s.path) : mode)) directVcpus += v.vcpus;
      else injectedEvents += v.events;
    }
    const n = injectedEvents + directVcpus;
    if (n > lpis.n) lpis = { n, what: `${injectedEvents} device events on the injected path, ${directVcpus} vPE doorbells` };
    vpes = Math.max(vpes, directVcpus);
  }
  const lpiBits = bitsFor(FIRST_LPI + lpis.n);
  if (lpiBits > s.lpiIdBits) {
    throw new ScenarioError('lpiIdBits', `at least ${lpiBits} (the run needs ${lpis.n} host LPIs: ${lpis.what}; ${s.lpiIdBits} bits give ${2 ** s.lpiIdBits - FIRST_LPI})`, s.lpiIdBits);
  }
  // Guest RAM: each kernel's tables must fit in its VM, and all VMs in the machine's RAM.
  let total = 0;
  s.vms.forEach((v, i) => {
    const mib = v.ramMiB ?? 16;
    // With devices, the guest kernel also sets up its ITS (tables, queue, an ITT per device).
    // (The guest knows its devices by their place in the VM: run.ts.)
    const itsDevices = events.has(v.name) ? s.devices.filter((d) => d.vm === v.name).map((d, deviceId) => ({ deviceId, events: d.events })) : null;
    const need = kernelRamNeeded(v.vcpus, events.has(v.name) ? GUEST_INTID_BITS : null, itsDevices);
    if (need > mib * MIB) throw new ScenarioError(`vms[${i}].ramMiB`, `at least ${Math.ceil(need / MIB)} (${v.vcpus} vCPUs${events.has(v.name) ? ' with device LPIs' : ''} need that much for the guest kernel's vector, LPI configuration and pending tables${events.has(v.name) ? ' and its ITS tables' : ''})`, v.ramMiB ?? `${mib} (the default)`);
    total += vmRamFootprint(mib * MIB);
  });
  total += (hogs + noisy) * vmRamFootprint(16 * MIB);
  if (total > VM_RAM_END - VM_RAM_PA) throw new ScenarioError('vms', `VMs whose RAM fits in ${(VM_RAM_END - VM_RAM_PA) / MIB} MiB (each VM's ramMiB rounded up to 2 MiB, interference neighbours 16 MiB each)`, `${total / MIB} MiB in all`);
  const vpeBits = bitsFor(vpes);
  if (vpeBits > s.vpeIdBits) throw new ScenarioError('vpeIdBits', `at least ${vpeBits} (the direct path needs one vPE ID per vCPU: ${vpes} vCPUs)`, s.vpeIdBits);
}

/** Validates `input` (a parsed JSON value or a typed object) and fills in defaults. */
export function validateScenario(input: unknown): Scenario {
  const o = obj(input, 'scenario');
  noUnknown(o, KNOWN_TOP, '');
  const d = SCENARIO_DEFAULTS;
  const cores = int(o, 'cores', 'cores', 1, 64, d.cores);
  const profile = str(o, 'costProfile', 'costProfile', d.costProfile);
  if (costProfile(profile) === undefined) throw new ScenarioError('costProfile', `one of ${COST_PROFILES.map((p) => p.name).join(', ')}`, profile);
  const policy = str(o, 'policy', 'policy', d.policy);
  if (policyOf(policy) === undefined) throw new ScenarioError('policy', policyExpectation(), policy);
  const vms = arr(o, 'vms', 'vms').map((v, i) => vm(v, i, cores));
  if (vms.length === 0) throw new ScenarioError('vms', 'at least one VM', o.vms);
  const names = new Set<string>();
  vms.forEach((v, i) => {
    if (names.has(v.name)) throw new ScenarioError(`vms[${i}].name`, 'a name no other VM has', v.name);
    names.add(v.name);
  });
  const gicVersion = oneOf(o, 'gicVersion', 'gicVersion', [3, 4, 4.1] as const, d.gicVersion);
  const path = oneOf(o, 'path', 'path', ['injected', 'direct', 'direct-v41'] as const, d.path);
  const directOf = new Set<DeliveryPath>();
  vms.forEach((v, i) => {
    const p = v.path ?? path;
    const field = v.path === undefined ? 'path' : `vms[${i}].path`;
    if (isDirectPath(p) && gicVersion === 3) throw new ScenarioError(field, '"injected" on a GICv3 machine (direct injection needs gicVersion 4)', p);
    if (p === 'direct-v41' && gicVersion !== 4.1) throw new ScenarioError(field, `"injected" or "direct" on a GICv${gicVersion === 4 ? '4.0' : '3'} machine ("direct-v41" needs gicVersion 4.1)`, p);
    if (isDirectPath(p)) directOf.add(p);
    if (directOf.size > 1) throw new ScenarioError(field, 'the same direct path as the other direct VMs (one machine is GICv4.0 or GICv4.1, not both)', p);
  });
  const itsCount = int(o, 'itsCount', 'itsCount', 1, 4, 1);
  const s: Scenario = {
    name: str(o, 'name', 'name'),
    summary: summary(o),
    cores,
    clockMHz: num(o, 'clockMHz', 'clockMHz', 1, 10_000, d.clockMHz),
    gicVersion,
    listRegs: int(o, 'listRegs', 'listRegs', 1, 16, d.listRegs),
    lpiIdBits: int(o, 'lpiIdBits', 'lpiIdBits', 14, 24, d.lpiIdBits),
    vpeIdBits: int(o, 'vpeIdBits', 'vpeIdBits', 1, 16, d.vpeIdBits),
    costProfile: profile,
    path,
    policy,
    sliceUs: num(o, 'sliceUs', 'sliceUs', 1, 1e7, d.sliceUs),
    wfi: oneOf(o, 'wfi', 'wfi', ['trap', 'native'] as const, d.wfi),
    waitDirtyOnEntry: bool(o, 'waitDirtyOnEntry', 'waitDirtyOnEntry', d.waitDirtyOnEntry),
    vmovpLock: oneOf(o, 'vmovpLock', 'vmovpLock', ['global', 'per-vm'] as const, d.vmovpLock),
    // The hypervisor choices only when given, so a scenario without them reads (and prints) as before.
    ...(o.vptParseWait !== undefined ? { vptParseWait: oneOf(o, 'vptParseWait', 'vptParseWait', ['at-schedule', 'before-entry'] as const) } : {}),
    ...(o.residency !== undefined ? { residency: oneOf(o, 'residency', 'residency', ['load-put', 'entry-exit'] as const) } : {}),
    ...(o.opportunisticWfi !== undefined ? { opportunisticWfi: bool(o, 'opportunisticWfi', 'opportunisticWfi', false) } : {}),
    ...(o.itsCount !== undefined ? { itsCount } : {}),
    ...(o.itsVmovp !== undefined ? { itsVmovp: oneOf(o, 'itsVmovp', 'itsVmovp', [0, 1] as const) } : {}),
    vms,
    devices: arr(o, 'devices', 'devices', []).map((v, i) => device(v, i, vms, itsCount)),
    interference: interference(o.interference),
    durationUs: num(o, 'durationUs', 'durationUs', 1, 1e9, d.durationUs),
    seed: int(o, 'seed', 'seed', 0, 2 ** 32 - 1, d.seed),
    // Only when given, so a scenario without it reads (and prints in --json) as before.
    ...(o.record !== undefined ? { record: oneOf(o, 'record', 'record', ['all', 'counters'] as const) } : {}),
  };
  checkIds(s);
  return s;
}
