/**
 * `npm start`: runs the default scenario on both delivery paths with the same seed and prints
 * them side by side.
 */
import { formatComparison } from './comparison.js';
import { scenarioNamed } from './named.js';
import { runScenario, type PathResult } from './run.js';

const s = scenarioNamed('default')!;
const paths = s.gicVersion === 4 ? (['injected', 'direct'] as const) : (['injected'] as const);
const results: PathResult[] = paths.map((path) => runScenario(s, { path }));
process.stdout.write(`minivisor: scenario '${s.name}': ${s.summary}\n`);
process.stdout.write(`seed ${s.seed}, ${s.durationUs} us simulated at ${s.clockMHz} MHz, policy ${s.policy}, WFI ${s.wfi === 'trap' ? 'trapped (TWI=1)' : 'native (TWI=0)'}\n\n`);
process.stdout.write(`${formatComparison(results)}\n\n`);
process.stdout.write(`host time: ${results.map((r) => `${r.path} ${r.hostMs.toFixed(0)} ms`).join(', ')}\n`);
