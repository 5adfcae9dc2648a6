/**
 * Register blocks of one layout share their offset index: a thousand emulated redistributors
 * (one per vCPU) cost no more typed-array memory than one, and each still dispatches to its own
 * handlers; blocks of different layouts, built in any order, dispatch by their own layout.
 */
import test from 'ava';
import { RegisterBlock, W32, type RegisterRegion } from '../../core/regions.js';

const attrs = { requester: 'pe', id: 0 } as const;

/** A redistributor-like layout (RD_base registers, then SGI_base ones at 64 KB) whose registers read `tag * 100 + n`. */
function redistributor(tag: number, written: number[]): RegisterRegion[] {
  const rs: RegisterRegion[] = [];
  for (let n = 0; n < 8; n++) {
    rs.push({ name: `R${n}`, offset: n < 4 ? n * 8 : 0x10000 + (n - 4) * 0x80, length: 4, widths: W32, read: () => tag * 100 + n, write: (_o, _s, v) => void (written[tag] = Number(v)) });
  }
  return rs;
}

test('a thousand blocks of one layout share one offset index and keep their own handlers', (t) => {
  const written: number[] = [];
  const first = new RegisterBlock('b0', 0x20000, redistributor(0, written));
  const before = process.memoryUsage().arrayBuffers;
  const blocks = [first, ...Array.from({ length: 999 }, (_, k) => new RegisterBlock(`b${k + 1}`, 0x20000, redistributor(k + 1, written)))];
  const grown = process.memoryUsage().arrayBuffers - before;
  // One index of a 128 KB block is 64 KB: a thousand would be 64 MB.
  t.true(grown < 1 << 20, `${grown} bytes of ArrayBuffers for 999 more blocks`);
  for (const k of [0, 1, 500, 999]) {
    const b = blocks[k]!;
    t.is(b.read(0x8, 4, attrs), k * 100 + 1);
    t.is(b.read(0x10080, 4, attrs), k * 100 + 5);
    t.is(b.read(0xc, 4, attrs), 0); // reserved: RAZ
    b.write(0x10000, 4, 7000 + k, attrs);
    t.is(written[k], 7000 + k);
  }
  t.is(blocks[3]!.reservedAccesses, 0);
  t.is(blocks[999]!.reservedAccesses, 1);
});

test('blocks of many different layouts each dispatch by their own', (t) => {
  // More layouts than the index memo keeps, built interleaved with one fixed layout.
  const fixed = (k: number): RegisterBlock => new RegisterBlock(`f${k}`, 0x100, [{ name: 'A', offset: 0x40, length: 8, widths: W32, read: (off) => 0xa000 + off }]);
  const all: [RegisterBlock, number][] = [];
  for (let k = 0; k < 200; k++) {
    const off = 4 * (k + 1);
    all.push([new RegisterBlock(`v${k}`, 0x1000, [{ name: 'X', offset: off, length: 4, widths: W32, read: () => k }]), off]);
    all.push([fixed(k), -1]);
  }
  for (const [b, off] of all) {
    if (off < 0) {
      t.is(b.read(0x44, 4, attrs), 0xa004);
      t.is(b.read(0x48, 4, attrs), 0);
    } else {
      t.is(b.read(off, 4, attrs), Number(b.name.slice(1)));
      t.is(b.read(off + 4, 4, attrs), 0);
      t.is(b.region(off - 4)?.name, undefined);
    }
  }
});
