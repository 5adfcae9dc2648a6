/**
 * The hypervisor on a GICv4.1 machine, driving it as KVM does (hypervisor/direct.ts): vPEs
 * resident by vPEID through the vPE table every redistributor shares with the ITS, the default
 * doorbell requested (GICR_VPENDBASER.DB = 1) only when a vCPU blocks, VMAPP with VConf_addr and
 * Default_Doorbell; and the scenario layer's 'direct-v41' path with its validation.
 */
import test from 'ava';
import fc from 'fast-check';
import { deviceKernel, type DeviceKernel } from '../../guests/samples.js';
import type { DirectInjector } from '../../hypervisor/direct.js';
import { addDevice, bootGuests, buildPlatform } from '../../scenarios/platform.js';
import { randomScenario } from '../../scenarios/random-cases.js';
import { runScenario } from '../../scenarios/run.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { pathsOf } from '../../scenarios/scenario.js';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';

const LPI = 8192 + 32;

test('a blocked vCPU on GICv4.1: its vPE left with DB = 1, each MSI rang its default doorbell once, the vCPU woke and took each vLPI once; entries name the vPE by vPEID', (t) => {
  const p = buildPlatform({
    cores: 1,
    trace: true,
    gic: { version: 4, v41: true },
    trapWfi: true,
    vms: [{ name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] }],
  });
  bootGuests(p);
  p.m.runFor(100_000);
  const v = p.hyp.vcpus[0]!;
  t.is(v.state, 'blocked');
  const vpe = (p.hyp.direct as DirectInjector).vpe(v)!;
  t.false(vpe.resident);
  t.true(vpe.armed);
  t.true(p.gic.physical.defaultDoorbells!.isArmed(vpe.id));
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 100_000 }, { count: 3 });
  dev.start();
  p.m.runFor(600_000);
  t.is((p.kernels[0] as DeviceKernel).log.length, 3);
  // The GIC rang the default doorbell at most once per blocking period, and EL2 took every one it rang.
  const rung = p.gic.physical.defaultDoorbells!.rung;
  t.is(rung, 3); // one blocking period per MSI
  t.is(p.hyp.stats.doorbells, rung);
  t.is(p.m.trace.of('vlpi-doorbell').length, rung);
  // Every schedule-in found the vPE's own VPT through the vPE table, by vPEID.
  const scheds = p.m.trace.of('vpe-residency').filter((x) => x.event === 'schedule');
  t.true(scheds.length >= 2);
  t.true(scheds.every((x) => x.vpt === vpe.vpt));
  // No doorbell enable/disable dance (GICv4.0's GICR_INVLPIR of the doorbell around each block).
  t.is(p.m.trace.of('gic-lpi').filter((x) => x.intid === vpe.doorbell && x.what === 'inv').length, 0);
});

test('every shipped GICv4 scenario on GICv4.1 (direct-v41): nothing lost, duplicated or misdelivered, no VMOVP (the vPE table is shared), and the result says GICv4.1 ran', (t) => {
  // Whole runs: a doorbell that rings on the vPE's home core while the vCPU is still blocking on
  // another one (no VMOVP: the vPE keeps its home RD) showed only in overcommit and vmovp-per-vm.
  for (const name of ['idle-heavy', 'overcommit', 'migration-storm', 'doorbell-race', 'wfi-churn', 'vmovp-per-vm']) {
    const s = validateScenario({ ...scenarioNamed(name)!, gicVersion: 4.1 });
    const r = runScenario(s, { path: 'direct-v41' });
    // One vPE-table sharing domain: no VMOVP however the vCPUs move.
    t.deepEqual([r.gic, r.undelivered, r.duplicated, r.misdelivered, r.vmovps], ['4.1', 0, 0, 0, 0], name);
    t.true(r.delivered > 0, name);
  }
});

test('a GICv4.1 scenario compares three paths: injected and direct-v41 on GICv4.1, direct on GICv4.0', (t) => {
  const s = validateScenario({ ...scenarioNamed('explain')!, gicVersion: 4.1 });
  t.deepEqual(pathsOf(s), ['injected', 'direct', 'direct-v41']);
  t.deepEqual(pathsOf(validateScenario({ ...scenarioNamed('explain')!, gicVersion: 4 })), ['injected', 'direct']);
  const rs = pathsOf(s).map((path) => runScenario(s, { path }));
  t.deepEqual(rs.map((r) => [r.path, r.gic, r.undelivered, r.duplicated, r.misdelivered]), [
    ['injected', '4.1', 0, 0, 0],
    ['direct', '4.0', 0, 0, 0],
    ['direct-v41', '4.1', 0, 0, 0],
  ]);
});

test('validation names the field: gicVersion 4.1 only; direct-v41 needs gicVersion 4.1; one machine cannot mix direct and direct-v41 VMs', (t) => {
  const base = scenarioNamed('explain')!;
  const bad = (input: unknown, field: RegExp): void => {
    const e = t.throws(() => validateScenario(input), { instanceOf: ScenarioError });
    t.regex(e!.message, field);
  };
  bad({ ...base, gicVersion: 4.2 }, /^gicVersion: expected/);
  bad({ ...base, gicVersion: 4, path: 'direct-v41' }, /^path: expected .*needs gicVersion 4\.1/);
  bad({ ...base, gicVersion: 3, path: 'direct-v41' }, /^path: expected "injected"/);
  bad({ ...base, gicVersion: 4.1, path: 'direct-v41', vms: [base.vms[0], { name: 'other', vcpus: 1, kernel: 'idle', path: 'direct' }] }, /^vms\[1\]\.path: expected the same direct path/);
});

test('property: random platforms (scenarios/random-cases.ts) on GICv4.1 driven the v4.1 way lose, duplicate and misdeliver nothing, and every MSI written is accepted', (t) => {
  let runs = 0;
  let delivered = 0;
  fc.assert(
    fc.property(fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })), (seed) => {
      const s0 = randomScenario(seed);
      const s = validateScenario({ ...s0, gicVersion: 4.1, path: 'direct-v41', vms: s0.vms.map((v) => (v.path === 'direct' ? { ...v, path: 'direct-v41' } : v)) });
      const r = runScenario(s, { path: 'direct-v41' });
      runs++;
      delivered += r.delivered;
      t.deepEqual([r.gic, r.undelivered, r.duplicated, r.misdelivered, r.accepted], ['4.1', 0, 0, 0, r.msis], `seed ${seed}`);
    }),
    { seed: 41, numRuns: 12, endOnFailure: true },
  );
  t.is(runs, 12);
  t.true(delivered > 100);
});
