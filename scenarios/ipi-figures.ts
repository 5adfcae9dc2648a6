/**
 * What an IPI costs on each delivery path, for scenarios whose guests exchange SGIs
 * (guests/ipi-exchange.ts; the shipped 'ipi-exchange'). SGIs are not MSIs, so the scenario
 * delivery check (delivery-check.ts) does not count them: the figures come from the guests' own
 * log (SGIs sent and received, the latency each receiver measured with the VM's virtual
 * counter) and from the hypervisor's per-vCPU counters, both taken over the same window: from
 * the moment every guest is ready to the end of the scenario's duration.
 *
 * - IPIs: SGIs received (handler runs), and sends that merged with one still pending;
 * - EL2 entries per IPI: every exit of the VM's vCPUs (the sender's trapped ICC_SGI1R_EL1, the
 *   receiver's kick IRQ exit, doorbells, maintenance) over the window, divided by the IPIs
 *   received; EL2 cycles per IPI likewise (the cores' whole time at EL2 in the window);
 * - latency: from the sender's CNTVCT_EL0 read before its ICC_SGI1R_EL1 write to the receiver's
 *   read at the start of its handler, p50/p99/max, in cycles.
 *
 * `npx tsx scenarios/ipi-figures.ts [scenario]` prints the table for every path `pathsOf` gives.
 */
import { IpiExchangeKernel } from '../guests/ipi-exchange.js';
import { runUntilGuestsReady } from './platform.js';
import { buildScenario } from './run.js';
import { scenarioNamed } from './named.js';
import { pathsOf, type RunPath, type Scenario } from './scenario.js';

export interface IpiFigures {
  readonly path: RunPath;
  readonly gic: string;
  readonly sent: number;
  readonly received: number;
  readonly merged: number;
  /** The guest asked for SGIs without an active state and its distributor granted it (direct vSGIs). */
  readonly vsgis: boolean;
  readonly el2EntriesPerIpi: number;
  readonly el2CyclesPerIpi: number;
  /** Trapped system-register writes (ICC_SGI1R_EL1) per IPI. */
  readonly sgiTrapsPerIpi: number;
  /** IRQ exits (kicks, doorbells, maintenance) per IPI. */
  readonly irqExitsPerIpi: number;
  readonly latencyCycles: { readonly p50: number; readonly p99: number; readonly max: number };
}

const EC_SYS64 = 0x18;

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `s` on `path` and reads its IPI figures over the window (see the module comment). */
export function ipiFigures(s: Scenario, path: RunPath): IpiFigures {
  const h = buildScenario(s, { path });
  const p = h.platform;
  const m = p.m;
  runUntilGuestsReady(p);
  const kernels = p.kernels.filter((k): k is IpiExchangeKernel => k instanceof IpiExchangeKernel);
  const sum = (f: (k: IpiExchangeKernel) => number): number => kernels.reduce((a, k) => a + f(k), 0);
  const total = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const vcpus = p.hyp.vcpus;
  const exits0 = total(vcpus.map((v) => v.counters.exits));
  const irq0 = total(vcpus.map((v) => v.counters.irqExits));
  const sys0 = total(vcpus.map((v) => v.counters.exitsByEc[EC_SYS64]!));
  const el2c0 = total(m.pes.map((pe) => pe.counters.cyclesAt[2]!));
  const sent0 = sum((k) => total(k.sent));
  const recv0 = sum((k) => total(k.received));
  const merged0 = sum((k) => k.merged);
  const lat0 = kernels.map((k) => k.latencies.length);
  m.run(m.now + m.usToCycles(s.durationUs));
  const received = sum((k) => total(k.received)) - recv0;
  const per = (x: number): number => (received > 0 ? x / received : NaN);
  const ticks = kernels.flatMap((k, i) => k.latencies.slice(lat0[i]));
  const cyclesPerTick = m.clockHz / m.cntfrq;
  const lat = ticks.map((t) => t * cyclesPerTick).sort((a, b) => a - b);
  return {
    path,
    gic: p.gic.config.version === 3 ? '3' : p.gic.config.v41 ? '4.1' : '4.0',
    sent: sum((k) => total(k.sent)) - sent0,
    received,
    merged: sum((k) => k.merged) - merged0,
    vsgis: kernels.length > 0 && kernels.every((k) => k.sgisWithoutActive),
    el2EntriesPerIpi: per(total(vcpus.map((v) => v.counters.exits)) - exits0),
    el2CyclesPerIpi: per(total(m.pes.map((pe) => pe.counters.cyclesAt[2]!)) - el2c0),
    sgiTrapsPerIpi: per(total(vcpus.map((v) => v.counters.exitsByEc[EC_SYS64]!)) - sys0),
    irqExitsPerIpi: per(total(vcpus.map((v) => v.counters.irqExits)) - irq0),
    latencyCycles: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat.length > 0 ? lat[lat.length - 1]! : NaN },
  };
}

/** The table `ipiFigures` gives for each path of `s`. */
export function ipiTable(s: Scenario): string {
  const rows = pathsOf(s).map((path) => ipiFigures(s, path));
  const f = (x: number, d = 0): string => (Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const head = ['path', 'GIC', 'vSGIs', 'IPIs', 'merged', 'EL2 entries/IPI', 'SGI1R traps/IPI', 'IRQ exits/IPI', 'EL2 cycles/IPI', 'latency p50 / p99 / max (cycles)'];
  const body = rows.map((r) => [r.path, r.gic, r.vsgis ? 'yes' : 'no', f(r.received), f(r.merged), f(r.el2EntriesPerIpi, 2), f(r.sgiTrapsPerIpi, 2), f(r.irqExitsPerIpi, 2), f(r.el2CyclesPerIpi), `${f(r.latencyCycles.p50)} / ${f(r.latencyCycles.p99)} / ${f(r.latencyCycles.max)}`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''));
if (isMain) {
  const name = process.argv[2] ?? 'ipi-exchange';
  const s = scenarioNamed(name);
  if (s === undefined) throw new Error(`no scenario named ${name}`);
  console.log(`${name}: ${s.summary}\n`);
  console.log(ipiTable(s));
}
