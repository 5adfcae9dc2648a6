/**
 * Isolation of a guest's LPI tables: the guest chooses where its configuration table is
 * (GICR_PROPBASER) and how large (IDbits), and the hypervisor reads it on the guest's behalf.
 * Every byte it reads must lie in the guest's own RAM: a table that runs past the end of it
 * must read as "disabled", never as another VM's memory, and never fault at EL2.
 */
import test from 'ava';
import { work, type Program } from '../../core/ops.js';
import { enableLpis } from '../../drivers/lpi.js';
import { deviceKernel, DeviceKernel } from '../../guests/samples.js';
import type { KernelConfig, KernelCpu } from '../../guests/kernel.js';
import type { Injection } from '../../hypervisor/config.js';
import { addDevice, bootGuests, buildPlatform } from '../../scenarios/platform.js';

const VINTID = 12300; // its configuration byte is 4108 bytes into the table

/** A guest that puts its LPI configuration table in its last 4 KB page with 16 ID bits (a 56 KB table). */
function overhangingTables(c: KernelConfig, handled: number[]): DeviceKernel {
  const k = deviceKernel({ ...c, lpis: [] });
  k.onIrq(VINTID, function* (_cpu: KernelCpu, intid: number): Program {
    handled.push(intid);
    yield work(100);
  });
  const ram = c.ramBase + c.ramSize;
  k.main = function* (cpu: KernelCpu): Program {
    yield* enableLpis(cpu.rd, { prop: ram - 0x1000, idBits: 16 }, ram - 0x20_0000);
    for (;;) yield work(100_000);
  };
  return k;
}

for (const injection of ['list-register', 'direct'] as const satisfies readonly Injection[]) {
  test(`${injection}: a guest LPI table that runs past the guest's RAM reads as disabled, not as the next VM's memory`, (t) => {
    const handled: number[] = [];
    const p = buildPlatform({
      cores: 2,
      gic: { version: 4 },
      vms: [
        { name: 'attacker', vcpus: 1, injection, pinned: [0], kernel: (c) => overhangingTables(c, handled), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: VINTID }] }] },
        { name: 'victim', vcpus: 1, injection, pinned: [1], kernel: (c) => deviceKernel(c), devices: [{ deviceId: 2, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] },
      ],
    });
    // The victim's data right where the attacker's table would put LPI 12300's byte: enabled, priority 0xa0.
    const overhang = 16 * 0x10_0000 - 0x1000 + (VINTID - 8192);
    t.is(p.vmRamPa[0]! + overhang, p.vmRamPa[1]! + 12);
    p.m.bus.memory.write8(p.vmRamPa[1]! + 12, 0xa1);
    bootGuests(p);
    addDevice(p, 1, [0], { kind: 'periodic', period: 20_000 }, { count: 20 }).start();
    addDevice(p, 2, [0], { kind: 'periodic', period: 20_000 }, { count: 20 }).start();
    p.m.runFor(2_000_000);
    t.deepEqual(handled, [], 'the attacker never gets the LPI its table cannot configure');
    t.is((p.kernels[1] as DeviceKernel).log.length, 20, 'the victim gets every interrupt');
    t.is(p.hyp.stats.panics, 0);
  });

  test(`${injection}: a guest LPI table past the end of physical RAM neither faults at EL2 nor stops the other VMs`, (t) => {
    const handled: number[] = [];
    // VM RAM starts at 0x5000_0000 and physical RAM ends at 0xC000_0000: the attacker's 1776 MiB end there.
    const p = buildPlatform({
      cores: 1,
      gic: { version: 4 },
      sliceUs: 100,
      vms: [
        { name: 'victim', vcpus: 1, injection, kernel: (c) => deviceKernel(c), devices: [{ deviceId: 2, events: [{ eventId: 0, vcpu: 0, vintid: 8224 }] }] },
        { name: 'attacker', vcpus: 1, injection, ramMiB: 1776, kernel: (c) => overhangingTables(c, handled), devices: [{ deviceId: 1, events: [{ eventId: 0, vcpu: 0, vintid: VINTID }] }] },
      ],
    });
    t.is(p.vmRamPa[1]! + 1776 * 0x10_0000, 0xc000_0000);
    bootGuests(p);
    // One MSI every 200 us: each finds the victim asleep and wakes it within a 100 us slice of the attacker.
    addDevice(p, 1, [0], { kind: 'periodic', period: 400_000 }, { count: 5 }).start();
    addDevice(p, 2, [0], { kind: 'periodic', period: 400_000 }, { count: 5 }).start();
    p.m.runFor(3_000_000);
    t.is(p.hyp.stats.panics, 0);
    t.deepEqual(handled, []);
    t.is((p.kernels[0] as DeviceKernel).log.length, 5);
  });
}
