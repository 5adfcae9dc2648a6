/**
 * GICv4 direct injection end to end: the same guests and device traffic as the injected path,
 * delivered by the GIC with no EL2 entry while the vPE is resident, and through the VPT, the
 * doorbell and schedule-in when it is not.
 */
import test from 'ava';
import { daifclr, daifset, DAIF_I, work, type Program } from '../../core/ops.js';
import { sendSgi } from '../../drivers/gic-init.js';
import { idleLoop, Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { deviceKernel, DeviceKernel, hogKernel, idleKernel } from '../../guests/samples.js';
import type { DirectInjector } from '../../hypervisor/direct.js';
import { roundRobin } from '../../hypervisor/sched/round-robin.js';
import type { Policy } from '../../hypervisor/sched/policy.js';
import { addDevice, bootGuests, buildPlatform, type PlatformOptions } from '../../scenarios/platform.js';
import { attachDeliveryCheck, type DeliveryCheck } from '../../scenarios/delivery-check.js';
import type { MsiDevice } from '../../core/msi-device.js';

const LPI = 8192 + 32;

/** Watches the MSIs of `dev` (device 1 of the first VM, every EventID to vCPU 0 as `LPI`) until the end: nothing lost. */
function watch(p: ReturnType<typeof buildPlatform>, dev: MsiDevice): DeliveryCheck {
  return attachDeliveryCheck(p, [{ device: dev, deviceId: 1, vm: 0, events: [{ vcpu: 0, vintid: LPI }] }]);
}

function el2(p: ReturnType<typeof buildPlatform>): number {
  return p.m.pes.reduce((a, pe) => a + pe.counters.exceptions[2]!, 0);
}

function direct(o: Partial<PlatformOptions> & Pick<PlatformOptions, 'vms'>): ReturnType<typeof buildPlatform> {
  return buildPlatform({ cores: 1, trace: true, gic: { version: 4 }, ...o });
}

test('resident vPE: every MSI reaches the guest with no EL2 entry and no list register', (t) => {
  const p = direct({
    trapWfi: false,
    sliceUs: 1_000_000,
    vms: [{ name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] }],
  });
  bootGuests(p);
  p.m.trace.clear();
  const before = el2(p);
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 20_000 }, { count: 30 });
  dev.start();
  p.m.runFor(1_000_000);
  const k = p.kernels[0] as DeviceKernel;
  t.is(k.log.length, 30);
  t.is(el2(p) - before, 0);
  t.is(p.m.trace.of('ich-lr-write').length, 0);
  t.is(p.m.trace.of('icv-ack').filter((r) => r.source === 'vlpi' && r.vintid === LPI).length, 30);
});

test('not resident: the vLPI waits in the VPT in memory, the armed doorbell wakes the vCPU, then it is delivered once', (t) => {
  const p = direct({ trapWfi: true, vms: [{ name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] }] });
  bootGuests(p);
  p.m.runFor(100_000); // past the ready signal into its idle loop: the WFI traps and the vCPU blocks
  const v = p.hyp.vcpus[0]!;
  t.is(v.state, 'blocked');
  const vpe = (p.hyp.direct as DirectInjector).vpe(v)!;
  t.false(vpe.resident);
  t.true(vpe.armed);
  p.m.trace.clear();
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 1000 }, { count: 1 });
  dev.start();
  // Just after translation: the bit is in the VPT, no vIRQ was raised.
  p.m.runFor(1000 + p.m.costs.itsTranslate + 50);
  const vptByte = p.m.bus.memory.read8(vpe.vpt + Math.floor(LPI / 8));
  t.is((vptByte >> LPI % 8) & 1, 1);
  t.is(p.m.trace.of('icv-ack').length, 0);
  p.m.runFor(200_000);
  // In order: the doorbell LPI acknowledged at EL2, the wake-up, the schedule-in, the delivery.
  const recs = p.m.trace.records;
  const doorbellAck = recs.findIndex((r) => r.kind === 'gic-ack' && r.intid === vpe.doorbell);
  const order = [doorbellAck, ...['vcpu-wake', 'vpe-schedule', 'vcpu-enter', 'icv-ack'].map((k) => recs.findIndex((r) => r.kind === k))];
  t.true(order.every((i) => i >= 0), JSON.stringify(order));
  t.deepEqual([...order].sort((a, b) => a - b), order);
  t.is(p.m.trace.of('vcpu-wake')[0]!.reason, 'doorbell');
  t.is(p.hyp.stats.doorbells, 1);
  t.is((p.kernels[0] as DeviceKernel).log.length, 1);
  t.is((p.m.bus.memory.read8(vpe.vpt + Math.floor(LPI / 8)) >> LPI % 8) & 1, 0);
});

test('no doorbell when the policy does not ask for one: the vLPI waits until the next schedule-in', (t) => {
  const noDoorbell: Policy<any> = { ...roundRobin, name: 'no-doorbell', doorbell: () => false };
  const tick = 200_000; // counter ticks: 200 us
  const p = direct({
    trapWfi: true,
    policy: noDoorbell,
    vms: [{ name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c, { tickCounts: tick }), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] }],
  });
  bootGuests(p);
  p.m.trace.clear();
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 1000 }, { count: 1 });
  dev.start();
  p.m.runFor(1_000_000);
  t.is(p.hyp.stats.doorbells, 0);
  const k = p.kernels[0] as DeviceKernel;
  t.is(k.log.length, 1);
  // Delivered at the next schedule-in, which the timer caused.
  const wake = p.m.trace.of('vcpu-wake')[0]!;
  t.is(wake.reason, 'timer');
  const ack = p.m.trace.of('icv-ack').find((r) => r.vintid === LPI)!;
  t.true(ack.t > wake.t);
});

test('PendingLast on schedule-out says whether a vLPI was left pending', (t) => {
  const p = direct({
    sliceUs: 100,
    vms: [
      {
        name: 'masker',
        vcpus: 1,
        injection: 'direct',
        kernel: (c) => {
          const k = deviceKernel(c);
          k.main = function* (): Program {
            for (;;) {
              yield daifset(DAIF_I);
              yield work(300_000); // longer than the slice: preempted with interrupts masked
              yield daifclr(DAIF_I);
              yield work(10_000);
            }
          };
          return k;
        },
        devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }],
      },
      { name: 'hog', vcpus: 1, kernel: (c) => hogKernel(c) },
    ],
  });
  bootGuests(p);
  p.m.trace.clear();
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 150_000 }, { count: 10 });
  const check = watch(p, dev);
  dev.start();
  p.m.runFor(3_000_000);
  const outs = p.m.trace.of('vpe-deschedule');
  t.true(outs.some((r) => r.pendingLast), 'some deschedule with a pending vLPI');
  t.true(outs.some((r) => !r.pendingLast), 'some deschedule with nothing pending');
  const { counts: r, violations } = check.finish();
  t.deepEqual(violations, []);
  t.is(r.delivered + r.coalesced, 10);
});

test('a vCPU migrating between cores (VMOVP) loses no interrupt', (t) => {
  const p = direct({
    cores: 2,
    sliceUs: 50,
    vms: [
      { name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }] },
      { name: 'hog', vcpus: 2, kernel: (c) => hogKernel(c) },
    ],
  });
  bootGuests(p);
  const dev = addDevice(p, 1, [0], { kind: 'poisson', mean: 30_000 }, { count: 100 });
  const check = watch(p, dev);
  dev.start();
  p.m.runFor(8_000_000);
  const d = p.hyp.direct as DirectInjector;
  t.true(d.stats.vmovps > 0, `${d.stats.vmovps} VMOVPs`);
  const k = p.kernels[0] as DeviceKernel;
  const { counts: r, violations } = check.finish();
  t.is(dev.sent, 100);
  t.deepEqual(violations, []);
  t.is(r.delivered + r.coalesced, 100);
  t.true(k.log.length > 10);
});

test('SET_AFFINITY retargets an event to another vCPU with VMOVI', (t) => {
  let switched = -1;
  const p = direct({
    cores: 2,
    vms: [
      {
        name: 'vm',
        vcpus: 2,
        injection: 'direct',
        kernel: (c) => {
          const k = deviceKernel(c);
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index === 0) {
              // Move the interrupt to CPU 1 once ten have arrived here.
              while (k.log.length < 10) yield work(50_000);
              switched = Number(yield* k.setAffinity(LPI, 1));
            }
            for (;;) yield work(1_000_000);
          };
          return k;
        },
        devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }],
      },
    ],
  });
  bootGuests(p);
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 100_000 }, { count: 40 });
  dev.start();
  p.m.runFor(5_000_000);
  t.is(switched, 0);
  const k = p.kernels[0] as DeviceKernel;
  t.is(k.log.length, 40);
  t.true(k.log.cpu.includes(0) && k.log.cpu.includes(1));
  // Once moved, always on CPU 1.
  const first1 = k.log.cpu.indexOf(1);
  t.true(k.log.cpu.slice(first1).every((c) => c === 1));
  t.true(p.m.trace.of('its-command').some((r) => r.command === 'VMOVI'));
});

test('a vLPI the guest disabled stays pending and is delivered once it is enabled and invalidated', (t) => {
  const phases: string[] = [];
  const p = direct({
    trapWfi: false,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        injection: 'direct',
        kernel: (c) => {
          const k = deviceKernel(c);
          k.main = function* (cpu: KernelCpu): Program {
            yield* k.setLpiEnabled(cpu, LPI, false);
            phases.push('disabled');
            yield work(1_000_000); // the MSI arrives meanwhile
            phases.push(`enable:${k.log.length}`);
            yield* k.setLpiEnabled(cpu, LPI, true);
            for (;;) yield work(1_000_000);
          };
          return k;
        },
        devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }],
      },
    ],
  });
  bootGuests(p);
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 100_000 }, { count: 1 });
  dev.start();
  p.m.runFor(3_000_000);
  t.deepEqual(phases, ['disabled', 'enable:0']);
  t.is((p.kernels[0] as DeviceKernel).log.length, 1);
});

for (const [vprio, first] of [
  [0x80, 'vlpi'],
  [0xc0, 'sgi'],
] as const) {
  test(`a list-register SGI and a resident vLPI are taken by priority (vLPI at 0x${vprio.toString(16)}: ${first} first)`, (t) => {
    const order: string[] = [];
    const p = direct({
      trapWfi: false,
      vms: [
        {
          name: 'vm',
          vcpus: 1,
          injection: 'direct',
          lpiPriority: vprio,
          kernel: (c) => {
            const k = deviceKernel(c);
            k.onIrq(LPI, function* (): Program {
              order.push('vlpi');
            });
            k.onIrq(2, function* (): Program {
              order.push('sgi');
            });
            k.main = function* (): Program {
              yield daifset(DAIF_I);
              yield* sendSgi(2, [0]); // to self, through the trapped ICC_SGI1R_EL1: an LR at 0xa0
              yield work(3_000_000); // the MSI (at cycle 2 000 000) arrives meanwhile
              yield daifclr(DAIF_I);
              for (;;) yield work(1_000_000);
            };
            return k;
          },
          devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }] }],
        },
      ],
    });
    const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 2_000_000 }, { count: 1, start: 0 });
    dev.start();
    p.m.run(6_000_000);
    t.deepEqual(order, first === 'vlpi' ? ['vlpi', 'sgi'] : ['sgi', 'vlpi']);
  });
}

test('same seed, both paths: the same interrupts reach the same guests; direct needs no EL2 entry, injected at least one', (t) => {
  const run = (injection: 'direct' | 'list-register') => {
    const p = direct({
      cores: 2,
      trapWfi: false,
      sliceUs: 1_000_000,
      seed: 5,
      vms: [0, 1].map((i) => ({ name: `vm${i}`, vcpus: 1, injection, pinned: [i], kernel: (c: Parameters<typeof idleKernel>[0]) => deviceKernel(c), devices: [{ deviceId: i + 1, events: [0, 1].map((e) => ({ eventId: e, vcpu: 0, vintid: LPI + e })) }] })),
    });
    bootGuests(p);
    const before = el2(p);
    const devs = [1, 2].map((id) => addDevice(p, id, [0, 1], { kind: 'poisson', mean: 40_000 }, { count: 50 }));
    devs.forEach((d) => d.start());
    p.m.runFor(6_000_000);
    const got = p.kernels.map((k) => [...(k as DeviceKernel).log.counts()].sort((a, b) => a[0] - b[0]));
    // For each delivery: was there an EL2 entry on its core between the MSI and the guest's acknowledge?
    // Per core, in time order: the first MSI translated since the last acknowledge, then whether
    // an EL2 entry happened between it and the next acknowledge.
    const first = new Map<number, number>();
    const entered = new Map<number, boolean>();
    let withEntry = 0;
    let delivered = 0;
    for (const r of p.m.trace.records) {
      if (r.kind === 'its-translate' && !first.has(r.rd)) {
        first.set(r.rd, r.t);
        entered.set(r.rd, false);
      } else if (r.kind === 'exception' && r.target === 2 && first.has(r.core)) {
        entered.set(r.core, true);
      } else if (r.kind === 'icv-ack' && r.vintid >= LPI) {
        delivered++;
        if (entered.get(r.core) === true) withEntry++;
        first.delete(r.core);
      }
    }
    return { got, entries: el2(p) - before, withEntry, delivered, sent: devs.map((d) => [...d.writtenEvents]) };
  };
  const d = run('direct');
  const i = run('list-register');
  t.deepEqual(d.sent, i.sent);
  t.deepEqual(d.got, i.got);
  t.is(d.entries, 0);
  t.is(d.withEntry, 0);
  t.is(i.withEntry, i.delivered, `${i.withEntry} of ${i.delivered} deliveries had an EL2 entry between MSI and acknowledge`);
});

test('GICv4.0 doorbells are one-shot: a vCPU woken and waiting for a core takes one doorbell however many vLPIs arrive meanwhile', (t) => {
  // One core and 10 ms slices: a neighbour computes for 3 ms and then idles, so the device vCPU,
  // once woken by its doorbell, waits in the run queue until the neighbour blocks.
  const busy = (c: KernelConfig): Kernel => {
    const k = new Kernel(c);
    k.main = function* (): Program {
      yield work(6_000_000);
      yield* idleLoop();
    };
    return k;
  };
  const p = direct({
    trapWfi: true,
    sliceUs: 10_000,
    vms: [
      { name: 'vm', vcpus: 1, injection: 'direct', kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: LPI }, { eventId: 1, vcpu: 0, vintid: LPI + 1 }] }] },
      { name: 'busy', vcpus: 1, kernel: busy },
    ],
  });
  bootGuests(p);
  const v = p.hyp.vcpus[0]!;
  t.is(v.state, 'blocked');
  const doorbells = p.hyp.stats.doorbells;
  p.m.trace.clear();
  // 10 MSIs 5 us apart: the first rings the doorbell and wakes the vCPU, which then waits for the core.
  addDevice(p, 1, [0, 1], { kind: 'periodic', period: 10_000 }, { count: 10 }).start();
  p.m.runFor(200_000);
  t.is(v.state, 'runnable');
  t.is(p.hyp.stats.doorbells - doorbells, 1);
  t.is(p.m.trace.of('vcpu-wake').filter((r) => r.reason === 'doorbell').length, 1);
  // Once the neighbour idles, the vCPU runs and takes both vLPIs from the VPT: nothing lost.
  p.m.runFor(6_000_000);
  const k = p.kernels[0] as DeviceKernel;
  t.deepEqual([...new Set(k.log.intid)].sort(), [LPI, LPI + 1]);
  t.is(p.hyp.stats.doorbells - doorbells, 1);
});
