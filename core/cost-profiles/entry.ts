/**
 * How a cost profile of a real machine is written: every entry of the cost table and of the
 * hypervisor's bookkeeping is a pair [value, source], the source beside the number. A source
 * either names a document and what it measured, or starts with "estimate:" and gives the
 * reasoning. `machineProfile` splits the pairs into the `CostProfile` the model runs with and
 * the `sources` record that the profile test and the README table read.
 */
import type { BookkeepingCosts, CostProfile, CostTable } from '../costs.js';

/** A value and where it comes from. */
export type Sourced = readonly [value: number, source: string];

export interface MachineProfileSpec {
  readonly name: string;
  readonly summary: string;
  /** The machine the costs describe: its core clock, list registers and GIC. */
  readonly machine: NonNullable<CostProfile['machine']>;
  readonly costs: { readonly [K in keyof CostTable]: Sourced };
  readonly bookkeeping: { readonly [K in keyof BookkeepingCosts]: Sourced };
}

export function machineProfile(s: MachineProfileSpec): CostProfile {
  const costs = {} as Record<keyof CostTable, number>;
  const bookkeeping = {} as Record<keyof BookkeepingCosts, number>;
  const sources: Record<string, string> = {};
  for (const [k, [v, src]] of Object.entries(s.costs) as [keyof CostTable, Sourced][]) {
    costs[k] = v;
    sources[k] = src;
  }
  for (const [k, [v, src]] of Object.entries(s.bookkeeping) as [keyof BookkeepingCosts, Sourced][]) {
    bookkeeping[k] = v;
    sources[`bookkeeping.${k}`] = src;
  }
  return Object.freeze({
    name: s.name,
    summary: s.summary,
    machine: Object.freeze({ ...s.machine }),
    costs: Object.freeze(costs),
    bookkeeping: Object.freeze(bookkeeping),
    sources: Object.freeze(sources),
  });
}
