/**
 * Scenario validation of the machine's ID limits: device events beyond the ITS's EventID bits
 * or the guest's LPI space, more host LPIs than lpiIdBits gives, more vPEs than vpeIdBits gives
 * are refused naming the field; a scenario exactly at a limit validates and builds.
 */
import test from 'ava';
import { buildScenario } from '../../scenarios/run.js';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';

const base = {
  name: 't',
  vms: [{ name: 'a', vcpus: 2, kernel: 'device' }],
  devices: [{ vm: 'a', events: 4, traffic: { kind: 'periodic', periodUs: 10 } }],
};
const traffic = { kind: 'periodic', periodUs: 10 };

const bad: [string, unknown, string][] = [
  [
    'device events beyond the ITS EventID bits',
    { ...base, devices: [{ vm: 'a', events: 65537, traffic }] },
    'devices[0].events: expected an integer from 1 to 65536 (EventIDs 0..65535: the ITS has 16 EventID bits, GITS_TYPER.ID_bits = 15), got 65537',
  ],
  [
    "device events beyond the guest's LPIs",
    { ...base, lpiIdBits: 17, devices: [{ vm: 'a', events: 57312, traffic }, { vm: 'a', events: 1, traffic }] },
    "devices[1].events: expected at most 0 (the events of VM 'a''s devices become its guest LPIs, 8224 up to 65535; 57312 are taken by its earlier devices), got 1",
  ],
  [
    'host LPIs beyond lpiIdBits (a run on the injected path)',
    { ...base, lpiIdBits: 14, path: 'direct', devices: [{ vm: 'a', events: 8000, traffic }, { vm: 'a', events: 193, traffic }] },
    'lpiIdBits: expected at least 15 (the run needs 8193 host LPIs: 8193 device events on the injected path, 0 vPE doorbells; 14 bits give 8192), got 14',
  ],
  [
    'vPE IDs beyond vpeIdBits (interference neighbours count)',
    { ...base, vpeIdBits: 2, interference: { hogs: 3 } },
    'vpeIdBits: expected at least 3 (the direct path needs one vPE ID per vCPU: 5 vCPUs), got 2',
  ],
];

for (const [name, input, message] of bad) {
  test(`an ID limit names the field: ${name}`, (t) => {
    const e = t.throws(() => validateScenario(input), { instanceOf: ScenarioError });
    t.is(e!.message, message);
  });
}

test('a scenario exactly at the limits validates and builds', (t) => {
  // 57312 guest LPIs (8224..65535) and, with lpiIdBits 16, the injected path's 57312 host LPIs of
  // the 57344 there are, plus 2 doorbells when run direct; vpeIdBits 1: both vCPUs.
  const s = validateScenario({ ...base, vpeIdBits: 1, devices: [{ vm: 'a', events: 57000, traffic }, { vm: 'a', events: 312, traffic }] });
  t.is(s.devices[1]!.events, 312);
  for (const path of ['injected', 'direct'] as const) {
    const h = buildScenario(s, { path });
    t.is(h.vintids[1]!.at(-1), 65535);
  }
  t.throws(() => validateScenario({ ...base, vpeIdBits: 1, vms: [{ name: 'a', vcpus: 3, kernel: 'device' }] }), { message: /^vpeIdBits: expected at least 2/ });
});
