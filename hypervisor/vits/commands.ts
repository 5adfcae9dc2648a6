/**
 * The guest's ITS commands, processed by the hypervisor on the trap of the guest's GITS_CWRITER
 * write (KVM's vgic_its_process_commands): under the VM's ITS command lock, each 32-byte command
 * is read from the guest's queue with load ops (only from the VM's own RAM), decoded with the
 * shared command layouts (gic/its/commands.ts), validated as the architecture validates it, and
 * carried out on the hypervisor's translation state (vits.ts) and, for the VM's own devices, on
 * the physical ITS (forward.ts). GITS_CREADR moves past each command processed.
 *
 * Validation (IHI 0069, the ITS commands and "ITS command error encodings"; codes and the skip
 * or stall policy from gic/its/errors.ts, the physical ITS model's):
 * - DeviceID beyond GITS_TYPER.Devbits or the guest's device table (GITS_BASER0.Size, or a
 *   level-1 entry a MAPD finds invalid): DEVICE_OOR; an ID the table holds but no MAPD mapped:
 *   UNMAPPED_DEVICE; EventID beyond the device's MAPD Size: ID_OOR; no ITE: UNMAPPED_INTERRUPT.
 * - ICID beyond the guest's collection table: COLLECTION_OOR; a collection no MAPC mapped:
 *   UNMAPPED_COLLECTION; MAPC/SYNC/MOVALL RDbase that is no vCPU's processor number:
 *   PROCNUM_OOR. MAPD Size above GITS_TYPER.ID_bits: ITTSIZE_OOR; MAPTI/MAPI pINTID outside
 *   the guest's LPIs (8192 .. 2^16 - 1, its GICD_TYPER.IDbits): PHYSICALID_OOR.
 * - A virtual (GICv4) command or an unknown opcode: UNKNOWN_COMMAND (GITS_TYPER.Virtual = 0).
 * - Memory faults stall: a queue slot, a level-1 table entry, or (MAPTI/MAPI) the ITE's place in
 *   the device's ITT (ITT_addr + EventID x 8) outside the VM's RAM, as the physical ITS stalls on
 *   an ITT it cannot write. The ITEs themselves are kept in hypervisor memory; CHOICE: a VM holds
 *   at most one ITE per 8 bytes of its RAM (as many as ITTs in it could hold), so what a guest maps
 *   is bounded by what it owns: a MAPTI beyond that stalls the same way.
 * CHOICEs where the architecture leaves one (the physical ITS model's unless said):
 * - MAPTI/MAPI of an event already mapped (UNPREDICTABLE) is ignored, the first mapping stays (as
 *   KVM's vgic_its_cmd_handle_mapi).
 * - MAPD V = 1 of a mapped device replaces it (its old ITEs are unmapped, as KVM frees them);
 *   MAPD V = 0 with live ITEs (UNPREDICTABLE) unmaps them too, clearing their pending state.
 * - MAPTI into a collection not mapped yet is accepted: the ITE takes effect (is forwarded)
 *   when a MAPC maps the collection; MAPC V = 0 unforwards the collection's ITEs (a directly
 *   injected vLPI pending in its VPT is then lost with the host DISCARD); MAPC of a mapped
 *   collection to another vCPU moves its ITEs' interrupts there (forward.ts).
 * - DISCARD of an ITE whose collection is unmapped succeeds (nothing to clear at an RD).
 * - INT to a vCPU whose redistributor has LPIs disabled is dropped (as KVM returns -EBUSY).
 * - SYNC is a no-op once its RDbase is checked: every effect is complete when CREADR moves.
 */
import { lo32 } from '../../core/bits.js';
import { ldr, work, type Program } from '../../core/ops.js';
import { decodeCommandWords, ITS_COMMANDS, type ItsCommand } from '../../gic/its/commands.js';
import { E_ITS, errorCode, errorName, Reason, stallsQueue } from '../../gic/its/errors.js';
import { COMMAND_BYTES } from '../../gic/its/its-registers.js';
import { ITS_L1E, type TableGeometry } from '../../gic/its/tables.js';
import { FIRST_LPI, GUEST_INTID_BITS } from '../config.js';
import type { Hypervisor } from '../hypervisor.js';
import type { PerCpu } from '../vm.js';
import { attach, clear, detach, invalidate, invalidateAll, isDirect, move, moveAll, targetOf, trigger } from './forward.js';
import { GuestDevice, VITS_EVENT_ID_BITS, VITS_ITE_BYTES, type VirtualIts } from './vits.js';

/** Transfer register of the hypervisor's loads from guest memory. */
const RT = 9;
const L1E_BYTES = 8;

type Cmd<N extends ItsCommand['name']> = Extract<ItsCommand, { name: N }>;

/** What a handler works with. */
interface Ctx {
  readonly h: Hypervisor;
  readonly pcpu: PerCpu;
  readonly its: VirtualIts;
}

/**
 * Processes the commands between GITS_CREADR and GITS_CWRITER of the VM's emulated ITS, on this
 * core (the trap of the access that queued them). Returns at once when there are none.
 */
export function* processCommands(h: Hypervisor, pcpu: PerCpu, its: VirtualIts): Program {
  if (!its.hasWork) return;
  yield* its.lock.acquire(pcpu.index);
  its.busy = true;
  const ctx: Ctx = { h, pcpu, its };
  const vm = its.vm;
  while (its.hasWork) {
    const offset = its.creadr;
    const generation = its.queueGeneration;
    const ipa = its.queueBase + offset;
    const pa = vm.ramPa(ipa);
    its.stats.commands++;
    if (pa < 0 || vm.ramPa(ipa + COMMAND_BYTES - 1) !== pa + COMMAND_BYTES - 1) {
      finish(ctx, offset, 'FETCH', null, errorCode(0, Reason.QUEUE_FAULT), 0);
      break;
    }
    // The VM's own scratch words (under its lock): another core may be reading another VM's
    // command between these loads.
    const words = its.words;
    for (let i = 0; i < 4; i++) words[i] = yield ldr(pa + 8 * i, 8, RT);
    yield work(h.cfg.bookkeeping.mmioEmulation);
    const cmd = decodeCommandWords(words);
    const hostBefore = its.stats.hostCommands;
    let code: number;
    let name: string;
    if (cmd === undefined || ITS_COMMANDS[cmd.name].virtual) {
      name = cmd?.name ?? 'UNKNOWN';
      code = errorCode(lo32(words[0]!) & 0xff, Reason.UNKNOWN_COMMAND);
    } else {
      name = cmd.name;
      code = yield* execute(ctx, cmd);
    }
    finish(ctx, offset, name, cmd ?? null, code, its.stats.hostCommands - hostBefore);
    if (stallsQueue(code)) break;
    // The guest rewrote GITS_CBASER meanwhile (it disabled the ITS first): the new queue starts empty.
    if (its.queueGeneration === generation) its.creadr = (offset + COMMAND_BYTES) % its.queueBytes;
  }
  its.busy = false;
  yield* its.lock.release();
}

/**
 * An MSI from the host side (KVM_SIGNAL_MSI: KVM's vgic_its_inject_msi) for event `eventId` of
 * the device the guest knows as `deviceId`, translated by the VM's emulated ITS, under its lock:
 * returns 1 when it was made pending (for a directly injected event, by INT on the physical ITS),
 * 0 when the guest's ITS maps nothing there (no device, no ITE, its collection unmapped) or its
 * target's redistributor has LPIs disabled: the MSI is blocked, as KVM answers.
 */
export function* signalMsi(h: Hypervisor, pcpu: PerCpu, its: VirtualIts, deviceId: number, eventId: number): Program<number> {
  yield* its.lock.acquire(pcpu.index);
  const s = lookup(its, deviceId, eventId);
  let ret = 0;
  if (s >= 0) {
    const v = targetOf(its, s);
    if (v !== null && (isDirect(its, s) || v.vgic.enableLpis)) {
      yield* trigger(h, pcpu, its, s);
      ret = 1;
    }
  }
  yield* its.lock.release();
  return ret;
}

/** Records one command's outcome; a memory fault stalls the queue at it. */
function finish(ctx: Ctx, offset: number, command: string, cmd: ItsCommand | null, code: number, host: number): void {
  const { h, its } = ctx;
  const env = h.env;
  const stalled = code !== 0 && stallsQueue(code);
  const result = code === 0 ? 'done' : stalled ? 'stalled' : 'skipped';
  if (env.trace.on) env.trace.emit({ t: env.now(), core: ctx.pcpu.index, el: 2, kind: 'vits-command', vm: its.vm.index, offset, command, fields: cmd ?? {}, result, error: code, host });
  if (code === 0) return;
  const outcome = stalled ? 'stalled' : 'skipped';
  const rec = { t: env.now(), code, name: errorName(command, code), command, offset, outcome } as const;
  its.record(rec);
  if (stalled) its.stalled = true;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: ctx.pcpu.index, el: 2, kind: 'vits-error', vm: its.vm.index, offset, command, code, error: rec.name, outcome });
}

function fail(cmd: { readonly opcode: number }, reason: number): number {
  return reason === 0 ? 0 : errorCode(cmd.opcode, reason);
}

function* execute(ctx: Ctx, c: ItsCommand): Program<number> {
  switch (c.name) {
    case 'MAPD':
      return yield* mapd(ctx, c);
    case 'MAPC':
      return yield* mapc(ctx, c);
    case 'MAPTI':
    case 'MAPI':
      return yield* mapti(ctx, c);
    case 'INT':
    case 'CLEAR':
    case 'INV':
      return yield* onEvent(ctx, c);
    case 'DISCARD':
      return yield* discard(ctx, c);
    case 'MOVI':
      return yield* movi(ctx, c);
    case 'INVALL':
      return yield* invall(ctx, c);
    case 'MOVALL':
      return yield* movall(ctx, c);
    case 'SYNC':
      return c.RDbase >= ctx.its.vm.vcpus.length ? fail(c, Reason.SIZE_OR_PROCNUM_OOR) : 0;
    default:
      // The virtual commands never get here (GITS_TYPER.Virtual = 0).
      return errorCode(c.opcode, Reason.UNKNOWN_COMMAND);
  }
}

/**
 * Whether table `g` of the guest can hold entry `id` now: 0, or `oor` when it is beyond the
 * table or (two-level) its level-1 entry, read from the guest's RAM, is invalid; TABLE_FAULT
 * when that entry is outside the VM's RAM (as KVM's vgic_its_check_id; a fault stalls here).
 */
function* tableHolds(ctx: Ctx, g: TableGeometry, id: number, oor: number): Program<number> {
  if (id >= g.ids) return oor;
  if (!g.indirect) return 0;
  const perPage = Math.floor(g.pageBytes / g.entryBytes);
  const pa = ctx.its.vm.ramPa(g.base + Math.floor(id / perPage) * L1E_BYTES);
  if (pa < 0) return Reason.TABLE_FAULT;
  const l1: bigint = yield ldr(pa, 8, RT);
  return ITS_L1E.get(l1, 'Valid') === 1 ? 0 : oor;
}

/**
 * The ITE slot of (DeviceID, EventID) in the VM's ITE store, or minus the reason there is none
 * (DEVICE_OOR, UNMAPPED_DEVICE, ID_OOR, UNMAPPED_INTERRUPT: all > 0).
 */
function lookup(its: VirtualIts, deviceId: number, eventId: number): number {
  const dev = its.devices.get(deviceId);
  if (dev === undefined) return -(deviceId >= its.deviceTable.ids ? Reason.DEVICE_OOR : Reason.UNMAPPED_DEVICE);
  if (eventId >= dev.eventCount) return -Reason.ID_OOR;
  const s = its.ites.find(deviceId, eventId);
  return s >= 0 ? s : -Reason.UNMAPPED_INTERRUPT;
}

/** Every ITE slot of the VM in collection `icid`: devices in the order they were mapped, then each one's ITEs in theirs. */
function itesOf(its: VirtualIts, icid: number): number[] {
  const out: number[] = [];
  for (const d of its.devices.values()) for (const s of its.ites.slotsOf(d.ites)) if (its.ites.icid(s) === icid) out.push(s);
  return out;
}

function* mapd(ctx: Ctx, c: Cmd<'MAPD'>): Program<number> {
  const its = ctx.its;
  const r: number = yield* tableHolds(ctx, its.deviceTable, c.DeviceID, Reason.DEVICE_OOR);
  if (r !== 0) return fail(c, r);
  if (c.V === 1 && c.Size > VITS_EVENT_ID_BITS - 1) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
  const old = its.devices.get(c.DeviceID);
  if (old !== undefined) {
    its.devices.delete(c.DeviceID);
    const slots = its.ites.slotsOf(old.ites);
    for (const s of slots) its.ites.remove(old.ites, s);
    for (const s of slots) yield* detach(ctx.h, ctx.pcpu, its, s, true);
    for (const s of slots) its.ites.free(s);
  }
  if (c.V === 1) its.devices.set(c.DeviceID, new GuestDevice(c.DeviceID, c.Size, c.ITT_addr, its.owned.get(c.DeviceID) ?? null));
  return 0;
}

function* mapc(ctx: Ctx, c: Cmd<'MAPC'>): Program<number> {
  const its = ctx.its;
  const r: number = yield* tableHolds(ctx, its.collectionTable, c.ICID, Reason.COLLECTION_OOR);
  if (r !== 0) return fail(c, r);
  const vcpus = its.vm.vcpus;
  if (c.V === 1 && c.RDbase >= vcpus.length) return fail(c, Reason.SIZE_OR_PROCNUM_OOR);
  const prev = its.collections.get(c.ICID);
  if (c.V === 0) {
    its.collections.delete(c.ICID);
    if (prev !== undefined) for (const s of itesOf(its, c.ICID)) yield* detach(ctx.h, ctx.pcpu, its, s, false);
    return 0;
  }
  its.collections.set(c.ICID, c.RDbase);
  if (prev === c.RDbase) return 0;
  const to = vcpus[c.RDbase]!;
  for (const s of itesOf(its, c.ICID)) {
    if (prev === undefined) yield* attach(ctx.h, ctx.pcpu, its, s, to);
    else yield* move(ctx.h, ctx.pcpu, its, s, to);
  }
  return 0;
}

function* mapti(ctx: Ctx, c: Cmd<'MAPTI'> | Cmd<'MAPI'>): Program<number> {
  const its = ctx.its;
  const intid = c.name === 'MAPTI' ? c.pINTID : c.EventID;
  if (c.DeviceID >= its.deviceTable.ids) return fail(c, Reason.DEVICE_OOR);
  if (c.ICID >= its.collectionTable.ids) return fail(c, Reason.COLLECTION_OOR);
  const dev = its.devices.get(c.DeviceID);
  if (dev === undefined) return fail(c, Reason.UNMAPPED_DEVICE);
  if (c.EventID >= dev.eventCount) return fail(c, Reason.ID_OOR);
  if (intid < FIRST_LPI || intid >= 2 ** GUEST_INTID_BITS) return fail(c, Reason.PHYSICALID_OOR);
  if (its.ites.find(c.DeviceID, c.EventID) >= 0) return 0;
  const vm = its.vm;
  if (vm.ramPa(dev.ittAddr + c.EventID * VITS_ITE_BYTES) < 0 || its.ites.count >= vm.config.ramSize / VITS_ITE_BYTES) return fail(c, Reason.TABLE_FAULT);
  const s = its.ites.add(dev.ites, c.DeviceID, c.EventID, intid, c.ICID);
  const v = its.collectionTarget(c.ICID);
  if (v !== null) yield* attach(ctx.h, ctx.pcpu, its, s, v);
  return 0;
}

/** INT, CLEAR, INV: the event's ITE, mapped to a collection that is mapped. */
function* onEvent(ctx: Ctx, c: Cmd<'INT'> | Cmd<'CLEAR'> | Cmd<'INV'>): Program<number> {
  const its = ctx.its;
  const s = lookup(its, c.DeviceID, c.EventID);
  if (s < 0) return fail(c, -s);
  if (targetOf(its, s) === null) return fail(c, Reason.UNMAPPED_COLLECTION);
  if (c.name === 'INT') yield* trigger(ctx.h, ctx.pcpu, its, s);
  else if (c.name === 'CLEAR') yield* clear(ctx.h, ctx.pcpu, its, s);
  else yield* invalidate(ctx.h, ctx.pcpu, its, s);
  return 0;
}

function* discard(ctx: Ctx, c: Cmd<'DISCARD'>): Program<number> {
  const its = ctx.its;
  const s = lookup(its, c.DeviceID, c.EventID);
  if (s < 0) return fail(c, -s);
  its.ites.remove(its.devices.get(c.DeviceID)!.ites, s);
  yield* detach(ctx.h, ctx.pcpu, its, s, true);
  its.ites.free(s);
  return 0;
}

function* movi(ctx: Ctx, c: Cmd<'MOVI'>): Program<number> {
  const its = ctx.its;
  if (c.ICID >= its.collectionTable.ids) return fail(c, Reason.COLLECTION_OOR);
  const s = lookup(its, c.DeviceID, c.EventID);
  if (s < 0) return fail(c, -s);
  if (targetOf(its, s) === null) return fail(c, Reason.UNMAPPED_COLLECTION);
  const to = its.collectionTarget(c.ICID);
  if (to === null) return fail(c, Reason.UNMAPPED_COLLECTION);
  its.ites.setIcid(s, c.ICID);
  yield* move(ctx.h, ctx.pcpu, its, s, to);
  return 0;
}

function* invall(ctx: Ctx, c: Cmd<'INVALL'>): Program<number> {
  const its = ctx.its;
  if (c.ICID >= its.collectionTable.ids) return fail(c, Reason.COLLECTION_OOR);
  const v = its.collectionTarget(c.ICID);
  if (v === null) return fail(c, Reason.UNMAPPED_COLLECTION);
  yield* invalidateAll(ctx.h, ctx.pcpu, its, v);
  return 0;
}

function* movall(ctx: Ctx, c: Cmd<'MOVALL'>): Program<number> {
  const vcpus = ctx.its.vm.vcpus;
  if (c.RDbase1 >= vcpus.length || c.RDbase2 >= vcpus.length) return E_ITS.MOVALL_PROCNUM_OOR;
  if (c.RDbase1 !== c.RDbase2) yield* moveAll(ctx.h, ctx.pcpu, vcpus[c.RDbase1]!, vcpus[c.RDbase2]!);
  return 0;
}
