/**
 * Where a vSPI goes (IHI 0069, GICD_IROUTER<n>; message-based SPIs, GICD_SETSPI_NSR and
 * GICD_CLRSPI_NSR), and that a VM names only its own SPIs:
 * - the guest retargets an SPI from its handler (as Linux's gic_set_affinity writes IROUTER) and
 *   the next one arrives on the CPU it named;
 * - an SPI already pending in a list register of a vCPU that has IRQs masked, retargeted by
 *   another vCPU, moves to the new target (KVM's vgic_prune_ap_list): taken there once, never on
 *   the old one;
 * - GICD_SETSPI_NSR makes an edge SPI pending, asserts a level one until GICD_CLRSPI_NSR;
 * - two VMs with the same SPI numbers: writes, messages and host requests reach only their own.
 */
import test from 'ava';
import { daifclr, daifset, DAIF_I, str, work, type Program } from '../../core/ops.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { configureSpi, messageSpi, writeIntidBit } from '../../drivers/gic-init.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { idleLoop, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { buildPlatform, irqLine, requestResult } from '../../scenarios/platform.js';
import { bootSpiGuests, runUs, spiKernel, SPI_READY_OFFSET, type SpiKernel } from './spi-guest.js';

test('GICD_IROUTER: each handler sends the next one to the other CPU; 6 host edges alternate CPU 1, 0, 1, 0, 1, 0', (t) => {
  const p = buildPlatform({
    cores: 2,
    vmm: true,
    vms: [
      {
        name: 'vm',
        vcpus: 2,
        spis: 64,
        pinned: [0, 1],
        kernel: (c) =>
          spiKernel(c, [{ intid: 50, edge: true, cpu: 1 }], function* (_k: SpiKernel, cpu: KernelCpu): Program {
            yield* configureSpi(c.gicd, 50, { affinity: cpuAffinity(1 - cpu.index) });
          }),
      },
    ],
  });
  bootSpiGuests(p);
  const k = p.kernels[0] as SpiKernel;
  for (let i = 0; i < 6; i++) {
    irqLine(p, 0, 50, true);
    runUs(p, 30);
  }
  t.deepEqual(k.seen.map((d) => d.cpu), [1, 0, 1, 0, 1, 0]);
});

/**
 * CPU 0 configures SPI `intid` to itself and masks IRQs for 150 us; CPU 1 waits 40 us, then
 * retargets it to itself. The host raises it at +10 us, while CPU 0 has IRQs masked.
 */
function retargetWhilePending(cores: number, edge: boolean) {
  const intid = 51;
  const p = buildPlatform({
    cores,
    vmm: true,
    trace: true,
    sliceUs: 10,
    vms: [
      {
        name: 'vm',
        vcpus: 2,
        spis: 64,
        pinned: cores === 2 ? [0, 1] : undefined,
        kernel: (c) => {
          const k = spiKernel(c, [{ intid, edge }]);
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index === 0) {
              yield* configureSpi(c.gicd, intid, { edge, priority: 0xa0, affinity: cpuAffinity(0), enable: true });
              yield daifset(DAIF_I);
              yield str(c.ramBase + SPI_READY_OFFSET, 1, 4, 1);
              for (let i = 0; i < 150; i++) yield work(2000);
              yield daifclr(DAIF_I);
            } else {
              for (let i = 0; i < 40; i++) yield work(2000);
              yield* configureSpi(c.gicd, intid, { affinity: cpuAffinity(1) });
            }
            yield* idleLoop();
          };
          return k;
        },
      },
    ],
  });
  bootSpiGuests(p);
  const k = p.kernels[0] as SpiKernel;
  runUs(p, 10);
  irqLine(p, 0, intid, true);
  runUs(p, 300);
  return { p, k, intid };
}

for (const cores of [2, 1]) {
  for (const edge of [true, false]) {
    test(`${edge ? 'an edge' : 'a level'} SPI pending in the list register of a vCPU with IRQs masked, retargeted by the other vCPU (${cores === 2 ? 'running on another core' : 'same core'}), is taken there once`, (t) => {
      const { p, k, intid } = retargetWhilePending(cores, edge);
      t.deepEqual(k.seen.map((d) => [d.intid, d.cpu]), edge ? [[intid, 1]] : k.seen.map(() => [intid, 1]));
      t.true(k.seen.length >= 1);
      t.is(p.hyp.spiHost.vms[0]!.stats.migrations, 1);
      // It was in vCPU 0's list register (pending, IRQs masked) before it moved, and vCPU 0 never took it.
      const lrs = p.m.trace.of('ich-lr-write').filter((r) => r.vintid === intid && r.state === 1);
      t.true(lrs.length >= 2 && lrs[0]!.t < p.m.trace.of('vspi-move')[0]!.t);
      t.true(p.m.trace.of('icv-ack').filter((r) => r.vintid === intid).every((r) => r.core === (cores === 2 ? 1 : r.core)));
      t.is(k.cpus[0]!.spurious, 0);
      if (!edge) irqLine(p, 0, intid, false);
    });
  }
}

test('GICD_SETSPI_NSR makes an edge SPI pending (once per write); on a level SPI it asserts the line until GICD_CLRSPI_NSR, which the handler writes on the 2nd delivery', (t) => {
  const p = buildPlatform({
    cores: 1,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        spis: 64,
        kernel: (c) => {
          const k = spiKernel(c, [{ intid: 52, edge: true }, { intid: 53, edge: false }], function* (k: SpiKernel, _cpu, intid): Program {
            if (intid === 53 && k.count(53) === 2) yield* messageSpi(c.gicd, 53, false);
          });
          const inner = k.main;
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index === 0) {
              yield* configureSpi(c.gicd, 52, { edge: true, priority: 0xa0, affinity: 0, enable: true });
              yield* configureSpi(c.gicd, 53, { edge: false, priority: 0xa0, affinity: 0, enable: true });
              for (let i = 0; i < 3; i++) {
                yield* messageSpi(c.gicd, 52);
                yield work(20_000);
              }
              yield* messageSpi(c.gicd, 53);
              // A write naming an SPI the VM does not have is ignored.
              yield* messageSpi(c.gicd, 200);
            }
            yield* inner(cpu);
          };
          return k;
        },
      },
    ],
  });
  bootSpiGuests(p);
  runUs(p, 200);
  const k = p.kernels[0] as SpiKernel;
  t.is(k.count(52), 3);
  t.is(k.count(53), 2);
  t.is(k.cpus[0]!.unhandled, 0);
  t.deepEqual(k.cpus[0]!.faults, []);
});

test('isolation: two VMs with the same SPI numbers; a VM\'s GICD_ISPENDR, GICD_SETSPI_NSR and the host\'s requests on it reach only that VM', (t) => {
  const vm = (name: string, spis: number, act: (c: KernelConfig) => Program) => ({
    name,
    vcpus: 1,
    spis,
    kernel: (c: KernelConfig) => {
      const k = spiKernel(c, [{ intid: 40, edge: true }, { intid: 41, edge: true }]);
      const inner = k.main;
      k.main = function* (cpu: KernelCpu): Program {
        yield* act(c);
        yield* inner(cpu);
      };
      return k;
    },
  });
  const p = buildPlatform({
    cores: 2,
    vmm: true,
    vms: [
      vm('a', 64, function* (c) {
        yield work(20_000);
        yield* writeIntidBit(c.gicd, GICD.ISPENDR, 40);
        yield* messageSpi(c.gicd, 41);
        // SPIs b does not have and a does not either.
        yield* messageSpi(c.gicd, 100);
      }),
      vm('b', 32, function* () {}),
    ],
  });
  bootSpiGuests(p);
  const [a, b] = p.kernels as SpiKernel[];
  runUs(p, 100);
  t.deepEqual([a!.count(40), a!.count(41), b!.count(40), b!.count(41)], [1, 1, 0, 0]);
  const rb = irqLine(p, 1, 40, true);
  const bad = irqLine(p, 1, 80, true); // b has SPIs 32..63 only
  runUs(p, 50);
  t.deepEqual([a!.count(40), b!.count(40)], [1, 1]);
  t.deepEqual([requestResult(p, rb), requestResult(p, bad)], [0, -22]);
  t.deepEqual([a!.cpus[0]!.faults, b!.cpus[0]!.faults], [[], []]);
});
