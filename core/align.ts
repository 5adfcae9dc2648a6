/**
 * Remainders by powers of two without a floating-point remainder, and the alignment and
 * page-crossing tests built on them. Addresses are doubles to V8 (RAM starts at 2^30, beyond its
 * small integers; an offset computed from one stays a double), and `%` of a double is a call to a
 * C function (fmod) on every access. These compute the same results with a division by a power
 * of two, a floor and a multiply, all exact.
 */

/** `v % p` for `v` >= 0 (or NaN, or +Infinity) and `p` a power of two. */
export function modPow2(v: number, p: number): number {
  return v - Math.floor(v / p) * p;
}

/**
 * `addr % size !== 0` for a power-of-two `size`, for every number (negative, fractional, NaN):
 * for a negative `addr`, `modPow2` is `p` plus the remainder, zero exactly when it is.
 */
export function misaligned(addr: number, size: number): boolean {
  return modPow2(addr, size) !== 0;
}

/** Whether `size` (<= 4096) bytes at `va` run past the end of its 4 KB page: `(va % 4096) + size > 4096` for every number. */
export function crossesPage(va: number, size: number): boolean {
  // A negative `va % 4096` is at most 0, plus size: never past 4096; NaN compares false.
  return va >= 0 && modPow2(va, 4096) + size > 4096;
}
