/**
 * Handlers of the physical ITS commands (IHI 0069H §5.3 "ITS commands"). Each takes a decoded
 * record and returns 0 (done) or an error code (errors.ts); table entries are written before
 * any effect on a redistributor, so a command that stalls on a memory fault has changed nothing
 * and can be retried.
 */
import { E_ITS, Reason } from './errors.js';
import { fail, isLpi, lookupEvent, type Cmd, type CommandContext } from './command-context.js';
import { INTTYPE_PHYSICAL, NO_DOORBELL } from './tables.js';

/** MAPD: map DeviceID to an ITT of 2^(Size+1) entries, or unmap it (V = 0). */
export function mapd(ctx: CommandContext, c: Cmd<'MAPD'>): number {
  const e = ctx.entries;
  if (c.DeviceID >= e.limits.deviceIds) return fail(c, Reason.DEVICE_OOR);
  if (c.V === 1 && c.Size > ctx.idBitsField) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
  // CHOICE: remapping a mapped device replaces its ITT (old ITEs become unusable, their cache
  // entries are dropped); unmapping a device with live ITEs (UNPREDICTABLE) just unmaps it.
  return fail(c, e.writeDevice(c.DeviceID, c.V === 1, c.ITT_addr, c.Size));
}

/** MAPC: map collection ICID to a redistributor, or unmap it (V = 0). Pending LPIs do not move. */
export function mapc(ctx: CommandContext, c: Cmd<'MAPC'>): number {
  const e = ctx.entries;
  if (c.ICID >= e.collectionCount()) return fail(c, Reason.COLLECTION_OOR);
  let rd = -1;
  if (c.V === 1) {
    rd = ctx.lpis.rdFromRdbase(c.RDbase, ctx.pta);
    if (rd < 0) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
  }
  return fail(c, e.writeCollection(c.ICID, rd));
}

/**
 * MAPTI / MAPI: map (DeviceID, EventID) to physical LPI pINTID (MAPI: pINTID = EventID) in
 * collection ICID. The collection need not be mapped yet.
 * CHOICE: mapping an already mapped event (UNPREDICTABLE) overwrites the ITE (as QEMU);
 * the old LPI's pending state stays where it is.
 */
export function mapti(ctx: CommandContext, c: Cmd<'MAPTI'> | Cmd<'MAPI'>): number {
  const e = ctx.entries;
  const pintid = c.name === 'MAPTI' ? c.pINTID : c.EventID;
  if (c.DeviceID >= e.limits.deviceIds) return fail(c, Reason.DEVICE_OOR);
  if (c.ICID >= e.collectionCount()) return fail(c, Reason.COLLECTION_OOR);
  const r = e.device(c.DeviceID);
  if (r !== 0) return fail(c, r);
  if (c.EventID >= e.dev!.eventCount) return fail(c, Reason.ID_OOR);
  if (!isLpi(ctx, pintid)) return fail(c, Reason.PHYSICALID_OOR);
  return fail(c, e.writeEvent(c.EventID, INTTYPE_PHYSICAL, pintid, c.ICID, 0, NO_DOORBELL));
}

/**
 * INT / CLEAR: make the mapped (v)LPI pending, or clear its pending state, as a
 * GITS_TRANSLATER write would. A virtual ITE goes to the RD and VPT of its vPE (IHI 0069H §7.2
 * "Direct injection of virtual interrupts").
 */
export function intOrClear(ctx: CommandContext, c: Cmd<'INT'> | Cmd<'CLEAR'>): number {
  const e = ctx.entries;
  const set = c.name === 'INT';
  let r = lookupEvent(ctx, c.DeviceID, c.EventID);
  if (r !== 0) return fail(c, r);
  const intid = e.intid;
  if (e.kind === INTTYPE_PHYSICAL) {
    r = e.collection(e.icid);
    if (r !== 0) return fail(c, r);
    if (set) ctx.lpis.setLpiPending(e.rd, intid);
    else ctx.lpis.clearLpiPending(e.rd, intid);
    return 0;
  }
  r = e.vpe(e.vpeid);
  if (r !== 0) return fail(c, r);
  if (intid >= 2 ** (e.vptSize + 1)) return fail(c, Reason.VIRTUALID_OOR);
  const v = ctx.vlpis;
  if (v !== null) {
    if (set) v.setVlpiPending(e.vpeRd, e.vpt, e.vptSize + 1, intid, ctx.v41 ? e.vpeDoorbell : e.doorbell, e.vpeid);
    else v.clearVlpiPending(e.vpeRd, e.vpt, intid, e.vpeid);
  }
  return 0;
}

/**
 * DISCARD: clear the pending state of the mapped (v)LPI and invalidate the ITE.
 * CHOICE: when the ITE's collection (vPE) is unmapped there is no RD to clear at; the ITE is
 * still invalidated and the command succeeds.
 */
export function discard(ctx: CommandContext, c: Cmd<'DISCARD'>): number {
  const e = ctx.entries;
  let r = lookupEvent(ctx, c.DeviceID, c.EventID);
  if (r !== 0) return fail(c, r);
  const physical = e.kind === INTTYPE_PHYSICAL;
  const intid = e.intid;
  const icid = e.icid;
  const vpeid = e.vpeid;
  // Resolve the target first (a memory fault here stalls before anything changed).
  r = physical ? e.collection(icid) : e.vpe(vpeid);
  if (r === Reason.TABLE_FAULT) return fail(c, r);
  const target = r === 0;
  const rd = physical ? e.rd : e.vpeRd;
  const vpt = e.vpt;
  r = e.clearEvent(c.EventID);
  if (r !== 0) return fail(c, r);
  if (target) {
    if (physical) ctx.lpis.clearLpiPending(rd, intid);
    else ctx.vlpis?.clearVlpiPending(rd, vpt, intid, vpeid);
  }
  return 0;
}

/**
 * MOVI: move a physical ITE to collection ICID; if the target RD changes, the LPI's pending
 * state moves from the old RD to the new one.
 */
export function movi(ctx: CommandContext, c: Cmd<'MOVI'>): number {
  const e = ctx.entries;
  if (c.ICID >= e.collectionCount()) return fail(c, Reason.COLLECTION_OOR);
  let r = lookupEvent(ctx, c.DeviceID, c.EventID);
  if (r !== 0) return fail(c, r);
  if (e.kind !== INTTYPE_PHYSICAL) return fail(c, Reason.WRONG_INTTYPE);
  const intid = e.intid;
  r = e.collection(e.icid);
  if (r !== 0) return fail(c, r);
  const from = e.rd;
  r = e.collection(c.ICID);
  if (r !== 0) return fail(c, r);
  const to = e.rd;
  r = e.writeEvent(c.EventID, INTTYPE_PHYSICAL, intid, c.ICID, 0, NO_DOORBELL);
  if (r !== 0) return fail(c, r);
  if (from !== to && ctx.lpis.isLpiPending(from, intid)) {
    ctx.lpis.clearLpiPending(from, intid);
    ctx.lpis.setLpiPending(to, intid);
  }
  return 0;
}

/** INV: the target RD re-reads the configuration of the mapped LPI (virtual ITE: of the vLPI). */
export function inv(ctx: CommandContext, c: Cmd<'INV'>): number {
  const e = ctx.entries;
  let r = lookupEvent(ctx, c.DeviceID, c.EventID);
  if (r !== 0) return fail(c, r);
  if (e.kind === INTTYPE_PHYSICAL) {
    r = e.collection(e.icid);
    if (r !== 0) return fail(c, r);
    ctx.lpis.invalidateLpi(e.rd, e.intid);
    return 0;
  }
  r = e.vpe(e.vpeid);
  if (r !== 0) return fail(c, r);
  ctx.vlpis?.invalidateVlpi(e.vpeRd, e.vpt, e.intid, e.vpeid);
  return 0;
}

/** INVALL: the collection's RD re-reads the configuration of all its LPIs. */
export function invall(ctx: CommandContext, c: Cmd<'INVALL'>): number {
  const e = ctx.entries;
  const r = e.collection(c.ICID);
  if (r !== 0) return fail(c, r);
  ctx.lpis.invalidateAllLpis(e.rd);
  return 0;
}

/**
 * SYNC: every effect of the earlier commands on the RD is visible. Commands here complete in
 * order and apply their effects before GITS_CREADR moves past them, so SYNC only checks its
 * RDbase (0x010502 SYNC_PROCNUM_OOR is simulator-defined).
 */
export function sync(ctx: CommandContext, c: Cmd<'SYNC'>): number {
  return ctx.lpis.rdFromRdbase(c.RDbase, ctx.pta) < 0 ? fail(c, Reason.SIZE_OR_PROCNUM_OOR) : 0;
}

/** MOVALL: move every pending LPI of RDbase1 to RDbase2 (same RD: no-op). ITEs do not change. */
export function movall(ctx: CommandContext, c: Cmd<'MOVALL'>): number {
  const from = ctx.lpis.rdFromRdbase(c.RDbase1, ctx.pta);
  const to = ctx.lpis.rdFromRdbase(c.RDbase2, ctx.pta);
  if (from < 0 || to < 0) return E_ITS.MOVALL_PROCNUM_OOR;
  if (from !== to) ctx.lpis.moveAllPending(from, to);
  return 0;
}

