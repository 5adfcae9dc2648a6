/**
 * The GICv4.0 VLPI_base registers of a redistributor (IHI 0069, GICR_VPROPBASER and
 * GICR_VPENDBASER), declared once for the
 * model and for the hypervisor that programs them.
 */
import { defineReg64 } from '../core/bits.js';

/** GICR_VPROPBASER (GICv4.0 layout): the VM's vLPI configuration table. PA is PA[51:12] (value = PA / 4096). */
export const GICR_VPROPBASER = defineReg64('GICR_VPROPBASER', {
  IDbits: [4, 0],
  InnerCache: [9, 7],
  Shareability: [11, 10],
  PA: [51, 12],
  OuterCache: [58, 56],
});

/**
 * GICR_VPENDBASER (GICv4.0 layout): the resident vPE's virtual pending table (PA[51:16], value =
 * PA / 65536), Valid, and the residency status bits Dirty (RO), PendingLast, IDAI.
 */
export const GICR_VPENDBASER = defineReg64('GICR_VPENDBASER', {
  InnerCache: [9, 7],
  Shareability: [11, 10],
  PA: [51, 16],
  OuterCache: [58, 56],
  Dirty: [60, 60],
  PendingLast: [61, 61],
  IDAI: [62, 62],
  Valid: [63, 63],
});

/**
 * GICR_VPROPBASER in its GICv4.1 layout (GICR_TYPER.RVPEID = 1; IHI 0069, GICR_VPROPBASER): the
 * vPE configuration table the redistributor shares with the ITS (GITS_BASER2 on a GICv4.1 ITS).
 * Size = number of pages - 1 (level-1 pages when Indirect = 1), PA = PA[51:12] (value = PA /
 * 4096), Page_Size as GITS_BASER (0 = 4 KB, 1 = 16 KB, 2 = 64 KB), Entry_Size (RO) = entry bytes
 * / 8 - 1, Z = the table is zero (a hint when Valid is written 1).
 */
export const GICR_VPROPBASER_V41 = defineReg64('GICR_VPROPBASER_V41', {
  Size: [6, 0],
  InnerCache: [9, 7],
  Shareability: [11, 10],
  PA: [51, 12],
  Z: [52, 52],
  Page_Size: [54, 53],
  Indirect: [55, 55],
  OuterCache: [58, 56],
  Entry_Size: [61, 59],
  Valid: [63, 63],
});

/**
 * GICR_VPENDBASER in its GICv4.1 layout (IHI 0069, GICR_VPENDBASER): the resident vPE named by
 * its vPEID, its virtual group enables, Dirty (RO), PendingLast, DB (request the vPE's default
 * doorbell when Valid is written 1 -> 0) and Valid.
 */
export const GICR_VPENDBASER_V41 = defineReg64('GICR_VPENDBASER_V41', {
  vPEID: [15, 0],
  VGrp1En: [58, 58],
  VGrp0En: [59, 59],
  Dirty: [60, 60],
  PendingLast: [61, 61],
  DB: [62, 62],
  Valid: [63, 63],
});

/**
 * GICR_INVLPIR with the GICv4.1 fields (IHI 0069, GICR_INVLPIR): INTID, and with V = 1 the
 * vLPI INTID of vPE vPEID.
 */
export const GICR_INVLPIR_V41 = defineReg64('GICR_INVLPIR_V41', {
  INTID: [31, 0],
  vPEID: [47, 32],
  V: [63, 63],
});

/** GICR_INVALLR with the GICv4.1 fields (IHI 0069, GICR_INVALLR): V = 1 invalidates every vLPI of vPE vPEID. */
export const GICR_INVALLR_V41 = defineReg64('GICR_INVALLR_V41', {
  vPEID: [47, 32],
  V: [63, 63],
});
