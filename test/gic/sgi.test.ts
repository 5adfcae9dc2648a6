/**
 * SGIs in the style of kvm-unit-tests arm/gic.c "ipi" tests: four PEs bring the GIC up through
 * MMIO and ICC_* like Linux, one PE writes ICC_SGI1R_EL1, and every PE counts what its IRQ
 * handler read from ICC_IAR1_EL1. Each target must acknowledge the SGI exactly once, no other PE
 * may see it, and no handler may read a spurious 1023.
 */
import test from 'ava';
import { daifclr, DAIF_F, DAIF_I, eret, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { ICC_SGIR } from '../../gic/gic-registers.js';
import { ICC_EOIR0_EL1, ICC_EOIR1_EL1, ICC_IAR0_EL1, ICC_IAR1_EL1, ICC_SGI0R_EL1, ICC_SGI1R_EL1, ICC_ASGI1R_EL1 } from '../../gic/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../../drivers/gic-init.js';
import { bootEl1, buildGicMachine, DIST_OPTIONS, FLAGS, gicrSgi, idle, setFlag, waitAllReady } from '../helpers/gic-harness.js';

interface IpiResult {
  /** INTIDs each PE's handler read from ICC_IAR1_EL1 (or IAR0 for FIQs). */
  acks: number[][];
  fiqs: number[][];
  sendTime: number;
  m: ReturnType<typeof buildGicMachine>['m'];
}

/** PE `sender` writes `value` to `reg` once every PE is ready; all PEs then idle for a while. */
function runIpi(sender: number, reg: typeof ICC_SGI1R_EL1, value: bigint, opts: { group0Sgi?: number } = {}): IpiResult {
  const g = buildGicMachine({ cores: 4 });
  const { m, cfg } = g;
  const acks: number[][] = [[], [], [], []];
  const fiqs: number[][] = [[], [], [], []];
  let sendTime = -1;
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
      yield* initRedistributor(cfg.gicrBase);
      if (opts.group0Sgi !== undefined) yield str(gicrSgi(cfg, pe, 0x0080), ~(1 << opts.group0Sgi) >>> 0);
      yield* initCpuInterface({ group0: opts.group0Sgi !== undefined });
      yield* setFlag(FLAGS + 4 * pe);
      yield daifclr(DAIF_I | DAIF_F);
      if (pe === sender) {
        yield* waitAllReady(4);
        sendTime = m.pes[pe]!.now;
        yield msr(reg, value);
      }
      yield* idle();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      acks[pe]!.push(iar);
      if (iar !== 1023) yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
    fiq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR0_EL1);
      fiqs[pe]!.push(iar);
      if (iar !== 1023) yield msr(ICC_EOIR0_EL1, iar);
      yield eret();
    },
  }));
  const end = m.run(5_000_000);
  if (end !== 'idle' && end !== 'until') throw new Error(`run ended: ${end}`);
  return { acks, fiqs, sendTime, m };
}

test('an SGI to one core is acknowledged exactly once on that core and nowhere else', (t) => {
  const r = runIpi(0, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 5, TargetList: 1 << 2 }));
  t.deepEqual(r.acks, [[], [], [5], []]);
});

test('an SGI to a target list reaches exactly the listed cores', (t) => {
  const r = runIpi(1, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 3, TargetList: 0b1101 }));
  t.deepEqual(r.acks, [[3], [], [3], [3]]);
});

test('IRM = 1 sends to all cores but the sender', (t) => {
  const r = runIpi(2, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 7, IRM: 1, TargetList: 0xffff }));
  t.deepEqual(r.acks, [[7], [7], [], [7]]);
});

test('an SGI to oneself is taken by the sender', (t) => {
  const r = runIpi(3, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 0, TargetList: 1 << 3 }));
  t.deepEqual(r.acks, [[], [], [], [0]]);
});

test('a target list with a non-matching Aff1 or RS reaches nobody', (t) => {
  t.deepEqual(runIpi(0, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 1, Aff1: 1, TargetList: 0xf })).acks, [[], [], [], []]);
  t.deepEqual(runIpi(0, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 1, RS: 1, TargetList: 0xf })).acks, [[], [], [], []]);
});

test('the SGI becomes pending at its target sgiLatency cycles after the write', (t) => {
  const r = runIpi(0, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 9, TargetList: 1 << 1 }));
  const sgi = r.m.trace.of('gic-sgi');
  t.is(sgi.length, 1);
  t.deepEqual(sgi[0]!.targets, [1]);
  const pend = r.m.trace.of('gic-pending').filter((p) => p.intid === 9);
  t.is(pend.length, 1);
  t.is(pend[0]!.t - sgi[0]!.t, r.m.costs.sgiLatency);
  t.is(pend[0]!.pe, 1);
});

test('ICC_SGI0R_EL1 raises a Group 0 SGI as FIQ, read from ICC_IAR0_EL1', (t) => {
  const r = runIpi(0, ICC_SGI0R_EL1, ICC_SGIR.encode({ INTID: 4, TargetList: 0b0110 }), { group0Sgi: 4 });
  t.deepEqual(r.fiqs, [[], [4], [4], []]);
  t.deepEqual(r.acks, [[], [], [], []]);
});

test('an SGI of the group its target does not configure is not delivered', (t) => {
  // SGI 4 is Group 0 at every target: a Group 1 SGI (SGI1R) must not reach it.
  const r = runIpi(0, ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 4, TargetList: 0b0110 }), { group0Sgi: 4 });
  t.deepEqual(r.acks, [[], [], [], []]);
  t.deepEqual(r.fiqs, [[], [], [], []]);
});

test('ICC_ASGI1R_EL1 generates nothing with a single Security state', (t) => {
  const r = runIpi(0, ICC_ASGI1R_EL1, ICC_SGIR.encode({ INTID: 2, TargetList: 0b0110 }));
  t.deepEqual(r.acks, [[], [], [], []]);
  t.true(r.m.trace.of('gic-ignored').some((x) => x.what.includes('ASGI1R')));
});

for (const stagger of [true, false]) {
  test(`every core sends SGIs 1-3 to all others${stagger ? ' one after another: 9 acknowledgements each' : ' at once: pending SGIs merge'}`, (t) => {
    const g = buildGicMachine({ cores: 4 });
    const { m, cfg } = g;
    const acks: number[][] = [[], [], [], []];
    bootEl1(g, (pe) => ({
      main: function* (): Program {
        if (pe === 0) yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
        yield* initRedistributor(cfg.gicrBase);
        yield* initCpuInterface();
        yield* setFlag(FLAGS + 4 * pe);
        yield daifclr(DAIF_I);
        yield* waitAllReady(4);
        if (stagger) yield work(pe * 10_000);
        for (let id = 1; id <= 3; id++) {
          yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: id, IRM: 1 }));
          yield work(2000);
        }
        yield* idle();
      },
      irq: function* (): Program {
        const iar: number = yield mrs(ICC_IAR1_EL1);
        acks[pe]!.push(iar);
        if (iar !== 1023) yield msr(ICC_EOIR1_EL1, iar);
        yield eret();
      },
    }));
    m.run(5_000_000);
    for (let pe = 0; pe < 4; pe++) {
      t.false(acks[pe]!.includes(1023), `PE${pe} read a spurious INTID`);
      for (let id = 1; id <= 3; id++) {
        const n = acks[pe]!.filter((x) => x === id).length;
        // Three senders; an SGI already pending at the target absorbs another one (one pending bit per INTID).
        if (stagger) t.is(n, 3, `PE${pe} acknowledged SGI ${id} ${n} times`);
        else t.true(n >= 1 && n <= 3, `PE${pe} acknowledged SGI ${id} ${n} times`);
      }
    }
  });
}
