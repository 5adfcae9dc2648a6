/**
 * Priority, masking and the two EOI modes of the physical CPU interface (IHI 0069H §4.8
 * "Interrupt prioritization"; ICC_PMR_EL1, ICC_BPR1_EL1, ICC_CTLR_EL1.EOImode):
 * a higher-priority interrupt preempts a running handler, a lower one waits for the priority
 * drop; preemption compares group priorities only (BPR); ICC_PMR_EL1 masks strictly; with
 * EOImode = 1 an interrupt stays active after EOIR until ICC_DIR_EL1.
 */
import test from 'ava';
import { daifclr, daifset, DAIF_I, eret, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { ELR_EL1, SPSR_EL1 } from '../../core/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor, type CpuInterfaceOptions } from '../../drivers/gic-init.js';
import { gicConfig } from '../../gic/config.js';
import { ICC_SGIR } from '../../gic/gic-registers.js';
import {
  ICC_BPR1_EL1,
  ICC_DIR_EL1,
  ICC_EOIR1_EL1,
  ICC_HPPIR1_EL1,
  ICC_IAR1_EL1,
  ICC_PMR_EL1,
  ICC_RPR_EL1,
  ICC_SGI1R_EL1,
  ICC_AP1R_EL1,
} from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { bootEl1, buildGicMachine, DIST_OPTIONS, gicrSgi, type GicMachine } from '../helpers/gic-harness.js';

/** ICC_SGI1R_EL1 value sending SGI `id` to PE 0. */
/** The default configuration, which `buildGicMachine` uses. */
const CFG = gicConfig();

const toSelf = (id: number): bigint => ICC_SGIR.encode({ INTID: id, TargetList: 1 });

/**
 * PE 0 brings the GIC up, gives SGI n priority `prios[n]`, unmasks IRQs and runs `body`;
 * its IRQ handler is `irq`. PEs 1-3 only wake their redistributors and stop.
 */
function run(prios: Record<number, number>, body: () => Program, irq: () => Program, cpuif: CpuInterfaceOptions = {}): GicMachine {
  const g = buildGicMachine({ cores: 4 });
  const { m, cfg } = g;
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(cfg.gicdBase, DIST_OPTIONS);
      yield* initRedistributor(cfg.gicrBase);
      if (pe !== 0) {
        yield* cpuOff();
        return;
      }
      for (const [id, p] of Object.entries(prios)) yield str(gicrSgi(cfg, 0, 0x0400 + Number(id)), p, 1);
      yield* initCpuInterface(cpuif);
      yield daifclr(DAIF_I);
      yield* body();
      yield work(20_000);
      yield* cpuOff();
    },
    irq,
  }));
  m.run(10_000_000);
  return g;
}

test('a higher-priority SGI preempts a running handler, a lower one waits until the priority drop', (t) => {
  const log: string[] = [];
  const rprs: number[] = [];
  run(
    { 1: 0xa0, 2: 0x40, 3: 0xc0 },
    function* () {
      yield msr(ICC_SGI1R_EL1, toSelf(1));
    },
    function* () {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      log.push(`ack ${iar}`);
      rprs.push(yield mrs(ICC_RPR_EL1));
      if (iar === 1) {
        // Nested exceptions overwrite ELR/SPSR: save them before unmasking.
        const elr: number = yield mrs(ELR_EL1);
        const spsr: number = yield mrs(SPSR_EL1);
        yield msr(ICC_SGI1R_EL1, toSelf(3));
        yield msr(ICC_SGI1R_EL1, toSelf(2));
        yield daifclr(DAIF_I);
        yield work(3000);
        yield daifset(DAIF_I);
        yield msr(ELR_EL1, elr);
        yield msr(SPSR_EL1, spsr);
      }
      log.push(`eoi ${iar}`);
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  );
  t.deepEqual(log, ['ack 1', 'ack 2', 'eoi 2', 'eoi 1', 'ack 3', 'eoi 3']);
  t.deepEqual(rprs, [0xa0, 0x40, 0xc0]);
});

for (const bpr1 of [3, 5]) {
  test(`preemption compares group priorities only (BPR1 = ${bpr1})`, (t) => {
    // Running 0xB8, pending 0xA8: with BPR1 = 5 the group priorities are both 0xA0 (mask 0xE0)
    // and there is no preemption; with BPR1 = 3 (mask 0xF8) 0xA8 < 0xB8 preempts.
    const log: string[] = [];
    run(
      { 1: 0xb8, 5: 0xa8 },
      function* () {
        yield msr(ICC_BPR1_EL1, bpr1);
        yield msr(ICC_SGI1R_EL1, toSelf(1));
      },
      function* () {
        const iar: number = yield mrs(ICC_IAR1_EL1);
        log.push(`ack ${iar}`);
        if (iar === 1) {
          const elr: number = yield mrs(ELR_EL1);
          const spsr: number = yield mrs(SPSR_EL1);
          yield msr(ICC_SGI1R_EL1, toSelf(5));
          yield daifclr(DAIF_I);
          yield work(3000);
          yield daifset(DAIF_I);
          yield msr(ELR_EL1, elr);
          yield msr(SPSR_EL1, spsr);
        }
        log.push(`eoi ${iar}`);
        yield msr(ICC_EOIR1_EL1, iar);
        yield eret();
      },
    );
    t.deepEqual(log, bpr1 === 5 ? ['ack 1', 'eoi 1', 'ack 5', 'eoi 5'] : ['ack 1', 'ack 5', 'eoi 5', 'eoi 1']);
  });
}

test('ICC_PMR_EL1 masks strictly: priority equal to PMR is not signalled, below it is', (t) => {
  const seen: { hppir: number; iarMasked: number; acks: number[] } = { hppir: -1, iarMasked: -1, acks: [] };
  run(
    { 6: 0x80 },
    function* () {
      yield msr(ICC_SGI1R_EL1, toSelf(6));
      yield work(2000);
      // Masked: nothing taken, HPPIR still reports it, IAR returns the spurious INTID.
      seen.hppir = yield mrs(ICC_HPPIR1_EL1);
      yield daifset(DAIF_I);
      seen.iarMasked = yield mrs(ICC_IAR1_EL1);
      yield daifclr(DAIF_I);
      yield work(2000);
      t.deepEqual(seen.acks, [], 'not taken while PMR = 0x80');
      yield msr(ICC_PMR_EL1, 0x88);
      yield work(2000);
    },
    function* () {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      seen.acks.push(iar);
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
    { pmr: 0x80 },
  );
  t.is(seen.hppir, 6);
  t.is(seen.iarMasked, 1023);
  t.deepEqual(seen.acks, [6]);
});

test('PMR keeps unimplemented low priority bits as zero (5 bits: 0xFF reads 0xF8)', (t) => {
  let pmr = -1;
  run({}, function* () {
    yield msr(ICC_PMR_EL1, 0xff);
    pmr = yield mrs(ICC_PMR_EL1);
  }, function* () {
    yield eret();
  });
  t.is(pmr, 0xf8);
});

test('EOImode = 1: EOIR drops the priority but the SGI stays active until ICC_DIR_EL1', (t) => {
  const log: string[] = [];
  let activeAfterEoi = -1;
  let activeAfterDir = -1;
  let rprAfterEoi = -1;
  run(
    { 8: 0xa0 },
    function* () {
      yield msr(ICC_SGI1R_EL1, toSelf(8));
      yield work(3000);
      // The handler dropped the priority but did not deactivate. Send it again: it becomes
      // pending while active and must not be taken until DIR.
      yield msr(ICC_SGI1R_EL1, toSelf(8));
      yield work(3000);
      log.push('dir 8');
      yield daifset(DAIF_I);
      yield msr(ICC_DIR_EL1, 8);
      activeAfterDir = yield ldr(gicrSgi(CFG, 0, 0x0300));
      yield daifclr(DAIF_I);
      yield work(3000);
    },
    function* () {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      log.push(`ack ${iar}`);
      yield msr(ICC_EOIR1_EL1, iar);
      rprAfterEoi = yield mrs(ICC_RPR_EL1);
      if (activeAfterEoi < 0) activeAfterEoi = yield ldr(gicrSgi(CFG, 0, 0x0300));
      yield eret();
    },
    { eoiMode: 1 },
  );
  t.deepEqual(log, ['ack 8', 'dir 8', 'ack 8']);
  t.is(activeAfterEoi & (1 << 8), 1 << 8, 'active after EOIR');
  t.is(rprAfterEoi, 0xff, 'priority dropped');
  t.is(activeAfterDir & (1 << 8), 0, 'inactive after DIR');
});

test('EOImode = 0: DIR is ignored and EOIR deactivates', (t) => {
  let activeAfterEoi = -1;
  run(
    { 8: 0xa0 },
    function* () {
      yield msr(ICC_SGI1R_EL1, toSelf(8));
      yield work(3000);
    },
    function* () {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      yield msr(ICC_DIR_EL1, iar);
      const stillActive: number = yield ldr(gicrSgi(CFG, 0, 0x0300));
      t.is(stillActive & (1 << 8), 1 << 8, 'DIR with EOImode = 0 did nothing');
      yield msr(ICC_EOIR1_EL1, iar);
      activeAfterEoi = yield ldr(gicrSgi(CFG, 0, 0x0300));
      yield eret();
    },
  );
  t.is(activeAfterEoi & (1 << 8), 0);
});

test('the active priority registers record the acknowledged group priority', (t) => {
  let ap1r0 = -1;
  let after = -1;
  run(
    { 9: 0x48 },
    function* () {
      yield msr(ICC_SGI1R_EL1, toSelf(9));
      yield work(3000);
      after = yield mrs(ICC_AP1R_EL1[0]!);
    },
    function* () {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      ap1r0 = yield mrs(ICC_AP1R_EL1[0]!);
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  );
  // 5 preemption bits: AP1R0 bit i <=> priority i * 8; 0x48 -> bit 9.
  t.is(ap1r0, 1 << 9);
  t.is(after, 0);
});

test('an EOIR with nothing active is ignored (no exception, trace record)', (t) => {
  const g = run({}, function* () {
    yield msr(ICC_EOIR1_EL1, 5);
    yield msr(ICC_EOIR1_EL1, 1023);
  }, function* () {
    yield eret();
  });
  t.true(g.m.trace.of('gic-ignored').filter((r) => r.what.startsWith('EOIR1')).length >= 2);
});
