/**
 * Bad scenario input gets a clear error naming the field (the CLI exits 2 with it): whatever a
 * scenario file or a scenario built in code holds, `validateScenario` either returns a scenario
 * or throws a ScenarioError whose message starts with the path of a field, never another
 * exception. Inputs: each shipped scenario with one to three of its fields (at any depth)
 * replaced by an arbitrary JSON value, deleted, or, for an array, given a hole. Those that
 * validate run 200 us on their own path, with the delivery check, without a JavaScript exception.
 */
import test from 'ava';
import fc from 'fast-check';
import { SCENARIOS } from '../../scenarios/named.js';
import { runScenario } from '../../scenarios/run.js';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';

type Key = string | number;
type Edit = { readonly at: number; readonly kind: 'set'; readonly value: unknown } | { readonly at: number; readonly kind: 'delete' | 'hole' };

/** Every field path of a JSON value, parents before children. */
function fieldPaths(v: unknown, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      const key: Key = Array.isArray(v) ? Number(k) : k;
      out.push([...prefix, key]);
      fieldPaths((v as Record<string, unknown>)[k], [...prefix, key], out);
    }
  }
  return out;
}

function applyEdit(root: Record<string, unknown>, paths: readonly Key[][], e: Edit): void {
  const path = paths[e.at % paths.length]!;
  let parent: unknown = root;
  for (const k of path.slice(0, -1)) parent = parent === null || typeof parent !== 'object' ? undefined : (parent as Record<Key, unknown>)[k];
  if (parent === null || typeof parent !== 'object') return;
  const last = path[path.length - 1]!;
  const p = parent as Record<Key, unknown>;
  if (e.kind === 'set') p[last] = e.value;
  else if (e.kind === 'delete' || !Array.isArray(p[last])) delete p[last];
  // A hole at the front of an array (a scenario built in code: `[, a, b]`).
  else p[last] = [, ...(p[last] as unknown[])];
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ at: fc.nat(), kind: fc.constant('set' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ at: fc.nat(), kind: fc.constantFrom('delete' as const, 'hole' as const) }),
);

/** A ScenarioError's message starts with the field it names: `vms[0].vcpus: expected ...`, `vms[0]["a b"]: expected ...`. */
const NAMES_A_FIELD = /^([A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])(\[\d+\]|\["(?:[^"\\]|\\.)*"\]|\.[A-Za-z_$][\w$]*)*: expected /;

test('property: a scenario with arbitrary fields replaced, deleted or holed validates, or fails with a ScenarioError naming the field; never another exception', (t) => {
  let valid = 0;
  let rejected = 0;
  let ran = 0;
  fc.assert(
    fc.property(fc.nat({ max: SCENARIOS.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }), fc.nat({ max: 9 }), (which, edits, runOne) => {
      const input = JSON.parse(JSON.stringify(SCENARIOS[which])) as Record<string, unknown>;
      const paths = fieldPaths(input);
      for (const e of edits) applyEdit(input, paths, e);
      let s;
      try {
        s = validateScenario(input);
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw new Error(`not a ScenarioError: ${(e as Error).stack ?? String(e)}`);
        if (!NAMES_A_FIELD.test(e.message)) throw new Error(`names no field: ${e.message}`);
        rejected++;
        return;
      }
      valid++;
      // One in ten of the valid ones runs (200 us, its own path): what validated must build and run.
      if (runOne !== 0) return;
      const r = runScenario({ ...s, durationUs: 200 });
      ran++;
      if (r.violations.length !== 0) throw new Error(`delivery check: ${r.violations.join('; ')}`);
    }),
    { numRuns: 400, seed: 20261202 },
  );
  t.true(rejected > 0 && valid > 0, `rejected ${rejected}, valid ${valid}, ran ${ran}`);
  t.log(`rejected ${rejected}, valid ${valid}, ran ${ran}`);
});
