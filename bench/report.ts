/**
 * From job results to figures: throughput per path, tracing cost, ITS command throughput,
 * scaling curves with their growth factors, memory per mapped event and per vCPU, and the
 * issue's targets with PASS/MISS; printed as a table with small ASCII plots, and as the
 * Markdown of bench/RESULTS.md.
 */
import { ITE_BYTES } from '../gic/its/tables.js';
import { count, fixed } from '../scenarios/format.js';
import type { BenchRow } from './core-bench.js';
import type { DefaultResult } from './default-bench.js';
import type { HostDescription } from './host.js';
import type { ItsResult } from './its-bench.js';
import type { LockResult } from './lock-bench.js';
import type { JobOutcome } from './jobs.js';
import { CURVES, curveJobId, curveX, PATHS, type CurveName } from './plan.js';
import { HANDLER_CYCLES, PERIOD, SLICE_US, type Path, type PointResult } from './steady.js';

export interface ThroughputFigure {
  readonly name: string;
  readonly path: Path;
  readonly irqsPerSec: number;
  readonly nsPerIrq: number;
  readonly cyclesPerSec: number;
  readonly nsPerOp: number;
  readonly opsPerIrq: number;
}

export interface CurvePoint {
  readonly x: number;
  readonly nsPerIrq: number;
  readonly medianNsPerIrq: number;
  readonly bootHostMs: number;
  /** Memory the booted platform retains. */
  readonly heapUsed: number;
  readonly arrayBuffers: number;
}

export interface CurveFigure {
  readonly name: CurveName;
  readonly label: string;
  readonly around: string;
  readonly path: Path;
  readonly points: readonly CurvePoint[];
  /** Host cost at the largest measured point / at the smallest. */
  readonly growth: number;
  /** Largest / smallest host cost anywhere on the curve. */
  readonly spread: number;
  /** Largest point that could be measured, and the points that could not. */
  readonly largestMeasured: number;
  readonly failed: readonly { x: number; error: string }[];
}

export interface MemoryFigure {
  readonly path: Path;
  readonly what: 'mapped event' | 'vCPU';
  /** Between these two sizes. */
  readonly from: number;
  readonly to: number;
  readonly heapBytes: number;
  readonly simBytes: number;
  readonly totalBytes: number;
  /** Same slope between the two sizes below (linearity check), if there are three sizes. */
  readonly previousTotalBytes: number | null;
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  /** null: not measured in this run. */
  readonly pass: boolean | null;
}

export interface Figures {
  readonly throughput: readonly ThroughputFigure[];
  readonly tracing: readonly { path: Path; offNsPerIrq: number; onNsPerIrq: number; ratio: number; recordsPerIrq: number }[];
  readonly its: readonly (ItsResult & { name: string })[];
  readonly curves: readonly CurveFigure[];
  readonly memory: readonly MemoryFigure[];
  readonly core: readonly BenchRow[];
  /** The spinlock under contention (lock-bench.ts); null when the job did not run. */
  readonly locks: LockResult | null;
}

export interface BenchReport {
  readonly format: 'minivisor-bench/1';
  readonly date: string;
  readonly quick: boolean;
  readonly isolated: boolean;
  readonly machine: HostDescription;
  /** The commit measured, and whether tracked files had uncommitted changes. */
  readonly source: { readonly commit: string; readonly dirty: boolean } | null;
  readonly load: { readonly start: number; readonly end: number; readonly max: number };
  readonly gc: boolean;
  readonly hostSeconds: number;
  readonly workload: string;
  readonly figures: Figures;
  readonly targets: readonly Target[];
  readonly failures: readonly { id: string; error: string }[];
  readonly jobs: readonly JobOutcome[];
  file?: string;
}

export const WORKLOAD = `1 VM, 1 vCPU, device kernel with a ${HANDLER_CYCLES}-cycle handler, one device writing an MSI every ${PERIOD} cycles (2 us at 2 GHz), WFI native, ${SLICE_US / 1000} ms slices, tracing off unless said`;

function steadyJob(jobs: readonly JobOutcome[], id: string): { points: readonly PointResult[] | null; error: string | null } | null {
  const o = jobs.find((j) => j.job.id === id);
  if (o === undefined) return null;
  if (o.result === null) return { points: null, error: o.error ?? 'failed' };
  return o.result.kind === 'steady' ? { points: o.result.result.points, error: null } : null;
}

function steadyPoint(jobs: readonly JobOutcome[], id: string, i: number): PointResult | null {
  const p = steadyJob(jobs, id)?.points?.[i];
  return p !== undefined && p.ok ? p : null;
}

function defaultOf(jobs: readonly JobOutcome[], id: string): DefaultResult | null {
  const o = jobs.find((j) => j.job.id === id);
  return o?.result?.kind === 'default' ? o.result.result : null;
}

const PATH_NAME: Record<Path, string> = { direct: 'direct (vLPI to a resident vPE)', injected: 'injected (host LPI -> EL2 -> LR)' };

export function computeFigures(jobs: readonly JobOutcome[], quick: boolean): Figures {
  const throughput: ThroughputFigure[] = [];
  for (const path of PATHS) {
    const r = steadyPoint(jobs, `steady-${path}`, 0);
    if (r !== null) throughput.push({ name: `1 core, 1 vCPU: ${PATH_NAME[path]}`, path, irqsPerSec: r.irqsPerSec, nsPerIrq: r.nsPerIrq, cyclesPerSec: r.cyclesPerSec, nsPerOp: r.nsPerOp, opsPerIrq: r.opsPerIrq });
  }
  const door = steadyPoint(jobs, 'doorbell-direct', 0);
  if (door !== null) throughput.push({ name: 'doorbell path (1 core, 1 vCPU, WFI trapped, MSI every 10 us): direct', path: 'direct', irqsPerSec: door.irqsPerSec, nsPerIrq: door.nsPerIrq, cyclesPerSec: door.cyclesPerSec, nsPerOp: door.nsPerOp, opsPerIrq: door.opsPerIrq });
  const cliff = steadyPoint(jobs, 'cliff-direct', 0);
  if (cliff !== null) {
    // The window that crosses 2^31 cycles is the first; the figure is the slowest window, so that a de-optimisation there shows.
    const worst = cliff.samples.reduce((a, s) => Math.max(a, (s.hostMs * 1e6) / s.irqs), 0);
    throughput.push({ name: 'across 2^31 cycles (1 core, 1 vCPU, slowest window): direct', path: 'direct', irqsPerSec: 1e9 / worst, nsPerIrq: worst, cyclesPerSec: cliff.cyclesPerSec, nsPerOp: cliff.nsPerOp, opsPerIrq: cliff.opsPerIrq });
  }
  for (const path of PATHS) {
    const r = defaultOf(jobs, `default-${path}`);
    if (r !== null) throughput.push({ name: `default scenario (${r.cores} cores, runScenario): ${path}`, path, irqsPerSec: r.irqsPerSec, nsPerIrq: r.nsPerIrq, cyclesPerSec: r.cyclesPerSec, nsPerOp: r.nsPerOp, opsPerIrq: r.opsPerIrq });
  }
  const tracing: Figures['tracing'][number][] = [];
  for (const path of PATHS) {
    const off = steadyPoint(jobs, `steady-${path}`, 0);
    const on = steadyPoint(jobs, `trace-${path}`, 0);
    if (off !== null && on !== null) tracing.push({ path, offNsPerIrq: off.nsPerIrq, onNsPerIrq: on.nsPerIrq, ratio: on.nsPerIrq / off.nsPerIrq, recordsPerIrq: on.recordsPerIrq });
  }
  const its: Figures['its'][number][] = [];
  for (const o of jobs) {
    if (o.result?.kind !== 'its') continue;
    const r = o.result.result;
    its.push({ ...r, name: r.feed === 'engine' ? 'ITS engine (queue fed by the host, m.run timed)' : 'driver program on PE 0 (STRs, CWRITER, polling CREADR)' });
  }
  const curves: CurveFigure[] = [];
  for (const c of CURVES) {
    for (const path of PATHS) {
      const points: CurvePoint[] = [];
      const failed: { x: number; error: string }[] = [];
      const job = steadyJob(jobs, curveJobId(c.name, path));
      if (job === null) continue;
      if (job.points === null) {
        for (const x of quick ? c.quick : c.full) failed.push({ x, error: job.error ?? 'failed' });
      } else {
        for (const p of job.points) {
          const x = curveX(c.name, p.params);
          if (!p.ok) failed.push({ x, error: p.error ?? 'failed' });
          else points.push({ x, nsPerIrq: p.nsPerIrq, medianNsPerIrq: p.medianNsPerIrq, bootHostMs: p.bootHostMs, heapUsed: p.retained.heapUsed, arrayBuffers: p.retained.arrayBuffers });
        }
      }
      if (points.length === 0 && failed.length === 0) continue;
      const costs = points.map((p) => p.nsPerIrq);
      curves.push({
        name: c.name,
        label: c.label,
        around: c.around,
        path,
        points,
        growth: points.length > 0 ? points[points.length - 1]!.nsPerIrq / points[0]!.nsPerIrq : NaN,
        spread: points.length > 0 ? Math.max(...costs) / Math.min(...costs) : NaN,
        largestMeasured: points.length > 0 ? points[points.length - 1]!.x : NaN,
        failed,
      });
    }
  }
  const memory: MemoryFigure[] = [];
  const slope = (what: MemoryFigure['what'], path: Path, pts: readonly CurvePoint[]): void => {
    if (pts.length < 2) return;
    const a = pts[pts.length - 2]!;
    const b = pts[pts.length - 1]!;
    const d = b.x - a.x;
    const heap = (b.heapUsed - a.heapUsed) / d;
    const sim = (b.arrayBuffers - a.arrayBuffers) / d;
    let prev: number | null = null;
    if (pts.length >= 3) {
      const z = pts[pts.length - 3]!;
      prev = (a.heapUsed + a.arrayBuffers - z.heapUsed - z.arrayBuffers) / (a.x - z.x);
    }
    memory.push({ path, what, from: a.x, to: b.x, heapBytes: heap, simBytes: sim, totalBytes: heap + sim, previousTotalBytes: prev });
  };
  for (const c of curves) {
    if (c.name === 'events') slope('mapped event', c.path, c.points);
    if (c.name === 'vcpus') slope('vCPU', c.path, c.points);
  }
  const core: BenchRow[] = [];
  for (const o of jobs) if (o.result?.kind === 'core') core.push(...o.result.rows);
  let locks: LockResult | null = null;
  for (const o of jobs) if (o.result?.kind === 'locks') locks = o.result.result;
  return { throughput, tracing, its, curves, memory, core, locks };
}


export function computeTargets(f: Figures): Target[] {
  const out: Target[] = [];
  const thr = (path: Path): ThroughputFigure | undefined => f.throughput.find((t) => t.path === path && t.name.startsWith('1 core'));
  for (const [path, goal] of [['direct', 1_000_000], ['injected', 700_000]] as const) {
    const t = thr(path);
    out.push({
      name: `${path} path, 1 core/1 vCPU`,
      target: `>= ${count(goal)} delivered interrupts per host second`,
      measured: t === undefined ? 'not measured' : `${count(t.irqsPerSec)} /s (${count(t.nsPerIrq)} ns each)`,
      pass: t === undefined ? null : t.irqsPerSec >= goal,
    });
  }
  for (const c of f.curves.filter((x) => x.name === 'idBits')) {
    const ok = c.points.length >= 2;
    const base = c.points[0];
    // Every point against the cost at the smallest ID space (14 bits).
    const dev = ok ? Math.max(...c.points.map((p) => Math.abs(p.nsPerIrq / base!.nsPerIrq - 1))) : NaN;
    out.push({
      name: `ID-space independence (${c.path})`,
      target: `per-interrupt cost within 10% of the ${base?.x ?? 14}-bit cost up to 24 ID bits`,
      measured: ok ? `largest deviation ${fixed(dev * 100, 1)}% (${c.points.map((p) => `${p.x}: ${count(p.nsPerIrq)}`).join(', ')} ns; max/min ${fixed(c.spread, 2)})` : 'not measured',
      pass: ok ? dev <= 0.1 && c.failed.length === 0 : null,
    });
  }
  for (const c of f.curves) {
    const ok = c.points.length >= 2;
    const first = c.points[0];
    out.push({
      name: `growth along ${c.label} (${c.path})`,
      target: '< 2x from the smallest to the largest point',
      measured: ok ? `${fixed(c.growth, 2)}x from ${count(first!.x)} to ${count(c.largestMeasured)}${c.failed.length > 0 ? ` (not measured: ${c.failed.map((x) => count(x.x)).join(', ')})` : ''}` : 'not measured',
      pass: ok ? c.growth < 2 && c.failed.length === 0 : null,
    });
  }
  for (const m of f.memory.filter((x) => x.what === 'mapped event')) {
    const beyond = m.totalBytes - ITE_BYTES;
    const linear = m.previousTotalBytes === null ? null : Math.abs(m.totalBytes - m.previousTotalBytes) <= 0.35 * Math.max(m.totalBytes, m.previousTotalBytes) + 16;
    out.push({
      name: `memory per mapped event (${m.path})`,
      target: `linear, < 200 bytes per event beyond the ITT's ${ITE_BYTES}`,
      measured: `${fixed(beyond, 0)} B beyond the ITT (${fixed(m.totalBytes, 0)} B total: ${fixed(m.heapBytes, 0)} JS heap + ${fixed(m.simBytes, 0)} ArrayBuffers); slope ${m.previousTotalBytes === null ? '?' : fixed(m.previousTotalBytes, 0)} B -> ${fixed(m.totalBytes, 0)} B${linear === null ? '' : linear ? ' (linear)' : ' (NOT linear)'}`,
      pass: beyond < 200 && linear !== false,
    });
  }
  for (const t of f.tracing) {
    out.push({ name: `tracing cost (${t.path})`, target: 'trace on < 3x trace off', measured: `${fixed(t.ratio, 2)}x (${count(t.onNsPerIrq)} vs ${count(t.offNsPerIrq)} ns per interrupt)`, pass: t.ratio < 3 });
  }
  return out;
}

// ------------------------------------------------------------------------- text

function table(head: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (align[i] === 'r' ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** One bar per point and path, scaled to the curve's largest cost. */
function plot(curves: readonly CurveFigure[]): string {
  const max = Math.max(...curves.flatMap((c) => c.points.map((p) => p.nsPerIrq)));
  const width = 36;
  const xs = [...new Set(curves.flatMap((c) => c.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lines: string[] = [];
  const xw = Math.max(...xs.map((x) => count(x).length));
  for (const x of xs) {
    const cells = curves.map((c) => {
      const p = c.points.find((q) => q.x === x);
      if (p === undefined) return ''.padEnd(width + 9);
      const n = Math.max(1, Math.round((p.nsPerIrq / max) * width));
      return `${(c.path === 'direct' ? '#' : '=').repeat(n).padEnd(width)} ${fixed(p.nsPerIrq / 1000, 2).padStart(5)} us`;
    });
    lines.push(`  ${count(x).padStart(xw)} | ${cells.join('   ')}`.trimEnd());
  }
  return lines.join('\n');
}

export function formatReport(r: BenchReport): string {
  const f = r.figures;
  const m = r.machine;
  const out: string[] = [];
  out.push(`minivisor benchmarks, ${r.date}${r.quick ? ' (quick)' : ''}`);
  out.push(`host: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} ${m.arch}, Node ${m.node}; load ${r.load.start} at start, ${r.load.end} at end (max ${r.load.max})`);
  out.push(`${r.isolated ? 'each job in its own Node process (throughput, tracing, ITS: best of 2-3 processes; a curve: one process, its points interleaved)' : 'all jobs in one process (indicative only)'}; best of several windows; gc ${r.gc ? 'available' : 'NOT available (memory figures unreliable)'}; ${fixed(r.hostSeconds, 1)} s`);
  out.push(`source: ${r.source === null ? 'unknown' : `${r.source.commit.slice(0, 10)}${r.source.dirty ? ' + uncommitted changes' : ''}`}`);
  out.push(`workload: ${WORKLOAD}`);
  out.push('');
  out.push('THROUGHPUT (simulated interrupts delivered end to end, MSI write to guest EOI)');
  out.push(table(
    ['scenario', 'irqs / host s', 'host ns / irq', 'sim Mcycles / host s', 'host ns / op', 'ops / irq'],
    f.throughput.map((t) => [t.name, count(t.irqsPerSec), count(t.nsPerIrq), fixed(t.cyclesPerSec / 1e6, 1), fixed(t.nsPerOp, 1), fixed(t.opsPerIrq, 1)]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  ));
  out.push('  (default scenario: runScenario host time, boot warm-up included; cycles are machine-clock cycles of simulated time, ops summed over PEs)');
  if (f.tracing.length > 0) {
    out.push('');
    out.push('TRACING (1 core, 1 vCPU; records kept, trace cleared between windows)');
    out.push(table(['path', 'off ns / irq', 'on ns / irq', 'on / off', 'records / irq', 'ns / record'], f.tracing.map((t) => [t.path, count(t.offNsPerIrq), count(t.onNsPerIrq), `${fixed(t.ratio, 2)}x`, fixed(t.recordsPerIrq, 1), fixed((t.onNsPerIrq - t.offNsPerIrq) / t.recordsPerIrq, 1)]), ['l', 'r', 'r', 'r', 'r', 'r']));
  }
  if (f.its.length > 0) {
    out.push('');
    out.push('ITS COMMANDS (MAPTI / INT / DISCARD stream over 1,024 events of one device)');
    out.push(table(['feed', 'commands', 'commands / host s', 'host ns / cmd', 'sim cycles / cmd'], f.its.map((i) => [i.name, count(i.commands), count(i.commandsPerSec), count(i.nsPerCommand), fixed(i.cyclesPerCommand, 0)]), ['l', 'r', 'r', 'r', 'r']));
  }
  if (f.locks !== null) {
    out.push('');
    out.push(`LOCK CONTENTION (drivers/spinlock.ts: N cores at EL2 take one ticket lock, hold it ${f.locks.critical} cycles, work ${f.locks.outside} outside)`);
    out.push(lockTable(f.locks));
  }
  const names = [...new Set(f.curves.map((c) => c.name))];
  if (names.length > 0) {
    out.push('');
    out.push('SCALING (host ns per delivered interrupt, same workload, the system around it grows)');
  }
  for (const n of names) {
    const cs = f.curves.filter((c) => c.name === n);
    const c0 = cs[0]!;
    out.push('');
    out.push(`${c0.label}: ${c0.around}`);
    const xs = [...new Set(cs.flatMap((c) => [...c.points.map((p) => p.x), ...c.failed.map((x) => x.x)]))].sort((a, b) => a - b);
    const cell = (c: CurveFigure, x: number, f: (p: CurvePoint) => string): string => {
      const p = c.points.find((q) => q.x === x);
      return p !== undefined ? f(p) : c.failed.some((q) => q.x === x) ? 'FAILED' : '';
    };
    const rows: string[][] = [];
    for (const c of cs) {
      rows.push([`${c.path} best`, ...xs.map((x) => cell(c, x, (p) => count(p.nsPerIrq))), `${fixed(c.growth, 2)}x`]);
      rows.push([`${c.path} median`, ...xs.map((x) => cell(c, x, (p) => count(p.medianNsPerIrq))), '']);
      rows.push([`${c.path} boot ms`, ...xs.map((x) => cell(c, x, (p) => count(p.bootHostMs))), '']);
    }
    out.push(table([c0.label, ...xs.map(count), 'growth'], rows, ['l', ...xs.map(() => 'r' as const), 'r']));
    out.push(plot(cs));
    out.push(`  (# direct, = injected)`);
    for (const c of cs) for (const x of c.failed) out.push(`  ${c.path} at ${count(x.x)}: NOT MEASURED: ${x.error}`);
  }
  if (f.memory.length > 0) {
    out.push('');
    out.push('MEMORY (after boot and a full GC; slope between the two largest sizes of the curve)');
    out.push(table(
      ['per', 'path', 'sizes', 'JS heap B', 'ArrayBuffers B', 'total B', 'slope below'],
      f.memory.map((x) => [x.what, x.path, `${count(x.from)} -> ${count(x.to)}`, count(x.heapBytes), count(x.simBytes), count(x.totalBytes), x.previousTotalBytes === null ? '-' : count(x.previousTotalBytes)]),
      ['l', 'l', 'l', 'r', 'r', 'r', 'r'],
    ));
    out.push(`  (retained by each booted platform; ArrayBuffers = simulated RAM pages (4 KB each, on first write) and typed arrays such as\n   register-block indexes; the ITT is ${ITE_BYTES} B per event of simulated RAM; slope below = the same between the next two sizes down)`);
  }
  if (f.core.length > 0) {
    out.push('');
    out.push('CORE MICRO-BENCHMARKS');
    out.push(table(['benchmark', 'count', 'per host s', 'host ns each'], f.core.map((c) => [c.name, count(c.count), count(c.perSecond), fixed(c.nsPer, 1)]), ['l', 'r', 'r', 'r']));
  }
  out.push('');
  out.push('TARGETS (issue 8)');
  out.push(table(['', 'target', 'measured', ''], r.targets.map((t) => [t.name, t.target, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS']), ['l', 'l', 'l', 'l']));
  if (r.failures.length > 0) {
    out.push('');
    out.push('FAILED JOBS');
    for (const x of r.failures) out.push(`  ${x.id}: ${x.error}`);
  }
  return out.join('\n');
}

// ------------------------------------------------------------------------- markdown

export function formatMarkdown(r: BenchReport, jsonPath: string): string {
  const f = r.figures;
  const m = r.machine;
  const md: string[] = [];
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const head = (cells: readonly string[], align: string): string => `${row(cells)}\n${align}`;
  md.push('## Benchmark results');
  md.push('');
  md.push(`Measured ${r.date.slice(0, 10)} with \`npm run bench\` on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Node ${m.node}, commit ${r.source === null ? 'unknown' : `${r.source.commit.slice(0, 10)}${r.source.dirty ? ' with uncommitted changes' : ''}`}; load average ${r.load.start} at start, ${r.load.end} at end, ${r.load.max} at most (a shared machine: absolute figures vary by tens of percent between runs). Each job ran in its own Node process; throughput, tracing and ITS figures are the best of 2-3 processes, each the best of several measured windows (each window after a full garbage collection); the points of a scaling curve share one process with their windows interleaved, so a curve's growth factor compares like with like. Raw figures: \`${jsonPath}\`.`);
  md.push('');
  md.push(`Steady-state scenario: ${WORKLOAD}.`);
  md.push('');
  md.push('Rerun: `npm run bench` (about 3 minutes on 2 cores; `-- --quick` in under 30 s, `-- --only scale-events` for a subset, `-- --list` for the job ids, `-- --profile steady-direct` for the top self-time functions of one benchmark, `-- --results-md` to regenerate this section).');
  md.push('');
  md.push(head(['Throughput', 'interrupts / host s', 'host ns / interrupt', 'simulated Mcycles / host s', 'host ns / simulated op'], '|---|---:|---:|---:|---:|'));
  for (const t of f.throughput) md.push(row([t.name, count(t.irqsPerSec), count(t.nsPerIrq), fixed(t.cyclesPerSec / 1e6, 1), fixed(t.nsPerOp, 1)]));
  md.push('');
  if (f.tracing.length > 0) {
    md.push(head(['Tracing on (1 core, 1 vCPU)', 'host ns / interrupt off', 'on', 'on / off', 'trace records / interrupt'], '|---|---:|---:|---:|---:|'));
    for (const t of f.tracing) md.push(row([t.path, count(t.offNsPerIrq), count(t.onNsPerIrq), `${fixed(t.ratio, 2)}x`, fixed(t.recordsPerIrq, 1)]));
    md.push('');
  }
  if (f.its.length > 0) {
    md.push(head(['ITS commands (MAPTI/INT/DISCARD)', 'commands / host s', 'host ns / command'], '|---|---:|---:|'));
    for (const i of f.its) md.push(row([i.name, count(i.commandsPerSec), count(i.nsPerCommand)]));
    md.push('');
  }
  if (f.locks !== null) {
    md.push(head([`Spinlock, ${f.locks.critical}-cycle critical section, ${f.locks.outside} outside`, 'acquisitions / host s', 'host ns each', 'sim spin cycles / acquisition', 'contended', 'longest spin (cycles)'], '|---|---:|---:|---:|---:|---:|'));
    for (const x of f.locks.rows) md.push(row([`${x.cores} core${x.cores === 1 ? '' : 's'}`, count(x.acquisitionsPerSec), count(x.hostNsPerAcquisition), count(x.spinCyclesPerAcquisition), `${fixed(100 * x.contendedShare, 0)}%`, count(x.maxSpinCycles)]));
    md.push('');
  }
  if (f.curves.length > 0) {
    md.push(head(['Scaling (host ns / interrupt)', 'path', 'points', 'smallest', 'largest', 'growth'], '|---|---|---|---:|---:|---:|'));
    for (const c of f.curves) {
      const a = c.points[0];
      const b = c.points[c.points.length - 1];
      md.push(row([c.label, c.path, c.points.map((p) => count(p.x)).join(', ') + (c.failed.length > 0 ? ` (not measured: ${c.failed.map((x) => count(x.x)).join(', ')})` : ''), a === undefined ? '-' : count(a.nsPerIrq), b === undefined ? '-' : count(b.nsPerIrq), `${fixed(c.growth, 2)}x`]));
    }
    md.push('');
  }
  if (f.memory.length > 0) {
    md.push(head(['Memory retained', 'path', 'JS heap B', 'ArrayBuffers B (simulated RAM, typed arrays)', 'total B'], '|---|---|---:|---:|---:|'));
    for (const x of f.memory) md.push(row([`per ${x.what} (${count(x.from)} -> ${count(x.to)})`, x.path, count(x.heapBytes), count(x.simBytes), count(x.totalBytes)]));
    md.push('');
  }
  md.push(head(['Target (issue 8)', 'measured', ''], '|---|---|---|'));
  for (const t of r.targets) md.push(row([`${t.name}: ${t.target}`, t.measured, t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS']));
  md.push('');
  return md.join('\n');
}

/** The lock contention rows as a text table. */
function lockTable(l: LockResult): string {
  return table(
    ['cores', 'acquisitions', 'acq / host s', 'host ns each', 'sim spin cycles / acq', 'contended', 'longest spin'],
    l.rows.map((x) => [String(x.cores), count(x.acquisitions), count(x.acquisitionsPerSec), count(x.hostNsPerAcquisition), count(x.spinCyclesPerAcquisition), `${fixed(100 * x.contendedShare, 0)}%`, count(x.maxSpinCycles)]),
    ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}
