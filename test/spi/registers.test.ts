/**
 * The SPI registers of the emulated distributor, as a guest reads them back (IHI 0069: GICD_TYPER,
 * GICD_IGROUPR<n>, GICD_IS/ICENABLER<n>, GICD_IPRIORITYR<n>, GICD_ICFGR<n>, GICD_IROUTER<n>):
 * ITLinesNumber from the VM's SPI count, implemented SPIs' state, unimplemented ones RAZ/WI, and the
 * configuration errors that refuse an impossible SPI set-up before anything runs.
 */
import test from 'ava';
import { ldr, str, type Program } from '../../core/ops.js';
import { GICD_TYPER } from '../../gic/gic-registers.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { Kernel, idleLoop, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';

/** A guest whose CPU 0 runs `probe` against its distributor once booted, logging what it reads. */
function probeKernel(cfg: KernelConfig, probe: (gicd: number, log: (name: string, v: number | bigint) => void) => Program): Kernel & { log: Map<string, number | bigint> } {
  const k = Object.assign(new Kernel(cfg), { log: new Map<string, number | bigint>() });
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index === 0) yield* probe(cfg.gicd, (name, v) => void k.log.set(name, v));
    yield* idleLoop();
  };
  return k;
}

function run(spis: number, probe: Parameters<typeof probeKernel>[1]) {
  let k!: ReturnType<typeof probeKernel>;
  const p = buildPlatform({ cores: 1, vms: [{ name: 'vm', vcpus: 2, spis, kernel: (c) => (k = probeKernel(c, probe)) }] });
  bootGuests(p);
  p.m.runFor(200_000);
  return k.log;
}

test('GICD_TYPER: ITLinesNumber from the SPI count, MBIS with SPIs, No1N; 0 SPIs: ITLinesNumber 0', (t) => {
  for (const [spis, lines] of [[0, 0], [32, 1], [40, 2], [64, 2], [988, 31]] as const) {
    const log = run(spis, function* (gicd, out) {
      out('typer', yield ldr(gicd + GICD.TYPER, 4, 1));
    });
    const typer = GICD_TYPER.decode(log.get('typer') as number);
    t.like(typer, { ITLinesNumber: lines, MBIS: spis > 0 ? 1 : 0, LPIS: 1, No1N: 1, IDbits: 15 }, `spis ${spis}`);
  }
});

test('SPI state registers read back what the guest wrote; an unimplemented SPI (beyond the count) and INTIDs 0-31 are RAZ/WI', (t) => {
  // 40 SPIs: 32..71 implemented; 72..95 in the same register block are not.
  const log = run(40, function* (gicd, out) {
    out('igroupr1', yield ldr(gicd + GICD.IGROUPR + 4, 4, 1));
    out('igroupr2', yield ldr(gicd + GICD.IGROUPR + 8, 4, 1));
    yield str(gicd + GICD.IGROUPR + 8, 0, 4, 1);
    out('igroupr2 after 0', yield ldr(gicd + GICD.IGROUPR + 8, 4, 1));
    // INTIDs 0-31 in the distributor: RAZ/WI with affinity routing.
    yield str(gicd + GICD.ISENABLER, 0xffffffff, 4, 1);
    out('isenabler0', yield ldr(gicd + GICD.ISENABLER, 4, 1));
    yield str(gicd + GICD.ISENABLER + 4, 0x8000_0001, 4, 1);
    yield str(gicd + GICD.ISENABLER + 8, 0xffff_ffff, 4, 1);
    yield str(gicd + GICD.ICENABLER + 4, 0x1, 4, 1);
    out('isenabler1', yield ldr(gicd + GICD.ISENABLER + 4, 4, 1));
    out('isenabler2', yield ldr(gicd + GICD.ISENABLER + 8, 4, 1));
    // Priorities: 5 implemented bits (0xff -> 0xf8); unimplemented SPI 72 reads 0.
    yield str(gicd + GICD.IPRIORITYR + 33, 0xff, 1, 1);
    yield str(gicd + GICD.IPRIORITYR + 72, 0x40, 1, 1);
    out('prio33', yield ldr(gicd + GICD.IPRIORITYR + 33, 1, 1));
    out('prio72', yield ldr(gicd + GICD.IPRIORITYR + 72, 1, 1));
    // ICFGR2 covers 32..47: SPIs reset level-sensitive; make 33 and 47 edge (odd bits), RES0 even bits ignored.
    out('icfgr2 reset', yield ldr(gicd + GICD.ICFGR + 8, 4, 1));
    yield str(gicd + GICD.ICFGR + 8, (2 << 2) | (2 << 30) | 1, 4, 1);
    out('icfgr2', yield ldr(gicd + GICD.ICFGR + 8, 4, 1));
    // IROUTER: Aff2.Aff1.Aff0 kept; Interrupt_Routing_Mode and Aff3 RAZ/WI (no 1-of-N).
    yield str(gicd + GICD.IROUTER + 8 * 34, 0x0000_00ff_8000_0001n, 8, 1);
    out('irouter34', yield ldr(gicd + GICD.IROUTER + 8 * 34, 8, 1));
    out('irouter34 hi', yield ldr(gicd + GICD.IROUTER + 8 * 34 + 4, 4, 1));
    yield str(gicd + GICD.IROUTER + 8 * 80, 1n, 8, 1);
    out('irouter80', yield ldr(gicd + GICD.IROUTER + 8 * 80, 8, 1));
  });
  t.is(log.get('igroupr1'), 0xffffffff);
  t.is(log.get('igroupr2'), 0xff);
  t.is(log.get('igroupr2 after 0'), 0xff);
  t.is(log.get('isenabler0'), 0);
  t.is(log.get('isenabler1'), 0x8000_0000);
  t.is(log.get('isenabler2'), 0xff);
  t.is(log.get('prio33'), 0xf8);
  t.is(log.get('prio72'), 0);
  t.is(log.get('icfgr2 reset'), 0);
  t.is(log.get('icfgr2'), ((2 << 2) | (2 << 30)) >>> 0);
  t.is(log.get('irouter34'), 1n);
  t.is(log.get('irouter34 hi'), 0);
  t.is(log.get('irouter80'), 0n);
});

test('configuration errors name the VM, the device and the limit', (t) => {
  const vm = { name: 'vm', vcpus: 1, kernel: (c: KernelConfig) => new Kernel(c) };
  t.throws(() => buildPlatform({ cores: 1, vms: [{ ...vm, spis: 989 }] }), { message: /spis must be an integer from 0 to 988/ });
  t.throws(() => buildPlatform({ cores: 1, vms: [{ ...vm, spis: 32, wired: [{ hostSpi: 200, vintid: 40 }] }] }), { message: /host SPI 200: not a host SPI: the host GIC has SPIs 32..95/ });
  t.throws(() => buildPlatform({ cores: 1, vms: [{ ...vm, spis: 32, wired: [{ hostSpi: 40, vintid: 64 }] }] }), { message: /guest SPI 64 is not one of the VM's SPIs 32..63/ });
  t.throws(() => buildPlatform({ cores: 1, vms: [{ ...vm, spis: 32, wired: [{ hostSpi: 40, vintid: 33 }] }, { ...vm, name: 'other', spis: 32, wired: [{ hostSpi: 40, vintid: 33 }] }] }), { message: /host SPI 40 is already assigned to vm 'vm'/ });
  t.throws(() => buildPlatform({ cores: 1, vmm: true, vms: [{ ...vm, spis: 32, wired: [{ hostSpi: 95, vintid: 33 }] }] }), { message: /is the VMM's request SPI/ });
  t.throws(() => buildPlatform({ cores: 2, vms: [{ ...vm, spis: 32, wired: [{ hostSpi: 40, vintid: 33, hostCore: 2 }] }] }), { message: /hostCore 2 is not one of the 2 cores/ });
});
