/**
 * Mixed paths and per-VM figures (issue 14): each VM's `path` is honoured when the scenario runs
 * as written (`mixed`), beside all-injected and all-direct runs of the same machine; every figure
 * of a run also exists per VM and per vCPU, and they add up to the run's.
 */
import test from 'ava';
import fc from 'fast-check';
import { ArgError } from '../../scenarios/args.js';
import { pathsFor } from '../../scenarios/cli.js';
import { parseArgs } from '../../scenarios/args.js';
import { formatVmCosts } from '../../scenarios/comparison.js';
import { scenarioNamed, SCENARIOS } from '../../scenarios/named.js';
import { runScenario, type PathResult } from '../../scenarios/run.js';
import { asWrittenPath, isMixed, pathsOf, type RunPath, type Scenario } from '../../scenarios/scenario.js';
import { validateScenario } from '../../scenarios/validate.js';

/** Checks that the VMs' figures (and each VM's vCPUs') add up to the run's. */
function sumsHold(t: import('ava').ExecutionContext, r: PathResult, what: string): void {
  const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);
  t.is(sum(r.vms, (v) => v.msis), r.msis, `${what}: MSIs`);
  t.is(sum(r.vms, (v) => v.accepted), r.accepted, `${what}: accepted`);
  t.is(sum(r.vms, (v) => v.delivered), r.delivered, `${what}: delivered`);
  t.is(sum(r.vms, (v) => v.coalesced), r.coalesced, `${what}: merged`);
  t.is(sum(r.vms, (v) => v.undelivered), r.undelivered, `${what}: undelivered`);
  t.is(sum(r.vms, (v) => v.duplicated), r.duplicated, `${what}: duplicated`);
  t.is(sum(r.vms, (v) => v.doorbells), r.doorbells, `${what}: doorbells`);
  t.is(sum(r.vms, (v) => v.residencyChanges), r.vpeSwitches, `${what}: residency changes`);
  t.is(sum(r.vms, (v) => v.vmovps), r.vmovps, `${what}: VMOVPs`);
  t.is(sum(r.vms, (v) => v.maintenance), r.maintenance, `${what}: maintenance exits`);
  // EL2: the VMs' exits and cycles plus what belongs to no vCPU are the run's.
  t.is(sum(r.vms, (v) => v.exits) + r.unattributed.el2Entries, r.el2Entries, `${what}: EL2 entries`);
  t.true(r.unattributed.el2Entries >= 0 && r.unattributed.el2Cycles >= 0, `${what}: unattributed ${JSON.stringify(r.unattributed)}`);
  const el2Cycles = r.el2CyclesPerIrq * Math.max(1, r.delivered);
  t.true(Math.abs(sum(r.vms, (v) => v.el2Cycles) + r.unattributed.el2Cycles - el2Cycles) < 1e-6 * el2Cycles + 1, `${what}: EL2 cycles`);
  for (const v of r.vms) {
    t.is(sum(v.vcpus, (c) => c.delivered), v.delivered, `${what}: ${v.vm} vCPUs' deliveries`);
    t.is(sum(v.vcpus, (c) => c.exits), v.exits, `${what}: ${v.vm} vCPUs' exits`);
    t.is(sum(v.vcpus, (c) => c.el2Cycles), v.el2Cycles, `${what}: ${v.vm} vCPUs' EL2 cycles`);
    t.is(sum(v.vcpus, (c) => c.runQueueWaits), v.runQueueWaits, `${what}: ${v.vm} vCPUs' run-queue waits`);
    if (v.delivered > 0) t.true(v.latencyCycles.p50 > 0 && v.latencyCycles.p50 <= v.latencyCycles.max, `${what}: ${v.vm} latency ${JSON.stringify(v.latencyCycles)}`);
  }
}

test('mixed-paths on one machine: the direct VM takes ~0 EL2 entries per interrupt, the injected VM ~1, as when every VM takes its path', (t) => {
  const s = scenarioNamed('mixed-paths')!;
  t.true(isMixed(s));
  t.deepEqual(pathsOf(s), ['mixed', 'injected', 'direct']);
  const byPath = new Map<RunPath, PathResult>();
  for (const path of pathsOf(s)) byPath.set(path, runScenario(s, { path }));
  const mixed = byPath.get('mixed')!;
  t.is(mixed.path, 'mixed');
  t.deepEqual(mixed.violations, []);
  const d = mixed.vms.find((v) => v.vm === 'vm-direct')!;
  const i = mixed.vms.find((v) => v.vm === 'vm-injected')!;
  t.is(d.path, 'direct');
  t.is(i.path, 'injected');
  t.true(d.delivered > 300 && i.delivered > 300, `${d.delivered} and ${i.delivered} delivered`);
  t.true(d.el2EntriesPerIrq < 0.1, `direct VM: ${d.el2EntriesPerIrq.toFixed(3)} EL2 entries per interrupt`);
  t.true(i.el2EntriesPerIrq > 0.9 && i.el2EntriesPerIrq < 1.3, `injected VM: ${i.el2EntriesPerIrq.toFixed(3)} EL2 entries per interrupt`);
  t.is(d.injected, 0, 'nothing injected into the direct VM');
  t.is(d.lrWrites, 0);
  t.true(i.injected >= i.delivered, `${i.injected} injections for ${i.delivered} deliveries`);
  // Each VM in the mixed run costs what it costs when every VM takes its path (same traffic, same seed; own core each).
  const allDirect = byPath.get('direct')!.vms.find((v) => v.vm === 'vm-direct')!;
  const allInjected = byPath.get('injected')!.vms.find((v) => v.vm === 'vm-injected')!;
  t.is(d.exits, allDirect.exits);
  t.is(i.exits, allInjected.exits);
  t.is(byPath.get('direct')!.vms.every((v) => v.path === 'direct'), true);
  t.is(byPath.get('injected')!.vms.every((v) => v.path === 'injected'), true);
  for (const [path, r] of byPath) sumsHold(t, r, path);
  // The text table names the VM's own path in the mixed run.
  const text = formatVmCosts([mixed], true);
  t.regex(text, /vm-direct\s+mixed: direct/);
  t.regex(text, /vm-injected\.vcpu0\s+mixed: injected/);
  t.regex(text, /hypervisor, no vCPU/);
});

test('--path: mixed only where the VMs take different paths; both runs the scenario as written first when they do', (t) => {
  const mixed = scenarioNamed('mixed-paths')!;
  const uniform = scenarioNamed('default')!;
  t.deepEqual(pathsFor(parseArgs([]), mixed), ['mixed', 'injected', 'direct']);
  t.deepEqual(pathsFor(parseArgs([]), uniform), ['injected', 'direct']);
  t.deepEqual(pathsFor(parseArgs(['--path', 'mixed']), mixed), ['mixed']);
  const e = t.throws(() => pathsFor(parseArgs(['--path', 'mixed']), uniform), { instanceOf: ArgError });
  t.regex(e!.message, /--path: 'mixed' runs each VM on its own path, but every VM of scenario 'default' takes the direct path/);
  // A run without a path is the scenario as written.
  const r = runScenario(validateScenario({ ...mixed, durationUs: 500 }));
  t.is(r.path, 'mixed');
  t.deepEqual(r.vms.map((v) => v.path), ['direct', 'injected']);
});

test('a scenario whose summary names a path runs on it as written', (t) => {
  for (const s of SCENARIOS) {
    const m = /\((injected|direct)\b/.exec(s.summary);
    if (m === null) continue;
    t.false(isMixed(s), s.name);
    t.is(asWrittenPath(s), m[1] as RunPath, `${s.name}: its summary says ${m[1]}`);
    t.true(pathsOf(s).includes(asWrittenPath(s)), s.name);
  }
});

test('per-VM and per-vCPU figures add up to the run on the default and overcommit scenarios, records kept or not', (t) => {
  for (const name of ['default', 'overcommit']) {
    for (const record of ['all', 'counters'] as const) {
      const s = validateScenario({ ...scenarioNamed(name)!, durationUs: 3000, record });
      for (const path of ['injected', 'direct'] as const) {
        const r = runScenario(s, { path });
        t.deepEqual(r.violations, [], `${name} ${path} ${record}`);
        sumsHold(t, r, `${name} ${path} ${record}`);
      }
    }
  }
});

test('property: for random small machines with per-VM paths, the VMs add up to the run and each VM takes its own path', (t) => {
  fc.assert(
    fc.property(
      fc.record({
        cores: fc.integer({ min: 1, max: 3 }),
        paths: fc.array(fc.constantFrom('injected' as const, 'direct' as const), { minLength: 1, maxLength: 3 }),
        vcpus: fc.integer({ min: 1, max: 2 }),
        wfi: fc.constantFrom('trap' as const, 'native' as const),
        rate: fc.integer({ min: 5_000, max: 60_000 }),
        seed: fc.integer({ min: 1, max: 1000 }),
      }),
      (c) => {
        const s: Scenario = validateScenario({
          name: 'per-vm-property',
          summary: 'random',
          cores: c.cores,
          wfi: c.wfi,
          seed: c.seed,
          durationUs: 600,
          vms: c.paths.map((path, k) => ({ name: `vm${k}`, vcpus: c.vcpus, kernel: 'device' as const, path })),
          devices: c.paths.map((_, k) => ({ vm: `vm${k}`, events: 2, traffic: { kind: 'poisson' as const, ratePerSec: c.rate } })),
        });
        const r = runScenario(s);
        t.deepEqual(r.violations, []);
        t.deepEqual(r.vms.map((v) => v.path), c.paths);
        t.is(r.path, new Set(c.paths).size > 1 ? 'mixed' : c.paths[0]!);
        // An injected VM's interrupts are injected; a direct VM's never are.
        for (const v of r.vms) if (v.path === 'direct') t.is(v.injected, 0, v.vm);
        sumsHold(t, r, JSON.stringify(c));
      },
    ),
    { numRuns: 12, seed: 14 },
  );
});

test('EL2 cycles per vCPU are EL2 work: lock waits asleep in WFE are not counted, so the VMs never exceed the run (vmovp-global, direct)', (t) => {
  const s = validateScenario({ ...scenarioNamed('vmovp-global')!, durationUs: 600 });
  const r = runScenario(s, { path: 'direct' });
  t.deepEqual(r.violations, []);
  t.true(r.locks.vmovp.contended > 0, `${r.locks.vmovp.contended} contended VMOVP lock acquisitions`);
  t.true(r.unattributed.el2Cycles >= 0, `EL2 cycles of no vCPU: ${r.unattributed.el2Cycles}`);
  sumsHold(t, r, 'vmovp-global direct');
});
