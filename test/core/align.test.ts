import test from 'ava';
import fc from 'fast-check';
import { crossesPage, misaligned } from '../../core/align.js';

// The alignment and page-crossing tests the PE and register blocks run on every access give what
// the `%` they replace gives, for any number an address could be (48-bit and beyond, negative,
// fractional, not finite).

const anyAddr = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 48 }),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.double(),
  fc.constantFrom(0, -0, 4095, 4096, 4097, 2 ** 30, 2 ** 32 - 1, 2 ** 48 - 4, NaN, Infinity, -Infinity),
);
const size = fc.constantFrom(1, 2, 4, 8);

test('misaligned(a, size) is a % size !== 0 and crossesPage(a, size) is (a % 4096) + size > 4096', (t) => {
  fc.assert(
    fc.property(anyAddr, size, (a, s) => misaligned(a, s) === (a % s !== 0) && crossesPage(a, s) === (a % 4096) + s > 4096),
    { numRuns: 2000 },
  );
  t.true(misaligned(2 ** 40 + 2, 4));
  t.false(misaligned(2 ** 40 + 8, 8));
  t.true(crossesPage(2 ** 40 + 4094, 4));
  t.false(crossesPage(2 ** 40 + 4092, 4));
});
