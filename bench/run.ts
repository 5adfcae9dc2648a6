/**
 * `npm run bench [-- --quick]`: runs the benchmarks with tracing off, prints a table and writes
 * the figures with a description of the host to bench/results/<date>.json.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { benchHypercalls, benchOps, type BenchRow } from './core-bench.js';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.1 : 1;
const rows: BenchRow[] = [benchOps(Math.round(3e6 * scale)), benchHypercalls(Math.round(5e5 * scale))];

const pad = (s: string, n: number): string => s.padEnd(n);
process.stdout.write(`${pad('benchmark', 40)}${pad('count', 12)}${pad('per host second', 18)}host ns each\n`);
for (const r of rows) {
  process.stdout.write(`${pad(r.name, 40)}${pad(String(r.count), 12)}${pad(Math.round(r.perSecond).toLocaleString('en-US'), 18)}${r.nsPer.toFixed(1)}\n`);
}
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.arch()}` };
// The date names the file only; nothing inside the model reads the clock.
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${stamp}${quick ? '-quick' : ''}.json`;
writeFileSync(file, JSON.stringify({ date: stamp, quick, machine, rows }, null, 2));
process.stdout.write(`\nwrote ${file}\n`);
