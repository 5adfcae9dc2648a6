/**
 * The hard cases of GICv4 scheduling (scenarios/hard-cases.ts): nothing is lost, and the cost
 * is counted where a user would look for it.
 */
import test from 'ava';
import { HARD_CASES } from '../../scenarios/hard-cases.js';
import { runScenario, type RunHandle } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';
import type { DirectInjector } from '../../hypervisor/direct.js';
import { ICH_MISR } from '../../gic/ich-registers.js';

function hardCase(name: string) {
  const spec = HARD_CASES.find((s) => s.name === name)!;
  let handle: RunHandle | undefined;
  const r = runScenario(validateScenario(spec), { trace: true, onBuilt: (h) => (handle = h) });
  return { r, h: handle! };
}

test('wfi-churn: the vCPU re-enters before its VPT is parsed and leaves at once, again and again; nothing is lost', (t) => {
  const { r, h } = hardCase('wfi-churn');
  t.true(r.msis > 50);
  t.is(r.undelivered, 0);
  t.is(r.delivered + r.coalesced, r.msis);
  const hyp = h.platform.hyp;
  // WFI traps that found PendingLast = 1 (a vLPI the parse had not shown yet) and did not block.
  t.true(hyp.stats.wfiNoBlock > 0, `${hyp.stats.wfiNoBlock} WFIs that could not block`);
  t.true(r.vpeSwitches / r.delivered > 2, `${(r.vpeSwitches / r.delivered).toFixed(2)} residency changes per interrupt`);
  t.true(r.dirtyPolls > 0);
  // The trace shows entries made while the redistributor was still parsing the VPT.
  const tr = h.platform.m.trace;
  const scheduled = tr.of('vpe-residency').filter((x) => x.event === 'schedule');
  const parsed = tr.of('vpe-residency').filter((x) => x.event === 'parsed');
  const earlyEntries = tr.of('vcpu-enter').filter((e) => {
    const s = [...scheduled].reverse().find((x) => x.t <= e.t);
    const p = parsed.find((x) => s !== undefined && x.t >= s.t);
    return s !== undefined && (p === undefined || p.t > e.t);
  });
  t.true(earlyEntries.length > 0, 'guest entered while Dirty = 1');
});

test('doorbell-race: vLPIs arriving while their vPE is being descheduled are not lost', (t) => {
  const { r, h } = hardCase('doorbell-race');
  t.is(r.undelivered, 0);
  t.is(r.delivered + r.coalesced, r.msis);
  t.true(r.doorbells > 0);
  const tr = h.platform.m.trace.records;
  let inFlight = 0;
  const leaving = new Map<number, number>();
  for (const x of tr) {
    if (x.kind === 'vpe-residency' && x.event === 'deschedule') leaving.set(x.vpt, x.t);
    else if (x.kind === 'vpe-residency' && x.event === 'flushed') leaving.delete(x.vpt);
    else if (x.kind === 'vlpi-pending' && leaving.has(x.vpt)) inFlight++;
  }
  t.true(inFlight > 0, `${inFlight} vLPIs arrived during a deschedule`);
});

test('migration-storm: VMOVP on most schedule-ins, its cost counted, nothing lost', (t) => {
  const { r, h } = hardCase('migration-storm');
  t.is(r.undelivered, 0);
  t.is(r.delivered + r.coalesced, r.msis);
  const d = h.platform.hyp.direct as DirectInjector;
  t.true(r.vmovps > 20, `${r.vmovps} VMOVPs`);
  t.true(d.stats.residencyCycles > 0);
  const moved = h.platform.m.trace.of('vpe-schedule').filter((x) => x.vmovp);
  const still = h.platform.m.trace.of('vpe-schedule').filter((x) => !x.vmovp);
  // The trace covers the whole run, warm-up included; a schedule-in still under way on a core
  // when the run stops has counted its VMOVP but not yet written its record (one per core at most).
  t.true(moved.length <= d.stats.vmovps && moved.length >= d.stats.vmovps - h.platform.m.cores, `${moved.length} records, ${d.stats.vmovps} VMOVPs`);
  // A schedule-in with VMOVP costs more than one without (the ITS command and its wait).
  const mean = (xs: { cycles: number }[]) => xs.reduce((a, x) => a + x.cycles, 0) / Math.max(1, xs.length);
  t.true(mean(moved) > mean(still), `${mean(moved).toFixed(0)} vs ${mean(still).toFixed(0)} cycles`);
});

test('lr-storm: bursts through one list register are all delivered, paid for with no-pending maintenance interrupts', (t) => {
  const { r, h } = hardCase('lr-storm');
  t.is(r.undelivered, 0);
  t.is(r.delivered + r.coalesced, r.msis);
  // One LR and more pending than that: ICH_HCR_EL2.NPIE, so the guest's acknowledge of the LR's
  // interrupt raises the no-pending maintenance interrupt (ICH_MISR_EL2.NP) and the hypervisor
  // refills the LR while the guest handles it; UIE would fire right after every flush and never
  // let the guest run.
  const refills = h.platform.m.trace.of('ich-maintenance').filter((x) => x.level && (x.misr & ICH_MISR.encode({ NP: 1 })) !== 0);
  t.true(refills.length >= r.delivered / 2, `${refills.length} no-pending maintenance interrupts for ${r.delivered} interrupts`);
  t.true(r.el2EntriesPerIrq > 1, `${r.el2EntriesPerIrq.toFixed(2)} EL2 entries per interrupt`);
  // Each IRQ exit the maintenance interrupt caused is counted (ICH_MISR_EL2 read on the exit),
  // though EL2 drops the level before it could acknowledge PPI 25: never more than were raised,
  // and most of the exits of the storm.
  t.true(r.maintenance > 0 && r.maintenance <= refills.length, `${r.maintenance} maintenance exits, ${refills.length} raised`);
  t.is(r.vms[0]!.maintenance, r.maintenance);
  t.true(r.maintenance >= r.delivered / 2, `${r.maintenance} maintenance exits for ${r.delivered} interrupts`);
});
