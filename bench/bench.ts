/**
 * Runs a benchmark plan and builds the report: every job in this process, or each in a fresh
 * child process (`node <same flags> bench/run.ts --job '<json>'`), then the figures, the
 * targets, the JSON file with the machine's description.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { count } from '../scenarios/format.js';
import { describeHost, gcAvailable, load1, wallClock } from './host.js';
import { bestOf, runJob, type Job, type JobOutcome, type JobResult } from './jobs.js';
import { planJobs } from './plan.js';
import { computeFigures, computeTargets, WORKLOAD, type BenchReport } from './report.js';

export const RESULT_MARK = '@@minivisor-bench-result@@';
const RUN_TS = fileURLToPath(new URL('./run.ts', import.meta.url));
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('./results', import.meta.url));

export interface BenchOptions {
  readonly quick: boolean;
  /** Each job in its own process (default: not for --quick, yes for the full run). */
  readonly isolate?: boolean;
  /** Only jobs whose id starts with one of these. */
  readonly only?: readonly string[];
  /** Where the JSON goes (default bench/results); null: no file. */
  readonly outDir?: string | null;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** Per-job time limit in isolated mode (ms). */
  readonly jobTimeoutMs?: number;
}

export function selectJobs(quick: boolean, only?: readonly string[]): Job[] {
  const all = planJobs(quick);
  if (only === undefined || only.length === 0) return all;
  return all.filter((j) => only.some((p) => j.id === p || j.id.startsWith(p)));
}

function runIsolated(job: Job, timeoutMs: number): { result: JobResult | null; error?: string } {
  const r = spawnSync(process.execPath, [...process.execArgv, RUN_TS, '--job', JSON.stringify(job)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (line !== undefined) return { result: JSON.parse(line.slice(RESULT_MARK.length)) as JobResult };
  const why = r.error !== undefined ? r.error.message : r.signal !== null ? `killed by ${r.signal} (time limit ${timeoutMs / 1000} s?)` : `exit code ${r.status}`;
  const lines = (r.stderr ?? '').trim().split('\n').filter((l) => !l.startsWith('npm warn'));
  const first = lines.find((l) => /Error|error:/.test(l)) ?? lines.at(-1) ?? '';
  return { result: null, error: `${why}${first === '' ? '' : `: ${first.trim()}`}` };
}

function describe(o: JobOutcome): string {
  const r = o.result;
  const t = `${(o.hostMs / 1000).toFixed(1)} s${o.processes > 1 ? ` (best of ${o.processes} processes)` : ''}`;
  if (r === null) return `FAILED (${o.error}) ${t}`;
  switch (r.kind) {
    case 'steady':
      return `${r.result.points.map((p) => (p.ok ? `${Math.round(p.nsPerIrq)}` : 'FAILED')).join(' ')} ns/irq, ${t}`;
    case 'default':
      return `${count(r.result.irqsPerSec)} irqs/s, ${t}`;
    case 'its':
      return `${count(r.result.commandsPerSec)} commands/s, ${t}`;
    case 'locks':
      return `${r.result.rows.map((x) => `${x.cores} cores ${count(x.spinCyclesPerAcquisition)} spin cycles/acq`).join(', ')}, ${t}`;
    case 'core':
      return t;
  }
}

/** The commit measured and whether the working tree had changes (null outside a git checkout; MINIVISOR_COMMIT overrides). */
export function sourceVersion(): { commit: string; dirty: boolean } | null {
  const env = process.env['MINIVISOR_COMMIT'];
  if (env !== undefined && env !== '') return { commit: env, dirty: false };
  try {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

export function runBench(o: BenchOptions): BenchReport {
  const log = o.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const isolate = o.isolate ?? !o.quick;
  const jobs = selectJobs(o.quick, o.only);
  const date = wallClock();
  const l0 = load1();
  let lmax = l0;
  const t0 = performance.now();
  const outcomes: JobOutcome[] = [];
  jobs.forEach((job, i) => {
    const s = performance.now();
    let result: JobResult | null;
    let error: string | undefined;
    const processes = isolate ? Math.max(1, job.processes ?? 1) : 1;
    if (isolate) {
      result = null;
      for (let k = 0; k < processes; k++) {
        const x = runIsolated(job, o.jobTimeoutMs ?? 180_000);
        if (x.result !== null) result = result === null ? x.result : bestOf(result, x.result);
        else error = x.error;
      }
      if (result !== null) error = undefined;
    } else {
      try {
        result = runJob(job);
      } catch (e) {
        result = null;
        error = e instanceof Error ? e.message : String(e);
      }
    }
    const outcome: JobOutcome = { job, hostMs: performance.now() - s, isolated: isolate, processes, result, ...(error !== undefined ? { error } : {}) };
    outcomes.push(outcome);
    lmax = Math.max(lmax, load1());
    log(`[${String(i + 1).padStart(2)}/${jobs.length}] ${job.id.padEnd(34)} ${describe(outcome)}`);
  });
  const figures = computeFigures(outcomes, o.quick);
  const failures: { id: string; error: string }[] = [];
  for (const x of outcomes) {
    if (x.result === null) failures.push({ id: x.job.id, error: x.error ?? 'failed' });
    else if (x.result.kind === 'steady') for (const p of x.result.result.points) if (!p.ok) failures.push({ id: `${x.job.id} [${p.params.cores} cores, ${p.params.vcpus} vCPUs, ${p.params.events} events, ${p.params.devices} devices, ${p.params.idBits} ID bits]`, error: p.error ?? 'failed' });
  }
  const l1 = load1();
  const report: BenchReport = {
    format: 'minivisor-bench/1',
    date: date.iso,
    quick: o.quick,
    isolated: isolate,
    machine: describeHost(),
    source: sourceVersion(),
    load: { start: l0, end: l1, max: Math.max(lmax, l1) },
    gc: gcAvailable(),
    hostSeconds: (performance.now() - t0) / 1000,
    workload: WORKLOAD,
    figures,
    targets: computeTargets(figures),
    failures,
    jobs: outcomes,
  };
  const dir = o.outDir === undefined ? DEFAULT_OUT_DIR : o.outDir;
  if (dir !== null) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${date.stamp}${o.quick ? '-quick' : ''}.json`);
    report.file = file;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}
