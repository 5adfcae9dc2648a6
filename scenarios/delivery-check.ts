/**
 * Nothing lost, nothing duplicated, nothing misdelivered: the check every run makes.
 *
 * It watches, without changing anything the machine does:
 * - the ITS accepting each MSI at GITS_TRANSLATER (the device's write) and completing its
 *   translation (gic/its/translate.ts `TranslationObserver`): the MSI *arrives* then;
 * - every acknowledge a guest makes (gic/virtual-cpu-interface.ts `AckObserver`): the vINTID its
 *   ICV_IAR1_EL1 read returned, on which PE, and which VM and vCPU ran there, read from that PE's
 *   VTTBR_EL2.VMID and VMPIDR_EL2 at that moment. A delivery *is* an acknowledge: when the guest
 *   handler starts, whether it is preempted, and what it records do not matter.
 * and it knows the assignment: which (VM, vCPU, vINTID) each device event is for.
 *
 * The rules, per (VM, vINTID), a "key" (LPIs are edges with a single pending bit: an MSI that
 * arrives while an earlier one of its key is still pending, not yet acknowledged, may merge with
 * it; IHI 0069 5.1, "LPIs"):
 * - every acknowledge must have an MSI of its own: the n-th acknowledge of a key needs n MSIs
 *   arrived by then, else it is a duplicate (each acknowledge ends a pending episode, each
 *   episode begins with an arrival since the previous acknowledge, or before it when the
 *   hypervisor's injection lags behind the arrival, as the injected path's may);
 * - an acknowledge of an LPI no assigned event of its VM becomes, or on a vCPU other than the
 *   event's, is misdelivered (it still uses an MSI, so that one is not also counted lost);
 * - when the run ends, MSIs that arrived after their key's last acknowledge never reached the
 *   guest: undelivered; the other MSIs not delivered merged with one still pending: coalesced. An
 *   MSI whose translation the ITS dropped although its event is assigned is undelivered too.
 * Each MSI is thus exactly one of delivered, coalesced or undelivered: delivered + coalesced +
 * undelivered = accepted, and the counts need only counters per key. Undelivered, duplicated and
 * misdelivered MSIs are violations: `finish` names each (which VM, vINTID, device, EventID,
 * vCPU and when).
 *
 * Which MSI an acknowledge delivered (for its latency and the trace's flow) is a best reading:
 * the first that arrived since the key's previous acknowledge, or, if none did, the newest one
 * left from before (a lagging injection). The MSIs left over are kept, the newest 32 per key, so
 * memory does not grow with merges.
 * Latency is measured from the MSI's write to the acknowledge that delivered it. With `keep`
 * every delivery is recorded (exact percentiles, the flows of the trace export); without, only
 * a histogram (histogram.ts) and counts, so memory stays bounded by the MSIs outstanding.
 */
import type { MsiDevice } from '../core/msi-device.js';
import type { PE } from '../core/pe.js';
import { VTTBR } from '../core/stage2.js';
import { cpuOfAffinity } from '../drivers/affinity.js';
import { LPI_BASE } from '../gic/gic-registers.js';
import type { TranslationObserver } from '../gic/its/translate.js';
import { LogHistogram } from './histogram.js';
import type { Platform } from './platform.js';

/** Where one device event goes. */
export interface EventTarget {
  readonly vcpu: number;
  readonly vintid: number;
}

/** A device and the VM its events are assigned to. */
export interface DeviceAssignment {
  readonly device: MsiDevice;
  readonly deviceId: number;
  /** VM index. */
  readonly vm: number;
  /** Target of each EventID (index: EventID). */
  readonly events: readonly EventTarget[];
}

export interface DeliveryCounts {
  /** MSIs the devices wrote. */
  readonly sent: number;
  /** MSIs the ITS accepted at GITS_TRANSLATER. */
  readonly accepted: number;
  /** Acknowledges that consumed an MSI of their own VM, vINTID and vCPU. */
  readonly delivered: number;
  /** MSIs merged with one of their key still pending. */
  readonly coalesced: number;
  /** MSIs accepted and never acknowledged (lost, or still waiting when the run ended). */
  readonly undelivered: number;
  /** Acknowledges with no MSI to consume. */
  readonly duplicated: number;
  /** Acknowledges by the wrong VM or vCPU, or of an LPI nothing assigned. */
  readonly misdelivered: number;
}

/** One delivery: the MSI it consumed and the acknowledge that took it. */
export interface DeliveryRecord {
  /** Index of the MSI's device in the assignment list, and of the MSI among its writes. */
  readonly device: number;
  readonly write: number;
  readonly writeTime: number;
  readonly ackTime: number;
  readonly pe: number;
  readonly vm: number;
  readonly vcpu: number;
  readonly vintid: number;
}

/** One VM's share of the check's counts (see `DeliveryCheck.byVm`). */
class VmTally {
  accepted = 0;
  pendingTranslations = 0;
  unacked = 0;
  dropped = 0;
  delivered = 0;
  duplicated = 0;
  misdelivered = 0;
  readonly vcpuDelivered: number[] = [];
  latency: LogHistogram | undefined = undefined;
  readonly vcpuLatency: (LogHistogram | undefined)[] = [];
}

/** How many violation messages `finish` keeps (the counts are always complete). */
const MESSAGE_LIMIT = 20;

/** MSIs of one key in arrival order: a ring of typed columns that doubles when full (write time, device, write index). */
class MsiRing {
  writeTime = new Float64Array(4);
  device = new Int32Array(4);
  write = new Float64Array(4);
  head = 0;
  len = 0;

  push(writeTime: number, device: number, write: number): void {
    if (this.len === this.writeTime.length) this.grow();
    const i = (this.head + this.len) % this.writeTime.length;
    this.writeTime[i] = writeTime;
    this.device[i] = device;
    this.write[i] = write;
    this.len++;
  }

  /** Slot of the entry `k` places from the oldest. */
  slot(k: number): number {
    return (this.head + k) % this.writeTime.length;
  }

  dropOldest(n: number): void {
    this.head = (this.head + n) % this.writeTime.length;
    this.len -= n;
  }

  dropNewest(): void {
    this.len--;
  }

  clear(): void {
    this.head = 0;
    this.len = 0;
  }

  private grow(): void {
    const cap = this.writeTime.length;
    const w = new Float64Array(cap * 2);
    const d = new Int32Array(cap * 2);
    const x = new Float64Array(cap * 2);
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) % cap;
      w[k] = this.writeTime[i]!;
      d[k] = this.device[i]!;
      x[k] = this.write[i]!;
    }
    this.writeTime = w;
    this.device = d;
    this.write = x;
    this.head = 0;
  }
}

/** MSIs left from before a key's last acknowledge that are kept (for a lagging injection's latency). */
const OLD_KEPT = 32;

/** What the check keeps per key: counts, and the MSIs an acknowledge may yet deliver. */
class KeyState {
  /** MSIs arrived, and acknowledges that used one (delivered or misdelivered). */
  arrivals = 0;
  used = 0;
  acks = 0;
  lastAck = -Infinity;
  /** MSIs arrived since the last acknowledge, oldest first. */
  readonly fresh = new MsiRing();
  /** MSIs from before it not used, newest last (at most OLD_KEPT). */
  readonly old = new MsiRing();
}

/** One key: (VM, vINTID), the vCPU its event targets, and where its MSIs come from. */
interface Key {
  readonly vm: number;
  readonly vcpu: number;
  readonly vintid: number;
  readonly deviceId: number;
  readonly eventId: number;
  readonly q: KeyState;
}

/** Translations accepted and not completed, per device: write time and write index, FIFO. */
class InFlight {
  times: number[] = [];
  writes: number[] = [];
  head = 0;

  get length(): number {
    return this.times.length - this.head;
  }

  push(t: number, w: number): void {
    this.times.push(t);
    this.writes.push(w);
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.writes = this.writes.slice(this.head);
      this.head = 0;
    }
  }
}

export interface DeliveryCheckOptions {
  /** Keep every delivery record (exact percentiles, trace flows); default true. */
  readonly keep?: boolean;
  /** VM index of each VMID (VTTBR_EL2.VMID). */
  readonly vmOfVmid: ReadonlyMap<number, number>;
  /** Names for messages (VM index -> name). */
  readonly vmNames?: readonly string[];
  /** Converts cycles to microseconds in messages. */
  readonly cyclesPerUs?: number;
  /** The machine's current time, cycles. */
  readonly now: () => number;
}

export class DeliveryCheck implements TranslationObserver {
  private readonly keys: Key[] = [];
  /** (VM, vINTID) -> key index. */
  private readonly byVmIntid = new Map<number, number>();
  /** Per device (index in `devices`): key index of each EventID, -1 if unassigned. */
  private readonly eventKeys: Int32Array[] = [];
  private readonly deviceIndex = new Map<number, number>();
  private readonly inFlight: InFlight[] = [];
  private readonly keep: boolean;
  private readonly now: () => number;
  private readonly vmOfVmid: ReadonlyMap<number, number>;
  /** Last VTTBR_EL2 seen per PE and the VM index it names (-1: none). */
  private readonly peVttbr: bigint[] = [];
  private readonly peVm: number[] = [];

  private acceptedCount = 0;
  private deliveredCount = 0;
  private duplicatedCount = 0;
  private misdeliveredCount = 0;
  private droppedCount = 0;
  /** MSIs accepted and not yet translated, plus MSIs arrived after their key's last acknowledge. */
  private pendingTranslations = 0;
  private unacked = 0;
  private readonly messages: string[] = [];
  private messageCount = 0;

  readonly latency = new LogHistogram();
  readonly records: DeliveryRecord[] = [];

  /**
   * The same counts per VM (index: VM), so every figure of a run also exists per VM: MSIs
   * accepted, in translation and waiting for an acknowledge, dropped, delivered, duplicated and
   * misdelivered (an acknowledge counts against the VM that made it; one by no known VM counts
   * in the totals only). Deliveries also per vCPU.
   */
  private readonly byVm: VmTally[] = [];

  constructor(
    readonly devices: readonly DeviceAssignment[],
    private readonly o: DeliveryCheckOptions,
  ) {
    this.keep = o.keep ?? true;
    this.now = o.now;
    this.vmOfVmid = o.vmOfVmid;
    const vms = Math.max(o.vmNames?.length ?? 0, ...devices.map((d) => d.vm + 1));
    for (let vm = 0; vm < vms; vm++) this.byVm.push(new VmTally());
    devices.forEach((d, di) => {
      this.deviceIndex.set(d.deviceId, di);
      this.inFlight.push(new InFlight());
      const keys = new Int32Array(d.events.length).fill(-1);
      d.events.forEach((e, eventId) => {
        const composite = keyOf(d.vm, e.vintid);
        if (this.byVmIntid.has(composite)) throw new Error(`delivery check: vm ${d.vm} vINTID ${e.vintid} is assigned to two events`);
        this.byVmIntid.set(composite, this.keys.length);
        keys[eventId] = this.keys.length;
        this.keys.push({ vm: d.vm, vcpu: e.vcpu, vintid: e.vintid, deviceId: d.deviceId, eventId, q: new KeyState() });
      });
      this.eventKeys.push(keys);
    });
  }

  // ------------------------------------------------------------------ what it watches

  /** TranslationObserver: an MSI accepted at GITS_TRANSLATER (during its write). */
  accepted(deviceId: number, _eventId: number): void {
    const di = this.deviceIndex.get(deviceId);
    if (di === undefined) return;
    this.acceptedCount++;
    this.pendingTranslations++;
    const t = this.byVm[this.devices[di]!.vm]!;
    t.accepted++;
    t.pendingTranslations++;
    this.inFlight[di]!.push(this.now(), this.devices[di]!.device.sent - 1);
  }

  /** TranslationObserver: the translation of the oldest MSI of `deviceId` in flight completed. */
  translated(deviceId: number, eventId: number, delivered: boolean): void {
    const di = this.deviceIndex.get(deviceId);
    if (di === undefined) return;
    const f = this.inFlight[di]!;
    if (f.length === 0) return;
    const writeTime = f.times[f.head]!;
    const write = f.writes[f.head]!;
    f.shift();
    this.pendingTranslations--;
    const tally = this.byVm[this.devices[di]!.vm]!;
    tally.pendingTranslations--;
    const k = eventId < this.eventKeys[di]!.length ? this.eventKeys[di]![eventId]! : -1;
    if (k < 0) return; // an event nothing assigned: nobody expects it
    const key = this.keys[k]!;
    if (!delivered) {
      this.droppedCount++;
      tally.dropped++;
      this.violation(`${this.name(key)}: the ITS dropped the MSI written at ${this.us(writeTime)} (its translation failed: the event is not mapped)`);
      return;
    }
    key.q.arrivals++;
    key.q.fresh.push(writeTime, di, write);
    this.unacked++;
    tally.unacked++;
  }

  /** AckObserver: the guest running on `pe` acknowledged `vintid`. */
  readonly ack = (pe: PE, vintid: number): void => {
    if (vintid < LPI_BASE) return; // SGIs, PPIs and SPIs are not device events
    const i = pe.index;
    const vttbr = pe.vttbr as bigint;
    if (this.peVttbr[i] !== vttbr) {
      this.peVttbr[i] = vttbr;
      this.peVm[i] = this.vmOfVmid.get(VTTBR.get(vttbr, 'VMID')) ?? -1;
    }
    const vm = this.peVm[i]!;
    const vcpu = cpuOfAffinity(pe.vmpidr % 2 ** 24);
    const t = this.now();
    const k = this.byVmIntid.get(keyOf(vm, vintid));
    if (k === undefined) {
      this.misdeliveredCount++;
      if (vm >= 0 && vm < this.byVm.length) this.byVm[vm]!.misdelivered++;
      this.violation(`${this.vmName(vm)}.vcpu${vcpu} acknowledged vINTID ${vintid} at ${this.us(t)} (on core ${i}), but no device event of that VM becomes vINTID ${vintid}`);
      return;
    }
    const key = this.keys[k]!;
    const q = key.q;
    const tally = this.byVm[vm]!;
    if (q.used === q.arrivals) {
      this.duplicatedCount++;
      tally.duplicated++;
      this.violation(`${this.name(key)}: acknowledged at ${this.us(t)} on vcpu${vcpu} with no MSI left to deliver (a duplicate)`);
      return;
    }
    q.used++;
    q.acks++;
    q.lastAck = t;
    // The MSI this acknowledge delivered: the first since the previous one, else the newest left.
    let ring: MsiRing | null = null;
    let s = -1;
    if (q.fresh.len > 0) {
      ring = q.fresh;
      s = ring.slot(0);
    } else if (q.old.len > 0) {
      ring = q.old;
      s = ring.slot(ring.len - 1);
    }
    if (vcpu !== key.vcpu) {
      this.misdeliveredCount++;
      tally.misdelivered++;
      this.violation(`${this.name(key)}: acknowledged at ${this.us(t)} by vcpu${vcpu}, but its event targets vcpu${key.vcpu}`);
    } else {
      this.deliveredCount++;
      tally.delivered++;
      tally.vcpuDelivered[vcpu] = (tally.vcpuDelivered[vcpu] ?? 0) + 1;
      if (ring !== null) {
        const lat = t - ring.writeTime[s]!;
        this.latency.record(lat);
        // Without the records, latency per VM and per vCPU needs histograms of its own (made on first use).
        if (!this.keep) {
          (tally.latency ??= new LogHistogram()).record(lat);
          (tally.vcpuLatency[vcpu] ??= new LogHistogram()).record(lat);
        }
        if (this.keep) this.records.push({ device: ring.device[s]!, write: ring.write[s]!, writeTime: ring.writeTime[s]!, ackTime: t, pe: i, vm, vcpu, vintid });
      }
    }
    // The rest of the fresh ones merged with the one delivered, unless a lagging injection still brings them.
    this.unacked -= q.fresh.len;
    this.byVm[key.vm]!.unacked -= q.fresh.len;
    if (ring === q.fresh) {
      for (let k2 = 1; k2 < q.fresh.len; k2++) {
        const f = q.fresh.slot(k2);
        q.old.push(q.fresh.writeTime[f]!, q.fresh.device[f]!, q.fresh.write[f]!);
      }
      q.fresh.clear();
      if (q.old.len > OLD_KEPT) q.old.dropOldest(q.old.len - OLD_KEPT);
    } else if (ring === q.old) q.old.dropNewest();
  };

  // ------------------------------------------------------------------ results

  /** Number of (VM, vINTID) keys the check follows. */
  get keyCount(): number {
    return this.keys.length;
  }

  /** MSI slots allocated over all keys (what the check costs in memory besides its records: 20 bytes each). */
  get queueSlots(): number {
    let n = 0;
    for (const k of this.keys) n += k.q.fresh.writeTime.length + k.q.old.writeTime.length;
    return n;
  }

  /** MSIs that still have to reach their guest: translations in flight, and MSIs arrived after their key's last acknowledge. */
  get outstanding(): number {
    return this.pendingTranslations + this.unacked;
  }

  /** The counts as they stand; MSIs still outstanding count as undelivered. */
  counts(): DeliveryCounts {
    let merged = 0;
    for (const k of this.keys) merged += k.q.arrivals - k.q.used - k.q.fresh.len;
    return {
      sent: this.devices.reduce((a, d) => a + d.device.sent, 0),
      accepted: this.acceptedCount,
      delivered: this.deliveredCount,
      coalesced: merged,
      undelivered: this.unacked + this.pendingTranslations + this.droppedCount,
      duplicated: this.duplicatedCount,
      misdelivered: this.misdeliveredCount,
    };
  }

  /** The counts of VM `vm` (index) as they stand, as `counts` for the whole run. */
  countsOf(vm: number): DeliveryCounts {
    const t = this.byVm[vm];
    if (t === undefined) return { sent: 0, accepted: 0, delivered: 0, coalesced: 0, undelivered: 0, duplicated: 0, misdelivered: 0 };
    let merged = 0;
    for (const k of this.keys) if (k.vm === vm) merged += k.q.arrivals - k.q.used - k.q.fresh.len;
    let sent = 0;
    for (const d of this.devices) if (d.vm === vm) sent += d.device.sent;
    return { sent, accepted: t.accepted, delivered: t.delivered, coalesced: merged, undelivered: t.unacked + t.pendingTranslations + t.dropped, duplicated: t.duplicated, misdelivered: t.misdelivered };
  }

  /** Deliveries made by each vCPU of VM `vm` (index: vCPU; 0 where none). */
  deliveredByVcpu(vm: number, vcpus: number): number[] {
    const t = this.byVm[vm];
    return Array.from({ length: vcpus }, (_, i) => t?.vcpuDelivered[i] ?? 0);
  }

  /** The latency histogram of VM `vm`'s deliveries, or of one of its vCPUs' (runs without records only; null when none). */
  latencyHistogramOf(vm: number, vcpu?: number): LogHistogram | null {
    const t = this.byVm[vm];
    if (t === undefined) return null;
    return (vcpu === undefined ? t.latency : t.vcpuLatency[vcpu]) ?? null;
  }

  /**
   * Per (VM, vCPU, vINTID) the check follows: MSIs accepted (arrived), delivered, merged and
   * undelivered so far, in assignment order. The same traffic gives the same `accepted` on every
   * path; `delivered` + `coalesced` is what reached the guest, merges included.
   */
  perKey(): { vm: number; vcpu: number; vintid: number; accepted: number; delivered: number; coalesced: number; undelivered: number }[] {
    return this.keys.map((k) => {
      const q = k.q;
      return { vm: k.vm, vcpu: k.vcpu, vintid: k.vintid, accepted: q.arrivals, delivered: q.used, coalesced: q.arrivals - q.used - q.fresh.len, undelivered: q.fresh.len };
    });
  }

  /**
   * The verdict at the end of a run: the counts, and one message per violation (at most 20,
   * then how many more): every undelivered MSI by key, every duplicate and misdelivery.
   */
  finish(): { counts: DeliveryCounts; violations: string[] } {
    const messages = [...this.messages];
    let more = this.messageCount - this.messages.length;
    for (const key of this.keys) {
      const f = key.q.fresh;
      if (f.len === 0) continue;
      const what = `${this.name(key)}: ${f.len} MSI${f.len === 1 ? '' : 's'} never acknowledged (the first written at ${this.us(f.writeTime[f.slot(0)]!)}; ${key.q.acks === 0 ? 'the guest never acknowledged this vINTID' : `its last acknowledge at ${this.us(key.q.lastAck)}`})`;
      if (messages.length < MESSAGE_LIMIT) messages.push(what);
      else more++;
    }
    for (let di = 0; di < this.devices.length; di++) {
      const n = this.inFlight[di]!.length;
      if (n === 0) continue;
      const what = `device ${this.devices[di]!.deviceId}: ${n} MSI${n === 1 ? '' : 's'} still being translated by the ITS when the run ended`;
      if (messages.length < MESSAGE_LIMIT) messages.push(what);
      else more++;
    }
    if (more > 0) messages.push(`... and ${more} more`);
    return { counts: this.counts(), violations: messages };
  }

  private violation(what: string): void {
    this.messageCount++;
    if (this.messages.length < MESSAGE_LIMIT) this.messages.push(what);
  }

  private vmName(vm: number): string {
    return vm < 0 ? 'a VM the run does not know' : (this.o.vmNames?.[vm] ?? `vm${vm}`);
  }

  private name(k: Key): string {
    return `${this.vmName(k.vm)} vINTID ${k.vintid} (device ${k.deviceId} EventID ${k.eventId} -> vcpu${k.vcpu})`;
  }

  private us(cycles: number): string {
    const per = this.o.cyclesPerUs;
    return per === undefined ? `cycle ${cycles}` : `${(cycles / per).toFixed(3)} us`;
  }
}

/**
 * A delivery check watching platform `p` (its ITS and every PE's virtual CPU interface) for the
 * devices of `assignments`; `keep` records every delivery (default true). Attach it before the
 * devices start.
 */
export function attachDeliveryCheck(p: Platform, assignments: readonly DeviceAssignment[], keep = true): DeliveryCheck {
  const m = p.m;
  const check = new DeliveryCheck(assignments, {
    keep,
    vmOfVmid: new Map(p.hyp.vms.map((vm) => [vm.vmid, vm.index])),
    vmNames: p.hyp.vms.map((vm) => vm.config.name),
    cyclesPerUs: m.clockHz / 1e6,
    now: () => m.now,
  });
  for (const its of p.gic.itsList) its.translator.observer = check;
  for (const v of p.gic.virtual) v.ackObserver = check.ack;
  return check;
}

/** The (VM, vINTID) key as one number. */
export function keyOf(vm: number, vintid: number): number {
  return vm * 2 ** 24 + vintid;
}

/** Percentile (nearest rank) of an unsorted sample; NaN when empty. */
export function percentile(sample: Float64Array, p: number): number {
  if (sample.length === 0) return NaN;
  const s = Float64Array.from(sample).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}
