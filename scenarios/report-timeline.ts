/**
 * The report's per-core timeline, zoomable to any window of the run.
 *
 * The page embeds the run's timeline (trace-export.ts `buildTimeline`) as compact JSON
 * (`<script type="application/json" id="timeline-data">`): per path and core, lists of
 * [start delta, duration, category, name] in cycles from the devices' start. A small inline
 * script (`TIMELINE_JS`, no external assets) draws any window of it into the page's SVGs: drag
 * across a timeline (or the overview of the whole run) to zoom to that stretch, use the
 * controls, ctrl + wheel (or a pinch) to zoom, shift + wheel to pan; the window is kept in the
 * address (`#t=FROM,TO`, microseconds), so a view can be bookmarked. The page as written holds
 * the default window already drawn, by the same script run here in node (`timelineApi`), so
 * it reads the same without scripts and the tests check what a browser draws.
 *
 * Drawing a window: each list is sorted by start, so the first item that can overlap the window
 * is found by binary search (start >= from - longest duration); items narrower than a pixel are
 * merged per pixel column into one mark of the category covering most of the column
 * (`visibleItems`). A window therefore costs at most a few marks per pixel per lane, whatever
 * its length.
 *
 * What a core's lane shows: the vCPU at EL1 (its group's colour) or the hypervisor at EL2
 * (black), EL2 idle in WFI (blank), a guest in WFI (pale), lock spin (yellow: 'lock-wait' to
 * 'lock-acquired'), each guest acknowledge (a tick), and above the lane maintenance interrupts
 * (triangles: ICH_MISR_EL2 became non-zero) and doorbells (circles); under it, for direct
 * injection, the vPE resident on that redistributor and its VPT parse and flush.
 */
import { runInNewContext } from 'node:vm';
import type { CoreTimeline, Slice } from './trace-export.js';
import { OKABE_ITO, OTHER_COLOR, vcpuGroups, type SeriesGroup, type VcpuWeight } from './report-palette.js';

/** One path's run, as the timeline needs it. */
export interface TimelineRun {
  readonly path: string;
  readonly timeline: CoreTimeline;
  readonly cores: number;
  readonly clockHz: number;
  /** Cycle the devices started (the timeline's time 0) and the cycle the run ended. */
  readonly from: number;
  readonly end: number;
}

/** Lists of [start delta, duration, category, name index] per core. */
export interface TimelineLanes {
  /** Who runs: category 0 EL2, 1 + g a vCPU of group g. */
  readonly run: number[];
  /** WFI: category 1 EL2 idle, 2 a guest in WFI or WFE. */
  readonly idle: number[];
  /** Lock spin ('lock-wait' to 'lock-acquired'). */
  readonly spin: number[];
  /** Guest acknowledge to EOI of a virtual interrupt. */
  readonly ack: number[];
  /** vPE residency: category 0 VPT parse or flush, 1 + g a resident vPE of group g. */
  readonly res: number[];
  /** Instants, [start delta, name index]: maintenance interrupts raised, doorbells taken. */
  readonly maint: number[];
  readonly bell: number[];
}

export interface TimelinePath {
  readonly path: string;
  readonly hz: number;
  readonly cores: number;
  /** Whether any core has a residency lane, and any core instants (the marker strip). */
  readonly res: boolean;
  readonly marks: boolean;
  readonly lanes: readonly TimelineLanes[];
}

export interface TimelineData {
  /** Names of the drawn items (tooltips), by index. */
  readonly names: readonly string[];
  readonly groups: readonly Pick<SeriesGroup, 'label' | 'color' | 'text' | 'units'>[];
  /** What the data holds and the window first shown, in microseconds from the devices' start. */
  readonly range: readonly [number, number];
  readonly view: readonly [number, number];
  /** The devices sent from 0 to this many microseconds. */
  readonly devicesUs: number;
  /** Set when the run was too long to embed whole: the range holds the start of the measurement. */
  readonly cut: boolean;
  readonly paths: readonly TimelinePath[];
}

/** Items embedded at most (all paths): about 12 bytes each in the page. */
export const MAX_ITEMS = 250_000;

type Lists = Record<keyof TimelineLanes, { s: number; e: number; c: number; k: number }[]>;

const vcpuOfRun = (s: Slice): string => s.name.replace(/ @EL\d$/, '');

/** The cycles each vCPU ran at EL1 (both paths), which decide who keeps a colour. */
export function vcpuWeights(runs: readonly TimelineRun[]): Map<string, VcpuWeight> {
  const w = new Map<string, VcpuWeight>();
  for (const r of runs)
    for (const lane of r.timeline.cores)
      for (const s of lane) {
        if (s.depth !== 0 || s.args.kind !== 'guest' || typeof s.args.vm !== 'number') continue;
        const name = vcpuOfRun(s);
        const dot = name.lastIndexOf('.vcpu');
        const prev = w.get(name);
        w.set(name, { vm: dot > 0 ? name.slice(0, dot) : name, cycles: (prev?.cycles ?? 0) + (s.end - s.start) });
      }
  // A vCPU resident on a redistributor but never seen running still needs a colour.
  for (const r of runs)
    for (const lane of r.timeline.residency)
      for (const s of lane) {
        if (s.tag !== 'resident' || typeof s.args.vm !== 'number') continue;
        const name = s.name.replace(/^resident /, '');
        if (w.has(name)) continue;
        const dot = name.lastIndexOf('.vcpu');
        w.set(name, { vm: dot > 0 ? name.slice(0, dot) : name, cycles: 0 });
      }
  return w;
}

/** The timeline's data: every path's lanes over the run (or its start, past MAX_ITEMS), the groups and the default window. */
export function timelineData(runs: readonly TimelineRun[], viewUs: readonly [number, number], devicesUs: number, maxItems = MAX_ITEMS): TimelineData {
  const { groups, groupOf } = vcpuGroups(vcpuWeights(runs));
  const unknown = 1 + groups.length;
  const names: string[] = [];
  const nameIx = new Map<string, number>();
  const nameOf = (n: string): number => {
    let i = nameIx.get(n);
    if (i === undefined) {
      i = names.length;
      names.push(n);
      nameIx.set(n, i);
    }
    return i;
  };
  const perPath = runs.map((r) => {
    const lists = r.timeline.cores.map((_, c) => {
      const l: Lists = { run: [], idle: [], spin: [], ack: [], res: [], maint: [], bell: [] };
      const add = (key: keyof TimelineLanes, s: number, e: number, cat: number, name: string): void => void l[key].push({ s: s - r.from, e: e - r.from, c: cat, k: nameOf(name) });
      for (const s of r.timeline.cores[c] ?? []) {
        if (s.depth === 0) {
          const g = s.args.kind === 'el2' ? -1 : groupOf.get(vcpuOfRun(s));
          add('run', s.start, s.end, g === -1 ? 0 : g === undefined ? unknown : 1 + g, s.name);
        } else if (s.tag === 'wfi') add('idle', s.start, s.end, s.name === 'idle (WFI)' ? 1 : 2, s.name);
        else if (s.tag === 'spin') add('spin', s.start, s.end, 0, s.name);
        else if (s.tag === 'vack') add('ack', s.start, s.end, 0, s.name);
      }
      for (const s of r.timeline.residency[c] ?? []) {
        if (s.tag === 'resident') {
          const g = groupOf.get(s.name.replace(/^resident /, ''));
          add('res', s.start, s.end, g === undefined ? unknown : 1 + g, s.name);
        } else add('res', s.start, s.end, 0, s.name);
      }
      for (const x of r.timeline.coreInstants[c] ?? []) {
        if (x.name === 'maintenance interrupt') add('maint', x.t, x.t, 0, x.name);
        else if (x.name.startsWith('doorbell')) add('bell', x.t, x.t, 0, x.name);
      }
      for (const v of Object.values(l)) v.sort((a, b) => a.s - b.s || b.e - a.e);
      return l;
    });
    return { r, lists };
  });

  // The range: the whole run, unless that is too much to embed; then from the devices' start, as far as the budget goes.
  const us = (r: TimelineRun, cycles: number): number => (cycles / r.clockHz) * 1e6;
  let from = Math.min(...runs.map((r) => us(r, -r.from)));
  let to = Math.max(...runs.map((r) => us(r, r.end - r.from)));
  const total = perPath.reduce((a, p) => a + p.lists.reduce((b, l) => b + Object.values(l).reduce((x, v) => x + v.length, 0), 0), 0);
  const cut = total > maxItems;
  if (cut) {
    from = 0;
    const budget = Math.floor(maxItems / Math.max(1, runs.length));
    to = Math.min(
      ...perPath.map(({ r, lists }) => {
        const starts = lists.flatMap((l) => Object.values(l).flatMap((v) => v.filter((x) => x.e >= 0).map((x) => x.s))).sort((a, b) => a - b);
        return starts.length <= budget ? us(r, r.end - r.from) : us(r, starts[budget]!);
      }),
    );
  }
  const paths: TimelinePath[] = perPath.map(({ r, lists }) => {
    const lo = (from * r.clockHz) / 1e6;
    const hi = (to * r.clockHz) / 1e6;
    const lanes = lists.map((l) => {
      const enc = (v: Lists[keyof Lists], instants: boolean): number[] => {
        const out: number[] = [];
        let prev = 0;
        for (const x of v) {
          if (x.s > hi || x.e < lo || (x.s === hi && x.e > x.s)) continue;
          if (instants) out.push(x.s - prev, x.k);
          else out.push(x.s - prev, x.e - x.s, x.c, x.k);
          prev = x.s;
        }
        return out;
      };
      return { run: enc(l.run, false), idle: enc(l.idle, false), spin: enc(l.spin, false), ack: enc(l.ack, false), res: enc(l.res, false), maint: enc(l.maint, true), bell: enc(l.bell, true) };
    });
    return {
      path: r.path,
      hz: r.clockHz,
      cores: r.cores,
      res: lanes.some((l) => l.res.length > 0),
      marks: lanes.some((l) => l.maint.length + l.bell.length > 0),
      lanes,
    };
  });
  const v0 = Math.max(from, viewUs[0]);
  const view: [number, number] = [v0, Math.max(v0 + 0.01, Math.min(to, viewUs[1]))];
  return { names, groups: groups.map((g) => ({ label: g.label, color: g.color, text: g.text, units: g.units })), range: [from, to], view, devicesUs, cut, paths };
}

/** The timeline's CSS: the groups' colours are classes g0, g1, ... (gx: a vCPU the data could not name). */
export function timelineCss(groups: readonly Pick<SeriesGroup, 'color'>[]): string {
  return [
    ...groups.map((g, i) => `.g${i}{fill:${g.color}}`),
    `.gx{fill:${OTHER_COLOR}}`,
    `.el2{fill:${OKABE_ITO.black}} .idle{fill:#ffffff} .gwfi{fill:#ffffff;fill-opacity:.62} .spin{fill:${OKABE_ITO.yellow}} .ack{fill:${OKABE_ITO.black}}`,
    '.res{fill-opacity:.55} .vpt{fill:#6b6b6b} .mi{fill:#000000} .db{fill:#ffffff;stroke:#000000;stroke-width:1.2}',
    'svg text.tw{fill:#ffffff;stroke:#000000} svg text.tb{fill:#000000;stroke:#ffffff} svg text.tw, svg text.tb{stroke-width:2.5px;paint-order:stroke;stroke-linejoin:round;pointer-events:none}',
    '.edge{stroke:#000000;stroke-width:1;stroke-dasharray:3 3} .ovb{fill:#000000} .ovdev{fill:#b9b9b9} .ovwin{fill:#0072B2;fill-opacity:.14;stroke:#0072B2;stroke-width:1.5}',
  ].join('\n');
}

/**
 * The script: pure functions (decode, visibleItems, renderPath, ...) and `start`, which wires
 * the page. Plain ES2017 text, so that the page runs exactly what the tests run (`timelineApi`).
 * It must hold no `</script`, and nothing a self-contained page may not (no addresses, no
 * element that loads one).
 */
export const TIMELINE_JS = String.raw`var MinivisorTimeline = (function () {
  'use strict';
  var W = 1180, LABEL = 64, MK = 8, ROW = 18, RES = 8, GAP = 10, TOP = 4, AXIS = 22;
  var OV_ROW = 12, OV_TOP = 4;
  var MIN_WINDOW_US = 0.005;
  var SPANS = ['run', 'idle', 'spin', 'ack', 'res'], INSTANTS = ['maint', 'bell'];

  function decodeList(a, stride) {
    var n = Math.floor(a.length / stride);
    var L = { n: n, s: new Float64Array(n), e: new Float64Array(n), c: new Int32Array(n), k: new Int32Array(n), maxDur: 0 };
    var t = 0;
    for (var i = 0; i < n; i++) {
      var j = i * stride;
      t += a[j];
      L.s[i] = t;
      if (stride === 4) {
        L.e[i] = t + a[j + 1];
        L.c[i] = a[j + 2];
        L.k[i] = a[j + 3];
        if (a[j + 1] > L.maxDur) L.maxDur = a[j + 1];
      } else {
        L.e[i] = t;
        L.k[i] = a[j + 1];
      }
    }
    return L;
  }

  function decodePath(p) {
    return {
      path: p.path, hz: p.hz, cores: p.cores, res: p.res, marks: p.marks,
      lanes: p.lanes.map(function (l) {
        var o = {};
        SPANS.forEach(function (k) { o[k] = decodeList(l[k], 4); });
        INSTANTS.forEach(function (k) { o[k] = decodeList(l[k], 2); });
        return o;
      })
    };
  }

  /** First index i with s[i] >= x. */
  function lowerBound(s, n, x) {
    var lo = 0, hi = n;
    while (lo < hi) {
      var m = (lo + hi) >> 1;
      if (s[m] < x) lo = m + 1; else hi = m;
    }
    return lo;
  }

  /**
   * The items of list L that overlap the window [from, to) (cycles), clipped to it, in order of
   * start. An item narrower than cpp cycles (a pixel) is merged with the others starting in the
   * same pixel column into one item {s, e, c, k: -1, n} whose category c covers most of their time.
   */
  function visibleItems(L, from, to, cpp) {
    var out = [], b = null;
    function flush() {
      if (b === null) return;
      var best = -1, bw = -1;
      Object.keys(b.w).forEach(function (key) { if (b.w[key] > bw) { bw = b.w[key]; best = Number(key); } });
      out.push({ s: b.s, e: b.e, c: best, k: b.n === 1 ? b.k : -1, n: b.n });
      b = null;
    }
    for (var i = lowerBound(L.s, L.n, from - L.maxDur); i < L.n && L.s[i] < to; i++) {
      if (L.e[i] <= from && L.s[i] < from) continue;
      var s = Math.max(L.s[i], from), e = Math.min(L.e[i], to);
      if (e - s >= cpp) {
        flush();
        out.push({ s: s, e: e, c: L.c[i], k: L.k[i], n: 1 });
        continue;
      }
      var col = Math.floor((s - from) / cpp);
      if (b !== null && b.col !== col) flush();
      if (b === null) b = { col: col, s: s, e: e, w: {}, n: 0, k: L.k[i] };
      if (e > b.e) b.e = e;
      b.n++;
      b.w[L.c[i]] = (b.w[L.c[i]] || 0) + (e - s) + cpp * 1e-6;
    }
    flush();
    return out;
  }

  /** The instants of list L in [from, to), merged when closer than cpc cycles (one mark's width): {t, k (-1 when merged), n}. */
  function visibleInstants(L, from, to, cpc) {
    var out = [];
    for (var i = lowerBound(L.s, L.n, from); i < L.n && L.s[i] < to; i++) {
      var last = out[out.length - 1];
      if (last !== undefined && L.s[i] - last.t < cpc) { last.n++; last.k = -1; continue; }
      out.push({ t: L.s[i], k: L.k[i], n: 1 });
    }
    return out;
  }

  function r2(x) { return Math.round(x * 100) / 100; }
  function fmt(x, dec) { var v = x.toFixed(dec); return /^-0(\.0*)?$/.test(v) ? v.slice(1) : v; }
  /** Microseconds with up to 3 decimals (nanoseconds). */
  function fmtUs(x) { return fmt(x, 3).replace(/\.?0+$/, '') || '0'; }
  function esc(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }

  /** Ticks of a window in microseconds: a 1-2-5 step giving at most maxTicks, and its decimals. */
  function ticks(fromUs, toUs, maxTicks) {
    var raw = (toUs - fromUs) / maxTicks, e = Math.floor(Math.log10(raw)), p = Math.pow(10, e), m = raw / p;
    var step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
    if (step === 10) { step = 1; e++; }
    var dec = Math.max(0, -e), out = [];
    for (var i = Math.ceil(fromUs / (step * Math.pow(10, e)) - 1e-9); ; i++) {
      var v = e >= 0 ? i * step * Math.pow(10, e) : (i * step) / Math.pow(10, -e);
      if (v > toUs + 1e-9) break;
      out.push(v);
    }
    return { values: out, dec: dec };
  }

  function geometry(P) {
    var lane = (P.marks ? MK : 0) + ROW + (P.res ? RES + 2 : 0) + GAP;
    return { lane: lane, height: TOP + P.cores * lane + AXIS };
  }

  /** The inner markup of one path's timeline SVG over [fromUs, toUs]. */
  function renderPath(D, P, fromUs, toUs) {
    var g = geometry(P), cpu = P.hz / 1e6, from = fromUs * cpu, to = toUs * cpu, cpp = (to - from) / (W - LABEL);
    var out = [];
    function X(t) { return r2(LABEL + (t - from) / cpp); }
    function when(s, e) { return s === e ? fmtUs(s / cpu) + ' us' : fmtUs(s / cpu) + '-' + fmtUs(e / cpu) + ' us'; }
    function groupLabel(c) { return c === 0 ? 'EL2' : (D.groups[c - 1] || { label: 'unnamed vCPU' }).label; }
    function tip(it, what) {
      if (it.k >= 0) return esc(D.names[it.k]) + ': ' + when(it.s, it.e);
      return it.n + ' ' + what + ', ' + when(it.s, it.e) + (it.c >= 0 ? ', mostly ' + esc(catLabel(what, it.c)) : '') + ' (zoom in to see them)';
    }
    function catLabel(what, c) {
      if (what === 'slices') return groupLabel(c);
      if (what === 'waits') return c === 1 ? 'EL2 idle' : 'guest WFI';
      if (what === 'residency spans') return c === 0 ? 'VPT parse/flush' : 'resident ' + groupLabel(c);
      return what;
    }
    function rect(it, y, h, cls, what) {
      var x0 = X(it.s), w = Math.max(1, r2(X(it.e) - x0));
      out.push('<rect x="' + x0 + '" y="' + y + '" width="' + w + '" height="' + h + '" class="' + cls + '"><title>' + tip(it, what) + '</title></rect>');
      return w;
    }
    var groupClass = function (c) { return c - 1 < D.groups.length ? 'g' + (c - 1) : 'gx'; };
    for (var c = 0; c < P.cores; c++) {
      var lane = P.lanes[c], y0 = TOP + c * g.lane, yr = y0 + (P.marks ? MK : 0);
      out.push('<text x="0" y="' + (yr + 13) + '" class="lane">core ' + c + '</text>');
      out.push('<rect x="' + LABEL + '" y="' + yr + '" width="' + (W - LABEL) + '" height="' + ROW + '" class="lane-bg"/>');
      // Names inside the slices wide enough for them, drawn last (over the spin and acknowledge
      // marks, with a halo); not on the hypervisor's slices where it sleeps (blank) under the name.
      var labels = [], idle = visibleItems(lane.idle, from, to, cpp);
      var sleeps = function (a, b) { return idle.some(function (x) { return x.c === 1 && x.s < b && x.e > a; }); };
      visibleItems(lane.run, from, to, cpp).forEach(function (it) {
        var w = rect(it, yr, ROW, it.c === 0 ? 'el2' : groupClass(it.c), 'slices');
        if (it.k >= 0) {
          var name = D.names[it.k], need = name.length * 6.4 + 8;
          if (w >= need && !(it.c === 0 && sleeps(it.s, it.s + need * cpp))) {
            var light = it.c === 0 || (D.groups[it.c - 1] || { text: '#000000' }).text === '#ffffff';
            labels.push('<text x="' + r2(X(it.s) + 4) + '" y="' + (yr + 13) + '" class="in ' + (light ? 'tw' : 'tb') + '">' + esc(name) + '</text>');
          }
        }
      });
      idle.forEach(function (it) { rect(it, yr, ROW, it.c === 1 ? 'idle' : 'gwfi', 'waits'); });
      visibleItems(lane.spin, from, to, cpp).forEach(function (it) { rect(it, yr + 1, ROW - 2, 'spin', 'lock spins'); });
      visibleItems(lane.ack, from, to, cpp).forEach(function (it) { rect(it, yr, 4, 'ack', 'acknowledges'); });
      out.push(labels.join(''));
      if (P.marks) {
        visibleInstants(lane.maint, from, to, cpp * 5).forEach(function (m) {
          var x = X(m.t);
          out.push('<path d="M' + r2(x - 3.5) + ' ' + y0 + 'h7l-3.5 6.5z" class="mi"><title>' + (m.k >= 0 ? esc(D.names[m.k]) : m.n + ' maintenance interrupts') + ': ' + fmtUs(m.t / cpu) + ' us</title></path>');
        });
        visibleInstants(lane.bell, from, to, cpp * 5).forEach(function (m) {
          out.push('<circle cx="' + X(m.t) + '" cy="' + (y0 + 3.5) + '" r="2.6" class="db"><title>' + (m.k >= 0 ? esc(D.names[m.k]) : m.n + ' doorbells') + ': ' + fmtUs(m.t / cpu) + ' us</title></circle>');
        });
      }
      if (P.res) {
        var y2 = yr + ROW + 2;
        out.push('<rect x="' + LABEL + '" y="' + y2 + '" width="' + (W - LABEL) + '" height="' + RES + '" class="lane-bg"/>');
        visibleItems(lane.res, from, to, cpp).forEach(function (it) { rect(it, y2, RES, it.c === 0 ? 'vpt' : groupClass(it.c) + ' res', 'residency spans'); });
      }
    }
    var bottom = TOP + P.cores * g.lane - GAP + 2;
    var tk = ticks(fromUs, toUs, 8);
    tk.values.forEach(function (v) {
      var x = X(v * cpu);
      out.push('<line x1="' + x + '" y1="' + TOP + '" x2="' + x + '" y2="' + bottom + '" class="grid"/>');
      var anchor = x > W - 24 ? 'end' : x < LABEL + 24 ? 'start' : 'middle';
      out.push('<text x="' + x + '" y="' + (g.height - 6) + '" class="tick" text-anchor="' + anchor + '">' + fmt(v, tk.dec) + ' us</text>');
    });
    [[0, 'the devices start'], [D.devicesUs, 'the devices stop']].forEach(function (d) {
      if (d[0] < fromUs || d[0] > toUs) return;
      var x = X(d[0] * cpu);
      out.push('<line x1="' + x + '" y1="' + TOP + '" x2="' + x + '" y2="' + bottom + '" class="edge"><title>' + d[1] + ' (' + d[0] + ' us)</title></line>');
    });
    return out.join('');
  }

  /** The overview's bars: per path, how busy the hypervisor is (EL2, not idle) over the whole range, one shade per pixel column. */
  function overviewBars(D, Ps) {
    var cols = W - LABEL, out = [];
    Ps.forEach(function (P, row) {
      var cpu = P.hz / 1e6, from = D.range[0] * cpu, cpc = ((D.range[1] - D.range[0]) * cpu) / cols, acc = new Float64Array(cols);
      function add(L, cat, sign) {
        for (var i = 0; i < L.n; i++) {
          if (L.c[i] !== cat) continue;
          var a = (L.s[i] - from) / cpc, b = (L.e[i] - from) / cpc;
          if (b <= 0 || a >= cols) continue;
          a = Math.max(a, 0); b = Math.min(b, cols);
          for (var col = Math.floor(a); col < b; col++) acc[col] += sign * (Math.min(b, col + 1) - Math.max(a, col)) * cpc;
        }
      }
      P.lanes.forEach(function (l) { add(l.run, 0, 1); add(l.idle, 1, -1); });
      var y = OV_TOP + row * (OV_ROW + 3), runStart = 0, level = -1;
      out.push('<text x="0" y="' + (y + 10) + '" class="lane">' + esc(P.path) + '</text>');
      out.push('<rect x="' + LABEL + '" y="' + y + '" width="' + cols + '" height="' + OV_ROW + '" class="lane-bg"/>');
      for (var col = 0; col <= cols; col++) {
        var lv = col === cols ? -1 : Math.round((8 * Math.max(0, acc[col])) / (P.cores * cpc));
        if (lv === level) continue;
        if (level > 0) out.push('<rect x="' + (LABEL + runStart) + '" y="' + y + '" width="' + (col - runStart) + '" height="' + OV_ROW + '" class="ovb" fill-opacity="' + (level / 8) + '"/>');
        level = lv;
        runStart = col;
      }
    });
    return out.join('');
  }

  function overviewHeight(D) { return OV_TOP + D.paths.length * (OV_ROW + 3) + 24; }

  /** The overview: the bars, the devices' span, the range's ends and the window shown. */
  function renderOverview(D, bars, fromUs, toUs) {
    var span = D.range[1] - D.range[0], cols = W - LABEL, h = overviewHeight(D), yb = OV_TOP + D.paths.length * (OV_ROW + 3);
    function X(us) { return r2(LABEL + ((us - D.range[0]) / span) * cols); }
    var out = [bars];
    var d0 = Math.max(D.range[0], 0), d1 = Math.min(D.range[1], D.devicesUs);
    if (d1 > d0) out.push('<rect x="' + X(d0) + '" y="' + yb + '" width="' + r2(X(d1) - X(d0)) + '" height="3" class="ovdev"><title>the devices send: 0-' + D.devicesUs + ' us</title></rect>');
    out.push('<text x="' + LABEL + '" y="' + (h - 4) + '" class="tick">' + fmtUs(D.range[0]) + ' us</text>');
    out.push('<text x="' + W + '" y="' + (h - 4) + '" class="tick" text-anchor="end">' + fmtUs(D.range[1]) + ' us</text>');
    if (D.range[0] < 0 && X(0) > LABEL + 60 && X(0) < W - 60) out.push('<text x="' + X(0) + '" y="' + (h - 4) + '" class="tick" text-anchor="middle">0</text>');
    var x0 = X(fromUs), w = Math.max(2, r2(X(toUs) - x0));
    out.push('<rect x="' + x0 + '" y="1" width="' + w + '" height="' + (yb + 2) + '" class="ovwin"><title>shown: ' + fmtUs(fromUs) + '-' + fmtUs(toUs) + ' us</title></rect>');
    return out.join('');
  }

  /** A window inside the range, at least MIN_WINDOW_US wide. */
  function clampWindow(D, a, b) {
    if (!(a === a) || !(b === b)) return [D.view[0], D.view[1]];
    if (b < a) { var t = a; a = b; b = t; }
    var lo = D.range[0], hi = D.range[1], w = Math.min(hi - lo, Math.max(MIN_WINDOW_US, b - a));
    var c = (a + b) / 2, f = c - w / 2;
    f = Math.min(Math.max(f, lo), hi - w);
    return [f, f + w];
  }

  /** "#t=FROM,TO" (microseconds) -> [from, to], or null. */
  function parseHash(h) {
    var m = /^#t=(-?[0-9.]+(?:e-?[0-9]+)?),(-?[0-9.]+(?:e-?[0-9]+)?)$/.exec(h || '');
    return m === null ? null : [Number(m[1]), Number(m[2])];
  }

  /** Wires the page: controls, drag to zoom, ctrl + wheel, shift + wheel, the address. */
  function start(doc, win) {
    var el = doc.getElementById('timeline-data');
    if (el === null) return;
    var D = JSON.parse(el.textContent), Ps = D.paths.map(decodePath);
    var svgs = Ps.map(function (P) { return doc.querySelector('svg.timeline[data-path="' + P.path + '"]'); });
    var ov = doc.getElementById('tl-overview'), bars = overviewBars(D, Ps);
    var form = doc.getElementById('tl-controls'), inFrom = doc.getElementById('tl-from'), inTo = doc.getElementById('tl-to');
    var brush = doc.getElementById('tl-brush');
    var view = [D.view[0], D.view[1]];
    function show(a, b, keepAddress) {
      view = clampWindow(D, a, b);
      Ps.forEach(function (P, i) { if (svgs[i] !== null) svgs[i].innerHTML = renderPath(D, P, view[0], view[1]); });
      if (ov !== null) ov.innerHTML = renderOverview(D, bars, view[0], view[1]);
      inFrom.value = fmtUs(view[0]);
      inTo.value = fmtUs(view[1]);
      if (!keepAddress) {
        try { win.history.replaceState(null, '', '#t=' + fmtUs(view[0]) + ',' + fmtUs(view[1])); } catch (e) { /* a page without history */ }
      }
    }
    form.hidden = false;
    inFrom.value = fmtUs(view[0]);
    inTo.value = fmtUs(view[1]);
    form.addEventListener('submit', function (e) { e.preventDefault(); show(Number(inFrom.value), Number(inTo.value)); });
    form.addEventListener('click', function (e) {
      var act = e.target && e.target.getAttribute && e.target.getAttribute('data-act');
      if (!act) return;
      var w = view[1] - view[0], c = (view[0] + view[1]) / 2;
      if (act === 'in') show(c - w / 4, c + w / 4);
      else if (act === 'out') show(c - w, c + w);
      else if (act === 'left') show(view[0] - w / 2, view[1] - w / 2);
      else if (act === 'right') show(view[0] + w / 2, view[1] + w / 2);
      else if (act === 'default') show(D.view[0], D.view[1]);
      else if (act === 'all') show(D.range[0], D.range[1]);
    });
    // Where a pointer is, in microseconds: on a timeline the window's scale, on the overview the range's.
    function timeAt(target, clientX) {
      var r = target.getBoundingClientRect(), x = ((clientX - r.left) * W) / r.width;
      var f = Math.min(1, Math.max(0, (x - LABEL) / (W - LABEL)));
      return target === ov ? D.range[0] + f * (D.range[1] - D.range[0]) : view[0] + f * (view[1] - view[0]);
    }
    var drag = null;
    function down(e) {
      if (e.button !== 0) return;
      var target = e.currentTarget;
      drag = { target: target, x0: e.clientX, t0: timeAt(target, e.clientX), id: e.pointerId };
      try { target.setPointerCapture(e.pointerId); } catch (x) { /* not capturable */ }
      e.preventDefault();
    }
    function move(e) {
      if (drag === null) return;
      var r = drag.target.getBoundingClientRect(), left = Math.max(r.left + (LABEL * r.width) / W, Math.min(drag.x0, e.clientX));
      var right = Math.min(r.right, Math.max(drag.x0, e.clientX));
      brush.style.left = left + 'px';
      brush.style.width = Math.max(0, right - left) + 'px';
      brush.style.top = r.top + 'px';
      brush.style.height = r.height + 'px';
      brush.hidden = false;
    }
    function up(e) {
      if (drag === null) return;
      var d = drag;
      drag = null;
      brush.hidden = true;
      var t1 = timeAt(d.target, e.clientX);
      if (Math.abs(e.clientX - d.x0) >= 4) show(Math.min(d.t0, t1), Math.max(d.t0, t1));
      else if (d.target === ov) { var w = view[1] - view[0]; show(t1 - w / 2, t1 + w / 2); }
    }
    function wheel(e) {
      var target = e.currentTarget;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        var t = timeAt(target, e.clientX), k = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.0025)));
        show(t - (t - view[0]) * k, t + (view[1] - t) * k);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        var r = target.getBoundingClientRect(), px = e.shiftKey && e.deltaX === 0 ? e.deltaY : e.deltaX;
        var dt = (px * (view[1] - view[0])) / Math.max(1, (r.width * (W - LABEL)) / W);
        show(view[0] + dt, view[1] + dt);
      }
    }
    svgs.concat([ov]).forEach(function (s) {
      if (s === null) return;
      s.addEventListener('pointerdown', down);
      s.addEventListener('pointermove', move);
      s.addEventListener('pointerup', up);
      s.addEventListener('pointercancel', function () { drag = null; brush.hidden = true; });
      s.addEventListener('wheel', wheel, { passive: false });
    });
    function fromAddress() { var h = parseHash(win.location.hash); if (h !== null) show(h[0], h[1], true); }
    win.addEventListener('hashchange', fromAddress);
    fromAddress();
  }

  return {
    W: W, LABEL: LABEL, decodePath: decodePath, lowerBound: lowerBound, visibleItems: visibleItems, visibleInstants: visibleInstants,
    ticks: ticks, geometry: geometry, renderPath: renderPath, overviewBars: overviewBars, overviewHeight: overviewHeight,
    renderOverview: renderOverview, clampWindow: clampWindow, parseHash: parseHash, start: start
  };
})();
if (typeof document !== 'undefined') MinivisorTimeline.start(document, window);
`;

/** A list as the script holds it (decoded): starts, ends, categories, names, the longest duration. */
export interface DecodedList {
  readonly n: number;
  readonly s: Float64Array;
  readonly e: Float64Array;
  readonly c: Int32Array;
  readonly k: Int32Array;
  readonly maxDur: number;
}

export type DecodedLanes = Record<keyof TimelineLanes, DecodedList>;

export interface DecodedPath extends Omit<TimelinePath, 'lanes'> {
  readonly lanes: readonly DecodedLanes[];
}

/** What `visibleItems` returns: a clipped item, or `n` merged ones (k = -1). */
export interface VisibleItem {
  readonly s: number;
  readonly e: number;
  readonly c: number;
  readonly k: number;
  readonly n: number;
}

/** The script's functions, as run in node (the same text the page runs). */
export interface TimelineApi {
  readonly W: number;
  readonly LABEL: number;
  decodePath(p: TimelinePath): DecodedPath;
  lowerBound(s: Float64Array, n: number, x: number): number;
  visibleItems(l: DecodedList, from: number, to: number, cpp: number): VisibleItem[];
  visibleInstants(l: DecodedList, from: number, to: number, cpc: number): { t: number; k: number; n: number }[];
  ticks(fromUs: number, toUs: number, maxTicks: number): { values: number[]; dec: number };
  geometry(p: DecodedPath | TimelinePath): { lane: number; height: number };
  renderPath(d: TimelineData, p: DecodedPath, fromUs: number, toUs: number): string;
  overviewBars(d: TimelineData, ps: readonly DecodedPath[]): string;
  overviewHeight(d: TimelineData): number;
  renderOverview(d: TimelineData, bars: string, fromUs: number, toUs: number): string;
  clampWindow(d: TimelineData, a: number, b: number): [number, number];
  parseHash(h: string): [number, number] | null;
}

let api: TimelineApi | undefined;

/** The script's functions, evaluated once in a fresh context (no document: nothing is wired). */
export function timelineApi(): TimelineApi {
  api ??= runInNewContext(`${TIMELINE_JS}\nMinivisorTimeline`, {}, { filename: 'report-timeline.js' }) as TimelineApi;
  return api;
}

/** The timeline section's figures and controls: the overview, one SVG per path drawn at the default window, and the data. */
export function timelineMarkup(d: TimelineData): { overview: string; paths: { path: string; svg: string }[] } {
  const t = timelineApi();
  const ps = d.paths.map((p) => t.decodePath(p));
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const oh = t.overviewHeight(d);
  const overview = `<svg class="overview" id="tl-overview" viewBox="0 0 ${t.W} ${oh}" width="${t.W}" height="${oh}" role="img" aria-label="overview of the whole run">${t.renderOverview(d, t.overviewBars(d, ps), d.view[0], d.view[1])}</svg>`;
  const paths = ps.map((p) => {
    const h = t.geometry(p).height;
    return { path: p.path, svg: `<svg class="timeline" data-path="${esc(p.path)}" viewBox="0 0 ${t.W} ${h}" width="${t.W}" height="${h}" role="img" aria-label="${esc(p.path)} timeline">${t.renderPath(d, p, d.view[0], d.view[1])}</svg>` };
  });
  return { overview, paths };
}
