/**
 * A --sweep worker thread: runs each job it is sent (a full, independent simulation of one
 * scenario on one path from its seed) and posts back the row.
 */
import { parentPort } from 'node:worker_threads';
import { runScenario } from './run.js';
import { sweepRow, type SweepJob } from './sweep.js';

parentPort!.on('message', (job: SweepJob) => {
  try {
    const r = runScenario(job.scenario, { path: job.path });
    parentPort!.postMessage({ row: sweepRow(job, r) });
  } catch (e) {
    parentPort!.postMessage({ error: `${job.policy}/${job.path}/x${job.rate}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
  }
});
