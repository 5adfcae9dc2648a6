/**
 * `--trace`: the Chrome trace-event JSON of a run is valid for Perfetto's legacy JSON importer
 * (strictly nested slices per track after its nanosecond truncation, paired v2 flows), has one
 * flow per delivered interrupt from the MSI to the guest acknowledge that took it, and shows
 * what the issue asks for on the tracks it names.
 */
import test from 'ava';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario, type PathResult, type RunHandle } from '../../scenarios/run.js';
import { chromeTrace, chromeTraceText, traceSource, tsOf, type TraceSource } from '../../scenarios/trace-export.js';
import { checkTrace } from './trace-check.js';

const s = { ...scenarioNamed('default')!, durationUs: 1500 };

function traced(path: 'injected' | 'direct', scenario = s): { r: PathResult; src: TraceSource; h: RunHandle } {
  let h: RunHandle | undefined;
  const r = runScenario(scenario, { path, trace: true, onBuilt: (x) => (h = x) });
  return { r, src: traceSource(h!, scenario, path), h: h! };
}

const injected = traced('injected');
const direct = traced('direct');
const doc = JSON.parse(chromeTraceText(chromeTrace([injected.src, direct.src], { scenario: s.name })));
type Ev = { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; args?: Record<string, unknown>; bind_id?: number; flow_in?: boolean; flow_out?: boolean };
const events = doc.traceEvents as Ev[];

test('the trace is valid trace-event JSON: slices nest on every track, flows pair up', (t) => {
  const c = checkTrace(doc);
  t.deepEqual(c.errors, []);
  t.true(c.slices > 1000);
});

test('one flow per delivered interrupt, per path, from an MSI slice to a guest acknowledge', (t) => {
  for (const [pid, r] of [[1, injected.r], [3, direct.r]] as const) {
    const outs = events.filter((e) => e.flow_out === true && e.pid === pid + 1);
    const ins = events.filter((e) => e.flow_in === true && e.pid === pid);
    t.true(r.delivered > 50);
    t.is(outs.length, r.delivered);
    t.is(ins.length, r.delivered);
    t.true(outs.every((e) => e.name.startsWith('MSI ')));
    t.true(ins.every((e) => /^vINTID \d+ \((LR\d+|vLPI)\)$/.test(e.name)));
    // Every flow goes forward in time.
    const start = new Map(outs.map((e) => [e.bind_id!, e.ts]));
    t.true(ins.every((e) => e.ts >= start.get(e.bind_id!)!));
  }
  t.deepEqual(doc.otherData.flows, { injected: injected.r.delivered, direct: direct.r.delivered });
});

test('one track per core shows which vCPU runs at which EL; the direct path has residency tracks', (t) => {
  const names = events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => `${e.pid}:${(e.args as { name: string }).name}`);
  for (let c = 0; c < s.cores; c++) {
    t.true(names.includes(`1:core ${c}`));
    t.true(names.includes(`3:core ${c}`));
  }
  t.true(names.includes('3:GICR 0 vPE residency'));
  t.false(names.some((n) => n.startsWith('1:GICR')));
  t.true(names.includes('1:ITS'));
  const core0 = events.filter((e) => e.pid === 1 && e.tid === 0 && e.ph === 'X');
  t.true(core0.some((e) => /^vm\d\.vcpu\d @EL1$/.test(e.name)));
  t.true(core0.some((e) => e.name.startsWith('EL2')));
  const rd = events.filter((e) => e.pid === 3 && e.tid >= 1000 && e.tid < 2000 && e.ph === 'X');
  t.true(rd.some((e) => /^resident vm\d\.vcpu\d$/.test(e.name)));
  t.true(rd.some((e) => e.name === 'VPT parse (Dirty = 1)'));
  const its = events.filter((e) => e.tid === 2000 && e.ph === 'X').map((e) => e.name);
  t.true(its.includes('MAPD') && its.includes('VMAPP') && its.includes('VMAPTI'));
  t.true(events.some((e) => e.ph === 'i' && e.pid === 3 && e.name.startsWith('doorbell')));
});

test('top-level slices on a core follow the exception records: guest time at EL1 matches the trace', (t) => {
  const recs = direct.h.platform.m.trace.records;
  const toGuest = recs.filter((r) => r.kind === 'eret' && r.core === 1 && r.from === 2 && r.to === 1).length;
  // Top-level guest slices are named for the vCPU ("vm2.vcpu0 @EL1"); exceptions taken inside them ("IRQ @EL1") nest.
  const guestSlices = events.filter((e) => e.pid === 3 && e.tid === 1 && e.ph === 'X' && /^\S+\.vcpu\d+ @EL1$/.test(e.name)).length;
  t.is(guestSlices, toGuest);
  const hz = direct.h.platform.m.clockHz;
  const firstEret = recs.find((r) => r.kind === 'eret' && r.core === 1 && r.from === 2 && r.to === 1)!;
  t.true(events.some((e) => e.pid === 3 && e.tid === 1 && e.ts === tsOf(firstEret.t, hz) && /^\S+\.vcpu\d+ @EL1$/.test(e.name)));
});

test('maintenance interrupts appear as instants (one list register, bursts)', (t) => {
  const storm = scenarioNamed('lr-storm')!;
  const x = traced('injected', { ...storm, durationUs: 400 });
  const d = JSON.parse(chromeTraceText(chromeTrace([x.src])));
  const maint = (d.traceEvents as Ev[]).filter((e) => e.ph === 'i' && e.name === 'maintenance interrupt');
  const rising = x.h.platform.m.trace.records.filter((r) => r.kind === 'ich-maintenance' && r.level).length;
  t.true(rising > 0);
  t.is(maint.length, rising);
  t.deepEqual(checkTrace(d).errors, []);
  t.is(checkTrace(d).flows, x.r.delivered);
});

test('tracing is off unless asked for: export refuses an untraced run', (t) => {
  let h: RunHandle | undefined;
  runScenario({ ...s, durationUs: 100 }, { path: 'injected', onBuilt: (x) => (h = x) });
  t.false(h!.platform.m.trace.on);
  t.is(h!.platform.m.trace.records.length, 0);
  t.throws(() => traceSource(h!, s, 'injected'), { message: /without tracing/ });
});
