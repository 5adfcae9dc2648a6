/**
 * The injected path (GICv3-style, list registers) end to end: device MSI -> ITS -> host LPI ->
 * EL2 -> LR -> guest handler, with everything in between visible in the trace and counters.
 */
import test from 'ava';
import { EC, ESR, ISS_DABT } from '../../core/esr.js';
import { hvc, ldr, str, work, type Program } from '../../core/ops.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { deviceKernel, DeviceKernel, hogKernel, ipiKernel, IpiKernel, idleKernel, IdleKernel } from '../../guests/samples.js';
import { GUEST_GICD } from '../../hypervisor/layout.js';
import { addDevice, bootGuests, buildPlatform, type PlatformVm } from '../../scenarios/platform.js';


function events(n: number, vcpus: number, base = 8192 + 32) {
  return Array.from({ length: n }, (_, e) => ({ eventId: e, vcpu: e % vcpus, vintid: base + e }));
}

function el2Entries(p: ReturnType<typeof buildPlatform>): number {
  return p.m.pes.reduce((a, pe) => a + pe.counters.exceptions[2]!, 0);
}

test('every MSI reaches the right guest handler exactly once, through EL2 and a list register', (t) => {
  const p = buildPlatform({
    cores: 2,
    trace: true,
    vms: [{ name: 'vm0', vcpus: 2, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 7, events: events(4, 2) }] }],
  });
  bootGuests(p);
  const k = p.kernels[0] as DeviceKernel;
  t.true(k.cpus.every((c) => c.booted));
  const entriesBefore = el2Entries(p);
  const dev = addDevice(p, 7, [0, 1, 2, 3], { kind: 'periodic', period: 60_000 }, { count: 40 });
  dev.start();
  p.m.runFor(4_000_000);
  t.is(dev.sent, 40);
  t.is(k.log.length, 40);
  // Event e -> vCPU e % 2 as guest LPI 8224 + e, in the order sent.
  for (let i = 0; i < 40; i++) {
    t.is(k.log.intid[i], 8224 + (dev.eventOf(i) % 4));
    t.is(k.log.cpu[i], dev.eventOf(i) % 2);
  }
  t.true(el2Entries(p) - entriesBefore >= 40);
  const lrWrites = p.m.trace.of('ich-lr-write').filter((r) => r.vintid >= 8224 && r.state === 1);
  t.true(lrWrites.length >= 40);
  t.is(p.hyp.stats.injected, 40);
});

test('a vCPU blocked in WFI is woken by its interrupt: block, wake, enter, acknowledge in that order', (t) => {
  const p = buildPlatform({ cores: 1, trace: true, vms: [{ name: 'vm0', vcpus: 1, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 1, events: events(1, 1) }] }] });
  bootGuests(p);
  p.m.trace.clear();
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 100_000 }, { count: 1 });
  dev.start();
  p.m.runFor(1_000_000);
  const kinds = p.m.trace.records.map((r) => r.kind);
  const order = ['its-translate', 'vcpu-wake', 'vcpu-load', 'ich-lr-write', 'icv-ack', 'icv-eoi', 'vcpu-block'].map((k) => kinds.indexOf(k as never));
  t.true(order.every((i) => i >= 0), JSON.stringify(order));
  t.deepEqual([...order].sort((a, b) => a - b), order);
  t.is((p.kernels[0] as DeviceKernel).log.length, 1);
  t.is(p.m.trace.of('vcpu-wake')[0]!.reason, 'interrupt');
});

test('more pending interrupts than list registers are all delivered, in priority order, via maintenance interrupts', (t) => {
  const evs = Array.from({ length: 8 }, (_, e) => ({ eventId: e, vcpu: 0, vintid: 8192 + 64 + e, priority: 0x80 - e * 8 }));
  const p = buildPlatform({ cores: 1, trace: true, gic: { listRegs: 2 }, vms: [{ name: 'vm0', vcpus: 1, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 3, events: evs }] }] });
  bootGuests(p);
  const dev = addDevice(p, 3, evs.map((e) => e.eventId), { kind: 'periodic', period: 5 }, { count: 8 });
  dev.start();
  p.m.runFor(3_000_000);
  const k = p.kernels[0] as DeviceKernel;
  t.is(k.log.length, 8);
  // Highest priority (lowest value: the last event) first.
  t.deepEqual(k.log.intid, evs.map((e) => e.vintid).reverse());
  // 8 interrupts through 2 LRs: the underflow maintenance interrupt (MISR.U) asks for refills.
  const underflows = p.m.trace.of('ich-maintenance').filter((r) => r.level && (r.misr & 2) !== 0);
  t.true(underflows.length >= 3, `${underflows.length} underflow maintenance interrupts`);
});

test('a guest IPI goes through the trapped ICC_SGI1R_EL1 and the emulated SGI path', (t) => {
  const p = buildPlatform({ cores: 2, vms: [{ name: 'vm0', vcpus: 3, kernel: (c) => ipiKernel(c, 50_000, 6) }] });
  bootGuests(p);
  p.m.runFor(2_000_000);
  const k = p.kernels[0] as IpiKernel;
  t.is(k.sent, 6);
  t.deepEqual(k.received, [0, 6, 6]);
  t.is(p.hyp.stats.guestSgis, 6);
  t.is(p.hyp.stats.exitsByEc[EC.SYS64], 6);
});

test('the virtual timer is forwarded with HW = 1: the guest deactivates it with no EL2 entry', (t) => {
  const tick = 50_000; // counter ticks (1 GHz): 50 us
  const p = buildPlatform({ cores: 1, trace: true, vms: [{ name: 'vm0', vcpus: 1, kernel: (c) => idleKernel(c, { tickCounts: tick }) }] });
  bootGuests(p);
  p.m.trace.clear();
  const exitsBefore = p.hyp.stats.exits;
  const k = p.kernels[0] as IdleKernel;
  const ticksBefore = k.ticks;
  p.m.runFor(2_000_000); // 1 ms: 20 ticks
  const ticks = k.ticks - ticksBefore;
  t.true(ticks >= 19 && ticks <= 21, `${ticks} ticks`);
  const hwDeactivations = p.m.trace.of('gic-deactivate').filter((r) => r.intid === 27 && r.by === 'hw');
  t.is(hwDeactivations.length, ticks);
  const timerLrs = p.m.trace.of('ich-lr-write').filter((r) => r.vintid === 27 && r.hw && r.pintid === 27);
  t.true(timerLrs.length >= ticks);
  // Each tick costs the exit that forwards it and the WFI after it, nothing for the deactivation.
  const exits = p.hyp.stats.exits - exitsBefore;
  t.true(exits <= 2 * ticks + 2, `${exits} exits for ${ticks} ticks`);
});

/** A guest that misbehaves: junk to its distributor, an access nothing maps, an unknown hypercall. */
class RogueKernel extends Kernel {
  ctlrBack = -1;
  reservedBack = -1;
  hvcRet: unknown;
}

test('a misbehaving guest gets the architected outcome and the other VM keeps running', (t) => {
  let rogue!: RogueKernel;
  const vms: PlatformVm[] = [
    {
      name: 'rogue',
      vcpus: 1,
      kernel: (c: KernelConfig) => {
        rogue = new RogueKernel(c);
        rogue.main = function* (): Program {
          yield str(GUEST_GICD + GICD.CTLR, 0xffffffff, 4, 2);
          rogue.ctlrBack = yield ldr(GUEST_GICD + GICD.CTLR, 4, 2);
          yield str(GUEST_GICD + 0x1234, 0xdeadbeef, 4, 2);
          rogue.reservedBack = yield ldr(GUEST_GICD + 0x1234, 4, 2);
          rogue.hvcRet = yield hvc(0, 0x8badf00d);
          yield work(1000);
          yield ldr(0x2000_0000, 4, 3); // nothing is mapped there
        };
        return rogue;
      },
    },
    { name: 'good', vcpus: 1, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 9, events: events(1, 1) }] },
  ];
  const p = buildPlatform({ cores: 1, vms });
  bootGuests(p);
  const dev = addDevice(p, 9, [0], { kind: 'periodic', period: 50_000 }, { count: 20 });
  dev.start();
  p.m.runFor(3_000_000);
  // GICD_CTLR keeps only EnableGrp1 (RW), ARE and DS (RAO); reserved space is RAZ/WI.
  t.is(rogue.ctlrBack, 0x52);
  t.is(rogue.reservedBack, 0);
  t.is(rogue.hvcRet, -1); // SMCCC NOT_SUPPORTED
  const fault = rogue.cpus[0]!.faults[0];
  t.truthy(fault);
  t.is(ESR.get(fault!.esr, 'EC'), EC.DABT_CUR);
  t.is(ISS_DABT.get(ESR.get(fault!.esr, 'ISS'), 'DFSC'), 0x10);
  t.is(fault!.far, 0x2000_0000);
  t.is((p.kernels[1] as DeviceKernel).log.length, 20);
  t.is(p.hyp.stats.panics, 0);
});

test('a compute-bound VM and a device VM share one core under round-robin', (t) => {
  const p = buildPlatform({
    cores: 1,
    sliceUs: 200,
    vms: [
      { name: 'hog', vcpus: 1, kernel: (c) => hogKernel(c) },
      { name: 'dev', vcpus: 1, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 2, events: events(1, 1) }] },
    ],
  });
  bootGuests(p);
  const dev = addDevice(p, 2, [0], { kind: 'periodic', period: 37_000 }, { count: 50 });
  dev.start();
  p.m.runFor(4_000_000);
  const delivered = (p.kernels[1] as DeviceKernel).log.length;
  // The device VM runs one 200 us slice in two: MSIs that arrive while their LPI is still
  // pending merge with it. Every MSI is either delivered or merged, none is lost.
  t.is(dev.sent, 50);
  t.is(delivered + p.hyp.stats.coalesced, 50);
  t.true(delivered >= 4, `${delivered} deliveries`);
  t.true(p.hyp.stats.switches > 10);
});

test('an LPI the guest disabled is held pending, and delivered once the guest enables it and issues GICR_INVLPIR', (t) => {
  const phases: string[] = [];
  const p = buildPlatform({
    cores: 1,
    trapWfi: false,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        kernel: (c) => {
          const k = deviceKernel(c);
          k.main = function* (cpu: KernelCpu): Program {
            yield* k.setLpiEnabled(cpu, 8224, false);
            yield work(1_000_000); // the MSI arrives meanwhile
            phases.push(`enable after ${k.log.length}`);
            yield* k.setLpiEnabled(cpu, 8224, true);
            for (;;) yield work(1_000_000);
          };
          return k;
        },
        devices: [{ deviceId: 1, events: events(1, 1) }],
      },
    ],
  });
  bootGuests(p);
  const dev = addDevice(p, 1, [0], { kind: 'periodic', period: 100_000 }, { count: 1 });
  dev.start();
  p.m.runFor(3_000_000);
  const k = p.kernels[0] as DeviceKernel;
  t.deepEqual(phases, ['enable after 0']);
  t.is(k.log.length, 1);
  t.is(k.log.intid[0], 8224);
  t.is(p.hyp.stats.injected, 1);
  t.is(p.hyp.stats.droppedLpis, 0);
});

for (const injection of ['list-register', 'direct'] as const) {
  for (const inherited of [true, false]) {
    test(`${injection}: an LPI set in the guest's pending table before EnableLPIs is ${inherited ? 'delivered (PENDBASER.PTZ = 0)' : 'not invented (PTZ = 1, zeroed table)'}`, (t) => {
      const p = buildPlatform({
        cores: 1,
        trapWfi: false,
        trace: true,
        gic: { version: injection === 'direct' ? 4 : 3 },
        vms: [
          {
            name: 'vm',
            vcpus: 1,
            injection,
            kernel: (c) => deviceKernel({ ...c, inheritedPending: inherited ? [{ cpu: 0, intid: 8225 }] : [] }),
            devices: [{ deviceId: 1, events: events(2, 1) }],
          },
        ],
      });
      bootGuests(p);
      const k = p.kernels[0] as DeviceKernel;
      t.true(k.cpus[0]!.booted);
      t.deepEqual(k.log.intid, inherited ? [8225] : []);
      // The path it came by: a list register written at EL2, or the vLPI from the VPT.
      const acks = p.m.trace.of('icv-ack').filter((r) => r.vintid === 8225);
      t.is(acks.length, inherited ? 1 : 0);
      if (inherited) t.is(acks[0]!.source, injection === 'direct' ? 'vlpi' : 'lr');
    });
  }
}
