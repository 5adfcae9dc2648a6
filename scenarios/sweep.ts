/**
 * `--sweep`: runs a scenario for every combination of scheduling policy x delivery path x
 * traffic rate factor, in parallel on worker threads (sweep-worker.ts), one full independent
 * simulation per run from the scenario's seed. Each run is a job with an index; rows come out in
 * job index order (for the plain sweep that is policy, path, rate, sorted), so the CSV and JSON
 * lines are the same whatever the number of workers and the order in which runs complete; host
 * time is left out of the rows for the same reason. `--grid` (grid.ts) makes the jobs from
 * scenario fields as well and adds a column per grid key (sweepColumns, sweepRecord); shard.ts
 * splits the jobs across machines and merges their records back.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PathResult } from './run.js';
import type { RunPath, Scenario, TrafficPattern } from './scenario.js';
import { policyOf } from './policy-modules.js';
import { validateScenario } from './validate.js';

/** A JSON value: a grid value (grid.ts) or a cell of a sweep record. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

export interface SweepJob {
  /** Position of the run's row in the sweep's output (and what --shard slices by). */
  readonly index: number;
  readonly policy: string;
  readonly path: RunPath;
  /** Factor applied to every device's traffic rate. */
  readonly rate: number;
  readonly scenario: Scenario;
  /** With --grid: the value of each grid key for this run, in the grid's key order, as the rows show it. */
  readonly grid?: readonly JsonValue[];
}

/** One run's figures, flat (CSV columns in this order). */
export interface SweepRow {
  readonly scenario: string;
  readonly policy: string;
  readonly path: RunPath;
  readonly rate: number;
  readonly seed: number;
  readonly msis: number;
  readonly delivered: number;
  readonly coalesced: number;
  readonly undelivered: number;
  readonly duplicated: number;
  readonly misdelivered: number;
  /** Violations the delivery check found (0: nothing lost, duplicated or misdelivered). */
  readonly violations: number;
  readonly el2EntriesPerIrq: number;
  readonly el2CyclesPerIrq: number;
  readonly latencyP50Cycles: number;
  readonly latencyP99Cycles: number;
  readonly latencyMaxCycles: number;
  readonly latencyMeanCycles: number;
  readonly latencyP50Us: number;
  readonly latencyP99Us: number;
  readonly latencyMaxUs: number;
  readonly vcpuSwitches: number;
  readonly vpeSwitches: number;
  readonly vpeSwitchCycles: number;
  readonly dirtyPolls: number;
  readonly vmovps: number;
  /** VMOVP commands (several per move with ITSList) and the cycles spun on the VMOVP lock per delivered interrupt. */
  readonly vmovpCommands: number;
  readonly vmovpSpinPerIrq: number;
  readonly doorbells: number;
  readonly kicks: number;
  readonly maintenance: number;
  /** Cycles spent spinning on the hypervisor's locks (all classes), per delivered interrupt. */
  readonly lockSpinPerIrq: number;
  readonly runQueueWaitMeanUs: number;
  readonly runQueueWaitMaxUs: number;
  /** Mean over the cores of the share of time at EL2, in percent. */
  readonly el2SharePct: number;
}

/** Every device's traffic `factor` times as frequent. */
export function scaleTraffic(s: Scenario, factor: number): Scenario {
  const scale = (t: TrafficPattern): TrafficPattern => {
    switch (t.kind) {
      case 'periodic':
        return { kind: 'periodic', periodUs: t.periodUs / factor };
      case 'poisson':
        return { kind: 'poisson', ratePerSec: t.ratePerSec * factor };
      case 'bursts':
        return { ...t, everyUs: t.everyUs / factor };
    }
  };
  return { ...s, devices: s.devices.map((d) => ({ ...d, traffic: scale(d.traffic) })) };
}

/** Policies sorted by name (a file's by the name of the policy it exports), as the sweep's rows are. */
export function sortPolicies(specs: readonly string[]): string[] {
  const name = (p: string): string => policyOf(p)?.name ?? p;
  return [...specs].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
}

/** The runs of a sweep, in (policy, path, rate) order, each sorted (policy by name), so job index order is row order. */
export function sweepJobs(s: Scenario, o: { policies: readonly string[]; paths: readonly RunPath[]; rates: readonly number[] }): SweepJob[] {
  const jobs: SweepJob[] = [];
  for (const policy of sortPolicies(o.policies))
    for (const path of [...o.paths].sort())
      for (const rate of [...o.rates].sort((a, b) => a - b)) jobs.push({ index: jobs.length, policy, path, rate, scenario: validateScenario(scaleTraffic({ ...s, policy }, rate)) });
  return jobs;
}

/** Ten significant digits: the figures' precision, without binary noise (2.112, not 2.1119999999999997). */
const sig = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(10)) : x);

export function sweepRow(job: Pick<SweepJob, 'policy' | 'path' | 'rate' | 'scenario'>, r: PathResult): SweepRow {
  const row: SweepRow = {
    scenario: job.scenario.name,
    // The policy's name, not the file it came from: rows of shards run on other machines merge.
    policy: policyOf(job.policy)?.name ?? job.policy,
    path: job.path,
    rate: job.rate,
    seed: r.seed,
    msis: r.msis,
    delivered: r.delivered,
    coalesced: r.coalesced,
    undelivered: r.undelivered,
    duplicated: r.duplicated,
    misdelivered: r.misdelivered,
    violations: r.violations.length,
    el2EntriesPerIrq: r.el2EntriesPerIrq,
    el2CyclesPerIrq: r.el2CyclesPerIrq,
    latencyP50Cycles: r.latencyCycles.p50,
    latencyP99Cycles: r.latencyCycles.p99,
    latencyMaxCycles: r.latencyCycles.max,
    latencyMeanCycles: r.latencyCycles.mean,
    latencyP50Us: r.latencyUs.p50,
    latencyP99Us: r.latencyUs.p99,
    latencyMaxUs: r.latencyUs.max,
    vcpuSwitches: r.vcpuSwitches,
    vpeSwitches: r.vpeSwitches,
    vpeSwitchCycles: r.vpeSwitchCycles,
    dirtyPolls: r.dirtyPolls,
    vmovps: r.vmovps,
    vmovpCommands: r.vmovpCommands,
    vmovpSpinPerIrq: r.locks.vmovp.spinCyclesPerIrq,
    doorbells: r.doorbells,
    kicks: r.kicks,
    maintenance: r.maintenance,
    lockSpinPerIrq: r.locks.its.spinCyclesPerIrq + r.locks.vmovp.spinCyclesPerIrq + r.locks.vpe.spinCyclesPerIrq,
    runQueueWaitMeanUs: r.runQueueWaitUs.mean,
    runQueueWaitMaxUs: r.runQueueWaitUs.max,
    el2SharePct: (100 * r.el2Share.reduce((a, b) => a + b, 0)) / Math.max(1, r.el2Share.length),
  };
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? sig(v) : v])) as unknown as SweepRow;
}

/** Rows in key order: policy, then path, then rate. */
export function sortRows(rows: readonly SweepRow[]): SweepRow[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows].sort((a, b) => cmp(a.policy, b.policy) || cmp(a.path, b.path) || a.rate - b.rate);
}

export const SWEEP_COLUMNS: readonly (keyof SweepRow)[] = [
  'scenario', 'policy', 'path', 'rate', 'seed', 'msis', 'delivered', 'coalesced', 'undelivered', 'duplicated', 'misdelivered', 'violations', 'el2EntriesPerIrq', 'el2CyclesPerIrq',
  'latencyP50Cycles', 'latencyP99Cycles', 'latencyMaxCycles', 'latencyMeanCycles', 'latencyP50Us', 'latencyP99Us', 'latencyMaxUs',
  'vcpuSwitches', 'vpeSwitches', 'vpeSwitchCycles', 'dirtyPolls', 'vmovps', 'vmovpCommands', 'vmovpSpinPerIrq', 'doorbells', 'kicks', 'maintenance', 'lockSpinPerIrq',
  'runQueueWaitMeanUs', 'runQueueWaitMaxUs', 'el2SharePct',
];

function cell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The rows as CSV with a header line (numbers in shortest round-trip form, NaN empty). */
export function sweepCsv(rows: readonly SweepRow[]): string {
  return [SWEEP_COLUMNS.join(','), ...rows.map((r) => SWEEP_COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** The rows as JSON lines (NaN as null). */
export function sweepJsonLines(rows: readonly SweepRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** One output row of a sweep: its cells by column name, in column order (a JSON line as is). */
export type SweepRecord = Readonly<Record<string, JsonValue>>;

/** The columns that say which run a row is, before the figures (SWEEP_COLUMNS from msis on). */
const KEY_COLUMNS = ['policy', 'path', 'rate', 'seed'] as const;

/**
 * The columns of a sweep with grid keys `gridKeys`: scenario, then each grid key as written (in
 * the grid's order), then whichever of policy, path, rate, seed the grid does not hold, then the
 * figures. Without a grid: SWEEP_COLUMNS.
 */
export function sweepColumns(gridKeys: readonly string[]): string[] {
  return ['scenario', ...gridKeys, ...KEY_COLUMNS.filter((k) => !gridKeys.includes(k)), ...SWEEP_COLUMNS.slice(SWEEP_COLUMNS.indexOf('msis'))];
}

/** A cell as JSON carries it: NaN and infinities as null, -0 as 0 (so a record survives a JSON round trip unchanged). */
function jsonCell(v: JsonValue): JsonValue {
  if (typeof v === 'number') return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
  return v;
}

/**
 * The record of `job`'s run: each column's cell, a grid key's from the job's grid values (policy,
 * path, rate and seed, grid keys or not, from the row: the policy by name).
 */
export function sweepRecord(columns: readonly string[], gridKeys: readonly string[], job: Pick<SweepJob, 'grid'>, row: SweepRow): SweepRecord {
  const out: Record<string, JsonValue> = {};
  const figures = row as unknown as Readonly<Record<string, JsonValue>>;
  for (const c of columns) {
    const g = gridKeys.indexOf(c);
    out[c] = jsonCell(c in figures ? figures[c]! : g >= 0 ? (job.grid?.[g] ?? null) : null);
  }
  return out;
}

function recordCell(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return cell(typeof v === 'string' ? v : JSON.stringify(v));
}

/** Records as CSV with a header line: numbers in shortest round-trip form, null empty, an object or array as JSON. */
export function recordsCsv(columns: readonly string[], records: readonly SweepRecord[]): string {
  return [columns.map((c) => cell(c)).join(','), ...records.map((r) => columns.map((c) => recordCell(r[c])).join(','))].join('\n') + '\n';
}

/** Records as JSON lines, one object per row with its cells in column order. */
export function recordsJsonLines(records: readonly SweepRecord[]): string {
  return records.length === 0 ? '' : records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/**
 * What a sweep's output is, besides its rows: enough for a merge to rebuild the output and for
 * the sweep report (sweep-report.ts) to plot it, carried in every shard's header.
 */
export interface SweepMeta {
  /** The name of the scenario swept. */
  readonly scenario: string;
  readonly columns: readonly string[];
  /** The grid's keys in the order given, each with its values in the order given, as the rows show them (a policy by name). */
  readonly grid: readonly { readonly key: string; readonly values: readonly JsonValue[] }[];
  /** Every policy (by name), path and rate factor some run has, in row order of first appearance. */
  readonly policies: readonly string[];
  readonly paths: readonly RunPath[];
  readonly rates: readonly number[];
  /** Number of runs. */
  readonly jobs: number;
}

/** The meta of a sweep made of `jobs` (in index order) with grid keys and their row values `grid`. */
export function sweepMeta(scenario: string, grid: SweepMeta['grid'], jobs: readonly SweepJob[]): SweepMeta {
  const distinct = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
  return {
    scenario,
    columns: sweepColumns(grid.map((g) => g.key)),
    grid,
    policies: distinct(jobs.map((j) => policyOf(j.policy)?.name ?? j.policy)),
    paths: distinct(jobs.map((j) => j.path)),
    rates: distinct(jobs.map((j) => j.rate)),
    jobs: jobs.length,
  };
}

export interface SweepOptions {
  /** Worker threads (default: available parallelism, at most the number of jobs). */
  readonly workers?: number;
  /** Order in which jobs are handed out, as a permutation of job indices (tests shuffle it). */
  readonly order?: readonly number[];
  /** Called as each run completes (the CLI's progress). */
  readonly onDone?: (done: number, total: number) => void;
}

/**
 * Starts a worker on sweep-worker. Run from TypeScript sources, a worker thread does not inherit
 * the loader tsx registered in the main thread: the worker first registers tsx's ESM and
 * CommonJS loaders (tsx/esm/api, tsx/cjs/api: a user's policy file outside this package is
 * loaded as CommonJS TypeScript), then imports the worker module.
 */
function startWorker(): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./sweep-worker.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  if (!ts) return new Worker(new URL(url));
  const esm = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const cjs = JSON.stringify(import.meta.resolve('tsx/cjs/api'));
  return new Worker(`Promise.all([import(${esm}), import(${cjs})]).then(([e, c]) => { e.register(); c.register(); return import(${JSON.stringify(url)}); });`, { eval: true });
}

/** Runs every job on a pool of worker threads; resolves to the rows in job index order. */
export async function runSweep(jobs: readonly SweepJob[], o: SweepOptions = {}): Promise<SweepRow[]> {
  return (await runSweepIndexed(jobs, o)).map((x) => x.row);
}

/** Runs every job on a pool of worker threads; resolves to each job's index and row, in index order. */
export async function runSweepIndexed(jobs: readonly SweepJob[], o: SweepOptions = {}): Promise<{ index: number; row: SweepRow }[]> {
  const order = o.order ?? jobs.map((j) => j.index);
  if (order.length !== jobs.length || new Set(order).size !== jobs.length) throw new Error('sweep: order must be a permutation of the job indices');
  const n = Math.max(1, Math.min(o.workers ?? availableParallelism(), jobs.length));
  const rows: { index: number; row: SweepRow }[] = [];
  let next = 0;
  const byIndex = new Map(jobs.map((j) => [j.index, j]));
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = startWorker();
      const feed = (): void => {
        if (next >= order.length) {
          void w.terminate().then(() => resolve());
          return;
        }
        w.postMessage(byIndex.get(order[next++]!)!);
      };
      w.on('message', (msg: { index: number; row: SweepRow } | { error: string }) => {
        if ('error' in msg) {
          void w.terminate();
          reject(new Error(msg.error));
          return;
        }
        rows.push({ index: msg.index, row: msg.row });
        o.onDone?.(rows.length, jobs.length);
        feed();
      });
      w.on('error', reject);
      feed();
    });
  if (jobs.length > 0) await Promise.all(Array.from({ length: n }, one));
  return rows.sort((a, b) => a.index - b.index);
}
