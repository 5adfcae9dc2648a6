/**
 * One redistributor (GICR; IHI 0069, the GICR_* register descriptions, and IHI 0069H §5.1
 * "LPIs"): the SGIs and PPIs of its PE, its LPIs, and the RD_base and SGI_base frames through
 * which software reaches them.
 *
 * How it works
 * - SGI/PPI state is one 32-bit mask per attribute (bit n = INTID n): group, enable, pending
 *   latch, input level (PPIs), active, edge; plus a priority byte each. Pending = latch |
 *   (level & ~edge). SGIs are always edge-triggered (GICR_ICFGR0 RAO/WI); PPIs reset to
 *   level-sensitive and GICR_ICFGR1 may make them edge-triggered.
 * - LPIs: `LpiTables` holds the configuration cache, the pending table and the candidate heap.
 *   An LPI whose configuration byte is not cached becomes a candidate only after the fetch
 *   completes, `lpiConfigFetch` cycles later (`hooks.requestFill`). Invalidations re-fetch
 *   pending LPIs at once and keep the redistributor busy for `lpiConfigFetch` per fetch, which
 *   software sees as GICR_SYNCR.Busy = 1 (Linux polls it after GICR_INVLPIR/INVALLR).
 * - GICR_WAKER: ProcessorSleep and ChildrenAsleep reset to 1; writing ProcessorSleep = 0 wakes
 *   the redistributor and ChildrenAsleep follows at once (CHOICE: no wake latency). While asleep
 *   the redistributor signals nothing to its CPU interface (state is kept, nothing is lost).
 * - GICR_CTLR.EnableLPIs: CHOICE, once set it cannot be cleared (the architecture makes this
 *   IMPLEMENTATION DEFINED); GICR_PROPBASER/PENDBASER are read-only while it is set (changing
 *   them is UNPREDICTABLE). The tables are latched when it is set; with PENDBASER.PTZ = 0 the
 *   pending table is read once (PTZ is a write-only hint and reads as 0).
 * - Cacheability and shareability fields of PROPBASER/PENDBASER are stored as written and have
 *   no effect (memory is coherent).
 */
import { GICR_INVLPIR_V41 } from './vlpi-registers.js';
import { bits, field32, fieldOfPair, hi32, lo32, toBig } from '../core/bits.js';
import type { Machine } from '../core/machine.js';
import { W32, W64, RegisterBlock, constReg, type RegisterRegion } from '../core/regions.js';
import { priorityMask, type GicConfig } from './config.js';
import { bitRegion, byteRegion, edgeFromIcfgr, icfgrFromEdge, lowestBit } from './bit-registers.js';
import {
  GICR_CTLR,
  GICR_LPIR,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GICR_SYNCR,
  GICR_TYPER,
  GICR_WAKER,
  GIC_PIDR2,
  IIDR_VALUE,
  KEY_PRIORITY_UNIT,
  PRIVATE_COUNT,
  SGI_COUNT,
} from './gic-registers.js';
import { LpiSet } from './lpi-candidates.js';
import { LpiTables } from './lpi-tables.js';
import { GICR, GICR_SGI } from './mmio-offsets.js';
import type { GicPendingCause } from './physical-trace.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const UNIT = KEY_PRIORITY_UNIT;
const lsb1 = lowestBit;

/** RD_base and SGI_base are 64 KB each. */
export const RD_FRAME_SIZE = 0x10000;

const SGI_MASK = (1 << SGI_COUNT) - 1;

// Registers software touches around every LPI (re)configuration and residency change, taken
// apart or built through field positions resolved once instead of `Layout.get`/`decode`/`encode`
// (a by-name lookup or a record per access).
const LPIR_PINTID = GICR_LPIR.field('pINTID');
const INVLPIR_V = GICR_INVLPIR_V41.field('V');
const INVLPIR_VPEID = GICR_INVLPIR_V41.field('vPEID');
const INVLPIR_INTID = GICR_INVLPIR_V41.field('INTID');
/** GICR_SYNCR with Busy = 1. */
const SYNCR_BUSY = GICR_SYNCR.encode({ Busy: 1 });

/** What a redistributor needs from the rest of the GIC. */
export interface RedistributorHooks {
  /** State changed that can change this PE's highest-priority pending interrupt. */
  changed(): void;
  /** Fetch LPI `intid`'s configuration byte for redistributor `rd`; completes with `completeLpiFill` after `lpiConfigFetch`. */
  requestFill(rd: number, intid: number): void;
  /** GICR_WAKER.ProcessorSleep changed (1-of-N participation). */
  wakerChanged(): void;
  /**
   * GICv4.1: GICR_INVLPIR (`intid`) or GICR_INVALLR (`intid` = -1) written with V = 1: the vLPI
   * configuration of vPE `vpeid` at redistributor `rd` is re-read (IHI 0069, GICR_INVLPIR, GICR_INVALLR).
   */
  invalidateVlpi?(rd: number, vpeid: number, intid: number): void;
}

export class Redistributor {
  // ---- SGIs and PPIs: bit n = INTID n
  group = 0;
  enable = 0;
  latch = 0;
  level = 0;
  active = 0;
  edge = SGI_MASK;
  readonly priority = new Uint8Array(PRIVATE_COUNT);

  /** GICR_WAKER.ProcessorSleep (ChildrenAsleep follows it). */
  asleep = true;
  /** GICR_CTLR.EnableLPIs. */
  lpisEnabled = false;
  /** GICR_PROPBASER / GICR_PENDBASER as stored (PTZ kept apart). */
  propbaser = 0n;
  pendbaser = 0n;
  private ptz = false;
  /** Time until which LPI configuration fetches of an invalidation keep the RD busy (GICR_SYNCR.Busy). */
  busyUntil = 0;

  readonly lpis: LpiTables;
  readonly rdBlock: RegisterBlock;
  readonly sgiBlock: RegisterBlock;
  /** GICR_TYPER. */
  readonly typer: bigint;
  /** Aff3 << 24 | Aff2 << 16 | Aff1 << 8 | Aff0 of this RD's PE. */
  readonly affinity: number;
  private readonly priorityMask: number;

  constructor(
    private readonly m: Machine,
    private readonly cfg: GicConfig,
    /** Redistributor index = PE index = GICR_TYPER.Processor_Number. */
    readonly index: number,
    mpidr: number,
    last: boolean,
    private readonly hooks: RedistributorHooks,
  ) {
    this.priorityMask = priorityMask(cfg.priorityBits);
    const aff = { Aff0: bits(mpidr, 7, 0), Aff1: bits(mpidr, 15, 8), Aff2: bits(mpidr, 23, 16), Aff3: bits(mpidr, 39, 32) };
    this.affinity = aff.Aff3 * 2 ** 24 + aff.Aff2 * 65536 + aff.Aff1 * 256 + aff.Aff0;
    const v4 = cfg.version === 4 ? 1 : 0;
    this.typer = GICR_TYPER.encode({
      PLPIS: 1,
      VLPIS: v4,
      Dirty: v4,
      DirectLPI: 1,
      Last: last ? 1 : 0,
      // GICv4.1: VPENDBASER names the vPE by vPEID. CHOICE: CommonLPIAff = 0, every
      // redistributor shares one vPE configuration table (and LPI tables).
      RVPEID: cfg.v41 ? 1 : 0,
      CommonLPIAff: 0,
      Processor_Number: index,
      ...aff,
    });
    this.lpis = new LpiTables(m.bus, { requester: 'gic', id: index }, this.priorityMask);
    this.rdBlock = new RegisterBlock(`GICR${index}.RD_base`, RD_FRAME_SIZE, this.rdRegions());
    this.sgiBlock = new RegisterBlock(`GICR${index}.SGI_base`, RD_FRAME_SIZE, this.sgiRegions());
  }

  // ---------------------------------------------------------------- SGIs and PPIs

  groupOf(intid: number): number {
    return (this.group >>> intid) & 1;
  }

  pendingMask(): number {
    return (this.latch | (this.level & ~this.edge)) >>> 0;
  }

  /** An SGI of `group` arrives (after `sgiLatency`). Delivered only if this RD configures it in that group. */
  receiveSgi(intid: number, group: number): boolean {
    if (this.groupOf(intid) !== group) return false;
    const bit = 1 << intid;
    if ((this.latch & bit) === 0) {
      this.latch = (this.latch | bit) >>> 0;
      this.tracePending(intid, 'sgi');
    }
    this.hooks.changed();
    return true;
  }

  /** A PPI input (timer, maintenance interrupt, PMU) changed level. */
  setPpiLevel(intid: number, high: boolean): void {
    if (intid < SGI_COUNT || intid >= PRIVATE_COUNT) return;
    const bit = 1 << intid;
    if (((this.level & bit) !== 0) === high) return;
    const before = this.m.trace.on ? this.pendingMask() : 0;
    if (high) {
      this.level = (this.level | bit) >>> 0;
      if ((this.edge & bit) !== 0) this.latch = (this.latch | bit) >>> 0;
    } else {
      this.level = (this.level & ~bit) >>> 0;
    }
    if (this.m.trace.on && (this.pendingMask() & ~before & bit) !== 0) this.tracePending(intid, (this.edge & bit) !== 0 ? 'edge' : 'line');
    this.hooks.changed();
  }

  /** Best ready SGI/PPI whose group is allowed, as `priority * 2^24 + INTID`, or -1. */
  best(grp0: boolean, grp1: boolean): number {
    let cand = this.pendingMask() & this.enable & ~this.active & ((grp1 ? this.group : 0) | (grp0 ? ~this.group : 0));
    let best = -1;
    while (cand !== 0) {
      const b = lsb1(cand);
      cand &= cand - 1;
      const key = this.priority[b]! * UNIT + b;
      if (best < 0 || key < best) best = key;
    }
    return best;
  }

  /** Acknowledge of an SGI/PPI: pending -> active. */
  activate(intid: number): void {
    const bit = 1 << intid;
    this.active = (this.active | bit) >>> 0;
    this.latch = (this.latch & ~bit) >>> 0;
  }

  /** Deactivation of an SGI/PPI. Returns whether it was active. */
  deactivate(intid: number): boolean {
    const bit = 1 << intid;
    if ((this.active & bit) === 0) return false;
    this.active = (this.active & ~bit) >>> 0;
    this.hooks.changed();
    return true;
  }

  // ---------------------------------------------------------------- LPIs

  /** Makes LPI `intid` pending here; false (dropped) when EnableLPIs = 0 or `intid` is out of range. */
  setLpiPending(intid: number): boolean {
    const l = this.lpis;
    if (!l.inRange(intid)) {
      this.traceLpi(intid, 'dropped', this.lpisEnabled ? l.idBits : -1);
      return false;
    }
    const r = l.setPending(intid);
    if (r === LpiSet.Already) return true;
    this.tracePending(intid, 'lpi');
    if (r === LpiSet.NeedsFill) this.hooks.requestFill(this.index, intid);
    else if (r === LpiSet.Candidate) this.hooks.changed();
    return true;
  }

  clearLpiPending(intid: number): void {
    if (this.lpis.clearPending(intid)) {
      this.traceLpi(intid, 'cleared', 0);
      this.hooks.changed();
    }
  }

  /** Acknowledge of an LPI: its pending state is cleared (in memory too); LPIs have no active state. */
  acknowledgeLpi(intid: number): void {
    this.lpis.clearPending(intid);
  }

  /** The configuration fetch of `intid` completed. */
  completeLpiFill(intid: number): void {
    const cand = this.lpis.completeFill(intid);
    if (this.m.trace.on) this.traceLpi(intid, 'fill', this.lpis.cachedConfig(intid));
    if (cand) this.hooks.changed();
  }

  /** INV / GICR_INVLPIR. */
  invalidateLpi(intid: number): void {
    if (!this.lpis.inRange(intid)) return;
    const fetched = this.lpis.invalidate(intid) ? 1 : 0;
    this.busy(fetched);
    this.traceLpi(intid, 'inv', fetched);
    this.hooks.changed();
  }

  /** INVALL / GICR_INVALLR. */
  invalidateAllLpis(): void {
    if (!this.lpisEnabled) return;
    const fetched = this.lpis.invalidateAll();
    this.busy(fetched);
    this.traceLpi(-1, 'invall', fetched);
    this.hooks.changed();
  }

  /** Best pending enabled LPI (`priority * 2^24 + INTID`) or -1. */
  bestLpi(): number {
    return this.lpisEnabled ? this.lpis.best() : -1;
  }

  private busy(fetches: number): void {
    if (fetches === 0) return;
    this.busyUntil = Math.max(this.busyUntil, this.m.now) + fetches * this.m.costs.lpiConfigFetch;
  }

  private enableLpis(): void {
    this.lpisEnabled = true;
    const prop = GICR_PROPBASER.decode(this.propbaser);
    const pend = GICR_PENDBASER.decode(this.pendbaser);
    const idBits = Math.min(prop.IDbits + 1, this.cfg.idBits);
    this.lpis.enable(prop.PA * 4096, pend.PA * 65536, idBits);
    if (!this.ptz) {
      const found = this.lpis.scanPendingTable();
      this.busy(found);
      this.traceLpi(-1, 'scan', found);
      if (found > 0) this.hooks.changed();
    }
  }

  // ---------------------------------------------------------------- trace

  private tracePending(intid: number, cause: GicPendingCause): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'gic-pending', intid, pe: this.index, cause });
  }

  private traceLpi(intid: number, what: 'dropped' | 'fill' | 'inv' | 'invall' | 'scan' | 'cleared', detail: number): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'gic-lpi', intid, pe: this.index, what, detail });
  }

  private ignored(what: string, value: number): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'gic-ignored', block: `GICR${this.index}`, what, value });
  }

  // ---------------------------------------------------------------- registers

  private rdRegions(): RegisterRegion[] {
    const lpir = (name: string, offset: number, fn: (intid: number) => void): RegisterRegion => ({
      name,
      offset,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      write: (_o, _s, v) => fn(field32(lo32(v), LPIR_PINTID.lsb, LPIR_PINTID.width)),
    });
    // GICv4.1: V = 1 names a vLPI of vPE vPEID (IHI 0069, GICR_INVLPIR, GICR_INVALLR); V = 0 the physical LPI(s).
    const vlpir = (name: string, offset: number, all: boolean): RegisterRegion => ({
      name,
      offset,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      write: (_o, _s, v) => {
        const lo = lo32(v);
        const hi = hi32(v);
        const intid = fieldOfPair(lo, hi, INVLPIR_INTID.lsb, INVLPIR_INTID.width);
        if (fieldOfPair(lo, hi, INVLPIR_V.lsb, INVLPIR_V.width) === 1) this.hooks.invalidateVlpi?.(this.index, fieldOfPair(lo, hi, INVLPIR_VPEID.lsb, INVLPIR_VPEID.width), all ? -1 : intid);
        else if (all) this.invalidateAllLpis();
        else this.invalidateLpi(intid);
      },
    });
    const base64 = (name: string, offset: number, get: () => bigint, set: (v: bigint) => void): RegisterRegion => ({
      name,
      offset,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      read: () => get(),
      write: (_o, _s, v) => {
        if (this.lpisEnabled) {
          // UNPREDICTABLE while EnableLPIs = 1; CHOICE: ignored.
          if (this.m.trace.on) this.ignored(`${name} write with EnableLPIs=1`, lo32(v));
          return;
        }
        set(toBig(v));
      },
    });
    return [
      {
        name: 'GICR_CTLR',
        offset: GICR.CTLR,
        length: 4,
        widths: W32,
        read: () => GICR_CTLR.encode({ EnableLPIs: this.lpisEnabled ? 1 : 0 }),
        write: (_o, _s, v) => {
          const want = GICR_CTLR.get(lo32(v), 'EnableLPIs') === 1;
          if (want && !this.lpisEnabled) this.enableLpis();
          else if (!want && this.lpisEnabled) this.ignored('GICR_CTLR.EnableLPIs cannot be cleared', lo32(v));
        },
      },
      constReg('GICR_IIDR', GICR.IIDR, IIDR_VALUE),
      constReg('GICR_TYPER', GICR.TYPER, this.typer, W32 | W64, 8),
      {
        name: 'GICR_WAKER',
        offset: GICR.WAKER,
        length: 4,
        widths: W32,
        read: () => GICR_WAKER.encode({ ProcessorSleep: this.asleep ? 1 : 0, ChildrenAsleep: this.asleep ? 1 : 0 }),
        write: (_o, _s, v) => {
          const sleep = GICR_WAKER.get(lo32(v), 'ProcessorSleep') === 1;
          if (sleep === this.asleep) return;
          this.asleep = sleep;
          const m = this.m;
          if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'gic-waker', pe: this.index, asleep: sleep });
          this.hooks.wakerChanged();
          this.hooks.changed();
        },
      },
      lpir('GICR_SETLPIR', GICR.SETLPIR, (intid) => this.setLpiPending(intid)),
      lpir('GICR_CLRLPIR', GICR.CLRLPIR, (intid) => this.clearLpiPending(intid)),
      base64('GICR_PROPBASER', GICR.PROPBASER, () => this.propbaser, (v) => (this.propbaser = GICR_PROPBASER.encode(GICR_PROPBASER.decode(v)))),
      base64(
        'GICR_PENDBASER',
        GICR.PENDBASER,
        () => this.pendbaser,
        (v) => {
          const d = GICR_PENDBASER.decode(v);
          this.ptz = d.PTZ === 1;
          this.pendbaser = GICR_PENDBASER.encode({ ...d, PTZ: 0 });
        },
      ),
      this.cfg.v41 ? vlpir('GICR_INVLPIR', GICR.INVLPIR, false) : lpir('GICR_INVLPIR', GICR.INVLPIR, (intid) => this.invalidateLpi(intid)),
      this.cfg.v41 ? vlpir('GICR_INVALLR', GICR.INVALLR, true) : lpir('GICR_INVALLR', GICR.INVALLR, () => this.invalidateAllLpis()),
      {
        name: 'GICR_SYNCR',
        offset: GICR.SYNCR,
        length: 4,
        widths: W32,
        read: () => (this.m.now < this.busyUntil ? SYNCR_BUSY : 0),
      },
      constReg('GICR_PIDR2', GICR.PIDR2, GIC_PIDR2.encode({ ArchRev: this.cfg.version })),
    ];
  }

  private sgiRegions(): RegisterRegion[] {
    const one = (name: string, offset: number, read: () => number, write?: (v: number) => void): RegisterRegion =>
      bitRegion(name, offset, 1, { read: () => read(), write: (_n, v) => write?.(v) }, write !== undefined);
    const changed = (): void => this.hooks.changed();
    return [
      one('GICR_IGROUPR0', GICR_SGI.IGROUPR0, () => this.group, (v) => {
        this.group = v;
        changed();
      }),
      one('GICR_ISENABLER0', GICR_SGI.ISENABLER0, () => this.enable, (v) => {
        this.enable = (this.enable | v) >>> 0;
        changed();
      }),
      one('GICR_ICENABLER0', GICR_SGI.ICENABLER0, () => this.enable, (v) => {
        this.enable = (this.enable & ~v) >>> 0;
        changed();
      }),
      one('GICR_ISPENDR0', GICR_SGI.ISPENDR0, () => this.pendingMask(), (v) => {
        let fresh = this.m.trace.on ? v & ~this.pendingMask() : 0;
        this.latch = (this.latch | v) >>> 0;
        while (fresh !== 0) {
          const b = lsb1(fresh);
          fresh &= fresh - 1;
          this.tracePending(b, 'register');
        }
        changed();
      }),
      // Clears the latch only: a level-sensitive PPI whose input is high stays pending.
      one('GICR_ICPENDR0', GICR_SGI.ICPENDR0, () => this.pendingMask(), (v) => {
        this.latch = (this.latch & ~v) >>> 0;
        changed();
      }),
      one('GICR_ISACTIVER0', GICR_SGI.ISACTIVER0, () => this.active, (v) => {
        this.active = (this.active | v) >>> 0;
        changed();
      }),
      one('GICR_ICACTIVER0', GICR_SGI.ICACTIVER0, () => this.active, (v) => {
        this.active = (this.active & ~v) >>> 0;
        changed();
      }),
      byteRegion('GICR_IPRIORITYR', GICR_SGI.IPRIORITYR, PRIVATE_COUNT, {
        read: (i) => this.priority[i]!,
        write: (i, v) => {
          this.priority[i] = v & this.priorityMask;
          changed();
        },
      }),
      // SGIs are always edge-triggered: RAO/WI.
      constReg('GICR_ICFGR0', GICR_SGI.ICFGR0, icfgrFromEdge(0xffff)),
      one('GICR_ICFGR1', GICR_SGI.ICFGR1, () => icfgrFromEdge(this.edge >>> 16), (v) => {
        this.edge = ((edgeFromIcfgr(v) << 16) | SGI_MASK) >>> 0;
        changed();
      }),
    ];
  }
}
