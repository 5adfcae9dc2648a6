/**
 * The ITS's caches of its table entries, as real ITSs keep them (GIC-600 caches device,
 * collection, vPE and interrupt translation entries), so that translating an MSI touches
 * neither memory nor strings and costs the same with 16 or 1,000,000 mapped events.
 *
 * What is cached, and how it is kept coherent:
 * - DTEs: `devices`, a Map from DeviceID to a `DeviceEntry` {ITT address, Size}. Filled on a
 *   miss (read from the device table) and by MAPD (write-through); MAPD V=0 removes it, a MAPD
 *   that remaps a device replaces it and drops the device's ITEs.
 * - ITEs: per device, packed in a typed array (three 32-bit words: type and INTID, ICID and
 *   vPEID, doorbell), indexed by EventID while the device's EventIDs are dense enough and
 *   through a Map otherwise (see `DeviceEntry`): 12 to about 100 bytes per cached event,
 *   nothing per MSI.
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

/** Words per cached ITE: [0] = INTID + IntType × 2^24 + CACHED, [1] = ICID + vPEID × 2^16, [2] = doorbell. */
export const ITE_WORDS = 3;
const TWO24 = 0x100_0000;
/** The INTID bits of word 0 (bitwise: word 0 stays below 2^26). */
const INTID_BITS = TWO24 - 1;
/** Set in word 0 of every cached ITE, so that a zero word means "not cached". */
const CACHED = 0x200_0000;
/** A dense device index may hold up to this many EventIDs per cached event (12 bytes each)... */
const DENSE_PER_EVENT = 8;
/** ... or this many EventIDs whatever the count (3 KB). */
const DENSE_FREE = 256;

/**
 * A cached device table entry and its cached ITEs. While the device's cached EventIDs are
 * dense enough (at most 8 EventIDs of range per cached event, or 256), the ITEs sit inline
 * in `ite` at EventID × 3, so a lookup is one typed-array read; otherwise `sparse` maps an
 * EventID to its slot in `ite`. Either way an MSI lookup allocates nothing, and memory stays
 * below about 100 bytes per cached event.
 */
export class DeviceEntry {
  /** Packed ITEs (ITE_WORDS words each): indexed by EventID (dense) or by slot (sparse). */
  ite = new Uint32Array(16 * ITE_WORDS);
  /** EventID -> slot, once the device went sparse; null while dense. */
  sparse: Map<number, number> | null = null;
  private free: number[] = [];
  private nextSlot = 0;
  /** Cached ITEs. */
  count = 0;

  constructor(
    readonly ittAddr: number,
    /** DTE.Size: EventID bits - 1 (the ITT has 2^(size+1) entries). */
    readonly size: number,
  ) {}

  /** Number of EventIDs the ITT covers. */
  get eventCount(): number {
    return 2 ** (this.size + 1);
  }

  /** Index in `ite` of the cached ITE of `eventId`, or -1. */
  find(eventId: number): number {
    const m = this.sparse;
    if (m === null) {
      const i = eventId * ITE_WORDS;
      return i < this.ite.length && this.ite[i] !== 0 ? i : -1;
    }
    const s = m.get(eventId);
    return s === undefined ? -1 : s * ITE_WORDS;
  }

  /** Caches the ITE of `eventId` (replacing a cached one). */
  set(eventId: number, kind: number, intid: number, icid: number, vpeid: number, doorbell: number): void {
    let i = this.find(eventId);
    if (i < 0) {
      this.count++;
      i = this.sparse === null ? this.placeDense(eventId) : -1;
      if (i < 0) i = this.placeSparse(eventId);
    }
    const w = this.ite;
    w[i] = (intid % TWO24) + kind * TWO24 + CACHED;
    w[i + 1] = (icid & 0xffff) + (vpeid & 0xffff) * 0x10000;
    w[i + 2] = doorbell;
  }

  /** Forgets the ITE of `eventId`. */
  drop(eventId: number): void {
    const i = this.find(eventId);
    if (i < 0) return;
    this.count--;
    this.ite[i] = 0;
    if (this.sparse !== null) {
      this.sparse.delete(eventId);
      this.free.push(i / ITE_WORDS);
    }
  }

  /** Dense placement: grows `ite` to cover `eventId`, or returns -1 when that would be too sparse. */
  private placeDense(eventId: number): number {
    const need = (eventId + 1) * ITE_WORDS;
    if (need > this.ite.length) {
      let n = this.ite.length / ITE_WORDS;
      while (n * ITE_WORDS < need) n *= 2;
      if (n > DENSE_FREE && n > DENSE_PER_EVENT * this.count) {
        this.goSparse();
        return -1;
      }
      const g = new Uint32Array(n * ITE_WORDS);
      g.set(this.ite);
      this.ite = g;
    }
    return eventId * ITE_WORDS;
  }

  private placeSparse(eventId: number): number {
    let s = this.free.pop();
    if (s === undefined) {
      s = this.nextSlot++;
      if ((s + 1) * ITE_WORDS > this.ite.length) {
        const g = new Uint32Array(this.ite.length * 2);
        g.set(this.ite);
        this.ite = g;
      }
    }
    this.sparse!.set(eventId, s);
    return s * ITE_WORDS;
  }

  /** Moves the dense ITEs into slots indexed by a Map. */
  private goSparse(): void {
    const old = this.ite;
    const m = new Map<number, number>();
    const packed = new Uint32Array(Math.max(16, this.count * 2) * ITE_WORDS);
    let s = 0;
    for (let i = 0; i < old.length; i += ITE_WORDS) {
      if (old[i] === 0) continue;
      packed.set(old.subarray(i, i + ITE_WORDS), s * ITE_WORDS);
      m.set(i / ITE_WORDS, s++);
    }
    this.ite = packed;
    this.sparse = m;
    this.nextSlot = s;
  }
}

/** Field reads of a packed ITE at index `i` of `w`. */
export function iteKind(w: Uint32Array, i: number): number {
  return Math.floor(w[i]! / TWO24) & 1;
}
export function iteIntid(w: Uint32Array, i: number): number {
  return w[i]! & INTID_BITS;
}
export function iteIcid(w: Uint32Array, i: number): number {
  return w[i + 1]! & 0xffff;
}
export function iteVpeid(w: Uint32Array, i: number): number {
  return w[i + 1]! >>> 16;
}
export function iteDoorbell(w: Uint32Array, i: number): number {
  return w[i + 2]!;
}

export class ItsCache {
  /** Cached DTEs by DeviceID. Change it only through `setDevice`/`dropDevice`/`flushDevices` (they keep `device`'s memo). */
  readonly devices = new Map<number, DeviceEntry>();
  /** The last DeviceID `device` found, and its entry: MSIs come in runs from one device, each a Map lookup otherwise. */
  private lastId = -1;
  private lastDevice: DeviceEntry | undefined = undefined;

  /** Collection ID -> RD index, UNMAPPED or UNKNOWN (not read from memory yet). */
  readonly cteRd: Int32Array;

  /** vPEID -> RD index, UNMAPPED or UNKNOWN; VPT address and VPT_size alongside. */
  readonly vteRd: Int32Array;
  readonly vteVpt: Float64Array;
  readonly vteSize: Uint8Array;
  /** GICv4.1 VTE fields: the vPE's default doorbell (1023: none) and vLPI configuration table (VMAPP VConf_addr). */
  readonly vteDoorbell: Int32Array;
  readonly vteVconf: Float64Array;

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
    this.vteDoorbell = new Int32Array(vpes);
    this.vteVconf = new Float64Array(vpes);
  }

  /** Number of cached ITEs (mapped events seen by the cache). */
  get cachedEvents(): number {
    let n = 0;
    for (const d of this.devices.values()) n += d.count;
    return n;
  }

  /** The cached entry of `deviceId`, or undefined. */
  device(deviceId: number): DeviceEntry | undefined {
    if (deviceId === this.lastId) return this.lastDevice;
    const d = this.devices.get(deviceId);
    if (d !== undefined) {
      this.lastId = deviceId;
      this.lastDevice = d;
    }
    return d;
  }

  /** Caches a device entry, dropping any previous one for `deviceId` and its ITEs. */
  setDevice(deviceId: number, ittAddr: number, size: number): DeviceEntry {
    const d = new DeviceEntry(ittAddr, size);
    this.devices.set(deviceId, d);
    this.lastId = -1;
    return d;
  }

  dropDevice(deviceId: number): void {
    this.devices.delete(deviceId);
    this.lastId = -1;
  }

  /** GITS_BASER of the device table written: every DTE and ITE is dropped. */
  flushDevices(): void {
    this.devices.clear();
    this.lastId = -1;
  }

  /** GITS_BASER of the collection table written: memory-backed CTEs are dropped. */
  flushCollections(): void {
    this.cteRd.fill(UNKNOWN, Math.min(this.onChip, this.cteRd.length));
  }

  /** GITS_BASER of the vPE table written. */
  flushVpes(): void {
    this.vteRd.fill(UNKNOWN);
  }
}
