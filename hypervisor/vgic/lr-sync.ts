/**
 * Flush before entry, fold after exit (KVM's vgic_flush_lr_state / vgic_v3_fold_lr_state).
 *
 * - Flush: the active/pending list, sorted, goes into the list registers: active interrupts
 *   first, then pending ones by priority. If more interrupts are deliverable than there are
 *   list registers, ICH_HCR_EL2.UIE asks for the underflow maintenance interrupt, which fires
 *   once at most one LR is still valid: the vCPU exits, the hypervisor folds, and the next flush
 *   refills the LRs with what is left. With a single list register "at most one valid" holds
 *   right after the flush, so UIE would fire at once, forever (a livelock): there the LR is
 *   written with EOI = 1 instead, and the EOI maintenance interrupt (ICH_EISR_EL2) asks for the
 *   refill when the guest deactivates it. Stale LRs from an earlier vCPU or flush are cleared.
 * - Fold: ICH_ELRSR_EL2 says which used LRs the guest emptied (State 00); only the others are
 *   read back (an emptied LR written with EOI = 1 for the single-LR refill is not flagged in
 *   ELRSR, so it is read back too and found Invalid). Each LR's
 *   State becomes the interrupt's pending/active state again (merged with any edge that
 *   arrived meanwhile), and interrupts neither pending nor active leave the list.
 *
 * Every LR, ELRSR and ICH_HCR access is an MRS/MSR charged by the cost model.
 */
import { msr, type Program } from '../../core/ops.js';
import { lrState, readUsedLrs, writeLr } from '../../drivers/list-registers.js';
import { ICH_HCR, ICH_LR_HW, ICH_LR_SW } from '../../gic/ich-registers.js';
import { ICH_HCR_EL2 } from '../../gic/sysregs.js';
import type { VcpuVgic } from './vcpu-vgic.js';
import type { VIrq } from './virq.js';

/** What the PE's virtual CPU interface holds, as the hypervisor knows it (per physical core). */
export interface LrFile {
  /** LRs that may hold a non-zero value. */
  dirty: number;
  /** Last value written to ICH_HCR_EL2 (-1: unknown). */
  hcr: number;
}

const HCR_EN = ICH_HCR.encode({ En: 1 });
const HCR_UIE = ICH_HCR.encode({ UIE: 1 });

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

/** Writes the list registers for `g` before entering its vCPU. Returns the LRs used. */
export function* flushLrs(g: VcpuVgic, file: LrFile, listRegs: number): Program<number> {
  g.sort();
  let eligible = 0;
  for (const v of g.ap) if (v.deliverable) eligible++;
  // One LR and more to deliver: ask for an EOI maintenance interrupt instead of UIE (see above).
  const eoiRefill = listRegs === 1 && eligible > 1;
  let n = 0;
  for (const v of g.ap) {
    if (!v.deliverable) continue;
    if (n >= listRegs) break;
    // HW = 1 interrupts are never programmed Pending+Active (the physical GIC holds the pending state).
    const state = v.active ? (v.hw ? 2 : 2 | (v.pending && v.enabled ? 1 : 0)) : 1;
    // The interrupt is the LR's from here, before the write: another core injecting it while the
    // write is under way must find it in an LR and record a new edge (`repend`) for the fold,
    // not set `pending`, which the fold would overwrite with the LR's state. The state read and
    // the hand-over are one step, as KVM's ap_list_lock makes them.
    v.lr = n;
    g.lrs[n] = v;
    yield writeLr(n, lrValue(v, state, eoiRefill && !v.hw));
    n++;
  }
  for (let k = n; k < file.dirty; k++) yield writeLr(k, 0n);
  file.dirty = n;
  g.usedLrs = n;
  const hcr = HCR_EN | (eligible > n && !eoiRefill ? HCR_UIE : 0);
  if (hcr !== file.hcr) {
    yield msr(ICH_HCR_EL2, hcr, 1);
    file.hcr = hcr;
  }
  return n;
}

/** Reads back the list registers of `g` after its vCPU exited. */
export function* foldLrs(g: VcpuVgic): Program {
  const used = g.usedLrs;
  if (used === 0) return;
  const values = g.lrValues;
  yield* readUsedLrs(used, values);
  for (let n = 0; n < used; n++) {
    const v = g.lrs[n];
    if (v === null || v === undefined) continue;
    const state = lrState(values[n]!);
    v.pending = (state & 1) !== 0 || v.repend;
    v.active = (state & 2) !== 0;
    v.repend = false;
    v.lr = -1;
    g.lrs[n] = null;
  }
  g.usedLrs = 0;
  g.prune();
}

/**
 * After an exit: an underflow request (ICH_HCR_EL2.UIE) left by the flush is switched off, so its
 * maintenance interrupt stops; the next flush deals with the underflow (KVM clears UIE on exit).
 */
export function* dropUnderflow(file: LrFile): Program {
  if ((file.hcr & HCR_UIE) === 0) return;
  yield msr(ICH_HCR_EL2, HCR_EN, 9);
  file.hcr = HCR_EN;
}

/** Invalidates the cached LR image of `v` (after a priority change). */
export function lrChanged(v: VIrq): void {
  v.lrValues = null;
}
