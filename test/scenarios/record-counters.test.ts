/**
 * `record: 'counters'` (scenario.ts): a run that keeps no MSI or delivery records (the delivery
 * check keeps counts and a latency histogram) gives the figures of the records-on run for the
 * same seed (counts, max and mean exactly, percentiles within the histogram's stated error), and
 * its memory for records does not grow with the run's length. What needs the records says so.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../scenarios/cli.js';
import { RELATIVE_ERROR } from '../../scenarios/histogram.js';
import { scenarioNamed } from '../../scenarios/named.js';
import { deliveriesOf, RecordsNeededError, runScenario, type PathResult, type RunHandle } from '../../scenarios/run.js';
import type { DeliveryPath, Scenario } from '../../scenarios/scenario.js';
import { traceSource } from '../../scenarios/trace-export.js';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';
import { DeviceKernel } from '../../guests/samples.js';

const withRecord = (s: Scenario, record: 'all' | 'counters', over: Partial<Scenario> = {}): Scenario => validateScenario({ ...s, ...over, record });

function run(s: Scenario, path: DeliveryPath): { r: PathResult; h: RunHandle } {
  let h: RunHandle | undefined;
  const r = runScenario(s, { path, onBuilt: (x) => (h = x) });
  return { r, h: h! };
}

type Lat = Pick<PathResult, 'latencyCycles' | 'latencyUs'>;

/** Latency figures of `b` as `a`'s: the max exact, the mean to rounding, the percentiles within RELATIVE_ERROR. */
function sameLatency(t: import('ava').ExecutionContext, a: Lat, b: Lat, what: string): void {
  for (const unit of ['latencyCycles', 'latencyUs'] as const) {
    const x = a[unit];
    const y = b[unit];
    t.is(y.max, x.max, `${what} ${unit}.max`);
    t.true(Math.abs(y.mean - x.mean) <= Math.abs(x.mean) * 1e-12, `${what} ${unit}.mean ${y.mean} vs ${x.mean}`);
    for (const p of ['p50', 'p99'] as const) {
      if (Number.isNaN(x[p])) t.true(Number.isNaN(y[p]), `${what} ${unit}.${p}`);
      else t.true(Math.abs(y[p] - x[p]) <= x[p] * RELATIVE_ERROR, `${what} ${unit}.${p}: ${y[p]} vs ${x[p]} (within ${RELATIVE_ERROR})`);
    }
  }
}

/** Every figure equal except host time and the latencies (of the run, each VM and each vCPU), which `sameLatency` compares. */
function sameFigures(t: import('ava').ExecutionContext, a: PathResult, b: PathResult, what: string): void {
  const noLat = <T extends Lat>(x: T): Omit<T, keyof Lat> => {
    const { latencyCycles: _c, latencyUs: _u, ...rest } = x;
    return rest;
  };
  const strip = (r: PathResult) => {
    const { hostMs: _h, vms, ...rest } = noLat(r);
    return { ...rest, vms: vms.map((v) => ({ ...noLat(v), vcpus: v.vcpus.map(noLat) })) };
  };
  t.deepEqual(strip(b), strip(a), what);
  sameLatency(t, a, b, what);
  a.vms.forEach((v, i) => {
    sameLatency(t, v, b.vms[i]!, `${what} ${v.vm}`);
    v.vcpus.forEach((c, j) => sameLatency(t, c, b.vms[i]!.vcpus[j]!, `${what} ${v.vm}.vcpu${j}`));
  });
}

/** One core shared with a hog on long slices: MSIs coalesce while the device vCPU waits for the core. */
const squeeze = validateScenario({
  name: 'squeeze',
  summary: 'coalesced and undelivered MSIs',
  cores: 1,
  sliceUs: 2000,
  durationUs: 3000,
  vms: [
    { name: 'io', vcpus: 1, kernel: 'device' },
    { name: 'hog', vcpus: 1, kernel: 'hog' },
  ],
  devices: [{ vm: 'io', events: 2, traffic: { kind: 'poisson', ratePerSec: 200_000 } }],
});

for (const [name, s] of [
  ['default', withRecord(scenarioNamed('default')!, 'all', { durationUs: 5000 })],
  ['idle-heavy', withRecord(scenarioNamed('idle-heavy')!, 'all', { durationUs: 10_000 })],
  ['squeeze (coalesced)', squeeze],
] as const) {
  test(`record: 'counters' gives the figures of record: 'all' on the same seed: ${name}, both paths`, (t) => {
    for (const path of ['injected', 'direct'] as const) {
      const all = run(s, path);
      const counters = run(withRecord(s, 'counters'), path);
      t.is(all.h.record, 'all');
      t.is(counters.h.record, 'counters');
      t.true(all.r.delivered > 0, `${name} ${path}: something was delivered`);
      t.deepEqual(all.r.violations, []);
      if (name.startsWith('squeeze')) t.true(all.r.coalesced > 0, `${path}: coalesced ${all.r.coalesced}`);
      sameFigures(t, all.r, counters.r, `${name} ${path}`);
      // With records, every delivery is paired with the MSI it delivered.
      t.is(deliveriesOf(all.h).lat.latencies.length, all.r.delivered);
    }
  });
}

test("record: 'counters' keeps no records however long the run: record slots stay 0 while the counters grow, the check's queues stay small", (t) => {
  const base = scenarioNamed('default')!;
  const sizes = [2000, 8000].map((durationUs) => {
    const { r, h } = run(withRecord(base, 'counters', { durationUs }), 'direct');
    const logs = h.platform.kernels.filter((k): k is DeviceKernel => k instanceof DeviceKernel).map((k) => k.log);
    for (const d of h.devices) {
      t.is(d.kept, 0);
      t.is(d.recordSlots, 0);
      t.throws(() => d.timeOf(0), { instanceOf: RangeError });
    }
    for (const l of logs) {
      t.is(l.kept, 0);
      t.is(l.recordSlots, 0);
    }
    t.is(h.check.records.length, 0);
    return { sent: r.msis, delivered: r.delivered, queueSlots: h.check.queueSlots, outstanding: h.check.outstanding, keys: h.check.keyCount };
  });
  const [short, long] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
  t.true(long.sent > 3 * short.sent, `MSIs ${short.sent} -> ${long.sent}`);
  t.true(long.delivered > 3 * short.delivered);
  t.is(long.keys, short.keys);
  // Queue slots follow the most MSIs outstanding per key (a handful), not the MSIs sent.
  t.true(long.queueSlots <= 2 * short.queueSlots && long.queueSlots < 1000, `queue slots ${short.queueSlots} -> ${long.queueSlots}`);
  t.true(long.outstanding < 50);
  // With records, the slots grow with the run.
  const { h } = run(withRecord(base, 'all', { durationUs: 8000 }), 'direct');
  t.true(h.devices.reduce((a, d) => a + d.recordSlots, 0) >= long.sent);
});

test("what needs the records says so: deliveriesOf, trace export, the CLI's --trace and --report; validation of 'record'", async (t) => {
  const s = withRecord(scenarioNamed('explain')!, 'counters');
  let h: RunHandle | undefined;
  runScenario(s, { path: 'injected', trace: true, onBuilt: (x) => (h = x) });
  t.throws(() => deliveriesOf(h!), { instanceOf: RecordsNeededError, message: /needs every MSI and delivery record.*record: 'counters'/ });
  t.throws(() => traceSource(h!, s, 'injected'), { instanceOf: RecordsNeededError, message: /trace export .* scenario 'explain' was made with record: 'counters'/ });

  const dir = mkdtempSync(join(tmpdir(), 'minivisor-record-'));
  const f = join(dir, 'counters.json');
  writeFileSync(f, JSON.stringify({ name: 'lean', record: 'counters', durationUs: 100, vms: [{ name: 'a', vcpus: 1, kernel: 'device' }], devices: [{ vm: 'a', events: 1, traffic: { kind: 'periodic', periodUs: 10 } }] }));
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { stdout: { write: (x: string) => out.push(x) }, stderr: { isTTY: false, write: (x: string) => (err.push(x), true) } });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
  const tr = await cli('--scenario', f, '--trace', join(dir, 't.json'), '--quiet');
  t.is(tr.code, 2);
  t.regex(tr.stderr, /error: --trace \(its MSI-to-acknowledge flows\) needs every MSI and delivery record, but scenario 'lean' has record: 'counters'/);
  const rep = await cli('--scenario', f, '--report', join(dir, 'r.html'), '--trace', join(dir, 't.json'), '--quiet');
  t.is(rep.code, 2);
  t.regex(rep.stderr, /--trace .* and --report \(its latency CDF\) need every MSI/);
  const ok = await cli('--scenario', f, '--json', '--quiet');
  t.is(ok.code, 0, ok.stderr);
  const json = JSON.parse(ok.stdout) as { scenario: Scenario; results: PathResult[] };
  t.is(json.scenario.record, 'counters');
  t.true(json.results.every((r) => r.msis > 0 && r.delivered === r.msis), JSON.stringify(json.results.map((r) => [r.msis, r.delivered])));
  // The flag sets it on any scenario, and refuses what needs records the same way.
  const flag = await cli('--scenario', 'explain', '--record', 'counters', '--duration', '300', '--json', '--quiet');
  t.is(flag.code, 0, flag.stderr);
  t.is((JSON.parse(flag.stdout) as { scenario: Scenario }).scenario.record, 'counters');
  const flagTrace = await cli('--scenario', 'explain', '--record', 'counters', '--trace', join(dir, 't2.json'), '--quiet');
  t.is(flagTrace.code, 2);
  t.regex(flagTrace.stderr, /--trace .* needs every MSI and delivery record/);

  t.is(validateScenario({ ...scenarioNamed('default')!, record: 'all' }).record, 'all');
  t.false('record' in scenarioNamed('default')!);
  t.throws(() => validateScenario({ ...scenarioNamed('default')!, record: 'some' }), { instanceOf: ScenarioError, message: /^record: expected one of "all", "counters", got "some"/ });
});
