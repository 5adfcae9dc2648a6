/**
 * Configuration of the interrupt controller and its place in the physical address map.
 *
 * `gicConfig` fills the defaults in and validates: a field out of range is refused with an
 * error naming the field and the value, before anything is built.
 */
export interface GicConfig {
  /** 3 = GICv3 (no direct injection), 4 = GICv4.0 (vLPIs, VLPI frames, virtual ITS commands). */
  version: 3 | 4;
  /**
   * GICv4.1 (needs version 4; default false = GICv4.0): vPEs resident by vPEID through the vPE
   * configuration table (GICR_VPROPBASER/VPENDBASER v4.1 layouts, GICR_TYPER.RVPEID), one
   * default doorbell per vPE (VMAPP/VMOVP Default_Doorbell, armed by GICR_VPENDBASER.DB),
   * GICD_TYPER2, and the v4.1 ITS (GITS_TYPER.VMAPP/SVPET/nID, VMAPP v4.1, VMOVP v4.1, INVDB).
   */
  v41: boolean;
  /** Number of SPIs (a multiple of 32, up to 988): GICD_TYPER.ITLinesNumber = spis / 32. */
  spis: number;
  /** INTID bits the distributor supports (GICD_TYPER.IDbits + 1): 14 to 24. */
  idBits: number;
  /** Priority bits implemented by the CPU interfaces (ICC_CTLR_EL1.PRIbits + 1, ICH_VTR_EL2.PRIbits + 1). */
  priorityBits: number;
  /** Preemption bits of the virtual CPU interface (ICH_VTR_EL2.PREbits + 1). */
  preemptionBits: number;
  /** List registers per virtual CPU interface, 1 to 16 (ICH_VTR_EL2.ListRegs + 1). */
  listRegs: number;
  /** Physical base of the distributor (64 KB; 64 KB aligned). */
  gicdBase: number;
  /** Physical base of the first redistributor, 64 KB aligned; frames follow contiguously (128 KB each, 256 KB on GICv4). */
  gicrBase: number;
  /** Physical base of the ITS (control frame + translation frame, 128 KB; 64 KB aligned). */
  itsBase: number;
  /**
   * Number of ITSs, 1 to 4 (default 1). ITS n has its GITS frames at `itsBaseOf(cfg, n)`
   * (itsBase + n * 128 KB), its own command queue and tables; a device writes its MSIs to the
   * GITS_TRANSLATER of the ITS it is attached to.
   */
  itsCount: number;
  its: ItsConfig;
}

export interface ItsConfig {
  /** DeviceID bits (GITS_TYPER.Devbits + 1). */
  deviceIdBits: number;
  /** EventID bits (GITS_TYPER.ID_bits + 1). */
  eventIdBits: number;
  /** GITS_TYPER.PTA: RDbase fields hold physical addresses (true) or processor numbers (false). */
  pta: boolean;
  /** GITS_TYPER.HCC: collections held on chip (0 = all in the memory collection table). */
  hcc: number;
  /** vPEID bits (GICv4): vPE table entries are indexed by 16-bit vPEIDs at most. */
  vpeIdBits: number;
  /**
   * The DeviceID a GITS_TRANSLATER write from a PE (a CPU store, not a device's MSI) is
   * translated with, or null (the default) to refuse such writes (dropped and traced with the
   * simulator-defined INT NOT_A_DEVICE).
   *
   * The data of a GITS_TRANSLATER write is only the EventID; the ITS takes the DeviceID from
   * the interconnect, in an IMPLEMENTATION DEFINED way (IHI 0069, GITS_TRANSLATER), and a CPU
   * store carries none the architecture defines. QEMU's ITS uses the transaction's requester
   * ID, which is 0 for a CPU store on its virt board, so bare-metal tests written for QEMU
   * (kvm-unit-tests) raise LPIs of DeviceID 0 with a plain store: set 0 here to run them.
   * Must fit in `deviceIdBits`.
   */
  cpuDeviceId: number | null;
  /**
   * GITS_TYPER.VMOVP of every ITS of a GICv4 machine (default true = 1: VMOVP is issued on one
   * ITS only). false = 0: software must issue VMOVP on every ITS that maps the vPE, with the
   * same SequenceNumber and an ITSList naming those ITSs (IHI 0069, VMOVP).
   */
  vmovp: boolean;
}

/** What a caller may override: any GicConfig field, and any ItsConfig field of `its`. */
export type GicOverrides = Partial<Omit<GicConfig, 'its'>> & { its?: Partial<ItsConfig> };

/**
 * Alignment of the GIC frame bases. Every GIC register frame is a 64 KB page on a 64 KB
 * boundary (IHI 0069, the Distributor, Redistributor and ITS register maps: GICD, RD_base,
 * SGI_base and VLPI_base, the ITS control and translation frames),
 * and software finds registers by adding frame offsets to these bases.
 */
export const GIC_FRAME_ALIGN = 0x10000;

export const DEFAULT_GIC_CONFIG: Readonly<GicConfig> = Object.freeze({
  version: 4,
  v41: false,
  spis: 64,
  idBits: 16,
  priorityBits: 5,
  preemptionBits: 5,
  listRegs: 4,
  gicdBase: 0x0800_0000,
  gicrBase: 0x0a00_0000,
  itsBase: 0x0808_0000,
  itsCount: 1,
  its: Object.freeze({ deviceIdBits: 16, eventIdBits: 16, pta: false, hcc: 0, vpeIdBits: 16, cpuDeviceId: null, vmovp: true }),
});

/**
 * Bytes between two ITSs' GITS frames (IHI 0069, the ITS register map): the control and
 * translation frames (128 KB), and on GICv4.1 the vSGI frame at + 0x20000 too (CHOICE: 256 KB,
 * the next power of two, so ITS n+1 starts past ITS n's vSGI frame). ITS n is at itsBase + n * this.
 */
export function itsFramesBytes(cfg: Pick<GicConfig, 'v41'>): number {
  return cfg.v41 ? 0x40000 : 0x20000;
}

/** Physical base of ITS `n`'s GITS frames. */
export function itsBaseOf(cfg: Pick<GicConfig, 'itsBase' | 'v41'>, n: number): number {
  return cfg.itsBase + n * itsFramesBytes(cfg);
}

/** Size of one redistributor: RD_base + SGI_base, plus VLPI_base + reserved on GICv4 (IHI 0069, "The GIC Redistributor register map"). */
export function redistributorSize(version: 3 | 4): number {
  return version === 4 ? 0x40000 : 0x20000;
}

/** The implemented bits of a priority byte with `bits` priority bits (the low ones are RAZ/WI). */
export function priorityMask(bits: number): number {
  return (0xff << (8 - bits)) & 0xff;
}

/** The configuration `over` asks for, on the defaults; throws naming the first field out of range. */
export function gicConfig(over: GicOverrides = {}): GicConfig {
  const c: GicConfig = { ...DEFAULT_GIC_CONFIG, ...over, its: { ...DEFAULT_GIC_CONFIG.its, ...over.its } };
  const bad = (field: string, want: string, got: unknown): never => {
    throw new Error(`gic.${field}: expected ${want}, got ${typeof got === 'number' ? String(got) : JSON.stringify(got)}`);
  };
  const badAddress = (field: string, got: number): never => {
    const shown = Number.isSafeInteger(got) && got >= 0 ? `0x${got.toString(16)}` : String(got);
    throw new Error(`gic.${field}: expected a physical address aligned to 64 KB (0x10000: every GIC register frame is a 64 KB page on a 64 KB boundary), got ${shown}`);
  };
  if (c.version !== 3 && c.version !== 4) bad('version', '3 or 4', c.version);
  if (c.v41 !== true && c.v41 !== false) bad('v41', 'true or false', c.v41);
  if (c.v41 && c.version !== 4) bad('v41', 'false unless version is 4 (GICv4.1 extends GICv4.0)', c.v41);
  if (!Number.isInteger(c.spis) || c.spis < 0 || c.spis > 988 || c.spis % 32 !== 0) bad('spis', 'a multiple of 32 from 0 to 988', c.spis);
  if (!Number.isInteger(c.idBits) || c.idBits < 14 || c.idBits > 24) bad('idBits', 'an integer from 14 to 24', c.idBits);
  if (!Number.isInteger(c.listRegs) || c.listRegs < 1 || c.listRegs > 16) bad('listRegs', 'an integer from 1 to 16', c.listRegs);
  if (!Number.isInteger(c.priorityBits) || c.priorityBits < 4 || c.priorityBits > 8) bad('priorityBits', 'an integer from 4 to 8', c.priorityBits);
  if (!Number.isInteger(c.preemptionBits) || c.preemptionBits < 5 || c.preemptionBits > c.priorityBits) bad('preemptionBits', `an integer from 5 to priorityBits (${c.priorityBits})`, c.preemptionBits);
  if (!Number.isInteger(c.its.vpeIdBits) || c.its.vpeIdBits < 1 || c.its.vpeIdBits > 16) bad('its.vpeIdBits', 'an integer from 1 to 16', c.its.vpeIdBits);
  if (!Number.isInteger(c.its.deviceIdBits) || c.its.deviceIdBits < 1 || c.its.deviceIdBits > 32) bad('its.deviceIdBits', 'an integer from 1 to 32', c.its.deviceIdBits);
  if (!Number.isInteger(c.its.eventIdBits) || c.its.eventIdBits < 1 || c.its.eventIdBits > 32) bad('its.eventIdBits', 'an integer from 1 to 32', c.its.eventIdBits);
  if (!Number.isInteger(c.itsCount) || c.itsCount < 1 || c.itsCount > 4) bad('itsCount', 'an integer from 1 to 4', c.itsCount);
  if (c.its.vmovp !== true && c.its.vmovp !== false) bad('its.vmovp', 'true or false', c.its.vmovp);
  const cpuId = c.its.cpuDeviceId;
  const ids = 2 ** c.its.deviceIdBits;
  if (cpuId !== null && (!Number.isInteger(cpuId) || cpuId < 0 || cpuId >= ids)) bad('its.cpuDeviceId', `null or an integer from 0 to ${ids - 1} (its.deviceIdBits = ${c.its.deviceIdBits})`, cpuId);
  for (const f of ['gicdBase', 'gicrBase', 'itsBase'] as const) {
    const v = c[f];
    if (!Number.isSafeInteger(v) || v < 0 || v % GIC_FRAME_ALIGN !== 0) badAddress(f, v);
  }
  // The ITS frames (itsCount strides from itsBase) must not overlap the distributor's 64 KB.
  const itsEnd = c.itsBase + c.itsCount * itsFramesBytes(c);
  if (c.gicdBase < itsEnd && c.itsBase < c.gicdBase + GIC_FRAME_ALIGN) bad('itsCount', `ITS frames (0x${c.itsBase.toString(16)}..0x${itsEnd.toString(16)}) that do not overlap the distributor at gicdBase 0x${c.gicdBase.toString(16)}`, c.itsCount);
  return c;
}
