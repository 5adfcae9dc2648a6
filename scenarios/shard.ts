/**
 * Sweeps across machines: `--shard i/n` runs the i-th of n slices of a sweep's runs (run k, in
 * row order from 0, belongs to shard (k mod n) + 1: neighbouring runs, often of similar cost,
 * go to different shards) and writes them as a shard; `--merge` combines the n shards of one
 * sweep into exactly the CSV, JSON lines and sweep report the sweep gives on one machine.
 *
 * A shard is JSON lines: a header, then one line per run, in row order:
 *
 *   {"format":"minivisor-sweep-shard","version":1,"signature":"…","commit":"…","shard":2,"of":3,"jobs":12,"rows":4,"sweep":{…}}
 *   {"index":1,"row":{"scenario":"default","cores":2,…}}
 *
 * `signature` is a SHA-256 of every run of the sweep as resolved (each run's scenario with the
 * grid applied, flags and rate included, its policy, path and rate) and of the sweep's meta
 * (columns, grid, policies, paths, rates): two shards with the same signature are slices of
 * the same sweep. A policy loaded from a file enters as the SHA-256 of the file's text, not its
 * path, so shards made in different folders or machines merge. `commit` is the checkout's
 * `git rev-parse HEAD` (the CLI reads it; "unknown" outside a git checkout): the model's code.
 * `sweep` is the meta (sweep.ts SweepMeta) the merge rebuilds the output from.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyNamed } from '../hypervisor/sched/policies.js';
import type { JsonValue, SweepJob, SweepMeta, SweepRecord } from './sweep.js';

export const SHARD_FORMAT = 'minivisor-sweep-shard';
export const SHARD_VERSION = 1;

export interface ShardHeader {
  readonly format: typeof SHARD_FORMAT;
  readonly version: typeof SHARD_VERSION;
  readonly signature: string;
  readonly commit: string;
  /** Which slice, from 1, of how many. */
  readonly shard: number;
  readonly of: number;
  /** Runs in the whole sweep, and in this shard. */
  readonly jobs: number;
  readonly rows: number;
  readonly sweep: SweepMeta;
}

/** Whether run `index` belongs to shard `i` (from 1) of `n`. */
export function inShard(index: number, i: number, n: number): boolean {
  return index % n === i - 1;
}

/** Number of runs of a `jobs`-run sweep in shard `i` of `n`. */
export function shardSize(jobs: number, i: number, n: number): number {
  return i - 1 < jobs ? Math.floor((jobs - i) / n) + 1 : 0;
}

/** The commit of the checkout holding this file (`git rev-parse HEAD`), or "unknown". */
export function gitCommit(dir: string = resolve(dirname(fileURLToPath(import.meta.url)), '..')): string {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A policy as the signature knows it: a shipped one by name, one from a file by the hash of its text. */
function policyId(spec: string, files: Map<string, string>): string {
  if (policyNamed(spec) !== undefined) return spec;
  let id = files.get(spec);
  if (id === undefined) {
    try {
      id = `file sha256:${createHash('sha256').update(readFileSync(spec)).digest('hex')}`;
    } catch {
      id = `file ${spec}`;
    }
    files.set(spec, id);
  }
  return id;
}

/** The signature of the sweep `jobs` (all of them, in row order) with meta `meta`. */
export function sweepSignature(meta: SweepMeta, jobs: readonly SweepJob[]): string {
  const h = createHash('sha256');
  const files = new Map<string, string>();
  h.update(JSON.stringify({ format: SHARD_FORMAT, version: SHARD_VERSION, meta }));
  for (const j of jobs) {
    const scenario = { ...j.scenario, policy: policyId(j.scenario.policy, files) };
    h.update(`\n${JSON.stringify({ index: j.index, policy: policyId(j.policy, files), path: j.path, rate: j.rate, grid: j.grid ?? [], scenario })}`);
  }
  return h.digest('hex');
}

/** A shard's text: its header, then one line per run (index and record), in index order. */
export function shardText(h: Omit<ShardHeader, 'format' | 'version' | 'rows'>, rows: readonly { index: number; record: SweepRecord }[]): string {
  const header: ShardHeader = { format: SHARD_FORMAT, version: SHARD_VERSION, signature: h.signature, commit: h.commit, shard: h.shard, of: h.of, jobs: h.jobs, rows: rows.length, sweep: h.sweep };
  const sorted = [...rows].sort((a, b) => a.index - b.index);
  return [JSON.stringify(header), ...sorted.map((r) => JSON.stringify({ index: r.index, row: r.record }))].join('\n') + '\n';
}

/** A shard --merge refuses: `file` is the file at fault (undefined when none is: a shard missing). */
export class MergeError extends Error {
  constructor(
    readonly file: string | undefined,
    readonly detail: string,
  ) {
    super(`--merge${file === undefined ? '' : ` ${file}`}: ${detail}`);
  }
}

/** What a merge gives: the sweep's meta, signature and commit, and every record in row order. */
export interface MergedSweep {
  readonly meta: SweepMeta;
  readonly signature: string;
  readonly commit: string;
  readonly records: SweepRecord[];
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

interface Shard {
  readonly file: string;
  readonly header: ShardHeader;
  readonly rows: { index: number; record: SweepRecord }[];
}

function parseShard(file: string, text: string): Shard {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    header = undefined;
  }
  if (!isObj(header) || header['format'] !== SHARD_FORMAT) throw new MergeError(file, `not a sweep shard (its first line should be a ${SHARD_FORMAT} header, written by --shard I/N)`);
  if (header['version'] !== SHARD_VERSION) throw new MergeError(file, `a shard of format version ${JSON.stringify(header['version'])}; this minivisor reads version ${SHARD_VERSION}`);
  const h = header as unknown as ShardHeader;
  const ints = ['shard', 'of', 'jobs', 'rows'] as const;
  if (typeof h.signature !== 'string' || typeof h.commit !== 'string' || !isObj(h.sweep) || !Array.isArray(h.sweep.columns) || ints.some((k) => !Number.isInteger(h[k]) || h[k] < 0) || h.shard < 1 || h.shard > h.of) {
    throw new MergeError(file, 'its header is damaged (signature, commit, shard, of, jobs, rows and sweep expected)');
  }
  const rows = lines.slice(1).map((line, k) => {
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      x = undefined;
    }
    if (!isObj(x) || !Number.isInteger(x['index']) || !isObj(x['row'])) throw new MergeError(file, `line ${k + 2}: not a row ({"index":N,"row":{...}} expected)`);
    return { index: x['index'] as number, record: x['row'] as Record<string, JsonValue> };
  });
  return { file, header: h, rows };
}

/**
 * Merges the shards `inputs` (file name and text) of one sweep. Refuses, naming the file: a file
 * that is not a shard, shards of different sweeps (signature, meta, number of runs or of shards)
 * or commits, a shard given twice, a shard whose rows are not its slice's (too few, too many,
 * others); and, naming it, a shard missing.
 */
export function mergeShards(inputs: readonly { file: string; text: string }[]): MergedSweep {
  if (inputs.length === 0) throw new MergeError(undefined, 'no shard files given');
  const shards = inputs.map((x) => parseShard(x.file, x.text));
  const first = shards[0]!;
  const f = first.header;
  const metaText = JSON.stringify(f.sweep);
  const bySlice = new Map<number, Shard>();
  for (const s of shards) {
    const h = s.header;
    const short = (x: string): string => x.slice(0, 12);
    if (h.signature !== f.signature || JSON.stringify(h.sweep) !== metaText || h.jobs !== f.jobs) {
      throw new MergeError(s.file, `a shard of a different sweep than ${first.file} (signature ${short(h.signature)}… against ${short(f.signature)}…: another scenario, grid, policy, path, rate or duration)`);
    }
    if (h.commit !== f.commit) throw new MergeError(s.file, `made at commit ${h.commit}, ${first.file} at ${f.commit}: merge shards of one commit (rerun the shards made at the other)`);
    if (h.of !== f.of) throw new MergeError(s.file, `shard ${h.shard}/${h.of}, ${first.file} is shard ${f.shard}/${f.of}: the sweep was split two ways`);
    const twin = bySlice.get(h.shard);
    if (twin !== undefined) throw new MergeError(s.file, `shard ${h.shard}/${h.of} again (${twin.file} is that shard too)`);
    bySlice.set(h.shard, s);
    const want = shardSize(h.jobs, h.shard, h.of);
    if (s.rows.length !== want || h.rows !== want) {
      throw new MergeError(s.file, `${s.rows.length} row${s.rows.length === 1 ? '' : 's'} (its header says ${h.rows}); shard ${h.shard}/${h.of} of a ${h.jobs}-run sweep has ${want}: the file is cut short or was edited`);
    }
    s.rows.forEach((r, k) => {
      const index = h.shard - 1 + k * h.of;
      if (r.index !== index) throw new MergeError(s.file, `line ${k + 2} holds run ${r.index}; shard ${h.shard}/${h.of} has run ${index} there`);
    });
  }
  const missing = Array.from({ length: f.of }, (_, k) => k + 1).filter((k) => !bySlice.has(k));
  if (missing.length > 0) {
    const given = shards.map((s) => `${s.file} (${s.header.shard}/${s.header.of})`).join(', ');
    throw new MergeError(undefined, `shard${missing.length === 1 ? '' : 's'} ${missing.map((k) => `${k}/${f.of}`).join(', ')} missing (given: ${given})`);
  }
  const records: SweepRecord[] = new Array<SweepRecord>(f.jobs);
  for (const s of shards) for (const r of s.rows) records[r.index] = r.record;
  return { meta: f.sweep, signature: f.signature, commit: f.commit, records };
}
