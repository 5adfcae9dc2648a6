/**
 * The default scenario (scenarios/named.ts 'default': 4 cores, 4 device VMs of 2 vCPUs, a hog
 * VM) run through `runScenario` on one path, as `npm start` runs it. Its host time includes
 * the scenario's boot warm-up (runScenario times the whole run), and the count is of
 * deliveries matched to MSIs.
 */
import type { Machine } from '../core/machine.js';
import { scenarioNamed } from '../scenarios/named.js';
import { runScenario } from '../scenarios/run.js';
import type { Scenario } from '../scenarios/scenario.js';
import { load1 } from './host.js';
import { fastest } from './stats.js';
import type { Path } from './steady.js';

export interface DefaultSample {
  readonly delivered: number;
  readonly hostMs: number;
  readonly ops: number;
  readonly cycles: number;
}

export interface DefaultResult {
  readonly path: Path;
  readonly scenario: string;
  readonly cores: number;
  readonly simulatedUs: number;
  readonly samples: readonly DefaultSample[];
  readonly delivered: number;
  readonly irqsPerSec: number;
  readonly nsPerIrq: number;
  /** Simulated cycles (machine clock, whole run) per host second. */
  readonly cyclesPerSec: number;
  readonly nsPerOp: number;
  readonly opsPerIrq: number;
  readonly load: readonly [number, number];
}

export function defaultScenario(): Scenario {
  const s = scenarioNamed('default');
  if (s === undefined) throw new Error("scenarios/named.ts has no 'default' scenario");
  return s;
}

export function runDefault(path: Path, reps: number, around?: (measure: () => void) => void): DefaultResult {
  const l0 = load1();
  const s = defaultScenario();
  const samples: DefaultSample[] = [];
  let simulatedUs = 0;
  const measure = (): void => {
    for (let r = 0; r < reps; r++) {
      let m: Machine | null = null;
      const res = runScenario(s, { path, hostClock: () => performance.now(), onBuilt: (h) => void (m = h.platform.m) });
      const mm = m as Machine | null;
      if (mm === null) throw new Error('runScenario did not build a platform');
      simulatedUs = res.simulatedUs;
      samples.push({ delivered: res.delivered, hostMs: res.hostMs, ops: mm.pes.reduce((a, pe) => a + pe.counters.ops, 0), cycles: mm.now });
    }
  };
  if (around !== undefined) around(measure);
  else measure();
  const best = fastest(samples, (x) => x.hostMs / x.delivered);
  return {
    path,
    scenario: s.name,
    cores: s.cores,
    simulatedUs,
    samples,
    delivered: best.delivered,
    irqsPerSec: (best.delivered / best.hostMs) * 1000,
    nsPerIrq: (best.hostMs * 1e6) / best.delivered,
    cyclesPerSec: (best.cycles / best.hostMs) * 1000,
    nsPerOp: (best.hostMs * 1e6) / best.ops,
    opsPerIrq: best.ops / best.delivered,
    load: [l0, load1()],
  };
}
