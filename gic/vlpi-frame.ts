/**
 * The VLPI_base frame of a GICv4.0 redistributor (RD + 0x20000; IHI 0069, "The GIC
 * Redistributor register map", GICR_VPROPBASER, GICR_VPENDBASER) and the
 * redistributor's side of direct injection: residency of a vPE, vLPIs arriving from the ITS,
 * v4.0 doorbells, and the resident vPE's best vLPI for the virtual CPU interface (`VlpiSource`).
 *
 * How it works
 * - Registers: GICR_VPROPBASER (0x70) and GICR_VPENDBASER (0x78), 64-bit, also accessible as
 *   32-bit halves (the register block folds a 32-bit write into a read-modify-write). The rest
 *   of the frame is RAZ/WI.
 * - Residency is explicit state (IHI 0069, GICR_VPENDBASER): a vPE is resident while
 *   VPENDBASER.Valid = 1, and GICv4.0 matches it by VPT address: a vLPI for the VPT at `vpt`
 *   is "resident" iff Valid = 1 and `vpt` is the VPENDBASER.PA latched when Valid was set.
 *   Residency does not depend on the ITS mapping (VMAPP/VMOVP only tell the ITS where to send vLPIs).
 * - Valid 0 -> 1: the vPE is resident at once, but the redistributor parses its VPT first:
 *   Dirty reads 1 for `vpeScheduleDirty` cycles (one re-armed event), then the VPT is read from
 *   memory (pages that exist only), the pending vLPIs' configuration bytes are read from the
 *   VPROPBASER table and cached, and the virtual CPU interface is told (`onChanged`). A vLPI
 *   that arrives during the parse is written to the VPT and found by the parse.
 * - Valid 1 -> 0: residency ends at once (`best()` = -1, the CPU interface is told); Dirty reads
 *   1 for `vpeDescheduleDirty` cycles; when it clears, PendingLast = 1 iff the VPT holds a
 *   pending vLPI whose configuration byte has Enable = 1 (read from memory then).
 * - A vLPI arriving (`setVlpiPending`; IHI 0069H §7.2 "Direct injection of virtual
 *   interrupts"): its bit is set in the VPT in memory
 *   (read-modify-write with the GIC's bus attributes). If its vPE is resident and parsed, it
 *   joins the resident set (vlpi-resident.ts: cached configuration, or a fetch of
 *   `lpiConfigFetch` cycles, as physical LPIs); otherwise, if the ITE names a doorbell
 *   (Dbell_pINTID != 1023), that physical LPI is made pending here through the redistributor's
 *   ordinary LPI path (its own enable and priority in the physical configuration table).
 * - Nothing is allocated per vLPI; the VPT is read only at residency changes.
 *
 * CHOICEs (the architecture leaves these open or UNPREDICTABLE: IHI 0069, GICR_VPENDBASER,
 * GICR_VPROPBASER; IHI 0069H §7.2 "Direct injection of virtual interrupts"):
 * - A GICR_VPENDBASER write while Dirty = 1 (UNPREDICTABLE) is ignored.
 * - A write that changes fields other than Valid while Valid = 1 (UNPREDICTABLE) is ignored,
 *   as QEMU does; writing the same fields with Valid = 1 is harmless.
 * - GICR_VPROPBASER writes while Valid = 1 are ignored; its table address and IDbits are
 *   latched at Valid 0 -> 1 and used until the deschedule completes.
 * - PendingLast reads 1 while Valid = 1 (QEMU: RES1 on the 0 -> 1 transition; the written hint
 *   is not kept) and while Dirty = 1 (UNKNOWN); once a deschedule completes it is the computed
 *   value; a write with Valid staying 0 stores it as written (QEMU).
 * - IDAI reads back as written. The model keeps nothing in the VPT's IMPLEMENTATION DEFINED
 *   first 1 KB (it neither reads nor writes it), so IDAI = 0 and IDAI = 1 behave the same.
 * - vINTID bits = min(VPROPBASER.IDbits + 1, GICD_TYPER.IDbits + 1), as for GICR_PROPBASER;
 *   below 14 bits no vLPI is usable. A vLPI for the resident vPE at or beyond that limit is
 *   dropped without touching the VPT (QEMU); for a non-resident vPE only VPT_size bounds it.
 * - The v4.0 doorbell rings on every arrival for a non-resident vPE, whatever the vLPI's own
 *   enable bit (as QEMU does; whether IHI 0069 requires the vLPI to be enabled first was not
 *   verified).
 * - The configuration cache holds the resident vPE's bytes only and is emptied at every
 *   residency change; the parse fills it for the vLPIs pending at schedule-in (inside the Dirty
 *   time), and a vINTID first arriving while resident costs one `lpiConfigFetch`.
 *   Invalidations (INV, VINVALL) of a vPE that is not resident here have nothing to drop.
 * - Residency does not follow the ITS: a vLPI that reaches a redistributor other than the one
 *   where its VPT is resident (VMOVP of a resident vPE, which Linux never does: KVM's
 *   vgic_v4_load moves the vPE before making it resident, arch/arm64/kvm/vgic/vgic-v4.c)
 *   only sets the VPT bit there (and rings the doorbell); the resident redistributor sees it at
 *   the vPE's next schedule-in.
 * - A VPT that does not lie in one RAM region is parsed word by word through the bus (zeros
 *   where nothing decodes) instead of page by page.
 * - Inner/OuterCache and Shareability are stored as written and have no effect.
 *
 * GICv4.1 (`cfg.v41`; IHI 0069, GICR_VPROPBASER and GICR_VPENDBASER in their GICv4.1 layouts):
 * GICR_VPROPBASER describes the vPE configuration table shared with the ITS (Entry_Size RO = 1,
 * 16-byte entries); GICR_VPENDBASER names the vPE by vPEID. Valid 0 -> 1 reads entry vPEID of
 * that table (vlpi-v41.ts `VpeTable`: VPT, VPT_size, vLPI configuration table) and then works
 * as on GICv4.0; residency is matched by vPEID (the ITS passes it with every vLPI). Valid 1 -> 0
 * with DB = 1 and PendingLast = 0 written requests the vPE's default doorbell: when the flush
 * completes with PendingLast = 0 it is armed (vlpi-v41.ts `DefaultDoorbells`), and the first
 * enabled vLPI arriving while the vPE is not resident rings it once. All redistributors share
 * the vPE table (one sharing domain): physical-gic.ts hands a vLPI for a vPE resident on another
 * redistributor to that one (vlpi-v41.ts `SharedResidency`). The per-vLPI doorbell
 * field is not used (GITS_TYPER.nID = 1). PendingLast counts a pending vLPI only if it is
 * enabled and VGrp1En was 1. CHOICEs: DB reads 0; VGrp0En/VGrp1En/vPEID read back as written;
 * a Valid = 1 write naming no valid vPE table entry (or with GICR_VPROPBASER.Valid = 0) is
 * ignored; GICR_VPROPBASER.Z is a hint with no effect.
 */
import { fieldAt, lo32, toBig } from '../core/bits.js';
import type { AccessAttrs } from '../core/bus.js';
import { SimEvent } from '../core/events.js';
import type { Machine } from '../core/machine.js';
import { W32, W64, RegisterBlock, type RegisterRegion } from '../core/regions.js';
import { priorityMask, type GicConfig } from './config.js';
import { INTID_SPURIOUS, KEY_PRIORITY_UNIT, LPI_BASE } from './gic-registers.js';
import { GIC_EVENT_PRIORITY, LatencyFifo } from './latency-fifo.js';
import { LpiSet } from './lpi-candidates.js';
import { GICR_VLPI } from './mmio-offsets.js';
import type { VlpiSource } from './ports.js';
import { ResidentVlpis } from './vlpi-resident.js';
import { GICR_VPENDBASER, GICR_VPENDBASER_V41, GICR_VPROPBASER, GICR_VPROPBASER_V41 } from './vlpi-registers.js';
import { VPE_ENTRY_SIZE_FIELD, VpeTable, type DefaultDoorbells, type SharedResidency } from './vlpi-v41.js';
import type { VlpiDropReason, VpeResidencyEvent } from './vlpi-trace.js';
import type { VsgiState } from './vsgi.js';
import type {} from './vsgi-trace.js';

// Module-local copies of imported constants used per vLPI (imported bindings are getter calls
// under the project's TypeScript loader).
/** vINTID bits of a key `priority * 2^24 + vINTID` (keys are below 2^32: bitwise is exact). */
const VINTID_MASK = KEY_PRIORITY_UNIT - 1;
const LPI_FIRST = LPI_BASE;
const NO_DOORBELL = INTID_SPURIOUS;
const SET_CANDIDATE = LpiSet.Candidate;
const SET_NEEDS_FILL = LpiSet.NeedsFill;
/** vINTIDs are below 2^24 (ITE INTID field; keys are priority * 2^24 + vINTID). */
const VINTID_LIMIT = 2 ** 24;

export const VLPI_FRAME_SIZE = 0x10000;

/** GICR_VPENDBASER bits the model computes (never stored from a write). */
const VALID = GICR_VPENDBASER.mask('Valid');
const DIRTY = GICR_VPENDBASER.mask('Dirty');
const PENDING_LAST = GICR_VPENDBASER.mask('PendingLast');

// GICR_VPENDBASER/GICR_VPROPBASER writes are taken apart through field positions resolved once
// here, not `Layout.decode`/`encode` (a record built per write): a residency change writes
// them on every schedule and deschedule of a vPE.
/** GICR_VPENDBASER (GICv4.0) fields stored as written: InnerCache, Shareability, PA, OuterCache, IDAI. */
const VPEND_STORED = GICR_VPENDBASER.mask('InnerCache') | GICR_VPENDBASER.mask('Shareability') | GICR_VPENDBASER.mask('PA') | GICR_VPENDBASER.mask('OuterCache') | GICR_VPENDBASER.mask('IDAI');
const VPEND_PA = GICR_VPENDBASER.field('PA');
const VPEND_VALID = GICR_VPENDBASER.field('Valid');
const VPEND_PENDING_LAST = GICR_VPENDBASER.field('PendingLast');
/** GICR_VPENDBASER (GICv4.1) fields stored as written: vPEID, VGrp0En, VGrp1En. */
const VPEND41_STORED = GICR_VPENDBASER_V41.mask('vPEID') | GICR_VPENDBASER_V41.mask('VGrp0En') | GICR_VPENDBASER_V41.mask('VGrp1En');
const VPEND41_VPEID = GICR_VPENDBASER_V41.field('vPEID');
const VPEND41_VGRP1EN = GICR_VPENDBASER_V41.field('VGrp1En');
const VPEND41_VALID = GICR_VPENDBASER_V41.field('Valid');
const VPEND41_PENDING_LAST = GICR_VPENDBASER_V41.field('PendingLast');
const VPEND41_DB = GICR_VPENDBASER_V41.field('DB');
/** GICR_VPROPBASER (GICv4.0): every declared field (the rest is RES0). */
const VPROP_STORED = GICR_VPROPBASER.mask('IDbits') | GICR_VPROPBASER.mask('InnerCache') | GICR_VPROPBASER.mask('Shareability') | GICR_VPROPBASER.mask('PA') | GICR_VPROPBASER.mask('OuterCache');
const VPROP_PA = GICR_VPROPBASER.field('PA');
const VPROP_IDBITS = GICR_VPROPBASER.field('IDbits');

export class VlpiFrame implements VlpiSource {
  readonly block: RegisterBlock;
  /** Called when the resident vPE's best vLPI may have changed: the virtual CPU interface's `vlpiChanged`. */
  onChanged: () => void = () => {};
  /** VPTs the ITS maps to this redistributor (VMAPP/VMOVP), with their vINTID bits. Bookkeeping only. */
  readonly mappedVpes = new Map<number, number>();

  /** GICR_VPROPBASER as stored (RES0 bits dropped). */
  private vpropbaser = 0n;
  /** GICR_VPENDBASER's stored fields: InnerCache, Shareability, PA, OuterCache, IDAI. */
  private vpendbaser = 0n;
  /** GICR_VPENDBASER.Valid: a vPE is resident. */
  private valid = false;
  /** GICR_VPENDBASER.Dirty: a residency change is in progress (parse or flush). */
  private dirty = false;
  /** GICR_VPENDBASER.PendingLast when neither Valid nor Dirty is 1. */
  private pendingLast = 0;
  /** The resident vPE's VPT has been parsed: its pending vLPIs are known. */
  private parsed = false;
  /** VPT address latched at Valid 0 -> 1 (the resident vPE, or the one being flushed). */
  private vpt = -1;
  // ---- GICv4.1 ----
  private readonly v41: boolean;
  /** vPEID latched at Valid 0 -> 1 (GICv4.1), -1 otherwise. */
  private vpeid = -1;
  /** The resident (or flushing) vPE's vLPI configuration table and VGrp1En (GICv4.1). */
  private vconf = 0;
  private vgrp1En = false;
  /** A default doorbell was requested at the deschedule in progress (DB = 1, PendingLast = 0 written). */
  private dbRequested = false;
  private readonly vpeTable: VpeTable | null;
  private readonly resident: ResidentVlpis;
  /** Bus attributes of the redistributor's own memory accesses (VPT, configuration table). */
  private readonly attrs: AccessAttrs;
  private readonly dirtyEvent: SimEvent;
  private readonly fills: LatencyFifo;

  constructor(
    readonly m: Machine,
    private readonly cfg: GicConfig,
    /** Redistributor (= PE) index. */
    readonly index: number,
    /** Makes a physical LPI pending at this redistributor (v4.0 doorbells); false when dropped. */
    readonly setPhysicalLpi: (intid: number) => boolean,
    /** GICv4.1: the default doorbells of every vPE (shared by all redistributors); null on GICv4.0. */
    private readonly doorbells: DefaultDoorbells | null = null,
    /** GICv4.1: where each vPE is resident (shared by all redistributors of the sharing domain). */
    private readonly residency: SharedResidency | null = null,
    /** GICv4.1: the vSGI state of every vPE (vsgi.ts; shared by all redistributors); null on GICv4.0. */
    private readonly vsgis: VsgiState | null = null,
  ) {
    this.attrs = { requester: 'gic', id: index };
    this.v41 = cfg.v41 && doorbells !== null;
    this.vpeTable = this.v41 ? new VpeTable(m.bus, this.attrs) : null;
    if (this.v41) this.vpropbaser = GICR_VPROPBASER_V41.encode({ Entry_Size: VPE_ENTRY_SIZE_FIELD, Page_Size: 2 });
    this.resident = new ResidentVlpis(m.bus, this.attrs, priorityMask(cfg.priorityBits));
    this.dirtyEvent = new SimEvent(`gicr${index}.vpe-dirty`, GIC_EVENT_PRIORITY, () => this.residencyDone());
    this.fills = new LatencyFifo(m, `gicr${index}.vlpi-fill`, m.costs.lpiConfigFetch, (_rd, vintid) => this.completeFill(vintid));
    this.block = new RegisterBlock(`GICR${index}.VLPI_base`, VLPI_FRAME_SIZE, this.regions());
  }

  // ---------------------------------------------------------------- VlpiSource (virtual CPU interface)

  /**
   * Highest-priority pending enabled vLPI of the resident vPE, `priority * 2^24 + vINTID`
   * (lowest vINTID on ties); -1 when nothing is resident, the VPT is still being parsed, or no
   * vLPI is a candidate.
   */
  best(): number {
    if (!this.valid || !this.parsed) return -1;
    const l = this.resident.best();
    // GICv4.1: the resident vPE's vSGIs compete with its vLPIs (keys in the same form).
    const vs = this.vsgis;
    if (vs === null) return l;
    const s = vs.best(this.vpeid);
    return s < 0 ? l : l < 0 || s < l ? s : l;
  }

  /** ICV_IAR1 acknowledged `vintid`: its VPT bit is cleared (a vLPI has no active state). */
  acknowledge(vintid: number): void {
    // GICv4.1: a vSGI has no active state either; acknowledging it clears its pending state.
    if (vintid < 16 && this.vsgis !== null && this.valid) {
      this.vsgis.clear(this.vpeid, vintid);
      return;
    }
    if (!this.valid || vintid < LPI_FIRST || vintid >= VINTID_LIMIT) return;
    this.writeBit(this.vpt, vintid, false);
    this.resident.markClear(vintid);
  }

  // ---------------------------------------------------------------- vLPIs from the ITS (VlpiPort for this RD)

  /** The vPE is resident here: by VPT address (GICv4.0) or by vPEID (GICv4.1). */
  private isResident(vpt: number, vpeid: number): boolean {
    return this.valid && (this.v41 ? vpeid === this.vpeid : vpt === this.vpt);
  }

  /** vLPIs lost because their vPE was resident on another redistributor (`lostToResidentRd`). */
  vlpisLostElsewhere = 0;

  /** GICv4.0: the vPE whose VPT is at `vpt` is resident here (Valid = 1, parsing or parsed). */
  holdsVpt(vpt: number): boolean {
    return this.valid && !this.v41 && vpt === this.vpt;
  }

  /**
   * GICv4.0: a vLPI arrives here for a vPE that is resident on another redistributor (the ITS's
   * vPE table still names this one: software moved the vPE without a VMOVP on that ITS, which
   * IHI 0069 (VMOVP) forbids when GITS_TYPER.VMOVP = 0). CHOICE (UNPREDICTABLE): the vLPI is
   * lost, as on a GIC whose resident redistributor holds the VPT's pending state and writes it
   * back when the vPE leaves, over the bit this one would have set in memory. No doorbell.
   */
  lostToResidentRd(vpt: number, vintid: number): void {
    this.vlpisLostElsewhere++;
    this.drop(vpt, vintid, 'resident-elsewhere');
  }

  /** A vLPI for the vPE whose VPT is at `vpt` (vINTID bits `vptIdBits`) arrives here. */
  setVlpiPending(vpt: number, vptIdBits: number, vintid: number, doorbell: number, vpeid = -1): void {
    // vINTID in [8192, 2^vptIdBits), and below 2^24 whatever VPT_size says.
    if (vintid < LPI_FIRST || vintid >= VINTID_LIMIT || (vptIdBits < 24 && (vptIdBits < 14 || vintid >>> vptIdBits !== 0))) return this.drop(vpt, vintid, 'range');
    const resident = this.isResident(vpt, vpeid);
    const r = this.resident;
    if (resident && vintid >= r.limit) return this.drop(vpt, vintid, 'idbits');
    const fresh = this.writeBit(vpt, vintid, true);
    let rung = false;
    let ringing = false;
    if (resident) {
      if (this.parsed) {
        const s = r.markPending(vintid);
        if (s === SET_NEEDS_FILL) this.fills.push(this.index, vintid);
        else if (s === SET_CANDIDATE && (r.best() & VINTID_MASK) === vintid) this.onChanged();
      }
      // Still parsing: the parse reads the bit just written.
    } else if (doorbell !== NO_DOORBELL) {
      // GICv4.1: the vPE's default doorbell, only when armed at deschedule and once per non-resident period.
      if (!this.v41) rung = this.setPhysicalLpi(doorbell);
      else if (this.doorbells!.take(vpeid, vintid)) {
        rung = this.setPhysicalLpi(doorbell);
        ringing = true;
      }
    }
    const m = this.m;
    if (m.trace.on) {
      const el = m.pes[this.index]!.el;
      m.trace.emit({ t: m.now, core: this.index, el, kind: 'vlpi-pending', rd: this.index, vpt, vintid, resident, fresh, doorbell, rung });
      if (!resident && doorbell !== NO_DOORBELL && (!this.v41 || ringing)) m.trace.emit({ t: m.now, core: this.index, el, kind: 'vlpi-doorbell', rd: this.index, vpt, vintid, doorbell, accepted: rung });
    }
  }

  // ---------------------------------------------------------------- vSGIs (GICv4.1)

  /**
   * GITS_SGIR: vSGI `vintid` of vPE `vpeid` becomes pending (IHI 0069, GITS_SGIR). Resident
   * here: the virtual CPU interface sees it at once. Not resident: it stays pending with the vPE
   * and, if the vPE asked for its default doorbell at deschedule and the vSGI is enabled (Group
   * 1, Enable = 1, VGrp1En), the doorbell `doorbell` rings once (vlpi-v41.ts `DefaultDoorbells`).
   */
  setVsgiPending(vpeid: number, vintid: number, doorbell: number): void {
    const vs = this.vsgis;
    if (vs === null) return;
    const fresh = vs.set(vpeid, vintid);
    const resident = this.isResident(-1, vpeid);
    let rung = false;
    if (resident) {
      if (this.parsed && fresh) this.onChanged();
    } else if (doorbell !== NO_DOORBELL && vs.isEnabled(vpeid, vintid) && this.doorbells!.takeArmed(vpeid)) {
      rung = this.setPhysicalLpi(doorbell);
    }
    this.traceVsgi(vpeid, vintid, 'pending', resident, fresh, doorbell, rung);
  }

  /** VSGI (Clear = 0): the configuration of vSGI `vintid` of vPE `vpeid`. */
  configureVsgi(vpeid: number, vintid: number, priority: number, group: number, enable: number): void {
    const vs = this.vsgis;
    if (vs === null) return;
    vs.configure(vpeid, vintid, priority, group, enable);
    const resident = this.isResident(-1, vpeid);
    if (resident && this.parsed) this.onChanged();
    this.traceVsgi(vpeid, vintid, 'config', resident, false, NO_DOORBELL, false);
  }

  /** VSGI (Clear = 1): vSGI `vintid` of vPE `vpeid` is no longer pending. */
  clearVsgi(vpeid: number, vintid: number): void {
    const vs = this.vsgis;
    if (vs === null) return;
    const was = vs.clear(vpeid, vintid);
    const resident = this.isResident(-1, vpeid);
    if (resident && this.parsed && was) this.onChanged();
    this.traceVsgi(vpeid, vintid, 'cleared', resident, was, NO_DOORBELL, false);
  }

  /** CLEAR, DISCARD, VMOVI (old vPE): the bit is cleared in the VPT, and in the resident set. */
  clearVlpiPending(vpt: number, vintid: number, vpeid = -1): void {
    if (vintid < LPI_FIRST || vintid >= VINTID_LIMIT) return;
    const was = this.writeBit(vpt, vintid, false);
    if (this.parsed && this.isResident(vpt, vpeid)) {
      const before = this.resident.best();
      if (this.resident.markClear(vintid) && before >= 0 && (before & VINTID_MASK) === vintid) this.onChanged();
    }
    if (was) this.traceVlpi(vpt, vintid, 'cleared', 0);
  }

  /** The VPT bit of `vintid`, from memory. */
  isVlpiPending(vpt: number, vintid: number): boolean {
    if (vintid < LPI_FIRST || vintid >= VINTID_LIMIT) return false;
    return (this.m.bus.read8(vpt + (vintid >>> 3), this.attrs) & (1 << (vintid & 7))) !== 0;
  }

  /** INV on a virtual ITE: the resident vPE re-reads `vintid`'s configuration byte. */
  invalidateVlpi(vpt: number, vintid: number, vpeid = -1): void {
    if (!this.parsed || !this.isResident(vpt, vpeid) || vintid < LPI_FIRST || vintid >= VINTID_LIMIT) return;
    const before = this.resident.best();
    const reread = this.resident.invalidate(vintid);
    if (this.resident.best() !== before) this.onChanged();
    this.traceVlpi(this.vpt, vintid, 'inv', reread ? 1 : 0);
  }

  /** VINVALL: the resident vPE re-reads the configuration of all its vLPIs. */
  invalidateAllVlpis(vpt: number, vpeid = -1): void {
    if (!this.parsed || !this.isResident(vpt, vpeid)) return;
    const before = this.resident.best();
    const reread = this.resident.invalidateAll();
    if (this.resident.best() !== before) this.onChanged();
    this.traceVlpi(this.vpt, -1, 'invall', reread);
  }

  /** VMAPP V = 1 / VMOVP (new RD). Pending state lives in the VPT: nothing moves. */
  vpeMapped(vpt: number, vptIdBits: number): void {
    this.mappedVpes.set(vpt, vptIdBits);
    this.traceVlpi(vpt, -1, 'mapped', vptIdBits);
  }

  /** VMAPP V = 0 / VMOVP (old RD). Residency is the RD's own state and is not changed. */
  vpeUnmapped(vpt: number): void {
    this.mappedVpes.delete(vpt);
    this.traceVlpi(vpt, -1, 'unmapped', 0);
  }

  // ---------------------------------------------------------------- residency

  /** GICR_VPENDBASER write in the GICv4.1 layout (IHI 0069, GICR_VPENDBASER). */
  private writeVpendbaserV41(v: bigint): void {
    const fields = v & VPEND41_STORED;
    const vpeid = fieldAt(v, VPEND41_VPEID);
    const pendingLast = fieldAt(v, VPEND41_PENDING_LAST);
    const valid = fieldAt(v, VPEND41_VALID) === 1;
    if (this.valid && valid) {
      if (fields !== this.vpendbaser) this.ignored('GICR_VPENDBASER fields changed while Valid = 1', v);
      return;
    }
    if (!this.valid && !valid) {
      this.vpendbaser = fields;
      this.pendingLast = pendingLast;
      return;
    }
    if (!valid) {
      // DB is treated as 0 when PendingLast is written 1 (IHI 0069, GICR_VPENDBASER.DB).
      this.dbRequested = fieldAt(v, VPEND41_DB) === 1 && pendingLast === 0;
      this.residency?.set(this.vpeid, -1);
      this.deschedule();
      return;
    }
    if (GICR_VPROPBASER_V41.get(this.vpropbaser, 'Valid') === 0) return this.ignored('GICR_VPENDBASER.Valid = 1 while GICR_VPROPBASER.Valid = 0', v);
    const t = this.vpeTable!;
    if (!t.read(this.vpropbaser, vpeid)) return this.ignored(`GICR_VPENDBASER names vPEID ${vpeid} with no valid vPE table entry`, v);
    this.vpendbaser = fields;
    this.vpeid = vpeid;
    this.vconf = t.vconf;
    this.vgrp1En = fieldAt(v, VPEND41_VGRP1EN) === 1;
    this.doorbells!.disarm(vpeid);
    this.residency?.set(vpeid, this.index);
    this.schedule(t.vpt, t.vconf, Math.min(t.vptSize + 1, this.cfg.idBits));
  }

  /** GICR_VPENDBASER write (IHI 0069, GICR_VPENDBASER). */
  private writeVpendbaser(v: bigint): void {
    if (this.dirty) return this.ignored('GICR_VPENDBASER write while Dirty = 1', v);
    if (this.v41) return this.writeVpendbaserV41(v);
    const fields = v & VPEND_STORED;
    const valid = fieldAt(v, VPEND_VALID) === 1;
    if (this.valid && valid) {
      if (fields !== this.vpendbaser) this.ignored('GICR_VPENDBASER fields changed while Valid = 1', v);
      return;
    }
    this.vpendbaser = fields;
    if (!this.valid && !valid) {
      this.pendingLast = fieldAt(v, VPEND_PENDING_LAST);
      return;
    }
    if (valid) {
      const prop = this.vpropbaser;
      this.schedule(fieldAt(v, VPEND_PA) * 0x10000, fieldAt(prop, VPROP_PA) * 0x1000, Math.min(fieldAt(prop, VPROP_IDBITS) + 1, this.cfg.idBits));
    } else this.deschedule();
  }

  /**
   * Valid 0 -> 1: the vPE whose VPT is at `vpt` (vLPI configuration table at `prop`, `bits`
   * vINTID bits) is resident; its VPT is parsed while Dirty = 1.
   */
  private schedule(vpt: number, prop: number, bits: number): void {
    this.valid = true;
    this.parsed = false;
    this.vpt = vpt;
    this.pendingLast = 1;
    // bits <= GICD_TYPER.IDbits + 1 <= 24 (config.ts): a shift, not a Math.pow call per schedule.
    this.resident.reset(prop, bits >= 14 ? 1 << bits : LPI_FIRST);
    this.startDirty('schedule', this.m.costs.vpeScheduleDirty);
  }

  /** Valid 1 -> 0: residency ends now; PendingLast is known when Dirty clears. */
  private deschedule(): void {
    this.valid = false;
    this.parsed = false;
    this.resident.clear();
    this.onChanged();
    this.startDirty('deschedule', this.m.costs.vpeDescheduleDirty);
  }

  private startDirty(event: VpeResidencyEvent, cycles: number): void {
    this.dirty = true;
    this.traceResidency(event, cycles, 0);
    if (cycles > 0) this.m.events.schedule(this.dirtyEvent, this.m.now + cycles);
    else this.residencyDone();
  }

  /** Dirty clears: the parse (Valid = 1) or the flush (Valid = 0) completes. */
  private residencyDone(): void {
    this.dirty = false;
    if (this.valid) {
      const found = this.resident.parse(this.vpt);
      this.parsed = true;
      this.traceResidency('parsed', 0, found);
      this.onChanged();
    } else {
      // GICv4.1: vLPIs are Group 1, enabled only while VGrp1En = 1.
      // GICv4.1: pending enabled vSGIs count too (IHI 0069, GICR_VPENDBASER.PendingLast).
      const pending = this.resident.anyPendingEnabled(this.vpt) || (this.vsgis !== null && this.vsgis.anyPendingEnabled(this.vpeid));
      this.pendingLast = (!this.v41 || this.vgrp1En) && pending ? 1 : 0;
      if (this.v41 && this.dbRequested && this.pendingLast === 0) this.doorbells!.arm(this.vpeid, this.vconf, this.vgrp1En);
      this.dbRequested = false;
      this.traceResidency('flushed', 0, 0);
    }
  }

  /** A configuration fetch of the resident vPE completed. */
  private completeFill(vintid: number): void {
    if (!this.valid || !this.parsed) return;
    const r = this.resident;
    const cand = r.completeFill(vintid);
    if (this.m.trace.on) this.traceVlpi(this.vpt, vintid, 'fill', r.cachedConfig(vintid));
    if (cand && (r.best() & VINTID_MASK) === vintid) this.onChanged();
  }

  // ---------------------------------------------------------------- memory

  /** Sets or clears `vintid`'s bit in the VPT at `vpt` (read-modify-write of its byte). Returns whether it changed. */
  private writeBit(vpt: number, vintid: number, set: boolean): boolean {
    const bit = 1 << (vintid & 7);
    const b = this.m.bus.modify8(vpt + (vintid >>> 3), bit, set, false, this.attrs);
    return set ? (b & bit) === 0 : (b & bit) !== 0;
  }

  // ---------------------------------------------------------------- registers

  /** GICR_VPENDBASER as read: stored fields, Valid, Dirty, PendingLast (1 while Valid or Dirty). */
  private readVpendbaser(): bigint {
    // Software polls this register while Dirty = 1 around every residency change: the value is
    // kept until the stored fields or the status bits change, instead of new bigints per read.
    const status = (this.valid ? 1 : 0) | (this.dirty ? 2 : 0) | (this.valid || this.dirty || this.pendingLast === 1 ? 4 : 0);
    if (status !== this.readStatus || this.vpendbaser !== this.readFields) {
      let v = this.vpendbaser;
      if ((status & 1) !== 0) v |= VALID;
      if ((status & 2) !== 0) v |= DIRTY;
      if ((status & 4) !== 0) v |= PENDING_LAST;
      this.readStatus = status;
      this.readFields = this.vpendbaser;
      this.readValue = v;
    }
    return this.readValue;
  }

  /** `readVpendbaser`'s last answer, for these status bits (Valid 1, Dirty 2, PendingLast 4) and stored fields. */
  private readStatus = -1;
  private readFields = 0n;
  private readValue = 0n;

  private regions(): RegisterRegion[] {
    return [
      {
        name: 'GICR_VPROPBASER',
        offset: GICR_VLPI.VPROPBASER,
        length: 8,
        widths: W32 | W64,
        regSize: 8,
        read: () => this.vpropbaser,
        write: (_o, _s, v) => {
          if (this.valid) return this.ignored('GICR_VPROPBASER write while GICR_VPENDBASER.Valid = 1', toBig(v));
          if (this.v41) {
            // Entry_Size is RO; Z is a hint (the table is zero) and reads 0.
            const d = GICR_VPROPBASER_V41.decode(toBig(v));
            this.vpropbaser = GICR_VPROPBASER_V41.encode({ ...d, Z: 0, Entry_Size: VPE_ENTRY_SIZE_FIELD });
            return;
          }
          this.vpropbaser = toBig(v) & VPROP_STORED;
        },
      },
      {
        name: 'GICR_VPENDBASER',
        offset: GICR_VLPI.VPENDBASER,
        length: 8,
        widths: W32 | W64,
        regSize: 8,
        read: () => this.readVpendbaser(),
        write: (_o, _s, v) => this.writeVpendbaser(toBig(v)),
      },
      ...(this.vsgis === null ? [] : this.vsgiRegions()),
    ];
  }

  /** vPEID last written to GICR_VSGIR (-1: none yet) and when its query completes. */
  private vsgiQuery = -1;
  private vsgiReadyAt = 0;

  /**
   * GICR_VSGIR (0x80, vPEID [15:0]) and GICR_VSGIPENDR (0x88, RO: Pending [15:0], Busy [31]);
   * IHI 0069, GICR_VSGIR and GICR_VSGIPENDR. A GICR_VSGIR write starts a query of that vPE's
   * pending vSGIs; GICR_VSGIPENDR reads Busy = 1 until it completes.
   * CHOICEs: the query takes `lpiConfigFetch` cycles (a lookup inside the GIC); once Busy = 0
   * Pending shows the vPE's pending vSGIs at the time of the read; before any GICR_VSGIR write
   * GICR_VSGIPENDR reads 0; GICR_VSGIR reads back the vPEID written; a vPEID beyond the
   * implemented vPEID bits reads Pending = 0.
   */
  private vsgiRegions(): RegisterRegion[] {
    return [
      {
        name: 'GICR_VSGIR', offset: GICR_VLPI.VSGIR, length: 4, widths: W32,
        read: () => Math.max(0, this.vsgiQuery),
        write: (_o, _s, v) => {
          this.vsgiQuery = lo32(toBig(v)) & 0xffff;
          this.vsgiReadyAt = this.m.now + this.m.costs.lpiConfigFetch;
        },
      },
      {
        name: 'GICR_VSGIPENDR', offset: GICR_VLPI.VSGIPENDR, length: 4, widths: W32,
        read: () => {
          if (this.vsgiQuery < 0) return 0;
          if (this.m.now < this.vsgiReadyAt) return 0x8000_0000;
          return this.vsgis!.pendingOf(this.vsgiQuery);
        },
      },
    ];
  }

  // ---------------------------------------------------------------- trace

  private drop(vpt: number, vintid: number, reason: VlpiDropReason): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'vlpi-dropped', rd: this.index, vpt, vintid, reason });
  }

  private traceVlpi(vpt: number, vintid: number, what: 'cleared' | 'fill' | 'inv' | 'invall' | 'mapped' | 'unmapped', detail: number): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'vlpi', rd: this.index, vpt, vintid, what, detail });
  }

  private traceResidency(event: VpeResidencyEvent, dirty: number, found: number): void {
    const m = this.m;
    if (!m.trace.on) return;
    const pendingLast = this.valid || this.dirty ? 1 : this.pendingLast;
    m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'vpe-residency', rd: this.index, vpt: this.vpt, event, valid: this.valid, dirty, pendingLast, found });
  }

  private traceVsgi(vpeid: number, vintid: number, what: 'pending' | 'config' | 'cleared', resident: boolean, fresh: boolean, doorbell: number, rung: boolean): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'vsgi', rd: this.index, vpeid, vintid, what, resident, fresh, doorbell, rung });
  }

  private ignored(what: string, v: bigint): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: m.pes[this.index]!.el, kind: 'gic-ignored', block: `GICR${this.index}.VLPI_base`, what, value: lo32(v) });
  }
}
