/**
 * `npm run bench [-- options]`: runs the benchmarks with tracing off (except the tracing-cost
 * pair), prints the figures and the issue's targets with PASS/MISS, and writes the same figures
 * with a description of the host to bench/results/<date>[-quick].json.
 *
 *   --quick              reduced run, all jobs in this process (under 30 s)
 *   --only a,b           only the jobs whose id starts with a or b (see --list)
 *   --isolate / --no-isolate
 *                        each job in its own Node process (default for the full run) or not
 *   --list               print the job ids of the plan and exit
 *   --profile ID[@X]     run job ID (or only point X of scaling curve ID, e.g.
 *                        scale-events-direct@1000000) alone in this process under the V8 CPU
 *                        profiler (measured windows only), print the top self-time functions
 *                        and files, and save bench/results/profiles/ID-<date>.cpuprofile
 *   --results-md [FILE]  also write the Markdown results section (default bench/RESULTS.md)
 *   --from FILE          do not measure: print (and with --results-md, write) the report of an
 *                        earlier run's JSON, its figures and targets recomputed from its jobs
 *   --no-write           do not write the JSON file
 *   --base DIR           side by side: the throughput jobs (or --only's) measured on the checkout
 *                        DIR (e.g. a worktree of the commit before a change) and on this tree,
 *                        interleaved processes (--processes N per side, default 3), with the
 *                        ratio and the speed targets (bench/compare.ts); --results-md FILE also
 *                        writes the table as Markdown
 *   --job JSON           (internal) run one job and print its result for the parent process
 *
 * The whole-process alternative to --profile: `node --cpu-prof --cpu-prof-dir=bench/results/profiles
 * --import=tsx bench/run.ts --only ID --no-isolate` (includes boot and the JIT warm-up).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { count } from '../scenarios/format.js';
import { DEFAULT_OUT_DIR, RESULT_MARK, runBench, selectJobs } from './bench.js';
import { load1, wallClock } from './host.js';
import { compareMarkdown, formatCompare, runCompare, writeCompare } from './compare.js';
import { runJob, type Job, type JobResult } from './jobs.js';
import { CURVES, curveX } from './plan.js';
import { formatSummary, profile, saveProfile, summarise, type CpuProfile } from './profile.js';
import { computeFigures, computeTargets, formatMarkdown, formatReport, type BenchReport } from './report.js';
import type { SteadyParams } from './steady.js';

const argv = process.argv.slice(2);
const has = (f: string): boolean => argv.includes(f);
const value = (f: string): string | undefined => {
  const i = argv.indexOf(f);
  const v = i >= 0 ? argv[i + 1] : undefined;
  return v !== undefined && !v.startsWith('--') ? v : undefined;
};
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function main(): void {
  const jobArg = value('--job');
  if (jobArg !== undefined) {
    const r = runJob(JSON.parse(jobArg) as Job);
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(r)}\n`);
    return;
  }
  const quick = has('--quick');
  const only = value('--only')?.split(',').filter((s) => s !== '');
  if (has('--list')) {
    for (const j of selectJobs(quick, only)) process.stdout.write(`${j.id}\n`);
    return;
  }
  const base = value('--base');
  if (has('--base')) {
    if (base === undefined) throw new Error('--base needs a directory (a minivisor checkout)');
    const c = runCompare({ baseDir: base, quick, only, processes: Number(value('--processes') ?? 3) });
    process.stdout.write(`\n${formatCompare(c)}\n`);
    if (!has('--no-write')) process.stdout.write(`wrote ${relative(process.cwd(), writeCompare(c, DEFAULT_OUT_DIR))}\n`);
    const md = value('--results-md');
    if (md !== undefined) {
      writeFileSync(md, `${compareMarkdown(c)}\n`);
      process.stdout.write(`wrote ${md}\n`);
    }
    return;
  }
  const prof = value('--profile');
  if (has('--profile')) {
    if (prof === undefined) throw new Error('--profile needs a job id (see --list)');
    profileJob(quick, prof);
    return;
  }
  const from = value('--from');
  const isolate = has('--isolate') ? true : has('--no-isolate') ? false : undefined;
  const report = from !== undefined ? loadReport(from) : runBench({ quick, isolate, only, outDir: has('--no-write') ? null : DEFAULT_OUT_DIR });
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (report.file !== undefined && from === undefined) process.stdout.write(`\nwrote ${relative(process.cwd(), report.file)}\n`);
  if (has('--results-md')) {
    const file = value('--results-md') ?? join(ROOT, 'bench', 'RESULTS.md');
    const json = report.file !== undefined ? relative(ROOT, report.file) : '(not written)';
    writeFileSync(file, formatMarkdown(report, json));
    process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
  }
}

/** An earlier run's report, its figures and targets recomputed from its jobs (so that report changes apply). */
function loadReport(file: string): BenchReport {
  const r = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  if (r.format !== 'minivisor-bench/1') throw new Error(`${file}: not a minivisor-bench/1 report`);
  const figures = computeFigures(r.jobs, r.quick);
  return { ...r, source: r.source ?? null, figures, targets: computeTargets(figures), file: resolve(file) };
}

/** The job `id`, or `id@x`: one point (parameter value x) of a scaling curve. */
function findJob(quick: boolean, spec: string): Job {
  const [id, at] = spec.split('@') as [string, string | undefined];
  const job = selectJobs(quick).find((j) => j.id === id) ?? selectJobs(!quick).find((j) => j.id === id);
  if (job === undefined) throw new Error(`no job ${id}; --list shows them`);
  if (at === undefined) return job;
  const curve = CURVES.find((c) => id.startsWith(`scale-${c.name}-`));
  if (job.kind !== 'steady' || curve === undefined) throw new Error(`${id} is not a scaling curve: no @point`);
  const x = Number(at);
  const points = job.points.filter((p) => curveX(curve.name, p) === x);
  if (points.length === 0) throw new Error(`${id} has no point ${at} (points: ${job.points.map((p) => curveX(curve.name, p)).join(', ')})`);
  return { ...job, id: spec, points };
}

function pointName(p: SteadyParams): string {
  return `[${p.path}, ${p.cores} cores, ${p.vcpus} vCPUs, ${p.events} events, ${p.devices} devices, ${p.idBits} ID bits${p.trace ? ', trace on' : ''}]`;
}

function profileJob(quick: boolean, id: string): void {
  const job = findJob(quick, id);
  let p: CpuProfile | null = null;
  const l0 = load1();
  const t0 = performance.now();
  const result: JobResult = runJob(job, (measure) => {
    p = profile(measure);
  });
  const cpu = p as CpuProfile | null;
  if (cpu === null) throw new Error(`job ${id} measured nothing`);
  const file = join(DEFAULT_OUT_DIR, 'profiles', `${id.replace('@', '-at-')}-${wallClock().stamp}.cpuprofile`);
  saveProfile(cpu, file);
  const s = { ...summarise(cpu, 40), file: relative(process.cwd(), file) };
  process.stdout.write(`${headline(result)} (load ${l0} -> ${load1()}, ${((performance.now() - t0) / 1000).toFixed(1)} s with the profiler on)\n\n`);
  process.stdout.write(`${formatSummary(`profile of ${id}`, s, 25)}\n`);
}

function headline(r: JobResult): string {
  switch (r.kind) {
    case 'steady':
      return r.result.points
        .map((p) => (p.ok ? `${r.id} ${pointName(p.params)}: ${count(p.irqsPerSec)} interrupts / host s, ${Math.round(p.nsPerIrq)} ns each, ${p.opsPerIrq.toFixed(1)} ops each` : `${r.id} ${pointName(p.params)}: not measured: ${p.error}`))
        .join('\n');
    case 'default':
      return `${r.id}: ${count(r.result.irqsPerSec)} interrupts / host s`;
    case 'its':
      return `${r.id}: ${count(r.result.commandsPerSec)} commands / host s`;
    case 'locks':
      return r.result.rows.map((x) => `${r.id} ${x.cores} cores: ${count(x.acquisitionsPerSec)} acquisitions / host s, ${count(x.spinCyclesPerAcquisition)} simulated spin cycles each`).join('\n');
    case 'core':
      return r.rows.map((x) => `${x.name}: ${x.nsPer.toFixed(1)} ns each`).join('; ');
  }
}

main();
