/**
 * The bookkeeping of bounded per-event records (an MSI device's writes, a guest's deliveries):
 * which records are kept and where each lives, for owners that hold the records themselves in
 * typed columns. Records are numbered from 0 in the order they are made; the owner keeps all of
 * them ('all'), none ('none'), or the last N (`{last: N}`: a ring that grows to N slots and then
 * overwrites its oldest record). Counting costs nothing per record beyond an increment, and the
 * owner grows its columns only while the ring is filling, so nothing is allocated per record.
 */

/** Which records to keep: all of them, none, or the last `last` (a ring). */
export type RecordKeep = 'all' | 'none' | { readonly last: number };

/** The most records `keep` holds (Infinity: all); throws on a malformed value, naming `who`. */
export function recordLimit(keep: RecordKeep, who: string): number {
  if (keep === 'all') return Infinity;
  if (keep === 'none') return 0;
  if (typeof keep === 'object' && keep !== null && Number.isInteger(keep.last) && keep.last >= 1) return keep.last;
  throw new Error(`${who} record: expected 'all', 'none' or {last: N} with N a positive integer, got ${JSON.stringify(keep)}`);
}

export class RecordRing {
  /** Most records kept (Infinity: all). */
  readonly limit: number;
  /** Records made so far, kept or not. */
  n = 0;

  constructor(
    keep: RecordKeep,
    /** Names the owner in errors, e.g. "MsiDevice dev1". */
    private readonly who: string,
    /** Names one record in errors, e.g. "write" or "delivery". */
    private readonly noun: string,
    /** ... and several ("writes", "deliveries"). */
    private readonly plural = `${noun}s`,
  ) {
    this.limit = recordLimit(keep, who);
  }

  /** The `keep` this ring was made with. */
  get keep(): RecordKeep {
    return this.limit === Infinity ? 'all' : this.limit === 0 ? 'none' : { last: this.limit };
  }

  /** Records held: `n` with 'all', at most N with `{last: N}`, 0 with 'none'. */
  get kept(): number {
    return Math.min(this.n, this.limit);
  }

  /** Index of the oldest record held (`n` when none is). */
  get firstKept(): number {
    return this.n - this.kept;
  }

  /** Column length to start with (at most the ring's size). */
  initialCapacity(preferred: number): number {
    return Math.min(preferred, this.limit);
  }

  /** Column length after `current` is full (doubling, at most the ring's size). */
  grownCapacity(current: number): number {
    return Math.min(current * 2, this.limit);
  }

  /**
   * Counts a new record and returns the slot it goes in, or -1 when no record is kept. A slot
   * equal to the owner's column length means the columns are full and must grow first.
   */
  claim(): number {
    const i = this.n++;
    if (this.limit === 0) return -1;
    return i < this.limit ? i : i % this.limit;
  }

  /** Slot of record `i` (0 <= i < n); throws a RangeError when it was not kept. */
  slotOf(i: number): number {
    const limit = this.limit;
    if (i < this.n - limit) {
      const held = limit === 0 ? 'keeps no records' : `keeps the last ${limit} (${this.plural} ${this.n - limit} to ${this.n - 1})`;
      throw new RangeError(`${this.who}: the record of ${this.noun} ${i} was not kept (it ${held})`);
    }
    return limit === Infinity ? i : i % limit;
  }

  /** Throws unless every record is kept: `what` needs them all; `instead` says what to use. */
  requireAll(what: string, instead: string): void {
    if (this.limit !== Infinity) throw new Error(`${this.who}: ${what} needs every record, but it keeps ${this.limit === 0 ? 'none' : `only the last ${this.limit}`} (use ${instead} from firstKept)`);
  }
}
