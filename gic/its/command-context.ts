/**
 * What command handlers work with: the entries (tables + cache), the redistributor ports and
 * the ITS's fixed parameters. Handlers return 0 (done) or an error code 0x01_CC_EE; the
 * engine decides skip or stall from the code (errors.ts) and records it.
 */
import { LPI_BASE } from '../gic-registers.js';
import type { LpiPort, VlpiPort } from '../ports.js';
import type { ItsCommand, ItsCommandName } from './commands.js';
import type { ItsEntries } from './entries.js';
import { errorCode } from './errors.js';
import { NO_DOORBELL } from './tables.js';
import type { VmovpSync } from './vmovp-sync.js';

export interface CommandContext {
  readonly entries: ItsEntries;
  readonly lpis: LpiPort;
  readonly vlpis: VlpiPort | null;
  /** GITS_TYPER.PTA: how RDbase fields name a redistributor. */
  readonly pta: boolean;
  /** 2^(GICD_TYPER.IDbits + 1): LPIs are 8192 to intidLimit - 1. */
  readonly intidLimit: number;
  /** GITS_TYPER.ID_bits (EventID bits - 1): the largest MAPD Size (and VMAPP VPT_size, as QEMU checks). */
  readonly idBitsField: number;
  /** A GICv4.1 ITS: VMAPP/VMOVP v4.1 fields, default doorbells, vPE residency by vPEID. */
  readonly v41: boolean;
  /** This ITS's number (its ITSList bit; GITS_CTLR.ITS_Number on GICv4.1). */
  readonly itsNumber: number;
  /** GITS_TYPER.VMOVP: 1 = VMOVP on one ITS (the others follow), 0 = on every ITS with ITSList. */
  readonly vmovpOne: boolean;
  /** What the GIC's ITSs share for VMOVP (vmovp-sync.ts). */
  readonly vmovpSync: VmovpSync;
}

/** The decoded record of command `N`. */
export type Cmd<N extends ItsCommandName> = Extract<ItsCommand, { name: N }>;

export function isLpi(ctx: CommandContext, intid: number): boolean {
  return intid >= LPI_BASE && intid < ctx.intidLimit;
}

/** A doorbell field holds an LPI or 1023 ("no doorbell"). */
export function isDoorbell(ctx: CommandContext, intid: number): boolean {
  return intid === NO_DOORBELL || isLpi(ctx, intid);
}

/** `reason` (0 = none) as the error code of `cmd`. */
export function fail(cmd: { readonly opcode: number }, reason: number): number {
  return reason === 0 ? 0 : errorCode(cmd.opcode, reason);
}

/**
 * Finds the ITE of (DeviceID, EventID): device in range and mapped, EventID within the DTE's
 * Size, ITE valid. Leaves the result in `ctx.entries` (`dev`, `slot`). Returns 0 or a reason.
 */
export function lookupEvent(ctx: CommandContext, deviceId: number, eventId: number): number {
  const e = ctx.entries;
  const r = e.device(deviceId);
  if (r !== 0) return r;
  return e.event(eventId);
}
