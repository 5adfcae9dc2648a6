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
