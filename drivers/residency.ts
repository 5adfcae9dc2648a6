/**
 * vPE residency on a redistributor (GICv4.0; IHI 0069, GICR_VPROPBASER and GICR_VPENDBASER in
 * the VLPI_base frame): making a vPE resident (its vLPI configuration table, then its virtual
 * pending table with Valid = 1), waiting for the redistributor to finish parsing the table
 * (GICR_VPENDBASER.Dirty reads 1 until then), and making it non-resident (Valid = 0, wait for
 * Dirty, read PendingLast: whether a vLPI is still pending and enabled, the hint a hypervisor
 * uses not to block a vCPU that has work). The order and the waits are Linux's
 * (its_vpe_schedule, its_clear_vpend_valid, its_wait_vpt_parse_complete).
 */
import { fieldAt } from '../core/bits.js';
import { ldr, str, work, type Program } from '../core/ops.js';
import { GICR_VLPI } from '../gic/mmio-offsets.js';
import { GICR_VPENDBASER, GICR_VPROPBASER } from '../gic/vlpi-registers.js';

/** Transfer register of the MMIO accesses. */
const RT = 9;
// Fields read on every residency change, resolved once (no lookup by name per poll).
const VPEND_DIRTY = GICR_VPENDBASER.field('Dirty');
const VPEND_PENDING_LAST = GICR_VPENDBASER.field('PendingLast');
const VPEND_IDAI = GICR_VPENDBASER.field('IDAI');

/** Polls of Dirty before a wait gives up and returns what it read (Dirty still 1). */
const DIRTY_POLLS = 100_000;

/** What a caller wants kept of the Dirty polls of the waits it asks for. */
export interface DirtyPolls {
  /** Reads that found Dirty = 1, summed. */
  dirtyPolls: number;
  /** Every GICR_VPENDBASER value read, in order (when present). */
  readonly values?: bigint[];
}

/** A vPE's tables as residency names them. */
export interface VpeTables {
  /** The VM's vLPI configuration table (4 KB aligned). */
  readonly vprop: number;
  /** vINTID bits of the tables (GICR_VPROPBASER.IDbits + 1). */
  readonly idBits: number;
  /** The vPE's virtual pending table (64 KB aligned). */
  readonly vpt: number;
}

/** Polls GICR_VPENDBASER in the VLPI_base frame at `frame` until Dirty = 0; returns the last value read. */
export function* waitVpendClean(frame: number, polls?: DirtyPolls): Program<bigint> {
  for (let i = 0; ; i++) {
    const v: bigint = yield ldr(frame + GICR_VLPI.VPENDBASER, 8, RT);
    polls?.values?.push(v);
    if (fieldAt(v, VPEND_DIRTY) === 0 || i >= DIRTY_POLLS) return v;
    if (polls !== undefined) polls.dirtyPolls++;
    yield work(50);
  }
}

/**
 * Makes the vPE of `t` resident at `frame` (its_vpe_schedule): GICR_VPROPBASER, then
 * GICR_VPENDBASER with Valid = 1, PendingLast = 1 ("may have pending": Linux always writes 1,
 * so the redistributor parses the VPT) and `idai` as last saved. With `wait`, polls Dirty until
 * the parse is done (its_wait_vpt_parse_complete); without, returns at once (the vPE's vLPIs
 * are delivered once the parse completes).
 */
export function* makeResident(frame: number, t: VpeTables, wait: boolean, idai = 0, polls?: DirtyPolls): Program {
  const values = residentValues(t);
  yield str(frame + GICR_VLPI.VPROPBASER, values[0]!, 8, RT);
  yield str(frame + GICR_VLPI.VPENDBASER, values[idai === 0 ? 1 : 2]!, 8, RT);
  if (wait) yield* waitVpendClean(frame, polls);
}

/**
 * The values `makeResident` writes for the tables `t` (which do not change): GICR_VPROPBASER, then
 * GICR_VPENDBASER with IDAI = 0 and with IDAI = 1. Encoded once per `t` instead of at every
 * residency change (two encodings of a 64-bit value from a field object each time).
 */
const residentMemo = new WeakMap<VpeTables, bigint[]>();
function residentValues(t: VpeTables): bigint[] {
  let values = residentMemo.get(t);
  if (values === undefined) {
    const vpend = (idai: number): bigint => GICR_VPENDBASER.encode({ PA: t.vpt / 0x10000, Valid: 1, PendingLast: 1, IDAI: idai, Shareability: 1, InnerCache: 7 });
    values = [GICR_VPROPBASER.encode({ PA: t.vprop / 0x1000, IDbits: t.idBits - 1, Shareability: 1, InnerCache: 7 }), vpend(0), vpend(1)];
    residentMemo.set(t, values);
  }
  return values;
}

/**
 * Makes the resident vPE at `frame` non-resident (its_clear_vpend_valid): waits for Dirty = 0,
 * clears Valid, waits for Dirty = 0 again. Returns GICR_VPENDBASER as last read: PendingLast and
 * IDAI are valid in it (`vpendPendingLast`).
 */
export function* makeNonResident(frame: number, polls?: DirtyPolls): Program<bigint> {
  const cur: bigint = yield* waitVpendClean(frame, polls);
  yield str(frame + GICR_VLPI.VPENDBASER, GICR_VPENDBASER.set(cur, 'Valid', 0), 8, RT);
  return yield* waitVpendClean(frame, polls);
}

/** GICR_VPENDBASER.PendingLast of a value read after the vPE left: a vLPI is pending (and, for v4.0, enabled). */
export function vpendPendingLast(v: bigint): boolean {
  return fieldAt(v, VPEND_PENDING_LAST) === 1;
}

/** GICR_VPENDBASER.IDAI of a value read after the vPE left (to write back at the next `makeResident`). */
export function vpendIdai(v: bigint): number {
  return fieldAt(v, VPEND_IDAI);
}
