/**
 * The Interrupt Translation Service (IHI 0069H §5.2 "The Interrupt Translation Service"): GITS
 * registers on the bus, the command queue, the tables in memory and MSI translation.
 *
 * Software reaches it only through MMIO (the 128 KB GITS frames at `cfg.itsBase`) and memory
 * (command queue, device/collection/vPE tables, ITTs). It reaches the redistributors only
 * through `LpiPort` and, on GICv4, `VlpiPort`.
 *
 * Register CHOICEs (also in the files that implement them):
 * - GITS_TYPER: Physical = 1, Virtual = (version 4), ITT_entry_size = 11 (12-byte ITEs),
 *   ID_bits / Devbits from the configuration, PTA and HCC from the configuration, CIL = 0
 *   (16-bit ICIDs), VMOVP = `its.vmovp` on a GICv4 ITS (default 1; reported 0 on a GICv3 ITS,
 *   where the field has no meaning; vmovp-sync.ts says what each value does with several
 *   ITSs), every other field 0 (no SEIS, no MPAM;
 *   GICv4.1 with `v41`: VMAPP = 1, SVPET = 1, nID = 1, VSGI = 1).
 * - GITS_IIDR: Implementer 0x43B (Arm's JEP106 code, as QEMU reports), ProductID 0x4D ('M'),
 *   Revision/Variant 0. GITS_PIDR2.ArchRev = 3 or 4; the other ID registers are RAZ.
 * - GITS_BASER0 = Devices, BASER1 = Collections, BASER2 = vPEs (GICv4 only); 8-byte entries
 *   (Entry_Size = 7; the GICv4.1 vPE table 16-byte, Entry_Size = 15); BASER3-7 (and BASER2 on GICv3) are RAZ/WI. The implemented BASERs reset
 *   to Page_Size = 64 KB and every other writable field 0 (`BASER_RESET_PAGE_SIZE`). Every
 *   BASER is read-only while GITS_CTLR.Enabled = 1 (as QEMU). Page sizes 4, 16 and 64 KB and
 *   two-level tables are supported for all three tables; Shareability and cacheability fields
 *   read back as written and have no effect (memory is coherent).
 * - Enabling the ITS with CBASER or a needed BASER invalid (UNPREDICTABLE) is accepted; an
 *   invalid table holds no IDs, so commands naming it fail with their "out of range" error.
 * - GITS_TRANSLATER: 16- or 32-bit writes at its offset; data = EventID (a 16-bit write gives
 *   EventID[15:0]), DeviceID from the bus attributes. Ignored while Enabled = 0. A PE's store
 *   carries no DeviceID: it is translated with `its.cpuDeviceId` when the configuration gives
 *   one (QEMU's virt board uses 0), and otherwise dropped with the simulator-defined code
 *   0x010330 (INT NOT_A_DEVICE) and traced, as is a write from any other requester that is not
 *   a device.
 * - Several ITSs (`itsCount`): ITS n has its frames at itsBase + n * 128 KB (`itsBaseOf`), its
 *   own tables and queue, and the number n: its ITSList bit in VMOVP, which GICv4.1 software
 *   reads in GITS_CTLR.ITS_Number (CHOICE: read-only, n; 0 on a GICv4.0 or GICv3 ITS, which have
 *   no such field: the ITS numbers are then the platform's to give, here n).
 * - GITS_CTLR.Quiescent reads 1 when Enabled = 0, no command is in flight and no translation
 *   is in flight.
 */
import { toBig, toNum, type Word } from '../../core/bits.js';
import { BusStatus, type AccessAttrs } from '../../core/bus.js';
import type { Machine } from '../../core/machine.js';
import { RegisterBlock, W16, W32, W64, type RegisterRegion } from '../../core/regions.js';
import { itsBaseOf, type GicConfig } from '../config.js';
import type { LpiPort, VlpiPort } from '../ports.js';
import { CommandQueue, type CommandExecutor } from './command-queue.js';
import type { CommandContext } from './command-context.js';
import { ITS_COMMANDS, V41_ONLY, decodeCommand, type ItsCommand } from './commands.js';
import { ItsEntries } from './entries.js';
import { Reason, errorCode, errorName, stallsQueue, type ItsErrorRecord } from './errors.js';
import {
  BaserType, GITS, GITS_BASER, GITS_CTLR, GITS_IIDR, GITS_PIDR2, GITS_SIZE, GITS_TYPER,
} from './its-registers.js';
import { ITS_CORE, type ItsCommandResult } from './its-trace.js';
import { discard, intOrClear, inv, invall, mapc, mapd, mapti, movall, movi, sync } from './physical-commands.js';
import { ITE_BYTES, VTE41_BYTES } from './tables.js';
import { Translator } from './translate.js';
import { invdb, vinvall, vmapp, vmapti, vmovi, vmovp, vsgi, vsync } from './virtual-commands.js';
import { VmovpSync, type VmovpPeer } from './vmovp-sync.js';
import { VsgiFrame } from './vsgi-frame.js';

/** How many error records `Its.errors` keeps (the oldest are dropped; `errorCount` counts all). */
const ERROR_LOG_LIMIT = 4096;
const TABLE_OF_BASER: readonly ('devices' | 'collections' | 'vpes' | null)[] = ['devices', 'collections', 'vpes', null, null, null, null, null];
const BASER_RO_MASK = GITS_BASER.mask('Entry_Size') | GITS_BASER.mask('Type');
const BASER_ENTRY_BYTES = 8;
/**
 * GITS_BASER<n>.Page_Size at reset: 0b10, 64 KB. CHOICE: the architecture leaves the reset
 * value open (IHI 0069, GITS_BASER<n>); drivers that care write the page size they want and
 * read it back (Linux's its_setup_baser), as the hypervisor's ITS driver and the tests' do.
 * 64 KB is what QEMU's ITS resets to (hw/intc/arm_gicv3_its.c, gicv3_its_reset_hold), and
 * kvm-unit-tests' ITS library (lib/arm64/gic-v3-its.c) keeps the page size it reads at reset
 * (its_parse_baser) to size and program the tables, and its tests expect 64 KB there.
 */
const BASER_RESET_PAGE_SIZE = 2;

export class Its implements CommandExecutor, VmovpPeer {
  /** The GITS register block (mapped at `cfg.itsBase`). */
  readonly block: RegisterBlock;
  readonly entries: ItsEntries;
  readonly queue: CommandQueue;
  readonly translator: Translator;
  /** Physical base of this ITS's frames. */
  readonly base: number;
  /** GITS_TYPER (RO). */
  readonly typer: number;
  readonly virtual: boolean;
  /** A GICv4.1 ITS (GITS_TYPER.VMAPP = 1). */
  readonly v41: boolean;
  /** GICv4.1: the vSGI frame (GITS_SGIR) at ITS_base + 0x20000; null otherwise. */
  readonly vsgiFrame: VsgiFrame | null;

  /** Recent command errors, oldest first (at most 4096). */
  readonly errors: ItsErrorRecord[] = [];
  lastError: ItsErrorRecord | null = null;
  errorCount = 0;
  /** Commands executed (any outcome). */
  commandsExecuted = 0;
  /** Accesses of a width or alignment a GITS register does not accept (RAZ/WI). */
  badAccesses = 0;

  private enabled = false;
  private readonly baser: bigint[];
  private readonly ctx: CommandContext;
  private readonly attrs: AccessAttrs = { requester: 'gic', id: 0x100 };
  private readonly words = new Uint32Array(8);
  /** The DeviceID of a PE's GITS_TRANSLATER store (`its.cpuDeviceId`), null: refused. */
  private readonly cpuDeviceId: number | null;

  constructor(
    private readonly m: Machine,
    readonly cfg: GicConfig,
    readonly lpis: LpiPort,
    readonly vlpis: VlpiPort | null,
    /** This ITS's number n (frames at itsBase + n * 128 KB, 256 KB on GICv4.1; ITSList bit n). */
    readonly itsNumber = 0,
    /** Shared by the GIC's ITSs (a lone ITS has its own). */
    readonly vmovpSync: VmovpSync = new VmovpSync(),
  ) {
    vmovpSync.peers.push(this);
    const its = cfg.its;
    this.virtual = cfg.version === 4;
    this.v41 = this.virtual && cfg.v41;
    this.cpuDeviceId = its.cpuDeviceId;
    this.typer = GITS_TYPER.encode({
      Physical: 1,
      Virtual: this.virtual ? 1 : 0,
      ITT_entry_size: ITE_BYTES - 1,
      ID_bits: its.eventIdBits - 1,
      Devbits: its.deviceIdBits - 1,
      PTA: its.pta ? 1 : 0,
      HCC: its.hcc,
      CIL: 0,
      VMOVP: this.virtual && its.vmovp ? 1 : 0,
      // GICv4.1 (CHOICE): the v4.1 VMAPP layout, a vPE table shared with the redistributors
      // (SVPET = 1 with GITS_MPIDR = 0 and every GICR_TYPER.CommonLPIAff = 0: one sharing domain),
      // no per-vLPI doorbells (nID = 1: the ITE's doorbell field is ignored), vSGIs (VSGI = 1:
      // the VSGI command and the GITS_SGIR frame at ITS_base + 0x20000, vsgi-frame.ts).
      VMAPP: this.v41 ? 1 : 0,
      VSGI: this.v41 ? 1 : 0,
      SVPET: this.v41 ? 1 : 0,
      nID: this.v41 ? 1 : 0,
    });
    this.entries = new ItsEntries(m.bus, this.attrs, {
      deviceIds: 2 ** its.deviceIdBits,
      hcc: Math.min(its.hcc, 0xff),
      collectionIds: 0x10000,
      vpeIds: this.virtual ? 2 ** its.vpeIdBits : 0,
      rdCount: lpis.rdCount,
      intidLimit: 2 ** cfg.idBits,
      maxSize: its.eventIdBits - 1,
      v41: this.v41,
    });
    this.ctx = {
      entries: this.entries,
      lpis,
      vlpis,
      pta: its.pta,
      intidLimit: 2 ** cfg.idBits,
      idBitsField: its.eventIdBits - 1,
      v41: this.v41,
      itsNumber,
      vmovpOne: its.vmovp,
      vmovpSync,
    };
    const types: number[] = [BaserType.Devices, BaserType.Collections, this.virtual ? BaserType.VPEs : BaserType.None, 0, 0, 0, 0, 0];
    const entryBytes = (t: number): number => (t === BaserType.VPEs && this.v41 ? VTE41_BYTES : BASER_ENTRY_BYTES);
    this.baser = types.map((t) => (t === BaserType.None ? 0n : GITS_BASER.encode({ Type: t, Entry_Size: entryBytes(t) - 1, Page_Size: BASER_RESET_PAGE_SIZE })));
    this.queue = new CommandQueue(m, this);
    this.translator = new Translator(m, this.entries, lpis, vlpis, this.v41);
    this.block = new RegisterBlock('GITS', GITS_SIZE, this.regions());
    this.block.onBadAccess = () => void this.badAccesses++;
    this.base = itsBaseOf(cfg, itsNumber);
    m.bus.addMmio(itsNumber === 0 ? 'gits' : `gits${itsNumber}`, this.base, GITS_SIZE, this.block, m.costs.gitsRead, m.costs.gitsWrite);
    this.vsgiFrame = this.v41 && vlpis !== null ? new VsgiFrame(m, this.base, this.entries, vlpis, () => this.enabled, itsNumber) : null;
  }

  /** GITS_CTLR.Enabled. */
  get isEnabled(): boolean {
    return this.enabled;
  }

  /** GITS_CTLR.Quiescent. */
  get quiescent(): boolean {
    return !this.enabled && !this.queue.busy && this.translator.inFlight === 0;
  }

  // ------------------------------------------------------------------ registers

  private regions(): RegisterRegion[] {
    const wide = W32 | W64;
    return [
      {
        name: 'GITS_CTLR', offset: GITS.CTLR, length: 4, widths: W32,
        read: () => GITS_CTLR.encode({ Enabled: this.enabled ? 1 : 0, ITS_Number: this.v41 ? this.itsNumber : 0, Quiescent: this.quiescent ? 1 : 0 }),
        write: (_o, _s, v) => this.writeCtlr(toNum(v)),
      },
      { name: 'GITS_IIDR', offset: GITS.IIDR, length: 4, widths: W32, read: () => GITS_IIDR.encode({ Implementer: 0x43b, ProductID: 0x4d }) },
      { name: 'GITS_TYPER', offset: GITS.TYPER, length: 8, widths: wide, regSize: 8, read: () => BigInt(this.typer) },
      {
        name: 'GITS_CBASER', offset: GITS.CBASER, length: 8, widths: wide, regSize: 8,
        read: () => this.queue.cbaser,
        write: (_o, _s, v) => this.queue.writeCbaser(toBig(v)),
      },
      {
        name: 'GITS_CWRITER', offset: GITS.CWRITER, length: 8, widths: wide, regSize: 8,
        read: () => BigInt(this.queue.readCwriter()),
        write: (_o, _s, v) => this.queue.writeCwriter(toNum(toBig(v) & 0xfffffn)),
      },
      { name: 'GITS_CREADR', offset: GITS.CREADR, length: 8, widths: wide, regSize: 8, read: () => BigInt(this.queue.readCreadr()) },
      {
        name: 'GITS_BASER', offset: GITS.BASER, length: 0x40, widths: wide, regSize: 8,
        read: (o) => this.baser[o >>> 3]!,
        write: (o, _s, v) => this.writeBaser(o >>> 3, toBig(v)),
      },
      { name: 'GITS_PIDR2', offset: GITS.PIDR2, length: 4, widths: W32, read: () => GITS_PIDR2.encode({ ArchRev: this.cfg.version }) },
      {
        name: 'GITS_TRANSLATER', offset: GITS.TRANSLATER, length: 4, widths: W16 | W32,
        write: (o, size, v, attrs) => this.writeTranslater(o, size, v, attrs),
      },
    ];
  }

  private writeCtlr(v: number): void {
    const on = GITS_CTLR.get(v, 'Enabled') === 1;
    if (on === this.enabled) return;
    this.enabled = on;
    this.queue.setEnabled(on);
  }

  private writeBaser(n: number, v: bigint): void {
    const table = TABLE_OF_BASER[n] ?? null;
    if (table === null || (table === 'vpes' && !this.virtual)) return; // unimplemented: RAZ/WI
    if (this.enabled) return; // CHOICE: RO while Enabled = 1 (as QEMU)
    const old = this.baser[n]!;
    const nv = (v & ~BASER_RO_MASK) | (old & BASER_RO_MASK);
    this.baser[n] = nv;
    const e = this.entries;
    (table === 'devices' ? e.devices : table === 'collections' ? e.collections : e.vpes).configure(nv);
    e.flush(table);
  }

  private writeTranslater(off: number, size: number, v: Word, attrs: AccessAttrs): void {
    if (!this.enabled || off !== 0) return;
    let deviceId: number;
    if (attrs.requester === 'device') deviceId = attrs.id >>> 0;
    else if (attrs.requester === 'pe' && this.cpuDeviceId !== null) deviceId = this.cpuDeviceId;
    else {
      this.translator.refuse(Reason.NOT_A_DEVICE);
      return;
    }
    const ev = toNum(v);
    this.translator.accept(deviceId, size === 2 ? ev & 0xffff : ev >>> 0);
  }

  /**
   * VmovpPeer: another ITS executed VMOVP with GITS_TYPER.VMOVP = 1; if this one maps `vpeid`, its
   * vPE table entry names `rd` too (CHOICE: at once and at no cost to either command queue; the
   * v4.1 default doorbell is kept).
   */
  peerMovedVpe(vpeid: number, rd: number): void {
    const e = this.entries;
    if (e.vpe(vpeid) !== 0) return;
    const oldRd = e.vpeRd;
    const vpt = e.vpt;
    const size = e.vptSize;
    if (oldRd === rd) return;
    const r = this.v41 ? e.writeVpe(vpeid, rd, vpt, size, e.vconf, e.vpeDoorbell) : e.writeVpe(vpeid, rd, vpt, size);
    if (r !== 0 || this.vlpis === null) return;
    this.vlpis.vpeUnmapped(oldRd, vpt, vpeid);
    this.vlpis.vpeMapped(rd, vpt, size + 1, vpeid);
  }

  // ------------------------------------------------------------------ commands

  /** CommandExecutor: fetch, decode and run the command at `pa`. */
  execute(pa: number, offset: number): number {
    const m = this.m;
    const e = this.entries;
    const w = this.words;
    const bus = m.bus;
    e.mem.reset();
    let fetched = true;
    for (let i = 0; i < 8; i++) {
      w[i] = bus.read32(pa + i * 4, this.attrs);
      if (bus.status !== BusStatus.Ok) fetched = false;
    }
    this.commandsExecuted++;
    if (!fetched) return this.finish(offset, 'FETCH', null, errorCode(0, Reason.QUEUE_FAULT));
    const cmd = decodeCommand(w);
    if (cmd === undefined || (!this.virtual && ITS_COMMANDS[cmd.name].virtual) || (!this.v41 && V41_ONLY.has(cmd.name))) {
      return this.finish(offset, cmd?.name ?? 'UNKNOWN', null, errorCode(w[0]! & 0xff, Reason.UNKNOWN_COMMAND));
    }
    return this.finish(offset, cmd.name, cmd, this.dispatch(cmd));
  }

  private dispatch(c: ItsCommand): number {
    const ctx = this.ctx;
    switch (c.name) {
      case 'MAPD': return mapd(ctx, c);
      case 'MAPC': return mapc(ctx, c);
      case 'MAPTI': case 'MAPI': return mapti(ctx, c);
      case 'INT': case 'CLEAR': return intOrClear(ctx, c);
      case 'DISCARD': return discard(ctx, c);
      case 'MOVI': return movi(ctx, c);
      case 'INV': return inv(ctx, c);
      case 'INVALL': return invall(ctx, c);
      case 'SYNC': return sync(ctx, c);
      case 'MOVALL': return movall(ctx, c);
      case 'VMAPP': return vmapp(ctx, c);
      case 'VMAPTI': case 'VMAPI': return vmapti(ctx, c);
      case 'VMOVI': return vmovi(ctx, c);
      case 'VMOVP': return vmovp(ctx, c);
      case 'VSYNC': return vsync(ctx, c);
      case 'VINVALL': return vinvall(ctx, c);
      case 'INVDB': return invdb(ctx, c);
      case 'VSGI': return vsgi(ctx, c);
    }
  }

  /** Records the outcome of one command; returns table accesses, or -1 to stall. */
  private finish(offset: number, command: string, cmd: ItsCommand | null, code: number): number {
    const m = this.m;
    const result: ItsCommandResult = code === 0 ? 'done' : stallsQueue(code) ? 'stalled' : 'skipped';
    const accesses = this.entries.mem.accesses;
    if (m.trace.on) {
      m.trace.emit({
        t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-command',
        offset, command, fields: cmd ?? {}, result, error: code, tableAccesses: accesses,
      });
    }
    if (code !== 0) {
      const outcome = result === 'stalled' ? 'stalled' : 'skipped';
      const rec: ItsErrorRecord = { t: m.now, code, name: errorName(command, code), command, offset, outcome };
      if (this.errors.length >= ERROR_LOG_LIMIT) this.errors.shift();
      this.errors.push(rec);
      this.lastError = rec;
      this.errorCount++;
      if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-error', offset, command, code, error: rec.name, outcome });
    }
    return result === 'stalled' ? -1 : accesses;
  }
}
