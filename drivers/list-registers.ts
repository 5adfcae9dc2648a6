/**
 * List-register primitives for a hypervisor (IHI 0069, chapter "Virtual Interrupt Handling and
 * Prioritization"; registers ICH_LR<n>_EL2, ICH_ELRSR_EL2, ICH_VTR_EL2, ICH_HCR_EL2,
 * ICH_VMCR_EL2, ICH_AP0R/AP1R<n>_EL2): how many LRs the PE has, which are empty, writing an
 * interrupt into one and reading the LRs back after the guest ran, and saving and restoring the
 * rest of a vCPU's virtual CPU interface state across a switch. Values are built and decoded with the one codec
 * of the format, gic/ich-registers.ts.
 *
 * Single-register accesses are op builders (`yield writeLr(n, v)`), so a hot loop allocates no
 * generator per access; multi-op routines are programs (`yield* findEmptyLr(n)`).
 */
import { hi32 } from '../core/bits.js';
import { isb, mrs, mrsn, msr, msrn, type Op, type Program } from '../core/ops.js';
import { ICH_HCR, ICH_VMCR, ICH_VTR } from '../gic/ich-registers.js';
import { ICH_AP0R_EL2, ICH_AP1R_EL2, ICH_ELRSR_EL2, ICH_HCR_EL2, ICH_LR_EL2, ICH_MISR_EL2, ICH_VMCR_EL2, ICH_VTR_EL2 } from '../gic/sysregs.js';

/** Transfer register of the MRS/MSRs. */
const RT = 1;
/** ICH_LR<n>_EL2.State is bits [63:62]: bits [31:30] of the high word. */
const LR_STATE_HI = 30;

/** MSR ICH_LR<n>_EL2, `value`. */
export function writeLr(n: number, value: bigint): Op {
  return msr(ICH_LR_EL2[n]!, value, RT);
}

/** MRS ICH_LR<n>_EL2 (the op yields the value as a bigint). */
export function readLr(n: number): Op {
  return mrs(ICH_LR_EL2[n]!, RT);
}

/** MRS ICH_ELRSR_EL2: bit n set = LR n holds no interrupt (State Invalid, and HW = 1 or EOI = 0). */
export function readElrsr(): Op {
  return mrs(ICH_ELRSR_EL2, RT);
}

/**
 * MRS ICH_MISR_EL2 (the op yields a number): which maintenance interrupt conditions hold now (IHI
 * 0069, ICH_MISR_EL2: EOI, U, LRENP, NP, VGrp0E/D, VGrp1E/D); non-zero while ICH_HCR_EL2.En = 1
 * means the maintenance interrupt (PPI 25) is asserted.
 */
export function readMisr(): Op {
  return mrs(ICH_MISR_EL2, RT);
}

/** MRS ICH_HCR_EL2 (the op yields a number: its fields, and EOIcount in [31:27]). */
export function readHcr(): Op {
  return mrs(ICH_HCR_EL2, RT);
}

/**
 * MSR ICH_HCR_EL2, `value` (built with the ICH_HCR codec). The write sets EOIcount too: a value
 * built without it restarts the count from 0.
 */
export function writeHcr(value: number): Op {
  return msr(ICH_HCR_EL2, value, RT);
}

/**
 * ICH_HCR_EL2.EOIcount of an ICH_HCR_EL2 value: how many EOIs (EOImode 0) or DIRs (EOImode 1) of
 * INTIDs below 8192 found no list register holding them since the field was last written (IHI
 * 0069, ICH_HCR_EL2.EOIcount): the deactivations a hypervisor must carry out itself for the
 * active interrupts it keeps outside the list registers.
 */
export function eoiCount(hcr: number): number {
  return ICH_HCR.get(hcr, 'EOIcount');
}

/** The State field (ICH_LR<n>_EL2[63:62]: 0 invalid, 1 pending, 2 active, 3 both) of an LR value. */
export function lrState(value: bigint): number {
  return hi32(value) >>> LR_STATE_HI;
}

/** The number of list registers this PE implements (ICH_VTR_EL2.ListRegs + 1). */
export function* readListRegCount(): Program<number> {
  const vtr: number = yield mrs(ICH_VTR_EL2, RT);
  return ICH_VTR.get(vtr, 'ListRegs') + 1;
}

/** The lowest-numbered empty list register below `listRegs`, by ICH_ELRSR_EL2; -1 when every one is in use. */
export function* findEmptyLr(listRegs: number): Program<number> {
  const elrsr: number = yield readElrsr();
  for (let n = 0; n < listRegs; n++) if (((elrsr >>> n) & 1) === 1) return n;
  return -1;
}

export interface VirtualInterfaceOptions {
  /** ICH_VMCR_EL2.VPMR, the guest's priority mask as it starts (default 0xf8: every priority the 5 priority bits give). */
  readonly vpmr?: number;
  /** ICH_HCR_EL2 bits to set besides En (UIE, NPIE, ...), encoded. */
  readonly hcr?: number;
}

/**
 * Enables the virtual CPU interface for a guest that has not yet touched it: ICH_VMCR_EL2 with
 * Group 1 enabled, the priority mask open and the binary points at their reset values, then
 * ICH_HCR_EL2.En = 1. (A hypervisor that context-switches vCPUs restores ICH_VMCR_EL2 as saved
 * instead.)
 */
export function* enableVirtualInterface(o: VirtualInterfaceOptions = {}): Program {
  yield msr(ICH_VMCR_EL2, ICH_VMCR.encode({ VENG1: 1, VPMR: o.vpmr ?? 0xf8, VBPR0: 2, VBPR1: 3 }), RT);
  yield msr(ICH_HCR_EL2, ICH_HCR.encode({ En: 1 }) | (o.hcr ?? 0), RT);
  yield isb();
}

/**
 * Reads the list registers back after a vCPU ran (the first half of KVM's vgic_v3_fold_lr_state):
 * ICH_ELRSR_EL2 once, then each of the first `used` LRs that it does not flag empty, into
 * `values[n]` (0n for an empty one: State Invalid, nothing to read). Returns the ELRSR value.
 * What each State means for the interrupt it held is the caller's (its software state).
 */
export function* readUsedLrs(used: number, values: bigint[]): Program<number> {
  const elrsr: number = yield readElrsr();
  const full = emptyLrValues(elrsr, used, values);
  if (full !== 0) yield* readLrs(full, values);
  return elrsr;
}

/**
 * The part of `readUsedLrs` between its two steps, for a caller that runs them itself (the
 * hypervisor's exit path, where the LRs the guest emptied need no second sub-program): given
 * ICH_ELRSR_EL2 value `elrsr`, sets `values[n]` to 0n for each of the first `used` LRs it flags
 * empty and returns the mask of the others, which `readLrs` reads.
 */
export function emptyLrValues(elrsr: number, used: number, values: bigint[]): number {
  let full = 0;
  for (let n = 0; n < used; n++) {
    if (((elrsr >>> n) & 1) === 1) values[n] = 0n;
    else full |= 1 << n;
  }
  return full;
}

/** MRS ICH_LR<n>_EL2 into `values[n]` for each bit n of `mask`, lowest first. */
export function* readLrs(mask: number, values: bigint[]): Program {
  for (let n = 0; mask >>> n !== 0; n++) if (((mask >>> n) & 1) === 1) values[n] = (yield readLr(n)) as bigint;
}

/** A vCPU's virtual CPU interface control state while it is not loaded (IHI 0069, ICH_VMCR_EL2, ICH_AP0R<n>_EL2, ICH_AP1R<n>_EL2). */
export interface VirtualInterfaceState {
  vmcr: number;
  /** One word per active-priority register the PE implements (1, 2 or 4 by ICH_VTR_EL2.PREbits). */
  readonly ap0r: number[];
  readonly ap1r: number[];
}

/** ICH_AP0R<n>_EL2 / ICH_AP1R<n>_EL2 for n below 0-4 (by count), built once. */
const AP0R = [0, 1, 2, 3, 4].map((n) => ICH_AP0R_EL2.slice(0, n));
const AP1R = [0, 1, 2, 3, 4].map((n) => ICH_AP1R_EL2.slice(0, n));

/** Saves the loaded vCPU's ICH_VMCR_EL2 and active-priority registers into `s` (a vCPU put). */
export function* saveVirtualInterface(s: VirtualInterfaceState): Program {
  s.vmcr = yield mrs(ICH_VMCR_EL2, RT);
  yield mrsn(AP0R[s.ap0r.length]!, s.ap0r);
  yield mrsn(AP1R[s.ap1r.length]!, s.ap1r);
}

/** Restores what `saveVirtualInterface` saved (a vCPU load). */
export function* restoreVirtualInterface(s: VirtualInterfaceState): Program {
  yield msr(ICH_VMCR_EL2, s.vmcr, RT);
  yield msrn(AP0R[s.ap0r.length]!, s.ap0r);
  yield msrn(AP1R[s.ap1r.length]!, s.ap1r);
}
