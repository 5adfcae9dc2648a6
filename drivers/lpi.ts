/**
 * LPIs, as programs of ops (IHI 0069, chapter "Locality-specific Peripheral Interrupts and the
 * ITS"): the configuration table (one byte per LPI: priority, Group1 RES1, Enable) shared by
 * every CPU and a 64 KB-aligned pending table per redistributor (a bit per INTID, the first 1 KB
 * IMPLEMENTATION DEFINED), allocated from a PhysHeap; pointing a redistributor at them
 * (GICR_PROPBASER, GICR_PENDBASER with PTZ, then GICR_CTLR.EnableLPIs, as Linux's
 * its_cpu_init_lpis does); and making a redistributor re-read a configuration it caches
 * (GICR_INVLPIR / GICR_INVALLR then GICR_SYNCR, when GICR_TYPER.DirectLPI = 1; otherwise the ITS
 * INV / INVALL commands of its.ts for the event behind the LPI).
 */
import { dsb, ldr, str, type Op, type Program } from '../core/ops.js';
import { GICR_CTLR, GICR_PENDBASER, GICR_PROPBASER, GICR_SYNCR, GICR_TYPER, LPI_BASE, LPI_CONFIG } from '../gic/gic-registers.js';
import { GICR } from '../gic/mmio-offsets.js';
import type { PhysHeap } from './heap.js';

/** Transfer register of the MMIO accesses. */
const RT = 1;
/** Polls of GICR_SYNCR before giving up (the model completes invalidations within a few polls). */
const SYNC_POLLS = 100_000;

export interface LpiTables {
  /** Configuration table (one byte per LPI from INTID 8192), shared by every CPU. */
  readonly prop: number;
  /** INTID bits of the tables (PROPBASER.IDbits + 1). */
  readonly idBits: number;
}

/** Bytes of the configuration table for `idBits` INTID bits (LPIs start at 8192). */
export function lpiConfigBytes(idBits: number): number {
  return 2 ** idBits - LPI_BASE;
}

/** Allocates a configuration table (64 KB aligned, as Linux allocates it; PROPBASER needs 4 KB). Fresh memory reads 0: every LPI disabled. */
export function allocLpiTables(heap: PhysHeap, idBits: number): LpiTables {
  return { prop: heap.alloc(lpiConfigBytes(idBits), 0x10000), idBits };
}

/** Allocates a pending table (64 KB aligned, GICR_PENDBASER.PA is bits [51:16]). */
export function allocPendingTable(heap: PhysHeap, idBits: number): number {
  return heap.alloc(2 ** idBits / 8, 0x10000);
}

// The configuration byte's fields, resolved once: `lpiConfigByte` runs on every doorbell arm and disarm.
const CONFIG_PRIORITY = LPI_CONFIG.field('Priority');
const CONFIG_GROUP1 = LPI_CONFIG.encode({ Group1: 1 });
const CONFIG_ENABLE = LPI_CONFIG.encode({ Enable: 1 });

/** The configuration byte of an LPI: priority (bits [7:2] kept), Group1 (RES1), enable. */
export function lpiConfigByte(priority: number, enabled: boolean): number {
  return (((priority >> 2) << CONFIG_PRIORITY.lsb) & CONFIG_PRIORITY.mask) | CONFIG_GROUP1 | (enabled ? CONFIG_ENABLE : 0);
}

/**
 * The store of `intid`'s configuration byte, as an op builder (`yield lpiConfigStore(...)`): the
 * doorbell path arms and disarms a doorbell with it and allocates no generator per change.
 */
export function lpiConfigStore(tables: LpiTables, intid: number, priority: number, enabled: boolean): Op {
  return str(tables.prop + (intid - LPI_BASE), lpiConfigByte(priority, enabled), 1, RT);
}

/** Writes the configuration byte of `intid` (a store; the redistributor sees it after an invalidation). */
export function* configureLpi(tables: LpiTables, intid: number, priority: number, enabled: boolean): Program {
  yield lpiConfigStore(tables, intid, priority, enabled);
}

/**
 * Points this CPU's redistributor at the tables and enables LPIs. `pend` is a 64 KB-aligned
 * pending table; with `zeroed` (the usual case) PENDBASER.PTZ tells the redistributor it is all
 * zero, otherwise the redistributor reads the pending bits it holds.
 */
export function* enableLpis(rd: number, tables: LpiTables, pend: number, zeroed = true): Program {
  yield dsb();
  yield str(rd + GICR.PROPBASER, GICR_PROPBASER.encode({ PA: tables.prop / 4096, IDbits: tables.idBits - 1, Shareability: 1, InnerCache: 7 }), 8, RT);
  yield str(rd + GICR.PENDBASER, GICR_PENDBASER.encode({ PA: pend / 65536, PTZ: zeroed ? 1 : 0, Shareability: 1, InnerCache: 7 }), 8, RT);
  yield str(rd + GICR.CTLR, GICR_CTLR.encode({ EnableLPIs: 1 }), 4, RT);
  yield dsb();
}

/**
 * Whether the redistributor at `rd` can be told to re-read an LPI's configuration directly:
 * GICR_TYPER.DirectLPI = 1 (GICR_SETLPIR/CLRLPIR/INVLPIR/INVALLR/SYNCR implemented) or
 * GICR_CTLR.IR = 1 (GICR_INVLPIR/INVALLR/SYNCR implemented), as Linux decides `has_direct_lpi`
 * (irq-gic-v3.c). Without either, an LPI's configuration change needs the ITS INV/INVALL commands
 * for the event behind it.
 */
export function* hasDirectLpi(rd: number): Program<boolean> {
  const typer: bigint = yield ldr(rd + GICR.TYPER, 8, RT);
  if (GICR_TYPER.get(typer, 'DirectLPI') === 1) return true;
  const ctlr: number = yield ldr(rd + GICR.CTLR, 4, RT);
  return GICR_CTLR.get(ctlr, 'IR') === 1;
}

/** GICR_INVLPIR: make the redistributor re-read the configuration of `intid`, then wait for GICR_SYNCR. */
export function* invalidateLpi(rd: number, intid: number): Program {
  yield str(rd + GICR.INVLPIR, intid, 8, RT);
  yield* waitSync(rd);
}

/** GICR_INVALLR: make the redistributor re-read the configuration of every LPI, then wait for GICR_SYNCR. */
export function* invalidateAllLpis(rd: number): Program {
  yield str(rd + GICR.INVALLR, 0n, 8, RT);
  yield* waitSync(rd);
}

/** GICR_SETLPIR: make `intid` pending at `rd` (no device, no ITS). */
export function* setLpiPending(rd: number, intid: number): Program {
  yield str(rd + GICR.SETLPIR, intid, 8, RT);
}

/** The GICR_CLRLPIR write that clears the pending state of `intid` at `rd`, as an op builder (no generator per doorbell clear). */
export function clrlpirStore(rd: number, intid: number): Op {
  return str(rd + GICR.CLRLPIR, intid, 8, RT);
}

/** GICR_CLRLPIR: clear the pending state of `intid` at `rd`. */
export function* clearLpiPending(rd: number, intid: number): Program {
  yield clrlpirStore(rd, intid);
}

/** Polls GICR_SYNCR until Busy = 0 (the redistributor finished the direct LPI operations before it). */
export function* waitSync(rd: number): Program<boolean> {
  for (let i = 0; i < SYNC_POLLS; i++) {
    const busy: number = yield ldr(rd + GICR.SYNCR, 4, RT);
    if (GICR_SYNCR.get(busy, 'Busy') === 0) return true;
  }
  return false;
}

/** Sets `intid`'s bit in the pending table at `pend` (before EnableLPIs, with PTZ = 0: a table handed over with LPIs already pending). */
export function* markLpiPending(pend: number, intid: number): Program {
  const at = pend + (intid >>> 3);
  const byte: number = yield ldr(at, 1, RT);
  yield str(at, byte | (1 << (intid & 7)), 1, RT);
}
