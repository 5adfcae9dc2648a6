/**
 * Offsets of the GIC MMIO registers (IHI 0069, "The GIC Distributor register map" and "The GIC
 * Redistributor register map"), for the models' register tables
 * (distributor.ts, redistributor.ts, vlpi-frame.ts), drivers (host and guest) and the emulated
 * virtual GIC. One table of names and offsets, so the models' register blocks
 * and the software that programs them agree by construction.
 */

/** Distributor (GICD, 64 KB). Per-INTID arrays: register n at base + 4n (bits) or + n (bytes). */
export const GICD = {
  CTLR: 0x0000,
  TYPER: 0x0004,
  IIDR: 0x0008,
  TYPER2: 0x000c,
  SETSPI_NSR: 0x0040,
  CLRSPI_NSR: 0x0048,
  IGROUPR: 0x0080,
  ISENABLER: 0x0100,
  ICENABLER: 0x0180,
  ISPENDR: 0x0200,
  ICPENDR: 0x0280,
  ISACTIVER: 0x0300,
  ICACTIVER: 0x0380,
  IPRIORITYR: 0x0400,
  ITARGETSR: 0x0800,
  ICFGR: 0x0c00,
  IGRPMODR: 0x0d00,
  NSACR: 0x0e00,
  SGIR: 0x0f00,
  /** IROUTER<n> at 0x6000 + 8n, n = 32..1019 (SPI 32 at 0x6100). */
  IROUTER: 0x6000,
  PIDR2: 0xffe8,
} as const;

/** Redistributor RD_base frame (first 64 KB of each redistributor). */
export const GICR = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  TYPER: 0x0008,
  WAKER: 0x0014,
  SETLPIR: 0x0040,
  CLRLPIR: 0x0048,
  PROPBASER: 0x0070,
  PENDBASER: 0x0078,
  INVLPIR: 0x00a0,
  INVALLR: 0x00b0,
  SYNCR: 0x00c0,
  PIDR2: 0xffe8,
} as const;

/** Offset of the SGI_base frame from the start of a redistributor. */
export const GICR_SGI_BASE = 0x10000;
/** Offset of the VLPI_base frame (GICv4). */
export const GICR_VLPI_BASE = 0x20000;

/** SGI_base frame registers (the GICD layout for INTIDs 0-31). */
export const GICR_SGI = {
  IGROUPR0: 0x0080,
  ISENABLER0: 0x0100,
  ICENABLER0: 0x0180,
  ISPENDR0: 0x0200,
  ICPENDR0: 0x0280,
  ISACTIVER0: 0x0300,
  ICACTIVER0: 0x0380,
  IPRIORITYR: 0x0400,
  ICFGR0: 0x0c00,
  ICFGR1: 0x0c04,
  IGRPMODR0: 0x0d00,
  NSACR: 0x0e00,
} as const;

/** VLPI_base frame registers (GICv4.0). */
export const GICR_VLPI = {
  VPROPBASER: 0x0070,
  VPENDBASER: 0x0078,
  /** GICv4.1: query a vPE's pending vSGIs (vPEID [15:0]). */
  VSGIR: 0x0080,
  /** GICv4.1 (RO): Pending [15:0], Busy [31]. */
  VSGIPENDR: 0x0088,
} as const;

// ITS offsets: GITS in its/its-registers.ts.
