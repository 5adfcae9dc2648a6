/**
 * The VLPI_base frame's register table and codecs (IHI 0069, the GICR_VPROPBASER and
 * GICR_VPENDBASER descriptions): GICR_VPROPBASER and
 * GICR_VPENDBASER (GICv4.0 layouts) round-trip and match known values; the frame's table is
 * sorted, non-overlapping, RAZ/WI elsewhere, and bad accesses never throw. Also the sparse-memory
 * scan the VPT parse relies on (`PhysicalMemory.nextNonZero32`).
 */
import test from 'ava';
import fc from 'fast-check';
import { checkRegions } from '../../core/regions.js';
import { PhysicalMemory } from '../../core/memory.js';
import { GICR_VPENDBASER, GICR_VPROPBASER } from '../../gic/vlpi-registers.js';
import { VLPI_FRAME_SIZE } from '../../gic/vlpi-frame.js';
import { vlpiBase, vlpiRig } from './vlpi-rig.js';

for (const layout of [GICR_VPROPBASER, GICR_VPENDBASER] as const) {
  test(`${layout.name}: encode/decode round-trips (fast-check)`, (t) => {
    const arb = fc.record(Object.fromEntries(layout.fields.map((f) => [f.name, fc.maxSafeNat().map((x) => x % 2 ** f.width)])));
    t.notThrows(() =>
      fc.assert(
        fc.property(arb, (vals) => {
          const v = (layout as typeof GICR_VPENDBASER).encode(vals as never);
          const back = layout.decode(v);
          for (const f of layout.fields) if (back[f.name as never] !== vals[f.name]) return false;
          return (layout as typeof GICR_VPENDBASER).encode(back as never) === v;
        }),
        { numRuns: 300, seed: 17 },
      ),
    );
  });
}

test('GICR_VPROPBASER / GICR_VPENDBASER known values (IHI 0069, v4.0 layouts)', (t) => {
  t.is(GICR_VPROPBASER.encode({ IDbits: 15, PA: 0x49000, Shareability: 1, InnerCache: 7, OuterCache: 1 }), (1n << 56n) | 0x49000000n | 0x400n | 0x380n | 0xfn);
  t.is(GICR_VPENDBASER.encode({ Valid: 1 }), 1n << 63n);
  t.is(GICR_VPENDBASER.encode({ IDAI: 1 }), 1n << 62n);
  t.is(GICR_VPENDBASER.encode({ PendingLast: 1 }), 1n << 61n);
  t.is(GICR_VPENDBASER.encode({ Dirty: 1 }), 1n << 60n);
  t.is(GICR_VPENDBASER.encode({ PA: 0x4a00 }), 0x4a000000n);
  t.is(GICR_VPENDBASER.encode({ OuterCache: 7, Shareability: 3, InnerCache: 7 }), (7n << 56n) | (3n << 10n) | (7n << 7n));
  // Bits [6:0] and [15:12] are RES0: dropped by a decode/encode.
  t.is(GICR_VPENDBASER.encode(GICR_VPENDBASER.decode(0x4a00f07fn | (1n << 63n))), 0x4a000000n | (1n << 63n));
});

test('the VLPI_base register table: GICR_VPROPBASER at 0x70 and GICR_VPENDBASER at 0x78, 64-bit with 32-bit halves, sorted and non-overlapping', (t) => {
  const r = vlpiRig({ cores: 2 });
  for (const f of r.gic.physical.vlpiFrames) {
    const b = f.block;
    t.is(b.size, VLPI_FRAME_SIZE);
    t.notThrows(() => checkRegions(b.name, b.size, b.regions));
    t.deepEqual(b.regions.map((x) => [x.name, x.offset, x.length, x.widths, x.regSize]), [
      ['GICR_VPROPBASER', 0x70, 8, 4 | 8, 8],
      ['GICR_VPENDBASER', 0x78, 8, 4 | 8, 8],
    ]);
    for (let i = 1; i < b.regions.length; i++) t.true(b.regions[i]!.offset >= b.regions[i - 1]!.offset + b.regions[i - 1]!.length);
  }
  // On the bus: the third 64 KB frame of each redistributor.
  t.is(r.m.bus.find(vlpiBase(r, 1))!.name, 'gicr1.vlpi');
});

test('the rest of the frame is RAZ/WI; byte, halfword and unaligned accesses to the registers are RAZ/WI and reported, never thrown', (t) => {
  const r = vlpiRig();
  const { m } = r;
  const base = vlpiBase(r, 0);
  const attrs = { requester: 'pe' as const, id: 0 };
  t.notThrows(() => {
    m.bus.write(base + 0x80, 4, 0xffffffff, attrs);
    m.bus.write(base + 0x78, 1, 0xff, attrs);
    m.bus.write(base + 0x7c, 2, 0xffff, attrs);
    m.bus.write(base + 0xfff8, 8, 0xffffffffffffffffn, attrs);
  });
  t.is(m.bus.read(base + 0x80, 4, attrs), 0);
  t.is(m.bus.read(base + 0x78, 8, attrs), 0n);
  t.is(m.bus.read(base + 0x78, 1, attrs), 0);
  t.is(m.trace.of('vpe-residency').length, 0);
  t.true(m.trace.of('gic-ignored').some((x) => x.block === 'GICR0.VLPI_base'));
});

test('PhysicalMemory.nextNonZero32 finds non-zero words in address order and skips pages never written', (t) => {
  const mem = new PhysicalMemory();
  const base = 0x4a00_0000;
  mem.write8(base + 0x401, 0x10); // word at +0x400
  mem.write32(base + 0x1ffc, 0x80000000); // last word of the second page
  mem.write8(base + 0x5000, 0); // a page that exists but holds zeros
  mem.write32(base + 0x7000, 1);
  const found: number[] = [];
  for (let a = mem.nextNonZero32(base, base + 0x8000); a >= 0; a = mem.nextNonZero32(a + 4, base + 0x8000)) found.push(a - base);
  t.deepEqual(found, [0x400, 0x1ffc, 0x7000]);
  // Bounds: `end` is exclusive; unaligned bounds are rounded inwards; nothing allocated by scanning.
  t.is(mem.nextNonZero32(base + 0x401, base + 0x1ffc), -1);
  t.is(mem.nextNonZero32(base + 0x3fe, base + 0x403), -1);
  t.is(mem.nextNonZero32(base + 0x3fe, base + 0x404), base + 0x400);
  const pages = mem.pagesAllocated;
  t.is(mem.nextNonZero32(0, 2 ** 40), base + 0x400);
  t.is(mem.nextNonZero32(base + 0x7004, base + 0x100000), -1);
  t.is(mem.pagesAllocated, pages);
});

test('nextNonZero32 agrees with a word-by-word read over random sparse contents (fast-check)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.record({ off: fc.nat(0x9fff), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 40 }), fc.nat(0x9fff), fc.nat(0x9fff), (writes, x, y) => {
        const mem = new PhysicalMemory();
        const base = 0x1000_0000;
        for (const w of writes) mem.write8(base + w.off, w.v);
        const lo = base + Math.min(x, y);
        const hi = base + Math.max(x, y);
        const want: number[] = [];
        for (let a = Math.ceil(lo / 4) * 4; a + 4 <= Math.floor(hi / 4) * 4 + 0; a += 4) if (mem.read32(a) !== 0) want.push(a);
        const got: number[] = [];
        for (let a = mem.nextNonZero32(lo, hi); a >= 0; a = mem.nextNonZero32(a + 4, hi)) got.push(a);
        return JSON.stringify(got) === JSON.stringify(want);
      }),
      { numRuns: 300, seed: 5 },
    ),
  );
});
