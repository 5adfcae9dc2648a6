/**
 * GITS register layouts and offsets (IHI 0069, the GITS_* register descriptions and the ITS
 * register map). Each layout is declared once with
 * `defineReg`/`defineReg64` and used by the ITS model and by drivers alike; positions are
 * `[hi, lo]` as the Arm register pages write them.
 *
 * Address fields hold the address bits in place, shifted down: GITS_CBASER.PA is PA[51:12]
 * (value = PA / 4096), GITS_BASER.PA is PA[47:12] (for 64 KB pages [47:16] = PA[47:16] and
 * [15:12] = PA[51:48], see `baserAddress`). Queue offsets are Offset[19:5] (value = byte
 * offset / 32).
 */
import { defineReg, defineReg64 } from '../../core/bits.js';

/** Byte offsets in the ITS frames (control frame at ITS_base, translation frame at ITS_base + 64 KB). */
export const GITS = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  TYPER: 0x0008,
  CBASER: 0x0080,
  CWRITER: 0x0088,
  CREADR: 0x0090,
  /** GITS_BASER<n> at BASER + 8n, n = 0..7. */
  BASER: 0x0100,
  PIDR2: 0xffe8,
  TRANSLATER: 0x10040,
} as const;

/** Size of the ITS register space: control frame + translation frame (GICv4.0 has no vSGI frame). */
export const GITS_SIZE = 0x20000;

/** GITS_CTLR: only Enabled is writable here; Quiescent is RO. */
export const GITS_CTLR = defineReg('GITS_CTLR', {
  Enabled: [0, 0],
  ImDe: [1, 1],
  ITS_Number: [7, 4],
  Quiescent: [31, 31],
});

export const GITS_IIDR = defineReg('GITS_IIDR', {
  Implementer: [11, 0],
  Revision: [15, 12],
  Variant: [19, 16],
  ProductID: [31, 24],
});

/** GITS_TYPER (64-bit, RO). Every field lies below bit 53, so values travel as numbers. */
export const GITS_TYPER = defineReg('GITS_TYPER', {
  Physical: [0, 0],
  Virtual: [1, 1],
  CCT: [2, 2],
  IMPDEF: [3, 3],
  ITT_entry_size: [7, 4],
  ID_bits: [12, 8],
  Devbits: [17, 13],
  SEIS: [18, 18],
  PTA: [19, 19],
  HCC: [31, 24],
  CIDbits: [35, 32],
  CIL: [36, 36],
  VMOVP: [37, 37],
  MPAM: [38, 38],
  VSGI: [39, 39],
  VMAPP: [40, 40],
  SVPET: [42, 41],
  nID: [43, 43],
});

/** GITS_CBASER: the command queue. Size = number of 4 KB pages - 1. */
export const GITS_CBASER = defineReg64('GITS_CBASER', {
  Size: [7, 0],
  Shareability: [11, 10],
  PA: [51, 12],
  OuterCache: [55, 53],
  InnerCache: [61, 59],
  Valid: [63, 63],
});

/** GITS_CWRITER: Retry (write 1 to restart a stalled queue), Offset of the next free slot. */
export const GITS_CWRITER = defineReg('GITS_CWRITER', {
  Retry: [0, 0],
  Offset: [19, 5],
});

/** GITS_CREADR (RO): Stalled, Offset of the next command the ITS will read. */
export const GITS_CREADR = defineReg('GITS_CREADR', {
  Stalled: [0, 0],
  Offset: [19, 5],
});

/** GITS_BASER<n>: one ITS table. Entry_Size and Type are RO. */
export const GITS_BASER = defineReg64('GITS_BASER', {
  Size: [7, 0],
  Page_Size: [9, 8],
  Shareability: [11, 10],
  PA: [47, 12],
  Entry_Size: [52, 48],
  OuterCache: [55, 53],
  Type: [58, 56],
  InnerCache: [61, 59],
  Indirect: [62, 62],
  Valid: [63, 63],
});

/** GITS_PIDR2: ArchRev 0x3 = GICv3, 0x4 = GICv4 (same layout as GICD_PIDR2; IHI 0069, GITS_PIDR2). */
export const GITS_PIDR2 = defineReg('GITS_PIDR2', { ArchRev: [7, 4] });

/** GITS_BASER<n>.Type values. */
export const BaserType = { None: 0, Devices: 1, VPEs: 2, Collections: 4 } as const;
export type BaserType = (typeof BaserType)[keyof typeof BaserType];

/** GITS_BASER<n>.Page_Size encodings. CHOICE: the reserved value 0b11 is treated as 64 KB (as QEMU does). */
export function baserPageBytes(pageSizeField: number): number {
  return pageSizeField === 0 ? 0x1000 : pageSizeField === 1 ? 0x4000 : 0x10000;
}

/**
 * The table base address a GITS_BASER value names: PA[47:12] for 4 KB and 16 KB pages; for
 * 64 KB pages bits [47:16] are PA[47:16] and bits [15:12] are PA[51:48].
 */
export function baserAddress(paField: number, pageBytes: number): number {
  if (pageBytes !== 0x10000) return paField * 0x1000;
  const low = Math.floor(paField / 16) * 0x10000; // field bits [47:16] -> PA[47:16]
  const high = paField % 16; // field bits [15:12] -> PA[51:48]
  return low + high * 2 ** 48;
}

/** The GITS_BASER.PA field value that names table address `pa` (the inverse of `baserAddress`; `pa` aligned to the page). */
export function baserPaField(pa: number, pageBytes: number): number {
  if (pageBytes !== 0x10000) return Math.floor(pa / 0x1000);
  return Math.floor((pa % 2 ** 48) / 0x10000) * 16 + Math.floor(pa / 2 ** 48);
}

/** GITS_BASER<n>.Page_Size encoding of a page of `pageBytes` (4, 16 or 64 KB). */
export function baserPageSizeField(pageBytes: number): number {
  return pageBytes === 0x1000 ? 0 : pageBytes === 0x4000 ? 1 : 2;
}

/** Bytes of the command queue that GITS_CBASER.Size describes. */
export function queueBytes(sizeField: number): number {
  return (sizeField + 1) * 0x1000;
}

/** Bytes per command in the queue. */
export const COMMAND_BYTES = 32;
