import test from 'ava';
import fc from 'fast-check';
import { PAGE_SIZE, PhysicalMemory } from '../../core/memory.js';

// `nextNonZero32` keeps a per-page hint of which words may be non-zero (widened by writes,
// narrowed by scans); whatever the writes and scans before it, its answer must be the one a
// plain word-by-word read of memory gives.

const BASE = 0x4000_0000;
/** Three pages, so that scans cross page boundaries and skip pages never written. */
const SPAN = 3 * PAGE_SIZE;

/** The first 4-byte-aligned word in [addr, end) that reads non-zero, by reading every word. */
function bruteNextNonZero(m: PhysicalMemory, addr: number, end: number): number {
  for (let a = Math.ceil(addr / 4) * 4; a < Math.floor(end / 4) * 4; a += 4) {
    if (m.read32(a) !== 0) return a;
  }
  return -1;
}

type Step =
  | { op: 'w8' | 'w16' | 'w32'; off: number; v: number }
  | { op: 'scan'; from: number; len: number };

const offArb = fc.oneof(fc.integer({ min: 0, max: SPAN - 1 }), fc.constantFrom(PAGE_SIZE - 1, PAGE_SIZE - 2, PAGE_SIZE - 3, PAGE_SIZE, 2 * PAGE_SIZE - 2));
const valueArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(1, 0x100, 0x8000_0000));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('w8' as const, 'w16' as const, 'w32' as const), off: offArb, v: valueArb }),
  fc.record({ op: fc.constant('scan' as const), from: fc.integer({ min: 0, max: SPAN }), len: fc.integer({ min: 0, max: SPAN }) }),
);

test('nextNonZero32 finds what a word-by-word read finds, whatever writes (zero or not) and scans came before', (t) => {
  // fc.assert throws on the first counterexample; the count says how many scans were compared.
  let compared = 0;
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 80 }), (steps) => {
      const m = new PhysicalMemory();
      for (const s of steps) {
        if (s.op === 'scan') {
          const a = BASE + s.from;
          const e = Math.min(BASE + SPAN, a + s.len);
          if (m.nextNonZero32(a, e) !== bruteNextNonZero(m, a, e)) return false;
          compared++;
          continue;
        }
        const a = BASE + s.off;
        if (s.op === 'w8') m.write8(a, s.v);
        else if (s.op === 'w16') m.write16(a, s.v);
        else m.write32(a, s.v);
      }
      // A final full scan, word after word, visits every non-zero word in order.
      let a = BASE;
      for (;;) {
        const got = m.nextNonZero32(a, BASE + SPAN);
        if (got !== bruteNextNonZero(m, a, BASE + SPAN)) return false;
        compared++;
        if (got < 0) return true;
        a = got + 4;
      }
    }),
    { numRuns: 300, seed: 15 },
  );
  t.true(compared >= 300, `only ${compared} scans compared`);
});

test('a bit set again after a scan found its page empty is found (a VPT bit set, cleared, set)', (t) => {
  const m = new PhysicalMemory();
  const vpt = BASE;
  m.write8(vpt + 1024 + 5, 0x10);
  t.is(m.nextNonZero32(vpt + 1024, vpt + 8192), vpt + 1024 + 4);
  m.write8(vpt + 1024 + 5, 0);
  t.is(m.nextNonZero32(vpt + 1024, vpt + 8192), -1);
  t.is(m.nextNonZero32(vpt + 1024, vpt + 8192), -1);
  m.write8(vpt + 4000, 0x01);
  t.is(m.nextNonZero32(vpt + 1024, vpt + 8192), vpt + 4000);
  m.write16(vpt + PAGE_SIZE - 1, 0x0100); // the non-zero byte lands in the next page
  m.write8(vpt + 4000, 0);
  t.is(m.nextNonZero32(vpt + 1024, vpt + 8192), vpt + PAGE_SIZE);
});
