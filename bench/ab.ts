/**
 * A/B of two checkouts' models in one process, by host CPU time per interrupt: the speed work's
 * tool for changes smaller than the noise of wall-clock runs on a shared machine.
 *
 *   npx tsx bench/ab.ts DIR_A DIR_B [--job direct|injected|doorbell|default] [--reps N]
 *
 * DIR_A and DIR_B are minivisor checkouts (a worktree of the commit before a change, and this
 * tree: `.`); both run this tree's harness over their own model, as `--base` does (a copy in
 * DIR/.bench-current/, bench/compare.ts). Both platforms are built and warmed up
 * in one process, then measured in interleaved windows (A, B, B, A, ...), each window's host CPU
 * time (`process.cpuUsage`, user + system) divided by the interrupts it delivered; the table
 * gives each side's best and median window and A/B (> 1: B is faster). `default` runs the default
 * scenario through each side's `runScenario`, whole runs interleaved, its best run.
 *
 * Two models in one process share V8's type feedback for the functions they have in common
 * (none: each tree's modules are distinct) but not the JIT's warm-up order: the side loaded second
 * read 1.5-5% faster in A/A runs. So the script runs the comparison twice, in a child process
 * per load order, and prints both ratios and their geometric mean.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installHarness } from './compare.js';
import { collectGarbage } from './host.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Where DIR's copy of this tree's harness is (installed by the parent process with `installHarness`), or this tree's bench/. */
function harnessDir(dir: string): string {
  return resolve(dir) === resolve(HERE, '..') ? HERE : resolve(dir, '.bench-current');
}

type Job = 'direct' | 'injected' | 'doorbell' | 'default';
const JOBS: readonly Job[] = ['direct', 'injected', 'doorbell', 'default'];

interface Side {
  readonly label: string;
  best: number;
  readonly all: number[];
  measure(): number;
}

const median = (a: readonly number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

async function steadySide(dir: string, label: string, job: Exclude<Job, 'default'>): Promise<Side> {
  // This tree's harness over DIR's model (as `--base` runs it: bench/compare.ts).
  const steady = (await import(pathToFileURL(resolve(harnessDir(dir), 'steady.ts')).href)) as typeof import('./steady.js');
  const platform = (await import(pathToFileURL(resolve(dir, 'scenarios/platform.ts')).href)) as typeof import('../scenarios/platform.js');
  const base = steady.BASE_PARAMS;
  const p = job === 'doorbell' ? { ...base, path: 'direct' as const, trapWfi: true, periodCycles: 20_000 } : { ...base, path: job };
  const pl = steady.buildSteady(p);
  if (!steady.bootSteady(pl)) throw new Error(`${dir}: the guests did not boot`);
  const period = steady.periodOf(p);
  platform.addDevice(pl, 1, [0], { kind: 'periodic', period }).start();
  pl.m.runFor(period * 5000);
  const irqs = job === 'doorbell' ? 3000 : 20_000;
  const log = (pl.kernels[0] as unknown as { log: { length: number } }).log;
  return {
    label,
    best: Infinity,
    all: [],
    measure(): number {
      const n0 = log.length;
      const c0 = process.cpuUsage();
      pl.m.runFor(period * irqs);
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) * 1000) / (log.length - n0);
    },
  };
}

async function defaultSide(dir: string, label: string): Promise<Side> {
  const named = (await import(pathToFileURL(resolve(dir, 'scenarios/named.ts')).href)) as typeof import('../scenarios/named.js');
  const run = (await import(pathToFileURL(resolve(dir, 'scenarios/run.ts')).href)) as typeof import('../scenarios/run.js');
  const s = named.scenarioNamed('default');
  if (s === undefined) throw new Error(`${dir}: no default scenario`);
  return {
    label,
    best: Infinity,
    all: [],
    measure(): number {
      const c0 = process.cpuUsage();
      const r = run.runScenario(s, { path: 'direct' });
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) * 1000) / r.delivered;
    },
  };
}

/** One load order: A's model loaded first. Prints one JSON line { a, b } (best ns per interrupt). */
async function child(dirA: string, dirB: string, job: Job, reps: number): Promise<void> {
  const make = (dir: string, label: string): Promise<Side> => (job === 'default' ? defaultSide(dir, label) : steadySide(dir, label, job));
  const a = await make(dirA, 'A');
  const b = await make(dirB, 'B');
  for (let r = 0; r < reps; r++) {
    for (const x of r % 2 === 0 ? [a, b] : [b, a]) {
      // As the steady benchmark's windows: a full collection first, so that no window pays for
      // the old-generation garbage of the others.
      collectGarbage();
      const ns = x.measure();
      x.all.push(ns);
      if (ns < x.best) x.best = ns;
    }
  }
  process.stdout.write(`${JSON.stringify({ a: a.best, b: b.best, aMed: median(a.all), bMed: median(b.all) })}\n`);
}

function usage(msg: string): never {
  process.stderr.write(`bench/ab.ts: ${msg}\nusage: npx tsx bench/ab.ts DIR_A DIR_B [--job ${JOBS.join('|')}] [--reps N]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (f: string): string | undefined => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dirs = argv.filter((x, i) => !x.startsWith('--') && (i === 0 || !argv[i - 1]!.startsWith('--')));
  if (dirs.length !== 2) usage('expected two checkout directories');
  const job = (flag('--job') ?? 'direct') as Job;
  if (!JOBS.includes(job)) usage(`--job: expected one of ${JOBS.join(', ')}, got ${job}`);
  const reps = Number(flag('--reps') ?? (job === 'default' ? 8 : 10));
  if (!Number.isInteger(reps) || reps < 2) usage(`--reps: expected an integer >= 2, got ${flag('--reps')}`);
  const [dirA, dirB] = dirs as [string, string];
  if (argv.includes('--child')) return child(dirA, dirB, job, reps);
  for (const d of [dirA, dirB]) if (harnessDir(d) !== HERE) installHarness(d);
  const once = (first: string, second: string): { a: number; b: number; aMed: number; bMed: number } => {
    const r = spawnSync(process.execPath, ['--import=tsx', new URL(import.meta.url).pathname, first, second, '--job', job, '--reps', String(reps), '--child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`a child run failed (exit ${r.status})`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { a: number; b: number; aMed: number; bMed: number };
  };
  const ab = once(dirA, dirB);
  const ba = once(dirB, dirA);
  const r1 = ab.a / ab.b;
  const r2 = ba.b / ba.a;
  const f = (x: number): string => Math.round(x).toLocaleString('en-US');
  process.stdout.write(`${job}: host CPU ns per interrupt, best of ${reps} windows\n`);
  process.stdout.write(`  A loaded first: A ${f(ab.a)} (median ${f(ab.aMed)}), B ${f(ab.b)} (median ${f(ab.bMed)}): A/B ${r1.toFixed(3)}\n`);
  process.stdout.write(`  B loaded first: A ${f(ba.b)} (median ${f(ba.bMed)}), B ${f(ba.a)} (median ${f(ba.aMed)}): A/B ${r2.toFixed(3)}\n`);
  process.stdout.write(`  A/B (geometric mean of the two orders): ${Math.sqrt(r1 * r2).toFixed(3)}  (> 1: B is faster)\n`);
}

await main();
