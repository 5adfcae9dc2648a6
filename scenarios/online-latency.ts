/**
 * Delivery latency computed as the run goes, without keeping the MSI and delivery records:
 * the same matching as latency.ts `matchLatencies`, fed one MSI or delivery at a time, with
 * memory bounded by the MSIs outstanding (written and not yet consumed by a delivery) rather
 * than by the number sent.
 *
 * The rules (latency.ts): per key (VM and vINTID), a delivery whose handler started at time h
 * consumes every unconsumed MSI of its key written at or before h - pipeline; the oldest gives
 * the latency, the others merged with it while the LPI was pending and are coalesced; a
 * delivery with no such MSI is unmatched; MSIs never consumed are undelivered.
 *
 * Why fed online gives the offline answer: per key, MSIs arrive in write order and deliveries
 * in handler-start order, and a delivery is fed when the guest records it, after its handler
 * started (h), so every MSI written at or before h - pipeline has already been fed and none
 * written later has been consumed. The queue of a key then holds exactly the MSIs the offline
 * matcher has not consumed at that delivery. Inputs that break those assumptions (an MSI or a
 * delivery older than the last of its key, or an MSI at or before the horizon of a delivery
 * already fed) are counted in `outOfOrder`: 0 means the figures are those of `matchLatencies`.
 *
 * Latencies go into a log-bucketed histogram (histogram.ts): count, max and mean are exact,
 * percentiles within `RELATIVE_ERROR` (1/256) of the exact nearest-rank value.
 */
import { LogHistogram } from './histogram.js';

/** The unconsumed MSI times of one key: a FIFO in a ring that doubles when full. */
class KeyQueue {
  times = new Float64Array(4);
  head = 0;
  len = 0;
  lastMsi = -Infinity;
  lastDelivery = -Infinity;
  lastHorizon = -Infinity;

  push(t: number): void {
    if (this.len === this.times.length) {
      const cap = this.times.length;
      const a = new Float64Array(cap * 2);
      for (let i = 0; i < this.len; i++) a[i] = this.times[(this.head + i) % cap]!;
      this.times = a;
      this.head = 0;
    }
    this.times[(this.head + this.len) % this.times.length] = t;
    this.len++;
  }

  peek(): number {
    return this.times[this.head]!;
  }

  shift(): void {
    this.head = this.head + 1 === this.times.length ? 0 : this.head + 1;
    this.len--;
  }
}

export interface OnlineLatencyCounts {
  /** MSIs fed. */
  readonly msis: number;
  /** Deliveries fed (matched or not). */
  readonly deliveries: number;
  /** Deliveries that matched an MSI (the latencies recorded). */
  readonly matched: number;
  readonly coalesced: number;
  /** MSIs not (yet) consumed by a delivery. */
  readonly undelivered: number;
  /** Deliveries with no MSI before them. */
  readonly unmatched: number;
  /** Inputs out of the order the matching relies on (0: the figures equal the offline matcher's). */
  readonly outOfOrder: number;
}

export class OnlineLatency {
  /** Latency of every matched delivery, in the unit of the times fed (cycles). */
  readonly latency = new LogHistogram();
  private readonly keys = new Map<number, KeyQueue>();
  private nMsis = 0;
  private nDeliveries = 0;
  private nCoalesced = 0;
  private nUnmatched = 0;
  private nOutOfOrder = 0;
  private pending = 0;

  /** `pipeline`: cycles from an MSI write to its acknowledge and handler start at the earliest (latency.ts). */
  constructor(readonly pipeline = 0) {}

  private queue(key: number): KeyQueue {
    let q = this.keys.get(key);
    if (q === undefined) this.keys.set(key, (q = new KeyQueue()));
    return q;
  }

  /** An MSI of `key` written at `time`. */
  msi(key: number, time: number): void {
    const q = this.queue(key);
    if (time < q.lastMsi || time <= q.lastHorizon) this.nOutOfOrder++;
    q.lastMsi = time;
    q.push(time);
    this.nMsis++;
    this.pending++;
  }

  /** A delivery of `key` whose handler started at `time`. */
  delivery(key: number, time: number): void {
    const q = this.queue(key);
    if (time < q.lastDelivery) this.nOutOfOrder++;
    q.lastDelivery = time;
    this.nDeliveries++;
    const horizon = time - this.pipeline;
    q.lastHorizon = horizon;
    if (q.len === 0 || q.peek() > horizon) {
      this.nUnmatched++;
      return;
    }
    this.latency.record(time - q.peek());
    q.shift();
    this.pending--;
    while (q.len > 0 && q.peek() <= horizon) {
      q.shift();
      this.pending--;
      this.nCoalesced++;
    }
  }

  counts(): OnlineLatencyCounts {
    return {
      msis: this.nMsis,
      deliveries: this.nDeliveries,
      matched: this.latency.count,
      coalesced: this.nCoalesced,
      undelivered: this.pending,
      unmatched: this.nUnmatched,
      outOfOrder: this.nOutOfOrder,
    };
  }

  /** MSIs written and not yet consumed (what the memory is bounded by). */
  get outstanding(): number {
    return this.pending;
  }

  /** Keys seen. */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Queue slots allocated over all keys (8 bytes each): at most about twice the most MSIs ever outstanding per key. */
  get queueSlots(): number {
    let s = 0;
    for (const q of this.keys.values()) s += q.times.length;
    return s;
  }
}
