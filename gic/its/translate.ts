/**
 * MSI translation (gic-facts §4.1 "Translation path"): a GITS_TRANSLATER write (EventID in
 * the data, DeviceID from the bus attributes) becomes a pending LPI at the collection's
 * redistributor, or a pending vLPI for the vPE (§5.2), `itsTranslate` cycles later.
 *
 * The latency is constant, so the translations in flight form a FIFO in arrival order: a
 * ring of typed arrays (DeviceID, EventID, due time) served by one re-armed SimEvent. Lookups
 * go through the cache (cache.ts): one Map lookup keyed by the DeviceID, then typed-array
 * reads (a second Map lookup only for devices with sparse EventIDs), so an MSI allocates
 * nothing and costs the same however many events are mapped. Lookups use the tables as they
 * are when the translation completes.
 *
 * Errors drop the interrupt: it is counted, traced ('its-translate' with the code the INT
 * command would report, 0x0103EE) and kept in `lastError`. CHOICE: a table memory fault
 * during translation (0x010320) also just drops the MSI; the device's write itself completes
 * normally (QEMU answers it with a bus error).
 */
import { SimEvent } from '../../core/events.js';
import type { Machine } from '../../core/machine.js';
import type { LpiPort, VlpiPort } from '../ports.js';
import type { ItsEntries } from './entries.js';
import { Reason, errorCode } from './errors.js';
import { ITS_CORE } from './its-trace.js';
import { INTTYPE_PHYSICAL } from './tables.js';

const OPCODE_INT = 0x03;

export class Translator {
  private devs = new Uint32Array(64);
  private evs = new Uint32Array(64);
  private due = new Float64Array(64);
  private head = 0;
  private count = 0;
  private readonly ev: SimEvent;

  /** MSIs accepted at GITS_TRANSLATER. */
  accepted = 0;
  /** MSIs that became a pending (v)LPI request at a redistributor. */
  delivered = 0;
  /** MSIs dropped by a translation error (or refused by the RD: EnableLPIs = 0, INTID too large). */
  dropped = 0;
  /** Code of the last translation error (0x0103EE), 0 if none. */
  lastError = 0;

  constructor(
    private readonly m: Machine,
    private readonly entries: ItsEntries,
    private readonly lpis: LpiPort,
    private readonly vlpis: VlpiPort | null,
  ) {
    this.ev = new SimEvent('its.translate', 21, () => this.fire());
  }

  /** Translations accepted and not yet complete. */
  get inFlight(): number {
    return this.count;
  }

  /** A GITS_TRANSLATER write from `deviceId` carrying `eventId`. */
  accept(deviceId: number, eventId: number): void {
    this.accepted++;
    if (this.count === this.devs.length) this.grow();
    const cap = this.devs.length;
    const i = (this.head + this.count) % cap;
    this.devs[i] = deviceId;
    this.evs[i] = eventId;
    const t = this.m.now + this.m.costs.itsTranslate;
    const last = this.count > 0 ? this.due[(i + cap - 1) % cap]! : t;
    this.due[i] = t < last ? last : t;
    this.count++;
    if (this.count === 1) this.m.events.schedule(this.ev, this.due[i]!);
  }

  /** A write refused before translation (no DeviceID on the bus): dropped and traced. */
  refuse(reason: number): void {
    this.accepted++;
    this.drop(-1, -1, reason);
  }

  private fire(): void {
    const now = this.m.now;
    const cap = this.devs.length;
    while (this.count > 0 && this.due[this.head]! <= now) {
      const d = this.devs[this.head]!;
      const e = this.evs[this.head]!;
      this.head = (this.head + 1) % cap;
      this.count--;
      this.translate(d, e);
    }
    if (this.count > 0) this.m.events.schedule(this.ev, this.due[this.head]!);
  }

  /** Translates one MSI now. */
  private translate(deviceId: number, eventId: number): void {
    const e = this.entries;
    e.mem.reset();
    let r = e.device(deviceId);
    if (r === 0) r = e.event(eventId);
    if (r !== 0) return this.drop(deviceId, eventId, r);
    const intid = e.intid;
    const m = this.m;
    if (e.kind === INTTYPE_PHYSICAL) {
      r = e.collection(e.icid);
      if (r !== 0) return this.drop(deviceId, eventId, r);
      const ok = this.lpis.setLpiPending(e.rd, intid);
      if (ok) this.delivered++;
      else this.dropped++;
      if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid, virtual: false, rd: e.rd, delivered: ok, error: 0 });
      return;
    }
    r = e.vpe(e.vpeid);
    if (r === 0 && intid >= 2 ** (e.vptSize + 1)) r = Reason.VIRTUALID_OOR;
    if (r !== 0) return this.drop(deviceId, eventId, r);
    const v = this.vlpis;
    if (v !== null) {
      v.setVlpiPending(e.vpeRd, e.vpt, e.vptSize + 1, intid, e.doorbell);
      this.delivered++;
    } else this.dropped++;
    if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid, virtual: true, rd: e.vpeRd, delivered: v !== null, error: 0 });
  }

  private drop(deviceId: number, eventId: number, reason: number): void {
    this.dropped++;
    this.lastError = errorCode(OPCODE_INT, reason);
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid: -1, virtual: false, rd: -1, delivered: false, error: this.lastError });
  }

  private grow(): void {
    const cap = this.devs.length;
    const n = cap * 2;
    const d = new Uint32Array(n);
    const e = new Uint32Array(n);
    const t = new Float64Array(n);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      d[k] = this.devs[i]!;
      e[k] = this.evs[i]!;
      t[k] = this.due[i]!;
    }
    this.devs = d;
    this.evs = e;
    this.due = t;
    this.head = 0;
  }
}

