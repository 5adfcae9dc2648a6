/**
 * `npm run bench -- --base DIR`: the same jobs measured on another checkout of minivisor (DIR,
 * e.g. a worktree of the commit before a change) and on this tree, in one run, side by side.
 *
 * Both sides run THIS tree's benchmark code: it is copied to DIR/.bench-current/, a sibling of
 * DIR's own bench/, so that its `../core`, `../scenarios`... imports resolve to DIR's model.
 * Only the model differs, never the harness. Each job runs in `processes` fresh Node processes
 * per side, the sides interleaved (base, this, this, base, base, this...), so that both see the
 * same host conditions on a shared machine; each side's figure is its best process (each
 * process already keeps its best window). The table gives each throughput on both sides, the
 * ratio, the issue-15 speed target for it, and the goals of 1,000,000 direct and 700,000
 * injected interrupts per host second.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { count, fixed } from '../scenarios/format.js';
import { RESULT_MARK, selectJobs } from './bench.js';
import { describeHost, load1, wallClock } from './host.js';
import { bestOf, type Job, type JobOutcome, type JobResult } from './jobs.js';
import { computeFigures, type ThroughputFigure } from './report.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The jobs compared by default: the issue's targets. */
export const COMPARE_JOBS: readonly string[] = ['steady-direct', 'steady-injected', 'doorbell-direct', 'default-direct', 'default-injected', 'cliff-direct'];

/** Speed target (this / base) per throughput row, by the start of its name (issue 15). */
const TARGETS: readonly (readonly [string, number])[] = [
  ['1 core, 1 vCPU: direct', 1.6],
  ['1 core, 1 vCPU: injected', 1.6],
  ['doorbell path', 2],
  ['default scenario', 1.5],
];

/** Goals in delivered interrupts per host second (issue 8). */
const GOALS: readonly (readonly [string, number])[] = [
  ['1 core, 1 vCPU: direct', 1_000_000],
  ['1 core, 1 vCPU: injected', 700_000],
];

export interface CompareRow {
  readonly name: string;
  readonly base: ThroughputFigure | null;
  readonly current: ThroughputFigure | null;
  /** current / base throughput. */
  readonly ratio: number;
  readonly target: number | null;
  readonly goal: number | null;
}

export interface CompareReport {
  readonly format: 'minivisor-bench-compare/1';
  readonly date: string;
  readonly baseDir: string;
  readonly processes: number;
  readonly load: { readonly start: number; readonly end: number };
  readonly machine: ReturnType<typeof describeHost>;
  readonly rows: readonly CompareRow[];
  readonly base: readonly JobOutcome[];
  readonly current: readonly JobOutcome[];
}

/** Copies this tree's bench/*.ts to DIR/.bench-current/ and returns the path of its run.ts there. */
export function installHarness(baseDir: string): string {
  const to = join(baseDir, '.bench-current');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(HERE)) if (f.endsWith('.ts')) cpSync(join(HERE, f), join(to, f));
  return join(to, 'run.ts');
}

function runIn(runTs: string, cwd: string, job: Job): JobResult | string {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', runTs, '--job', JSON.stringify(job)], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (line !== undefined) return JSON.parse(line.slice(RESULT_MARK.length)) as JobResult;
  return `${r.error?.message ?? `exit ${r.status}`}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
}

export function runCompare(o: { baseDir: string; quick: boolean; only?: readonly string[]; processes?: number; log?: (s: string) => void }): CompareReport {
  const log = o.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const baseDir = resolve(o.baseDir);
  if (!existsSync(join(baseDir, 'core', 'pe.ts'))) throw new Error(`--base ${o.baseDir}: not a minivisor checkout (no core/pe.ts)`);
  const baseRun = installHarness(baseDir);
  const curRun = join(HERE, 'run.ts');
  const curDir = resolve(HERE, '..');
  const ids = o.only !== undefined && o.only.length > 0 ? o.only : COMPARE_JOBS;
  const jobs = selectJobs(o.quick, ids);
  const processes = o.processes ?? 3;
  const date = wallClock();
  const l0 = load1();
  const sides: [JobOutcome[], JobOutcome[]] = [[], []];
  for (const job of jobs) {
    const best: [JobResult | null, JobResult | null] = [null, null];
    const err: [string | undefined, string | undefined] = [undefined, undefined];
    const ms: [number, number] = [0, 0];
    for (let k = 0; k < processes; k++) {
      // base first on even rounds, this tree first on odd ones
      for (const side of k % 2 === 0 ? [0, 1] : [1, 0]) {
        const t0 = performance.now();
        const r = side === 0 ? runIn(baseRun, baseDir, job) : runIn(curRun, curDir, job);
        ms[side]! += performance.now() - t0;
        if (typeof r === 'string') err[side] = r;
        else best[side] = best[side] === null ? r : bestOf(best[side]!, r);
      }
    }
    for (const side of [0, 1] as const) {
      sides[side].push({ job, hostMs: ms[side], isolated: true, processes, result: best[side], ...(best[side] === null ? { error: err[side] } : {}) });
    }
    log(`${job.id.padEnd(20)} base ${best[0] === null ? `FAILED (${err[0]})` : 'ok'}, this tree ${best[1] === null ? `FAILED (${err[1]})` : 'ok'} (${fixed((ms[0] + ms[1]) / 1000, 1)} s)`);
  }
  const fb = computeFigures(sides[0], o.quick).throughput;
  const fc = computeFigures(sides[1], o.quick).throughput;
  const names = [...new Set([...fb.map((t) => t.name), ...fc.map((t) => t.name)])];
  const rows: CompareRow[] = names.map((name) => {
    const base = fb.find((t) => t.name === name) ?? null;
    const current = fc.find((t) => t.name === name) ?? null;
    return {
      name,
      base,
      current,
      ratio: base !== null && current !== null ? current.irqsPerSec / base.irqsPerSec : NaN,
      target: TARGETS.find(([p]) => name.startsWith(p))?.[1] ?? null,
      goal: GOALS.find(([p]) => name.startsWith(p))?.[1] ?? null,
    };
  });
  return { format: 'minivisor-bench-compare/1', date: date.iso, baseDir, processes, load: { start: l0, end: load1() }, machine: describeHost(), rows, base: sides[0], current: sides[1] };
}

function cells(r: CompareRow): string[] {
  const verdict = r.target === null || !Number.isFinite(r.ratio) ? '' : r.ratio >= r.target ? 'PASS' : 'MISS';
  return [
    r.name,
    r.base === null ? '-' : count(r.base.irqsPerSec),
    r.current === null ? '-' : count(r.current.irqsPerSec),
    Number.isFinite(r.ratio) ? `${fixed(r.ratio, 2)}x` : '-',
    r.target === null ? '' : `>= ${fixed(r.target, 1)}x ${verdict}`,
    r.goal === null || r.current === null ? '' : `${count(r.goal)}: ${fixed((r.current.irqsPerSec / r.goal) * 100, 0)}% of it`,
  ];
}

const HEAD = ['throughput (interrupts / host s)', 'base', 'this tree', 'this / base', 'target', 'goal'];

export function formatCompare(c: CompareReport): string {
  const rows = c.rows.map(cells);
  const w = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((x, i) => (i === 0 || i >= 4 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ').trimEnd();
  return [
    `side by side: base ${c.baseDir} against this tree, ${c.processes} processes per side, interleaved, best of each (load ${c.load.start} -> ${c.load.end})`,
    line(HEAD),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
  ].join('\n');
}

export function compareMarkdown(c: CompareReport): string {
  const rows = c.rows.map(cells);
  return [`| ${HEAD.join(' | ')} |`, '|---|---:|---:|---:|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function writeCompare(c: CompareReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `compare-${c.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`);
  return file;
}
