import test from 'ava';
import fc from 'fast-check';
import { Bus, type AccessAttrs } from '../../core/bus.js';
import { ExclusiveMonitors } from '../../core/exclusive-monitor.js';

// Bus.modify8 (the GIC's pending-table and VPT bit updates) against what it replaces: a read8
// and a write8 (the write always, or only when the byte changes). Same returned byte, same
// memory, same pages allocated, same exclusive-monitor marks cleared and wake-ups sent; the
// accesses go to two RAM regions and an MMIO region in any order, which also exercises the
// bus's region cache (the last RAM and the last MMIO region).

const gic: AccessAttrs = { requester: 'gic', id: 0 };
const RAM0 = 0x4000_0000;
const RAM1 = 0x8000_0000;
const DEV = 0x900_0000;

function machine(): { bus: Bus; mon: ExclusiveMonitors; woken: number[]; dev: number[] } {
  const bus = new Bus();
  const woken: number[] = [];
  const mon = new ExclusiveMonitors(2, (pe) => woken.push(pe));
  bus.watch(mon);
  bus.addRam('ram0', RAM0, 0x4000);
  bus.addRam('ram1', RAM1, 0x4000);
  const dev = new Array<number>(16).fill(0);
  bus.addMmio('dev', DEV, 16, { read: (o) => dev[o]!, write: (o, _s, v) => void (dev[o] = Number(v)) });
  return { bus, mon, woken, dev };
}

const access = fc.record({
  base: fc.constantFrom(RAM0, RAM1, DEV),
  off: fc.nat(15),
  page: fc.nat(3),
  mask: fc.integer({ min: 1, max: 255 }),
  set: fc.boolean(),
  always: fc.boolean(),
  markPe: fc.option(fc.nat(1), { nil: undefined }),
});

test('modify8 reads, writes and reports to the exclusive monitors as a read8 and a write8 do', (t) => {
  // fc.assert throws on the first counterexample; the count says how many accesses were compared.
  let compared = 0;
  fc.assert(
    fc.property(fc.array(access, { maxLength: 40 }), (seq) => {
      const a = machine();
      const b = machine();
      for (const s of seq) {
        const addr = s.base === DEV ? DEV + s.off : s.base + s.page * 0x1000 + s.off;
        if (s.markPe !== undefined) {
          a.mon.mark(s.markPe, addr);
          b.mon.mark(s.markPe, addr);
        }
        const got = a.bus.modify8(addr, s.mask, s.set, s.always, gic);
        const old = b.bus.read8(addr, gic);
        const nb = s.set ? old | s.mask : old & ~s.mask;
        if (s.always || nb !== old) b.bus.write8(addr, nb, gic);
        if (got !== old) return false;
        if (a.bus.read8(addr, gic) !== b.bus.read8(addr, gic)) return false;
        compared++;
      }
      return (
        a.bus.memory.pagesAllocated === b.bus.memory.pagesAllocated &&
        a.mon.marks === b.mon.marks &&
        a.woken.join() === b.woken.join() &&
        a.dev.join() === b.dev.join()
      );
    }),
    { seed: 15 },
  );
  t.true(compared > 100, `only ${compared} accesses compared`);
});

test('clearing a bit of a byte never written allocates no page unless the write is forced', (t) => {
  const { bus } = machine();
  t.is(bus.modify8(RAM0 + 0x10, 0x4, false, false, gic), 0);
  t.is(bus.memory.pagesAllocated, 0);
  t.is(bus.modify8(RAM0 + 0x10, 0x4, false, true, gic), 0);
  t.is(bus.memory.pagesAllocated, 1);
  t.is(bus.modify8(RAM1 + 0x2003, 0x81, true, false, gic), 0);
  t.is(bus.read8(RAM1 + 0x2003, gic), 0x81);
  t.is(bus.modify8(RAM1 + 0x2003, 0x01, false, false, gic), 0x81);
  t.is(bus.read8(RAM1 + 0x2003, gic), 0x80);
});

test('a write through modify8 clears another PE\'s exclusive mark and wakes it', (t) => {
  const { bus, mon, woken } = machine();
  mon.mark(1, RAM0 + 0x40);
  bus.modify8(RAM0 + 0x41, 0x1, false, false, gic); // unchanged: no write, mark stays
  t.is(mon.marks, 1);
  bus.modify8(RAM0 + 0x41, 0x1, true, false, gic);
  t.is(mon.marks, 0);
  t.deepEqual(woken, [1]);
});
