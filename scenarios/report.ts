/**
 * `--report FILE`: one self-contained HTML file (inline CSS, SVG and a small script; no
 * network, nothing loaded): the comparison table and the maintenance interrupts and lock spin
 * behind it, the latency distribution with its tail (report-latency.ts), a timeline per core
 * that zooms to any window of the run (report-timeline.ts), and the scenario that produced it.
 * The machine-readable result (report-data.ts, the object `--json` prints, without the host
 * time) is embedded in `<script type="application/json" id="result">`, and the table is
 * rendered from it, so the report's figures are the run's figures.
 *
 * Reproducible: one scenario and seed give the same bytes. Nothing in the page depends on the
 * host (its clock, its speed); a date appears only when the caller passes one (`generated`).
 */
import type { TraceRecord } from '../core/trace.js';
import type {} from '../drivers/trace-kinds.js';
import type {} from '../gic/virtual-cpu-interface.js';
import { vmTables } from './comparison.js';
import { count, fixed } from './format.js';
import { comparisonResult, type ComparisonResult } from './report-data.js';
import { latencySection } from './report-latency.js';
import { GROUP_COLORS } from './report-palette.js';
import { timelineCss, timelineData, timelineMarkup, TIMELINE_JS, type TimelineData } from './report-timeline.js';
import { LOCK_CLASSES, type LockClass, type PathResult, type RunHandle } from './run.js';
import type { RunPath, Scenario } from './scenario.js';
import { buildTimeline, traceSource, type CoreTimeline } from './trace-export.js';

/** The timeline of one path: the window first shown, and the whole run. */
export interface ReportTimeline {
  readonly path: RunPath;
  readonly timeline: CoreTimeline;
  readonly cores: number;
  readonly clockHz: number;
  /** Cycle the devices started (the timeline's time 0), and the run ended. */
  readonly from: number;
  readonly end: number;
}

/** Maintenance interrupts and lock waits of one path over the measurement, from its trace. */
export interface TraceEvents {
  /** Times a core's maintenance interrupt was raised (ICH_MISR_EL2 became non-zero). */
  readonly maintenanceRaised: number;
  /** Exceptions from EL1 to EL2 taken while that core's maintenance interrupt was raised. */
  readonly maintenanceExits: number;
  /** 'lock-wait' records: the spins the timeline draws. */
  readonly lockWaits: number;
  /** Cycles of the measurement (the devices' start to the end of the drain). */
  readonly cycles: number;
}

export interface ReportInput {
  readonly result: ComparisonResult;
  /** Latency of every delivered interrupt, per path, in microseconds. */
  readonly latenciesUs: Readonly<Partial<Record<RunPath, Float64Array>>>;
  readonly timelines: readonly ReportTimeline[];
  /** The timeline's window first shown, microseconds from the devices' start. */
  readonly windowUs: readonly [number, number];
  /** Per path, in `result.paths` order. */
  readonly events: readonly TraceEvents[];
  /** A date for the footer, or omitted (the default: the report is then the same for the same seed). */
  readonly generated?: string;
}

/** Lengths the window first shown may have, in microseconds. */
export const TIMELINE_WINDOWS_US = [5, 10, 20, 50, 100, 200, 500, 1000, 2000] as const;

/** Deliveries the window first shown holds (of the path with the most). */
export const FIRST_DELIVERIES = 20;

/**
 * The window first shown, in microseconds from the devices' start: from just before the first
 * MSI to past the FIRST_DELIVERIES-th delivery (of the path that gets there last), its length
 * the shortest of TIMELINE_WINDOWS_US that holds them (at most the run; the page zooms to any
 * other). `firstMsiUs`: per path; `deliveriesUs`: per path, ascending.
 */
export function defaultWindowUs(firstMsiUs: readonly number[], deliveriesUs: readonly (readonly number[])[], durationUs: number): [number, number] {
  const start = Math.max(0, Math.min(...firstMsiUs.filter(Number.isFinite)));
  const ends = deliveriesUs.filter((d) => d.length > 0).map((d) => d[Math.min(d.length, FIRST_DELIVERIES) - 1]!);
  if (!Number.isFinite(start) || ends.length === 0) return [0, Math.min(200, durationUs)];
  const want = (Math.max(...ends) - start) * 1.1;
  const len = TIMELINE_WINDOWS_US.find((w) => w >= want) ?? TIMELINE_WINDOWS_US[TIMELINE_WINDOWS_US.length - 1]!;
  // Room before the first MSI: a twentieth of the window, rounded to a tick-friendly value.
  const lead = len / 20;
  const from = Math.max(0, Math.floor((start - lead) / lead) * lead);
  return [from, from + len];
}

/** Counts maintenance interrupts raised, the EL2 entries they caused, and lock waits, from cycle `from` on. */
export function traceEvents(records: readonly TraceRecord[], cores: number, from: number, end: number): TraceEvents {
  const raised: boolean[] = new Array(cores).fill(false);
  let maintenanceRaised = 0;
  let maintenanceExits = 0;
  let lockWaits = 0;
  for (const r of records) {
    const c = r.core;
    if (r.kind === 'ich-maintenance') {
      if (r.level && !raised[c] && r.t >= from) maintenanceRaised++;
      raised[c] = r.level;
    } else if (r.kind === 'exception') {
      if (r.type === 'irq' && r.target === 2 && r.from < 2 && raised[c] === true && r.t >= from) maintenanceExits++;
    } else if (r.kind === 'lock-wait' && r.t >= from) lockWaits++;
  }
  return { maintenanceRaised, maintenanceExits, lockWaits, cycles: end - from };
}

/** Gathers a report's input from finished runs (they must have been traced). */
export function reportInput(s: Scenario, results: readonly PathResult[], handles: Readonly<Partial<Record<RunPath, RunHandle>>>, generated?: string): ReportInput {
  const latenciesUs: Partial<Record<RunPath, Float64Array>> = {};
  const timelines: ReportTimeline[] = [];
  const events: TraceEvents[] = [];
  const firstMsiUs: number[] = [];
  const deliveriesUs: number[][] = [];
  for (const r of results) {
    const h = handles[r.path];
    if (h === undefined) throw new Error(`report: no run handle for the ${r.path} path`);
    const m = h.platform.m;
    // The trace source holds the run's matching (latency.ts): the charts read its latencies.
    const src = traceSource(h, s, r.path);
    latenciesUs[r.path] = src.lat.latencies.map((c) => m.cyclesToUs(c));
    const from = h.measureFrom;
    timelines.push({ path: r.path, timeline: buildTimeline(src), cores: m.cores, clockHz: m.clockHz, from, end: m.now });
    events.push(traceEvents(src.records, m.cores, from, m.now));
    firstMsiUs.push(src.msis.reduce((a, x) => Math.min(a, m.cyclesToUs(x.time - from)), Infinity));
    deliveriesUs.push(src.deliveries.map((d) => m.cyclesToUs(d.time - from)).sort((a, b) => a - b));
  }
  const windowUs = defaultWindowUs(firstMsiUs, deliveriesUs, s.durationUs);
  return { result: comparisonResult(s, results), latenciesUs, timelines, windowUs, events, ...(generated !== undefined ? { generated } : {}) };
}

// ---------------------------------------------------------------------------------------------

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f2 = (x: number): string => (Math.round(x * 100) / 100).toString();

/** JSON safe inside a <script> element (no `</script>`, no `<!--`). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function table(r: ComparisonResult): string {
  const head = `<tr><th>figure</th><th>unit</th>${r.paths.map((p) => `<th class="num">${esc(p)}</th>`).join('')}</tr>`;
  const rows = r.table.map((row) => `<tr><td>${esc(row.label)}</td><td>${esc(row.unit)}</td>${row.values.map((v) => `<td class="num">${esc(v)}</td>`).join('')}</tr>`);
  return `<table id="comparison-table"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

const LOCK_NAMES: Record<LockClass, string> = { its: 'ITS', vmovp: 'VMOVP', vpe: 'vPE' };

/** The rows of the maintenance and lock table: label, unit, one value per path. */
export function eventRows(r: ComparisonResult, events: readonly TraceEvents[]): { label: string; unit: string; values: string[] }[] {
  const row = (label: string, unit: string, get: (x: ComparisonResult['results'][number], e: TraceEvents) => string): { label: string; unit: string; values: string[] } => ({
    label,
    unit,
    values: r.results.map((x, i) => get(x, events[i]!)),
  });
  const spin = (x: ComparisonResult['results'][number]): number => LOCK_CLASSES.reduce((a, c) => a + x.locks[c].spinCycles, 0);
  const cores = r.scenario.cores;
  return [
    row('maintenance interrupts raised', '', (_, e) => count(e.maintenanceRaised)),
    row('maintenance interrupts per interrupt delivered', '', (x, e) => fixed(e.maintenanceRaised / Math.max(1, x.delivered), 2)),
    row('EL2 entries while one was raised', '', (_, e) => count(e.maintenanceExits)),
    row('EL2 entries the maintenance interrupt caused (ICH_MISR_EL2 read on exit)', '', (x) => count(x.maintenance)),
    row('lock waits (yellow on the timeline)', '', (_, e) => count(e.lockWaits)),
    row(`lock spin: ${LOCK_CLASSES.map((c) => LOCK_NAMES[c]).join(' / ')}`, 'cycles', (x) => LOCK_CLASSES.map((c) => count(x.locks[c].spinCycles)).join(' / ')),
    row('lock spin, share of all cores\u2019 time', '%', (x, e) => fixed((100 * spin(x)) / Math.max(1, cores * e.cycles), 3)),
  ];
}

function vmTablesHtml(r: ComparisonResult): string {
  return vmTables(r.results, { vcpus: true })
    .map((t, k) => {
      const head = `<tr>${t.head.map((h, c) => `<th${t.text[c] === true ? '' : ' class="num"'}>${esc(h)}</th>`).join('')}</tr>`;
      const rows = t.rows.map((row) => `<tr>${row.map((v, c) => `<td${t.text[c] === true ? '' : ' class="num"'}>${esc(v)}</td>`).join('')}</tr>`);
      return `<h3>${esc(t.title)}</h3>\n<div class="scroll"><table id="vm-table-${k}"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
    })
    .join('\n');
}

function eventTable(r: ComparisonResult, events: readonly TraceEvents[]): string {
  const head = `<tr><th>figure</th><th>unit</th>${r.paths.map((p) => `<th class="num">${esc(p)}</th>`).join('')}</tr>`;
  const rows = eventRows(r, events).map((row) => `<tr><td>${esc(row.label)}</td><td>${esc(row.unit)}</td>${row.values.map((v) => `<td class="num">${esc(v)}</td>`).join('')}</tr>`);
  return `<table id="events-table"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** A legend entry: a small SVG drawn with the timeline's own classes, and its words. */
const key = (shape: string, text: string, attrs = ''): string => `<span${attrs}><svg width="16" height="12" viewBox="0 0 16 12" aria-hidden="true">${shape}</svg>${text}</span>`;

function legend(d: TimelineData): string {
  return [
    key('<rect x="0" y="1" width="16" height="10" class="el2"/>', 'EL2 (the hypervisor)'),
    key('<rect x="0" y="1" width="16" height="10" class="idle" stroke="#d1d5db"/>', 'EL2 idle (WFI)'),
    key(`<rect x="0" y="1" width="16" height="10" class="g0"/><rect x="0" y="1" width="16" height="10" class="gwfi"/>`, 'guest in WFI (not trapped; paler)'),
    key('<rect x="0" y="1" width="16" height="10" class="el2"/><rect x="0" y="2" width="16" height="8" class="spin"/>', 'lock spin'),
    key('<rect x="0" y="1" width="16" height="10" class="g0"/><rect x="7" y="1" width="2" height="4" class="ack"/>', 'guest acknowledges an interrupt'),
    key('<path d="M4.5 2h7l-3.5 6.5z" class="mi"/>', 'maintenance interrupt raised'),
    key('<circle cx="8" cy="6" r="3" class="db"/>', 'doorbell taken'),
    key('<rect x="0" y="3" width="16" height="6" class="g0 res"/>', 'vPE resident (direct)'),
    key('<rect x="0" y="3" width="16" height="6" class="vpt"/>', 'VPT parse / flush (Dirty = 1)'),
  ].join('');
}

/** The legend of the vCPU colours (at most MAX_SERIES_COLORS, "other" included). */
function seriesLegend(d: TimelineData): string {
  return [
    `<span class="lead">vCPUs at EL1${d.groups.length > GROUP_COLORS.length ? ` (the ${GROUP_COLORS.length} that ran longest have their own colour)` : ''}:</span>`,
    ...d.groups.map((g, i) => key(`<rect x="0" y="1" width="16" height="10" class="g${i}"/>`, esc(g.label), ` data-series="${i}" title="${esc(g.units.join(', '))}"`)),
  ].join('');
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta { color: #4b5563; margin: 2px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; font-size: 13px; line-height: 1.3; }
th, td { padding: 1px 10px; border-bottom: 1px solid #f3f4f6; text-align: left; }
th { background: #f9fafb; } td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:hover { background: #f9fafb; }
pre { background: #f9fafb; padding: 10px; overflow-x: auto; font-size: 12px; border: 1px solid #e5e7eb; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; }
svg .axis { font-size: 12px; } svg .lane { font-size: 12px; fill: #111827; } svg .in { font-size: 10.5px; }
svg .tick.strong, svg .mark-label { font-weight: 600; fill: #111827; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .grid.minor { stroke-dasharray: 2 3; } svg .grid.strong { stroke: #9ca3af; }
svg .lane-bg { fill: #f4f4f4; stroke: #e5e7eb; }
.charts, .row { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: flex-start; }
.charts { gap: 8px; } .side-note { max-width: 200px; } .side { flex: 1 1 360px; max-width: 640px; }
.side h3 { margin-top: 0; }
.legend-row { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 10px; font-size: 12px; }
.legend-row svg { vertical-align: -2px; margin-right: 4px; } .legend-row .lead { font-weight: 600; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 8px 0 4px; font-size: 13px; }
.controls[hidden] { display: none; }
.controls input { width: 7em; font: inherit; text-align: right; }
.controls button { font: inherit; padding: 1px 8px; }
svg.timeline, svg.overview { cursor: crosshair; touch-action: pan-y; user-select: none; -webkit-user-select: none; }
#tl-brush { position: fixed; background: rgba(0, 114, 178, 0.15); border: 1px solid #0072B2; pointer-events: none; }
footer { color: #6b7280; margin-top: 28px; font-size: 12px; }
`;

/** The report as one HTML document. */
export function renderReport(input: ReportInput): string {
  const r = input.result;
  const s = r.scenario;
  const d = timelineData(input.timelines, input.windowUs, s.durationUs);
  const tm = timelineMarkup(d);
  const shown = `${f2(d.view[0])}-${f2(d.view[1])} us`;
  const timelines = tm.paths.map((p) => `<h3>${esc(p.path)} path</h3>\n${p.svg}`).join('\n');
  const range = `${f2(d.range[0])} us to ${f2(d.range[1])} us`;
  const wfi = s.wfi === 'trap' ? 'WFI trapped (TWI = 1)' : 'WFI native (TWI = 0)';
  // Host time is the one figure that differs between two runs of one seed: not in the page.
  const { host: _host, ...reproducible } = r;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>minivisor report: ${esc(s.name)}</title>
<style>${CSS}
${timelineCss(d.groups)}
</style>
</head>
<body>
<header>
<h1>minivisor: ${esc(s.name)}</h1>
<p class="meta">${esc(s.summary)}</p>
<p class="meta">seed ${s.seed}; devices running ${s.durationUs} us from the moment each guest said it was ready, then drained; ${s.cores} cores at ${s.clockMHz} MHz; GICv${s.gicVersion}, ${s.listRegs} list registers; policy ${esc(s.policy)}, ${s.sliceUs} us slices; ${wfi}; cost profile ${esc(s.costProfile)}</p>
</header>
<section id="comparison">
<h2>Comparison</h2>
<div class="row">
<div>${table(r)}</div>
<div class="side">
<h3>Maintenance interrupts and lock spin</h3>
<p class="meta">Over the same measurement, from the trace. A maintenance interrupt is raised when ICH_MISR_EL2 becomes non-zero (say, no list register holds a pending interrupt while more wait: the hypervisor must refill them); the exit it causes may clear the condition before the hypervisor acknowledges PPI 25. Lock spin is time a core waited for one of the hypervisor's locks.</p>
${eventTable(r, input.events)}
</div>
</div>
</section>
<section id="per-vm">
<h2>Per VM</h2>
<p class="meta">Every VM on every run, and each of its vCPUs: what it received (its EL2 figures per interrupt delivered to it) and what it cost the hypervisor. A mixed run puts each VM on its own path; the last rows hold the EL2 entries and cycles that belong to no vCPU (idle, picking, host interrupts at EL2), so each column sums to the run's figure.</p>
${vmTablesHtml(r)}
</section>
<section id="latency">
<h2>Latency</h2>
<p class="meta">Each delivered interrupt, from the device's MSI write to the guest's acknowledge. Left: the whole distribution; right: its tail, with the fraction axis stretched so that p90, p99, p99.9 are equally spaced.</p>
${latencySection(input.latenciesUs, r.paths)}
</section>
<section id="timeline">
<h2>Timeline per core</h2>
<p class="meta">Each core: who runs there (a vCPU at EL1, or the hypervisor at EL2), marks above for maintenance interrupts and doorbells, and under it (direct injection) the vPE resident on its redistributor. Shown first: ${shown} from the devices' start (time 0), the first ${FIRST_DELIVERIES} deliveries; the page holds ${d.cut ? 'the start of the run' : 'the whole run'}, ${range}${d.cut ? ' (too long to hold whole: the rest is in <code>--trace</code>)' : ''}. Drag across a timeline or the overview (shaded where the hypervisor is busy; grey bar: the devices sending) to zoom there; ctrl + wheel zooms, shift + wheel pans; the address keeps the window (<code>#t=FROM,TO</code> in us). Hover for names and times.</p>
<form id="tl-controls" class="controls" hidden>
<label>window <input id="tl-from" type="text" inputmode="decimal" aria-label="from (us)"> to <input id="tl-to" type="text" inputmode="decimal" aria-label="to (us)"> us</label>
<button type="submit">show</button>
<button type="button" data-act="in">zoom in</button>
<button type="button" data-act="out">zoom out</button>
<button type="button" data-act="left">&larr; earlier</button>
<button type="button" data-act="right">later &rarr;</button>
<button type="button" data-act="default">first view</button>
<button type="button" data-act="all">whole ${d.cut ? 'range' : 'run'}</button>
</form>
${tm.overview}
<div class="legend-row">${legend(d)}</div>
<div class="legend-row" id="series-legend">${seriesLegend(d)}</div>
${timelines}
<div id="tl-brush" hidden></div>
</section>
<section id="scenario">
<h2>Scenario</h2>
<pre id="scenario-json">${esc(JSON.stringify(s, null, 2))}</pre>
</section>
<footer>minivisor${input.generated !== undefined ? `, generated ${esc(input.generated)}` : ''}. Rerun with <code>npm start -- --scenario ${esc(s.name)} --seed ${s.seed} --duration ${s.durationUs}us --policy ${esc(s.policy)} --report FILE</code>.</footer>
<script type="application/json" id="result">${scriptJson(reproducible)}</script>
<script type="application/json" id="timeline-data">${scriptJson(d)}</script>
<script>
${TIMELINE_JS}</script>
</body>
</html>
`;
}
