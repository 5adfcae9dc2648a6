/**
 * `--sweep`: policies x paths x traffic rates on worker threads give the same rows whatever the
 * number of workers and the order in which runs are handed out and complete.
 */
import test from 'ava';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario } from '../../scenarios/run.js';
import { runSweep, scaleTraffic, sweepCsv, sweepJobs, sweepJsonLines, sweepRow, SWEEP_COLUMNS } from '../../scenarios/sweep.js';

const s = { ...scenarioNamed('default')!, durationUs: 300 };
const jobs = sweepJobs(s, { policies: ['round-robin', 'latency-first'], paths: ['injected', 'direct'], rates: [1, 2] });

test('a sweep of 8 runs gives the same CSV and JSON rows with 1 worker in order and 3 workers shuffled', async (t) => {
  t.is(jobs.length, 8);
  const [a, b] = await Promise.all([runSweep(jobs, { workers: 1 }), runSweep(jobs, { workers: 3, order: [5, 2, 7, 0, 3, 6, 1, 4] })]);
  t.is(a.length, 8);
  t.is(sweepCsv(a), sweepCsv(b));
  t.is(sweepJsonLines(a), sweepJsonLines(b));
  // Sorted by key: policy, path, rate.
  t.deepEqual(
    a.map((r) => `${r.policy}/${r.path}/${r.rate}`),
    ['latency-first/direct/1', 'latency-first/direct/2', 'latency-first/injected/1', 'latency-first/injected/2', 'round-robin/direct/1', 'round-robin/direct/2', 'round-robin/injected/1', 'round-robin/injected/2'],
  );
  const csv = sweepCsv(a).trimEnd().split('\n');
  t.is(csv.length, 9);
  t.is(csv[0], SWEEP_COLUMNS.join(','));
  t.true(csv.slice(1).every((l) => l.split(',').length === SWEEP_COLUMNS.length));
  t.is(sweepJsonLines(a).trimEnd().split('\n').length, 8);
});

test('each row is a full independent run: it equals the same run made in this thread', (t) => {
  const job = jobs[6]!; // latency-first, direct, rate 1
  const row = sweepRow(job, runScenario(job.scenario, { path: job.path }));
  t.is(row.policy, job.policy);
  t.is(row.path, job.path);
  t.true(row.msis > 0);
  return runSweep([job], { workers: 1 }).then((rows) => t.deepEqual(rows, [row]));
});

test('traffic rate factors scale every device', (t) => {
  const x = scaleTraffic(s, 2);
  t.deepEqual(
    x.devices.map((d) => d.traffic),
    s.devices.map((d) => (d.traffic.kind === 'poisson' ? { kind: 'poisson', ratePerSec: d.traffic.ratePerSec * 2 } : d.traffic)),
  );
  const r1 = runScenario(s, { path: 'injected' });
  const r2 = runScenario(x, { path: 'injected' });
  t.true(r2.msis > 1.5 * r1.msis, `${r2.msis} vs ${r1.msis}`);
});
