/**
 * A benchmark run is a list of jobs. Each job is plain data, so it can run in this process or
 * in a fresh child process (`bench/run.ts --job '<json>'`), where the JIT has seen nothing else
 * and the heap holds nothing else (the full run isolates every job that way).
 */
import { benchHypercalls, benchOps, type BenchRow } from './core-bench.js';
import { runDefault, type DefaultResult } from './default-bench.js';
import { runIts, type ItsFeed, type ItsResult } from './its-bench.js';
import { runSteady, type Path, type SteadyParams, type SteadyResult } from './steady.js';

export type Job =
  | { readonly kind: 'core'; readonly id: string; readonly ops: number; readonly calls: number }
  | { readonly kind: 'steady'; readonly id: string; readonly points: readonly SteadyParams[]; readonly warmIrqs: number; readonly windowIrqs: number; readonly reps: number }
  | { readonly kind: 'default'; readonly id: string; readonly path: Path; readonly reps: number }
  | { readonly kind: 'its'; readonly id: string; readonly feed: ItsFeed; readonly commands: number; readonly reps: number };

export type JobResult =
  | { readonly kind: 'core'; readonly id: string; readonly rows: readonly BenchRow[] }
  | { readonly kind: 'steady'; readonly id: string; readonly result: SteadyResult }
  | { readonly kind: 'default'; readonly id: string; readonly result: DefaultResult }
  | { readonly kind: 'its'; readonly id: string; readonly result: ItsResult };

export interface JobOutcome {
  readonly job: Job;
  readonly hostMs: number;
  readonly isolated: boolean;
  readonly result: JobResult | null;
  readonly error?: string;
}

/** Runs one job in this process. `around` wraps its measured part (profiling). */
export function runJob(job: Job, around?: (measure: () => void) => void): JobResult {
  switch (job.kind) {
    case 'core': {
      const rows: BenchRow[] = [];
      const measure = (): void => {
        rows.push(benchOps(job.ops), benchHypercalls(job.calls));
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
  }
}
