/**
 * A benchmark run is a list of jobs. Each job is plain data, so it can run in this process or
 * in a fresh child process (`bench/run.ts --job '<json>'`), where the JIT has seen nothing else
 * and the heap holds nothing else (the full run isolates every job that way).
 */
import { benchHypercalls, benchOps, benchProtocol, type BenchRow } from './core-bench.js';
import { runDefault, type DefaultResult } from './default-bench.js';
import { runIts, type ItsFeed, type ItsResult } from './its-bench.js';
import { runLocks, type LockResult } from './lock-bench.js';
import { runSteady, type Path, type SteadyParams, type SteadyResult } from './steady.js';

/** `processes`: in isolated mode, run the job in that many fresh processes and keep the best (default 1). */
export type Job = (
  | { readonly kind: 'core'; readonly id: string; readonly ops: number; readonly calls: number }
  | { readonly kind: 'steady'; readonly id: string; readonly points: readonly SteadyParams[]; readonly warmIrqs: number; readonly windowIrqs: number; readonly reps: number }
  | { readonly kind: 'default'; readonly id: string; readonly path: Path; readonly reps: number }
  | { readonly kind: 'its'; readonly id: string; readonly feed: ItsFeed; readonly commands: number; readonly reps: number }
  | { readonly kind: 'locks'; readonly id: string; readonly perCore: number; readonly reps: number }
) & { readonly processes?: number };

export type JobResult =
  | { readonly kind: 'core'; readonly id: string; readonly rows: readonly BenchRow[] }
  | { readonly kind: 'steady'; readonly id: string; readonly result: SteadyResult }
  | { readonly kind: 'default'; readonly id: string; readonly result: DefaultResult }
  | { readonly kind: 'its'; readonly id: string; readonly result: ItsResult }
  | { readonly kind: 'locks'; readonly id: string; readonly result: LockResult };

export interface JobOutcome {
  readonly job: Job;
  readonly hostMs: number;
  readonly isolated: boolean;
  /** Processes the job ran in (isolated mode); the result is the best of them. */
  readonly processes: number;
  readonly result: JobResult | null;
  readonly error?: string;
}

/** Runs one job in this process. `around` wraps its measured part (profiling). */
export function runJob(job: Job, around?: (measure: () => void) => void): JobResult {
  switch (job.kind) {
    case 'core': {
      const rows: BenchRow[] = [];
      const measure = (): void => {
        rows.push(benchOps(job.ops), ...benchProtocol(job.ops), benchHypercalls(job.calls));
      };
      if (around !== undefined) around(measure);
      else measure();
      return { kind: 'core', id: job.id, rows };
    }
    case 'steady':
      return { kind: 'steady', id: job.id, result: runSteady(job.points, { warmIrqs: job.warmIrqs, windowIrqs: job.windowIrqs, reps: job.reps, around }) };
    case 'default':
      return { kind: 'default', id: job.id, result: runDefault(job.path, job.reps, around) };
    case 'its':
      return { kind: 'its', id: job.id, result: runIts(job.feed, job.commands, job.reps, around) };
    case 'locks':
      return { kind: 'locks', id: job.id, result: runLocks(job.perCore, job.reps, around) };
  }
}

/**
 * The better of two results of the same job (from two processes): per steady point the one
 * with the least host time per interrupt, else the higher throughput.
 */
export function bestOf(a: JobResult, b: JobResult): JobResult {
  if (a.kind === 'steady' && b.kind === 'steady') {
    const points = a.result.points.map((p, i) => {
      const q = b.result.points[i];
      if (q === undefined || !q.ok) return p;
      return !p.ok || q.nsPerIrq < p.nsPerIrq ? q : p;
    });
    return { ...a, result: { ...a.result, points, load: [Math.min(a.result.load[0], b.result.load[0]), Math.max(a.result.load[1], b.result.load[1])], peakRss: Math.max(a.result.peakRss, b.result.peakRss) } };
  }
  if (a.kind === 'default' && b.kind === 'default') return b.result.irqsPerSec > a.result.irqsPerSec ? b : a;
  if (a.kind === 'its' && b.kind === 'its') return b.result.commandsPerSec > a.result.commandsPerSec ? b : a;
  if (a.kind === 'locks' && b.kind === 'locks') return { ...a, result: { ...a.result, rows: a.result.rows.map((r, i) => (b.result.rows[i] !== undefined && b.result.rows[i]!.hostMs < r.hostMs ? b.result.rows[i]! : r)) } };
  if (a.kind === 'core' && b.kind === 'core') return { ...a, rows: a.rows.map((r, i) => (b.rows[i] !== undefined && b.rows[i]!.nsPer < r.nsPer ? b.rows[i]! : r)) };
  return a;
}
