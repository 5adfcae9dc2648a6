/**
 * Messages inside the GIC that take a constant latency: SGIs travelling from the sender's CPU
 * interface to their targets' redistributors (`sgiLatency`), LPI configuration fetches
 * completing after a cache miss (`lpiConfigFetch`) and MSI translations in the ITS
 * (`itsTranslate`). Because the latency is constant and the
 * machine's time never goes backwards, messages complete in the order they were sent, so a ring
 * buffer of (time, a, b) with one re-armed `SimEvent` replaces an event per message: nothing is
 * allocated per message except when the ring doubles.
 */
import { SimEvent } from '../core/events.js';
import type { Machine } from '../core/machine.js';

/** Priority of the GIC's internal events among events at the same time (the timers use 10). */
export const GIC_EVENT_PRIORITY = 20;

export interface LatencyFifoOptions {
  /** Initial ring size, rounded up to a power of two (it doubles when full). */
  readonly capacity?: number;
  /** Event priority among events at the same time (default 20, after the timers' 10). */
  readonly priority?: number;
  /** Deliver through the event even when the latency is 0 (default: at once, inside `push`). */
  readonly deferAtZero?: boolean;
}

export class LatencyFifo {
  private times: Float64Array;
  // Unsigned 32-bit payloads: INTIDs, PE and redistributor indices, DeviceIDs and EventIDs.
  private as: Uint32Array;
  private bs: Uint32Array;
  private head = 0;
  private count = 0;
  private readonly event: SimEvent;

  constructor(
    private readonly m: Machine,
    name: string,
    /** Cycles from `push` to `deliver`. */
    readonly latency: number,
    private readonly deliver: (a: number, b: number) => void,
    o: LatencyFifoOptions = {},
  ) {
    // A power of two, so that ring indices wrap with a mask instead of an integer division.
    let capacity = 1;
    while (capacity < (o.capacity ?? 16)) capacity *= 2;
    this.times = new Float64Array(capacity);
    this.as = new Uint32Array(capacity);
    this.bs = new Uint32Array(capacity);
    this.immediate = latency <= 0 && o.deferAtZero !== true;
    this.event = new SimEvent(name, o.priority ?? GIC_EVENT_PRIORITY, () => this.fire());
  }

  private readonly immediate: boolean;

  /** Messages sent and not yet delivered. */
  get inFlight(): number {
    return this.count;
  }

  /** Sends (a, b); delivered at `m.now + latency` (at once when the latency is 0, unless `deferAtZero`). */
  push(a: number, b: number): void {
    if (this.immediate) {
      this.deliver(a, b);
      return;
    }
    if (this.count === this.times.length) this.grow();
    const wrap = this.times.length - 1;
    let t = this.m.now + this.latency;
    if (this.count > 0) {
      // Keep FIFO order even if a caller's clock lagged: never deliver before an earlier message.
      const lastT = this.times[(this.head + this.count - 1) & wrap]!;
      if (t < lastT) t = lastT;
    }
    const i = (this.head + this.count) & wrap;
    this.times[i] = t;
    this.as[i] = a;
    this.bs[i] = b;
    this.count++;
    if (!this.event.queued) this.m.events.schedule(this.event, t);
  }

  private fire(): void {
    const now = this.m.now;
    while (this.count > 0) {
      const wrap = this.times.length - 1;
      const i = this.head;
      if (this.times[i]! > now) break;
      const a = this.as[i]!;
      const b = this.bs[i]!;
      this.head = (i + 1) & wrap;
      this.count--;
      this.deliver(a, b);
    }
    if (this.count > 0) this.m.events.schedule(this.event, this.times[this.head]!);
  }

  private grow(): void {
    const cap = this.times.length;
    const times = new Float64Array(cap * 2);
    const as = new Uint32Array(cap * 2);
    const bs = new Uint32Array(cap * 2);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      times[k] = this.times[i]!;
      as[k] = this.as[i]!;
      bs[k] = this.bs[i]!;
    }
    this.times = times;
    this.as = as;
    this.bs = bs;
    this.head = 0;
  }
}
