/**
 * Handlers of the GICv4.0 and GICv4.1 virtual ITS commands (IHI 0069H §5.3 "ITS commands", §7.2 "Direct
 * injection of virtual interrupts"). They update the vPE table and ITTs and call the
 * `VlpiPort` when the ITS has one. An ITS with GITS_TYPER.Virtual = 0 never reaches them
 * (their opcodes are unknown commands there).
 *
 * The error conditions are QEMU's (hw/intc/arm_gicv3_its.c); every code here is
 * simulator-defined (0x01_CC_EE with the virtual command's opcode and the reasons of errors.ts).
 */
import { Reason } from './errors.js';
import { fail, isDoorbell, isLpi, lookupEvent, type Cmd, type CommandContext } from './command-context.js';
import { INTTYPE_VIRTUAL, NO_DOORBELL } from './tables.js';

/**
 * VMAPP: map vPEID to {RD, VPT address, VPT_size}, or unmap it (V = 0).
 * CHOICE: VMAPP V = 1 of a vPE that is already mapped (UNPREDICTABLE) remaps it: the port sees
 * the old mapping unmapped, then the new one mapped.
 *
 * GICv4.1 (IHI 0069, VMAPP): the entry also holds VConf_addr (the vLPI configuration table the
 * redistributor uses while the vPE is resident) and Default_Doorbell (1023 or an LPI, else the
 * simulator-defined VMAPP DOORBELL_OOR, skipped). The entry lives in the vPE table the ITS
 * shares with the redistributors (GITS_TYPER.SVPET = 1), which read it at schedule-in.
 * CHOICE: Alloc and PTZ change nothing here: with one ITS every VMAPP writes the shared entry
 * (Alloc = 1 is what software sends), and the redistributor parses the VPT at every schedule-in
 * whatever PTZ says (PTZ is a hint that the VPT is zero; Linux never sets it).
 */
export function vmapp(ctx: CommandContext, c: Cmd<'VMAPP'>): number {
  const e = ctx.entries;
  if (c.vPEID >= e.limits.vpeIds || c.vPEID >= e.vpes.ids) return fail(c, Reason.VPEID_OOR);
  let rd = -1;
  if (c.V === 1) {
    if (c.VPT_size > ctx.idBitsField) return fail(c, Reason.VPTSIZE_OOR);
    rd = ctx.lpis.rdFromRdbase(c.RDbase, ctx.pta);
    if (rd < 0) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
    if (ctx.v41 && !isDoorbell(ctx, c.Default_Doorbell)) return fail(c, Reason.DOORBELL_OOR);
  }
  let r = e.vpe(c.vPEID);
  if (r === Reason.TABLE_FAULT) return fail(c, r);
  const wasMapped = r === 0;
  const oldRd = e.vpeRd;
  const oldVpt = e.vpt;
  const on = c.V === 1;
  r = ctx.v41
    ? e.writeVpe(c.vPEID, rd, on ? c.VPT_addr : 0, on ? c.VPT_size : 0, on ? c.VConf_addr : 0, on ? c.Default_Doorbell : NO_DOORBELL)
    : e.writeVpe(c.vPEID, rd, on ? c.VPT_addr : 0, on ? c.VPT_size : 0);
  if (r !== 0) return fail(c, r);
  const v = ctx.vlpis;
  if (v !== null) {
    if (wasMapped) v.vpeUnmapped(oldRd, oldVpt, c.vPEID);
    if (on) v.vpeMapped(rd, c.VPT_addr, c.VPT_size + 1, c.vPEID);
  }
  return 0;
}

/**
 * VMAPTI / VMAPI: map (DeviceID, EventID) to vINTID of vPEID (VMAPI: vINTID = EventID) with
 * doorbell Dbell_pINTID (an LPI or 1023). As in QEMU the vPE need not be mapped yet (its
 * VPT_size is checked when a vLPI is delivered); vINTID must be an LPI.
 */
export function vmapti(ctx: CommandContext, c: Cmd<'VMAPTI'> | Cmd<'VMAPI'>): number {
  const e = ctx.entries;
  const vintid = c.name === 'VMAPTI' ? c.vINTID : c.EventID;
  if (c.DeviceID >= e.limits.deviceIds) return fail(c, Reason.DEVICE_OOR);
  const r = e.device(c.DeviceID);
  if (r !== 0) return fail(c, r);
  if (c.EventID >= e.dev!.eventCount) return fail(c, Reason.ID_OOR);
  if (c.vPEID >= e.limits.vpeIds || c.vPEID >= e.vpes.ids) return fail(c, Reason.VPEID_OOR);
  if (!isLpi(ctx, vintid)) return fail(c, Reason.VIRTUALID_OOR);
  // GICv4.1 with GITS_TYPER.nID = 1: the per-event doorbell field is ignored (CHOICE: not checked).
  if (!ctx.v41 && !isDoorbell(ctx, c.Dbell_pINTID)) return fail(c, Reason.DOORBELL_OOR);
  return fail(c, e.writeEvent(c.EventID, INTTYPE_VIRTUAL, vintid, 0, c.vPEID, c.Dbell_pINTID));
}

/**
 * VMOVI: move a virtual ITE to vPEID (and, if D = 1, change its doorbell); a pending vLPI
 * moves from the old vPE's VPT to the new one's. Linux also uses it with the same vPE just to
 * change the GICv4.0 doorbell.
 */
export function vmovi(ctx: CommandContext, c: Cmd<'VMOVI'>): number {
  const e = ctx.entries;
  if (!ctx.v41 && c.D === 1 && !isDoorbell(ctx, c.Dbell_pINTID)) return fail(c, Reason.DOORBELL_OOR);
  let r = lookupEvent(ctx, c.DeviceID, c.EventID);
  if (r !== 0) return fail(c, r);
  if (e.kind !== INTTYPE_VIRTUAL) return fail(c, Reason.WRONG_INTTYPE);
  const vintid = e.intid;
  const doorbell = c.D === 1 ? c.Dbell_pINTID : e.doorbell;
  r = e.vpe(e.vpeid);
  if (r !== 0) return fail(c, r);
  const fromRd = e.vpeRd;
  const fromVpt = e.vpt;
  const fromSize = e.vptSize;
  const fromVpeid = e.vpeid;
  r = e.vpe(c.vPEID);
  if (r !== 0) return fail(c, r);
  if (vintid >= 2 ** (fromSize + 1) || vintid >= 2 ** (e.vptSize + 1)) return fail(c, Reason.VIRTUALID_OOR);
  const toRd = e.vpeRd;
  const toVpt = e.vpt;
  const toBits = e.vptSize + 1;
  const toDoorbell = ctx.v41 ? e.vpeDoorbell : doorbell;
  r = e.writeEvent(c.EventID, INTTYPE_VIRTUAL, vintid, 0, c.vPEID, doorbell);
  if (r !== 0) return fail(c, r);
  const v = ctx.vlpis;
  if (v !== null && fromVpt !== toVpt && v.isVlpiPending(fromRd, fromVpt, vintid)) {
    v.clearVlpiPending(fromRd, fromVpt, vintid, fromVpeid);
    v.setVlpiPending(toRd, toVpt, toBits, vintid, toDoorbell, c.vPEID);
  }
  return 0;
}

/**
 * VMOVP: the vPE's vLPIs now go to the RD RDbase names. GITS_TYPER.VMOVP = 1: SequenceNumber and
 * ITSList are ignored and the GIC's other ITSs move the vPE too; GITS_TYPER.VMOVP = 0: this ITS
 * alone moves it, and SequenceNumber/ITSList are recorded (vmovp-sync.ts: software must send
 * it to every ITS of the list). The port sees the vPE unmapped from the old RD and
 * mapped at the new one (the VPT stays in memory; residency is the RDs' business: IHI 0069,
 * GICR_VPENDBASER). GICv4.1: with DB = 1 the vPE's default doorbell becomes Default_Doorbell
 * (1023 or an LPI, else VMOVP DOORBELL_OOR, skipped); with DB = 0 it is kept.
 */
export function vmovp(ctx: CommandContext, c: Cmd<'VMOVP'>): number {
  const e = ctx.entries;
  let r = e.vpe(c.vPEID);
  if (r !== 0) return fail(c, r);
  const rd = ctx.lpis.rdFromRdbase(c.RDbase, ctx.pta);
  if (rd < 0) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
  const newDoorbell = ctx.v41 && c.DB === 1;
  if (newDoorbell && !isDoorbell(ctx, c.Default_Doorbell)) return fail(c, Reason.DOORBELL_OOR);
  const oldRd = e.vpeRd;
  const vpt = e.vpt;
  const size = e.vptSize;
  r = ctx.v41 ? e.writeVpe(c.vPEID, rd, vpt, size, e.vconf, newDoorbell ? c.Default_Doorbell : e.vpeDoorbell) : e.writeVpe(c.vPEID, rd, vpt, size);
  if (r !== 0) return fail(c, r);
  if (rd !== oldRd && ctx.vlpis !== null) {
    ctx.vlpis.vpeUnmapped(oldRd, vpt, c.vPEID);
    ctx.vlpis.vpeMapped(rd, vpt, size + 1, c.vPEID);
  }
  if (ctx.vmovpOne) ctx.vmovpSync.propagate(ctx.itsNumber, c.vPEID, rd);
  else ctx.vmovpSync.record(ctx.itsNumber, c.SequenceNumber, c.ITSList, c.vPEID, rd);
  return 0;
}

/**
 * VSGI (GICv4.1; IHI 0069, VSGI): Clear = 0 sets vSGI vINTID's Priority (the command's 4 bits
 * are priority bits [7:4]), Group and Enable for the vPE, its pending state unchanged; Clear = 1
 * clears its pending state, the configuration unchanged (Enable, Group and Priority are then
 * ignored). vINTID and Priority are 4-bit fields: every value is valid. Errors (simulator-
 * defined codes, skipped): VPEID_OOR (vPEID beyond GITS_TYPER's vPEID bits or the vPE table),
 * UNMAPPED_VPE (invalid vPE table entry); TABLE_FAULT (stall).
 */
export function vsgi(ctx: CommandContext, c: Cmd<'VSGI'>): number {
  const e = ctx.entries;
  if (c.vPEID >= e.limits.vpeIds) return fail(c, Reason.VPEID_OOR);
  const r = e.vpe(c.vPEID);
  if (r !== 0) return fail(c, r);
  const v = ctx.vlpis;
  if (v === null) return 0;
  if (c.Clear === 1) v.clearVsgi(e.vpeRd, c.vPEID, c.vINTID);
  else v.configureVsgi(e.vpeRd, c.vPEID, c.vINTID, c.Priority, c.Group, c.Enable);
  return 0;
}

/** VSYNC: effects of earlier commands on the vPE are visible (commands complete in order). */
export function vsync(ctx: CommandContext, c: Cmd<'VSYNC'>): number {
  return fail(c, ctx.entries.vpe(c.vPEID));
}

/** VINVALL: re-read the configuration of every vLPI of the vPE. */
export function vinvall(ctx: CommandContext, c: Cmd<'VINVALL'>): number {
  const e = ctx.entries;
  const r = e.vpe(c.vPEID);
  if (r !== 0) return fail(c, r);
  ctx.vlpis?.invalidateAllVlpis(e.vpeRd, e.vpt, c.vPEID);
  return 0;
}

/**
 * INVDB (GICv4.1; IHI 0069, INVDB): the redistributors re-read the configuration of the vPE's
 * default doorbell, a physical LPI (broadcast: every redistributor drops its cached byte, a
 * pending doorbell is re-read at once). A vPE without a default doorbell (1023) has nothing to
 * invalidate. Errors: VPEID_OOR, UNMAPPED_VPE (simulator-defined, skipped), TABLE_FAULT (stall).
 */
export function invdb(ctx: CommandContext, c: Cmd<'INVDB'>): number {
  const e = ctx.entries;
  const r = e.vpe(c.vPEID);
  if (r !== 0) return fail(c, r);
  const db = e.vpeDoorbell;
  if (db === NO_DOORBELL) return 0;
  const lpis = ctx.lpis;
  for (let rd = 0; rd < lpis.rdCount; rd++) lpis.invalidateLpi(rd, db);
  return 0;
}
