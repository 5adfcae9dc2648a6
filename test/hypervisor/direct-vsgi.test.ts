/**
 * Direct vSGIs on the hypervisor's GICv4.1 path (hypervisor/direct-vsgi.ts): a guest that asks
 * for SGIs without an active state (GICD_CTLR.nASSGIreq, offered by GICD_TYPER2.nASSGIcap) gets
 * its SGIs as vSGIs: the sender's ICC_SGI1R_EL1 still traps, the hypervisor writes GITS_SGIR,
 * and a resident target takes the SGI with no exit and no list register; its handler sees no
 * active state (GICR_ISACTIVER0 reads 0 for it). Without nASSGIreq, or on the GICv4.0 and
 * injected paths, SGIs stay trapped and go through list registers, with their active state.
 */
import test from 'ava';
import { DAIF_I, daifclr, daifset, ldr, str, work, type Program } from '../../core/ops.js';
import { idleLoop, Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';
import { sendSgi, sgisWithoutActiveState } from '../../drivers/gic-init.js';
import { GICD_CTLR } from '../../gic/gic-registers.js';
import { GICD, GICR_SGI, GICR_SGI_BASE } from '../../gic/mmio-offsets.js';
import { EC } from '../../core/esr.js';
import { bootGuests, buildPlatform } from '../../scenarios/platform.js';
import type { Injection } from '../../hypervisor/config.js';

const SGI = 1;
const ROUNDS = 12;

class Probe extends Kernel {
  sent = 0;
  /** GICR_ISACTIVER0 bit SGI, as the receiver's handler read it (between acknowledge and EOI). */
  readonly activeSeen: number[] = [];
}

/** CPU 0 sends SGI 1 to CPU 1 every 40,000 cycles; CPU 1 spins (its WFI does not trap) and reads its SGI's active bit in the handler. */
function probe(cfg: KernelConfig, nassgi: boolean): Probe {
  const k = new Probe({ ...cfg, nassgi });
  k.onIrq(SGI, function* (cpu: KernelCpu): Program {
    const a: number = yield ldr(cpu.rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, 4, 9);
    k.activeSeen.push((a >>> SGI) & 1);
  });
  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index !== 0) return yield* idleLoop();
    for (let r = 0; r < ROUNDS; r++) {
      yield work(40_000);
      yield* sendSgi(SGI, [1]);
      k.sent++;
    }
    yield* idleLoop();
  };
  return k;
}

function run(v41: boolean, injection: Injection, nassgi: boolean, trapWfi = false) {
  const p = buildPlatform({
    cores: 2,
    trace: true,
    gic: { version: 4, v41 },
    trapWfi,
    vms: [{ name: 'vm', vcpus: 2, injection, pinned: [0, 1], kernel: (c) => probe(c, nassgi) }],
  });
  bootGuests(p);
  p.m.runFor(1_500_000);
  const k = p.kernels[0] as Probe;
  const [v0, v1] = p.hyp.vcpus;
  const acks = p.m.trace.of('icv-ack').filter((x) => x.vintid === SGI && x.core === 1);
  return {
    sgisWithoutActive: k.sgisWithoutActive,
    sent: k.sent,
    taken: k.activeSeen.length,
    active: k.activeSeen.reduce((a, b) => a + b, 0),
    sources: [...new Set(acks.map((x) => x.source))],
    senderSgiTraps: v0!.counters.exitsByEc[EC.SYS64]!,
    receiverIrqExits: v1!.counters.irqExits,
    gitsSgir: p.gic.its.vsgiFrame?.writes ?? 0,
    itsErrors: p.gic.its.errorCount,
    doorbellsRung: p.gic.physical.defaultDoorbells?.rung ?? 0,
    doorbellsTaken: p.hyp.stats.doorbells,
  };
}

test('GICv4.1 direct-v41 with nASSGIreq: SGIs are direct vSGIs (no LR, no exit of the resident target, no active state); the sender still traps', (t) => {
  const r = run(true, 'direct', true);
  t.like(r, { sgisWithoutActive: true, sent: ROUNDS, taken: ROUNDS, active: 0, gitsSgir: ROUNDS, itsErrors: 0 });
  t.deepEqual(r.sources, ['vsgi']);
  t.is(r.receiverIrqExits, 0);
  t.true(r.senderSgiTraps >= ROUNDS);
});

test('GICv4.1 direct-v41 with nASSGIreq, the target blocked in WFI (trapped): each vSGI stays pending with its non-resident vPE and rings its default doorbell; EL2 wakes the vCPU, which takes it from the GIC', (t) => {
  const r = run(true, 'direct', true, true);
  t.like(r, { sgisWithoutActive: true, sent: ROUNDS, taken: ROUNDS, active: 0, gitsSgir: ROUNDS, itsErrors: 0, doorbellsRung: ROUNDS, doorbellsTaken: ROUNDS });
  t.deepEqual(r.sources, ['vsgi']);
});

for (const [name, v41, injection, nassgi] of [
  ['GICv4.1 direct-v41 without nASSGIreq', true, 'direct', false],
  ['GICv4.0 direct (nASSGIcap = 0: the request is not granted)', false, 'direct', true],
  ['GICv4.1 injected (nASSGIcap = 0)', true, 'list-register', true],
] as const) {
  test(`${name}: SGIs stay trapped and go through list registers, with their active state; the target exits for each`, (t) => {
    const r = run(v41, injection, nassgi);
    t.like(r, { sgisWithoutActive: false, sent: ROUNDS, taken: ROUNDS, active: ROUNDS, gitsSgir: 0, itsErrors: 0 });
    t.deepEqual(r.sources, ['lr']);
    t.true(r.receiverIrqExits >= ROUNDS);
  });
}

class Switcher extends Kernel {
  masked = false;
  switched = false;
  afterSwitch = true;
  readonly activeSeen: number[] = [];
}

test('GICv4.1: the guest clears nASSGIreq (distributor disabled, then enabled without it): a vSGI pending in the GIC is handed back to the list-register path and delivered once, with an active state; later SGIs trap and use list registers', (t) => {
  const p = buildPlatform({
    cores: 2,
    trace: true,
    gic: { version: 4, v41: true },
    trapWfi: false,
    vms: [
      {
        name: 'vm', vcpus: 2, injection: 'direct', pinned: [0, 1],
        kernel: (c) => {
          const k = new Switcher({ ...c, nassgi: true });
          k.onIrq(SGI, function* (cpu: KernelCpu): Program {
            const a: number = yield ldr(cpu.rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, 4, 9);
            k.activeSeen.push((a >>> SGI) & 1);
          });
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index === 1) {
              yield daifset(DAIF_I);
              k.masked = true;
              while (!k.switched) yield work(1000);
              yield daifclr(DAIF_I);
              for (;;) yield work(1000);
            }
            while (!k.masked) yield work(1000);
            yield* sendSgi(SGI, [1]); // a vSGI, pending at CPU 1's resident vPE (interrupts masked there)
            yield work(20_000);
            yield str(c.gicd + GICD.CTLR, GICD_CTLR.encode({ ARE: 1 }), 4, 9);
            yield str(c.gicd + GICD.CTLR, GICD_CTLR.encode({ ARE: 1, EnableGrp1: 1 }), 4, 9);
            k.afterSwitch = yield* sgisWithoutActiveState(c.gicd);
            k.switched = true;
            yield work(40_000);
            yield* sendSgi(SGI, [1]); // trapped, through a list register
            for (;;) yield work(1000);
          };
          return k;
        },
      },
    ],
  });
  bootGuests(p);
  p.m.runFor(600_000);
  const k = p.kernels[0] as Switcher;
  t.true(k.sgisWithoutActive);
  t.false(k.afterSwitch);
  t.deepEqual(k.activeSeen, [1, 1]);
  t.deepEqual(p.m.trace.of('icv-ack').filter((x) => x.vintid === SGI && x.core === 1).map((x) => x.source), ['lr', 'lr']);
  t.is(p.gic.its.vsgiFrame!.writes, 1);
  t.is(p.gic.its.errorCount, 0);
  // The GIC holds nothing for the vPE any more.
  t.is(p.gic.physical.vsgis!.pendingOf(0) | p.gic.physical.vsgis!.pendingOf(1), 0);
});
