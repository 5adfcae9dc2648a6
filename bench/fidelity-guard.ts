/**
 * The fidelity guard of the speed work (issue 15): every shipped scenario (scenarios/named.ts,
 * hard cases included) on each path it has, run by the CLI as a user runs it, with tracing on
 * (`--trace FILE --json`), must give the same whole trace and the same `--json` result, bit for
 * bit, as at the commit before the speed work. Host-time values are removed before hashing:
 * the `host` block and every `hostMs` of the JSON, the trace's `otherData.generated` date.
 *
 *   npx tsx bench/fidelity-guard.ts            compare with bench/fidelity-hashes.json; exit 1
 *                                              naming each scenario/path that differs
 *   npx tsx bench/fidelity-guard.ts --record   (re)write bench/fidelity-hashes.json
 *   --only NAME,NAME                           only these scenarios
 *   --jobs N                                   child processes at a time (default 2)
 *
 * Each run is its own Node process (`node --import=tsx scenarios/cli.ts ...`), so nothing is
 * shared between runs. A scenario whose own duration makes a traced run too slow for a guard
 * run after every commit is run with the shorter --duration in DURATION_US (recorded in the
 * hashes file, so that a comparison always uses the duration that was recorded).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../scenarios/named.js';
import { pathsOf } from '../scenarios/scenario.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const HASHES_FILE = join(ROOT, 'bench', 'fidelity-hashes.json');

/** Scenarios run shorter than their own duration (us): none so far (every traced run takes seconds). */
const DURATION_US: Readonly<Record<string, number>> = {};

export interface GuardEntry {
  readonly scenario: string;
  readonly path: string;
  /** --duration given to the CLI (us), or null for the scenario's own. */
  readonly durationUs: number | null;
  readonly trace: string;
  readonly json: string;
}

export interface HashesFile {
  readonly format: 'minivisor-fidelity/1';
  readonly commit: string;
  readonly entries: readonly GuardEntry[];
}

/** The JSON result without host-time values (`host` blocks and `hostMs` fields at any depth). */
export function stripHost(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripHost);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'host' || k === 'hostMs') continue;
      o[k] = stripHost(x);
    }
    return o;
  }
  return v;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Hash of a Chrome trace text without its generation date. */
export function traceHash(text: string): string {
  const t = JSON.parse(text) as { otherData?: Record<string, unknown> };
  if (t.otherData !== undefined) delete t.otherData['generated'];
  return sha(JSON.stringify(t));
}

export function jsonHash(text: string): string {
  return sha(JSON.stringify(stripHost(JSON.parse(text))));
}

interface Run {
  readonly scenario: string;
  readonly path: string;
  readonly durationUs: number | null;
}

function runOne(r: Run, dir: string): Promise<GuardEntry> {
  const traceFile = join(dir, `${r.scenario}-${r.path}.trace.json`);
  const args = ['--import=tsx', join(ROOT, 'scenarios', 'cli.ts'), '--scenario', r.scenario, '--path', r.path, '--trace', traceFile, '--json', '--quiet'];
  if (r.durationUs !== null) args.push('--duration', `${r.durationUs}us`);
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${r.scenario}/${r.path}: the CLI exited ${code}\n${err}`));
        return;
      }
      try {
        const trace = traceHash(readFileSync(traceFile, 'utf8'));
        rmSync(traceFile);
        resolveRun({ ...r, trace, json: jsonHash(out) });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

async function runAll(runs: readonly Run[], jobs: number): Promise<GuardEntry[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fidelity-'));
  const out: GuardEntry[] = new Array<GuardEntry>(runs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const i = next++;
      const t0 = performance.now();
      out[i] = await runOne(runs[i]!, dir);
      process.stderr.write(`  ${runs[i]!.scenario}/${runs[i]!.path}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const value = (f: string): string | undefined => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const record = argv.includes('--record');
  const only = value('--only')?.split(',');
  const jobs = Number(value('--jobs') ?? 2);
  const t0 = performance.now();
  if (record) {
    const runs: Run[] = [];
    for (const s of SCENARIOS) {
      if (only !== undefined && !only.includes(s.name)) continue;
      for (const path of pathsOf(s)) runs.push({ scenario: s.name, path, durationUs: DURATION_US[s.name] ?? null });
    }
    const entries = await runAll(runs, jobs);
    const file: HashesFile = { format: 'minivisor-fidelity/1', commit: gitHead(), entries };
    writeFileSync(HASHES_FILE, `${JSON.stringify(file, null, 2)}\n`);
    process.stdout.write(`recorded ${entries.length} scenario/path hashes in bench/fidelity-hashes.json (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    return 0;
  }
  const want = JSON.parse(readFileSync(HASHES_FILE, 'utf8')) as HashesFile;
  const expected = want.entries.filter((e) => only === undefined || only.includes(e.scenario));
  const missing = SCENARIOS.flatMap((s) => pathsOf(s).map((p) => `${s.name}/${p}`)).filter(
    (k) => (only === undefined || only.includes(k.split('/')[0]!)) && !want.entries.some((e) => `${e.scenario}/${e.path}` === k),
  );
  const got = await runAll(expected, jobs);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const g = got[i]!;
    const what = [g.trace !== e.trace ? 'trace' : '', g.json !== e.json ? '--json result' : ''].filter((x) => x !== '');
    if (what.length > 0) bad.push(`${e.scenario}/${e.path}: ${what.join(' and ')} differ${what.length === 1 ? 's' : ''}`);
  }
  for (const k of missing) bad.push(`${k}: no recorded hash (run --record at the base commit)`);
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  if (bad.length > 0) {
    process.stdout.write(`fidelity guard: FAILED (${bad.length} of ${expected.length + missing.length}; hashes recorded at ${want.commit}; ${secs} s)\n${bad.map((b) => `  ${b}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write(`fidelity guard: held (${expected.length} scenario/path runs identical to the hashes recorded at ${want.commit}; ${secs} s)\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
