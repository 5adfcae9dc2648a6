/**
 * Host-side injection as a KVM user does it (the KVM selftest vgic_irq's KVM_IRQ_LINE cases),
 * carried out by the hypervisor at EL2 from its request ring, counted by guest kernels:
 * - edge SPIs: N requests spaced out give N deliveries; requests made together merge (never more
 *   deliveries than requests);
 * - level SPIs: a line held high is taken again after each EOI (the LR asks for an EOI maintenance
 *   interrupt and the fold resamples) until it is lowered; lowered before the guest acknowledges,
 *   it is withdrawn (the guest's ICC_HPPIR1_EL1 says 1023 again and it is never taken);
 * - PPIs of one vCPU; the requests the ioctls refuse (-EINVAL) or leave alone (timer PPIs).
 */
import test from 'ava';
import fc from 'fast-check';
import { daifclr, daifset, DAIF_I, mrs, work, type Program } from '../../core/ops.js';
import { ICC_HPPIR1_EL1 } from '../../gic/sysregs.js';
import { idleLoop, type KernelCpu } from '../../guests/kernel.js';
import { buildPlatform, irqLine, requestResult, type Platform } from '../../scenarios/platform.js';
import { bootSpiGuests, runUs, spiKernel, SPI_READY_OFFSET, type SpiKernel } from './spi-guest.js';
import { str } from '../../core/ops.js';
import { configureSpi } from '../../drivers/gic-init.js';

const EDGE = 40;
const LEVEL = 41;

/** One VM with SPI 40 edge-triggered and 41 level-sensitive, on a vCPU pinned to `core` (the VMM's doorbell is taken on core 0). */
function platform(core: number, trace = false, busy = false): { p: Platform; k: SpiKernel } {
  const p = buildPlatform({
    cores: 2,
    trace,
    vmm: true,
    vms: [{ name: 'vm', vcpus: 1, spis: 64, pinned: [core], kernel: (c) => spiKernel(c, [{ intid: EDGE, edge: true }, { intid: LEVEL, edge: false }], undefined, busy) }],
  });
  bootSpiGuests(p);
  return { p, k: p.kernels[0] as SpiKernel };
}

for (const core of [0, 1]) {
  const where = core === 0 ? 'on the core that takes the doorbell' : 'on another core (kicked)';
  test(`edge SPI, vCPU ${where}: 20 requests spaced out are 20 deliveries, each request's result 0`, (t) => {
    const { p, k } = platform(core, true);
    p.m.trace.clear();
    const reqs = [];
    for (let i = 0; i < 20; i++) {
      reqs.push(irqLine(p, 0, EDGE, true));
      // An edge SPI ignores the line going low (KVM: level 0 on an edge interrupt does nothing).
      reqs.push(irqLine(p, 0, EDGE, false));
      runUs(p, 20);
    }
    t.is(k.count(EDGE), 20);
    t.deepEqual(reqs.map((r) => requestResult(p, r)), reqs.map(() => 0));
    t.is(p.hyp.spiHost.vms[0]!.stats.merged, 0);
    // From the doorbell taken at EL2 to the guest's acknowledge, per request.
    const bells = p.m.trace.of('gic-ack').filter((r) => r.intid === p.hyp.cfg.requestSpi).map((r) => r.t);
    const acks = p.m.trace.of('icv-ack').filter((r) => r.vintid === EDGE).map((r) => r.t);
    const lat = acks.map((a, i) => a - bells[i]!).sort((a, b) => a - b);
    t.log(`doorbell to guest acknowledge: median ${lat[10]} cycles, max ${lat[19]}`);
  });

  test(`edge SPI, vCPU ${where}: 10 requests made together merge, never more deliveries than requests`, (t) => {
    const { p, k } = platform(core);
    for (let i = 0; i < 10; i++) irqLine(p, 0, EDGE, true);
    runUs(p, 50);
    const s = p.hyp.spiHost.vms[0]!.stats;
    t.true(k.count(EDGE) >= 1 && k.count(EDGE) <= 10);
    // Each request is an edge; those that found it pending merged: what is left was delivered.
    t.is(s.edges, 10);
    t.is(k.count(EDGE), s.edges - s.merged);
    // Carried out in one doorbell on the vCPU's own core, they all merge with the first.
    if (core === 0) t.is(k.count(EDGE), 1);
    t.log(`${k.count(EDGE)} deliveries, ${s.merged} merged`);
  });
}

test('edge SPI, property: for any schedule of bursts, deliveries = requests - merged, at least one per burst, never more than requests', (t) => {
  const run = fc.check(
    fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: 4 }), gapUs: fc.integer({ min: 0, max: 25 }) }), { minLength: 1, maxLength: 8 }), fc.boolean(), (bursts, other) => {
      const { p, k } = platform(other ? 1 : 0);
      let sent = 0;
      let spaced = 0;
      for (const b of bursts) {
        for (let i = 0; i < b.n; i++) irqLine(p, 0, EDGE, true);
        sent += b.n;
        // A gap long enough for the guest to take it: this burst is a delivery of its own.
        if (b.gapUs >= 15) spaced++;
        runUs(p, b.gapUs);
      }
      runUs(p, 30);
      const s = p.hyp.spiHost.vms[0]!.stats;
      const got = k.count(EDGE);
      return s.edges === sent && got === sent - s.merged && got <= sent && got >= Math.max(1, spaced);
    }),
    { numRuns: 15, seed: 13 },
  );
  // Every generated case held (fc.check reports the shrunk counterexample otherwise).
  t.false(run.failed, fc.defaultReportMessage(run) ?? 'property failed');
  t.true(run.numRuns > 0, `${run.numRuns} cases`);
});

test('level SPI: a line held high is taken again after every EOI (EOI maintenance, resampled) until it is lowered', (t) => {
  // A busy guest: it leaves the guest only when an interrupt makes it (no WFI exits to resample on).
  const { p, k } = platform(1, true, true);
  irqLine(p, 0, LEVEL, true);
  runUs(p, 100);
  const held = k.count(LEVEL);
  t.true(held >= 5, `${held} deliveries while held high`);
  t.log(`${held} deliveries in 100 us with the line held high`);
  // Each one came from a list register written with EOI = 1, whose deactivation exited to EL2.
  const lrs = p.m.trace.of('ich-lr-write').filter((r) => r.vintid === LEVEL && r.state !== 0);
  t.true(lrs.length >= held && lrs.every((r) => r.eoi && !r.hw));
  // ... and the guest's deactivation raised the EOI maintenance interrupt (ICH_MISR_EL2.EOI), each an exit.
  const eoiMaint = p.m.trace.of('ich-maintenance').filter((r) => r.level && (r.misr & 1) !== 0).length;
  t.true(eoiMaint >= held - 1, `${eoiMaint} EOI maintenance interrupts for ${held} deliveries`);
  // Raising it again changes nothing (the level did not change).
  irqLine(p, 0, LEVEL, true);
  const atLower = k.count(LEVEL);
  irqLine(p, 0, LEVEL, false);
  runUs(p, 50);
  const after = k.count(LEVEL);
  t.true(after <= atLower + 1, `${after - atLower} after lowering`);
  runUs(p, 100);
  t.is(k.count(LEVEL), after);
  t.is(p.hyp.spiHost.vms[0]!.stats.raised, 1);
  t.is(p.hyp.spiHost.vms[0]!.stats.lowered, 1);
});

/**
 * A guest whose CPU 0, once its SPIs are configured, keeps IRQs masked for `maskUs` while it
 * samples ICC_HPPIR1_EL1 (what the guest sees pending) every microsecond, then unmasks.
 */
function maskedPlatform(core: number, maskUs: number) {
  const hppir: number[] = [];
  const p = buildPlatform({
    cores: 2,
    vmm: true,
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        spis: 64,
        pinned: [core],
        kernel: (c) => {
          const k = spiKernel(c, [{ intid: LEVEL, edge: false }]);
          k.main = function* (cpu: KernelCpu): Program {
            yield* configureSpi(c.gicd, LEVEL, { edge: false, priority: 0xa0, affinity: 0, enable: true });
            yield daifset(DAIF_I);
            yield str(c.ramBase + SPI_READY_OFFSET, 1, 4, 1);
            for (let i = 0; i < maskUs; i++) {
              const v: number = yield mrs(ICC_HPPIR1_EL1, 1);
              if (hppir.length === 0 || hppir[hppir.length - 1] !== v) hppir.push(v);
              yield work(2000);
            }
            yield daifclr(DAIF_I);
            if (cpu.index === 0) yield* idleLoop();
          };
          return k;
        },
      },
    ],
  });
  bootSpiGuests(p);
  return { p, k: p.kernels[0] as SpiKernel, hppir };
}

for (const core of [0, 1]) {
  test(`level SPI lowered before the guest acknowledges is withdrawn (vCPU on core ${core}): ICC_HPPIR1_EL1 shows it, then 1023; never taken`, (t) => {
    const { p, k, hppir } = maskedPlatform(core, 150);
    runUs(p, 10);
    irqLine(p, 0, LEVEL, true);
    runUs(p, 30);
    irqLine(p, 0, LEVEL, false);
    runUs(p, 200);
    t.deepEqual(hppir, [1023, LEVEL, 1023]);
    t.is(k.count(LEVEL), 0);
    t.is(k.cpus[0]!.spurious, 0);
  });

  test(`level SPI held high while the guest has IRQs masked is taken once it unmasks (vCPU on core ${core})`, (t) => {
    const { p, k, hppir } = maskedPlatform(core, 60);
    runUs(p, 10);
    irqLine(p, 0, LEVEL, true);
    runUs(p, 80);
    t.deepEqual(hppir, [1023, LEVEL]);
    t.true(k.count(LEVEL) >= 1);
  });
}

test('KVM_IRQ_LINE on a PPI of one vCPU: a level PPI 20 held high on vCPU 1 is taken there, again after each EOI, until lowered', (t) => {
  const p = buildPlatform({
    cores: 2,
    vmm: true,
    vms: [{ name: 'vm', vcpus: 2, spis: 32, kernel: (c) => spiKernel({ ...c, ppis: [20] }, []).onIrq(20, function* () {
      yield work(100);
    }) as SpiKernel }],
  });
  bootSpiGuests(p);
  const k = p.kernels[0] as SpiKernel;
  const r = irqLine(p, 0, 20, true, 1);
  runUs(p, 60);
  t.is(requestResult(p, r), 0);
  const taken = k.cpus[1]!.irqs;
  t.true(taken >= 3, `${taken} on CPU 1`);
  t.is(k.cpus[0]!.irqs, 0);
  irqLine(p, 0, 20, false, 1);
  runUs(p, 20);
  const after = k.cpus[1]!.irqs;
  runUs(p, 60);
  t.is(k.cpus[1]!.irqs, after);
});

test('refused requests: -EINVAL for an SPI beyond the VM\'s, a VM or vCPU that does not exist, an SGI; timer PPIs are left alone (0, as KVM\'s owner check)', (t) => {
  const { p, k } = platform(0);
  const bad = [irqLine(p, 0, 96, true), irqLine(p, 0, 1020, true), irqLine(p, 3, EDGE, true), irqLine(p, 0, 20, true, 4), irqLine(p, 0, 3, true)];
  const timer = [irqLine(p, 0, 27, true), irqLine(p, 0, 30, true), irqLine(p, 0, 26, true)];
  t.deepEqual(bad.map((r) => requestResult(p, r)), bad.map(() => null));
  runUs(p, 50);
  t.deepEqual(bad.map((r) => requestResult(p, r)), [-22, -22, -22, -22, -22]);
  t.deepEqual(timer.map((r) => requestResult(p, r)), [0, 0, 0]);
  t.is(k.cpus[0]!.irqs, 0);
  t.is(p.hyp.spiHost.stats.requests, 8);
});

test('the request ring: 256 requests wait at most; the VMM is told when it is full, and one doorbell carries out all that wait', (t) => {
  const { p, k } = platform(0);
  const doorbells = p.hyp.spiHost.stats.doorbells;
  for (let i = 0; i < 256; i++) irqLine(p, 0, EDGE, true);
  t.throws(() => irqLine(p, 0, EDGE, true), { message: /request ring is full/ });
  runUs(p, 100);
  t.is(p.hyp.spiHost.stats.requests, 256);
  t.is(p.hyp.spiHost.stats.doorbells - doorbells, 1);
  t.is(k.count(EDGE), 1);
  t.throws(() => buildPlatform({ cores: 1, vms: [] }).m && irqLine(buildPlatform({ cores: 1, vms: [] }), 0, 40, true), { message: /no VMM/ });
});
