/**
 * The distributor (GICD; IHI 0069, the GICD_* register descriptions): SPI state and routing,
 * reached by software through the GICD frame. SGIs and PPIs live in the redistributors; with
 * affinity routing (ARE = 1, always) the GICD entries of INTIDs 0-31 are RAZ/WI.
 *
 * How it works
 * - Per-INTID state is kept in 32-bit words (group, enable, pending latch, input level, active,
 *   edge), one word per 32 INTIDs, plus a byte of priority and the IROUTER value per SPI.
 * - Pending = latch | (level & ~edge): a level-sensitive SPI is pending while its input is high;
 *   the latch is set by a rising edge (edge-triggered), GICD_ISPENDR, and cleared by
 *   GICD_ICPENDR and by acknowledge (a level SPI whose input is still high stays pending, so it
 *   becomes active and pending).
 * - `ready[w]` = pending & enable & ~active for word w, recomputed for the one word that changed,
 *   with a summary bit per non-empty word; a CPU interface asks `best(pe, ...)` for the best ready
 *   SPI routed to it, which visits only ready SPIs.
 * - Routing: IROUTER.IRM = 0 names one PE by affinity (no such PE: the SPI stays pending and
 *   reaches nobody). IRM = 1 (1-of-N) CHOICE: the SPI goes to the lowest-numbered PE that
 *   participates (redistributor awake, the SPI's group enabled in its ICC_IGRPEN), chosen when
 *   the SPI becomes ready and again whenever participation changes; with no participant, to
 *   the lowest-numbered awake PE, else PE 0.
 * - Group enables (GICD_CTLR.EnableGrp0/1) are applied by the CPU interface when it selects.
 */
import { lo32, toNum, type Word } from '../core/bits.js';
import type { Machine } from '../core/machine.js';
import { W32, W64, RegisterBlock, constReg, type RegisterRegion } from '../core/regions.js';
import { priorityMask, type GicConfig } from './config.js';
import { bitRegion, byteRegion, edgeFromIcfgr, icfgrFromEdge, lowestBit } from './bit-registers.js';
import {
  GICD_CTLR,
  GICD_IROUTER,
  GICD_TYPER,
  GICD_TYPER2,
  GIC_PIDR2,
  IIDR_VALUE,
  KEY_PRIORITY_UNIT,
  PRIVATE_COUNT,
} from './gic-registers.js';
import { GICD } from './mmio-offsets.js';
import type { GicPendingCause } from './physical-trace.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const UNIT = KEY_PRIORITY_UNIT;
const lsb1 = lowestBit;
const PRIVATE = PRIVATE_COUNT;

export const GICD_FRAME_SIZE = 0x10000;

/** What the distributor needs from the rest of the GIC. */
export interface DistributorHooks {
  /** SPI state changed in a way that can change PE `pe`'s highest-priority pending interrupt (-1: every PE). */
  changed(pe: number): void;
  /** The PE whose affinity is `aff` (Aff3 << 24 | Aff2 << 16 | Aff1 << 8 | Aff0), or -1. */
  peByAffinity(aff: number): number;
  /** 1-of-N: the PE that should take an SPI of `group` now. */
  chooseOneOfN(group: number): number;
}

export class Distributor {
  /** GICD_CTLR.EnableGrp0 / EnableGrp1. */
  enableGrp0 = false;
  enableGrp1 = false;
  /** Words of 32 INTIDs, including word 0 (INTIDs 0-31, unused here). */
  readonly words: number;
  /** One past the last SPI. */
  readonly limit: number;
  readonly group: Uint32Array;
  readonly enable: Uint32Array;
  readonly latch: Uint32Array;
  readonly level: Uint32Array;
  readonly active: Uint32Array;
  readonly edge: Uint32Array;
  readonly irm: Uint32Array;
  readonly priority: Uint8Array;
  /** Raw IROUTER value per INTID (writable bits only). */
  readonly irouter: Float64Array;
  /** Resolved target PE per INTID, -1 for none. */
  readonly target: Int16Array;
  private readonly ready: Uint32Array;
  private readySummary = 0;
  readonly block: RegisterBlock;
  private readonly priorityMask: number;

  constructor(
    private readonly m: Machine,
    private readonly cfg: GicConfig,
    private readonly hooks: DistributorHooks,
  ) {
    this.limit = PRIVATE + cfg.spis;
    this.words = this.limit >>> 5;
    const w = this.words;
    this.group = new Uint32Array(w);
    this.enable = new Uint32Array(w);
    this.latch = new Uint32Array(w);
    this.level = new Uint32Array(w);
    this.active = new Uint32Array(w);
    this.edge = new Uint32Array(w);
    this.irm = new Uint32Array(w);
    this.ready = new Uint32Array(w);
    this.priority = new Uint8Array(this.limit);
    this.irouter = new Float64Array(this.limit);
    this.target = new Int16Array(this.limit).fill(-1);
    this.priorityMask = priorityMask(cfg.priorityBits);
    // IROUTER resets to 0: Aff3.Aff2.Aff1.Aff0 = 0.0.0.0, which is PE 0 on this machine.
    for (let i = PRIVATE; i < this.limit; i++) this.target[i] = this.hooks.peByAffinity(0);
    this.block = new RegisterBlock('GICD', GICD_FRAME_SIZE, this.regions());
  }

  /** True for an implemented SPI. */
  isSpi(intid: number): boolean {
    return intid >= PRIVATE && intid < this.limit;
  }

  groupOf(intid: number): number {
    return (this.group[intid >>> 5]! >>> (intid & 31)) & 1;
  }

  isPending(intid: number): boolean {
    const w = intid >>> 5;
    const bit = 1 << (intid & 31);
    return ((this.latch[w]! | (this.level[w]! & ~this.edge[w]!)) & bit) !== 0;
  }

  isActive(intid: number): boolean {
    return ((this.active[intid >>> 5]! >>> (intid & 31)) & 1) !== 0;
  }

  // ---------------------------------------------------------------- device inputs

  /** An SPI input line changed level. A rising edge latches an edge-triggered SPI. */
  setLevel(intid: number, high: boolean): void {
    if (!this.isSpi(intid)) return;
    const w = intid >>> 5;
    const bit = 1 << (intid & 31);
    const was = (this.level[w]! & bit) !== 0;
    if (was === high) return;
    const traced = this.m.trace.on;
    const wasPending = traced && this.isPending(intid);
    if (high) {
      this.level[w] = (this.level[w]! | bit) >>> 0;
      if ((this.edge[w]! & bit) !== 0) this.latch[w] = (this.latch[w]! | bit) >>> 0;
    } else {
      this.level[w] = (this.level[w]! & ~bit) >>> 0;
    }
    this.refresh(w);
    if (traced && !wasPending && this.isPending(intid)) this.tracePending(intid, (this.edge[w]! & bit) !== 0 ? 'edge' : 'line');
    this.hooks.changed(this.target[intid]!);
  }

  // ---------------------------------------------------------------- CPU interface side

  /** The best ready SPI routed to `pe` whose group is allowed, as `priority * 2^24 + INTID`, or -1. */
  best(pe: number, grp0: boolean, grp1: boolean): number {
    let best = -1;
    let s = this.readySummary;
    while (s !== 0) {
      const w = lsb1(s);
      s &= s - 1;
      const g = this.group[w]!;
      let cand = this.ready[w]! & ((grp1 ? g : 0) | (grp0 ? ~g : 0));
      while (cand !== 0) {
        const b = lsb1(cand);
        cand &= cand - 1;
        const intid = (w << 5) | b;
        if (this.target[intid] !== pe) continue;
        const key = this.priority[intid]! * UNIT + intid;
        if (best < 0 || key < best) best = key;
      }
    }
    return best;
  }

  /** Acknowledge: pending -> active (the latch is cleared; a level input still high keeps it pending). */
  activate(intid: number): void {
    const w = intid >>> 5;
    const bit = 1 << (intid & 31);
    this.active[w] = (this.active[w]! | bit) >>> 0;
    this.latch[w] = (this.latch[w]! & ~bit) >>> 0;
    this.refresh(w);
  }

  /** Leaves the active state. Returns whether it was active. */
  deactivate(intid: number): boolean {
    if (!this.isSpi(intid)) return false;
    const w = intid >>> 5;
    const bit = 1 << (intid & 31);
    if ((this.active[w]! & bit) === 0) return false;
    this.active[w] = (this.active[w]! & ~bit) >>> 0;
    this.refresh(w);
    this.hooks.changed(this.target[intid]!);
    return true;
  }

  /** Re-chooses the target of every 1-of-N SPI (participation changed). */
  retargetOneOfN(): void {
    for (let w = 1; w < this.words; w++) {
      let x = this.irm[w]!;
      while (x !== 0) {
        const b = lsb1(x);
        x &= x - 1;
        this.retarget((w << 5) | b);
      }
    }
  }

  // ---------------------------------------------------------------- internals

  /** Recomputes `ready` for word `w` (and the summary); newly ready 1-of-N SPIs pick a target. */
  private refresh(w: number): void {
    if (w === 0) return;
    const old = this.ready[w]!;
    const r = ((this.latch[w]! | (this.level[w]! & ~this.edge[w]!)) & this.enable[w]! & ~this.active[w]!) >>> 0;
    this.ready[w] = r;
    if (r !== 0) this.readySummary |= 1 << w;
    else this.readySummary &= ~(1 << w);
    let fresh = r & ~old & this.irm[w]!;
    while (fresh !== 0) {
      const b = lsb1(fresh);
      fresh &= fresh - 1;
      this.retarget((w << 5) | b);
    }
  }

  private retarget(intid: number): void {
    const v = this.irouter[intid]!;
    const old = this.target[intid]!;
    let t: number;
    if (GICD_IROUTER.get(v, 'Interrupt_Routing_Mode') === 1) {
      t = this.hooks.chooseOneOfN(this.groupOf(intid));
    } else {
      const d = GICD_IROUTER.decode(v);
      t = this.hooks.peByAffinity(d.Aff3 * 2 ** 24 + d.Aff2 * 65536 + d.Aff1 * 256 + d.Aff0);
    }
    if (t === old) return;
    this.target[intid] = t;
    if (this.isReady(intid)) {
      this.hooks.changed(old);
      this.hooks.changed(t);
    }
  }

  private isReady(intid: number): boolean {
    return ((this.ready[intid >>> 5]! >>> (intid & 31)) & 1) !== 0;
  }

  private tracePending(intid: number, cause: GicPendingCause): void {
    const m = this.m;
    if (!m.trace.on) return;
    const pe = this.target[intid]!;
    m.trace.emit({ t: m.now, core: pe, el: pe >= 0 ? m.pes[pe]!.el : -1, kind: 'gic-pending', intid, pe, cause });
  }

  /** A write to a one-bit-per-INTID register family: applies `op` to word n (SPI words only). */
  private bitWrite(n: number, v: number, op: (n: number, v: number) => void, cause: GicPendingCause | null): void {
    if (n === 0 || n >= this.words) return;
    const traced = cause !== null && this.m.trace.on;
    const before = traced ? this.pendingWord(n) : 0;
    op(n, v);
    this.refresh(n);
    if (traced) {
      let fresh = this.pendingWord(n) & ~before;
      while (fresh !== 0) {
        const b = lsb1(fresh);
        fresh &= fresh - 1;
        this.tracePending((n << 5) | b, cause);
      }
    }
    this.hooks.changed(-1);
  }

  private pendingWord(n: number): number {
    return (this.latch[n]! | (this.level[n]! & ~this.edge[n]!)) >>> 0;
  }

  private regions(): RegisterRegion[] {
    const cfg = this.cfg;
    const words = this.words;
    const rd = (arr: Uint32Array) => (n: number): number => (n === 0 || n >= words ? 0 : arr[n]!);
    const typer = GICD_TYPER.encode({
      ITLinesNumber: cfg.spis / 32,
      LPIS: 1,
      DVIS: cfg.version === 4 ? 1 : 0,
      IDbits: cfg.idBits - 1,
      A3V: 1,
    });
    return [
      {
        name: 'GICD_CTLR',
        offset: GICD.CTLR,
        length: 4,
        widths: W32,
        // ARE and DS are RAO/WI (affinity routing, one Security state); RWP reads 0: writes complete at once.
        read: () => GICD_CTLR.encode({ EnableGrp0: this.enableGrp0 ? 1 : 0, EnableGrp1: this.enableGrp1 ? 1 : 0, ARE: 1, DS: 1 }),
        write: (_o, _s, v) => {
          const d = GICD_CTLR.decode(lo32(v));
          this.enableGrp0 = d.EnableGrp0 === 1;
          this.enableGrp1 = d.EnableGrp1 === 1;
          this.hooks.changed(-1);
        },
      },
      constReg('GICD_TYPER', GICD.TYPER, typer),
      constReg('GICD_IIDR', GICD.IIDR, IIDR_VALUE),
      // GICv4.1: vPEID bits (VIL = 1 names fewer than 16); nASSGIcap = 1: the GIC supports SGIs
      // without an active state (vSGIs, gic/vsgi.ts). CHOICE: the physical GICD_CTLR.nASSGIreq
      // stays RAZ/WI (the model's physical SGIs keep their active state; only vSGIs lack it).
      ...(cfg.v41 ? [constReg('GICD_TYPER2', GICD.TYPER2, GICD_TYPER2.encode({ VID: cfg.its.vpeIdBits - 1, VIL: cfg.its.vpeIdBits < 16 ? 1 : 0, nASSGIcap: 1 }))] : []),
      bitRegion('GICD_IGROUPR', GICD.IGROUPR, 32, {
        read: rd(this.group),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.group[k] = x), null),
      }),
      bitRegion('GICD_ISENABLER', GICD.ISENABLER, 32, {
        read: rd(this.enable),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.enable[k] = (this.enable[k]! | x) >>> 0), null),
      }),
      bitRegion('GICD_ICENABLER', GICD.ICENABLER, 32, {
        read: rd(this.enable),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.enable[k] = (this.enable[k]! & ~x) >>> 0), null),
      }),
      bitRegion('GICD_ISPENDR', GICD.ISPENDR, 32, {
        read: (n) => (n === 0 || n >= words ? 0 : this.pendingWord(n)),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.latch[k] = (this.latch[k]! | x) >>> 0), 'register'),
      }),
      bitRegion('GICD_ICPENDR', GICD.ICPENDR, 32, {
        read: (n) => (n === 0 || n >= words ? 0 : this.pendingWord(n)),
        // Clears the latch only: a level-sensitive SPI whose input is high stays pending.
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.latch[k] = (this.latch[k]! & ~x) >>> 0), null),
      }),
      bitRegion('GICD_ISACTIVER', GICD.ISACTIVER, 32, {
        read: rd(this.active),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.active[k] = (this.active[k]! | x) >>> 0), null),
      }),
      bitRegion('GICD_ICACTIVER', GICD.ICACTIVER, 32, {
        read: rd(this.active),
        write: (n, v) => this.bitWrite(n, v, (k, x) => (this.active[k] = (this.active[k]! & ~x) >>> 0), null),
      }),
      byteRegion('GICD_IPRIORITYR', GICD.IPRIORITYR, 1020, {
        read: (i) => (this.isSpi(i) ? this.priority[i]! : 0),
        write: (i, v) => {
          if (!this.isSpi(i)) return;
          this.priority[i] = v & this.priorityMask;
          this.hooks.changed(-1);
        },
      }),
      {
        name: 'GICD_ICFGR',
        offset: GICD.ICFGR,
        length: 0x100,
        widths: W32,
        read: (off) => {
          const n = off >>> 2;
          const w = n >>> 1;
          if (w === 0 || w >= words) return 0;
          return icfgrFromEdge((this.edge[w]! >>> (16 * (n & 1))) & 0xffff);
        },
        write: (off, _s, v) => {
          const n = off >>> 2;
          const w = n >>> 1;
          if (w === 0 || w >= words) return;
          const shift = 16 * (n & 1);
          const keep = this.edge[w]! & ~(0xffff << shift);
          this.edge[w] = (keep | (edgeFromIcfgr(lo32(v)) << shift)) >>> 0;
          this.refresh(w);
          this.hooks.changed(-1);
        },
      },
      {
        name: 'GICD_IROUTER',
        // IROUTER<n> for the SPIs, n = 32..1019 (the SGI/PPI entries are reserved with ARE = 1).
        offset: GICD.IROUTER + 8 * PRIVATE_COUNT,
        length: 8 * 988,
        widths: W32 | W64,
        regSize: 8,
        read: (off): Word => {
          const i = PRIVATE + (off >>> 3);
          return this.isSpi(i) ? this.irouter[i]! : 0;
        },
        write: (off, _s, v) => {
          const i = PRIVATE + (off >>> 3);
          if (!this.isSpi(i)) return;
          // Only Aff0-Aff3 and Interrupt_Routing_Mode hold state; encode() drops the RES0 bits.
          const val = GICD_IROUTER.encode(GICD_IROUTER.decode(toNum(v)));
          this.irouter[i] = val;
          const w = i >>> 5;
          const bit = 1 << (i & 31);
          if (GICD_IROUTER.get(val, 'Interrupt_Routing_Mode') === 1) this.irm[w] = (this.irm[w]! | bit) >>> 0;
          else this.irm[w] = (this.irm[w]! & ~bit) >>> 0;
          this.retarget(i);
          this.hooks.changed(-1);
        },
      },
      constReg('GICD_PIDR2', GICD.PIDR2, GIC_PIDR2.encode({ ArchRev: cfg.version })),
    ];
  }
}
