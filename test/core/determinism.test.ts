/**
 * One seed, one trace: a two-PE workload driven by seeded random device events gives the same
 * trace (hash) on every run, and a different one for another seed.
 */
import test from 'ava';
import { SimEvent } from '../../core/events.js';
import { Machine } from '../../core/machine.js';
import { daifclr, DAIF_I, eret, ldr, mrs, str, work, wfi, smc, DAIF_F, msr } from '../../core/ops.js';
import { LINE_IRQ } from '../../core/pe.js';
import { PSCI } from '../../core/psci.js';
import { HCR_EL2, MPIDR_EL1, VBAR_EL2 } from '../../core/sysregs.js';
import { HCR_IMO, HCR_RW } from '../../core/hcr.js';

function runOnce(seed: number): { hash: string; records: number; handled: number } {
  const m = new Machine({ cores: 2, seed, trace: true });
  let handled = 0;
  m.bus.addMmio('irq-src', 0x0900_0000, 0x1000, {
    read: (off) => ((m.pes[off / 4]!.lines & LINE_IRQ) !== 0 ? 1 : 0),
    write: (off) => m.pes[off / 4]!.setLine(LINE_IRQ, false),
  });
  const fire = (i: number): SimEvent =>
    new SimEvent(`dev${i}`, 0, () => {
      m.pes[i]!.setLine(LINE_IRQ, true);
      m.events.schedule(events[i]!, m.now + 500 + m.rng.int(20_000));
    });
  const events = [fire(0), fire(1)];
  m.code.installVectors(0x4000_0000, {
    curSpx: {
      irq: function* () {
        const mpidr: number = yield mrs(MPIDR_EL1, 9);
        yield str(0x0900_0000 + (mpidr & 0xf) * 4, 0, 4, 9);
        handled++;
        yield work(100 + m.rng.int(300));
        yield eret();
      },
    },
  });
  m.code.install(0x4001_0000, function* () {
    yield msr(VBAR_EL2, 0x4000_0000);
    yield msr(HCR_EL2, HCR_RW | HCR_IMO); // physical IRQs to EL2, where this code runs
    const mpidr: number = yield mrs(MPIDR_EL1);
    if ((mpidr & 0xf) === 0) yield smc(0, PSCI.CPU_ON, 1, 0x4001_0000, 0);
    yield daifclr(DAIF_I | DAIF_F);
    for (let i = 0; i < 200; i++) {
      yield work(50 + m.rng.int(2000));
      yield ldr(0x4100_0000 + (mpidr & 0xf) * 8, 4, 1);
      if (i % 10 === 0) yield wfi();
    }
    yield smc(0, PSCI.CPU_OFF);
  });
  events.forEach((e, i) => m.events.schedule(e, 1000 + i * 7));
  m.boot(0x4001_0000);
  m.run(5e6);
  return { hash: m.trace.hash(), records: m.trace.records.length, handled };
}

test('the same seed gives the same trace; another seed gives another', (t) => {
  const a = runOnce(11);
  const b = runOnce(11);
  const c = runOnce(12);
  t.true(a.records > 200, `${a.records} records`);
  t.true(a.handled > 20);
  t.is(a.hash, b.hash);
  t.is(a.records, b.records);
  t.not(a.hash, c.hash);
});
