/**
 * MSI translation (IHI 0069H §5.2 "The Interrupt Translation Service"): a GITS_TRANSLATER write
 * (EventID in the data, DeviceID from the bus attributes) becomes a pending LPI at the
 * collection's redistributor, or a pending vLPI for the vPE (IHI 0069H §7.2 "Direct injection
 * of virtual interrupts"), `itsTranslate` cycles later.
 *
 * The latency is constant, so the translations in flight form a FIFO in arrival order (a
 * `LatencyFifo` of DeviceID and EventID, always through its event, after the GIC's own
 * messages at the same time). Lookups
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
import type { Machine } from '../../core/machine.js';
import { GIC_EVENT_PRIORITY, LatencyFifo } from '../latency-fifo.js';
import type { LpiPort, VlpiPort } from '../ports.js';
import type { ItsEntries } from './entries.js';
import { ITS_COMMANDS } from './commands.js';
import { Reason, errorCode } from './errors.js';
import { ITS_CORE } from './its-trace.js';
import { INTTYPE_PHYSICAL } from './tables.js';

/** Translation errors carry the code the INT command would report (0x0103EE). */
const OPCODE_INT = ITS_COMMANDS.INT.opcode;

/** After the GIC's internal messages at the same time. */
const TRANSLATE_EVENT_PRIORITY = GIC_EVENT_PRIORITY + 1;

/**
 * Sees every MSI the ITS accepts and what its translation became, for checkers outside the
 * model (observation only: it must not change anything). `accepted` is called during the
 * device's GITS_TRANSLATER write, `translated` when the translation completes (`delivered`:
 * it became a pending LPI or vLPI; false: dropped by a translation error or refused by the
 * redistributor). Translations complete in the order MSIs were accepted.
 */
export interface TranslationObserver {
  accepted(deviceId: number, eventId: number): void;
  translated(deviceId: number, eventId: number, delivered: boolean): void;
}

export class Translator {
  private readonly fifo: LatencyFifo;

  /** MSIs accepted at GITS_TRANSLATER. */
  accepted = 0;
  /** MSIs that became a pending (v)LPI request at a redistributor. */
  delivered = 0;
  /** MSIs dropped by a translation error (or refused by the RD: EnableLPIs = 0, INTID too large). */
  dropped = 0;
  /** Code of the last translation error (0x0103EE), 0 if none. */
  lastError = 0;
  /** An observer of accepted and translated MSIs (checkers; null: none). */
  observer: TranslationObserver | null = null;

  constructor(
    private readonly m: Machine,
    private readonly entries: ItsEntries,
    private readonly lpis: LpiPort,
    private readonly vlpis: VlpiPort | null,
    /** A GICv4.1 ITS: vLPIs carry the vPE's default doorbell (nID = 1). */
    private readonly v41 = false,
  ) {
    this.fifo = new LatencyFifo(m, 'its.translate', m.costs.itsTranslate, (d, e) => this.translate(d, e), { capacity: 64, priority: TRANSLATE_EVENT_PRIORITY, deferAtZero: true });
  }

  /** Translations accepted and not yet complete. */
  get inFlight(): number {
    return this.fifo.inFlight;
  }

  /** A GITS_TRANSLATER write from `deviceId` carrying `eventId`. */
  accept(deviceId: number, eventId: number): void {
    this.accepted++;
    if (this.observer !== null) this.observer.accepted(deviceId, eventId);
    this.fifo.push(deviceId, eventId);
  }

  /** A write refused before translation (no DeviceID on the bus): dropped and traced. */
  refuse(reason: number): void {
    this.accepted++;
    this.drop(-1, -1, reason);
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
      if (this.observer !== null) this.observer.translated(deviceId, eventId, ok);
      if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid, virtual: false, rd: e.rd, delivered: ok, error: 0 });
      return;
    }
    r = e.vpe(e.vpeid);
    // vINTID >= 2^(VPT_size + 1), as a shift: `2 ** n` with a variable n is a Math.pow call on
    // every MSI. The ITE's INTID is below 2^24, so n >= 32 never bounds it.
    const bits = e.vptSize + 1;
    if (r === 0 && bits < 32 && intid >>> bits !== 0) r = Reason.VIRTUALID_OOR;
    if (r !== 0) return this.drop(deviceId, eventId, r);
    const v = this.vlpis;
    if (v !== null) {
      // GICv4.1 (GITS_TYPER.nID = 1): the ITE's doorbell is ignored; the vPE's default doorbell goes along.
      v.setVlpiPending(e.vpeRd, e.vpt, e.vptSize + 1, intid, this.v41 ? e.vpeDoorbell : e.doorbell, e.vpeid);
      this.delivered++;
    } else this.dropped++;
    if (this.observer !== null) this.observer.translated(deviceId, eventId, v !== null);
    if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid, virtual: true, rd: e.vpeRd, delivered: v !== null, error: 0 });
  }

  private drop(deviceId: number, eventId: number, reason: number): void {
    this.dropped++;
    this.lastError = errorCode(OPCODE_INT, reason);
    if (deviceId >= 0 && this.observer !== null) this.observer.translated(deviceId, eventId, false);
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-translate', deviceId, eventId, intid: -1, virtual: false, rd: -1, delivered: false, error: this.lastError });
  }
}
