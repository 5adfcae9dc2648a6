/**
 * Lookups and updates of the ITS's table entries, through the cache (cache.ts) and the tables
 * in memory (tables.ts). Validation happens here, in one place, for the translation path and
 * every command: each lookup returns 0 or a `Reason` (errors.ts) and leaves its result in
 * fields of this object (`dev`, `slot`, `rd`, `vpeRd`/`vpt`/`vptSize`), so the MSI path
 * allocates nothing. Callers turn a reason into the code of the command they run.
 *
 * Entries read from memory (a cache miss) are checked as the commands that write them check
 * their fields: CHOICE: a DTE with Size > GITS_TYPER.ID_bits, a CTE or VTE naming no RD, or an
 * ITE whose (v)INTID is not an LPI (memory software wrote behind the ITS's back:
 * UNPREDICTABLE) counts as invalid, so nothing out of range reaches a redistributor.
 *
 * Updates write the entry to memory first and the cache only when the write succeeded; a
 * write to an ID whose two-level table has no level-2 page is refused with the table's
 * "out of range" reason (CHOICE: QEMU silently drops such writes; refusing records an error
 * software can see).
 */
import type { Bus, AccessAttrs } from '../../core/bus.js';
import { ItsCache, UNKNOWN, UNMAPPED, iteDoorbell, iteIcid, iteIntid, iteKind, iteVpeid, type DeviceEntry } from './cache.js';
import { LPI_BASE } from '../gic-registers.js';
import { Reason } from './errors.js';
import {
  CTE, CTE_BYTES, DTE, DTE_BYTES, EntryWords, FAULT, ITE_BYTES, ITE_H, ITE_L, NO_DOORBELL, NO_ENTRY, TableGeometry, TableMemory, VTE, VTE41_BYTES, VTE_BYTES, VTE_H, get,
} from './tables.js';

// Module-local copy (imported bindings are getter calls under the project's TypeScript loader).
const FIRST_LPI = LPI_BASE;

export interface EntryLimits {
  /** 2^Devbits. */
  readonly deviceIds: number;
  /** GITS_TYPER.HCC: collections held on chip. */
  readonly hcc: number;
  /** Collection IDs (16-bit ICIDs: CIL = 0). */
  readonly collectionIds: number;
  /** 2^vPEID bits (0 without GICv4). */
  readonly vpeIds: number;
  /** Redistributors (valid RD indices in CTEs and VTEs). */
  readonly rdCount: number;
  /** 2^(GICD_TYPER.IDbits + 1): (v)LPI INTIDs are 8192 to intidLimit - 1. */
  readonly intidLimit: number;
  /** GITS_TYPER.ID_bits: the largest DTE Size. */
  readonly maxSize: number;
  /** GICv4.1 ITS: 16-byte VTEs carrying the default doorbell and the vLPI configuration table. */
  readonly v41?: boolean;
}

export class ItsEntries {
  readonly devices: TableGeometry;
  readonly collections: TableGeometry;
  readonly vpes: TableGeometry;
  readonly mem: TableMemory;
  readonly cache: ItsCache;
  private readonly words = new EntryWords();
  private readonly words2 = new EntryWords();

  // ---- results of the last lookup ----
  /** `device()`: the device's cached entry. */
  dev: DeviceEntry | null = null;
  /** `event()`: the ITE's fields. */
  kind = 0;
  intid = 0;
  icid = 0;
  vpeid = 0;
  doorbell = 0;
  /** `collection()`: the collection's RD. */
  rd = -1;
  /** `vpe()`: the vPE's RD, VPT address and VPT_size. */
  vpeRd = -1;
  vpt = 0;
  vptSize = 0;
  /** `vpe()` on a GICv4.1 ITS: the vPE's default doorbell (1023: none) and vLPI configuration table. */
  vpeDoorbell = NO_DOORBELL;
  vconf = 0;

  constructor(
    bus: Bus,
    attrs: AccessAttrs,
    readonly limits: EntryLimits,
  ) {
    this.devices = new TableGeometry(DTE_BYTES, limits.deviceIds);
    // Memory collection table entries are indexed by ICID - HCC (see collection()).
    this.collections = new TableGeometry(CTE_BYTES, Math.max(0, limits.collectionIds - limits.hcc));
    this.vpes = new TableGeometry(limits.v41 === true ? VTE41_BYTES : VTE_BYTES, limits.vpeIds);
    this.mem = new TableMemory(bus, attrs);
    this.cache = new ItsCache(limits.collectionIds, limits.hcc, limits.vpeIds);
  }

  /** Collection IDs the ITS can hold now: HCC on chip + the memory table's entries (at most 2^16). */
  collectionCount(): number {
    return Math.min(this.limits.collectionIds, this.limits.hcc + this.collections.ids);
  }

  // ------------------------------------------------------------------ lookups

  /** The DTE of `deviceId` (DEVICE_OOR, UNMAPPED_DEVICE, TABLE_FAULT). */
  device(deviceId: number): number {
    const cached = this.cache.device(deviceId);
    if (cached !== undefined) {
      this.dev = cached;
      return 0;
    }
    if (deviceId >= this.devices.ids) return Reason.DEVICE_OOR;
    const pa = this.mem.entryAddress(this.devices, deviceId);
    if (pa === FAULT) return Reason.TABLE_FAULT;
    if (pa === NO_ENTRY) return Reason.UNMAPPED_DEVICE; // no level-2 page: nothing mapped there
    if (!this.mem.read64(pa)) return Reason.TABLE_FAULT;
    const m = this.mem;
    if (get(m.lo, m.hi, DTE.Valid) === 0 || get(m.lo, m.hi, DTE.Size) > this.limits.maxSize) return Reason.UNMAPPED_DEVICE;
    this.dev = this.cache.setDevice(deviceId, get(m.lo, m.hi, DTE.ITT_addr) * 256, get(m.lo, m.hi, DTE.Size));
    return 0;
  }

  /** The ITE of `eventId` in the device `device()` found (ID_OOR, UNMAPPED_INTERRUPT, TABLE_FAULT). */
  event(eventId: number): number {
    const d = this.dev!;
    let i = d.find(eventId);
    if (i < 0) {
      if (eventId >= d.eventCount) return Reason.ID_OOR;
      const m = this.mem;
      const h = m.readIte(d.ittAddr + eventId * ITE_BYTES);
      if (h < 0) return Reason.TABLE_FAULT;
      const intid = get(m.lo, m.hi, ITE_L.INTID);
      if (get(m.lo, m.hi, ITE_L.Valid) === 0 || intid < FIRST_LPI || intid >= this.limits.intidLimit) return Reason.UNMAPPED_INTERRUPT;
      d.set(
        eventId,
        get(m.lo, m.hi, ITE_L.IntType), intid, get(m.lo, m.hi, ITE_L.ICID), get(m.lo, m.hi, ITE_L.vPEID),
        get(h, 0, ITE_H.Doorbell),
      );
      i = d.find(eventId);
    }
    const w = d.ite;
    this.kind = iteKind(w, i);
    this.intid = iteIntid(w, i);
    this.icid = iteIcid(w, i);
    this.vpeid = iteVpeid(w, i);
    this.doorbell = iteDoorbell(w, i);
    return 0;
  }

  /**
   * The RD of collection `icid` (COLLECTION_OOR, UNMAPPED_COLLECTION, TABLE_FAULT).
   * CHOICE (⚠ not verified against the GIC specification's pseudocode): collections below
   * GITS_TYPER.HCC are held in the ITS; collection ICID >= HCC is entry ICID - HCC of the
   * memory collection table.
   */
  collection(icid: number): number {
    const c = this.cache.cteRd;
    if (icid >= this.collectionCount()) return Reason.COLLECTION_OOR;
    let rd = c[icid]!;
    if (rd === UNKNOWN) {
      const index = icid - this.limits.hcc;
      if (index >= this.collections.ids) return Reason.COLLECTION_OOR;
      const pa = this.mem.entryAddress(this.collections, index);
      if (pa === FAULT) return Reason.TABLE_FAULT;
      if (pa === NO_ENTRY) return Reason.UNMAPPED_COLLECTION;
      if (!this.mem.read64(pa)) return Reason.TABLE_FAULT;
      const m = this.mem;
      rd = get(m.lo, m.hi, CTE.Valid) === 0 ? UNMAPPED : get(m.lo, m.hi, CTE.RDbase);
      if (rd >= this.limits.rdCount) rd = UNMAPPED;
      c[icid] = rd;
    }
    if (rd === UNMAPPED) return Reason.UNMAPPED_COLLECTION;
    this.rd = rd;
    return 0;
  }

  /** The VTE of `vpeid` (VPEID_OOR, UNMAPPED_VPE, TABLE_FAULT). */
  vpe(vpeid: number): number {
    const c = this.cache.vteRd;
    if (vpeid >= c.length) return Reason.VPEID_OOR;
    let rd = c[vpeid]!;
    if (rd === UNKNOWN) {
      if (vpeid >= this.vpes.ids) return Reason.VPEID_OOR;
      const pa = this.mem.entryAddress(this.vpes, vpeid);
      if (pa === FAULT) return Reason.TABLE_FAULT;
      if (pa === NO_ENTRY) return Reason.UNMAPPED_VPE;
      if (!this.mem.read64(pa)) return Reason.TABLE_FAULT;
      const m = this.mem;
      if (get(m.lo, m.hi, VTE.Valid) === 0 || get(m.lo, m.hi, VTE.RDbase) >= this.limits.rdCount) rd = UNMAPPED;
      else {
        rd = get(m.lo, m.hi, VTE.RDbase);
        this.cache.vteVpt[vpeid] = get(m.lo, m.hi, VTE.VPT_addr) * 0x10000;
        this.cache.vteSize[vpeid] = get(m.lo, m.hi, VTE.VPT_size);
        if (this.limits.v41 === true) {
          if (!this.mem.read64(pa + 8)) return Reason.TABLE_FAULT;
          this.cache.vteDoorbell[vpeid] = get(m.lo, m.hi, VTE_H.Doorbell);
          this.cache.vteVconf[vpeid] = get(m.lo, m.hi, VTE_H.VConf_addr) * 0x10000;
        }
      }
      c[vpeid] = rd;
    }
    if (rd === UNMAPPED) return Reason.UNMAPPED_VPE;
    this.vpeRd = rd;
    this.vpt = this.cache.vteVpt[vpeid]!;
    this.vptSize = this.cache.vteSize[vpeid]!;
    this.vpeDoorbell = this.cache.vteDoorbell[vpeid]!;
    this.vconf = this.cache.vteVconf[vpeid]!;
    return 0;
  }

  // ------------------------------------------------------------------ updates

  /** MAPD: writes the DTE (valid with ITT address and Size, or invalid). DEVICE_OOR, TABLE_FAULT. */
  writeDevice(deviceId: number, valid: boolean, ittAddr: number, size: number): number {
    if (deviceId >= this.devices.ids) return Reason.DEVICE_OOR;
    const pa = this.mem.entryAddress(this.devices, deviceId);
    if (pa === FAULT) return Reason.TABLE_FAULT;
    if (pa === NO_ENTRY) return Reason.DEVICE_OOR;
    const w = this.words.clear();
    if (valid) w.put(DTE.Valid, 1).put(DTE.Size, size).put(DTE.ITT_addr, Math.floor(ittAddr / 256));
    if (!this.mem.write64(pa, w.lo, w.hi)) return Reason.TABLE_FAULT;
    if (valid) this.dev = this.cache.setDevice(deviceId, ittAddr, size);
    else this.cache.dropDevice(deviceId);
    return 0;
  }

  /** MAPC: writes the CTE. COLLECTION_OOR, TABLE_FAULT. */
  writeCollection(icid: number, rd: number): number {
    const c = this.cache.cteRd;
    if (icid >= this.collectionCount()) return Reason.COLLECTION_OOR;
    if (icid >= this.limits.hcc) {
      const index = icid - this.limits.hcc;
      if (index >= this.collections.ids) return Reason.COLLECTION_OOR;
      const pa = this.mem.entryAddress(this.collections, index);
      if (pa === FAULT) return Reason.TABLE_FAULT;
      if (pa === NO_ENTRY) return Reason.COLLECTION_OOR;
      const w = this.words.clear();
      if (rd >= 0) w.put(CTE.Valid, 1).put(CTE.RDbase, rd);
      if (!this.mem.write64(pa, w.lo, w.hi)) return Reason.TABLE_FAULT;
    }
    c[icid] = rd >= 0 ? rd : UNMAPPED;
    return 0;
  }

  /** VMAPP/VMOVP: writes the VTE (rd < 0: invalid). VPEID_OOR, TABLE_FAULT. */
  writeVpe(vpeid: number, rd: number, vpt: number, vptSize: number, vconf = 0, doorbell = NO_DOORBELL): number {
    const c = this.cache.vteRd;
    if (vpeid >= c.length || vpeid >= this.vpes.ids) return Reason.VPEID_OOR;
    const pa = this.mem.entryAddress(this.vpes, vpeid);
    if (pa === FAULT) return Reason.TABLE_FAULT;
    if (pa === NO_ENTRY) return Reason.VPEID_OOR;
    const w = this.words.clear();
    if (rd >= 0) w.put(VTE.Valid, 1).put(VTE.VPT_size, vptSize).put(VTE.VPT_addr, Math.floor(vpt / 0x10000)).put(VTE.RDbase, rd);
    if (!this.mem.write64(pa, w.lo, w.hi)) return Reason.TABLE_FAULT;
    if (this.limits.v41 === true) {
      const h = this.words2.clear();
      if (rd >= 0) h.put(VTE_H.Doorbell, doorbell).put(VTE_H.VConf_addr, Math.floor(vconf / 0x10000));
      if (!this.mem.write64(pa + 8, h.lo, h.hi)) return Reason.TABLE_FAULT;
    }
    c[vpeid] = rd >= 0 ? rd : UNMAPPED;
    this.cache.vteVpt[vpeid] = vpt;
    this.cache.vteSize[vpeid] = vptSize;
    this.cache.vteDoorbell[vpeid] = doorbell;
    this.cache.vteVconf[vpeid] = vconf;
    return 0;
  }

  /**
   * Writes the ITE of `eventId` in device `dev` (found by `device()`): physical {intid, icid}
   * or virtual {vintid, vpeid, doorbell}. TABLE_FAULT only (the caller checked the EventID).
   */
  writeEvent(eventId: number, kind: number, intid: number, icid: number, vpeid: number, doorbell: number): number {
    const d = this.dev!;
    const w = this.words.clear().put(ITE_L.Valid, 1).put(ITE_L.IntType, kind).put(ITE_L.INTID, intid).put(ITE_L.ICID, icid).put(ITE_L.vPEID, vpeid);
    const h = this.words2.clear().put(ITE_H.Doorbell, doorbell).lo;
    if (!this.mem.writeIte(d.ittAddr + eventId * ITE_BYTES, w.lo, w.hi, h)) return Reason.TABLE_FAULT;
    d.set(eventId, kind, intid, icid, vpeid, doorbell);
    this.kind = kind;
    this.intid = intid;
    this.icid = icid;
    this.vpeid = vpeid;
    this.doorbell = doorbell;
    return 0;
  }

  /** DISCARD: invalidates the ITE. TABLE_FAULT only. */
  clearEvent(eventId: number): number {
    const d = this.dev!;
    if (!this.mem.writeIte(d.ittAddr + eventId * ITE_BYTES, 0, 0, 0)) return Reason.TABLE_FAULT;
    d.drop(eventId);
    return 0;
  }

  /** Drops the cache of the table a GITS_BASER<n> write changed. */
  flush(table: 'devices' | 'collections' | 'vpes'): void {
    if (table === 'devices') this.cache.flushDevices();
    else if (table === 'collections') this.cache.flushCollections();
    else this.cache.flushVpes();
  }
}
