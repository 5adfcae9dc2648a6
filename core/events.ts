/**
 * The deterministic event queue: a binary heap ordered by (time, priority, sequence).
 * Events are long-lived objects that are re-armed rather than allocated per occurrence
 * (a timer, a device's next MSI, an ITS command completing), so the hot path allocates nothing.
 * Equal times are broken by the event's fixed priority, then by the order of arming.
 */
import { doubleField } from './double-field.js';

export class SimEvent {
  /** Position in the heap, -1 when not queued. */
  index = -1;
  time = 0;
  seq = 0;

  constructor(
    readonly name: string,
    /** Lower fires first among events at the same time. */
    readonly priority: number,
    readonly fire: () => void,
  ) {
    doubleField(this, 'time');
    // The arming order, one count per arming for the life of the machine: it passes 2^31.
    doubleField(this, 'seq');
  }

  get queued(): boolean {
    return this.index >= 0;
  }
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** Called whenever an event is armed, so the machine can shorten a running slice. */
  onArm: (time: number) => void = () => {};

  constructor() {
    // One count per arming for the life of the machine: it passes 2^31 (double-field.ts).
    doubleField(this as unknown as { seq: number }, 'seq');
  }

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest event, or Infinity. */
  nextTime(): number {
    const h = this.heap[0];
    return h === undefined ? Infinity : h.time;
  }

  /** Arms (or re-arms) `ev` at `time`. */
  schedule(ev: SimEvent, time: number): void {
    if (ev.index >= 0) this.remove(ev);
    ev.time = time;
    ev.seq = this.seq++;
    ev.index = this.heap.length;
    this.heap.push(ev);
    this.up(ev.index);
    this.onArm(time);
  }

  cancel(ev: SimEvent): void {
    if (ev.index >= 0) this.remove(ev);
  }

  /** Removes and fires the earliest event. Returns false when the queue is empty. */
  fireNext(): boolean {
    const top = this.heap[0];
    if (top === undefined) return false;
    this.remove(top);
    top.fire();
    return true;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    if (a.time !== b.time) return a.time < b.time;
    if (a.priority !== b.priority) return a.priority < b.priority;
    return a.seq < b.seq;
  }

  private remove(ev: SimEvent): void {
    const i = ev.index;
    const last = this.heap.pop()!;
    ev.index = -1;
    if (last !== ev) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const x = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const px = h[p]!;
      if (!this.less(x, px)) break;
      h[i] = px;
      px.index = i;
      i = p;
    }
    h[i] = x;
    x.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const x = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(h[r]!, h[l]!)) c = r;
      const cx = h[c]!;
      if (!this.less(cx, x)) break;
      h[i] = cx;
      cx.index = i;
      i = c;
    }
    h[i] = x;
    x.index = i;
  }
}
