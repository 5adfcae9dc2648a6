/**
 * Number formatting shared by every printed output (the comparison table, `--explain`, the CLI's
 * notes, the benchmark report): one place decides how a count, a fixed-point figure and a
 * plural read, and that a figure that is not a number (nothing delivered, nothing measured)
 * prints as '-'.
 */

/** `x` rounded to an integer with thousands separators (1,234), or '-' when not finite. */
export function count(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

/** `x` with `digits` decimals, or '-' when not finite. */
export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** `n word`, with an 's' unless `n` is 1. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
