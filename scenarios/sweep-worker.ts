/**
 * A --sweep worker thread: runs each job it is sent (a full, independent simulation of one
 * scenario on one path from its seed) and posts back the row. A policy from a module file is
 * loaded here too (the scenario holds its absolute path), before the job runs.
 */
import { parentPort } from 'node:worker_threads';
import { ensurePolicy } from './policy-modules.js';
import { runScenario } from './run.js';
import { sweepRow, type SweepJob } from './sweep.js';

parentPort!.on('message', (job: SweepJob) => {
  void (async () => {
    try {
      await ensurePolicy(job.scenario.policy);
      const r = runScenario(job.scenario, { path: job.path });
      parentPort!.postMessage({ index: job.index, row: sweepRow(job, r) });
    } catch (e) {
      parentPort!.postMessage({ error: `${job.policy}/${job.path}/x${job.rate}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
    }
  })();
});
