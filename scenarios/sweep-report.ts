/**
 * `--report FILE` with a sweep (`--sweep`, `--grid`) or a merge: one self-contained HTML file
 * (inline CSS and SVG, no script that runs, no network) with one plot per swept dimension.
 *
 * The dimensions are the grid's keys, in the order given, plus `rate` when the sweep has several
 * rate factors and the grid no `rate` key (a plain --sweep: rate is its one dimension). Each plot
 * has four panels, the main figures against the swept value: interrupts delivered, EL2 entries
 * per interrupt, latency p50 and p99 (us); one line per policy and path (colour: policy, or path
 * when the dimension is policy; dashes: the injected path). The other dimensions are summarised:
 * a point is the mean over the runs that share the swept value, policy and path, and a bar spans
 * their minimum and maximum (with no other dimension, one run per point and no bar). A numeric
 * dimension gets a numeric axis (logarithmic when its values are all positive and span a factor
 * of 10 or more), any other a category axis in the order given.
 *
 * Then a table of every run (the columns that say which run, the four figures, violations) and
 * the records and meta as JSON in `<script type="application/json" id="sweep">`. The page is a
 * function of its input alone (no clock, no host): one sweep gives one file, byte for byte,
 * whether it ran on one machine or was merged from shards.
 */
import type { JsonValue, SweepMeta, SweepRecord } from './sweep.js';

export interface SweepReportInput {
  readonly meta: SweepMeta;
  readonly signature: string;
  readonly commit: string;
  /** Every run's record, in row order. */
  readonly records: readonly SweepRecord[];
}

/** A panel: a figure of the records. */
const FIGURES: readonly { readonly column: string; readonly title: string }[] = [
  { column: 'delivered', title: 'interrupts delivered' },
  { column: 'el2EntriesPerIrq', title: 'EL2 entries per interrupt' },
  { column: 'latencyP50Us', title: 'latency p50 (us)' },
  { column: 'latencyP99Us', title: 'latency p99 (us)' },
];

/** Okabe-Ito, yellow left out (unreadable on white); beyond eight lines, grey. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#882255'];
const OTHER = '#9a9a9a';

/** A dimension of the report: a column of the records and its values in order. */
export interface ReportDim {
  readonly key: string;
  readonly values: readonly JsonValue[];
}

/** The dimensions plotted: the grid's keys, and rate when several rates were swept outside the grid. */
export function reportDims(meta: SweepMeta): ReportDim[] {
  const dims: ReportDim[] = meta.grid.map((g) => ({ key: g.key, values: g.values }));
  if (!meta.grid.some((g) => g.key === 'rate') && meta.rates.length > 1) dims.push({ key: 'rate', values: [...meta.rates].sort((a, b) => a - b) });
  return dims;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number for a label: at most 4 significant digits, no exponent below 1e9. */
function num(x: number): string {
  if (x === 0) return '0';
  const r = Number(x.toPrecision(4));
  return Math.abs(r) >= 1e9 || Math.abs(r) < 1e-4 ? r.toExponential(2) : String(r);
}

/** Coordinates: 1 decimal. */
const c = (x: number): string => String(Math.round(x * 10) / 10);

function text(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return num(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const same = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The "nice" upper end of an axis from 0 holding `max`, and its tick step. */
function niceAxis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

interface Series {
  readonly label: string;
  readonly colour: string;
  readonly dashed: boolean;
  readonly match: (r: SweepRecord) => boolean;
}

/** The lines of a plot over dimension `key`: one per policy and path present (the dimension itself excepted). */
function seriesOf(meta: SweepMeta, key: string): Series[] {
  const policies = key === 'policy' ? [undefined] : meta.policies;
  const paths = key === 'path' ? [undefined] : meta.paths;
  const out: Series[] = [];
  policies.forEach((policy, pi) =>
    paths.forEach((path, qi) => {
      const k = key === 'policy' ? qi : pi;
      out.push({
        label: [policy, path].filter((x) => x !== undefined).join(' / ') || 'all runs',
        colour: PALETTE[k] ?? OTHER,
        dashed: path === 'injected',
        match: (r) => (policy === undefined || r['policy'] === policy) && (path === undefined || r['path'] === path),
      });
    }),
  );
  return out;
}

interface Point {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

const W = 330;
const H = 220;
const M = { l: 54, r: 14, t: 26, b: 44 };

/** The x positions of a dimension's values in a panel of inner width `w` (from 0). */
function xScale(values: readonly JsonValue[], w: number): { at: (i: number) => number; numeric: boolean; log: boolean; order: number[] } {
  const nums = values.every((v) => typeof v === 'number') ? (values as number[]) : undefined;
  const pad = 16;
  if (nums !== undefined && nums.length > 1 && Math.max(...nums) > Math.min(...nums)) {
    const log = nums.every((x) => x > 0) && Math.max(...nums) / Math.min(...nums) >= 10;
    const f = (x: number): number => (log ? Math.log10(x) : x);
    const lo = Math.min(...nums.map(f));
    const hi = Math.max(...nums.map(f));
    const order = nums.map((_, i) => i).sort((a, b) => nums[a]! - nums[b]!);
    return { at: (i) => pad + ((f(nums[i]!) - lo) / (hi - lo)) * (w - 2 * pad), numeric: true, log, order };
  }
  const n = values.length;
  return { at: (i) => (n === 1 ? w / 2 : pad + (i / (n - 1)) * (w - 2 * pad)), numeric: false, log: false, order: values.map((_, i) => i) };
}

/** One panel: `figure` against dimension `dim`, one line per series; its SVG group at (ox, oy). */
function panel(dim: ReportDim, figure: (typeof FIGURES)[number], series: readonly Series[], points: readonly (readonly (Point | undefined)[])[], ox: number, oy: number): string {
  const w = W - M.l - M.r;
  const h = H - M.t - M.b;
  const x = xScale(dim.values, w);
  const all = points.flat().filter((p): p is Point => p !== undefined);
  const { top, step } = niceAxis(Math.max(0, ...all.map((p) => p.max)));
  const y = (v: number): number => h - (v / top) * h;
  const out: string[] = [`<g transform="translate(${c(ox + M.l)},${c(oy + M.t)})">`];
  out.push(`<text class="title" x="${c(w / 2)}" y="-10" text-anchor="middle">${esc(figure.title)}</text>`);
  for (let k = 0; k * step <= top + step * 1e-9; k++) {
    const v = k * step;
    out.push(`<line class="grid" x1="0" x2="${c(w)}" y1="${c(y(v))}" y2="${c(y(v))}"/><text class="tick" x="-6" y="${c(y(v) + 4)}" text-anchor="end">${num(v)}</text>`);
  }
  out.push(`<line class="axis" x1="0" x2="${c(w)}" y1="${c(h)}" y2="${c(h)}"/><line class="axis" x1="0" x2="0" y1="0" y2="${c(h)}"/>`);
  let lastLabel = -Infinity;
  for (const i of x.order) {
    const px = x.at(i);
    out.push(`<line class="axis" x1="${c(px)}" x2="${c(px)}" y1="${c(h)}" y2="${c(h + 4)}"/>`);
    if (px - lastLabel >= 28) {
      const label = text(dim.values[i]);
      out.push(`<text class="tick" x="${c(px)}" y="${c(h + 16)}" text-anchor="middle">${esc(label.length > 14 ? `${label.slice(0, 13)}…` : label)}</text>`);
      lastLabel = px;
    }
  }
  out.push(`<text class="tick" x="${c(w / 2)}" y="${c(h + 34)}" text-anchor="middle">${esc(dim.key)}${x.log ? ' (log scale)' : ''}</text>`);
  series.forEach((s, si) => {
    const pts = points[si]!;
    // A line through the points in x order, broken where a point is missing.
    const segments: string[][] = [[]];
    for (const i of x.order) {
      const p = pts[i];
      if (p === undefined) segments.push([]);
      else segments[segments.length - 1]!.push(`${c(x.at(i))},${c(y(p.mean))}`);
    }
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    for (const seg of segments) if (seg.length > 1) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="1.6"${dash} points="${seg.join(' ')}"/>`);
    for (const i of x.order) {
      const p = pts[i];
      if (p === undefined) continue;
      const px = c(x.at(i));
      if (p.max > p.min) out.push(`<line stroke="${s.colour}" stroke-width="1" x1="${px}" x2="${px}" y1="${c(y(p.min))}" y2="${c(y(p.max))}"/>`);
      out.push(`<circle fill="${s.colour}" r="2.6" cx="${px}" cy="${c(y(p.mean))}"><title>${esc(`${s.label}, ${dim.key} = ${text(dim.values[i])}: ${num(p.mean)}${p.n > 1 ? ` (mean of ${p.n} runs, ${num(p.min)} to ${num(p.max)})` : ''}`)}</title></circle>`);
    }
  });
  out.push('</g>');
  return out.join('\n');
}

/** The figure for dimension `dim`: four panels and a legend. */
function dimFigure(meta: SweepMeta, records: readonly SweepRecord[], dim: ReportDim, others: readonly ReportDim[]): string {
  const series = seriesOf(meta, dim.key);
  const rowsAt = (si: number, i: number): SweepRecord[] => records.filter((r) => series[si]!.match(r) && same(r[dim.key], dim.values[i]));
  const panels = FIGURES.map((fig, fi) => {
    const points = series.map((_, si) =>
      dim.values.map((_, i) => {
        const xs = rowsAt(si, i)
          .map((r) => r[fig.column])
          .filter((v): v is number => typeof v === 'number');
        if (xs.length === 0) return undefined;
        return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
      }),
    );
    return panel(dim, fig, series, points, (fi % 2) * W, Math.floor(fi / 2) * H);
  });
  const legend = series
    .map((s) => `<span class="key"><svg width="30" height="10" aria-hidden="true"><line x1="0" x2="30" y1="5" y2="5" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/></svg>${esc(s.label)}</span>`)
    .join('\n');
  const summary =
    others.length === 0
      ? 'One run per point.'
      : `Each point is the mean over the runs that share the value, policy and path (${others.map((o) => `${esc(o.key)}: ${o.values.length} value${o.values.length === 1 ? '' : 's'}`).join(', ')}); the bar spans their minimum and maximum.`;
  return [
    `<figure class="dim" data-dim="${esc(dim.key)}">`,
    `<figcaption><h2>${esc(dim.key)}</h2><p>${dim.values.map((v) => `<code>${esc(text(v))}</code>`).join(', ')}. ${summary}</p></figcaption>`,
    `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${2 * H}" viewBox="0 0 ${2 * W} ${2 * H}" role="img" aria-label="${esc(`figures against ${dim.key}`)}">`,
    ...panels,
    '</svg>',
    `<div class="legend">${legend}</div>`,
    '</figure>',
  ].join('\n');
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:0}
figure.dim{margin:28px 0;border-top:1px solid #ddd;padding-top:12px}figcaption p{margin:4px 0 8px;color:#444}
svg.plot{display:block;max-width:100%;height:auto}
svg.plot text{font:11px system-ui,sans-serif;fill:#333}svg.plot text.title{font-weight:600;font-size:12px}
svg.plot line.grid{stroke:#eee}svg.plot line.axis{stroke:#777}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0 0 54px}.legend .key{display:inline-flex;align-items:center;gap:6px}
table{border-collapse:collapse;font-size:12px;margin-top:8px}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}th{background:#f6f6f6;position:sticky;top:0}
td.k,th.k{text-align:left}.bad{color:#b00020;font-weight:600}code{font-size:12px}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:8px 0}dt{color:#555}dd{margin:0}`;

/** The sweep report's HTML. */
export function renderSweepReport(x: SweepReportInput): string {
  const { meta, records } = x;
  const dims = reportDims(meta);
  const keyCols = meta.columns.slice(0, meta.columns.indexOf('msis'));
  const figCols = [...FIGURES.map((f) => f.column), 'violations'];
  const broken = records.filter((r) => typeof r['violations'] === 'number' && r['violations'] > 0).length;
  const grid = meta.grid.length === 0 ? 'none (a plain --sweep)' : meta.grid.map((g) => `<code>${esc(g.key)}</code> (${g.values.length})`).join(' × ');
  const plots =
    dims.length === 0
      ? '<p>Nothing was swept but policy and path (one rate, no grid): the table below holds every run.</p>'
      : dims.map((d) => dimFigure(meta, records, d, dims.filter((o) => o !== d && o.key !== 'policy' && o.key !== 'path'))).join('\n');
  const head = `<tr>${keyCols.map((k) => `<th class="k">${esc(k)}</th>`).join('')}${figCols.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>`;
  const body = records
    .map((r) => `<tr>${keyCols.map((k) => `<td class="k">${esc(text(r[k]))}</td>`).join('')}${figCols.map((k) => `<td${k === 'violations' && typeof r[k] === 'number' && r[k] > 0 ? ' class="bad"' : ''}>${esc(text(r[k]))}</td>`).join('')}</tr>`)
    .join('\n');
  const data = JSON.stringify({ format: 'minivisor-sweep-report', version: 1, signature: x.signature, commit: x.commit, meta, records }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>minivisor sweep: ${esc(meta.scenario)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>minivisor sweep: scenario '${esc(meta.scenario)}'</h1>
<dl>
<dt>runs</dt><dd>${meta.jobs}${broken > 0 ? ` <span class="bad">(${broken} broke the delivery check: see the violations column)</span>` : ''}</dd>
<dt>grid</dt><dd>${grid}</dd>
<dt>policies</dt><dd>${meta.policies.map((p) => esc(p)).join(', ')}</dd>
<dt>paths</dt><dd>${meta.paths.map((p) => esc(p)).join(', ')}</dd>
<dt>rate factors</dt><dd>${meta.rates.map((r) => num(r)).join(', ')}</dd>
<dt>commit</dt><dd><code>${esc(x.commit)}</code></dd>
<dt>signature</dt><dd><code>${esc(x.signature)}</code></dd>
</dl>
${plots}
<h2>Every run</h2>
<table id="runs">
${head}
${body}
</table>
<script type="application/json" id="sweep">${data}</script>
</body>
</html>
`;
}
