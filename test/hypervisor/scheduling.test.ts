/**
 * Scheduling choices a user flips: WFI trapped or native, neighbours on the same or other
 * cores, and configuration limits.
 */
import test from 'ava';
import { deviceKernel } from '../../guests/samples.js';
import { buildPlatform } from '../../scenarios/platform.js';
import { runScenario } from '../../scenarios/run.js';
import { validateScenario } from '../../scenarios/validate.js';

const one = {
  name: 'wfi-choice',
  summary: '',
  cores: 1,
  path: 'direct',
  durationUs: 3000,
  vms: [{ name: 'vm', vcpus: 1, kernel: 'device' }],
  devices: [{ vm: 'vm', events: 1, traffic: { kind: 'poisson', ratePerSec: 20_000 } }],
};

test('WFI: native (TWI=0) keeps the vPE resident and wakes the guest with no EL2 entry; trapped (TWI=1) pays a doorbell and a schedule-in', (t) => {
  const native = runScenario(validateScenario({ ...one, wfi: 'native', sliceUs: 100_000 }));
  const trapped = runScenario(validateScenario({ ...one, wfi: 'trap' }));
  t.is(native.undelivered, 0);
  t.is(trapped.undelivered, 0);
  t.is(native.el2EntriesPerIrq, 0);
  t.is(native.doorbells, 0);
  t.true(trapped.doorbells > 0.9 * trapped.delivered, `${trapped.doorbells} doorbells for ${trapped.delivered} interrupts`);
  t.true(trapped.el2EntriesPerIrq >= 1);
  t.true(trapped.latencyUs.p50 > native.latencyUs.p50, `p50 trapped ${trapped.latencyUs.p50.toFixed(2)} us vs native ${native.latencyUs.p50.toFixed(2)} us`);
  t.log(`wake-up latency p50: native ${native.latencyUs.p50.toFixed(2)} us, trapped ${trapped.latencyUs.p50.toFixed(2)} us`);
});

test('interference: compute-bound neighbours on the same cores delay interrupts more than on other cores', (t) => {
  const base = {
    ...one,
    cores: 2,
    path: 'injected',
    sliceUs: 200,
    devices: [{ vm: 'vm', events: 1, traffic: { kind: 'poisson', ratePerSec: 20_000 } }],
  };
  const same = runScenario(validateScenario({ ...base, interference: { hogs: 2, noisy: 0, placement: 'same' } }));
  const other = runScenario(validateScenario({ ...base, interference: { hogs: 2, noisy: 0, placement: 'other' } }));
  t.is(same.undelivered, 0);
  t.is(other.undelivered, 0);
  t.true(same.latencyUs.p99 > 2 * other.latencyUs.p99, `p99 same cores ${same.latencyUs.p99.toFixed(2)} us, other cores ${other.latencyUs.p99.toFixed(2)} us`);
  t.true(same.runQueueWaitUs.max > other.runQueueWaitUs.max);
});

test('running out of vPE IDs is a configuration error that names the limit', (t) => {
  const e = t.throws(() =>
    buildPlatform({ cores: 1, gic: { version: 4, its: { vpeIdBits: 1 } }, vms: [{ name: 'big', vcpus: 3, injection: 'direct', kernel: (c) => deviceKernel(c) }] }),
  );
  t.regex(e!.message, /out of vPE IDs: big vCPU 2 needs vPE ID 2, but gic\.its\.vpeIdBits = 1 allows 2/);
});

test('list registers are configurable from 1 to 16 (ICH_VTR_EL2.ListRegs) and out of range is refused', (t) => {
  t.throws(() => buildPlatform({ cores: 1, gic: { listRegs: 17 }, vms: [] }), { message: /gic\.listRegs: expected an integer from 1 to 16, got 17/ });
  t.throws(() => validateScenario({ ...one, listRegs: 0 }), { message: /^listRegs: expected an integer from 1 to 16, got 0$/ });
});

for (const [sliceUs, costProfile] of [[2, 'default'], [10, 'slow-residency']] as const) {
  test(`a slice shorter than a vPE residency change (${sliceUs} us, ${costProfile}) still runs the guests: every MSI delivered or merged`, (t) => {
    const s = validateScenario({
      name: 'short-slice',
      summary: '',
      cores: 1,
      sliceUs,
      costProfile,
      path: 'direct',
      durationUs: 2000,
      vms: [
        { name: 'a', vcpus: 1, kernel: 'device' },
        { name: 'b', vcpus: 1, kernel: 'device' },
      ],
      devices: [
        { vm: 'a', events: 1, traffic: { kind: 'poisson', ratePerSec: 20_000 } },
        { vm: 'b', events: 1, traffic: { kind: 'poisson', ratePerSec: 20_000 } },
      ],
    });
    for (const path of ['direct', 'injected'] as const) {
      const r = runScenario(s, { path });
      t.true(r.msis > 40, `${path}: ${r.msis} MSIs`);
      t.is(r.undelivered, 0, path);
      t.true(r.delivered > r.msis / 2, `${path}: ${r.delivered} delivered of ${r.msis}`);
    }
  });
}
