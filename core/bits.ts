/**
 * Architected bit layouts, declared once by name.
 *
 * Values that cross the architecture boundary (MRS/MSR, 8-byte memory and MMIO accesses, table
 * entries) are `Word`s: a `number` when the layout fits in 53 bits (exact in a double), a
 * `bigint` when a register has fields above bit 52 (ICH_LR<n>_EL2, VTTBR_EL2, ICC_SGI1R_EL1,
 * GITS_BASER<n>, ...). JavaScript bitwise operators work on 32 bits only, so every field
 * access goes through a (lo, hi) pair of 32-bit halves and never applies `&`/`|`/`<<` to a
 * wider number.
 *
 * Field positions are written `[hi, lo]`, inclusive, exactly as the Arm register descriptions
 * (Arm ARM DDI 0487, IHI 0069) write them, so a layout can be checked against the spec by eye.
 */
import { modPow2 } from './align.js';

/** A value crossing the architecture boundary; see the module comment. */
export type Word = number | bigint;

export const TWO32 = 4294967296;
/** 2^n for n = 0..64, so field arithmetic needs no Math.pow on hot paths. */
const POW2 = Float64Array.from({ length: 65 }, (_, i) => 2 ** i);
const BIG32 = 32n;

const MAX64N = 0xffff_ffff_ffff_ffffn;

/**
 * Storing a bigint into a BigUint64Array wraps it modulo 2^64, and the same buffer viewed as two
 * 32-bit words gives its halves: no bigint is allocated, where masks and shifts allocate one per
 * operation (hot paths move ICH_LR<n>_EL2 values on every injected interrupt).
 */
const SPLIT64 = new BigUint64Array(1);
const SPLIT32 = new Uint32Array(SPLIT64.buffer);
SPLIT64[0] = 1n;
const LO = SPLIT32[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** Converts a word to a 64-bit unsigned bigint. Negative numbers wrap as two's complement. */
export function toBig(v: Word): bigint {
  if (typeof v === 'bigint') return v >= 0n && v <= MAX64N ? v : BigInt.asUintN(64, v);
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

/** Converts a word to a number holding its low 53 bits (the bits a narrow register keeps). */
export function toNum(v: Word): number {
  if (typeof v === 'number') return v;
  SPLIT64[0] = v;
  return (SPLIT32[HI]! & 0x1fffff) * TWO32 + SPLIT32[LO]!;
}

/** Low 32 bits of a word, as an unsigned number. */
export function lo32(v: Word): number {
  if (typeof v === 'number') return v >>> 0;
  SPLIT64[0] = v;
  return SPLIT32[LO]!;
}

/** Bits [63:32] of a word, as an unsigned number. */
export function hi32(v: Word): number {
  if (typeof v === 'number') return Math.floor(v / TWO32) >>> 0;
  SPLIT64[0] = v;
  return SPLIT32[HI]!;
}

/** Joins two 32-bit halves into a bigint. */
export function joinBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << BIG32) | BigInt(lo >>> 0);
}

/** Joins two 32-bit halves into a number; `hi` must be below 2^21. */
export function joinNum(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/** Extracts `width` bits at `lsb` from a 32-bit value. */
export function field32(x: number, lsb: number, width: number): number {
  const s = x >>> lsb;
  return width >= 32 ? s : (s & (POW2[width]! - 1)) >>> 0;
}

/** Extracts bits [lsb + width - 1 : lsb] from the 64-bit value (hi:lo). Widths up to 53. */
export function fieldOfPair(lo: number, hi: number, lsb: number, width: number): number {
  if (lsb >= 32) return field32(hi, lsb - 32, width);
  if (lsb + width <= 32) return field32(lo, lsb, width);
  const lowCount = 32 - lsb;
  return (lo >>> lsb) + field32(hi, 0, width - lowCount) * POW2[lowCount]!;
}

/** Extracts bits [hi:lo] (inclusive) from a word. */
export function bits(v: Word, hi: number, lo: number): number {
  const width = hi - lo + 1;
  if (typeof v === 'number' && hi < 32 && v >= 0 && v < TWO32) return field32(v, lo, width);
  return fieldOfPair(lo32(v), hi32(v), lo, width);
}

/** One named field: inclusive bit positions as the spec writes them. */
export type FieldPos = readonly [hi: number, lo: number];
export type FieldMap = Readonly<Record<string, FieldPos>>;
export type Decoded<F extends FieldMap> = { [K in keyof F]: number };

interface FieldInfo {
  readonly name: string;
  readonly lsb: number;
  readonly width: number;
}

/** A declared field's position, resolved once for hot paths (see `Layout.field`). */
export interface FieldRef {
  /** Bit position of the field's LSB in the full register. */
  readonly lsb: number;
  readonly width: number;
  /**
   * Mask of the field in place within its 32-bit half (at bit `lsb % 32`, `>>> 0`): valid for
   * fields that lie inside bits [31:0] or [63:32].
   */
  readonly mask: number;
}

/** The field `f` (resolved once with `Layout.field`) of a word, allocating nothing. */
export function fieldAt(v: Word, f: Readonly<{ lsb: number; width: number }>): number {
  return fieldOfPair(lo32(v), hi32(v), f.lsb, f.width);
}

/**
 * The codec of one architected layout. `decode`/`encode` convert between the raw value and a
 * record of named fields; `get`/`set` touch one field. Reserved bits are dropped by `encode`
 * (they are RES0 in every layout declared here).
 */
export class Layout<F extends FieldMap, W extends Word = number> {
  readonly fields: readonly FieldInfo[];
  private readonly byName: Map<string, FieldInfo>;

  constructor(
    readonly name: string,
    spec: F,
    /** 64-bit values whose fields reach above bit 52 travel as bigint. */
    readonly wide: boolean,
  ) {
    const list: FieldInfo[] = [];
    for (const [fname, pos] of Object.entries(spec)) {
      const [hi, lo] = pos;
      if (!(hi >= lo && lo >= 0 && hi < 64)) throw new Error(`${name}.${fname}: bad position [${hi}:${lo}]`);
      if (hi - lo + 1 > 53) throw new Error(`${name}.${fname}: fields wider than 53 bits are not supported`);
      if (!wide && hi > 52) throw new Error(`${name}.${fname}: bit ${hi} needs a wide (bigint) layout`);
      list.push({ name: fname, lsb: lo, width: hi - lo + 1 });
    }
    list.sort((a, b) => a.lsb - b.lsb);
    for (let i = 1; i < list.length; i++) {
      const p = list[i - 1]!;
      const c = list[i]!;
      if (p.lsb + p.width > c.lsb) throw new Error(`${name}: fields ${p.name} and ${c.name} overlap`);
    }
    this.fields = list;
    this.byName = new Map(list.map((f) => [f.name, f]));
  }

  private info(field: keyof F & string): FieldInfo {
    const f = this.byName.get(field);
    if (!f) throw new Error(`${this.name} has no field ${field}`);
    return f;
  }

  /** Reads one field. */
  get(v: W, field: keyof F & string): number {
    return fieldAt(v, this.info(field));
  }

  /** Returns `v` with one field replaced (the value is truncated to the field's width). */
  set(v: W, field: keyof F & string, x: number): W {
    const f = this.info(field);
    let lo = lo32(v);
    let hi = hi32(v);
    [lo, hi] = insert(lo, hi, f.lsb, f.width, x);
    return this.join(lo, hi);
  }

  /** The layout's decoder, compiled at its first use (`compileDecoder`). */
  private decoder: ((lo: number, hi: number) => Record<string, number>) | null = null;

  decode(v: W): Decoded<F> {
    const d = this.decoder ?? (this.decoder = compileDecoder(this.fields));
    return d(lo32(v), hi32(v)) as Decoded<F>;
  }

  /**
   * Builds a value from named fields; fields left out are zero. Allocation-free: each field is
   * inserted through its precomputed masks (`insertInto`, the same arithmetic as `insert`).
   */
  encode(values: Partial<Decoded<F>>): W {
    const e = this.encoder ?? (this.encoder = compileEncoder(this.fields));
    const pair = PAIR;
    pair[0] = 0;
    pair[1] = 0;
    e(values as Record<string, number | undefined>, pair);
    return this.join(pair[0]!, pair[1]!);
  }

  /** The layout's encoder, compiled at its first use (`compileEncoder`). */
  private encoder: ((vals: Record<string, number | undefined>, pair: Float64Array) => void) | null = null;

  /**
   * The position of one field, resolved once (at module load: a misspelt name throws before any
   * software runs) so that hot paths extract it with `field32`/`fieldOfPair` or shift and mask a
   * 32-bit half, allocating nothing per access.
   */
  field(field: keyof F & string): FieldRef {
    const f = this.info(field);
    const mask = f.width >= 32 ? 0xffffffff : ((POW2[f.width]! - 1) * POW2[f.lsb % 32]!) >>> 0;
    return { lsb: f.lsb, width: f.width, mask };
  }

  /** The mask of one field, as a value of this layout's type. */
  mask(field: keyof F & string): W {
    const f = this.info(field);
    return this.set(this.join(0, 0), field, POW2[f.width]! - 1);
  }

  private join(lo: number, hi: number): W {
    return (this.wide ? joinBig(lo, hi) : joinNum(lo, hi)) as W;
  }
}

/**
 * The decoder of one layout: a function that returns an object literal with the layout's fields
 * as constant keys, in the order of `fields`, each extracted with `fieldOfPair`. It is generated
 * once per layout from the field names (string literals through JSON.stringify) and positions
 * (numbers) the Layout constructor validated. Building the record with one keyed store per field
 * instead cost about 3x as much per call (its hidden class grows by a transition per field at
 * every call, through a store that sees every layout's names): GICR_VPENDBASER, 110 ns against
 * 35 ns.
 */
function compileDecoder(fields: readonly FieldInfo[]): (lo: number, hi: number) => Record<string, number> {
  const props = fields.map((f) => `${JSON.stringify(f.name)}: fieldOfPair(lo, hi, ${f.lsb}, ${f.width})`).join(', ');
  const make = generated<(f: typeof fieldOfPair) => (lo: number, hi: number) => Record<string, number>>('fieldOfPair', `return (lo, hi) => ({ ${props} });`);
  if (make !== null) return make(fieldOfPair);
  return (lo, hi) => {
    const out: Record<string, number> = {};
    for (const f of fields) out[f.name] = fieldOfPair(lo, hi, f.lsb, f.width);
    return out;
  };
}

/**
 * A function generated from source text, or null where the host forbids it (Node's
 * --disallow-code-generation-from-strings): the codecs then take their generic loops, slower
 * and with the same results.
 */
function generated<T>(param: string, body: string): T | null {
  try {
    return new Function(param, body) as T;
  } catch (e) {
    if (e instanceof EvalError) return null;
    throw e;
  }
}

/**
 * The encoder of one layout, generated as `compileDecoder` is: for each field, in the order of
 * `fields`, a load of the named value (a constant key) and, unless it is missing or 0, `insertInto`
 * the pair; what the loop over the fields with a keyed load per name did, at about half the cost.
 */
function compileEncoder(fields: readonly FieldInfo[]): (vals: Record<string, number | undefined>, pair: Float64Array) => void {
  const steps = fields.map((f) => `x = vals[${JSON.stringify(f.name)}]; if (x !== undefined && x !== 0) insertInto(pair, ${f.lsb}, ${f.width}, x);`).join(' ');
  const make = generated<(f: typeof insertInto) => (vals: Record<string, number | undefined>, pair: Float64Array) => void>('insertInto', `return (vals, pair) => { let x; ${steps} };`);
  if (make !== null) return make(insertInto);
  return (vals, pair) => {
    for (const f of fields) {
      const x = vals[f.name];
      if (x !== undefined && x !== 0) insertInto(pair, f.lsb, f.width, x);
    }
  };
}

/** Scratch (lo, hi) pair of `encode`. */
const PAIR = new Float64Array(2);

/** `insert` on the pair held in `pair` (lo at 0, hi at 1), in place. */
export function insertInto(pair: Float64Array, lsb: number, width: number, x: number): void {
  const v = x < 0 ? 0 : modPow2(Math.floor(x), POW2[width]!);
  if (lsb >= 32) {
    const s = lsb - 32;
    const m = width >= 32 ? 0xffffffff : ((POW2[width]! - 1) * POW2[s]!) >>> 0;
    pair[1] = ((pair[1]! & ~m) | ((v * POW2[s]!) >>> 0)) >>> 0;
    pair[0] = pair[0]! >>> 0;
    return;
  }
  const lowCount = width < 32 - lsb ? width : 32 - lsb;
  const lowMask = ((POW2[lowCount]! - 1) * POW2[lsb]!) >>> 0;
  const lowVal = (modPow2(v, POW2[lowCount]!) * POW2[lsb]!) >>> 0;
  pair[0] = ((pair[0]! & ~lowMask) | lowVal) >>> 0;
  let hi = pair[1]!;
  if (lowCount < width) {
    const hiCount = width - lowCount;
    const hiMask = hiCount >= 32 ? 0xffffffff : POW2[hiCount]! - 1;
    const hiVal = Math.floor(v / POW2[lowCount]!) >>> 0;
    hi = ((hi & ~hiMask) | hiVal) >>> 0;
  }
  pair[1] = hi >>> 0;
}

/** Inserts `x` (truncated to `width` bits) at `lsb` of the pair (lo, hi). */
function insert(lo: number, hi: number, lsb: number, width: number, x: number): [number, number] {
  const v = x < 0 ? 0 : modPow2(Math.floor(x), POW2[width]!);
  if (lsb >= 32) {
    const s = lsb - 32;
    const m = width >= 32 ? 0xffffffff : ((POW2[width]! - 1) * POW2[s]!) >>> 0;
    hi = ((hi & ~m) | ((v * POW2[s]!) >>> 0)) >>> 0;
    return [lo >>> 0, hi];
  }
  const lowCount = Math.min(width, 32 - lsb);
  const lowMask = ((POW2[lowCount]! - 1) * POW2[lsb]!) >>> 0;
  const lowVal = (modPow2(v, POW2[lowCount]!) * POW2[lsb]!) >>> 0;
  lo = ((lo & ~lowMask) | lowVal) >>> 0;
  if (lowCount < width) {
    const hiCount = width - lowCount;
    const hiMask = hiCount >= 32 ? 0xffffffff : POW2[hiCount]! - 1;
    const hiVal = Math.floor(v / POW2[lowCount]!) >>> 0;
    hi = ((hi & ~hiMask) | hiVal) >>> 0;
  }
  return [lo, hi >>> 0];
}

/** Declares a layout whose values fit in 53 bits (travel as number). */
export function defineReg<F extends FieldMap>(name: string, spec: F): Layout<F, number> {
  return new Layout<F, number>(name, spec, false);
}

/** Declares a 64-bit layout with fields above bit 52 (travels as bigint). */
export function defineReg64<F extends FieldMap>(name: string, spec: F): Layout<F, bigint> {
  return new Layout<F, bigint>(name, spec, true);
}
