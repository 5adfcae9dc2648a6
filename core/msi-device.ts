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
 * re-armed for every write. With tracing on, each write is an 'msi-write' trace record (declared
 * here) carrying the bus's answer.
 *
 * `msi(eventId)` writes one MSI at once, outside any pattern, as a device model or a test
 * triggers it (a descriptor completed, a doorbell rung): the same write, bus attributes, record,
 * trace record and hook as the generated traffic, counted in `sent` (and against `count`). A
 * device configured without a pattern writes only when `msi()` is called; `start()` on it is an
 * error.
 *
 * Records: the number of writes (`sent`) and of bus errors are always counted. The simulated
 * time and EventID of each write are kept in typed arrays according to `record`: every write
 * ('all', the default: growable arrays, so delivery latency can be computed end to end
 * afterwards), none ('none'), or the last N (`{last: N}`: a ring that grows to N and then
 * overwrites its oldest entry). Asking for a write that was not kept throws; nothing is
 * allocated per MSI in any mode. `onWrite`, when set, is called with every write as it
 * happens, so a consumer can do its accounting online instead of from the records.
 */
import type { AccessAttrs } from './bus.js';
import { BusStatus } from './bus.js';
import { SimEvent } from './events.js';
import type { Machine } from './machine.js';
import type { Random } from './random.js';
import { RecordRing, type RecordKeep } from './record-ring.js';

export type { RecordKeep } from './record-ring.js';

export type MsiPattern =
  | { readonly kind: 'periodic'; readonly period: number; readonly jitter?: number }
  | { readonly kind: 'poisson'; readonly mean: number }
  | { readonly kind: 'bursts'; readonly length: number; readonly spacing: number; readonly interval: number };

/**
 * Called after each write with its index (0 for the first write), simulated time and EventID.
 * Runs on the device's hot path: it should not allocate.
 */
export type MsiWriteHook = (index: number, time: number, eventId: number) => void;

declare module './trace.js' {
  interface TraceKinds {
    /**
     * A device wrote an MSI: `eventId` to `doorbell` (GITS_TRANSLATER), `size` bytes, with its
     * DeviceID as bus attribute; `index` counts the device's writes from 0 (its record's index,
     * `timeOf(index)`); `status` is the bus's answer ('ok'; 'decode-error': nothing at that
     * address; 'slave-error'). A device is not a PE: `core` and `el` are -1.
     */
    'msi-write': { device: string; deviceId: number; index: number; eventId: number; doorbell: number; size: number; status: 'ok' | 'decode-error' | 'slave-error' };
  }
}

/** Trace names of the bus statuses, by BusStatus value. */
const STATUS_NAMES = ['ok', 'decode-error', 'slave-error'] as const;

export interface MsiDeviceConfig {
  readonly name?: string;
  /** The DeviceID the bus attributes carry. */
  readonly deviceId: number;
  /** Physical address the MSIs are written to (GITS_TRANSLATER). */
  readonly doorbell: number;
  /** EventIDs the pattern sends (at least one when there is a pattern; `msi()` takes its own). */
  readonly events?: readonly number[];
  /** 'round-robin' (default) or 'random' (uniform over `events`). */
  readonly order?: 'round-robin' | 'random';
  /** The generated traffic; none: the device writes only when `msi()` is called. */
  readonly pattern?: MsiPattern;
  /** Time of the first write's gap origin (default: when `start()` is called). */
  readonly start?: number;
  /** Stop after this many writes (default unlimited). */
  readonly count?: number;
  /** Stop before this time (default unlimited). */
  readonly until?: number;
  /** Write size in bytes: 4 (default) or 2 (GITS_TRANSLATER accepts both). */
  readonly size?: 2 | 4;
  /** Which write records to keep (default 'all'). */
  readonly record?: RecordKeep;
  /** Called with every write as it happens. */
  readonly onWrite?: MsiWriteHook;
}

/** An EventID a write can carry: GITS_TRANSLATER takes 32 bits of data (the records keep 32). */
function checkEventId(e: number): void {
  if (!Number.isInteger(e) || e < 0 || e > 0xffff_ffff) throw new Error(`MsiDevice: an EventID is an integer from 0 to 0xffffffff, got ${e}`);
}

export class MsiDevice {
  readonly name: string;
  readonly attrs: AccessAttrs;
  private readonly pattern: MsiPattern | null;
  private readonly events: readonly number[];
  private readonly rng: Random;
  private readonly ev: SimEvent;
  // The configuration fields each write reads, copied once: `cfg` is the caller's object, whose
  // shape differs between devices (optional fields present or not), so reading it per write is
  // a polymorphic property load.
  private readonly doorbell: number;
  private readonly size: number;
  private readonly count: number;
  private readonly randomOrder: boolean;
  private times = new Float64Array(0);
  private eventIds = new Uint32Array(0);
  private ring: RecordRing;
  private onWrite: MsiWriteHook | undefined;
  private next = 0;
  private inBurst = 0;
  private running = false;
  /** Stop before this time (the configuration's `until`, or the one `start` was given). */
  private until: number | undefined;
  /** Writes that did not decode on the bus (nothing at the doorbell address). */
  busErrors = 0;

  constructor(
    private readonly m: Machine,
    readonly cfg: MsiDeviceConfig,
  ) {
    const p = cfg.pattern;
    if (p !== undefined && (cfg.events ?? []).length === 0) throw new Error('MsiDevice: at least one EventID is needed for a traffic pattern');
    for (const e of cfg.events ?? []) checkEventId(e);
    const positive = (x: number, what: string): void => {
      if (!(x > 0) || !Number.isFinite(x)) throw new Error(`MsiDevice ${what}: expected a positive number of cycles, got ${x}`);
    };
    if (p === undefined) {
      // No traffic: writes come from msi() only.
    } else if (p.kind === 'periodic') positive(p.period, 'period');
    else if (p.kind === 'poisson') positive(p.mean, 'mean');
    else {
      positive(p.spacing, 'spacing');
      positive(p.interval, 'interval');
      if (!Number.isInteger(p.length) || p.length < 1) throw new Error(`MsiDevice length: expected a positive integer, got ${p.length}`);
    }
    this.pattern = p ?? null;
    this.events = cfg.events ?? [];
    this.name = cfg.name ?? `msi-dev${cfg.deviceId}`;
    this.until = cfg.until;
    this.attrs = { requester: 'device', id: cfg.deviceId };
    this.doorbell = cfg.doorbell;
    this.size = cfg.size ?? 4;
    this.count = cfg.count ?? Infinity;
    this.randomOrder = cfg.order === 'random';
    this.rng = m.rng.fork();
    this.ev = new SimEvent(this.name, 30, () => this.fire());
    this.ring = new RecordRing('all', `MsiDevice ${this.name}`, 'write');
    this.setRecording(cfg.record ?? 'all', cfg.onWrite);
  }

  /**
   * Sets which records to keep and the write hook, for code that is handed a device already
   * built. Only before the first write (records already made would otherwise be half-kept).
   */
  setRecording(keep: RecordKeep, onWrite?: MsiWriteHook): void {
    if (this.ring.n > 0) throw new Error(`MsiDevice ${this.name}: setRecording after ${this.ring.n} writes (call it before start())`);
    this.ring = new RecordRing(keep, `MsiDevice ${this.name}`, 'write');
    const cap = this.ring.initialCapacity(256);
    this.times = new Float64Array(cap);
    this.eventIds = new Uint32Array(cap);
    this.onWrite = onWrite;
  }

  /** Which records this device keeps. */
  get recording(): RecordKeep {
    return this.ring.keep;
  }

  /** Number of MSIs written so far. */
  get sent(): number {
    return this.ring.n;
  }

  /** Number of write records held: `sent` with 'all', at most N with `{last: N}`, 0 with 'none'. */
  get kept(): number {
    return this.ring.kept;
  }

  /** Record slots allocated (what the records cost in memory: 12 bytes each). */
  get recordSlots(): number {
    return this.times.length;
  }

  /** Index of the oldest write whose record is held (`sent` when none is). */
  get firstKept(): number {
    return this.ring.firstKept;
  }

  /** Simulated time of write `i`; NaN if there is no write `i` yet; throws if its record was not kept. */
  timeOf(i: number): number {
    if (!(i >= 0 && i < this.ring.n)) return NaN;
    return this.times[this.ring.slotOf(i)]!;
  }

  /** EventID of write `i`; -1 if there is no write `i` yet; throws if its record was not kept. */
  eventOf(i: number): number {
    if (!(i >= 0 && i < this.ring.n)) return -1;
    return this.eventIds[this.ring.slotOf(i)]!;
  }

  /** Times of all writes so far (a view: copy it to keep it). Only when every record is kept. */
  get writeTimes(): Float64Array {
    this.ring.requireAll('writeTimes', 'timeOf/eventOf');
    return this.times.subarray(0, this.ring.n);
  }

  /** EventIDs of all writes so far (a view). Only when every record is kept. */
  get writtenEvents(): Uint32Array {
    this.ring.requireAll('writtenEvents', 'timeOf/eventOf');
    return this.eventIds.subarray(0, this.ring.n);
  }

  /**
   * Arms the first write. `until` (an absolute time), when given, replaces the configured end:
   * for a device started when its guest is ready rather than at a time known in advance.
   */
  start(until?: number): void {
    if (this.pattern === null) throw new Error(`MsiDevice ${this.name}: start() needs a traffic pattern and this device has none (write MSIs one at a time with msi(eventId))`);
    if (this.running) return;
    this.running = true;
    if (until !== undefined) this.until = until;
    const origin = Math.max(this.cfg.start ?? this.m.now, this.m.now);
    this.arm(origin + this.gap());
  }

  /** Whether the device will write again (started, and neither its count nor its end time reached). */
  get active(): boolean {
    return this.running;
  }

  stop(): void {
    this.running = false;
    this.m.events.cancel(this.ev);
  }

  private arm(t: number): void {
    if (this.ring.n >= this.count || (this.until !== undefined && t >= this.until)) {
      this.running = false;
      return;
    }
    this.m.events.schedule(this.ev, t);
  }

  /**
   * Writes one MSI carrying `eventId` now (at the machine's current time), whether or not a
   * pattern runs: the same write as the generated ones (bus attributes, record, 'msi-write'
   * trace record, write hook), counted in `sent`. It does not move the pattern's next write.
   */
  msi(eventId: number): void {
    checkEventId(eventId);
    this.write(eventId);
  }

  /** Cycles to the next write (whole cycles, at least 1). Only with a pattern. */
  private gap(): number {
    const p = this.pattern!;
    let g: number;
    if (p.kind === 'periodic') g = p.period + (p.jitter !== undefined && p.jitter > 0 ? this.rng.float() * p.jitter : 0);
    else if (p.kind === 'poisson') g = this.rng.exponential(p.mean);
    else if (this.inBurst > 0) g = p.spacing;
    else g = this.rng.exponential(p.interval);
    if (p.kind === 'bursts') this.inBurst = this.inBurst + 1 >= p.length ? 0 : this.inBurst + 1;
    return Math.max(1, Math.round(g));
  }

  private pickEvent(): number {
    const list = this.events;
    if (this.randomOrder) return list[this.rng.int(list.length)]!;
    const e = list[this.next]!;
    this.next = this.next + 1 === list.length ? 0 : this.next + 1;
    return e;
  }

  /** The pattern's next write, then the one after it armed. */
  private fire(): void {
    this.write(this.pickEvent());
    if (this.running) this.arm(this.m.now + this.gap());
  }

  /** One MSI write now: record, bus write, trace record, hook. */
  private write(eventId: number): void {
    const m = this.m;
    const i = this.ring.n;
    const k = this.ring.claim();
    if (k >= 0) {
      if (k === this.times.length) this.grow();
      this.times[k] = m.now;
      this.eventIds[k] = eventId;
    }
    const size = this.size;
    m.bus.write(this.doorbell, size, eventId, this.attrs);
    const status = m.bus.status;
    if (status !== BusStatus.Ok) this.busErrors++;
    if (m.trace.on)
      m.trace.emit({ t: m.now, core: -1, el: -1, kind: 'msi-write', device: this.name, deviceId: this.cfg.deviceId, index: i, eventId, doorbell: this.doorbell, size, status: STATUS_NAMES[status] });
    if (this.onWrite !== undefined) this.onWrite(i, m.now, eventId);
  }

  /** Doubles the record arrays (at most to the ring's size). */
  private grow(): void {
    const t = new Float64Array(this.ring.grownCapacity(this.times.length));
    t.set(this.times);
    this.times = t;
    const e = new Uint32Array(t.length);
    e.set(this.eventIds);
    this.eventIds = e;
  }
}
