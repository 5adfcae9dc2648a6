/**
 * The ITS's caches of its table entries, as real ITSs keep them (GIC-600 caches device,
 * collection, vPE and interrupt translation entries), so that translating an MSI touches
 * neither memory nor strings and costs the same with 16 or 1,000,000 mapped events.
 *
 * What is cached, and how it is kept coherent:
 * - DTEs: `devices`, a Map from DeviceID to a `DeviceEntry` {ITT address, Size}. Filled on a
 *   miss (read from the device table) and by MAPD (write-through); MAPD V=0 removes it, a MAPD
 *   that remaps a device replaces it and drops the device's ITEs.
 * - ITEs: per device, a Map from EventID to a slot in struct-of-arrays typed arrays (type,
 *   INTID, ICID, vPEID, doorbell): about 60-90 bytes per cached event, nothing per MSI.
 *   Filled on a miss (read from the ITT) and by MAPTI/MAPI/VMAPTI/VMAPI; updated by MOVI/VMOVI;
 *   removed by DISCARD.
 * - CTEs: `cteRd`, one Int32 per collection ID (the RD, UNMAPPED or UNKNOWN). Collections
 *   below GITS_TYPER.HCC live here only (on-chip); the others are filled on a miss and by MAPC.
 * - VTEs (GICv4): per vPEID typed arrays (RD, VPT address, VPT_size). Filled on a miss and by
 *   VMAPP/VMOVP.
 * - A write to a GITS_BASER<n> drops that table's cache (and, for the device table, every ITE).
 *
 * Software writes to ITS-owned tables (device, collection, vPE tables and ITTs) while the
 * entries are mapped are UNPREDICTABLE in the architecture; this model does not see them
 * until the entry is dropped from the cache as above.
 */

/** `cteRd` / `vteRd` values that are not RD indices. */
export const UNMAPPED = -1;
export const UNKNOWN = -2;

/** A cached device table entry. */
export class DeviceEntry {
  /** EventID -> ITE slot. */
  readonly events = new Map<number, number>();

  constructor(
    readonly ittAddr: number,
    /** DTE.Size: EventID bits - 1 (the ITT has 2^(size+1) entries). */
    readonly size: number,
  ) {}

  /** Number of EventIDs the ITT covers. */
  get eventCount(): number {
    return 2 ** (this.size + 1);
  }
}

export class ItsCache {
  readonly devices = new Map<number, DeviceEntry>();

  // ITE slots, struct of arrays.
  kind = new Uint8Array(64);
  intid = new Uint32Array(64);
  icid = new Uint16Array(64);
  vpeid = new Uint16Array(64);
  doorbell = new Uint32Array(64);
  private freeSlots = new Int32Array(64);
  private freeCount = 0;
  private nextSlot = 0;

  /** Collection ID -> RD index, UNMAPPED or UNKNOWN (not read from memory yet). */
  readonly cteRd: Int32Array;

  /** vPEID -> RD index, UNMAPPED or UNKNOWN; VPT address and VPT_size alongside. */
  readonly vteRd: Int32Array;
  readonly vteVpt: Float64Array;
  readonly vteSize: Uint8Array;

  constructor(
    collections: number,
    /** Collections held on chip (GITS_TYPER.HCC): never read from memory. */
    private readonly onChip: number,
    vpes: number,
  ) {
    this.cteRd = new Int32Array(collections).fill(UNKNOWN);
    this.cteRd.fill(UNMAPPED, 0, Math.min(onChip, collections));
    this.vteRd = new Int32Array(vpes).fill(UNKNOWN);
    this.vteVpt = new Float64Array(vpes);
    this.vteSize = new Uint8Array(vpes);
  }

  /** Number of ITE slots in use (cached mapped events). */
  get cachedEvents(): number {
    return this.nextSlot - this.freeCount;
  }

  /** Caches a device entry, dropping any previous one for `deviceId` and its ITEs. */
  setDevice(deviceId: number, ittAddr: number, size: number): DeviceEntry {
    this.dropDevice(deviceId);
    const d = new DeviceEntry(ittAddr, size);
    this.devices.set(deviceId, d);
    return d;
  }

  dropDevice(deviceId: number): void {
    const d = this.devices.get(deviceId);
    if (d === undefined) return;
    for (const s of d.events.values()) this.release(s);
    this.devices.delete(deviceId);
  }

  /** Caches an ITE for `eventId` of `dev`, reusing its slot if it has one. Returns the slot. */
  setIte(dev: DeviceEntry, eventId: number, kind: number, intid: number, icid: number, vpeid: number, doorbell: number): number {
    let s = dev.events.get(eventId);
    if (s === undefined) {
      s = this.allocate();
      dev.events.set(eventId, s);
    }
    this.kind[s] = kind;
    this.intid[s] = intid;
    this.icid[s] = icid;
    this.vpeid[s] = vpeid;
    this.doorbell[s] = doorbell;
    return s;
  }

  dropIte(dev: DeviceEntry, eventId: number): void {
    const s = dev.events.get(eventId);
    if (s === undefined) return;
    dev.events.delete(eventId);
    this.release(s);
  }

  /** GITS_BASER of the device table written: every DTE and ITE is dropped. */
  flushDevices(): void {
    this.devices.clear();
    this.freeCount = 0;
    this.nextSlot = 0;
  }

  /** GITS_BASER of the collection table written: memory-backed CTEs are dropped. */
  flushCollections(): void {
    this.cteRd.fill(UNKNOWN, Math.min(this.onChip, this.cteRd.length));
  }

  /** GITS_BASER of the vPE table written. */
  flushVpes(): void {
    this.vteRd.fill(UNKNOWN);
  }

  private allocate(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    const s = this.nextSlot++;
    if (s >= this.kind.length) this.grow();
    return s;
  }

  private release(s: number): void {
    if (this.freeCount >= this.freeSlots.length) {
      const f = new Int32Array(this.freeSlots.length * 2);
      f.set(this.freeSlots);
      this.freeSlots = f;
    }
    this.freeSlots[this.freeCount++] = s;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const k = new Uint8Array(n);
    k.set(this.kind);
    this.kind = k;
    const i = new Uint32Array(n);
    i.set(this.intid);
    this.intid = i;
    const c = new Uint16Array(n);
    c.set(this.icid);
    this.icid = c;
    const v = new Uint16Array(n);
    v.set(this.vpeid);
    this.vpeid = v;
    const d = new Uint32Array(n);
    d.set(this.doorbell);
    this.doorbell = d;
  }
}
