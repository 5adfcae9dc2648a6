/**
 * ITS command and translation errors (IHI 0069H §5.5 "ITS command error encodings").
 *
 * Codes follow the architected pattern 0x01_CC_EE: CC is the command's opcode and EE the
 * reason. The codes Linux `arm-gic-v3.h` and the GIC-600AE TRM list are used as given,
 * including their two irregularities: CLEAR's codes use CC = 0x05 (0x010507
 * CLEAR_UNMAPPED_INTERRUPT although CLEAR is opcode 0x04), and MOVALL's bad RDbase is
 * 0x010E01 PROCNUM_OOR (reason 0x01, not 0x02 as for MAPC).
 *
 * SIMULATOR-DEFINED (marked `arch: false` in `ITS_ERROR_REASONS`): every reason >= 0x10,
 * the codes of the virtual commands (neither of those sources lists them), and the
 * pattern-completing codes for conditions the sources do not list for a command (for example
 * 0x010A01 MAPTI_DEVICE_OOR, 0x010309 INT_UNMAPPED_COLLECTION, 0x010502 SYNC_PROCNUM_OOR).
 *
 * CHOICE (IHI 0069 leaves the response to a command error CONSTRAINED UNPREDICTABLE: ignore
 * the command, or stall with GITS_CREADR.Stalled = 1; this is QEMU's policy, hw/intc/arm_gicv3_its.c):
 * - a memory access that fails while the ITS reads the command queue or reads/writes one of
 *   its tables (an address no RAM decodes) STALLS the queue: GITS_CREADR.Stalled = 1, CREADR
 *   keeps pointing at the failing command, and software resumes with GITS_CWRITER.Retry = 1;
 * - every other error (bad parameters: IDs out of range, unmapped device/interrupt/collection/
 *   vPE, unknown opcode, wrong interrupt type) SKIPS the command: CREADR advances past it and
 *   processing continues.
 * Either way the code is recorded (`Its.errors`, `Its.lastError`) and traced ('its-error').
 */
import { ITS_COMMANDS } from './commands.js';

/** Reasons (the EE byte). */
export const Reason = {
  DEVICE_OOR: 0x01,
  /** MAPD: ITTSIZE_OOR (Size > GITS_TYPER.ID_bits). MAPC/SYNC/VMAPP/VMOVP: PROCNUM_OOR (RDbase names no RD). */
  SIZE_OR_PROCNUM_OOR: 0x02,
  COLLECTION_OOR: 0x03,
  UNMAPPED_DEVICE: 0x04,
  ID_OOR: 0x05,
  PHYSICALID_OOR: 0x06,
  UNMAPPED_INTERRUPT: 0x07,
  UNMAPPED_COLLECTION: 0x09,
  // ---- simulator-defined ----
  /** vPEID >= 2^vPEID bits or beyond the vPE table. */
  VPEID_OOR: 0x10,
  /** The vPE table entry is invalid. */
  UNMAPPED_VPE: 0x11,
  /** vINTID not an LPI, or beyond the vPE's VPT_size. */
  VIRTUALID_OOR: 0x12,
  /** Dbell_pINTID neither 1023 nor an LPI. */
  DOORBELL_OOR: 0x13,
  /** MOVI on a virtual ITE, VMOVI on a physical one. */
  WRONG_INTTYPE: 0x14,
  /** VMAPP VPT_size > GITS_TYPER.ID_bits. */
  VPTSIZE_OOR: 0x15,
  /** A table entry read or write failed (no RAM at the address): stall. */
  TABLE_FAULT: 0x20,
  /** Reading the command from the queue failed: stall. */
  QUEUE_FAULT: 0x21,
  /** A GITS_TRANSLATER write that does not come from a device (no DeviceID sideband). */
  NOT_A_DEVICE: 0x30,
  /** Reserved opcode, a GICv4.1 command, or a virtual command on a GICv3 ITS (Virtual = 0). */
  UNKNOWN_COMMAND: 0xff,
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Error codes exactly as the sources list them (Linux `arm-gic-v3.h`, GIC-600AE TRM). */
export const E_ITS = {
  MOVI_DEVICE_OOR: 0x010101,
  MOVI_COLLECTION_OOR: 0x010103,
  MOVI_UNMAPPED_DEVICE: 0x010104,
  MOVI_ID_OOR: 0x010105,
  MOVI_UNMAPPED_INTERRUPT: 0x010107,
  MOVI_UNMAPPED_COLLECTION: 0x010109,
  INT_DEVICE_OOR: 0x010301,
  INT_UNMAPPED_DEVICE: 0x010304,
  INT_ID_OOR: 0x010305,
  INT_UNMAPPED_INTERRUPT: 0x010307,
  CLEAR_DEVICE_OOR: 0x010501,
  CLEAR_UNMAPPED_DEVICE: 0x010504,
  CLEAR_ID_OOR: 0x010505,
  CLEAR_UNMAPPED_INTERRUPT: 0x010507,
  MAPD_DEVICE_OOR: 0x010801,
  MAPD_ITTSIZE_OOR: 0x010802,
  MAPC_PROCNUM_OOR: 0x010902,
  MAPC_COLLECTION_OOR: 0x010903,
  MAPTI_COLLECTION_OOR: 0x010a03,
  MAPTI_UNMAPPED_DEVICE: 0x010a04,
  MAPTI_ID_OOR: 0x010a05,
  MAPTI_PHYSICALID_OOR: 0x010a06,
  MAPI_DEVICE_OOR: 0x010b01,
  MAPI_COLLECTION_OOR: 0x010b03,
  MAPI_UNMAPPED_DEVICE: 0x010b04,
  MAPI_ID_OOR: 0x010b05,
  INV_DEVICE_OOR: 0x010c01,
  INV_UNMAPPED_DEVICE: 0x010c04,
  INV_UNMAPPED_INTERRUPT: 0x010c07,
  INVALL_COLLECTION_OOR: 0x010d03,
  INVALL_UNMAPPED_COLLECTION: 0x010d09,
  MOVALL_PROCNUM_OOR: 0x010e01,
  DISCARD_UNMAPPED_INTERRUPT: 0x010f07,
} as const;

const ARCH_CODES: ReadonlySet<number> = new Set(Object.values(E_ITS));

const OPCODE_CLEAR = ITS_COMMANDS.CLEAR.opcode;
const CC_CLEAR = 0x05;

/** The error code of `reason` for the command with `opcode` (CLEAR uses CC = 0x05, see above). */
export function errorCode(opcode: number, reason: number): number {
  const cc = opcode === OPCODE_CLEAR ? CC_CLEAR : opcode & 0xff;
  return 0x010000 + cc * 0x100 + (reason & 0xff);
}

/** True when this error stalls the queue (memory faults); false when the command is skipped. */
export function stallsQueue(code: number): boolean {
  const r = code & 0xff;
  return r === Reason.TABLE_FAULT || r === Reason.QUEUE_FAULT;
}

/** True when the code is one the sources list (not simulator-defined). */
export function isArchitectedCode(code: number): boolean {
  return ARCH_CODES.has(code);
}

const REASON_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Reason).map(([k, v]) => [v, k]),
);

/** A readable name for a code raised by command `command` ('MAPD', ..., 'TRANSLATE', 'FETCH'). */
export function errorName(command: string, code: number): string {
  const r = code & 0xff;
  let reason = REASON_NAMES[r] ?? `REASON_${r.toString(16)}`;
  if (r === Reason.SIZE_OR_PROCNUM_OOR) reason = command === 'MAPD' ? 'ITTSIZE_OOR' : 'PROCNUM_OOR';
  if (command === 'MOVALL' && r === Reason.DEVICE_OOR) reason = 'PROCNUM_OOR';
  return `${command}_${reason}`;
}

/** One recorded command error. */
export interface ItsErrorRecord {
  /** Simulated time the error was detected. */
  readonly t: number;
  /** 0x01_CC_EE. */
  readonly code: number;
  /** e.g. 'MAPTI_PHYSICALID_OOR'. */
  readonly name: string;
  /** Command name, 'UNKNOWN' for an opcode no command has, 'FETCH' when the queue read failed. */
  readonly command: string;
  /** Byte offset of the command in the queue (GITS_CREADR.Offset * 32). */
  readonly offset: number;
  readonly outcome: 'skipped' | 'stalled';
}
