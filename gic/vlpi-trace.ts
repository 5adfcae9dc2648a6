/**
 * Trace record kinds of the redistributors' side of GICv4.0 direct injection (VLPI_base frames,
 * residency, vLPIs arriving at a redistributor), declared here once by declaration merging and
 * emitted by vlpi-frame.ts. Every emit is guarded by `if (m.trace.on)`.
 *
 * `core` is the redistributor's PE and `el` that PE's EL at the time.
 */
import type {} from '../core/trace.js';

/**
 * A residency change of redistributor `rd` (IHI 0069, GICR_VPENDBASER.Valid):
 * - 'schedule': Valid 0 -> 1 with the VPT at `vpt`; Dirty reads 1 for `dirty` cycles.
 * - 'parsed': the VPT parse completed; `found` pending vLPIs were read from it (Dirty = 0).
 * - 'deschedule': Valid 1 -> 0; residency ended at once; Dirty reads 1 for `dirty` cycles.
 * - 'flushed': Dirty = 0 after a deschedule; `pendingLast` is GICR_VPENDBASER.PendingLast.
 */
export type VpeResidencyEvent = 'schedule' | 'parsed' | 'deschedule' | 'flushed';

/** Why a redistributor dropped a vLPI. */
export type VlpiDropReason =
  /** vINTID below 8192 or not below 2^(VPT_size + 1). */
  | 'range'
  /** The vPE is resident and vINTID is not below 2^(GICR_VPROPBASER.IDbits + 1). */
  | 'idbits'
  /**
   * GICv4.0: the vPE is resident on another redistributor, whose copy of the VPT this one cannot
   * reach (the ITS's vPE table named a redistributor the vPE had left: a VMOVP missing on that
   * ITS). See vlpi-frame.ts `lostToResidentRd`.
   */
  | 'resident-elsewhere';

declare module '../core/trace.js' {
  interface TraceKinds {
    'vpe-residency': { rd: number; vpt: number; event: VpeResidencyEvent; valid: boolean; dirty: number; pendingLast: number; found: number };
    /**
     * A vLPI arrived at redistributor `rd` for the vPE whose VPT is at `vpt` (its bit is set in the
     * VPT). `resident`: that vPE is resident here. `fresh`: the bit was clear before. `doorbell`:
     * the ITE's Dbell_pINTID (1023 = none); `rung`: the doorbell LPI was made pending at `rd`
     * (not resident, doorbell != 1023, and the redistributor accepted the LPI).
     */
    'vlpi-pending': { rd: number; vpt: number; vintid: number; resident: boolean; fresh: boolean; doorbell: number; rung: boolean };
    /**
     * A GICv4.0 doorbell: a vLPI for the non-resident vPE at `vpt` named physical LPI `doorbell`,
     * which was made pending at `rd` (`accepted`), or dropped there (EnableLPIs = 0, out of range).
     */
    'vlpi-doorbell': { rd: number; vpt: number; vintid: number; doorbell: number; accepted: boolean };
    /** A vLPI the redistributor dropped (nothing written to the VPT, no doorbell). */
    'vlpi-dropped': { rd: number; vpt: number; vintid: number; reason: VlpiDropReason };
    /**
     * Bookkeeping of vLPIs at redistributor `rd`: a pending bit cleared (CLEAR, DISCARD, VMOVI),
     * a configuration fetch completed (`detail` = the byte), an invalidation (INV: `detail` = 1 if
     * the byte was re-read; VINVALL: `detail` = number of bytes re-read), a vPE mapped or
     * unmapped by VMAPP/VMOVP (`detail` = VPT vINTID bits, or 0).
     */
    'vlpi': { rd: number; vpt: number; vintid: number; what: 'cleared' | 'fill' | 'inv' | 'invall' | 'mapped' | 'unmapped'; detail: number };
  }
}
