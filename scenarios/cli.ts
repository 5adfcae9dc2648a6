/**
 * `npm start -- [flags]` (`--help` lists them): runs a scenario on one or both delivery paths
 * with the same seed and prints the comparison table, or one JSON result (`--json`); writes a
 * Perfetto trace (`--trace`) and an HTML report (`--report`); sweeps policies x paths x traffic
 * rates on worker threads (`--sweep`), and scenario fields (`--grid`), whole or one slice of it
 * (`--shard`), and merges the slices (`--merge`); narrates one interrupt per path (`--explain`).
 *
 * Exit status: 0 on success, 2 for a bad flag, value or scenario file (the message names the
 * flag or the field), 3 when a run broke the delivery invariants (an interrupt lost, duplicated
 * or misdelivered: delivery-check.ts; the figures are still printed, the violations named on
 * stderr), 1 for anything else. Messages go to stderr; with `--json`, stdout holds only the JSON.
 */
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { POLICIES } from '../hypervisor/sched/policies.js';
import { isPolicyFile, loadPolicyFile, policyLabel, PolicyLoadError } from './policy-modules.js';
import { ArgError, helpText, parseArgs, type CliOptions } from './args.js';
import { microMain } from './micro/cli.js';
import { costProfile } from '../core/costs.js';
import { formatComparison, formatVmCosts } from './comparison.js';
import { explainScenario, formatExplanation } from './explain.js';
import { count, plural } from './format.js';
import { scenarioNamed, SCENARIOS } from './named.js';
import { Progress, type ProgressStream } from './progress.js';
import { comparisonJson, comparisonResult } from './report-data.js';
import { renderReport, reportInput } from './report.js';
import { runScenario, violationReport, type PathResult, type RunHandle } from './run.js';
import { asWrittenPath, isMixed, pathsOf, type RunPath, type Scenario } from './scenario.js';
import { GridError, gridJobs } from './grid.js';
import { gitCommit, inShard, mergeShards, MergeError, shardText, sweepSignature } from './shard.js';
import { recordsCsv, recordsJsonLines, runSweepIndexed, sweepRecord, type SweepMeta, type SweepRecord } from './sweep.js';
import { renderSweepReport } from './sweep-report.js';
import { chromeTrace, chromeTraceText, traceSource } from './trace-export.js';
import { ScenarioError, validateScenario } from './validate.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: ProgressStream;
}

/** An error that the user's input caused: printed as is, exit status 2. */
class UsageError extends Error {}

/**
 * The scenario `--scenario` names (a shipped one, else a JSON file), with the flags' overrides
 * applied. A policy given as a module file (the flag's, or the scenario file's, relative to that
 * file) is loaded first, so that validation knows it.
 */
export async function resolveScenario(o: CliOptions): Promise<Scenario> {
  const name = o.scenario ?? (o.explain ? 'explain' : 'default');
  let s: Scenario | undefined = scenarioNamed(name);
  if (s === undefined) {
    if (!existsSync(name)) throw new UsageError(`--scenario: no shipped scenario named ${JSON.stringify(name)} and no such file (shipped: ${SCENARIOS.map((x) => x.name).join(', ')})`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(name, 'utf8'));
    } catch (e) {
      throw new UsageError(`--scenario ${name}: not a JSON file (${e instanceof Error ? e.message : String(e)})`);
    }
    const policy = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['policy'] : undefined;
    if (o.policy === undefined && typeof policy === 'string' && isPolicyFile(policy)) {
      try {
        raw = { ...(raw as object), policy: await loadPolicyFile(policy, dirname(resolve(name))) };
      } catch (e) {
        if (e instanceof PolicyLoadError) throw new UsageError(`--scenario ${name}: policy: ${e.message}`);
        throw e;
      }
    }
    try {
      s = validateScenario(raw);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(`--scenario ${name}: ${e.message}`);
      throw e;
    }
  }
  let flagPolicy = o.policy;
  if (flagPolicy !== undefined && isPolicyFile(flagPolicy)) {
    try {
      flagPolicy = await loadPolicyFile(flagPolicy);
    } catch (e) {
      if (e instanceof PolicyLoadError) throw new UsageError(`--policy: ${e.message}`);
      throw e;
    }
  }
  const over: Partial<Scenario> = {
    ...(flagPolicy !== undefined ? { policy: flagPolicy } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.durationUs !== undefined ? { durationUs: o.durationUs } : {}),
    ...(o.costProfile !== undefined ? { costProfile: o.costProfile } : {}),
    ...(o.record !== undefined ? { record: o.record } : {}),
  };
  return Object.keys(over).length === 0 ? s : validateScenario({ ...s, ...over });
}

/** The paths `--path` asks for on scenario `s`. */
export function pathsFor(o: CliOptions, s: Scenario): RunPath[] {
  if (o.path === 'both') return pathsOf(s);
  if (o.path === 'direct' && s.gicVersion === 3) throw new ArgError('--path', `direct injection needs a GICv4 machine; scenario '${s.name}' has gicVersion ${s.gicVersion}`);
  if (o.path === 'direct-v41' && s.gicVersion !== 4.1) throw new ArgError('--path', `direct-v41 needs a GICv4.1 machine; scenario '${s.name}' has gicVersion ${s.gicVersion}`);
  if (o.path === 'mixed' && !isMixed(s)) throw new ArgError('--path', `'mixed' runs each VM on its own path, but every VM of scenario '${s.name}' takes the ${asWrittenPath(s)} path (give a VM its own "path")`);
  return [o.path];
}

/**
 * Refuses, before anything runs, an output file (`--trace`, `--report`, `--out`) whose folder does
 * not exist or cannot be written: otherwise the error would come only after the whole run.
 */
export function checkOutputs(o: CliOptions): void {
  const outputs: [string, string | undefined][] = [['--trace', o.trace], ['--report', o.report], ['--out', o.out]];
  for (const [flag, file] of outputs) {
    if (file === undefined) continue;
    const dir = dirname(resolve(file));
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      throw new ArgError(flag, `the folder ${dir} does not exist`);
    }
    if (!isDir) throw new ArgError(flag, `${dir} is not a folder`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new ArgError(flag, `the folder ${dir} cannot be written`);
    }
    if (existsSync(file) && statSync(file).isDirectory()) throw new ArgError(flag, `${file} is a folder, not a file`);
  }
}

function write(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** One line on what the delivery check found: nothing wrong, or how much went wrong (named on stderr). */
export function deliveryVerdict(results: readonly PathResult[]): string {
  const bad = results.filter((r) => r.violations.length > 0);
  const drain = results.map((r) => `${r.path} ${r.drainUs.toFixed(0)} us`).join(', ');
  if (bad.length === 0) return `delivery check: every accepted MSI reached its guest (delivered or merged while pending), none duplicated or misdelivered; drained in ${drain}`;
  return `delivery check FAILED on the ${bad.map((r) => r.path).join(' and ')} path${bad.length === 1 ? '' : 's'}: see the errors below`;
}

/**
 * What a sweep (or a merge) prints and writes: the CSV (JSON lines with --json) on stdout,
 * PREFIX.csv and PREFIX.jsonl with --out, the sweep report with --report; exit status 3 when a
 * run broke the delivery check.
 */
function sweepOutputs(o: CliOptions, x: { meta: SweepMeta; signature: string; commit: string; records: readonly SweepRecord[] }, out: (s: string) => void, note: (s: string) => void): number {
  const csv = recordsCsv(x.meta.columns, x.records);
  const jsonl = recordsJsonLines(x.records);
  out(o.json ? jsonl : csv);
  if (o.out !== undefined) {
    write(`${o.out}.csv`, csv);
    write(`${o.out}.jsonl`, jsonl);
    note(`sweep: ${plural(x.records.length, 'run')} written to ${o.out}.csv and ${o.out}.jsonl`);
  }
  if (o.report !== undefined) {
    write(o.report, renderSweepReport(x));
    note(`report: ${o.report}`);
  }
  const broken = x.records.filter((r) => typeof r['violations'] === 'number' && r['violations'] > 0);
  if (broken.length > 0) {
    note(`error: the delivery check failed in ${plural(broken.length, 'run')} of the sweep: ${broken.map((r) => `${String(r['policy'])}/${String(r['path'])}/x${String(r['rate'])}`).join(', ')} (the violations column counts them; rerun one without --sweep to see them named)`);
    return 3;
  }
  return 0;
}

/** `--merge FILE...`: the shards' sweep output, refusing shards that do not make one sweep. */
function mergeCli(o: CliOptions, out: (s: string) => void, note: (s: string) => void): number {
  const inputs = o.merge!.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new MergeError(file, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
  });
  const merged = mergeShards(inputs);
  return sweepOutputs(o, merged, out, note);
}

/** Runs the CLI on `argv`; returns the exit status. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const note = (s: string): void => void io.stderr.write(`${s}\n`);
  // The micro-benchmarks have flags of their own (scenarios/micro/cli.ts).
  if (argv.includes('--micro')) return microMain(argv, (t) => void io.stdout.write(t), (t) => void io.stderr.write(t));
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof ArgError) {
      note(`error: ${e.message}\n(npm start -- --help lists the flags)`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    io.stdout.write(`${helpText()}\n`);
    return 0;
  }
  try {
    checkOutputs(o);
    if (o.merge !== undefined) return mergeCli(o, (text) => void io.stdout.write(text), note);
    const s = await resolveScenario(o);
    const paths = o.sweep ? [] : pathsFor(o, s);
    if (s.record === 'counters' && !o.sweep) {
      // Checked before running: these read every MSI and delivery record after the run (a sweep report reads only the figures).
      const needs = [o.trace !== undefined ? '--trace (its MSI-to-acknowledge flows)' : '', o.report !== undefined ? '--report (its latency CDF)' : ''].filter((x) => x !== '');
      if (needs.length > 0) throw new UsageError(`${needs.join(' and ')} need${needs.length === 1 ? 's' : ''} every MSI and delivery record, but scenario '${s.name}' has record: 'counters' (use "record": "all", the default)`);
    }
    const progress = new Progress(o.quiet ? { isTTY: false, write: () => true } : io.stderr);
    const out = (text: string): void => void io.stdout.write(text);

    if (o.sweep) {
      // Without a grid: every shipped policy (or --policy's) x paths x rates 0.5, 1, 2. With one:
      // the grid x the scenario's policy (or --policy's) x paths x rate 1 (or --rates).
      const grid = o.grid;
      const policySpecs = new Map<string, string>();
      for (const v of grid.find((d) => d.key === 'policy')?.values ?? []) {
        if (typeof v !== 'string' || !isPolicyFile(v)) continue;
        try {
          policySpecs.set(v, await loadPolicyFile(v));
        } catch (e) {
          if (e instanceof PolicyLoadError) throw new GridError('--grid', `policy=${v}: ${e.message}`);
          throw e;
        }
      }
      const { jobs, meta } = gridJobs(s, {
        grid,
        policies: o.policy !== undefined || grid.length > 0 ? [s.policy] : POLICIES.map((p) => p.name),
        paths: o.path === 'both' ? 'both' : [o.path],
        rates: o.rates ?? (grid.length > 0 ? [1] : [0.5, 1, 2]),
        policySpecs,
      });
      const signature = sweepSignature(meta, jobs);
      const commit = gitCommit();
      const shard = o.shard;
      const mine = shard === undefined ? jobs : jobs.filter((j) => inShard(j.index, shard.index, shard.count));
      const done = await runSweepIndexed(mine, { ...(o.workers !== undefined ? { workers: o.workers } : {}), onDone: (d, t) => progress.update(d / t, `sweep: ${d}/${t} runs`) });
      progress.done();
      const keys = meta.grid.map((g) => g.key);
      const records = done.map((x) => ({ index: x.index, record: sweepRecord(meta.columns, keys, jobs[x.index]!, x.row) }));
      if (shard === undefined) return sweepOutputs(o, { meta, signature, commit, records: records.map((x) => x.record) }, out, note);
      const text = shardText({ signature, commit, shard: shard.index, of: shard.count, jobs: jobs.length, sweep: meta }, records);
      if (o.out !== undefined) {
        write(`${o.out}.shard`, text);
        note(`shard ${shard.index}/${shard.count}: ${plural(records.length, 'run')} of ${jobs.length} written to ${o.out}.shard`);
      } else out(text);
      const broken = records.filter((x) => typeof x.record['violations'] === 'number' && x.record['violations'] > 0);
      if (broken.length > 0) {
        note(`error: the delivery check failed in ${plural(broken.length, 'run')} of the shard (the violations column counts them)`);
        return 3;
      }
      return 0;
    }

    let results: PathResult[] = [];
    const handles: Partial<Record<RunPath, RunHandle>> = {};
    const traced = o.trace !== undefined || o.report !== undefined;
    if (o.explain) {
      // --explain runs every path the scenario has, whatever --path says.
      const all = pathsOf(s);
      const x = explainScenario(s, { onProgress: (p, d, t) => progress.update((all.indexOf(p) + d / t) / all.length, `${p} path`) });
      progress.done();
      Object.assign(handles, x.handles);
      results = x.results;
      out(o.json ? `${JSON.stringify(x.explanation, null, 2)}\n` : `${formatExplanation(x.explanation)}\n`);
    } else {
      results = paths.map((path, k) =>
        runScenario(s, {
          path,
          trace: traced,
          hostClock: () => performance.now(),
          onBuilt: (h) => (handles[path] = h),
          onProgress: (d, t) => progress.update((k + d / t) / paths.length, `${path} path`),
        }),
      );
      progress.done();
      if (o.json) out(`${comparisonJson(comparisonResult(s, results))}\n`);
      else {
        out(`minivisor: scenario '${s.name}': ${s.summary}\n`);
        out(`seed ${s.seed}, ${s.durationUs} us simulated at ${s.clockMHz} MHz, policy ${policyLabel(s.policy)}, cost profile ${s.costProfile}, WFI ${s.wfi === 'trap' ? 'trapped (TWI=1)' : 'native (TWI=0)'}\n`);
        // A machine's profile counts cycles of its own clock (core/cost-profiles/): say when the scenario runs another.
        const machine = costProfile(s.costProfile)?.machine;
        if (machine !== undefined && machine.clockMHz !== s.clockMHz) out(`note: cost profile ${s.costProfile} is a ${machine.clockMHz} MHz machine; its cycles become times at this scenario's ${s.clockMHz} MHz (set "clockMHz": ${machine.clockMHz} in the scenario, or --grid clockMHz=${machine.clockMHz})\n`);
        out('\n');
        if (results.some((r) => r.path === 'mixed')) out(`columns: mixed = the scenario as written, each VM on its own path (${s.vms.map((v) => `${v.name} ${v.path ?? s.path}`).join(', ')}); injected, direct = every VM on that path\n\n`);
        out(`${formatComparison(results)}\n\n`);
        const perVm = formatVmCosts(results, o.perVm);
        if (perVm !== '') out(`${perVm}\n\n`);
        out(`${deliveryVerdict(results)}\n`);
        out(`host time: ${results.map((r) => `${r.path} ${r.hostMs.toFixed(0)} ms`).join(', ')}\n`);
      }
    }
    if (o.trace !== undefined) {
      const t = chromeTrace(
        results.map((r) => traceSource(handles[r.path]!, s, r.path)),
        { scenario: s.name, seed: s.seed, clockMHz: s.clockMHz, generated: new Date().toISOString() },
      );
      write(o.trace, chromeTraceText(t));
      for (const r of results) {
        const dropped = handles[r.path]!.platform.m.trace.dropped;
        if (dropped > 0) note(`trace: the ${r.path} run kept its first ${count(handles[r.path]!.platform.m.trace.limit)} records and dropped ${count(dropped)}: the trace ends early (use a shorter --duration)`);
      }
      note(`trace: ${o.trace} (${plural(t.traceEvents.length, 'event')}; open it in ui.perfetto.dev)`);
    }
    if (o.report !== undefined) {
      write(o.report, renderReport(reportInput(s, results, handles)));
      note(`report: ${o.report}`);
    }
    const bad = violationReport(results);
    if (bad !== '') {
      note(`error: the delivery check failed:\n${bad}`);
      return 3;
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ArgError || e instanceof ScenarioError || e instanceof GridError || e instanceof MergeError) {
      note(`error: ${e.message}`);
      return 2;
    }
    note(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A reader that stops early (`npm start | head -3`) closes the pipe: stop quietly, as Unix tools do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
