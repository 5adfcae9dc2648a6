/**
 * Alignment and page-crossing tests of addresses without a floating-point remainder. Addresses
 * are doubles to V8 (RAM starts at 2^30, beyond its small integers; an offset computed from one
 * stays a double), and `%` of a double is a call to a C function (fmod) on every access. These
 * compute the same results with a division by a power of two, a floor and a multiply, all exact.
 */

/** `addr % size !== 0` for a power-of-two `size`, for every number (negative, fractional, NaN). */
export function misaligned(addr: number, size: number): boolean {
  return addr - Math.floor(addr / size) * size !== 0;
}

/** Whether `size` (<= 4096) bytes at `va` run past the end of its 4 KB page: `(va % 4096) + size > 4096` for every number. */
export function crossesPage(va: number, size: number): boolean {
  // A negative `va % 4096` is at most 0, plus size: never past 4096; NaN compares false.
  return va >= 0 && va - Math.floor(va / 4096) * 4096 + size > 4096;
}
