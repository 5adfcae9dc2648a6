/**
 * Every shipped scenario runs on both delivery paths (short durations): devices send, guests
 * receive, and every MSI is delivered, merged with one still pending, or still in flight.
 */
import test from 'ava';
import { HARD_CASES } from '../../scenarios/hard-cases.js';
import { SCENARIOS, scenarioNamed } from '../../scenarios/named.js';
import { runScenario } from '../../scenarios/run.js';

test('the shipped list has the default comparison, idle-heavy, overcommit, lpi-stress, explain and every hard case', (t) => {
  const names = SCENARIOS.map((s) => s.name);
  for (const n of ['default', 'idle-heavy', 'overcommit', 'lpi-stress', 'explain', ...HARD_CASES.map((h) => h.name)]) t.true(names.includes(n), n);
  t.is(new Set(names).size, names.length);
  const over = scenarioNamed('overcommit')!;
  t.true(over.vms.reduce((a, v) => a + v.vcpus, 0) > over.cores, 'overcommit: more vCPUs than cores');
  const stress = scenarioNamed('lpi-stress')!;
  t.true(stress.devices.length >= 8 && stress.devices.every((d) => d.events >= 16) && stress.vms[0]!.vcpus >= 8, 'lpi-stress: many devices and events over many vCPUs');
});

// Scenarios with devices (ipi-exchange has none: its SGIs are counted from the guests' log, test/scenarios/ipi-exchange.test.ts).
for (const s of SCENARIOS.filter((x) => x.devices.length > 0)) {
  for (const path of s.gicVersion === 4 ? (['injected', 'direct'] as const) : (['injected'] as const)) {
    test(`${s.name} runs on the ${path} path`, (t) => {
      const r = runScenario({ ...s, durationUs: Math.min(s.durationUs, 400) }, { path });
      t.true(r.msis > 0, 'devices sent MSIs');
      t.true(r.delivered > 0, 'guests received interrupts');
      t.is(r.delivered + r.coalesced + r.undelivered, r.msis);
      t.true(r.undelivered <= r.msis / 4, `${r.undelivered} of ${r.msis} still in flight after the drain`);
      if (path === 'injected') t.is(r.vpeSwitches, 0);
    });
  }
}

test('idle-heavy: on the direct path nearly every interrupt rings a doorbell', (t) => {
  const r = runScenario({ ...scenarioNamed('idle-heavy')!, durationUs: 3000 }, { path: 'direct' });
  t.true(r.doorbells >= 0.9 * r.delivered, `${r.doorbells} doorbells for ${r.delivered} interrupts`);
});

test('one seed, one result: two runs of a scenario give the same figures, and no host time unless a host clock is passed', (t) => {
  const s = { ...scenarioNamed('default')!, durationUs: 300 };
  const a = runScenario(s, { path: 'direct' });
  const b = runScenario(s, { path: 'direct' });
  t.deepEqual(a, b);
  t.true(Number.isNaN(a.hostMs));
  let reads = 0;
  const c = runScenario(s, { path: 'direct', hostClock: () => 10 * ++reads });
  t.is(reads, 2);
  t.is(c.hostMs, 10);
  t.deepEqual({ ...c, hostMs: NaN }, a);
});
