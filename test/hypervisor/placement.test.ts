/**
 * Placing vCPUs made runnable together (the boot's first vCPUs, wake-ups in a burst): each goes
 * to an idle core of its own, so no core sleeps while a vCPU waits for one. Before the fix every
 * placement of a burst chose the same first idle core: on wfi-native (4 single-vCPU VMs on 4
 * cores, WFI not trapped) cores 2 and 3 idled for the whole run while two vCPUs queued for a
 * slice at a time, and the direct path merged 1,326 of 2,921 MSIs with p99 latency ~1 ms.
 */
import test from 'ava';
import { scenarioNamed } from '../../scenarios/named.js';
import { runScenario, type RunHandle } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';

for (const path of ['injected', 'direct'] as const) {
  test(`${path}: one vCPU per core from boot on: every core runs its vCPU, no vCPU waits a slice, nothing merges`, (t) => {
    const s = validateScenario({ ...scenarioNamed('wfi-native')!, durationUs: 4000 });
    let h!: RunHandle;
    const r = runScenario(s, { path, onBuilt: (x) => (h = x) });
    t.deepEqual(r.violations, []);
    t.is(r.coalesced, 0, `${r.coalesced} merged while pending`);
    t.true(r.latencyUs.p99 < 2, `p99 ${r.latencyUs.p99.toFixed(2)} us`);
    // Each vCPU was entered on its own core and waited for it only at boot.
    const cores = new Set(h.platform.hyp.vcpus.map((v) => v.core));
    t.is(cores.size, 4, `vCPUs on cores ${[...cores].join(', ')}`);
    t.true(r.runQueueWaitUs.max < 20, `longest run-queue wait ${r.runQueueWaitUs.max.toFixed(1)} us`);
    for (const v of r.vms) t.true(v.delivered > 0, `${v.vm}: ${v.delivered} delivered`);
  });
}
