/**
 * Fixed places: the guest-physical map every VM sees (GICv3 distributor, redistributors and ITS,
 * RAM), the host interrupts the hypervisor uses, and the offsets inside the hypervisor image.
 */

/** Guest view: a GICv3 distributor and one 128 KB redistributor per vCPU (RD_base + SGI_base). */
export const GUEST_GICD = 0x0800_0000;
export const GUEST_GICR = 0x0a00_0000;
export const GUEST_GICR_STRIDE = 0x20000;
/**
 * Guest view: the VM's emulated ITS (hypervisor/vits/), at QEMU virt's ITS address: a 64 KB
 * control frame and the 64 KB translation frame (GITS_TRANSLATER), 128 KB in all (IHI 0069, the
 * ITS register map).
 */
export const GUEST_GITS = 0x0808_0000;
export const GUEST_GITS_SIZE = 0x20000;
export const GUEST_RAM = 0x4000_0000;
/** Guest view: the 4 KB register frames of the VM's wired devices (device pages), the n-th at + 0x1000 * n. */
export const GUEST_WIRED_FRAMES = 0x2000_0000;

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

/**
 * The VMM's request ring (hypervisor/requests.ts), in the hypervisor image at codePa +
 * HYP_REQUESTS, past the per-core vectors of 256 cores: a VMM running beside the machine writes
 * its KVM_IRQ_LINE / KVM_SIGNAL_MSI requests there, as an ioctl's argument, then rings the
 * request SPI. One producer (the VMM), one consumer (the hypervisor on the core the request SPI
 * is routed to).
 */
export const HYP_REQUESTS = 0x10_0000;
export const REQUEST_RING = {
  /** u32, written by the VMM: requests written so far, modulo 2^32. */
  HEAD: 0x0,
  /** u32, written by the hypervisor: requests carried out so far, modulo 2^32 (a 64-byte granule apart from HEAD). */
  TAIL: 0x40,
  /** The entries: SLOTS of SLOT bytes; request n is in slot n % SLOTS. */
  ENTRIES: 0x80,
  SLOT: 0x20,
  SLOTS: 256,
} as const;
/** Words of a ring entry (byte offsets in the slot). */
export const REQUEST = {
  KIND: 0x0,
  /** The VM (its index: the VM file descriptor the ioctl was made on). */
  VM: 0x4,
  /** KVM_IRQ_LINE: the irq field (KVM_IRQ); KVM_SIGNAL_MSI: the DeviceID. */
  A: 0x8,
  /** KVM_IRQ_LINE: the level; KVM_SIGNAL_MSI: the EventID (the MSI data). */
  B: 0xc,
  /** Written by the hypervisor when done: the ioctl's return value (REQUEST_PENDING until then). */
  RESULT: 0x10,
} as const;
export const REQUEST_KIND = { IRQ_LINE: 1, SIGNAL_MSI: 2 } as const;
export const REQUEST_PENDING = 0x7fff_ffff;
/** -EINVAL, the ioctls' answer to a request naming no interrupt, vCPU or VM. */
export const EINVAL = -22;
/** KVM_IRQ_LINE's irq field, as KVM's uapi asm/kvm.h lays it out (KVM_ARM_IRQ_TYPE_*, _VCPU_*, _NUM_*). */
export const KVM_IRQ = { TYPE_SHIFT: 24, TYPE_MASK: 0xf, VCPU_SHIFT: 16, VCPU_MASK: 0xff, NUM_MASK: 0xffff, TYPE_SPI: 1, TYPE_PPI: 2 } as const;

export { HVC_SET_AFFINITY, HVC_YIELD, SMCCC_NOT_SUPPORTED } from '../core/smccc.js';
