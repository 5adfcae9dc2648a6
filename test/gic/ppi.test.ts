/**
 * PPIs and the redistributor's power handshake: the generic timer's level output reaches the PE
 * as PPI 27 through the GIC (`InterruptController`), the virtual CPU interface's port drives
 * the maintenance PPI and deactivates HW-linked interrupts (`PhysicalGicPort`), and a
 * redistributor that has not been woken through GICR_WAKER signals nothing to its PE.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { daifclr, DAIF_I, eret, isb, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { CNTV_CTL_EL0, CNTV_TVAL_EL0, CTL_ENABLE, CTL_IMASK } from '../../core/timer.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../../drivers/gic-init.js';
import { gicConfig } from '../../gic/config.js';
import { GICR_WAKER, ICC_SGIR } from '../../gic/gic-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_SGI1R_EL1 } from '../../gic/sysregs.js';
import { cpuOff } from '../helpers/harness.js';
import { bootEl1, buildGicMachine, DIST_OPTIONS, FLAGS, gicr, gicrSgi, idle, setFlag, waitFlag } from '../helpers/gic-harness.js';

const CFG = gicConfig();

test('the virtual timer raises PPI 27 through the GIC; masking the timer drops the level', (t) => {
  const g = buildGicMachine({ cores: 4 });
  const acks: number[] = [];
  let pendingAfter = -1;
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(CFG.gicdBase, DIST_OPTIONS);
      yield* initRedistributor(CFG.gicrBase);
      if (pe !== 0) {
        yield* cpuOff();
        return;
      }
      yield str(gicrSgi(CFG, 0, 0x0100), 1 << 27);
      yield* initCpuInterface();
      yield msr(CNTV_TVAL_EL0, 10_000);
      yield msr(CNTV_CTL_EL0, CTL_ENABLE);
      yield isb();
      yield daifclr(DAIF_I);
      yield work(50_000);
      pendingAfter = yield ldr(gicrSgi(CFG, 0, 0x0200));
      yield* cpuOff();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      acks.push(iar);
      // Like a timer driver: mask the output, then EOI (a level PPI would otherwise fire again).
      yield msr(CNTV_CTL_EL0, CTL_ENABLE | CTL_IMASK);
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  }));
  g.m.run(10_000_000);
  t.deepEqual(acks, [27]);
  t.is(pendingAfter & (1 << 27), 0);
  t.is(g.m.trace.of('gic-pending').filter((r) => r.intid === 27 && r.cause === 'line').length, 1);
});

test('HW linkage: an interrupt left active by the host (EOImode = 1) is deactivated through deactivatePhysical', (t) => {
  const g = buildGicMachine({ cores: 4 });
  const active: number[] = [];
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(CFG.gicdBase, DIST_OPTIONS);
      yield* initRedistributor(CFG.gicrBase);
      if (pe !== 0) {
        yield* cpuOff();
        return;
      }
      yield str(gicrSgi(CFG, 0, 0x0100), 1 << 25);
      yield* initCpuInterface({ eoiMode: 1 });
      yield daifclr(DAIF_I);
      yield work(20_000);
      active.push(yield ldr(gicrSgi(CFG, 0, 0x0300)));
      yield work(20_000);
      active.push(yield ldr(gicrSgi(CFG, 0, 0x0300)));
      yield* cpuOff();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      // Priority drop only: the interrupt stays active, as a host leaves a HW-linked PPI for its guest.
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  }));
  // The maintenance interrupt is a level the virtual CPU interface drives through PhysicalGicPort.
  const port = g.gic;
  g.m.events.schedule(new SimEvent('vcpuif', 0, () => port.setPpiLevel(0, 25, true)), 5_000);
  g.m.events.schedule(new SimEvent('vcpuif', 0, () => port.setPpiLevel(0, 25, false)), 15_000);
  g.m.events.schedule(new SimEvent('guest-eoi', 0, () => port.deactivatePhysical(0, 25)), 35_000);
  g.m.run(10_000_000);
  t.deepEqual(active.map((a) => a & (1 << 25)), [1 << 25, 0]);
  t.deepEqual(g.m.trace.of('gic-deactivate').map((r) => [r.intid, r.by]), [[25, 'hw']]);
});

test('a redistributor that is asleep (GICR_WAKER.ProcessorSleep = 1) signals nothing until woken', (t) => {
  const g = buildGicMachine({ cores: 4 });
  const acks: number[][] = [[], []];
  let ackedBeforeWake = -1;
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) yield* initDistributor(CFG.gicdBase, DIST_OPTIONS);
      if (pe > 1) {
        yield* cpuOff();
        return;
      }
      if (pe === 0) {
        yield* initRedistributor(CFG.gicrBase);
        yield* initCpuInterface();
        yield* waitFlag(FLAGS + 4);
        yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: 3, TargetList: 1 << 1 }));
        yield* setFlag(FLAGS + 8);
        yield* idle();
        return;
      }
      // PE 1: configure SGIs (the registers work while asleep) but do not wake the redistributor yet.
      yield str(gicrSgi(CFG, 1, 0x0080), 0xffffffff);
      yield str(gicrSgi(CFG, 1, 0x0100), 0xffff);
      yield str(gicrSgi(CFG, 1, 0x0400), 0xa0a0a0a0);
      yield* initCpuInterface();
      yield daifclr(DAIF_I);
      yield* setFlag(FLAGS + 4);
      yield* waitFlag(FLAGS + 8);
      yield work(5000);
      ackedBeforeWake = acks[1]!.length;
      const w: number = yield ldr(gicr(CFG, 1, 0x0014));
      yield str(gicr(CFG, 1, 0x0014), GICR_WAKER.set(w, 'ProcessorSleep', 0));
      yield work(5000);
      yield* idle();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      acks[pe]!.push(iar);
      yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  }));
  g.m.run(10_000_000);
  t.is(ackedBeforeWake, 0);
  t.deepEqual(acks, [[], [3]]);
  t.deepEqual(g.m.trace.of('gic-waker').map((r) => [r.pe, r.asleep]), [[0, false], [1, false]]);
});
