/**
 * `npm start`: runs the default scenario and prints its figures.
 */
import { scenarioNamed } from './named.js';
import { runScenario, type PathResult } from './run.js';

const s = scenarioNamed('default')!;
const r = runScenario(s, { path: 'injected' });
const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const lines: [string, (r: PathResult) => string][] = [
  ['MSIs sent', (r) => String(r.msis)],
  ['interrupts delivered', (r) => String(r.delivered)],
  ['coalesced', (r) => String(r.coalesced)],
  ['EL2 entries per interrupt', (r) => f(r.el2EntriesPerIrq)],
  ['EL2 cycles per interrupt', (r) => f(r.el2CyclesPerIrq, 0)],
  ['latency p50 (us)', (r) => f(r.latencyUs.p50)],
  ['latency p99 (us)', (r) => f(r.latencyUs.p99)],
  ['latency max (us)', (r) => f(r.latencyUs.max)],
  ['vCPU switches', (r) => String(r.vcpuSwitches)],
  ['EL2 share per core', (r) => r.el2Share.map((x) => `${(x * 100).toFixed(1)}%`).join(' ')],
];
process.stdout.write(`minivisor: scenario '${s.name}' (${s.summary}), seed ${s.seed}, ${s.durationUs} us simulated\n\n`);
process.stdout.write(`${''.padEnd(28)}${r.path}\n`);
for (const [name, get] of lines) process.stdout.write(`${name.padEnd(28)}${get(r)}\n`);
process.stdout.write(`\nhost time: ${r.hostMs.toFixed(0)} ms\n`);
