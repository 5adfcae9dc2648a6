/**
 * A host device's wired interrupt line forwarded to a guest vSPI with the list register's HW bit,
 * as KVM forwards a mapped interrupt (VFIO platform devices, the arch timer): the host SPI is taken
 * at EL2 on the core it is routed to, acknowledged and priority-dropped (EOImode 1) but left
 * active; the vSPI goes to the vCPU (kicked: it runs on another core) through an LR with HW = 1 and
 * pINTID = the host SPI; the guest's EOI deactivates the host SPI (the host distributor's
 * GICD_ISACTIVER, read by the test, follows it); a level line still high then re-pends at the
 * host distributor and comes back. The guest acknowledges its device through the device's ACK
 * register, mapped into its stage 2 as a device page.
 */
import test from 'ava';
import type { AccessAttrs } from '../../core/bus.js';
import { LINE_DEV } from '../../core/line-device.js';
import { ldr, str, work, type Program } from '../../core/ops.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { readIntidBit, writeIntidBit } from '../../drivers/gic-init.js';
import type { KernelCpu } from '../../guests/kernel.js';
import { GUEST_WIRED_FRAMES } from '../../hypervisor/layout.js';
import { buildPlatform, type Platform } from '../../scenarios/platform.js';
import { bootSpiGuests, runUs, spiKernel, type SpiKernel } from './spi-guest.js';

const HOST_SPI = 40;
const VSPI = 48;
/** Words in the guest's RAM the handler writes: deliveries so far, and whether it is inside one. */
const IN_HANDLER = 0x400;
const DEV_STATUS = 0x404;
const TEST: AccessAttrs = { requester: 'device', id: -1 };

interface WiredOptions {
  readonly mode: 'level' | 'edge';
  /** The handler acknowledges the device (ACK) at this delivery and every later one (default 1: always). */
  readonly ackFrom?: number;
  /** Cycles the handler spends before it acknowledges and returns (default 200). */
  readonly handlerCycles?: number;
}

/** One VM, one vCPU pinned to core 1; its device's host SPI 40 routed to core 0; vSPI 48. */
function wired(o: WiredOptions): { p: Platform; k: SpiKernel } {
  const ackFrom = o.ackFrom ?? 1;
  const p = buildPlatform({
    cores: 2,
    trace: true,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        spis: 64,
        pinned: [1],
        wired: [{ hostSpi: HOST_SPI, vintid: VSPI, mode: o.mode, hostCore: 0 }],
        kernel: (c) =>
          spiKernel(c, [{ intid: VSPI, edge: o.mode === 'edge' }], function* (k: SpiKernel, _cpu: KernelCpu): Program {
            const n = k.count(VSPI);
            yield str(c.ramBase + DEV_STATUS, yield ldr(GUEST_WIRED_FRAMES + LINE_DEV.STATUS, 4, 2), 4, 1);
            yield str(c.ramBase + IN_HANDLER, n, 4, 1);
            yield work(o.handlerCycles ?? 200);
            if (n >= ackFrom) yield str(GUEST_WIRED_FRAMES + LINE_DEV.ACK, 1, 4, 1);
            yield str(c.ramBase + IN_HANDLER, 0, 4, 1);
          }),
      },
    ],
  });
  bootSpiGuests(p);
  return { p, k: p.kernels[0] as SpiKernel };
}

/** Bit `intid` of a host distributor register family, as software reading the host GICD would see it. */
function hostBit(p: Platform, reg: number, intid: number): boolean {
  const v = Number(p.m.bus.read(p.gic.config.gicdBase + reg + 4 * Math.floor(intid / 32), 4, TEST));
  return ((v >>> (intid % 32)) & 1) === 1;
}

function guestWord(p: Platform, off: number): number {
  return p.m.bus.memory.read32(p.vmRamPa[0]! + off);
}

test('a level line forwarded with HW = 1 to a vCPU on another core: taken at EL2 on core 0, kick, HW LR on core 1; the host SPI stays active until the guest EOIs it', (t) => {
  const { p, k } = wired({ mode: 'level', handlerCycles: 40_000 });
  const dev = p.wired[0]![0]!;
  p.m.trace.clear();
  dev.assert();
  // Run until the guest is inside its handler.
  for (let i = 0; i < 200 && guestWord(p, IN_HANDLER) === 0; i++) runUs(p, 0.5);
  t.is(guestWord(p, IN_HANDLER), 1);
  t.is(guestWord(p, DEV_STATUS), 1, 'the guest read its device STATUS through stage 2: line high');
  t.true(hostBit(p, GICD.ISACTIVER, HOST_SPI), 'host SPI active while the guest handles it');
  t.true(hostBit(p, GICD.ISPENDR, HOST_SPI), 'and pending: its level line is still high');
  runUs(p, 60);
  t.is(guestWord(p, IN_HANDLER), 0);
  t.is(dev.acks, 1);
  t.false(dev.high);
  t.false(hostBit(p, GICD.ISACTIVER, HOST_SPI), 'the guest EOI deactivated the host SPI');
  t.false(hostBit(p, GICD.ISPENDR, HOST_SPI));
  t.is(k.count(VSPI), 1);
  t.is(k.count(VSPI, 0), 1, 'delivered to the guest CPU 0 (vCPU 0), running on core 1');
  // Where each step happened.
  const acks = p.m.trace.of('gic-ack').filter((r) => r.intid === HOST_SPI);
  t.deepEqual(acks.map((r) => r.pe), [0]);
  t.true(p.m.trace.of('hyp-kick').some((r) => r.core === 0 && r.target === 1));
  const lrs = p.m.trace.of('ich-lr-write').filter((r) => r.vintid === VSPI && r.state !== 0);
  t.true(lrs.length >= 1 && lrs.every((r) => r.core === 1 && r.hw && r.pintid === HOST_SPI && !r.eoi));
  t.deepEqual(p.m.trace.of('gic-deactivate').filter((r) => r.intid === HOST_SPI).map((r) => [r.pe, r.by]), [[1, 'hw']]);
  t.is(p.hyp.spiHost.stats.forwarded, 1);
  const rise = p.m.trace.of('line-level').find((r) => r.level)!.t;
  const ack = p.m.trace.of('icv-ack').find((r) => r.vintid === VSPI)!.t;
  t.log(`line rise to guest acknowledge: ${ack - rise} cycles (host SPI taken on core 0 at +${acks[0]!.t - rise}, kick, HW LR on core 1)`);
});

test('a level line still high at the guest EOI re-pends at the host distributor: the guest takes it again until it acknowledges its device (3rd delivery)', (t) => {
  const { p, k } = wired({ mode: 'level', ackFrom: 3 });
  const dev = p.wired[0]![0]!;
  dev.assert();
  runUs(p, 100);
  t.is(k.count(VSPI), 3);
  t.is(dev.acks, 1);
  t.is(p.m.trace.of('gic-ack').filter((r) => r.intid === HOST_SPI).length, 3);
  t.is(p.m.trace.of('gic-deactivate').filter((r) => r.intid === HOST_SPI && r.by === 'hw').length, 3);
  runUs(p, 100);
  t.is(k.count(VSPI), 3);
  t.false(hostBit(p, GICD.ISACTIVER, HOST_SPI));
  // Asserted again later: one more delivery.
  dev.assert();
  runUs(p, 50);
  t.is(k.count(VSPI), 4);
});

test('an edge device: 10 pulses spaced out are 10 deliveries; pulses while the guest handles one merge into one more', (t) => {
  const { p, k } = wired({ mode: 'edge', handlerCycles: 20_000 });
  const dev = p.wired[0]![0]!;
  for (let i = 0; i < 10; i++) {
    dev.assert();
    runUs(p, 30);
  }
  t.is(k.count(VSPI), 10);
  // Three pulses 2 us apart while the handler runs (10 us): the host SPI is active, the 2nd
  // pends at the host distributor, the 3rd merges with it; the guest EOI lets it through.
  dev.assert();
  runUs(p, 3);
  dev.assert();
  runUs(p, 2);
  dev.assert();
  runUs(p, 80);
  t.is(k.count(VSPI), 12);
  t.is(dev.asserted, 13);
});

test('the guest writes to an HW = 1 vSPI\'s active state are mirrored on the host SPI (GICD_ISACTIVER/ICACTIVER); another VM\'s SPI of the same number is not touched', (t) => {
  const seen: boolean[] = [];
  const p = buildPlatform({
    cores: 2,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        spis: 64,
        pinned: [0],
        wired: [{ hostSpi: HOST_SPI, vintid: VSPI, mode: 'level' }],
        kernel: (c) => {
          const k = spiKernel(c, []);
          k.main = function* (): Program {
            yield* writeIntidBit(c.gicd, GICD.ISACTIVER, VSPI);
            seen.push(yield* readIntidBit(c.gicd, GICD.ISACTIVER, VSPI));
            yield str(c.ramBase + IN_HANDLER, 1, 4, 1);
            yield work(20_000);
            yield* writeIntidBit(c.gicd, GICD.ICACTIVER, VSPI);
            seen.push(yield* readIntidBit(c.gicd, GICD.ISACTIVER, VSPI));
            yield str(c.ramBase + IN_HANDLER, 2, 4, 1);
            for (;;) yield work(1000);
          };
          return k;
        },
      },
      {
        name: 'other',
        vcpus: 1,
        spis: 64,
        pinned: [1],
        kernel: (c) => {
          const k = spiKernel(c, []);
          k.main = function* (): Program {
            // Its own SPIs 40 and 48: nothing to do with the host SPI 40 of the other VM's device.
            for (const i of [HOST_SPI, VSPI]) yield* writeIntidBit(c.gicd, GICD.ISACTIVER, i);
            for (;;) yield work(1000);
          };
          return k;
        },
      },
    ],
  });
  for (let i = 0; i < 2000 && guestWord(p, IN_HANDLER) !== 1; i++) runUs(p, 0.5);
  t.true(hostBit(p, GICD.ISACTIVER, HOST_SPI));
  for (let i = 0; i < 400 && guestWord(p, IN_HANDLER) !== 2; i++) runUs(p, 0.5);
  t.false(hostBit(p, GICD.ISACTIVER, HOST_SPI));
  t.deepEqual(seen, [true, false]);
  t.is(p.hyp.spiHost.stats.physWrites, 2);
  t.false(hostBit(p, GICD.ISACTIVER, VSPI));
});
