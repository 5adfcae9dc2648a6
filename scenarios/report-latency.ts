/**
 * The report's latency section: two panels over the same logarithmic latency axis, the whole
 * distribution (cumulative fraction, linear) and its tail (the fraction axis stretched
 * logarithmically: p90, p99, p99.9, ... equally spaced), with p50, p99 and p99.9 of each path
 * marked and labelled, and a table of the percentiles. Percentiles are of nearest rank, as in
 * the comparison table (delivery-check.ts `percentile`), so the two agree.
 */
import { fixed } from './format.js';
import { pathColors } from './report-palette.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f2 = (x: number): string => (Math.round(x * 100) / 100).toString();

/**
 * The value of nearest rank for percentile `p` (0-100, at most three decimals) of an ascending
 * sample: rank ceil(p/100 * n), computed in integers (0.999 * 1000 is 999.0000000000001 in
 * floating point, which would make p99.9 of 1,000 values the largest); for p50 and p99 the same
 * as delivery-check.ts `percentile`.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((Math.round(p * 1000) * n) / 100_000);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/** Percentiles shown in the table; the tail panel marks 99 and 99.9. */
export const PERCENTILES = [50, 90, 99, 99.9] as const;
export const TAIL_MARKS = [99, 99.9] as const;

/** `p` as a label: 99.9 -> "p99.9". */
export const pLabel = (p: number): string => `p${p}`;

const W = 480;
const H = 300;
const L = 64;
const R = 14;
const T = 14;
const B = 40;

interface Series {
  readonly path: string;
  readonly color: string;
  readonly sorted: Float64Array;
}

/** Points of a step line, without those that would move the pen less than half a pixel. */
function polyline(points: readonly (readonly [number, number])[]): string {
  const out: string[] = [];
  let lx = NaN;
  let ly = NaN;
  points.forEach(([x, y], i) => {
    if (i > 0 && i < points.length - 1 && Math.abs(x - lx) < 0.5 && Math.abs(y - ly) < 0.5) return;
    out.push(`${f2(x)},${f2(y)}`);
    lx = x;
    ly = y;
  });
  return out.join(' ');
}

/**
 * Markers on one horizontal line and their labels: to the right of each marker, or to its left
 * near the right edge; a label that would overlap one already placed moves up a line.
 */
function markerLabels(marks: { x: number; y: number; text: string; color: string; p: number; path: string }[]): string[] {
  const parts: string[] = [];
  const placed: { x0: number; x1: number; level: number }[] = [];
  for (const m of [...marks].sort((a, b) => a.x - b.x)) {
    const tw = 6.3 * m.text.length;
    const right = m.x + 6 + tw <= W - R;
    const x0 = right ? m.x + 6 : m.x - 6 - tw;
    const x1 = x0 + tw;
    let level = 0;
    while (placed.some((b) => b.level === level && b.x0 < x1 + 4 && x0 < b.x1 + 4)) level++;
    placed.push({ x0, x1, level });
    parts.push(`<circle cx="${f2(m.x)}" cy="${f2(m.y)}" r="3.5" fill="${m.color}" stroke="#ffffff" stroke-width="1" class="mark" data-p="${m.p}" data-path="${esc(m.path)}"><title>${esc(m.path)}: ${esc(m.text)}</title></circle>`);
    parts.push(`<text x="${f2(right ? x0 : x1)}" y="${f2(m.y - 5 - 12 * level)}" class="mark-label"${right ? '' : ' text-anchor="end"'}>${esc(m.text)}</text>`);
  }
  return parts;
}

/** The latency section: both panels, the legend, and the percentile table. */
export function latencySection(latenciesUs: Readonly<Partial<Record<string, Float64Array>>>, paths: readonly string[]): string {
  const colors = pathColors(paths);
  const series: Series[] = paths.map((path, k) => ({ path, color: colors[k]!, sorted: Float64Array.from(latenciesUs[path] ?? []).sort() }));
  const all = series.flatMap((s) => Array.from(s.sorted).filter((x) => x > 0));
  if (all.length === 0) return '<p>No interrupt was delivered: no latency to plot.</p>';
  const n = Math.max(...series.map((s) => s.sorted.length));
  const lo = Math.floor(Math.log10(Math.min(...all)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all))));
  const x = (us: number): number => L + ((Math.log10(Math.max(us, 10 ** lo)) - lo) / (hi - lo)) * (W - L - R);
  const xAxis = (parts: string[]): void => {
    for (let d = lo; d <= hi; d++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** d;
        if (d === hi && m > 1) continue;
        const xv = x(v);
        parts.push(`<line x1="${f2(xv)}" y1="${T}" x2="${f2(xv)}" y2="${H - B}" class="${m === 1 ? 'grid' : 'grid minor'}"/>`);
        parts.push(`<text x="${f2(xv)}" y="${H - B + 16}" class="tick" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
      }
    }
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="axis">latency, MSI to guest acknowledge (us, log scale)</text>`);
  };
  const yTitle = (parts: string[], text: string): void => {
    parts.push(`<text x="12" y="${(T + H - B) / 2}" text-anchor="middle" class="axis" transform="rotate(-90 12 ${(T + H - B) / 2})">${text}</text>`);
  };

  // The whole distribution: fraction linear.
  const y = (p: number): number => T + (1 - p) * (H - T - B);
  const body: string[] = [];
  xAxis(body);
  yTitle(body, 'fraction of interrupts');
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    body.push(`<line x1="${L}" y1="${f2(y(p))}" x2="${W - R}" y2="${f2(y(p))}" class="grid"/>`);
    body.push(`<text x="${L - 6}" y="${f2(y(p) + 4)}" class="tick" text-anchor="end">${p}</text>`);
  }
  // The tail: q = -log10(1 - p) from 1 (p90) to `top` decades (p99.9 at least, one decade past 1/n at most).
  const top = Math.min(6, Math.max(3, Math.ceil(Math.log10(n))));
  const q = (p: number): number => (p >= 1 ? Infinity : -Math.log10(1 - p));
  const yq = (p: number): number => T + (1 - (Math.min(Math.max(q(p), 1), top) - 1) / (top - 1)) * (H - T - B);
  const tail: string[] = [];
  xAxis(tail);
  yTitle(tail, 'fraction of interrupts (tail, log scale)');
  for (let d = 1; d <= top; d++) {
    const p = 1 - 10 ** -d;
    const label = pLabel(Number((100 * p).toFixed(d)));
    const yv = yq(p);
    tail.push(`<line x1="${L}" y1="${f2(yv)}" x2="${W - R}" y2="${f2(yv)}" class="${d === 2 || d === 3 ? 'grid strong' : 'grid'}"/>`);
    tail.push(`<text x="${L - 6}" y="${f2(yv + 4)}" class="tick${d === 2 || d === 3 ? ' strong' : ''}" text-anchor="end">${label}</text>`);
  }

  const bodyMarks: Parameters<typeof markerLabels>[0] = [];
  const tailMarks: Map<number, Parameters<typeof markerLabels>[0]> = new Map(TAIL_MARKS.map((p) => [p, []]));
  series.forEach((s, k) => {
    const v = s.sorted;
    const len = v.length;
    if (len === 0) return;
    const bodyPts: [number, number][] = [[x(v[0]!), y(0)]];
    const tailPts: [number, number][] = [];
    for (let i = 0; i < len; i++) {
      const xi = x(v[i]!);
      bodyPts.push([xi, y(i / len)], [xi, y((i + 1) / len)]);
      // The tail panel starts at p90: the step that crosses it, and every one after.
      if ((i + 1) / len > 0.9) {
        if (tailPts.length === 0) tailPts.push([xi, yq(0.9)]);
        tailPts.push([xi, yq(i / len)], [xi, yq((i + 1) / len)]);
      }
    }
    const title = `<title>${esc(s.path)}: ${len} interrupts</title>`;
    body.push(`<polyline points="${polyline(bodyPts)}" fill="none" stroke="${s.color}" stroke-width="2" class="series" data-path="${esc(s.path)}">${title}</polyline>`);
    tail.push(`<polyline points="${polyline(tailPts)}" fill="none" stroke="${s.color}" stroke-width="2" class="series" data-path="${esc(s.path)}">${title}</polyline>`);
    body.push(`<rect x="${L + 12}" y="${T + 10 + 18 * k}" width="16" height="4" fill="${s.color}"/><text x="${L + 34}" y="${T + 16 + 18 * k}" class="legend">${esc(s.path)} (${len} interrupts)</text>`);
    const p50 = nearestRank(v, 50);
    bodyMarks.push({ x: x(p50), y: y(0.5), text: `p50 ${fixed(p50, 2)} us`, color: s.color, p: 50, path: s.path });
    for (const p of TAIL_MARKS) {
      const val = nearestRank(v, p);
      tailMarks.get(p)!.push({ x: x(val), y: yq(p / 100), text: `${pLabel(p)} ${fixed(val, 2)} us`, color: s.color, p, path: s.path });
    }
  });
  body.push(...markerLabels(bodyMarks));
  for (const marks of tailMarks.values()) tail.push(...markerLabels(marks));

  const svg = (panel: string, label: string, parts: string[]): string => `<svg class="chart" data-panel="${panel}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${label}">${parts.join('')}</svg>`;
  const head = `<tr><th>percentile</th>${series.map((s) => `<th class="num"><span class="swatch" style="background:${s.color}"></span>${esc(s.path)}</th>`).join('')}</tr>`;
  const rows = [
    `<tr><td>interrupts</td>${series.map((s) => `<td class="num">${s.sorted.length}</td>`).join('')}</tr>`,
    ...PERCENTILES.map((p) => `<tr><td>${pLabel(p)} (us)</td>${series.map((s) => `<td class="num">${fixed(nearestRank(s.sorted, p), 2)}</td>`).join('')}</tr>`),
    `<tr><td>max (us)</td>${series.map((s) => `<td class="num">${fixed(s.sorted.length === 0 ? NaN : s.sorted[s.sorted.length - 1]!, 2)}</td>`).join('')}</tr>`,
  ];
  const small = series.filter((s) => s.sorted.length > 0 && s.sorted.length < 1000).map((s) => s.path);
  const note =
    small.length > 0
      ? `<p class="meta">With fewer than 1,000 interrupts (${small.map(esc).join(', ')}), p99.9 is the largest latency: a longer <code>--duration</code> resolves the tail.</p>`
      : '';
  return `<div class="charts">${svg('body', 'latency CDF', body)}${svg('tail', 'latency CDF, tail', tail)}
<div class="side-note"><table id="latency-percentiles"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>${note}</div></div>`;
}
