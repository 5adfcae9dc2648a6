/**
 * `--explain --scenario explain41` (a GICv4.1 scenario) adds two cases on the 'direct-v41' run:
 * a vLPI for a non-resident vPE ringing its default doorbell, and a direct vSGI. Each step is a
 * record of that run's trace, in order, and what the steps say is what the trace holds (the
 * GICR_VPENDBASER and GITS_SGIR values the hypervisor wrote, the guest's acknowledge).
 */
import test from 'ava';
import type { TraceOf, TraceRecord } from '../../core/trace.js';
import { explainScenario, formatExplanation, type ExplainCase } from '../../scenarios/explain.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario, type RunHandle } from '../../scenarios/run.js';
import { stepsAreTraceRecords } from './explain-steps.js';

const s = scenarioNamed('explain41')!;
const { explanation, handles } = explainScenario(s);
const recordsOf = (k: ExplainCase): readonly TraceRecord[] => handles[k.path]!.platform.m.trace.records;
const byKind = (kind: ExplainCase['kind']): ExplainCase => explanation.cases.find((c) => c.kind === kind)!;
const v41Records = handles['direct-v41']!.platform.m.trace.records;
const mmioWrites = (region: RegExp): TraceOf<'mmio'>[] => v41Records.filter((r): r is TraceOf<'mmio'> => r.kind === 'mmio' && r.write && region.test(r.region));
const bit = (v: bigint, n: number): number => Number((v >> BigInt(n)) & 1n);

function inOrder(k: ExplainCase, names: readonly string[]): boolean {
  let i = 0;
  for (const st of k.steps) if (st.step === names[i]) i++;
  return i === names.length;
}

test('a GICv4.1 scenario explains the three GICv4.0-era cases and both direct-v41 cases, all found', (t) => {
  t.is(s.gicVersion, 4.1);
  t.deepEqual(
    explanation.cases.map((c) => [c.kind, c.path, c.found]),
    [
      ['injected', 'injected', true],
      ['direct-resident', 'direct', true],
      ['direct-not-resident', 'direct', true],
      ['direct-v41-not-resident', 'direct-v41', true],
      ['direct-v41-vsgi', 'direct-v41', true],
    ],
  );
});

test('direct-v41, vPE not resident: VPT, default doorbell, IRQ at EL2, wake, residency by vPEID, parse, ERET, guest acknowledge', (t) => {
  const k = byKind('direct-v41-not-resident');
  const names = ['MSI', 'ITS translation', 'vLPI pending (VPT)', 'default doorbell', 'physical IRQ at EL2', 'acknowledge', 'wake', 'schedule-in', 'VPT parse done', 'ERET', 'guest IRQ', 'guest acknowledge', 'guest EOI'];
  t.true(inOrder(k, names), k.steps.map((x) => x.step).join(', '));
  t.is(k.steps.find((x) => x.step === 'physical IRQ at EL2')!.el, 2);
  t.is(k.steps.find((x) => x.step === 'guest acknowledge')!.el, 1);
  t.is(k.cost!.lrWrites, 0);
  t.is(k.cost!.doorbells, 1);
  t.is(k.cost!.residencyChanges, 1);
  // Residency by vPEID: the GICR_VPENDBASER write at the schedule-in step has Valid = 1 and the
  // vPEID of the vPE the hypervisor scheduled.
  const inStep = k.steps.find((x) => x.step === 'schedule-in')!;
  const w = mmioWrites(/^gicr\d+\.vlpi$/).find((r) => r.t === inStep.t && r.core === inStep.core)!;
  t.truthy(w, 'a GICR_VPENDBASER write at the schedule-in step');
  const v = BigInt(w.value);
  const sched = v41Records.find((r): r is TraceOf<'vpe-schedule'> => r.kind === 'vpe-schedule' && r.core === inStep.core && r.t >= inStep.t)!;
  t.is(bit(v, 63), 1);
  t.is(Number(v & 0xffffn), sched.vpe);
  t.true(inStep.text.includes(`vPEID = ${sched.vpe}`), inStep.text);
  // The default doorbell was asked for when the vCPU blocked: the last GICR_VPENDBASER write for
  // that vPEID before the MSI has Valid = 0 and DB = 1, and the narration names it.
  const msi = k.steps[0]!.t;
  const before = mmioWrites(/^gicr\d+\.vlpi$/).filter((r) => r.t < msi && Number(BigInt(r.value) & 0xffffn) === sched.vpe);
  const last = BigInt(before[before.length - 1]!.value);
  t.is(bit(last, 63), 0);
  t.is(bit(last, 62), 1);
  const db = k.steps.find((x) => x.step === 'default doorbell')!;
  t.true(db.text.includes('DB = 1'), db.text);
  t.is(db.kind, 'vlpi-doorbell');
});

test('direct-v41: one default doorbell per vPE, rung once per non-resident period however many vLPIs come', (t) => {
  // explain41 with its bursts' MSIs 0.2 us apart: both reach the vPE before it is resident again.
  let h: RunHandle | undefined;
  const dev = s.devices[0]!;
  runScenario({ ...s, durationUs: 250, devices: [{ ...dev, traffic: { kind: 'bursts', burst: 2, gapUs: 0.2, everyUs: 100 } }] }, { path: 'direct-v41', trace: true, onBuilt: (x) => (h = x) });
  const byVpt = new Map<number, number>();
  const away = new Map<number, { rings: number; vlpis: number }>();
  let rings = 0;
  let extra = 0;
  for (const r of h!.platform.m.trace.records) {
    if (r.kind === 'vpe-residency' && r.event === 'deschedule') away.set(r.vpt, { rings: 0, vlpis: 0 });
    if (r.kind === 'vlpi-pending' && !r.resident) {
      const a = away.get(r.vpt)!;
      if (++a.vlpis > 1) extra++;
    }
    if (r.kind === 'vlpi-doorbell' && r.accepted) {
      rings++;
      const a = away.get(r.vpt)!;
      a.rings++;
      t.is(a.rings, 1, `vPE at ${r.vpt} rang its doorbell ${a.rings} times while away`);
      t.is(byVpt.get(r.vpt) ?? r.doorbell, r.doorbell, 'the same doorbell LPI for every ring of a vPE');
      byVpt.set(r.vpt, r.doorbell);
    }
  }
  t.true(rings >= 1);
  t.true(extra >= 1, 'some vLPIs arrived after the first of a non-resident period');
  t.is(new Set(byVpt.values()).size, byVpt.size, 'no two vPEs share a doorbell');
});

test('direct-v41 vSGI: trapped ICC_SGI1R_EL1, GITS_SGIR write, vSGI at the resident target with no exit, acknowledge with no active state', (t) => {
  const k = byKind('direct-v41-vsgi');
  t.true(inOrder(k, ['SGI trap', 'GITS_SGIR write', 'vSGI pending', 'guest IRQ', 'guest acknowledge', 'guest EOI']), k.steps.map((x) => x.step).join(', '));
  const trap = k.steps[0]!;
  const sgir = k.steps.find((x) => x.step === 'GITS_SGIR write')!;
  const pend = k.steps.find((x) => x.step === 'vSGI pending')!;
  t.is(trap.el, 2);
  t.is(sgir.core, trap.core);
  t.not(pend.core, trap.core);
  // The target took it at EL1 with no EL2 entry on its core; the only EL2 entry is the sender's trap.
  t.false(k.steps.some((x) => x.core === pend.core && x.el === 2));
  t.is(k.cost!.el2Entries, 1);
  t.is(k.cost!.lrWrites, 0);
  // The trap is a trapped MSR (EC 0x18); the GITS_SGIR value names the vPE and SGI the GIC made pending.
  const exc = v41Records.find((r): r is TraceOf<'exception'> => r.kind === 'exception' && r.t === trap.t && r.core === trap.core)!;
  t.is(exc.ec, 0x18);
  const w = mmioWrites(/^gits\.vsgi$/).find((r) => r.t === sgir.t && r.core === sgir.core)!;
  const vs = v41Records.find((r): r is TraceOf<'vsgi'> => r.kind === 'vsgi' && r.t === pend.t && r.rd === pend.core && r.what === 'pending')!;
  t.is(Number(BigInt(w.value) & 0xfn), vs.vintid);
  t.is(Number((BigInt(w.value) >> 32n) & 0xffffn), vs.vpeid);
  t.true(vs.resident);
  t.false(vs.rung);
  const ack = k.steps.find((x) => x.step === 'guest acknowledge')!;
  const a = v41Records.find((r): r is TraceOf<'icv-ack'> => r.kind === 'icv-ack' && r.t === ack.t && r.core === ack.core)!;
  t.is(a.source, 'vsgi');
  t.is(a.lr, null);
  t.is(a.vintid, vs.vintid);
  const eoi = k.steps.find((x) => x.step === 'guest EOI')!;
  const e = v41Records.find((r): r is TraceOf<'icv-eoi'> => r.kind === 'icv-eoi' && r.t === eoi.t && r.core === eoi.core)!;
  t.not(e.outcome, 'deactivated');
  t.is(k.cost!.latencyCycles, ack.t - trap.t);
});

test("every step is a trace record of its run with the step's time, core and EL; times never go back; costs are the trace's", (t) => {
  for (const k of explanation.cases) {
    const recs = recordsOf(k);
    stepsAreTraceRecords(t, k, recs);
    const t0 = k.steps[0]!.t;
    const ack = k.steps.find((x) => x.step === 'guest acknowledge')!;
    t.is(k.cost!.latencyCycles, ack.t - t0, k.kind);
    const cores = new Set(k.steps.filter((x) => x.core !== null).map((x) => x.core!));
    t.is(k.cost!.el2Entries, recs.filter((r) => r.kind === 'exception' && r.target === 2 && cores.has(r.core) && r.t >= t0 && r.t <= ack.t).length, k.kind);
  }
});

test('the text has every case with its numbered steps and cost, and says where vSGI times start', (t) => {
  const text = formatExplanation(explanation);
  t.true(text.includes("(for a vSGI, from the sender's ICC_SGI1R_EL1 write)"));
  let from = 0;
  for (const k of explanation.cases) {
    const at = text.indexOf(k.title, from);
    t.true(at >= from, k.title);
    from = at;
    const section = text.slice(at);
    k.steps.forEach((st, j) => t.true(new RegExp(`\\n {2}${String(j + 1).padStart(2)} .* ${st.step.replace(/[()]/g, '\\$&')} +`).test(section), `${k.kind}: step ${j + 1} ${st.step}`));
  }
  t.regex(text, /cost: [\d,]+ cycles \([\d.]+ us\) from the sender's ICC_SGI1R_EL1 write to the guest's acknowledge; 1\s+EL2\s+entry/);
  t.regex(text, /direct-v41-vsgi +[\d,]+ cycles to the guest, 1 EL2 entry/);
});
