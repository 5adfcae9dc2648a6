/**
 * `--explain` follows one interrupt per case through the run's real trace: the steps the issue
 * names, in order, each one a record of the trace (same time, core and EL), and costs that are
 * counts and differences of trace records.
 */
import test from 'ava';
import type { TraceRecord } from '../../core/trace.js';
import { explainScenario, formatExplanation, type ExplainCase } from '../../scenarios/explain.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { stepsAreTraceRecords } from './explain-steps.js';

const s = scenarioNamed('explain')!;
const { explanation, handles } = explainScenario(s);
const recordsOf = (k: ExplainCase): readonly TraceRecord[] => handles[k.path]!.platform.m.trace.records;
const itsTranslate = handles.injected!.platform.m.costs.itsTranslate;
const byKind = (kind: ExplainCase['kind']): ExplainCase => explanation.cases.find((c) => c.kind === kind)!;

/** `names` appear among the step names in this order (other steps may come between). */
function inOrder(k: ExplainCase, names: readonly string[]): boolean {
  let i = 0;
  for (const s of k.steps) if (s.step === names[i]) i++;
  return i === names.length;
}

test('all three cases are found in the explain scenario', (t) => {
  t.deepEqual(
    explanation.cases.map((c) => [c.kind, c.found]),
    [
      ['injected', true],
      ['direct-resident', true],
      ['direct-not-resident', true],
    ],
  );
});

test('injected: MSI, ITS translation, redistributor, physical IRQ at EL2, acknowledge, list register write, ERET, guest acknowledge, guest EOI', (t) => {
  const k = byKind('injected');
  t.true(inOrder(k, ['MSI', 'ITS translation', 'redistributor', 'physical IRQ at EL2', 'acknowledge', 'inject', 'list register write', 'ERET', 'guest acknowledge', 'guest EOI']), k.steps.map((s) => s.step).join(', '));
  t.is(k.steps.find((s) => s.step === 'physical IRQ at EL2')!.el, 2);
  t.regex(k.steps.find((s) => s.step === 'list register write')!.where, /^ICH_LR\d+_EL2$/);
  t.is(k.steps.find((s) => s.step === 'guest acknowledge')!.el, 1);
});

test('direct, resident: the vLPI is set in the VPT of a resident vPE and taken by the guest with no EL2 entry', (t) => {
  const k = byKind('direct-resident');
  t.true(inOrder(k, ['MSI', 'ITS translation', 'vLPI pending (VPT)', 'guest IRQ', 'guest acknowledge', 'guest EOI']));
  t.false(k.steps.some((s) => s.el === 2 || s.step === 'physical IRQ at EL2' || s.step === 'list register write'));
  t.is(k.cost!.el2Entries, 0);
  t.is(k.cost!.lrWrites, 0);
  // The guest was running when the vLPI arrived.
  t.is(k.steps.find((s) => s.step === 'vLPI pending (VPT)')!.el, 1);
});

test('direct, not resident: VPT, doorbell, physical IRQ at EL2, wake, schedule-in, ERET, delivery', (t) => {
  const k = byKind('direct-not-resident');
  t.true(inOrder(k, ['MSI', 'ITS translation', 'vLPI pending (VPT)', 'doorbell', 'physical IRQ at EL2', 'acknowledge', 'wake', 'schedule-in', 'VPT parse done', 'ERET', 'guest IRQ', 'guest acknowledge', 'guest EOI']), k.steps.map((s) => s.step).join(', '));
  // The hypervisor's 'vPE scheduled' comes before the parse ends when the wait is taken at the last
  // step before entry (vptParseWait 'before-entry', the default, Linux 5.11+), after it otherwise.
  t.true(inOrder(k, ['schedule-in', 'vPE scheduled', 'ERET']), k.steps.map((s) => s.step).join(', '));
  t.is(k.cost!.doorbells, 1);
  t.is(k.cost!.residencyChanges, 1);
  t.true(k.cost!.el2Entries >= 1);
});

test("every step, the MSI included, is a trace record with the step's time, core and EL; times never go back", (t) => {
  for (const k of explanation.cases) {
    const recs = recordsOf(k);
    stepsAreTraceRecords(t, k, recs);
    // The MSI is the device's msi-write record; the ITS translated it itsTranslate cycles later.
    const msi = k.steps[0]!;
    const tr = k.steps[1]!;
    t.is(msi.step, 'MSI');
    t.is(msi.kind, 'msi-write');
    t.is(msi.core, null);
    t.is(tr.t - msi.t, itsTranslate);
    const dev = handles[k.path]!.devices[0]!;
    t.true(Array.from(dev.writeTimes).includes(msi.t), `${k.kind}: the device wrote an MSI at ${msi.t}`);
  }
});

test("the costs are the trace's: latency to the acknowledge, EL2 entries, cycles at EL2, residency cycles", (t) => {
  for (const k of explanation.cases) {
    const recs = recordsOf(k);
    const msi = k.steps[0]!.t;
    const ack = k.steps.find((s) => s.step === 'guest acknowledge')!;
    t.is(k.cost!.latencyCycles, ack.t - msi);
    const cores = new Set(k.steps.filter((s) => s.core !== null).map((s) => s.core!));
    const entries = recs.filter((r) => r.kind === 'exception' && r.target === 2 && cores.has(r.core) && r.t >= msi && r.t <= ack.t).length;
    t.is(k.cost!.el2Entries, entries, k.kind);
    const irq = k.steps.find((s) => s.step === 'physical IRQ at EL2');
    const eret = k.steps.find((s) => s.step === 'ERET');
    t.is(k.cost!.el2Cycles, irq !== undefined && eret !== undefined ? eret.t - irq.t : 0, k.kind);
    if (k.kind === 'direct-not-resident') {
      const sched = recs.find((r) => r.kind === 'vpe-schedule' && r.t === k.steps.find((s) => s.step === 'vPE scheduled')!.t);
      t.is(k.cost!.residencyCycles, sched !== undefined && sched.kind === 'vpe-schedule' ? sched.cycles : -1);
    }
  }
});

test('the text names every step with its time, core and EL and the register or table, then narrates it; each case ends with its cost', (t) => {
  const text = formatExplanation(explanation);
  const hz = explanation.clockHz;
  const starts = explanation.cases.map((k) => text.indexOf(k.title));
  explanation.cases.forEach((k, i) => {
    t.true(starts[i]! >= 0, k.title);
    const section = text.slice(starts[i], starts[i + 1] ?? text.length).split('\n');
    const t0 = k.steps[0]!.t;
    const headers = section.map((l, j) => [l, j] as const).filter(([l]) => /^ {2}[ \d]\d  /.test(l));
    t.is(headers.length, k.steps.length, k.kind);
    k.steps.forEach((st, j) => {
      const [line, at] = headers[j]!;
      t.true(line.startsWith(`  ${String(j + 1).padStart(2)}  ${`+${(((st.t - t0) / hz) * 1e6).toFixed(3)}`.padStart(8)} us  `), line);
      t.true(line.includes(st.core === null ? (j === 0 ? ' device ' : ' ITS ') : ` core ${st.core} EL${st.el} `), line);
      t.true(line.includes(`  ${st.step} `) || line.includes(`  ${st.step}  `), line);
      t.true(line.endsWith(`  ${st.where}`), line);
      const next = headers[j + 1]?.[1] ?? section.findIndex((l, q) => q > at && l.startsWith('  cost: '));
      const narration = section.slice(at + 1, next).join(' ').replace(/\s+/g, ' ').trim();
      t.is(narration, st.text);
    });
    t.true(section.join(' ').replace(/\s+/g, ' ').includes(`cost: ${k.cost!.latencyCycles.toLocaleString('en-US')} cycles`), k.kind);
  });
  t.deepEqual([...starts].sort((a, b) => a - b), starts);
});
