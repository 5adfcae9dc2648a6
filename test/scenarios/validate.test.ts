/** Scenario validation names the field at fault, the value found and the value expected. */
import test from 'ava';
import { ScenarioError, validateScenario } from '../../scenarios/validate.js';

const base = {
  name: 't',
  vms: [{ name: 'a', vcpus: 2, kernel: 'device' }],
  devices: [{ vm: 'a', events: 4, traffic: { kind: 'periodic', periodUs: 10 } }],
};

test('a minimal scenario gets its defaults', (t) => {
  const s = validateScenario(base);
  t.is(s.cores, 4);
  t.is(s.gicVersion, 4);
  t.is(s.policy, 'round-robin');
  t.is(s.vms[0]!.ramMiB, 16);
  t.deepEqual(s.devices[0]!.traffic, { kind: 'periodic', periodUs: 10 });
});

const bad: [string, unknown, RegExp][] = [
  ['vcpus out of range', { ...base, vms: [{ name: 'a', vcpus: 0, kernel: 'device' }] }, /^vms\[0\]\.vcpus: expected an integer from 1 to 1024, got 0$/],
  ['unknown kernel', { ...base, vms: [{ name: 'a', vcpus: 1, kernel: 'linux' }] }, /^vms\[0\]\.kernel: expected one of "device", "hog", "idle", "ipi", "ipi-exchange", got "linux"$/],
  ['device names no VM', { ...base, devices: [{ vm: 'b', events: 1, traffic: { kind: 'periodic', periodUs: 1 } }] }, /^devices\[0\]\.vm: expected the name of a VM \(a\), got "b"$/],
  ['traffic kind', { ...base, devices: [{ vm: 'a', events: 1, traffic: { kind: 'sometimes' } }] }, /^devices\[0\]\.traffic\.kind: expected one of/],
  ['unknown field', { ...base, colour: 'blue' }, /^colour: expected no such field/],
  ['unknown policy', { ...base, policy: 'lottery' }, /^policy: expected one of "?round-robin/],
  ['direct on GICv3', { ...base, gicVersion: 3, path: 'direct' }, /^path: expected "injected" on a GICv3 machine/],
  ['pinned beyond cores', { ...base, cores: 2, vms: [{ name: 'a', vcpus: 1, kernel: 'hog', pinned: [5] }] }, /^vms\[0\]\.pinned\[0\]: expected a core index from 0 to 1, got 5$/],
  ['duplicate VM names', { ...base, vms: [{ name: 'a', vcpus: 1, kernel: 'hog' }, { name: 'a', vcpus: 1, kernel: 'idle' }] }, /^vms\[1\]\.name: expected a name no other VM has/],
  ['cost profile', { ...base, costProfile: 'free' }, /^costProfile: expected one of default/],
  ['no name (docs/cli.md: required)', { vms: base.vms, devices: base.devices }, /^name: expected a non-empty string, got nothing$/],
  ['a value nested 20,000 levels deep', { ...base, vms: [nest(20_000)] }, /^vms\[0\]: expected an object, got \[\[\[\[\.\.\.\]\]\]\]$/],
  ['a deep object where a string belongs', { ...base, vms: [{ name: 'a', vcpus: 1, kernel: 'device', path: nestObject(20_000) }] }, /^vms\[0\]\.path: expected one of "injected", "direct", "direct-v41", got \{"a":\{"a":/],
  ['300 vCPUs in 16 MiB', { ...base, vms: [{ name: 'a', vcpus: 300, kernel: 'device' }] }, /^vms\[0\]\.ramMiB: expected at least 21 \(300 vCPUs with device LPIs need that much/],
  ['a hole in a scenario built in code', { ...base, devices: [base.devices[0], , base.devices[0]] }, /^devices\[1\]: expected an object, got nothing$/],
  ['a summary that is no string', { ...base, summary: 64 }, /^summary: expected a string, got 64$/],
  ['a null device', { ...base, devices: [base.devices[0], null] }, /^devices\[1\]: expected an object, got null$/],
  ['more VM RAM than the machine has', { ...base, vms: Array.from({ length: 113 }, (_, i) => ({ name: `v${i}`, vcpus: 1, kernel: 'idle' })), devices: [] }, /^vms: expected VMs whose RAM fits in 1792 MiB .*got "1808 MiB in all"$/],
];

function nest(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function nestObject(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

test('a VM RAM exactly as large as its kernel needs validates (300 vCPUs in 21 MiB; 112 VMs of 16 MiB)', (t) => {
  t.notThrows(() => validateScenario({ ...base, vms: [{ name: 'a', vcpus: 300, kernel: 'device', ramMiB: 21 }] }));
  t.notThrows(() => validateScenario({ ...base, vms: Array.from({ length: 112 }, (_, i) => ({ name: i === 0 ? 'a' : `v${i}`, vcpus: 1, kernel: 'idle' })) }));
});

for (const [name, input, message] of bad) {
  test(`bad input names the field: ${name}`, (t) => {
    const e = t.throws(() => validateScenario(input), { instanceOf: ScenarioError });
    t.regex(e!.message, message);
  });
}
