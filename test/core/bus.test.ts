import test from 'ava';
import { Bus, BusStatus, type AccessAttrs } from '../../core/bus.js';
import { PhysicalMemory } from '../../core/memory.js';
import { RegisterBlock, W32, W64, W8, type RegisterRegion } from '../../core/regions.js';

const pe: AccessAttrs = { requester: 'pe', id: 0 };

test('memory is sparse and little-endian, 8-byte reads are bigint', (t) => {
  const m = new PhysicalMemory();
  m.write32(0x1000_0000_0000, 0x11223344);
  t.is(m.read8(0x1000_0000_0000), 0x44);
  t.is(m.read16(0x1000_0000_0002), 0x1122);
  m.write64(0xfffc, 0x0102030405060708n); // straddles a page boundary
  t.is(m.read64(0xfffc), 0x0102030405060708n);
  t.is(m.read32(0x2000_0000), 0);
  t.is(m.pagesAllocated, 3);
});

test('an access no region decodes reports a decode error; MMIO sees the requester', (t) => {
  const bus = new Bus();
  bus.addRam('ram', 0x4000_0000, 0x1000);
  const seen: AccessAttrs[] = [];
  bus.addMmio('dev', 0x900_0000, 0x1000, { read: () => 7, write: (_o, _s, _v, a) => void seen.push({ ...a }) });
  bus.write(0x4000_0010, 4, 5, pe);
  t.is(bus.status, BusStatus.Ok);
  t.is(bus.read(0x4000_0010, 4, pe), 5);
  bus.read(0x5000_0000, 4, pe);
  t.is(bus.status, BusStatus.DecodeError);
  bus.read(0x4000_0ffe, 4, pe); // runs off the end of the region
  t.is(bus.status, BusStatus.DecodeError);
  bus.write(0x900_0040, 4, 1, { requester: 'device', id: 42 });
  t.deepEqual(seen, [{ requester: 'device', id: 42 }]);
  t.throws(() => bus.addRam('overlap', 0x4000_0800, 0x1000));
});

test('register blocks: reserved space is RAZ/WI, widths are enforced, 64-bit registers fold 32-bit halves', (t) => {
  let r64 = 0x1111_2222_3333_4444n;
  const bytes = new Uint8Array(8);
  const regions: RegisterRegion[] = [
    { name: 'CTRL', offset: 0x0, length: 4, widths: W32, read: () => 0xabcd, write: () => {} },
    { name: 'PRIO', offset: 0x10, length: 8, widths: W8 | W32, regSize: 1, read: (o, s) => (s === 1 ? bytes[o]! : bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0, write: (o, _s, v) => void (bytes[o] = Number(v)) },
    { name: 'BASE', offset: 0x20, length: 8, widths: W32 | W64, regSize: 8, read: () => r64, write: (_o, _s, v) => void (r64 = v as bigint) },
  ];
  const bad: string[] = [];
  const blk = new RegisterBlock('TEST', 0x100, regions);
  blk.onBadAccess = (b) => bad.push(`${b.offset}:${b.size}:${b.reason}`);
  t.is(blk.read(0x0, 4, pe), 0xabcd);
  t.is(blk.read(0x8, 4, pe), 0); // reserved
  blk.write(0x8, 4, 1, pe);
  t.is(blk.reservedAccesses, 2);
  t.is(blk.read(0x0, 1, pe), 0); // CTRL is 32-bit only
  t.deepEqual(bad, ['0:1:width']);
  blk.write(0x12, 1, 0x5a, pe);
  t.is(blk.read(0x10, 4, pe), 0x5a0000);
  t.is(blk.read(0x24, 4, pe), 0x11112222);
  t.is(blk.read(0x20, 4, pe), 0x33334444);
  blk.write(0x24, 4, 0x99998888, pe);
  t.is(r64, 0x9999_8888_3333_4444n);
  t.is(blk.read(0x20, 8, pe), 0x9999_8888_3333_4444n);
});

test('register tables must be sorted and must not overlap', (t) => {
  const r = (name: string, offset: number, length: number): RegisterRegion => ({ name, offset, length, widths: W32 });
  t.throws(() => new RegisterBlock('X', 0x100, [r('b', 0x10, 4), r('a', 0x0, 4)]), { message: /sorted/ });
  t.throws(() => new RegisterBlock('X', 0x100, [r('a', 0x0, 8), r('b', 0x4, 4)]), { message: /overlap/ });
  t.throws(() => new RegisterBlock('X', 0x10, [r('a', 0x0, 0x20)]), { message: /beyond/ });
});
