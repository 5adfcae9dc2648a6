/**
 * Building 64-bit values (ITS table entries, command doublewords) as pairs of 32-bit words,
 * without bigints and without JavaScript bitwise operators on values wider than 32 bits.
 */

/**
 * Adds field value `x` (truncated to `width` bits) at bit `lsb` of the 64-bit value held in
 * `w[k]` (bits [31:0]) and `w[k + 1]` (bits [63:32]). The field's bits must be zero: fields of
 * one layout never overlap, so building a value field by field from zero is exact.
 */
export function addField(w: Uint32Array, k: number, lsb: number, width: number, x: number): void {
  let v = x > 0 ? Math.floor(x) % 2 ** width : 0;
  if (lsb < 32) {
    const n = Math.min(width, 32 - lsb);
    w[k] = w[k]! + (v % 2 ** n) * 2 ** lsb;
    v = Math.floor(v / 2 ** n);
    width -= n;
    lsb = 32;
  }
  if (width > 0) w[k + 1] = w[k + 1]! + v * 2 ** (lsb - 32);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts pairs of words to 64-bit bigints: `words[2i]` is bits [31:0] and `words[2i + 1]`
 * bits [63:32] of value i. One bigint allocation per value on little-endian hosts.
 */
export class WordPairs {
  readonly words: Uint32Array;
  private readonly wide: BigUint64Array;

  constructor(values: number) {
    this.words = new Uint32Array(values * 2);
    this.wide = new BigUint64Array(this.words.buffer);
  }

  clear(): void {
    this.words.fill(0);
  }

  value(i: number): bigint {
    if (LITTLE_ENDIAN) return this.wide[i]!;
    return (BigInt(this.words[2 * i + 1]!) << 32n) | BigInt(this.words[2 * i]!);
  }
}
