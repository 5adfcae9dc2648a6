/**
 * Scheduling policies are code the user owns: besides the shipped ones (hypervisor/sched/
 * policies.ts), a policy can come from a module file (`--policy ./mine.ts`, a scenario's
 * `"policy": "./mine.ts"`, relative to the scenario file). The module exports a `Policy` (as its
 * default export, as `policy`, or as its only export that is one). Loading is asynchronous (an
 * ES module import), so the CLI and each sweep worker load a file before anything validates or
 * runs; afterwards the policy is known by its absolute path, which is what the scenario then
 * holds (so a worker thread given the scenario can load the same module).
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { policyNamed, POLICIES } from '../hypervisor/sched/policies.js';
import type { Policy } from '../hypervisor/sched/policy.js';

/** A policy file that cannot be used: the message names the file and what is wrong. */
export class PolicyLoadError extends Error {}

/** Policies loaded from files, by absolute path. */
const loaded = new Map<string, Policy<any>>();

/** Whether `spec` names a module file rather than a shipped policy. */
export function isPolicyFile(spec: string): boolean {
  return /\.(m?[jt]s|cjs|cts)$/.test(spec) || spec.includes('/') || spec.includes('\\');
}

/** The policy `spec` names: a shipped one by name, or one loaded from a file (by its absolute path). */
export function policyOf(spec: string): Policy<any> | undefined {
  return policyNamed(spec) ?? loaded.get(spec);
}

/** What validation says a policy must be. */
export function policyExpectation(): string {
  return `one of ${POLICIES.map((p) => p.name).join(', ')}, or a module file exporting a Policy (e.g. ./my-policy.ts)`;
}

const METHODS = ['init', 'on', 'pick', 'place', 'doorbell'] as const;

function isPolicy(x: unknown): x is Policy<any> {
  if (typeof x !== 'object' || x === null) return false;
  const p = x as Record<string, unknown>;
  return typeof p['name'] === 'string' && METHODS.every((m) => typeof p[m] === 'function') && (p['preempt'] === undefined || typeof p['preempt'] === 'function');
}

/** The Policy a module exports: `default`, else `policy`, else its only export that is one. */
function exportedPolicy(mod: Record<string, unknown>): Policy<any> | string {
  if (isPolicy(mod['default'])) return mod['default'];
  if (isPolicy(mod['policy'])) return mod['policy'];
  const all = Object.values(mod).filter(isPolicy);
  if (all.length === 1) return all[0]!;
  if (all.length > 1) return `it exports ${all.length} policies (${all.map((p) => p.name).join(', ')}): make one the default export`;
  const names = Object.keys(mod);
  return `it exports no Policy (an object with a name and the functions ${METHODS.join(', ')}; exports found: ${names.length > 0 ? names.join(', ') : 'none'})`;
}

/**
 * Loads the policy module `spec` (relative to `base`), once; returns its absolute path, the key
 * `policyOf` knows it by. Throws PolicyLoadError naming the file when it does not exist, throws
 * while loading, or exports no policy.
 */
export async function loadPolicyFile(spec: string, base = process.cwd()): Promise<string> {
  const file = isAbsolute(spec) ? spec : resolve(base, spec);
  if (loaded.has(file)) return file;
  if (!existsSync(file) || !statSync(file).isFile()) throw new PolicyLoadError(`policy file ${spec}: no such file (${file})`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new PolicyLoadError(`policy file ${spec}: it threw while loading: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const p = exportedPolicy(mod);
  if (typeof p === 'string') throw new PolicyLoadError(`policy file ${spec}: ${p}`);
  if (policyNamed(p.name) !== undefined) throw new PolicyLoadError(`policy file ${spec}: its policy is named '${p.name}', the name of a shipped policy (rename it)`);
  loaded.set(file, p);
  return file;
}

/** How to show policy `spec`: its name, with the file it came from. */
export function policyLabel(spec: string): string {
  const p = policyOf(spec);
  if (p === undefined || policyNamed(spec) !== undefined) return spec;
  return `${p.name} (${spec})`;
}

/** Makes sure the policy `spec` is known (loading a file spec relative to `base`); returns the spec to store in a scenario. */
export async function ensurePolicy(spec: string, base = process.cwd()): Promise<string> {
  if (policyNamed(spec) !== undefined || loaded.has(spec)) return spec;
  if (!isPolicyFile(spec)) throw new PolicyLoadError(`policy ${JSON.stringify(spec)}: ${policyExpectation()}`);
  return loadPolicyFile(spec, base);
}
