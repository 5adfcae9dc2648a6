/**
 * `--grid KEY=V1,V2,... [KEY=V1,V2,...]`: a sweep over scenario fields. A key is a field of the
 * scenario as a path (`cores`, `costProfile`, `vms[0].vcpus`, `devices[1].traffic.periodUs`), or
 * one of the sweep's own dimensions: `policy` (a shipped policy or a policy module file), `path`
 * (the delivery path run) and `rate` (the traffic rate factor). A value is read as JSON where it
 * is JSON (numbers, true/false, null, "quoted strings", arrays and objects; commas inside
 * brackets, braces or quotes do not split values), else as the text itself.
 *
 * The runs are every combination of the grid's values, crossed with the sweep's policies, paths
 * and rates where the grid has no such key. Row order: the grid's keys in the order given, the
 * first outermost, each key's values in the order given; then, innermost, policy (sorted by
 * name), path (direct, injected) and rate (ascending) where the grid does not hold them. Every
 * combination is applied to the scenario (after the other flags) and validated before anything
 * runs; a key that names nothing, or a value validation refuses, throws a GridError naming the
 * key and the value.
 */
import { policyOf, isPolicyFile } from './policy-modules.js';
import { POLICIES } from '../hypervisor/sched/policies.js';
import { pathsOf, type RunPath, type Scenario } from './scenario.js';
import { scaleTraffic, sortPolicies, sweepMeta, type JsonValue, type SweepJob, type SweepMeta } from './sweep.js';
import { ScenarioError, validateScenario } from './validate.js';

/** One step of a key's path: a field name or an array index. */
export type KeyStep = string | number;

export interface GridDim {
  /** The key as written: `cores`, `vms[0].vcpus`, `policy`, `path`, `rate`. */
  readonly key: string;
  readonly steps: readonly KeyStep[];
  /** The values as parsed, in the order given. */
  readonly values: readonly JsonValue[];
  /** The values as written (for messages). */
  readonly texts: readonly string[];
}

/** Grid keys that are the sweep's own dimensions rather than scenario fields. */
export const SWEEP_KEYS = ['policy', 'path', 'rate'] as const;

/** At most this many runs in one sweep. */
export const MAX_RUNS = 100_000;

/** Bad grid input: `flag` is the flag at fault (`--grid`, or `--path`/`--rates` when their value cannot go with a combination). */
export class GridError extends Error {
  constructor(
    readonly flag: string,
    readonly detail: string,
  ) {
    super(`${flag}: ${detail}`);
  }
}

const KEY = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*$/;

/** The steps of a key (`vms[0].vcpus` -> ['vms', 0, 'vcpus']), or undefined when it is not a path. */
export function keySteps(key: string): KeyStep[] | undefined {
  if (!KEY.test(key)) return undefined;
  return [...key.matchAll(/([A-Za-z_$][\w$]*)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

/** `text` split at the commas outside brackets, braces and double-quoted strings. */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((x) => x.trim());
}

/** A value as JSON where it is JSON, else the text. */
export function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Parses one `KEY=V1,V2,...`; throws GridError('--grid', ...) naming what is wrong. */
export function parseGridSpec(spec: string): GridDim {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new GridError('--grid', `expected KEY=V1,V2,... (e.g. cores=1,2,4 or vms[0].vcpus=1,2), got ${JSON.stringify(spec)}`);
  const key = spec.slice(0, eq).trim();
  const steps = keySteps(key);
  if (steps === undefined) throw new GridError('--grid', `${key}: expected a scenario field (name, name.name, name[i].name...) or policy, path, rate, got ${JSON.stringify(key)}`);
  const texts = splitValues(spec.slice(eq + 1));
  const values: JsonValue[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    if (text === '') throw new GridError('--grid', `${key}: expected comma-separated values, got an empty one in ${JSON.stringify(spec)}`);
    const v = parseValue(text);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new GridError('--grid', `${key}=${text}: not a finite number`);
    if (key === 'path' && v !== 'injected' && v !== 'direct' && v !== 'direct-v41') throw new GridError('--grid', `${key}=${text}: expected injected, direct or direct-v41`);
    if (key === 'rate' && !(typeof v === 'number' && v > 0 && v <= 1000)) throw new GridError('--grid', `${key}=${text}: expected a traffic rate factor above 0 and at most 1000`);
    if (key === 'policy' && (typeof v !== 'string' || (!isPolicyFile(v) && !POLICIES.some((p) => p.name === v)))) {
      throw new GridError('--grid', `${key}=${text}: expected one of ${POLICIES.map((p) => p.name).join(', ')}, or a module file exporting a Policy (./my-policy.ts)`);
    }
    const id = JSON.stringify(v);
    if (seen.has(id)) throw new GridError('--grid', `${key}=${text}: given twice (values must be distinct)`);
    seen.add(id);
    values.push(v);
  }
  return { key, steps, values, texts };
}

type Obj = Record<string, unknown>;

/**
 * `target` with the field at `steps` set to `value` (copies along the path; `target` is not
 * changed). Every step but the last must exist; the last may be a field the object lacks
 * (validation then says whether the scenario has such a field) but not an index past the end.
 * Returns a message instead when a step is missing.
 */
export function setField(target: unknown, steps: readonly KeyStep[], value: JsonValue): unknown | { missing: string } {
  const walk = (node: unknown, k: number, where: string): unknown => {
    const step = steps[k]!;
    const last = k === steps.length - 1;
    if (typeof step === 'number') {
      if (!Array.isArray(node)) return { missing: `${where} is not an array` };
      if (step >= node.length) return { missing: `${where} has ${node.length} entr${node.length === 1 ? 'y' : 'ies'}${node.length > 0 ? ` (${where}[0] to ${where}[${node.length - 1}])` : ''}` };
      const here = `${where}[${step}]`;
      const child = last ? value : walk(node[step], k + 1, here);
      if (isMissing(child)) return child;
      const copy = [...node];
      copy[step] = child;
      return copy;
    }
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return { missing: `${where === '' ? 'the scenario' : where} is not an object` };
    const here = where === '' ? step : `${where}.${step}`;
    const o = node as Obj;
    if (!last && o[step] === undefined) return { missing: `the scenario has no ${here}` };
    const child = last ? value : walk(o[step], k + 1, here);
    if (isMissing(child)) return child;
    return { ...o, [step]: child };
  };
  return walk(target, 0, '');
}

function isMissing(x: unknown): x is { missing: string } {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 1 && typeof (x as Obj)['missing'] === 'string';
}

/** What a grid sweep crosses the grid with. */
export interface GridSweep {
  readonly grid: readonly GridDim[];
  /** Policy specs (a shipped name, or a loaded file's absolute path) where the grid has no `policy` key. */
  readonly policies: readonly string[];
  /** Delivery paths where the grid has no `path` key: a list (from --path), or 'both' (each combination's own: both on GICv4, injected on GICv3). */
  readonly paths: readonly RunPath[] | 'both';
  /** Traffic rate factors where the grid has no `rate` key. */
  readonly rates: readonly number[];
  /** The grid's policy values as written -> the spec to run (a loaded file's absolute path); names map to themselves when absent. */
  readonly policySpecs?: ReadonlyMap<string, string>;
}

/** The field a ScenarioError is about is the key's field or inside it (or holds it). */
function about(field: string, key: string): boolean {
  const inside = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return inside(field, key) || inside(key, field);
}

/**
 * The jobs of a grid sweep over `base` (a validated scenario, flags applied), in row order, and
 * the sweep's meta. Validates every combination first: throws GridError naming the key(s) and
 * value(s) at fault, or the flag (--path, --rates) whose value a combination cannot take.
 */
export function gridJobs(base: Scenario, g: GridSweep): { jobs: SweepJob[]; meta: SweepMeta } {
  const dims = g.grid;
  const keyOf = (k: string): GridDim | undefined => dims.find((d) => d.key === k);
  const policyDim = keyOf('policy');
  const pathDim = keyOf('path');
  const rateDim = keyOf('rate');
  const spec = (text: JsonValue): string => g.policySpecs?.get(text as string) ?? (text as string);

  // One policy name, one file: two files whose policies share a name would give rows that cannot be told apart.
  const allPolicies = policyDim !== undefined ? policyDim.values.map(spec) : [...g.policies];
  if (policyDim !== undefined) {
    allPolicies.forEach((p, i) => {
      const j = allPolicies.indexOf(p);
      if (j < i) throw new GridError('--grid', `policy=${policyDim.texts[i]}: the same policy as policy=${policyDim.texts[j]} (values must be distinct)`);
    });
  }
  const byName = new Map<string, string>();
  for (const p of allPolicies) {
    const name = policyOf(p)?.name ?? p;
    const other = byName.get(name);
    if (other !== undefined && other !== p) throw new GridError(policyDim !== undefined ? '--grid' : '--policy', `policy: ${other} and ${p} both name their policy '${name}' (rows name policies: rename one)`);
    byName.set(name, p);
  }

  const innerPaths = pathDim !== undefined ? 1 : g.paths === 'both' ? 2 : g.paths.length;
  const bound = dims.reduce((n, d) => n * d.values.length, 1) * (policyDim !== undefined ? 1 : g.policies.length) * innerPaths * (rateDim !== undefined ? 1 : g.rates.length);
  if (bound > MAX_RUNS) throw new GridError('--grid', `${bound} runs: at most ${MAX_RUNS} in one sweep`);

  const fields = dims.filter((d) => !(SWEEP_KEYS as readonly string[]).includes(d.key));
  const pair = (d: GridDim, i: number): string => `${d.key}=${d.texts[i]}`;
  /** Whether value i of d alone (on the base scenario) fails validation. */
  const failsAlone = (d: GridDim, i: number): boolean => {
    const x = setField(base, d.steps, d.values[i]!);
    if (isMissing(x)) return true;
    try {
      validateScenario(x);
      return false;
    } catch {
      return true;
    }
  };
  /** The GridError for a combination (indices `at`) that validation refused with `e`. */
  const refused = (at: readonly number[], e: ScenarioError, policy?: string): GridError => {
    const set = fields.map((d) => [d, at[dims.indexOf(d)]!] as const);
    if (e.field === 'policy' && policyDim !== undefined && policy !== undefined) return new GridError('--grid', `policy=${policyDim.texts[policyDim.values.map(spec).indexOf(policy)]}: ${e.message}`);
    let blame = set.filter(([d]) => about(e.field, d.key));
    if (blame.length === 0) blame = set.filter(([d, i]) => failsAlone(d, i));
    if (blame.length === 0) blame = set;
    return new GridError('--grid', `${blame.map(([d, i]) => pair(d, i)).join(' with ')}: ${e.message}`);
  };

  const jobs: SweepJob[] = [];
  const at: number[] = dims.map(() => 0);
  const leaf = (): void => {
    let s: unknown = base;
    for (const d of fields) {
      const i = at[dims.indexOf(d)]!;
      const x = setField(s, d.steps, d.values[i]!);
      if (isMissing(x)) throw new GridError('--grid', `${pair(d, i)}: no such field: ${x.missing}`);
      s = x;
    }
    const policies = policyDim !== undefined ? [spec(policyDim.values[at[dims.indexOf(policyDim)]!]!)] : sortPolicies(g.policies);
    for (const policy of policies) {
      let v: Scenario;
      try {
        v = validateScenario({ ...(s as Obj), policy });
      } catch (e) {
        if (e instanceof ScenarioError) throw refused(at, e, policy);
        throw e;
      }
      let paths: RunPath[];
      if (pathDim !== undefined) paths = [pathDim.values[at[dims.indexOf(pathDim)]!] as RunPath];
      else paths = g.paths === 'both' ? pathsOf(v).sort() : [...g.paths];
      for (const path of paths) {
        if ((path === 'direct' && v.gicVersion === 3) || (path === 'direct-v41' && v.gicVersion !== 4.1)) {
          const why = path === 'direct' ? `direct injection needs a GICv4 machine; scenario '${v.name}' has gicVersion ${v.gicVersion}` : `direct-v41 needs a GICv4.1 machine; scenario '${v.name}' has gicVersion ${v.gicVersion}`;
          const gic = fields.filter((d) => d.key === 'gicVersion').map((d) => pair(d, at[dims.indexOf(d)]!));
          if (pathDim !== undefined) throw new GridError('--grid', `path=${path}${gic.length > 0 ? ` with ${gic[0]}` : ''}: ${why}`);
          throw new GridError('--path', `${why}${gic.length > 0 ? ` (--grid ${gic[0]})` : ''}`);
        }
        const rates = rateDim !== undefined ? [rateDim.values[at[dims.indexOf(rateDim)]!] as number] : [...g.rates].sort((a, b) => a - b);
        for (const rate of rates) {
          let scenario: Scenario;
          try {
            scenario = validateScenario(scaleTraffic(v, rate));
          } catch (e) {
            if (!(e instanceof ScenarioError)) throw e;
            const others = fields.map((d) => pair(d, at[dims.indexOf(d)]!));
            const where = `rate ${rate}${others.length > 0 ? ` with ${others.join(' with ')}` : ''}`;
            if (rateDim !== undefined) throw new GridError('--grid', `rate=${rateDim.texts[at[dims.indexOf(rateDim)]!]}${others.length > 0 ? ` with ${others.join(' with ')}` : ''}: ${e.message}`);
            throw new GridError('--rates', `${where}: ${e.message}`);
          }
          const grid = dims.map((d) => {
            const x = d.values[at[dims.indexOf(d)]!]!;
            return d === policyDim ? (policyOf(spec(x))?.name ?? x) : x;
          });
          jobs.push({ index: jobs.length, policy, path, rate, scenario, ...(dims.length > 0 ? { grid } : {}) });
        }
      }
    }
  };
  const walk = (k: number): void => {
    if (k === dims.length) return leaf();
    for (let i = 0; i < dims[k]!.values.length; i++) {
      at[k] = i;
      walk(k + 1);
    }
  };
  walk(0);
  const metaGrid = dims.map((d) => ({ key: d.key, values: d === policyDim ? d.values.map((x) => policyOf(spec(x))?.name ?? x) : d.values }));
  return { jobs, meta: sweepMeta(base.name, metaGrid, jobs) };
}
