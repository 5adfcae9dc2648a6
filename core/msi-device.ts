/**
 * A device that signals message-signalled interrupts: it writes EventIDs to a doorbell
 * address (an ITS's GITS_TRANSLATER) through the bus, with bus attributes
 * `{requester: 'device', id: deviceId}` carrying its DeviceID as interconnect sideband, as PCIe
 * requester IDs do. It knows only an address: it does not know what answers there.
 *
 * Traffic follows a seeded pattern drawn from a generator forked from the machine's
 * (`m.rng.fork()` at construction, so one machine seed gives one trace):
 * - periodic: one write every `period` cycles, plus a uniform jitter in [0, jitter);
 * - poisson: exponentially distributed gaps of mean `mean` cycles;
 * - bursts: bursts of `length` writes `spacing` cycles apart; burst starts are separated by
 *   exponential gaps of mean `interval` cycles (Poisson-arriving bursts).
 * EventIDs go round-robin over the configured list, or are drawn uniformly from it.
 *
 * It stops after `count` writes or at time `until`, whichever comes first. One SimEvent is
 * re-armed for every write; the simulated time and EventID of every write are recorded in
 * growable typed arrays (no allocation per MSI), so delivery latency can be computed end to
 * end against the time the interrupt became pending or was acknowledged.
 */
import type { AccessAttrs } from './bus.js';
import { BusStatus } from './bus.js';
import { SimEvent } from './events.js';
import type { Machine } from './machine.js';
import type { Random } from './random.js';

export type MsiPattern =
  | { readonly kind: 'periodic'; readonly period: number; readonly jitter?: number }
  | { readonly kind: 'poisson'; readonly mean: number }
  | { readonly kind: 'bursts'; readonly length: number; readonly spacing: number; readonly interval: number };

export interface MsiDeviceConfig {
  readonly name?: string;
  /** The DeviceID the bus attributes carry. */
  readonly deviceId: number;
  /** Physical address the MSIs are written to (GITS_TRANSLATER). */
  readonly doorbell: number;
  /** EventIDs to send (at least one). */
  readonly events: readonly number[];
  /** 'round-robin' (default) or 'random' (uniform over `events`). */
  readonly order?: 'round-robin' | 'random';
  readonly pattern: MsiPattern;
  /** Time of the first write's gap origin (default: when `start()` is called). */
  readonly start?: number;
  /** Stop after this many writes (default unlimited). */
  readonly count?: number;
  /** Stop before this time (default unlimited). */
  readonly until?: number;
  /** Write size in bytes: 4 (default) or 2 (GITS_TRANSLATER accepts both). */
  readonly size?: 2 | 4;
}

export class MsiDevice {
  readonly name: string;
  readonly attrs: AccessAttrs;
  private readonly rng: Random;
  private readonly ev: SimEvent;
  private times = new Float64Array(256);
  private eventIds = new Uint32Array(256);
  private n = 0;
  private next = 0;
  private inBurst = 0;
  private running = false;
  /** Writes that did not decode on the bus (nothing at the doorbell address). */
  busErrors = 0;

  constructor(
    private readonly m: Machine,
    readonly cfg: MsiDeviceConfig,
  ) {
    if (cfg.events.length === 0) throw new Error('MsiDevice: at least one EventID is needed');
    const p = cfg.pattern;
    const positive = (x: number, what: string): void => {
      if (!(x > 0) || !Number.isFinite(x)) throw new Error(`MsiDevice ${what}: expected a positive number of cycles, got ${x}`);
    };
    if (p.kind === 'periodic') positive(p.period, 'period');
    else if (p.kind === 'poisson') positive(p.mean, 'mean');
    else {
      positive(p.spacing, 'spacing');
      positive(p.interval, 'interval');
      if (!Number.isInteger(p.length) || p.length < 1) throw new Error(`MsiDevice length: expected a positive integer, got ${p.length}`);
    }
    this.name = cfg.name ?? `msi-dev${cfg.deviceId}`;
    this.attrs = { requester: 'device', id: cfg.deviceId };
    this.rng = m.rng.fork();
    this.ev = new SimEvent(this.name, 30, () => this.fire());
  }

  /** Number of MSIs written so far. */
  get sent(): number {
    return this.n;
  }

  /** Simulated time of write `i`. */
  timeOf(i: number): number {
    return this.times[i] ?? NaN;
  }

  /** EventID of write `i`. */
  eventOf(i: number): number {
    return this.eventIds[i] ?? -1;
  }

  /** Times of all writes so far (a view: copy it to keep it). */
  get writeTimes(): Float64Array {
    return this.times.subarray(0, this.n);
  }

  /** EventIDs of all writes so far (a view). */
  get writtenEvents(): Uint32Array {
    return this.eventIds.subarray(0, this.n);
  }

  /** Arms the first write. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const origin = Math.max(this.cfg.start ?? this.m.now, this.m.now);
    this.arm(origin + this.gap());
  }

  stop(): void {
    this.running = false;
    this.m.events.cancel(this.ev);
  }

  private arm(t: number): void {
    const c = this.cfg;
    if ((c.count !== undefined && this.n >= c.count) || (c.until !== undefined && t >= c.until)) {
      this.running = false;
      return;
    }
    this.m.events.schedule(this.ev, t);
  }

  /** Cycles to the next write (whole cycles, at least 1). */
  private gap(): number {
    const p = this.cfg.pattern;
    let g: number;
    if (p.kind === 'periodic') g = p.period + (p.jitter !== undefined && p.jitter > 0 ? this.rng.float() * p.jitter : 0);
    else if (p.kind === 'poisson') g = this.rng.exponential(p.mean);
    else if (this.inBurst > 0) g = p.spacing;
    else g = this.rng.exponential(p.interval);
    if (p.kind === 'bursts') this.inBurst = this.inBurst + 1 >= p.length ? 0 : this.inBurst + 1;
    return Math.max(1, Math.round(g));
  }

  private pickEvent(): number {
    const list = this.cfg.events;
    if (this.cfg.order === 'random') return list[this.rng.int(list.length)]!;
    const e = list[this.next]!;
    this.next = this.next + 1 === list.length ? 0 : this.next + 1;
    return e;
  }

  private fire(): void {
    const m = this.m;
    const eventId = this.pickEvent();
    if (this.n === this.times.length) this.grow();
    this.times[this.n] = m.now;
    this.eventIds[this.n] = eventId;
    this.n++;
    m.bus.write(this.cfg.doorbell, this.cfg.size ?? 4, eventId, this.attrs);
    if (m.bus.status !== BusStatus.Ok) this.busErrors++;
    if (this.running) this.arm(m.now + this.gap());
  }

  private grow(): void {
    const t = new Float64Array(this.times.length * 2);
    t.set(this.times);
    this.times = t;
    const e = new Uint32Array(this.eventIds.length * 2);
    e.set(this.eventIds);
    this.eventIds = e;
  }
}
