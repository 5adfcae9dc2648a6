/**
 * The machine-readable result of a comparison (`--json`, and embedded in `--report`): the
 * scenario as run, every figure of every path as numbers, and the comparison table exactly as
 * printed (comparison.ts), so a reader can check one against the other. Host time is kept
 * apart (`host`): it is the only part that differs between two runs of the same scenario.
 */
import { comparisonRows, type ComparisonRow } from './comparison.js';
import type { PathResult } from './run.js';
import type { RunPath, Scenario } from './scenario.js';

export type PathFigures = Omit<PathResult, 'hostMs'>;

export interface ComparisonResult {
  readonly format: 'minivisor-comparison';
  readonly version: 1;
  readonly scenario: Scenario;
  readonly paths: readonly RunPath[];
  /** One entry per path, in `paths` order (NaN, e.g. a latency with nothing delivered, is null in JSON). */
  readonly results: readonly PathFigures[];
  /** The comparison table: one row per figure, one value per path, formatted as printed. */
  readonly table: readonly ComparisonRow[];
  /** Host milliseconds per path (not reproducible). */
  readonly host: { readonly ms: readonly number[] };
}

export function comparisonResult(s: Scenario, results: readonly PathResult[]): ComparisonResult {
  return {
    format: 'minivisor-comparison',
    version: 1,
    scenario: s,
    paths: results.map((r) => r.path),
    results: results.map(({ hostMs: _hostMs, ...rest }) => rest),
    table: comparisonRows(results),
    host: { ms: results.map((r) => Math.round(r.hostMs)) },
  };
}

/** The result as JSON text (two-space indentation, NaN as null). */
export function comparisonJson(r: ComparisonResult): string {
  return JSON.stringify(r, null, 2);
}
