/**
 * The single-run HTML report (`--report`): the same bytes for the same seed; the latency tail
 * with p99 and p99.9 marked and labelled; at most eight series colours, the rest grouped; the
 * maintenance interrupts of `lr-storm` in its table and on its timeline; lock spin on the
 * timeline of a scenario that contends; and the zoom: the script's functions (the text the page
 * runs) draw exactly the items of a window.
 */
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { main } from '../../scenarios/cli.js';
import { scenarioNamed } from '../../scenarios/named.js';
import type { ComparisonResult } from '../../scenarios/report-data.js';
import { nearestRank } from '../../scenarios/report-latency.js';
import { GROUP_COLORS, MAX_SERIES_COLORS, OKABE_ITO, OTHER_COLOR, vcpuGroups, type VcpuWeight } from '../../scenarios/report-palette.js';
import { timelineApi, timelineData, TIMELINE_JS, type DecodedList, type TimelineData } from '../../scenarios/report-timeline.js';
import { defaultWindowUs, renderReport, reportInput } from '../../scenarios/report.js';
import { runScenario, type PathResult, type RunHandle } from '../../scenarios/run.js';
import { pathsOf, type RunPath, type Scenario } from '../../scenarios/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'minivisor-report-'));
let files = 0;

/** `--report` through the CLI in this process: the page's text. */
async function cliReport(...args: string[]): Promise<string> {
  const f = join(dir, `r${files++}.html`);
  const err: string[] = [];
  const code = await main([...args, '--report', f, '--quiet'], { stdout: { write: () => true }, stderr: { isTTY: false, write: (s: string) => (err.push(s), true) } });
  if (code !== 0 && code !== 3) throw new Error(`exit ${code}: ${err.join('')}`);
  return readFileSync(f, 'utf8');
}

/** A report made directly (whatever the delivery check says), for scenarios under test elsewhere. */
function directReport(s: Scenario): string {
  const handles: Partial<Record<RunPath, RunHandle>> = {};
  const results: PathResult[] = pathsOf(s).map((path) => runScenario(s, { path, trace: true, onBuilt: (h) => (handles[path] = h) }));
  return renderReport(reportInput(s, results, handles));
}

const once = <T>(f: () => T): (() => T) => {
  let v: { value: T } | undefined;
  return () => (v ??= { value: f() }).value;
};
const lrStorm = once(() => directReport({ ...scenarioNamed('lr-storm')!, durationUs: 500 }));
const vmovp = once(() => directReport({ ...scenarioNamed('vmovp-global')!, durationUs: 200 }));

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}
const jsonScript = <T>(page: string, id: string): T => JSON.parse(new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(page)![1]!) as T;
const svgOf = (page: string, start: string): string => {
  const i = page.indexOf(start);
  if (i < 0) throw new Error(`no ${start}`);
  return page.slice(i, page.indexOf('</svg>', i));
};
/** A table of the page as rows of cell texts. */
function tableRows(page: string, id: string): string[][] {
  const t = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(page);
  if (t === null) throw new Error(`no table ${id}`);
  return [...t[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => unescape(c[1]!.replace(/<[^>]+>/g, ''))));
}
const num = (s: string): number => Number(s.replace(/,/g, ''));

test('one seed, one report: the same bytes twice, no wall clock, no host time', async (t) => {
  const args = ['--duration', '300', '--seed', '5'];
  const [a, b] = [await cliReport(...args), await cliReport(...args)];
  t.is(a, b);
  t.notRegex(a, /\d{4}-\d\d-\d\dT\d\d:\d\d/);
  t.notRegex(a, /generated/);
  t.false('host' in jsonScript<Record<string, unknown>>(a, 'result'));
  t.not(await cliReport('--duration', '300', '--seed', '6'), a, 'another seed, another report');
});

test('the page stays self-contained: inline script only, which compiles, and the controls it wires', async (t) => {
  const page = await cliReport('--duration', '300');
  t.notRegex(page, /<(link|img|iframe)\b|\bsrc=|https?:\/\/|@import|url\(/i);
  const scripts = [...page.matchAll(/<script(?: [^>]*)?>([\s\S]*?)<\/script>/g)];
  const code = scripts.filter((m) => !m[0].startsWith('<script type="application/json"'));
  t.is(code.length, 1);
  t.is(code[0]![1]!.trim(), TIMELINE_JS.trim());
  t.notThrows(() => new Script(code[0]![1]!));
  t.regex(page, /<form id="tl-controls"[^>]*>[\s\S]*id="tl-from"[\s\S]*id="tl-to"[\s\S]*data-act="in"[\s\S]*data-act="out"[\s\S]*data-act="all"[\s\S]*<\/form>/);
  t.regex(page, /<svg class="overview" id="tl-overview"/);
  t.is((page.match(/<svg class="timeline" data-path="(injected|direct)"/g) ?? []).length, 2);
});

test('the latency tail: p99 and p99.9 on the axis, marked per path and labelled with the figures of the table', async (t) => {
  const page = await cliReport('--duration', '2000');
  const tail = svgOf(page, '<svg class="chart" data-panel="tail"');
  for (const p of ['p90', 'p99', 'p99.9']) t.regex(tail, new RegExp(`class="tick[^"]*"[^>]*>${p.replace('.', '\\.')}</text>`), p);
  const r = jsonScript<ComparisonResult>(page, 'result');
  for (const [i, path] of r.paths.entries()) {
    for (const p of ['99', '99.9']) t.regex(tail, new RegExp(`<circle [^>]*data-p="${p}" data-path="${path}"`), `${path} p${p} marked`);
    const p99 = r.results[i]!.latencyUs.p99.toFixed(2);
    t.true(tail.includes(`>p99 ${p99} us</text>`), `${path}: p99 label ${p99}`);
  }
  const rows = tableRows(page, 'latency-percentiles');
  t.deepEqual(rows.map((x) => x[0]), ['percentile', 'interrupts', 'p50 (us)', 'p90 (us)', 'p99 (us)', 'p99.9 (us)', 'max (us)']);
  const cmp = tableRows(page, 'comparison-table');
  const p99Row = cmp.find((x) => x[0] === 'latency p99' && x[1] === 'us')!;
  t.deepEqual(rows[4]!.slice(1), p99Row.slice(2), 'p99 as in the comparison table');
  t.true(tail.includes(`>p99.9 ${rows[5]![1]} us</text>`), 'p99.9 label as in the table');
});

test('nearest rank, in integers: p99.9 of 1,000 values is the 999th', (t) => {
  const s = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
  t.is(nearestRank(s, 50), 500);
  t.is(nearestRank(s, 99), 990);
  t.is(nearestRank(s, 99.9), 999);
  t.is(nearestRank(s, 100), 1000);
  t.true(Number.isNaN(nearestRank(new Float64Array(0), 99)));
  // p50 and p99 as the comparison table has them (delivery-check.ts), whatever the sample size.
  for (let n = 1; n <= 5000; n++) for (const p of [50, 99]) if (Math.ceil((Math.round(p * 1000) * n) / 100_000) !== Math.ceil((p / 100) * n)) t.fail(`n ${n} p${p}`);
});

/** The colours of the page's series: the timeline's group classes, and the CDF's lines. */
function seriesColors(page: string): { groups: string[]; lines: string[] } {
  const groups = [...page.matchAll(/\.g(\d+)\{fill:(#[0-9a-fA-F]{6})\}/g)].map((m) => m[2]!.toUpperCase());
  const lines = [...page.matchAll(/<polyline [^>]*stroke="(#[0-9a-fA-F]{6})"[^>]*class="series"/g)].map((m) => m[1]!.toUpperCase());
  return { groups, lines };
}
const palette = new Set([...Object.values(OKABE_ITO), OTHER_COLOR].map((c) => c.toUpperCase()));

test('colours: Okabe-Ito, at most eight series colours; 64 VMs keep six and share "other"', (t) => {
  const page = vmovp();
  const { groups, lines } = seriesColors(page);
  t.true(groups.length > 0 && lines.length > 0);
  t.true(new Set(groups).size <= MAX_SERIES_COLORS, `${new Set(groups).size} timeline colours`);
  t.true(new Set(lines).size <= MAX_SERIES_COLORS, `${new Set(lines).size} CDF colours`);
  for (const c of [...groups, ...lines]) t.true(palette.has(c), c);
  const legend = /<div class="legend-row" id="series-legend">([\s\S]*?)<\/div>/.exec(page)![1]!;
  const entries = [...legend.matchAll(/data-series="\d+"/g)];
  t.is(entries.length, GROUP_COLORS.length + 1);
  t.regex(legend, /other \(58 VMs\)/);
  const d = jsonScript<TimelineData>(page, 'timeline-data');
  t.is(d.groups.length, GROUP_COLORS.length + 1);
  t.is(d.groups[d.groups.length - 1]!.color, OTHER_COLOR);
});

test('vCPU groups: one per vCPU up to six (or one VM), else per VM; past six, the longest-running keep a colour', (t) => {
  const w = (entries: [string, string, number][]): Map<string, VcpuWeight> => new Map(entries.map(([n, vm, cycles]) => [n, { vm, cycles }]));
  const few = vcpuGroups(w([['vm0.vcpu1', 'vm0', 5], ['vm0.vcpu0', 'vm0', 1], ['vm1.vcpu0', 'vm1', 2]]));
  t.deepEqual(few.groups.map((g) => g.label), ['vm0.vcpu0', 'vm0.vcpu1', 'vm1.vcpu0']);
  t.deepEqual(few.groups.map((g) => g.color), GROUP_COLORS.slice(0, 3));
  // Ten vCPUs in five VMs: by VM.
  const five = vcpuGroups(w(Array.from({ length: 10 }, (_, i) => [`vm${i >> 1}.vcpu${i & 1}`, `vm${i >> 1}`, 10] as [string, string, number])));
  t.deepEqual(five.groups.map((g) => g.label), ['vm0 (2 vCPUs)', 'vm1 (2 vCPUs)', 'vm2 (2 vCPUs)', 'vm3 (2 vCPUs)', 'vm4 (2 vCPUs)']);
  t.is(five.groupOf.get('vm3.vcpu1'), 3);
  // Twelve VMs: the six that ran longest (vm6..vm11) keep colours, in name order; the rest are "other".
  const many = vcpuGroups(w(Array.from({ length: 12 }, (_, i) => [`vm${i}.vcpu0`, `vm${i}`, i] as [string, string, number])));
  t.deepEqual(many.groups.map((g) => g.label), ['vm6 (1 vCPU)', 'vm7 (1 vCPU)', 'vm8 (1 vCPU)', 'vm9 (1 vCPU)', 'vm10 (1 vCPU)', 'vm11 (1 vCPU)', 'other (6 VMs)']);
  t.deepEqual(many.groups[6]!.units, ['vm0', 'vm1', 'vm2', 'vm3', 'vm4', 'vm5']);
  t.is(many.groupOf.get('vm2.vcpu0'), 6);
  t.is(many.groups[6]!.color, OTHER_COLOR);
  t.true(new Set(many.groups.map((g) => g.color)).size <= MAX_SERIES_COLORS);
  // One VM of eight vCPUs: by vCPU, six and "other".
  const one = vcpuGroups(w(Array.from({ length: 8 }, (_, i) => [`big.vcpu${i}`, 'big', 8 - i] as [string, string, number])));
  t.deepEqual(one.groups.map((g) => g.label).slice(0, 6), ['big.vcpu0', 'big.vcpu1', 'big.vcpu2', 'big.vcpu3', 'big.vcpu4', 'big.vcpu5']);
  t.is(one.groups[6]!.label, 'other (2 vCPUs)');
});

test('lr-storm: the maintenance interrupts in the table, and marked on the timeline where they happen', (t) => {
  const page = lrStorm();
  const r = jsonScript<ComparisonResult>(page, 'result');
  const rows = tableRows(page, 'events-table');
  const raised = rows.find((x) => x[0] === 'maintenance interrupts raised')!;
  t.truthy(raised, 'a maintenance-interrupt row');
  const exits = rows.find((x) => x[0] === 'EL2 entries the maintenance interrupt caused (ICH_MISR_EL2 read on exit)')!;
  t.truthy(exits, 'a maintenance-exit row');
  const inj = r.paths.indexOf('injected');
  const n = num(raised[2 + inj]!);
  t.true(n > 0, `injected: ${n} maintenance interrupts raised`);
  // Every exit the hypervisor counted as a maintenance exit was one while the interrupt was raised.
  const counted = num(exits[2 + inj]!);
  t.true(counted > 0 && counted <= n, `${counted} maintenance exits of ${n} raised`);
  // The timeline data holds one mark per maintenance interrupt raised; the table counts those of the measurement.
  const d = jsonScript<TimelineData>(page, 'timeline-data');
  const api = timelineApi();
  const p = api.decodePath(d.paths[inj]!);
  const marks = p.lanes.flatMap((l) => Array.from(l.maint.s));
  t.is(marks.filter((x) => x >= 0).length, n);
  // The window first shown holds some, drawn above the injected path's lane.
  const svg = svgOf(page, '<svg class="timeline" data-path="injected"');
  const drawn = (svg.match(/class="mi"/g) ?? []).length;
  t.true(drawn > 0, `${drawn} maintenance marks in the first view`);
  const cpu = p.hz / 1e6;
  t.true(marks.some((x) => x >= d.view[0] * cpu && x < d.view[1] * cpu));
});

test('lock spin: counted in the table and drawn on the timeline of a scenario that contends (vmovp-global)', (t) => {
  const page = vmovp();
  const r = jsonScript<ComparisonResult>(page, 'result');
  const d = jsonScript<TimelineData>(page, 'timeline-data');
  const api = timelineApi();
  const waits = tableRows(page, 'events-table').find((x) => x[0] === 'lock waits (yellow on the timeline)')!;
  const dir = r.paths.indexOf('direct');
  const p = api.decodePath(d.paths[dir]!);
  const spins = p.lanes.flatMap((l) => Array.from(l.spin.s)).filter((x) => x >= 0);
  t.true(spins.length > 0, 'spins in the data');
  t.is(spins.length, num(waits[2 + dir]!), "one spin per 'lock-wait' of the measurement");
  t.true(r.results[dir]!.locks.vmovp.spinCycles > 0);
  const svg = svgOf(page, '<svg class="timeline" data-path="direct"');
  t.true((svg.match(/class="spin"/g) ?? []).length > 0, 'spins in the first view');
});

/** A random list of non-overlapping spans, as the script holds one. */
const listArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 4 })), { maxLength: 120 }).map((xs) => {
  const raw: number[] = [];
  let prev = 0;
  let t = 0;
  for (const [gap, dur, c] of xs) {
    t += gap;
    raw.push(t - prev, dur, c, raw.length / 4);
    prev = t;
    t += dur;
  }
  return raw;
});

const decodeOne = (raw: number[]): DecodedList => {
  const api = timelineApi();
  const empty: number[] = [];
  return api.decodePath({ path: 'x', hz: 1e6, cores: 1, res: false, marks: false, lanes: [{ run: raw, idle: empty, spin: empty, ack: empty, res: empty, maint: empty, bell: empty }] }).lanes[0]!.run;
};

test('zoom: visibleItems gives every item overlapping the window, clipped, whole when a pixel wide or more, merged per pixel column when narrower', (t) => {
  const api = timelineApi();
  const run = fc.check(
    fc.property(listArb, fc.integer({ min: -100, max: 20000 }), fc.integer({ min: 1, max: 20000 }), fc.integer({ min: 10, max: 1200 }), (raw, from, len, px) => {
      const l = decodeOne(raw);
      const to = from + len;
      const cpp = len / px;
      const items = api.visibleItems(l, from, to, cpp);
      const expect: number[] = [];
      for (let i = 0; i < l.n; i++) if (l.s[i]! < to && (l.e[i]! > from || l.s[i]! >= from)) expect.push(i);
      // Every overlapping item is drawn, once, whole or in a merged mark.
      if (items.reduce((a, x) => a + x.n, 0) !== expect.length) return false;
      const whole = items.filter((x) => x.k >= 0 && x.n === 1);
      for (const x of items) if (x.s < from || x.e > to || x.e < x.s) return false;
      for (const x of whole) {
        const i = x.k;
        if (!expect.includes(i) || x.s !== Math.max(l.s[i]!, from) || x.e !== Math.min(l.e[i]!, to) || x.c !== l.c[i]) return false;
      }
      // Items a pixel wide or more are never merged.
      for (const i of expect) if (Math.min(l.e[i]!, to) - Math.max(l.s[i]!, from) >= cpp && !whole.some((x) => x.k === i)) return false;
      // At most one merged mark per pixel column, in order.
      const merged = items.filter((x) => x.n > 1).map((x) => Math.floor((x.s - from) / cpp));
      return new Set(merged).size === merged.length && items.every((x, j) => j === 0 || items[j - 1]!.s <= x.s);
    }),
    { seed: 14, numRuns: 400 },
  );
  // Every generated case held (fc.check reports the shrunk counterexample otherwise).
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
  t.true(run.numRuns > 0, `${run.numRuns} cases`);
});

test('zoom: a window of lr-storm draws exactly its maintenance marks; the page as written is the first view drawn by the script', (t) => {
  const page = lrStorm();
  const d = jsonScript<TimelineData>(page, 'timeline-data');
  const api = timelineApi();
  const p = api.decodePath(d.paths[0]!);
  const cpu = p.hz / 1e6;
  const marks = Array.from(p.lanes[0]!.maint.s);
  const first = marks.find((x) => x >= 0)! / cpu;
  for (const [a, b] of [[first - 1, first + 3], [first + 0.5, first + 6], [d.range[0], d.range[1]]] as const) {
    const svg = api.renderPath(d, p, a, b);
    const inWindow = marks.filter((x) => x >= a * cpu && x < b * cpu).length;
    const drawn = [...svg.matchAll(/class="mi"><title>(?:(\d+) maintenance interrupts|maintenance interrupt):/g)].reduce((s, m) => s + (m[1] === undefined ? 1 : Number(m[1])), 0);
    t.is(drawn, inWindow, `${a}-${b} us`);
    const ticks = [...svg.matchAll(/class="tick" text-anchor="\w+">(-?[\d.]+) us</g)].map((m) => Number(m[1]));
    t.true(ticks.length >= 2 && ticks.every((x) => x >= a - 1e-9 && x <= b + 1e-9), 'ticks inside the window');
  }
  // What the page holds before any script runs is the script's drawing of the first view.
  const svg = svgOf(page, `<svg class="timeline" data-path="${p.path}"`);
  t.is(svg.slice(svg.indexOf('>') + 1), api.renderPath(d, p, d.view[0], d.view[1]));
});

test('zoom: windows stay inside the range and keep a minimum width; the address holds one', (t) => {
  const api = timelineApi();
  const d = { range: [-30, 2000], view: [170, 220] } as unknown as TimelineData;
  t.deepEqual(api.clampWindow(d, 100, 200), [100, 200]);
  t.deepEqual(api.clampWindow(d, 200, 100), [100, 200]);
  t.deepEqual(api.clampWindow(d, -100, 0), [-30, 70]);
  t.deepEqual(api.clampWindow(d, 1990, 2090), [1900, 2000]);
  t.deepEqual(api.clampWindow(d, -1e9, 1e9), [-30, 2000]);
  const w = api.clampWindow(d, 50, 50);
  t.true(w[1] - w[0] > 0);
  t.deepEqual(api.clampWindow(d, NaN, 5), [170, 220]);
  t.deepEqual(api.parseHash('#t=12.5,80'), [12.5, 80]);
  t.deepEqual(api.parseHash('#t=-30,1e-3'), [-30, 0.001]);
  t.is(api.parseHash('#timeline'), null);
});

test('the first view: from just before the first MSI past the 20th delivery, a round length', (t) => {
  const at = (n: number, from: number, step: number): number[] => Array.from({ length: n }, (_, i) => from + i * step);
  t.deepEqual(defaultWindowUs([0.2], [at(100, 1, 1)], 20000), [0, 50]);
  t.deepEqual(defaultWindowUs([175, 175], [at(16, 176, 0.5).concat(at(16, 210, 0.5)), at(16, 176, 0.4).concat(at(16, 209, 0.5))], 2000), [172.5, 222.5]);
  t.deepEqual(defaultWindowUs([], [[]], 300), [0, 200]);
});

test('a run too long to embed whole: the page holds its start from the devices on, within the budget', (t) => {
  const s = { ...scenarioNamed('lr-storm')!, durationUs: 500 };
  const handles: Partial<Record<RunPath, RunHandle>> = {};
  const results = pathsOf(s).map((path) => runScenario(s, { path, trace: true, onBuilt: (h) => (handles[path] = h) }));
  const input = reportInput(s, results, handles);
  const whole = timelineData(input.timelines, input.windowUs, s.durationUs);
  t.false(whole.cut);
  t.true(whole.range[0] < 0, 'the whole run: boot included');
  const budget = 60;
  const cut = timelineData(input.timelines, input.windowUs, s.durationUs, budget);
  t.true(cut.cut);
  t.is(cut.range[0], 0);
  t.true(cut.range[1] < whole.range[1]);
  const api = timelineApi();
  for (const p of cut.paths.map((x) => api.decodePath(x))) {
    const cpu = p.hz / 1e6;
    const lists = p.lanes.flatMap((l) => Object.values(l));
    t.true(lists.reduce((a, l) => a + l.n, 0) <= budget / 2 + 8, 'about half the budget per path');
    for (const l of lists) for (let i = 0; i < l.n; i++) t.true(l.e[i]! >= 0 && l.s[i]! <= cut.range[1] * cpu + 1e-6);
  }
  t.true(cut.view[0] >= cut.range[0] && cut.view[1] <= cut.range[1] + 1e-9 && cut.view[1] > cut.view[0]);
});
