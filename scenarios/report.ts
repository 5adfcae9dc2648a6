/**
 * `--report FILE`: one self-contained HTML file (inline CSS and SVG, no script that runs, no
 * network): the comparison table, a latency CDF per path, a timeline per core of who runs at
 * which EL and of vPE residency, and the scenario that produced it. The machine-readable result
 * (report-data.ts, the same object `--json` prints) is embedded in
 * `<script type="application/json" id="result">`, and the table is rendered from it, so the
 * report's figures are the run's figures.
 */
import type { PathResult, RunHandle } from './run.js';
import { comparisonResult, type ComparisonResult } from './report-data.js';
import type { DeliveryPath, Scenario } from './scenario.js';
import { buildTimeline, traceSource, type CoreTimeline, type Slice } from './trace-export.js';

/** The timeline of one path over a window of simulated time. */
export interface ReportTimeline {
  readonly path: DeliveryPath;
  readonly timeline: CoreTimeline;
  readonly cores: number;
  readonly clockHz: number;
  /** Window shown, in cycles. */
  readonly from: number;
  readonly to: number;
}

export interface ReportInput {
  readonly result: ComparisonResult;
  /** Latency of every delivered interrupt, per path, in microseconds. */
  readonly latenciesUs: Readonly<Partial<Record<DeliveryPath, Float64Array>>>;
  readonly timelines: readonly ReportTimeline[];
  /** A timestamp for the footer (the CLI passes the wall-clock time), or omitted. */
  readonly generated?: string;
}

/**
 * Length of the timeline window, from the start of the measurement (the devices' start): the
 * shortest of these that holds about 20 deliveries at the run's mean rate (at most the run).
 */
export const TIMELINE_WINDOWS_US = [50, 100, 200, 500, 1000, 2000] as const;

export function timelineWindowUs(s: Scenario, results: readonly PathResult[]): number {
  const perUs = Math.max(...results.map((r) => r.delivered)) / s.durationUs;
  const want = perUs > 0 ? 20 / perUs : Infinity;
  const w = TIMELINE_WINDOWS_US.find((x) => x >= want) ?? 2000;
  return Math.min(w, s.durationUs);
}

/** Gathers a report's input from finished runs (they must have been traced). */
export function reportInput(s: Scenario, results: readonly PathResult[], handles: Readonly<Partial<Record<DeliveryPath, RunHandle>>>, generated?: string): ReportInput {
  const latenciesUs: Partial<Record<DeliveryPath, Float64Array>> = {};
  const timelines: ReportTimeline[] = [];
  const windowUs = timelineWindowUs(s, results);
  for (const r of results) {
    const h = handles[r.path];
    if (h === undefined) throw new Error(`report: no run handle for the ${r.path} path`);
    const m = h.platform.m;
    // The trace source holds the run's matching (latency.ts): the CDF reads its latencies.
    const src = traceSource(h, s, r.path);
    latenciesUs[r.path] = src.lat.latencies.map((c) => m.cyclesToUs(c));
    const from = h.measureFrom;
    timelines.push({ path: r.path, timeline: buildTimeline(src), cores: m.cores, clockHz: m.clockHz, from, to: from + m.usToCycles(windowUs) });
  }
  return { result: comparisonResult(s, results), latenciesUs, timelines, ...(generated !== undefined ? { generated } : {}) };
}

// ---------------------------------------------------------------------------------------------

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f2 = (x: number): string => (Math.round(x * 100) / 100).toString();

/** JSON safe inside a <script> element (no `</script>`, no `<!--`). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const PATH_COLOR: Record<DeliveryPath, string> = { injected: '#c2410c', direct: '#1d4ed8' };
const VCPU_COLORS = ['#2563eb', '#16a34a', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4f46e5', '#059669', '#7c3aed', '#0d9488', '#65a30d', '#e11d48'];
const EL2_COLOR = '#991b1b';

function table(r: ComparisonResult): string {
  const head = `<tr><th>figure</th><th>unit</th>${r.paths.map((p) => `<th class="num">${esc(p)}</th>`).join('')}</tr>`;
  const rows = r.table.map((row) => `<tr><td>${esc(row.label)}</td><td>${esc(row.unit)}</td>${row.values.map((v) => `<td class="num">${esc(v)}</td>`).join('')}</tr>`);
  return `<table id="comparison-table"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** Latency CDF, log-scaled x axis (microseconds), one step line per path. */
function cdf(latencies: Readonly<Partial<Record<DeliveryPath, Float64Array>>>, paths: readonly DeliveryPath[]): string {
  const W = 720;
  const H = 300;
  const L = 56;
  const B = 40;
  const T = 12;
  const R = 16;
  const all = paths.flatMap((p) => Array.from(latencies[p] ?? []).filter((x) => x > 0));
  if (all.length === 0) return '<p>No interrupt was delivered: no latency to plot.</p>';
  const lo = Math.floor(Math.log10(Math.min(...all)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all))));
  const x = (us: number): number => L + ((Math.log10(Math.max(us, 10 ** lo)) - lo) / (hi - lo)) * (W - L - R);
  const y = (p: number): number => T + (1 - p) * (H - T - B);
  const parts: string[] = [];
  for (let d = lo; d <= hi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (d === hi && m > 1) continue;
      const xv = x(v);
      parts.push(`<line x1="${f2(xv)}" y1="${T}" x2="${f2(xv)}" y2="${H - B}" class="${m === 1 ? 'grid' : 'grid minor'}"/>`);
      parts.push(`<text x="${f2(xv)}" y="${H - B + 16}" class="tick" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
    }
  }
  for (const p of [0, 0.5, 0.9, 0.99, 1]) {
    parts.push(`<line x1="${L}" y1="${f2(y(p))}" x2="${W - R}" y2="${f2(y(p))}" class="grid"/>`);
    if (p !== 1) parts.push(`<text x="${L - 6}" y="${f2(y(p) + 4)}" class="tick" text-anchor="end">${p}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="axis">latency from MSI to guest handler (us, log scale)</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${(T + H - B) / 2})">fraction of interrupts</text>`);
  paths.forEach((p, k) => {
    const s = Float64Array.from(latencies[p] ?? []).sort();
    if (s.length === 0) return;
    // At most ~1500 steps: every point for small samples, evenly spaced ranks otherwise.
    const stride = Math.max(1, Math.floor(s.length / 1500));
    const pts: string[] = [`${f2(x(s[0]!))},${f2(y(0))}`];
    for (let i = 0; i < s.length; i += stride) {
      const xi = f2(x(s[i]!));
      pts.push(`${xi},${f2(y(i / s.length))}`, `${xi},${f2(y((i + 1) / s.length))}`);
    }
    pts.push(`${f2(x(s[s.length - 1]!))},${f2(y(1))}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${PATH_COLOR[p]}" stroke-width="2"><title>${esc(p)}: ${s.length} interrupts</title></polyline>`);
    parts.push(`<rect x="${W - R - 150}" y="${T + 10 + 18 * k}" width="14" height="4" fill="${PATH_COLOR[p]}"/><text x="${W - R - 130}" y="${T + 16 + 18 * k}" class="legend">${esc(p)} (${s.length})</text>`);
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="latency CDF">${parts.join('')}</svg>`;
}

/** Who runs where over the window: per core a lane of vCPUs at EL1 and EL2, and a residency lane. */
function timelineSvg(tl: ReportTimeline, vcpuColor: (name: string) => string): string {
  const LABEL = 70;
  const W = 960;
  const ROW = 18;
  const RES = 8;
  const GAP = 10;
  const TOP = 8;
  const span = tl.to - tl.from;
  const us = (c: number): string => ((c / tl.clockHz) * 1e6).toFixed(3);
  const x = (t: number): number => LABEL + ((Math.min(Math.max(t, tl.from), tl.to) - tl.from) / span) * (W - LABEL);
  const parts: string[] = [];
  const rect = (s: Slice, y: number, h: number, fill: string, extra = ''): void => {
    if (s.end <= tl.from || s.start >= tl.to) return;
    const x0 = x(s.start);
    const w = Math.max(0.4, x(s.end) - x0);
    parts.push(`<rect x="${f2(x0)}" y="${y}" width="${f2(w)}" height="${h}" fill="${fill}"${extra}><title>${esc(s.name)}: ${us(s.start - tl.from)}-${us(s.end - tl.from)} us</title></rect>`);
  };
  const hasResidency = tl.timeline.residency.some((r) => r.length > 0);
  const laneH = ROW + (hasResidency ? RES + 2 : 0) + GAP;
  for (let c = 0; c < tl.cores; c++) {
    const y0 = TOP + c * laneH;
    parts.push(`<text x="0" y="${y0 + 13}" class="lane">core ${c}</text>`);
    parts.push(`<rect x="${LABEL}" y="${y0}" width="${W - LABEL}" height="${ROW}" class="lane-bg"/>`);
    // Outer slices first, so what runs inside them (idle, an acknowledge) is drawn on top.
    const lane = [...(tl.timeline.cores[c] ?? [])].sort((a, b) => a.depth - b.depth || a.start - b.start);
    for (const s of lane) {
      if (s.depth === 0) {
        if (s.args.kind === 'el2') rect(s, y0, ROW, EL2_COLOR);
        else {
          const name = s.name.replace(/ @EL\d$/, '');
          rect(s, y0, ROW, vcpuColor(name));
        }
      } else if (s.tag === 'wfi') rect(s, y0 + 2, ROW - 4, s.name === 'idle (WFI)' ? '#e5e7eb' : '#ffffff', s.name === 'idle (WFI)' ? '' : ' fill-opacity="0.6"');
      else if (s.tag === 'vack') rect(s, y0, 4, '#111827');
    }
    if (hasResidency) {
      const yr = y0 + ROW + 2;
      parts.push(`<rect x="${LABEL}" y="${yr}" width="${W - LABEL}" height="${RES}" class="lane-bg"/>`);
      for (const s of [...(tl.timeline.residency[c] ?? [])].sort((a, b) => a.depth - b.depth || a.start - b.start)) {
        if (s.tag === 'resident') rect(s, yr, RES, vcpuColor(s.name.replace(/^resident /, '')), ' fill-opacity="0.55"');
        else rect(s, yr, RES, '#374151');
      }
    }
  }
  const h = TOP + tl.cores * laneH + 22;
  const ticks = 8;
  for (let i = 0; i <= ticks; i++) {
    const t = tl.from + (span * i) / ticks;
    parts.push(`<line x1="${f2(x(t))}" y1="${TOP}" x2="${f2(x(t))}" y2="${h - 20}" class="grid"/>`);
    parts.push(`<text x="${f2(x(t))}" y="${h - 6}" class="tick" text-anchor="${i === 0 ? 'start' : i === ticks ? 'end' : 'middle'}">${us(t - tl.from).replace(/\.?0+$/, '')} us</text>`);
  }
  return `<svg class="timeline" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(tl.path)} timeline">${parts.join('')}</svg>`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta { color: #4b5563; margin: 2px 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 10px; border-bottom: 1px solid #f3f4f6; text-align: left; }
th { background: #f9fafb; } td.num, th.num { text-align: right; }
tbody tr:hover { background: #f9fafb; }
pre { background: #f9fafb; padding: 10px; overflow-x: auto; font-size: 12px; border: 1px solid #e5e7eb; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; }
svg .axis { font-size: 12px; } svg .lane { font-size: 12px; fill: #111827; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .grid.minor { stroke-dasharray: 2 3; }
svg .lane-bg { fill: #fafafa; stroke: #e5e7eb; }
.legend-row { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 10px; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; border: 1px solid #d1d5db; }
footer { color: #6b7280; margin-top: 28px; font-size: 12px; }
`;

/** The report as one HTML document. */
export function renderReport(input: ReportInput): string {
  const r = input.result;
  const s = r.scenario;
  const names = new Set<string>();
  for (const tl of input.timelines)
    for (const lane of tl.timeline.cores) for (const x of lane) if (x.depth === 0 && x.args.kind === 'guest' && typeof x.args.vm === 'number') names.add(x.name.replace(/ @EL\d$/, ''));
  const order = [...names].sort();
  const vcpuColor = (name: string): string => VCPU_COLORS[Math.max(0, order.indexOf(name)) % VCPU_COLORS.length]!;
  const legend = [
    `<span><span class="swatch" style="background:${EL2_COLOR}"></span>EL2 (hypervisor)</span>`,
    `<span><span class="swatch" style="background:#e5e7eb"></span>EL2 idle (WFI)</span>`,
    `<span><span class="swatch" style="background:#ffffff"></span>guest in WFI (not trapped)</span>`,
    `<span><span class="swatch" style="background:#111827"></span>guest acknowledges an interrupt</span>`,
    `<span><span class="swatch" style="background:#374151"></span>VPT parse / flush (Dirty = 1)</span>`,
    ...order.map((n) => `<span><span class="swatch" style="background:${vcpuColor(n)}"></span>${esc(n)} at EL1</span>`),
  ].join('');
  const windowUs = input.timelines[0] === undefined ? 0 : ((input.timelines[0].to - input.timelines[0].from) / input.timelines[0].clockHz) * 1e6;
  const timelines = input.timelines
    .map((tl) => `<h3>${esc(tl.path)} path</h3>${timelineSvg(tl, vcpuColor)}`)
    .join('\n');
  const wfi = s.wfi === 'trap' ? 'WFI trapped (TWI = 1)' : 'WFI native (TWI = 0)';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>minivisor report: ${esc(s.name)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>minivisor: ${esc(s.name)}</h1>
<p class="meta">${esc(s.summary)}</p>
<p class="meta">seed ${s.seed}; devices running ${s.durationUs} us from the moment each guest said it was ready, then drained; ${s.cores} cores at ${s.clockMHz} MHz; GICv${s.gicVersion}, ${s.listRegs} list registers; policy ${esc(s.policy)}, ${s.sliceUs} us slices; ${wfi}; cost profile ${esc(s.costProfile)}</p>
</header>
<section id="comparison">
<h2>Comparison</h2>
${table(r)}
</section>
<section id="latency">
<h2>Latency CDF</h2>
${cdf(input.latenciesUs, r.paths)}
</section>
<section id="timeline">
<h2>Timeline per core</h2>
<p class="meta">The first ${f2(windowUs)} us after the devices start. Each core: what runs there (a vCPU at EL1, or the hypervisor at EL2) and, below it for direct injection, which vPE is resident on its redistributor. Hover for names and times; the whole run is in <code>--trace</code>.</p>
<div class="legend-row">${legend}</div>
${timelines}
</section>
<section id="scenario">
<h2>Scenario</h2>
<pre id="scenario-json">${esc(JSON.stringify(s, null, 2))}</pre>
</section>
<footer>minivisor${input.generated !== undefined ? `, generated ${esc(input.generated)}` : ''}. Rerun with <code>npm start -- --scenario ${esc(s.name)} --seed ${s.seed} --duration ${s.durationUs}us --policy ${esc(s.policy)}</code>.</footer>
<script type="application/json" id="result">${scriptJson(r)}</script>
</body>
</html>
`;
}
