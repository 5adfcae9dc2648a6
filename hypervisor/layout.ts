/**
 * Fixed places: the guest-physical map every VM sees (GICv3 distributor and redistributors,
 * RAM), the host interrupts the hypervisor uses, and the offsets inside the hypervisor image.
 */

/** Guest view: a GICv3 distributor and one 128 KB redistributor per vCPU (RD_base + SGI_base). */
export const GUEST_GICD = 0x0800_0000;
export const GUEST_GICR = 0x0a00_0000;
export const GUEST_GICR_STRIDE = 0x20000;
export const GUEST_RAM = 0x4000_0000;

/** Host INTIDs. */
export const SGI_KICK = 0;
export const PPI_MAINTENANCE = 25;
export const PPI_HYP_TIMER = 26;
export const PPI_VTIMER = 27;

/**
 * Host interrupt priorities (lower is more urgent): the hypervisor's own SGIs and PPIs (kick,
 * EL2 timer, maintenance, virtual timer) above device LPIs and doorbells, so that ICC_PMR_EL1 at
 * PRIO_DEVICE holds device interrupts back while letting the hypervisor's own through (the
 * interrupt-storm throttle, run-loop.ts).
 */
export const PRIO_CONTROL = 0x80;
export const PRIO_DEVICE = 0xa0;
/** ICC_PMR_EL1 letting every priority through (the host CPU interface's usual mask). */
export const PMR_ALL = 0xff;

/** Offsets in the hypervisor image: boot entry, secondary entry, per-core EL2 vectors. */
export const HYP_ENTRY = 0x0;
export const HYP_SECONDARY = 0x100;
export const HYP_VECTORS = 0x1_0000;
export const HYP_VECTOR_STRIDE = 0x800;

export { HVC_SET_AFFINITY, HVC_YIELD, SMCCC_NOT_SUPPORTED } from '../core/smccc.js';
