/**
 * The hypervisor's per-event bookkeeping behind the emulated ITS (hypervisor/vits/ite-store.ts):
 * `Hypervisor.eventOf` finds the forwarded event behind a guest LPI (the first forwarded when the
 * guest mapped several to it) without a scan, and follows the guest's DISCARD; a device whose
 * EventIDs are not 0, 1, 2... has each of its events forwarded (its own host LPI on the injected
 * path) and delivered.
 */
import test from 'ava';
import type { Program } from '../../core/ops.js';
import { ItsCmd } from '../../gic/its/commands.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { rig, settle, step, VM_PATHS, type RigDevice, type ScriptKernel } from './rig.js';

const DEVICES: readonly RigDevice[] = [
  // Events 0 and 2 share guest LPI 8230.
  {
    deviceId: 10,
    guestDeviceId: 3,
    events: [
      { eventId: 0, vcpu: 1, vintid: 8230 },
      { eventId: 1, vcpu: 0, vintid: 8231 },
      { eventId: 2, vcpu: 1, vintid: 8230 },
    ],
  },
  // Sparse EventIDs.
  {
    deviceId: 11,
    guestDeviceId: 4,
    events: [
      { eventId: 5, vcpu: 2, vintid: 8240 },
      { eventId: 9, vcpu: 3, vintid: 8241 },
    ],
  },
];

for (const path of VM_PATHS) {
  test(`${path}: eventOf gives the first event forwarded for a guest LPI, then the next once the guest discards it; sparse EventIDs are forwarded`, (t) => {
    const steps = [
      function* (k: ScriptKernel, cpu: KernelCpu): Program {
        yield* k.itsSend(cpu, [ItsCmd.DISCARD({ DeviceID: 3, EventID: 0 }), ItsCmd.SYNC({ RDbase: k.its!.rdbase(0, cpu.rd) })]);
      },
    ];
    const r = rig(path, { devices: DEVICES, steps });
    const hyp = r.hyp!;
    const vm = hyp.vms[0]!;
    t.is(r.vits!.forwarded.size, 5);
    const first = hyp.eventOf(vm, 8230)!;
    t.deepEqual([first.deviceId, first.eventId, first.vcpu.index], [10, 0, 1]);
    t.deepEqual([...hyp.eventsOf(vm).keys()].sort(), [8230, 8231, 8240, 8241]);
    t.is(hyp.eventOf(vm, 8232), undefined);
    t.is(hyp.eventOf(vm, 8241)!.eventId, 9);
    if (path === 'injected') t.not(hyp.eventOf(vm, 8240)!.hostLpi, hyp.eventOf(vm, 8241)!.hostLpi);
    else t.is(hyp.eventOf(vm, 8240)!.hostLpi, -1);

    step(r, 1);
    t.is(r.vits!.forwarded.size, 4);
    const next = hyp.eventOf(vm, 8230)!;
    t.deepEqual([next.deviceId, next.eventId, next.vcpu.index], [10, 2, 1]);
    // The discarded event no longer reaches the guest; the others do, each on its CPU.
    r.devices.get(10)!.msi(0);
    settle(r, 200);
    t.deepEqual(r.kernel.handled(8230), []);
    r.devices.get(10)!.msi(2);
    r.devices.get(11)!.msi(5);
    r.devices.get(11)!.msi(9);
    settle(r, 300);
    t.deepEqual(r.kernel.handled(8230), [1]);
    t.deepEqual(r.kernel.handled(8240), [2]);
    t.deepEqual(r.kernel.handled(8241), [3]);
    t.is(r.vits!.errorCount, 0);
    t.is(r.gic.its.errorCount, 0);
  });
}
