/**
 * Several ITSs (gic.itsCount, GITS_TYPER.VMOVP): the shipped `its-list` scenario (three ITSs,
 * each VM with a device on every one, vCPUs changing cores every 30 us) on GICv4.0 with both VMOVP
 * settings loses nothing; with VMOVP = 0 every move is a VMOVP on each ITS that maps the vPE, with
 * one SequenceNumber and an ITSList naming them, and a hypervisor that sends it to one ITS only
 * loses vLPIs, which the delivery check reports.
 */
import test from 'ava';
import type { DirectInjector } from '../../hypervisor/direct.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario, type RunHandle } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';
import type { ScenarioSpec } from '../../scenarios/scenario.js';

const base = scenarioNamed('its-list')!;

function run(over: Partial<ScenarioSpec>, fault = false) {
  let handle: RunHandle | undefined;
  const s = validateScenario({ ...base, ...over } as ScenarioSpec);
  const r = runScenario(s, {
    onBuilt: (h) => {
      handle = h;
      // The planted fault: VMOVP on the VM's first ITS only, whatever GITS_TYPER.VMOVP says.
      if (fault) {
        const d = h.platform.hyp.direct as DirectInjector;
        const all = d.vmovpTargets.bind(d);
        d.vmovpTargets = (vm) => all(vm).slice(0, 1);
      }
    },
  });
  return { r, h: handle! };
}

test('3 ITSs, GITS_TYPER.VMOVP = 0: vPEs migrating all the time lose nothing; each move is a VMOVP on every ITS of the VM with one SequenceNumber and a complete ITSList', (t) => {
  const { r, h } = run({});
  t.is(r.its, 3);
  t.deepEqual(r.violations, []);
  t.is(r.undelivered, 0);
  t.is(r.delivered + r.coalesced, r.msis);
  t.true(r.msis > 200);
  t.true(r.vmovps > 50, `${r.vmovps} moves`);
  // The movers' vPEs are mapped on 3 ITSs, the hog's on ITS 0 only.
  t.true(r.vmovpCommands > 1.5 * r.vmovps, `${r.vmovpCommands} VMOVP commands for ${r.vmovps} moves`);
  const gic = h.platform.gic;
  const sync = gic.its.vmovpSync;
  t.is(sync.listErrors, 0);
  t.is(sync.incomplete, 0);
  t.is(sync.abandoned, 0);
  t.true(sync.received >= r.vmovpCommands);
  for (const its of gic.itsList) t.is(its.errorCount, 0);
  t.is(gic.physical.vlpisLostElsewhere, 0);
  // Every ITS translated MSIs of its own devices.
  for (const its of gic.itsList) t.true(its.translator.delivered > 0);
});

test('3 ITSs, GITS_TYPER.VMOVP = 1: one VMOVP per move, the other ITSs follow; nothing lost', (t) => {
  const { r, h } = run({ itsVmovp: 1 });
  t.deepEqual(r.violations, []);
  t.is(r.undelivered, 0);
  t.true(r.vmovps > 50);
  t.is(r.vmovpCommands, r.vmovps);
  t.is(h.platform.gic.its.vmovpSync.received, 0);
  t.is(h.platform.gic.physical.vlpisLostElsewhere, 0);
});

test('planted fault: with GITS_TYPER.VMOVP = 0, VMOVP sent to one ITS only leaves the others naming the old redistributor; their vLPIs are lost and the delivery check says so', (t) => {
  const { r, h } = run({}, true);
  t.is(r.vmovpCommands, r.vmovps);
  t.true(h.platform.gic.physical.vlpisLostElsewhere > 0);
  t.true(r.undelivered > 0, `${r.undelivered} undelivered`);
  t.true(r.violations.some((v) => v.includes('never acknowledged')), r.violations.join('\n'));
  // The model saw sequence numbers that never reached every ITS of their list.
  t.true(h.platform.gic.its.vmovpSync.incomplete > 0);
});

test('one ITS: nothing changes with either VMOVP setting (VMOVP on the one ITS, ITSList of one)', (t) => {
  const a = run({ itsCount: 1 }).r;
  const b = run({ itsCount: 1, itsVmovp: 1 }).r;
  t.is(a.its, 1);
  t.deepEqual(a.violations, []);
  t.is(a.vmovpCommands, a.vmovps);
  t.is(a.delivered, b.delivered);
  t.is(a.vmovps, b.vmovps);
  t.deepEqual(a.latencyCycles, b.latencyCycles);
});
