/**
 * The README's "Testing an interrupt flow" example, kept here so that it compiles and passes:
 * edit both together.
 */
import test from 'ava';
import { work, type Program } from '../../core/ops.js';
import { deviceKernel } from '../../guests/samples.js';
import { addDevice, bootGuests, buildPlatform } from '../../scenarios/platform.js';

for (const injection of ['direct', 'list-register'] as const) {
  test(`${injection}: the guest handles all 50 MSIs of its device; EL2 entries counted`, (t) => {
    const seen: number[] = [];
    const p = buildPlatform({
      cores: 1,
      gic: { version: 4 },
      trapWfi: false, // WFI stays in the guest: its vPE stays resident while it sleeps
      sliceUs: 1_000_000, // one vCPU, one core: no time-slice exits during the run
      vms: [
        {
          name: 'vm',
          vcpus: 1,
          injection,
          // The sample device kernel, with our own handler for guest LPI 8224.
          kernel: (cfg) =>
            deviceKernel(cfg).onIrq(8224, function* (_cpu, intid): Program {
              seen.push(intid);
              yield work(200);
            }),
          devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }],
        },
      ],
    });
    bootGuests(p); // boot (hypervisor, ITS tables, the guest kernel) until the guest says it is ready
    const pe = p.m.pes[0]!;
    const el2Before = pe.counters.taken(1, 2); // exceptions from the guest (EL1) to EL2: VM exits
    addDevice(p, 1, [0], { kind: 'periodic', period: 20_000 }, { count: 50 }).start();
    p.m.runFor(2_000_000);
    t.is(seen.length, 50);
    const el2 = pe.counters.taken(1, 2) - el2Before;
    if (injection === 'direct') t.is(el2, 0); // a resident vPE: the GIC signals the guest itself
    else t.true(el2 >= 50); // each MSI is a host LPI taken at EL2, then a list register
  });
}
