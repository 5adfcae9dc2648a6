/**
 * The physical bus: RAM and MMIO regions over `PhysicalMemory`. Every access carries
 * attributes naming its requester (a PE, a device with its DeviceID, or the GIC itself);
 * the ITS reads the DeviceID of an MSI from them, as real ITSs take it from the
 * interconnect's sideband signals. An access no region decodes completes with
 * `BusStatus.DecodeError`, which the PE turns into a synchronous external abort.
 *
 * Every write to RAM, whoever makes it, is reported to the exclusive monitors
 * (`exclusive-monitor.ts`: a write clears the global-monitor marks on its granule) while any PE
 * holds a mark; with none, the write path pays one counter compare.
 */
import type { Word } from './bits.js';
import { NO_MONITORS, type ExclusiveMonitors } from './exclusive-monitor.js';
import { PhysicalMemory, PA_LIMIT } from './memory.js';

export type Requester = 'pe' | 'device' | 'gic';

/** Bus attributes of one access. Models keep one instance per requester and reuse it. */
export interface AccessAttrs {
  requester: Requester;
  /** PE index, DeviceID, or GIC block number. */
  id: number;
}

export const BusStatus = { Ok: 0, DecodeError: 1, SlaveError: 2 } as const;
export type BusStatus = (typeof BusStatus)[keyof typeof BusStatus];

/** A memory-mapped device. Offsets are relative to the region base. */
export interface MmioDevice {
  read(offset: number, size: number, attrs: AccessAttrs): Word;
  write(offset: number, size: number, value: Word, attrs: AccessAttrs): void;
}

export interface Region {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly kind: 'ram' | 'mmio';
  readonly device: MmioDevice | null;
  /** Cycles a PE read costs (-1: the cost table's mmioRead). */
  readonly readCost: number;
  /** Cycles a PE write costs (-1: the cost table's mmioWrite). */
  readonly writeCost: number;
}

export class Bus {
  readonly memory = new PhysicalMemory();
  private regions: Region[] = [];
  /** The last RAM region `find` found. */
  private lastRam: Region | undefined;
  /** The last MMIO region `find` found. */
  private lastMmio: Region | undefined;
  /** Outcome of the most recent access. */
  status: BusStatus = BusStatus.Ok;
  /** The exclusive monitors RAM writes are reported to (the machine's; none for a bare bus). */
  private mon: ExclusiveMonitors = NO_MONITORS;

  /** Reports RAM writes to `monitors` from now on (the machine attaches its own). */
  watch(monitors: ExclusiveMonitors): void {
    this.mon = monitors;
  }

  addRam(name: string, base: number, size: number): Region {
    return this.add({ name, base, size, kind: 'ram', device: null, readCost: -1, writeCost: -1 });
  }

  addMmio(name: string, base: number, size: number, device: MmioDevice, readCost = -1, writeCost = -1): Region {
    return this.add({ name, base, size, kind: 'mmio', device, readCost, writeCost });
  }

  private add(r: Region): Region {
    if (r.base < 0 || r.base + r.size > PA_LIMIT || r.size <= 0) throw new Error(`region ${r.name}: outside the 48-bit physical address space`);
    for (const o of this.regions) {
      if (r.base < o.base + o.size && o.base < r.base + r.size) throw new Error(`region ${r.name} overlaps ${o.name}`);
    }
    this.regions.push(r);
    this.regions.sort((a, b) => a.base - b.base);
    return r;
  }

  /** All regions, sorted by base. */
  get map(): readonly Region[] {
    return this.regions;
  }

  /**
   * The region holding `addr`, or undefined. Two cached regions, the last RAM region and the
   * last MMIO region found, before the binary search: one interrupt's accesses alternate between
   * a GIC frame and RAM (a PE's MMIO access, then the GIC's table bit in RAM), which a single
   * last-region entry missed every time.
   */
  find(addr: number): Region | undefined {
    const l = this.lastRam;
    if (l !== undefined && addr >= l.base && addr < l.base + l.size) return l;
    const m = this.lastMmio;
    if (m !== undefined && addr >= m.base && addr < m.base + m.size) return m;
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else {
        if (r.device === null) this.lastRam = r;
        else this.lastMmio = r;
        return r;
      }
    }
    return undefined;
  }

  /** True when [addr, addr+len) lies inside one RAM region. */
  isRam(addr: number, len = 1): boolean {
    const r = this.find(addr);
    return r !== undefined && r.kind === 'ram' && addr + len <= r.base + r.size;
  }

  read(addr: number, size: number, attrs: AccessAttrs): Word {
    const r = this.find(addr);
    if (r === undefined || addr + size > r.base + r.size) {
      this.status = BusStatus.DecodeError;
      return size === 8 ? 0n : 0;
    }
    this.status = BusStatus.Ok;
    if (r.device === null) return this.memory.read(addr, size);
    return r.device.read(addr - r.base, size, attrs);
  }

  write(addr: number, size: number, value: Word, attrs: AccessAttrs): void {
    const r = this.find(addr);
    if (r === undefined || addr + size > r.base + r.size) {
      this.status = BusStatus.DecodeError;
      return;
    }
    this.status = BusStatus.Ok;
    if (r.device === null) {
      this.memory.write(addr, size, value);
      if (this.mon.marks !== 0) this.mon.written(addr, size, attrs);
    } else {
      r.device.write(addr - r.base, size, value, attrs);
    }
  }

  /** 32-bit read for bus masters that only need numbers (GIC table walks). Status as `read`. */
  read32(addr: number, attrs: AccessAttrs): number {
    const r = this.find(addr);
    if (r !== undefined && r.device === null && addr + 4 <= r.base + r.size) {
      this.status = BusStatus.Ok;
      return this.memory.read32(addr);
    }
    return Number(this.read(addr, 4, attrs));
  }

  write32(addr: number, value: number, attrs: AccessAttrs): void {
    const r = this.find(addr);
    if (r !== undefined && r.device === null && addr + 4 <= r.base + r.size) {
      this.status = BusStatus.Ok;
      this.memory.write32(addr, value);
      if (this.mon.marks !== 0) this.mon.written(addr, 4, attrs);
      return;
    }
    this.write(addr, 4, value, attrs);
  }

  read8(addr: number, attrs: AccessAttrs): number {
    const r = this.find(addr);
    if (r !== undefined && r.device === null) {
      this.status = BusStatus.Ok;
      return this.memory.read8(addr);
    }
    return Number(this.read(addr, 1, attrs));
  }

  write8(addr: number, value: number, attrs: AccessAttrs): void {
    const r = this.find(addr);
    if (r !== undefined && r.device === null) {
      this.status = BusStatus.Ok;
      this.memory.write8(addr, value);
      if (this.mon.marks !== 0) this.mon.written(addr, 1, attrs);
      return;
    }
    this.write(addr, 1, value, attrs);
  }

  /**
   * Read-modify-write of one byte for the GIC's table bits (pending tables, VPTs): sets (`set`)
   * or clears the bits `mask` and returns the byte as it was, with one region and one page
   * look-up instead of a `read8` and a `write8` each doing both. The byte is written even when
   * unchanged if `always`, else only when it changes; the write is reported to the exclusive
   * monitors as `write8` would report it.
   */
  modify8(addr: number, mask: number, set: boolean, always: boolean, attrs: AccessAttrs): number {
    const r = this.find(addr);
    if (r !== undefined && r.device === null) {
      this.status = BusStatus.Ok;
      const b = this.memory.modify8(addr, mask, set, always);
      if (this.mon.marks !== 0 && (always || (set ? b | mask : b & ~mask) !== b)) this.mon.written(addr, 1, attrs);
      return b;
    }
    const b = Number(this.read(addr, 1, attrs));
    const nb = set ? b | mask : b & ~mask;
    if (always || nb !== b) this.write(addr, 1, nb, attrs);
    return b;
  }
}
