/**
 * vPE residency on a GICv4.1 redistributor (IHI 0069, GICR_VPROPBASER and GICR_VPENDBASER in
 * their GICv4.1 layouts, GICR_INVLPIR / GICR_INVALLR with V = 1), as Linux drives it:
 *
 * - `inheritVpeTable`: point a redistributor's GICR_VPROPBASER at the vPE configuration table
 *   of a GICv4.1 ITS that shares it (GITS_TYPER.SVPET != 0; GITS_BASER2 holds the vPE table on
 *   a GICv4.1 ITS): Valid, Indirect, Page_Size, the table address and Size copied from
 *   GITS_BASER2 (irq-gic-v3-its.c `inherit_vpe_l1_table_from_its`).
 * - `makeResidentV41`: GICR_VPENDBASER = {Valid, VGrp0En, VGrp1En, vPEID}, then (optionally)
 *   wait for Dirty = 0 (`its_vpe_4_1_schedule`, `its_wait_vpt_parse_complete`).
 * - `makeNonResidentV41`: clear Valid with DB = 1 and PendingLast = 0 when the vCPU is going to
 *   block (ask for the vPE's default doorbell), or DB = 0 and PendingLast = 1 when it is only
 *   preempted; poll Dirty; the value read tells PendingLast (`its_vpe_4_1_deschedule`,
 *   `its_clear_vpend_valid`).
 * - `invalidateVlpiV41` / `invalidateAllVlpisV41`: a vLPI's (all vLPIs') configuration re-read
 *   at the redistributor that has the vPE, GICR_SYNCR polled (`its_vpe_4_1_invall`, the
 *   register-based INV of GICv4.1).
 */
import { toBig, toNum } from '../core/bits.js';
import { ldr, str, type Program } from '../core/ops.js';
import { GITS, GITS_BASER, GITS_TYPER, baserAddress, baserPageBytes } from '../gic/its/its-registers.js';
import { GICR, GICR_VLPI } from '../gic/mmio-offsets.js';
import { GICR_INVALLR_V41, GICR_INVLPIR_V41, GICR_VPENDBASER_V41, GICR_VPROPBASER_V41 } from '../gic/vlpi-registers.js';
import { waitSync } from './lpi.js';
import { waitVpendClean, type DirtyPolls } from './residency.js';

/** Transfer register of the MMIO accesses. */
const RT = 9;
/** GITS_BASER2 holds the vPE table on a GICv4.1 ITS (IHI 0069, GITS_BASER<n>). */
const VPE_BASER = GITS.BASER + 2 * 8;

/**
 * Points the GICR_VPROPBASER of the VLPI_base frame at `frame` at the vPE table of the GICv4.1
 * ITS at `itsBase`. Returns the value written, or 0n (nothing written) when the ITS is not
 * GICv4.1, does not share its vPE table (SVPET = 0) or has no valid vPE table.
 */
export function* inheritVpeTable(itsBase: number, frame: number): Program<bigint> {
  const t = GITS_TYPER.decode(toNum((yield ldr(itsBase + GITS.TYPER, 8, RT)) as bigint));
  if (t.VMAPP === 0 || t.SVPET === 0) return 0n;
  const b = GITS_BASER.decode(toBig((yield ldr(itsBase + VPE_BASER, 8, RT)) as bigint));
  if (b.Valid === 0) return 0n;
  const pa = baserAddress(b.PA, baserPageBytes(b.Page_Size));
  const v = GICR_VPROPBASER_V41.encode({
    Valid: 1,
    Indirect: b.Indirect,
    Page_Size: b.Page_Size,
    PA: pa / 0x1000,
    Size: b.Size,
    Shareability: b.Shareability,
    InnerCache: b.InnerCache,
  });
  yield str(frame + GICR_VLPI.VPROPBASER, v, 8, RT);
  return v;
}

/**
 * Makes vPE `vpeid` resident at `frame` (its_vpe_4_1_schedule): Valid = 1 with the virtual group
 * enables (KVM: Group 1 = the guest's distributor enable, Group 0 off). With `wait`, polls Dirty
 * until the VPT parse is done.
 */
export function* makeResidentV41(frame: number, vpeid: number, wait: boolean, g1en = true, g0en = false, polls?: DirtyPolls): Program {
  yield str(frame + GICR_VLPI.VPENDBASER, GICR_VPENDBASER_V41.encode({ Valid: 1, vPEID: vpeid, VGrp1En: g1en ? 1 : 0, VGrp0En: g0en ? 1 : 0 }), 8, RT);
  if (wait) yield* waitVpendClean(frame, polls);
}

/**
 * Makes the resident vPE at `frame` non-resident (its_vpe_4_1_deschedule): waits for Dirty = 0,
 * writes Valid = 0 with DB = 1, PendingLast = 0 when `requestDoorbell` (the vCPU blocks: the
 * GIC then rings the vPE's default doorbell for the next interrupt, unless PendingLast reads
 * back 1) or DB = 0, PendingLast = 1 (the vCPU is preempted), waits for Dirty = 0 again and
 * returns GICR_VPENDBASER as read then.
 */
export function* makeNonResidentV41(frame: number, requestDoorbell: boolean, polls?: DirtyPolls): Program<bigint> {
  const cur: bigint = yield* waitVpendClean(frame, polls);
  let v = GICR_VPENDBASER_V41.set(cur, 'Valid', 0);
  v = GICR_VPENDBASER_V41.set(v, 'DB', requestDoorbell ? 1 : 0);
  v = GICR_VPENDBASER_V41.set(v, 'PendingLast', requestDoorbell ? 0 : 1);
  yield str(frame + GICR_VLPI.VPENDBASER, v, 8, RT);
  return yield* waitVpendClean(frame, polls);
}

/** GICR_INVLPIR with V = 1 at redistributor `rd` (RD_base): vLPI `vintid` of vPE `vpeid`; then GICR_SYNCR. */
export function* invalidateVlpiV41(rd: number, vpeid: number, vintid: number): Program {
  yield str(rd + GICR.INVLPIR, GICR_INVLPIR_V41.encode({ V: 1, vPEID: vpeid, INTID: vintid }), 8, RT);
  yield* waitSync(rd);
}

/** GICR_INVALLR with V = 1 at redistributor `rd` (RD_base): every vLPI of vPE `vpeid`; then GICR_SYNCR. */
export function* invalidateAllVlpisV41(rd: number, vpeid: number): Program {
  yield str(rd + GICR.INVALLR, GICR_INVALLR_V41.encode({ V: 1, vPEID: vpeid }), 8, RT);
  yield* waitSync(rd);
}
