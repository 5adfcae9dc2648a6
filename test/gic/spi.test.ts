/**
 * Shared peripheral interrupts: level and edge inputs, GICD_IROUTER routing (including 1-of-N),
 * the pending latch against the input level, and the distributor group enables. A test device
 * drives SPI inputs: writing v to offset 4k sets SPI 32 + k's input level to (v != 0), as a
 * device's "interrupt status" register would; tests also raise lines from timed events.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { daifclr, DAIF_I, eret, ldr, mrs, msr, str, work, type Program } from '../../core/ops.js';
import { gicConfig } from '../../gic/config.js';
import { GICD_CTLR, GICD_IROUTER } from '../../gic/gic-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_IGRPEN1_EL1 } from '../../gic/sysregs.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../../drivers/gic-init.js';
import { bootEl1, buildGicMachine, DIST_OPTIONS, FLAGS, gicd, idle, setFlag, waitAllReady, type GicMachine } from '../helpers/gic-harness.js';

const CFG = gicConfig();
const DEV = 0x0900_0000;

const bitReg = (base: number, intid: number): number => gicd(CFG, base + 4 * (intid >>> 5));
const bitOf = (intid: number): number => (1 << (intid & 31)) >>> 0;
const irouter = (intid: number): number => gicd(CFG, 0x6000 + 8 * intid);

interface SpiSetup {
  /** Runs on PE 0 after the distributor is initialised, before the other PEs go on. */
  dist?: () => Program;
  /** Runs on every PE after its CPU interface init, with IRQs unmasked. */
  body?: (pe: number) => Program;
  /** IRQ handler body after the acknowledge; returns false to skip the EOI. */
  onAck?: (pe: number, intid: number) => Program<boolean | void>;
  /** Cores whose ICC_IGRPEN1 stays 0. */
  noGroup1?: number[];
  /** Device events: [time, action]. */
  events?: (g: GicMachine) => [number, () => void][];
}

function runSpi(s: SpiSetup): { g: GicMachine; acks: number[][] } {
  const g = buildGicMachine({ cores: 4 });
  g.m.bus.addMmio('spi-dev', DEV, 0x1000, {
    read: (off) => (g.gic.distributor.isPending(32 + off / 4) ? 1 : 0),
    write: (off, _size, v) => g.gic.setSpiLevel(32 + off / 4, Number(v) !== 0),
  });
  const acks: number[][] = [[], [], [], []];
  bootEl1(g, (pe) => ({
    main: function* (): Program {
      if (pe === 0) {
        yield* initDistributor(CFG.gicdBase, DIST_OPTIONS);
        if (s.dist) yield* s.dist();
      }
      yield* initRedistributor(CFG.gicrBase);
      yield* initCpuInterface();
      if (s.noGroup1?.includes(pe)) yield msr(ICC_IGRPEN1_EL1, 0);
      yield* setFlag(FLAGS + 4 * pe);
      yield* waitAllReady(4);
      yield daifclr(DAIF_I);
      if (s.body) yield* s.body(pe);
      yield* idle();
    },
    irq: function* (): Program {
      const iar: number = yield mrs(ICC_IAR1_EL1);
      acks[pe]!.push(iar);
      const eoi = s.onAck ? yield* s.onAck(pe, iar) : true;
      if (iar !== 1023 && eoi !== false) yield msr(ICC_EOIR1_EL1, iar);
      yield eret();
    },
  }));
  for (const [t, fn] of s.events?.(g) ?? []) g.m.events.schedule(new SimEvent('device', 0, fn), t);
  g.m.run(20_000_000);
  return { g, acks };
}

const enable = (...ids: number[]) =>
  function* (): Program {
    for (const id of ids) yield str(bitReg(0x0100, id), bitOf(id));
  };

test('a level SPI stays pending, and is taken again after each EOI, until the device drops its line', (t) => {
  let handled = 0;
  let pendingBeforeClear = -1;
  let pendingAfterClear = -1;
  const { acks } = runSpi({
    dist: enable(40),
    events: (g) => [[100_000, () => g.gic.setSpiLevel(40, true)]],
    onAck: function* (_pe, intid) {
      if (intid !== 40) return;
      handled++;
      // The device is serviced on the third run of the handler only: until then the line stays high.
      if (handled === 3) {
        pendingBeforeClear = yield ldr(bitReg(0x0200, 40));
        yield str(DEV + 4 * 8, 0);
        pendingAfterClear = yield ldr(bitReg(0x0200, 40));
      }
    },
  });
  t.deepEqual(acks, [[40, 40, 40], [], [], []]);
  t.is(pendingBeforeClear & bitOf(40), bitOf(40), 'active and pending while the line is high');
  t.is(pendingAfterClear & bitOf(40), 0);
});

test('GICD_ICPENDR does not clear a level SPI whose line is high; GICD_ISPENDR latches until acknowledged', (t) => {
  let afterIcpend = -1;
  let latchedAfterDrop = -1;
  const { acks } = runSpi({
    dist: function* () {
      yield str(bitReg(0x0100, 41), bitOf(41));
      // Keep it masked by PMR-free means: disable Group 1 while we poke the pending state.
      yield str(gicd(CFG, 0), GICD_CTLR.encode({ ARE: 1, EnableGrp0: 1 }));
      yield str(DEV + 4 * 9, 1);
      yield str(bitReg(0x0280, 41), bitOf(41));
      afterIcpend = yield ldr(bitReg(0x0200, 41));
      yield str(DEV + 4 * 9, 0);
      yield str(bitReg(0x0200, 41), bitOf(41));
      latchedAfterDrop = yield ldr(bitReg(0x0200, 41));
      yield str(gicd(CFG, 0), GICD_CTLR.encode({ ARE: 1, EnableGrp0: 1, EnableGrp1: 1 }));
    },
  });
  t.is(afterIcpend & bitOf(41), bitOf(41));
  t.is(latchedAfterDrop & bitOf(41), bitOf(41));
  // The latch is cleared by the acknowledge: taken exactly once.
  t.deepEqual(acks, [[41], [], [], []]);
});

test('an edge-triggered SPI is latched by a pulse and taken once', (t) => {
  const { acks, g } = runSpi({
    dist: function* () {
      yield str(gicd(CFG, 0x0c00 + 4 * (42 >>> 4)), 2 << (2 * (42 & 15)));
      yield str(bitReg(0x0100, 42), bitOf(42));
    },
    events: (gm) => [[100_000, () => gm.gic.pulseSpi(42)]],
  });
  t.deepEqual(acks, [[42], [], [], []]);
  t.is(g.m.trace.of('gic-pending').filter((r) => r.intid === 42 && r.cause === 'edge').length, 1);
});

test('a pulse on a level-sensitive SPI that nobody catches in time is not latched', (t) => {
  const { acks } = runSpi({
    dist: enable(43),
    events: (gm) => [[100_000, () => gm.gic.pulseSpi(43)]],
  });
  t.deepEqual(acks, [[], [], [], []]);
});

test('GICD_IROUTER routes each SPI to the core its affinity names, and only there', (t) => {
  const { acks } = runSpi({
    dist: function* () {
      for (let pe = 0; pe < 4; pe++) {
        const id = 48 + pe;
        yield str(irouter(id), BigInt(GICD_IROUTER.encode({ Aff0: 3 - pe })), 8);
        yield str(bitReg(0x0100, id), bitOf(id));
      }
    },
    events: (gm) => [48, 49, 50, 51].map((id, k) => [100_000 + 1000 * k, () => gm.gic.setSpiLevel(id, true)] as [number, () => void]),
    onAck: function* (_pe, intid) {
      yield str(DEV + 4 * (intid - 32), 0);
    },
  });
  // SPI 48 + pe is routed to Aff0 = 3 - pe; level lines that stay high would repeat, so the handler drops them.
  t.deepEqual(acks, [[51], [50], [49], [48]]);
});

test('an SPI routed to an affinity no PE has stays pending until it is re-routed', (t) => {
  let ready = -1;
  const { acks } = runSpi({
    dist: function* () {
      yield str(irouter(52), BigInt(GICD_IROUTER.encode({ Aff1: 7 })), 8);
      yield str(bitReg(0x0100, 52), bitOf(52));
    },
    events: (gm) => [[100_000, () => gm.gic.setSpiLevel(52, true)]],
    body: function* (pe) {
      if (pe !== 1) return;
      yield work(200_000);
      ready = yield ldr(bitReg(0x0200, 52));
      // 32-bit accesses to the two halves of the 64-bit IROUTER.
      yield str(irouter(52), GICD_IROUTER.encode({ Aff0: 2 }));
      yield str(irouter(52) + 4, 0);
    },
    onAck: function* (_pe, intid) {
      yield str(DEV + 4 * (intid - 32), 0);
    },
  });
  t.is(ready & bitOf(52), bitOf(52));
  t.deepEqual(acks, [[], [], [52], []]);
});

test('1-of-N (IRM = 1): the SPI goes to the lowest-numbered participating core', (t) => {
  const { acks } = runSpi({
    dist: function* () {
      yield str(irouter(53), BigInt(GICD_IROUTER.encode({ Interrupt_Routing_Mode: 1, Aff0: 3 })), 8);
      yield str(bitReg(0x0100, 53), bitOf(53));
    },
    noGroup1: [0],
    events: (gm) => [[100_000, () => gm.gic.setSpiLevel(53, true)]],
    onAck: function* (_pe, intid) {
      yield str(DEV + 4 * (intid - 32), 0);
    },
  });
  // PE 0 does not participate (ICC_IGRPEN1_EL1 = 0): PE 1 takes it, exactly once.
  t.deepEqual(acks, [[], [53], [], []]);
});

test('GICD_CTLR.EnableGrp1 = 0 holds Group 1 SPIs back; enabling delivers them', (t) => {
  let pending = -1;
  const { acks } = runSpi({
    dist: function* () {
      yield str(bitReg(0x0100, 54), bitOf(54));
      yield str(gicd(CFG, 0), GICD_CTLR.encode({ ARE: 1 }));
    },
    events: (gm) => [[100_000, () => gm.gic.setSpiLevel(54, true)]],
    body: function* (pe) {
      if (pe !== 0) return;
      yield work(150_000);
      pending = yield ldr(bitReg(0x0200, 54));
      yield str(gicd(CFG, 0), GICD_CTLR.encode({ ARE: 1, EnableGrp1: 1 }));
    },
    onAck: function* (_pe, intid) {
      yield str(DEV + 4 * (intid - 32), 0);
    },
  });
  t.is(pending & bitOf(54), bitOf(54));
  t.deepEqual(acks, [[54], [], [], []]);
});

test('a disabled SPI is not delivered; enabling it delivers the pending interrupt', (t) => {
  const { acks, g } = runSpi({
    events: (gm) => [[100_000, () => gm.gic.setSpiLevel(55, true)]],
    body: function* (pe) {
      if (pe !== 0) return;
      yield work(150_000);
      yield str(bitReg(0x0100, 55), bitOf(55));
    },
    onAck: function* (_pe, intid) {
      yield str(DEV + 4 * (intid - 32), 0);
    },
  });
  t.deepEqual(acks, [[55], [], [], []]);
  const ack = g.m.trace.of('gic-ack').find((r) => r.intid === 55)!;
  const enabled = g.m.trace.of('mmio').find((r) => r.write && r.addr === bitReg(0x0100, 55))!;
  t.true(enabled.t > 100_000 && ack.t > enabled.t, 'taken only after the enable');
});
