/**
 * Flush before entry, fold after exit (KVM's vgic_flush_lr_state / vgic_v3_fold_lr_state, as
 * its 2025 rework made them: more active interrupts than list registers).
 *
 * The vCPU's active/pending list (`VcpuVgic.ap`) is kept in KVM's order (virq.ts `compareVirq`):
 * interrupts pending and not active first, by priority, then active ones by priority. The flush
 * writes the first `listRegs` deliverable ones into the LRs; the rest stay on the list (the
 * overflow), and the actives among them are remembered in order (`VcpuVgic.overflow`). Which
 * case does what:
 *
 * - Everything fits: the LRs are written, ICH_HCR_EL2 = En, no maintenance interrupt is asked for.
 * - Pending interrupts take LRs before actives: a pending interrupt evicts the lowest-priority
 *   active from its LR (to the overflow), so an interrupt that can preempt reaches the guest even
 *   when every LR held an active one. Nothing is lost by evicting: the guest's running priority
 *   lives in its active-priority registers (ICH_AP1R<n>_EL2), not in the LRs. CHOICE (KVM's): any
 *   pending interrupt evicts, whether or not it can preempt the running priority now.
 * - More pending interrupts than LRs: ICH_HCR_EL2.NPIE, so the maintenance interrupt fires once no
 *   LR is pending any more (the guest acknowledged them all); the vCPU exits and the next flush
 *   presents the next ones.
 * - Active interrupts outside the LRs: ICH_HCR_EL2.LRENPIE and ICH_HCR_EL2.TDIR.
 *   - EOImode 0: the guest's EOI of an interrupt that no LR holds only counts in
 *     ICH_HCR_EL2.EOIcount (IHI 0069, ICV_EOIR1_EL1 and ICH_HCR_EL2.EOIcount); LRENPIE makes a
 *     non-zero count a maintenance interrupt (ICH_MISR_EL2.LRENP). The fold reads EOIcount and
 *     deactivates that many actives from the head of the overflow, in priority order: a guest
 *     that nests by preemption deactivates in reverse acknowledge order, which is priority order,
 *     and the actives above the overflow's head were in LRs, deactivated there by the hardware.
 *     CHOICE (KVM's): EOIcount names no INTID, so a guest that EOIs out of nesting order (an
 *     UNPREDICTABLE use of the priority drop) gets the overflow's head deactivated instead.
 *   - EOImode 1: the EOI only drops the priority and ICV_DIR_EL1 deactivates, in any order; an
 *     unmatched DIR would count in EOIcount without saying which INTID. So TDIR traps every
 *     ICV_DIR_EL1 write while actives are outside the LRs (EC 0x18 to EL2), and traps.ts
 *     deactivates the named interrupt in the folded state. TDIR is set whatever EOImode the guest
 *     has now, as KVM does: the guest changes ICV_CTLR_EL1.EOImode without an exit.
 * - More interrupts than LRs at all, with 2 LRs or more: ICH_HCR_EL2.UIE, the underflow
 *   maintenance interrupt once at most one LR is still valid, to refill early. CHOICE: not with a
 *   single LR, where "at most one valid" holds right after the flush and UIE would fire at once,
 *   forever; NPIE, LRENPIE and TDIR above already cover every interrupt outside the one LR.
 * - LPIs: an LPI's EOI is its priority drop and an unmatched EOI of an LPI does not count in
 *   EOIcount (IHI 0069, ICV_EOIR1_EL1), so the fold forgets an acknowledged LPI's Active state
 *   (as KVM does) and an LPI never waits outside the LRs as an active.
 * - HW = 1 interrupts deactivated outside the LRs (by EOIcount here, by a trapped DIR in traps.ts):
 *   the hypervisor deactivates the physical INTID itself with ICC_DIR_EL1 (the host runs EOImode
 *   1), as the LR would have (IHI 0069, ICH_LR<n>_EL2.HW).
 *
 * Fold: ICH_ELRSR_EL2 says which used LRs the guest emptied; only the others are read back. Each
 * LR's State becomes the interrupt's pending/active state again (merged with any edge that
 * arrived meanwhile); EOIcount (read only when LRENPIE was set) is applied to the overflow; then
 * interrupts neither pending nor active leave the list. `endMaintenance` clears ICH_HCR_EL2 right
 * after the fold when anything could assert the maintenance interrupt, so none stays asserted
 * while EL2 works (it is a level) and EOIcount starts from 0 at the next entry. Stale LRs from
 * an earlier vCPU or flush are cleared by the flush.
 *
 * Every LR, ELRSR, ICH_HCR and ICC_DIR access is an MRS/MSR charged by the cost model.
 */
import { msr, type Program } from '../../core/ops.js';
import { emptyLrValues, eoiCount, lrState, readElrsr, readHcr, readLrs, readMisr, writeHcr, writeLr } from '../../drivers/list-registers.js';
import { ICH_HCR, ICH_LR_HW, ICH_LR_SW } from '../../gic/ich-registers.js';
import { ICC_DIR_EL1 } from '../../gic/sysregs.js';
import { FIRST_LPI } from '../config.js';
import { foldLine } from './spi.js';
import type { VcpuVgic } from './vcpu-vgic.js';
import type { VIrq } from './virq.js';

/** What the PE's virtual CPU interface holds, as the hypervisor knows it (per physical core). */
export interface LrFile {
  /** LRs that may hold a non-zero value. */
  dirty: number;
  /** Last value written to ICH_HCR_EL2 (-1: unknown). */
  hcr: number;
  /** The last flush wrote an LR with EOI = 1 (`VIrq.eoiMaintenance`): its deactivation asserts the EOI maintenance condition (ICH_EISR_EL2) until the LR is rewritten. */
  eoiLrs?: boolean;
}

const HCR_EN = ICH_HCR.encode({ En: 1 });
const HCR_UIE = ICH_HCR.encode({ UIE: 1 });
const HCR_NPIE = ICH_HCR.encode({ NPIE: 1 });
const HCR_LRENPIE = ICH_HCR.encode({ LRENPIE: 1 });
const HCR_TDIR = ICH_HCR.encode({ TDIR: 1 });
const HCR_VSGIEOICOUNT = ICH_HCR.encode({ vSGIEOICount: 1 });
const HCR_EN_VSGI = (HCR_EN | HCR_VSGIEOICOUNT) >>> 0;
/** The ICH_HCR_EL2 bits a flush may set besides En: what `endMaintenance` takes back after an exit. */
const HCR_OVERFLOW = (HCR_UIE | HCR_NPIE | HCR_LRENPIE | HCR_TDIR) >>> 0;

/** The ICH_LR<n>_EL2 value of `v` with State `state` (and EOI = 1 if `eoi`; never for HW = 1). */
function lrValue(v: VIrq, state: number, eoi: boolean): bigint {
  const k = state + (eoi ? 4 : 0);
  const cache = v.lrValues ?? (v.lrValues = new Array<bigint | undefined>(8));
  let x = cache[k];
  if (x === undefined) {
    x = v.hw
      ? ICH_LR_HW.encode({ vINTID: v.intid, Priority: v.priority, Group: 1, HW: 1, pINTID: v.pintid, State: state })
      : ICH_LR_SW.encode({ vINTID: v.intid, Priority: v.priority, Group: 1, State: state, EOI: eoi ? 1 : 0 });
    cache[k] = x;
  }
  return x;
}

/**
 * Whether `flushLrs` has anything to do: interrupts on the vCPU's list, LRs left from an earlier
 * flush to clear, or an ICH_HCR_EL2 value other than the one an empty list gives (En only), or an
 * EOI-maintenance mark to clear. When false the flush would write nothing and return 0; the entry
 * path skips it.
 */
export function flushNeeded(g: VcpuVgic, file: LrFile): boolean {
  // With nothing on the list the flush writes only ICH_HCR_EL2: En, and vSGIEOICount while the
  // vCPU's SGIs are direct vSGIs (so a vCPU that just switched them on gets it at its next entry).
  const idleHcr = g.hwSgis ? HCR_EN_VSGI : HCR_EN;
  return g.ap.length !== 0 || file.dirty !== 0 || file.hcr !== idleHcr || file.eoiLrs || g.usedLrs !== 0 || g.overflow.length !== 0;
}

/** Writes the list registers for `g` before entering its vCPU (cases: see the top of this file). Returns the LRs used. */
export function* flushLrs(g: VcpuVgic, file: LrFile, listRegs: number): Program<number> {
  g.sort();
  // KVM's ap_list summary: pending-only and active (active+pending counts as active) interrupts.
  let pend = 0;
  let act = 0;
  // Indexed loops, not for-of: in a generator an array iterator is an allocation per loop.
  const ap = g.ap;
  for (let i = 0; i < ap.length; i++) {
    const v = ap[i]!;
    if (v.active) act++;
    else if (v.pending && v.enabled) pend++;
  }
  const over = g.overflow;
  if (over.length !== 0) over.length = 0;
  let n = 0;
  let eoiLrs = false;
  for (let i = 0; i < ap.length; i++) {
    const v = ap[i]!;
    if (!v.deliverable) continue;
    if (n >= listRegs) {
      // Outside the LRs: an active one may be deactivated through EOIcount (see foldLrs).
      if (v.active) over.push(v);
      continue;
    }
    // Never Pending+Active (as KVM's vgic_v3_populate_lr): not with HW = 1 (the physical GIC holds
    // the pending state), nor for a level-sensitive HW = 0 interrupt (`eoiMaintenance`: the fold
    // after its deactivation resamples the line instead).
    const state = v.active ? (v.hw || v.eoiMaintenance ? 2 : 2 | (v.pending && v.enabled ? 1 : 0)) : 1;
    // The interrupt is the LR's from here, before the write: another core injecting it while the
    // write is under way must find it in an LR and record a new edge (`repend`) for the fold,
    // not set `pending`, which the fold would overwrite with the LR's state. The state read and
    // the hand-over are one step, as KVM's ap_list_lock makes them.
    v.lr = n;
    g.lrs[n] = v;
    const eoi = v.eoiMaintenance && !v.hw;
    if (eoi) eoiLrs = true;
    yield writeLr(n, lrValue(v, state, eoi));
    n++;
  }
  file.eoiLrs = eoiLrs;
  for (let k = n; k < file.dirty; k++) yield writeLr(k, 0n);
  file.dirty = n;
  g.usedLrs = n;
  const outside = pend + act > listRegs;
  let hcr = HCR_EN;
  // GICv4.1 direct vSGIs: their EOIs are no deactivations of interrupts outside the LRs (KVM sets
  // vSGIEOICount when no SGI is on the vCPU's list).
  if (g.hwSgis) hcr |= HCR_VSGIEOICOUNT;
  if (pend > listRegs) hcr |= HCR_NPIE;
  if (act > 0 && outside) hcr |= HCR_LRENPIE | HCR_TDIR;
  if (outside && listRegs > 1) hcr |= HCR_UIE;
  hcr >>>= 0;
  if (hcr !== file.hcr) {
    yield writeHcr(hcr);
    file.hcr = hcr;
  }
  return n;
}

/**
 * Whether `foldLrs` has anything to do (an op to run or state to change): ICH_HCR_EL2 to read for
 * EOIcount, LRs in use, or actives left outside them. Callers on the hot exit path test it first
 * and skip the sub-program (no generator, no resumption) when it is false.
 */
export function foldNeeded(g: VcpuVgic, file: LrFile): boolean {
  return (file.hcr !== -1 && (file.hcr & HCR_LRENPIE) !== 0) || g.usedLrs !== 0 || g.overflow.length !== 0;
}

/**
 * Reads back the list registers of `g` after its vCPU exited, then applies ICH_HCR_EL2.EOIcount
 * to the actives the flush left outside them (cases: see the top of this file). `file` is the
 * core's LR file, whose last ICH_HCR_EL2 value says whether EOIcount was asked for.
 */
export function* foldLrs(g: VcpuVgic, file: LrFile): Program {
  if (!foldNeeded(g, file)) return;
  let eoicount = 0;
  if (file.hcr !== -1 && (file.hcr & HCR_LRENPIE) !== 0) eoicount = eoiCount(yield readHcr());
  const used = g.usedLrs;
  const over = g.overflow;
  if (used === 0 && over.length === 0) return;
  if (used > 0) {
    const values = g.lrValues;
    // readUsedLrs in its steps: the second, a sub-program, only for LRs the guest left non-empty.
    const full = emptyLrValues(yield readElrsr(), used, values);
    if (full !== 0) yield* readLrs(full, values);
    for (let n = 0; n < used; n++) {
      const v = g.lrs[n];
      if (v === null || v === undefined) continue;
      const state = lrState(values[n]!);
      v.pending = (state & 1) !== 0 || v.repend;
      // An LPI keeps no active state (see the top of this file).
      v.active = (state & 2) !== 0 && v.intid < FIRST_LPI;
      v.repend = false;
      // A level-sensitive vSPI or host-driven PPI: pending follows its latch and line (spi.ts).
      if (v.line !== null) foldLine(v, state);
      v.lr = -1;
      g.lrs[n] = null;
    }
    g.usedLrs = 0;
  }
  // EOIcount deactivations (EOImode 0), from the head of the overflow: the guest EOId that many
  // interrupts that no LR held. One that is no longer active (deactivated meanwhile through its
  // redistributor by another vCPU) is skipped, as KVM's walk skips it.
  for (let i = 0; i < over.length && eoicount > 0; i++) {
    const v = over[i]!;
    if (!v.active) continue;
    v.active = false;
    if (v.line !== null) foldLine(v, 0);
    eoicount--;
    g.eoicountDeactivations++;
    if (v.hw) yield msr(ICC_DIR_EL1, v.pintid, 9);
  }
  if (over.length !== 0) over.length = 0;
  g.prune();
}

/**
 * Whether the last flush asked for a maintenance interrupt (UIE, NPIE, LRENPIE, or an LR with
 * EOI = 1): only then do `maintenanceRaised` and `endMaintenance` run an op; the exit path tests
 * it first and skips both sub-programs otherwise.
 */
export function maintenanceArmed(file: LrFile): boolean {
  return (file.hcr & HCR_OVERFLOW) !== 0 || file.eoiLrs === true;
}

/**
 * On an IRQ exit, before the fold: whether the maintenance interrupt was what took the guest out
 * (ICH_MISR_EL2 non-zero). Read only when the last flush asked for one (UIE, NPIE, LRENPIE, or an
 * LR with EOI = 1); otherwise no condition can hold and no op is spent. The maintenance PPI is a
 * level that `endMaintenance` drops before EL2 unmasks interrupts, so EL2 rarely acknowledges it
 * (KVM's handler does nothing either): this read is how the hypervisor counts maintenance exits.
 */
export function* maintenanceRaised(file: LrFile): Program<boolean> {
  if (!maintenanceArmed(file)) return false;
  const misr: number = yield readMisr();
  return misr !== 0;
}

/**
 * After an exit and its fold: when the flush asked for a maintenance interrupt (UIE, NPIE,
 * LRENPIE) or wrote an LR with EOI = 1, ICH_HCR_EL2 = 0, so that no maintenance condition stays
 * asserted while EL2 handles the exit (the interrupt is a level: IHI 0069, ICH_MISR_EL2; En = 0
 * turns it off whatever the LRs hold) and EOIcount restarts from 0; KVM's __vgic_v3_save_state
 * writes 0 on every exit. The next flush writes what it needs, En included. Otherwise nothing can
 * be asserted and ICH_HCR_EL2 is left as it is (no op).
 */
export function* endMaintenance(file: LrFile): Program {
  if (!maintenanceArmed(file)) return;
  yield writeHcr(0);
  file.hcr = 0;
  file.eoiLrs = false;
}

/** Invalidates the cached LR image of `v` (after a priority change). */
export function lrChanged(v: VIrq): void {
  v.lrValues = null;
}
