/**
 * GICv4.1 virtual SGIs (IHI 0069: the ITS command VSGI, GITS_SGIR, GICR_VSGIR and
 * GICR_VSGIPENDR): the configuration (Priority, Group, Enable) and pending state of the 16
 * vSGIs of every vPE.
 *
 * - The VSGI command sets one vSGI's configuration (Clear = 0) or clears its pending state
 *   (Clear = 1); a GITS_SGIR write makes it pending. Neither names a redistributor: the state
 *   belongs to the vPE, and the redistributor where the vPE is resident presents it to its
 *   virtual CPU interface (vlpi-frame.ts `best()`), with no list register.
 * - A vSGI has no active state: acknowledging it clears its pending state, nothing else (the
 *   guest's EOI only drops the running priority; virtual-cpu-interface.ts).
 *
 * CHOICEs:
 * - ⚠ Where a GICv4.1 implementation keeps the vSGI state of a vPE that is not resident is
 *   not given by the fact sheet (IMPLEMENTATION DEFINED as far as verified); the model keeps it
 *   inside the GIC, per vPEID (shared by every redistributor of the one sharing domain, like
 *   the vPE table), not in memory software can see. Software reads it only through
 *   GICR_VSGIR/GICR_VSGIPENDR.
 * - The state of a vPE starts (and stays after VMAPP V = 0) all zero: priority 0, Group 0,
 *   disabled, nothing pending. VMAPP does not reset it.
 * - The virtual CPU interface is offered Group 1 vSGIs only (vLPIs are Group 1 too in the
 *   model); a pending Group 0 vSGI stays pending and counts nowhere (a Simplification).
 * - "Enabled" for PendingLast and the default doorbell: Enable = 1, Group 1, and VGrp1En as
 *   written at deschedule (vlpi-frame.ts).
 * The per-vPE records are created on a vPE's first VSGI/GITS_SGIR (not per op).
 */

/** Key of the best vSGI: `priority * 2^24 + vINTID`, as vLPIs' keys (gic/ports.ts `VlpiSource.best`). */
const KEY_PRIORITY_UNIT = 2 ** 24;
const ENABLE = 1;
const GROUP1 = 2;

class VpeSgis {
  /** Priority bytes (VSGI Priority << 4). */
  readonly priority = new Uint8Array(16);
  /** Bit 0 Enable, bit 1 Group. */
  readonly config = new Uint8Array(16);
  /** Pending bits, vINTID n at bit n. */
  pending = 0;
}

export class VsgiState {
  /** vSGIs made pending by GITS_SGIR (fresh or not). */
  generated = 0;
  private readonly vpes = new Map<number, VpeSgis>();

  constructor(
    /** 2^vPEID bits. */
    readonly vpeCount: number,
  ) {}

  private of(vpeid: number): VpeSgis | null {
    if (vpeid < 0 || vpeid >= this.vpeCount) return null;
    let s = this.vpes.get(vpeid);
    if (s === undefined) {
      s = new VpeSgis();
      this.vpes.set(vpeid, s);
    }
    return s;
  }

  /** VSGI with Clear = 0: vINTID's configuration; pending state unchanged. */
  configure(vpeid: number, vintid: number, priority: number, group: number, enable: number): void {
    const s = this.of(vpeid);
    if (s === null) return;
    s.priority[vintid & 15] = (priority & 0xf) << 4;
    s.config[vintid & 15] = (enable & 1 ? ENABLE : 0) | (group & 1 ? GROUP1 : 0);
  }

  /** VSGI with Clear = 1, or an acknowledge: clears vINTID's pending state. Returns whether it was pending. */
  clear(vpeid: number, vintid: number): boolean {
    const s = this.vpes.get(vpeid);
    if (s === undefined) return false;
    const bit = 1 << (vintid & 15);
    const was = (s.pending & bit) !== 0;
    s.pending &= ~bit;
    return was;
  }

  /** GITS_SGIR: vINTID becomes pending. Returns whether it was newly pending. */
  set(vpeid: number, vintid: number): boolean {
    const s = this.of(vpeid);
    if (s === null) return false;
    this.generated++;
    const bit = 1 << (vintid & 15);
    const fresh = (s.pending & bit) === 0;
    s.pending |= bit;
    return fresh;
  }

  /** The 16 pending bits of a vPE (GICR_VSGIPENDR.Pending). */
  pendingOf(vpeid: number): number {
    return this.vpes.get(vpeid)?.pending ?? 0;
  }

  /** vINTID is enabled and Group 1. */
  isEnabled(vpeid: number, vintid: number): boolean {
    const s = this.vpes.get(vpeid);
    return s !== undefined && s.config[vintid & 15] === (ENABLE | GROUP1);
  }

  /** The vSGI's priority byte (tests, traces). */
  priorityOf(vpeid: number, vintid: number): number {
    return this.vpes.get(vpeid)?.priority[vintid & 15] ?? 0;
  }

  /** Best pending enabled Group 1 vSGI of the vPE, `priority * 2^24 + vINTID` (lowest vINTID on ties), or -1. */
  best(vpeid: number): number {
    const s = this.vpes.get(vpeid);
    if (s === undefined || s.pending === 0) return -1;
    let best = -1;
    let p = s.pending;
    while (p !== 0) {
      const n = 31 - Math.clz32(p & -p);
      p &= p - 1;
      if (s.config[n] !== (ENABLE | GROUP1)) continue;
      const key = s.priority[n]! * KEY_PRIORITY_UNIT + n;
      if (best < 0 || key < best) best = key;
    }
    return best;
  }

  /** A pending, enabled Group 1 vSGI exists (PendingLast, doorbells). */
  anyPendingEnabled(vpeid: number): boolean {
    return this.best(vpeid) >= 0;
  }
}
