/**
 * The machine's one source of randomness: a seeded sfc32 generator (Chris Doty-Humphrey's
 * small fast counting PRNG, 128 bits of state, 32-bit output). Everything random in a run
 * (device traffic, scheduling jitter, ids) draws from it, so one seed gives one trace.
 * `save`/`restore` snapshot the state so a run can be forked or replayed.
 */
export interface RandomState {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

export class Random {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    // Spread the seed over the state as the sfc32 reference does, then discard 12 outputs.
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next 32-bit unsigned value. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Exponentially distributed with the given mean (Poisson inter-arrival times). */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  save(): RandomState {
    return { a: this.a, b: this.b, c: this.c, d: this.d };
  }

  restore(s: RandomState): void {
    this.a = s.a;
    this.b = s.b;
    this.c = s.c;
    this.d = s.d;
  }

  /** A child generator seeded from this one (for per-device streams). */
  fork(): Random {
    return new Random(this.u32() * 4096 + (this.u32() >>> 20));
  }
}
