/**
 * A log-linear histogram of non-negative numbers (the HDR-histogram layout), for percentiles of
 * a sample too large to keep: memory is fixed (one array of counts, allocated once), recording
 * is O(1) and allocates nothing.
 *
 * How it works: each power of two [2^e, 2^(e+1)) is split into 128 equal sub-buckets, so a
 * bucket is at most 1/128 of its lower bound wide; exponents run from -16 to 63, which covers
 * every latency in cycles with room to spare. Values below 2^-16 share one bucket (reported as
 * the smallest value seen); values of 2^64 and above share the last one (reported as the
 * largest). Count, sum, minimum and maximum are exact.
 *
 * Error bound: `percentile(p)` finds the bucket holding the sample of nearest rank (the same
 * rank as latency.ts `percentile`: ceil(p/100 * n), 1-based) and reports the bucket's
 * midpoint, clamped to [min, max]. For a true value v in [2^-16, 2^64) the reported value is
 * within v/256 of it (half a bucket of relative width 1/128): `RELATIVE_ERROR`.
 */

/** Sub-buckets per power of two: 2^7. */
export const SUB_BUCKET_BITS = 7;
const SUB = 1 << SUB_BUCKET_BITS;
/** Smallest and one past the largest exponent with buckets of their own. */
export const MIN_EXP = -16;
export const MAX_EXP = 64;
/** Width of a bucket relative to its lower bound, at most. */
export const RELATIVE_WIDTH = 1 / SUB;
/** Largest error of a reported percentile relative to the exact one (values in [2^MIN_EXP, 2^MAX_EXP)). */
export const RELATIVE_ERROR = 1 / (2 * SUB);

const BUCKETS = 1 + (MAX_EXP - MIN_EXP) * SUB;
const POW2 = Float64Array.from({ length: MAX_EXP - MIN_EXP + 1 }, (_, i) => 2 ** (MIN_EXP + i));
const LOW = POW2[0]!;
const HIGH = POW2[MAX_EXP - MIN_EXP]!;

/** Bucket index of `v` (0: below 2^MIN_EXP; the last bucket also takes everything from 2^MAX_EXP). */
export function bucketOf(v: number): number {
  if (v < LOW) return 0;
  if (v >= HIGH) return BUCKETS - 1;
  let e = Math.floor(Math.log2(v));
  // log2 may be off by one next to a power of two: settle it exactly.
  if (v < POW2[e - MIN_EXP]!) e--;
  else if (v >= POW2[e - MIN_EXP + 1]!) e++;
  const base = POW2[e - MIN_EXP]!;
  // v / base is in [1, 2) and exact (a power-of-two divisor), so is the product.
  const sub = Math.floor((v / base - 1) * SUB);
  return 1 + (e - MIN_EXP) * SUB + sub;
}

/** Lower bound and width of bucket `b`. */
export function bucketRange(b: number): { readonly low: number; readonly width: number } {
  if (b <= 0) return { low: 0, width: LOW };
  const e = Math.floor((b - 1) / SUB);
  const sub = (b - 1) % SUB;
  const base = POW2[e]!;
  const width = base / SUB;
  return { low: base + sub * width, width };
}

export class LogHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;

  /** Adds one value (finite, >= 0). */
  record(v: number): void {
    if (!(v >= 0) || v === Infinity) throw new RangeError(`LogHistogram: expected a finite value >= 0, got ${v}`);
    this.counts[bucketOf(v)]!++;
    this.n++;
    this.total += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  get count(): number {
    return this.n;
  }

  /** Exact sum of the values. */
  get sum(): number {
    return this.total;
  }

  /** Exact smallest value (NaN when empty). */
  get min(): number {
    return this.n === 0 ? NaN : this.lo;
  }

  /** Exact largest value (NaN when empty). */
  get max(): number {
    return this.n === 0 ? NaN : this.hi;
  }

  /** Exact mean (NaN when empty). */
  get mean(): number {
    return this.n === 0 ? NaN : this.total / this.n;
  }

  /**
   * The value of nearest rank for percentile `p` (0-100), within `RELATIVE_ERROR` of the exact
   * sample value of that rank; NaN when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    const c = this.counts;
    let seen = 0;
    let b = 0;
    for (; b < BUCKETS; b++) {
      seen += c[b]!;
      if (seen > rank) break;
    }
    const { low, width } = bucketRange(b);
    const mid = b === 0 ? 0 : low + width / 2;
    return Math.min(this.hi, Math.max(this.lo, mid));
  }

  /** Adds every value of `o`. */
  merge(o: LogHistogram): void {
    for (let b = 0; b < BUCKETS; b++) this.counts[b]! += o.counts[b]!;
    this.n += o.n;
    this.total += o.total;
    this.lo = Math.min(this.lo, o.lo);
    this.hi = Math.max(this.hi, o.hi);
  }
}
