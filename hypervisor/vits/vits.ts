/**
 * The emulated ITS of one VM (KVM's vgic-its.c `struct vgic_its`): the GITS registers the guest
 * reaches through stage-2 data aborts at GUEST_GITS (the same `RegisterBlock` tables as the
 * emulated GICD/GICR), and the translation state its commands build, kept in the hypervisor's
 * memory (commands.ts processes the commands, forward.ts carries the mappings of the VM's own
 * devices over to the physical ITS).
 *
 * What a guest sees (IHI 0069, the GITS_* register descriptions):
 * - GITS_TYPER: Physical = 1, Virtual = 0, ITT_entry_size = 7 (8-byte entries), ID_bits = 15
 *   and Devbits = 15 (16-bit EventIDs and DeviceIDs, as KVM's VITS_TYPER_IDBITS/DEVBITS),
 *   PTA = 0 (RDbase is a processor number: the vCPU index, GICR_TYPER.Processor_Number of its
 *   emulated redistributor), CIL = 0 (16-bit collection IDs), HCC = 0 (every collection in the
 *   memory collection table), SEIS = 0 (errors raise no SEI), every other field 0.
 * - GITS_BASER0 = Devices, GITS_BASER1 = Collections, 8-byte entries (Type and Entry_Size RO);
 *   Size, Page_Size (4, 16 or 64 KB), Indirect, PA, Valid, Shareability and cacheability RW
 *   (the last three have no effect); BASER2-7 RAZ/WI. CHOICE: they reset to Page_Size = 64 KB
 *   (as KVM's INITIAL_BASER_VALUE and the physical ITS model); read-only while Enabled = 1 (as
 *   KVM). The tables' capacity bounds the IDs (DEVICE_OOR / COLLECTION_OOR); with Indirect = 1
 *   a MAPD/MAPC reads the level-1 entry of the ID from the guest's RAM and refuses an invalid
 *   one, as KVM's vgic_its_check_id does. CHOICE: the translation state itself lives in the
 *   hypervisor's memory, not in the guest's tables: nothing is ever written to the guest's
 *   device, collection or interrupt translation tables (KVM writes them only when userspace
 *   saves the ITS, which this model has no use for), and rewriting a GITS_BASER keeps the
 *   mappings (lookups check the IDs against the table now described).
 * - GITS_CBASER, GITS_CWRITER, GITS_CREADR: the command queue in guest RAM. CBASER is read-only
 *   while Enabled = 1; writing it resets CREADR and CWRITER to 0 (as KVM and the physical ITS
 *   model). A CWRITER Offset beyond the queue is ignored (KVM). Commands are processed when the
 *   guest writes GITS_CWRITER (or enables the ITS with commands queued), synchronously on that
 *   trap, before the guest resumes (KVM's vgic_its_process_commands): a guest polling CREADR
 *   finds them done.
 * - GITS_CTLR: Enabled; CHOICE: enabling with CBASER or a BASER invalid (UNPREDICTABLE) is
 *   refused, Enabled stays 0 (as KVM). Quiescent = 1 while Enabled = 0 and no command is being
 *   processed (as the physical ITS model).
 * - GITS_IIDR: Implementer 0x43B (Arm), ProductID 0x56 ('V', simulator-defined), Revision 0;
 *   GITS_PIDR2.ArchRev = 3 (GICv3).
 * - GITS_TRANSLATER: CHOICE: a guest's own write is ignored (WI) and counted. KVM registers no
 *   region for it (vgic-its.c its_registers), so its MMIO dispatch drops the write; a CPU store
 *   carries no DeviceID (the physical ITS model also refuses one unless configured otherwise).
 *   A guest makes one of its LPIs pending with the INT command instead.
 *
 * Command errors follow the physical ITS model's policy (gic/its/errors.ts, QEMU's): a memory
 * fault (the queue or a level-1 table entry outside the VM's RAM) stalls the queue
 * (GITS_CREADR.Stalled = 1, CREADR at the failing command, resumed by GITS_CWRITER.Retry = 1), a
 * bad parameter skips the command. Either way the code (0x01_CC_EE) is recorded here (`errors`)
 * and traced ('vits-error'); nothing of it reaches the physical ITS.
 *
 * Concurrency: several vCPUs of the VM trap on different cores. Register accesses are single
 * ops; command processing is a program of many, serialised by the VM's ITS command lock (KVM's
 * its->cmd_lock), taken by the core that processes (commands.ts).
 */
import { toBig, toNum } from '../../core/bits.js';
import { constReg, RegisterBlock, W16, W32, W64, type RegisterRegion } from '../../core/regions.js';
import type { Spinlock } from '../../drivers/spinlock.js';
import type { ItsErrorRecord } from '../../gic/its/errors.js';
import { BaserType, COMMAND_BYTES, GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER, GITS_IIDR, GITS_PIDR2, GITS_SIZE, GITS_TYPER, queueBytes } from '../../gic/its/its-registers.js';
import { TableGeometry } from '../../gic/its/tables.js';
import { GUEST_DEVICE_ID_BITS } from '../config.js';
import type { Vcpu, Vm } from '../vm.js';
import { IteStore, type IteList } from './ite-store.js';
import './trace-kinds.js';

/** EventID bits of the emulated ITS (GITS_TYPER.ID_bits + 1): a MAPD Size above 15 is ITTSIZE_OOR. */
export const VITS_EVENT_ID_BITS = 16;
/** Bytes per ITT entry the guest allocates for (GITS_TYPER.ITT_entry_size + 1). */
export const VITS_ITE_BYTES = 8;
/** Bytes per device and collection table entry (GITS_BASER<n>.Entry_Size + 1). */
export const VITS_TABLE_ENTRY_BYTES = 8;
/** Collection IDs (GITS_TYPER.CIL = 0: 16-bit ICIDs). */
export const VITS_COLLECTION_IDS = 0x10000;
/** How many error records `VirtualIts.errors` keeps (the oldest are dropped; `errorCount` counts all). */
const ERROR_LOG_LIMIT = 1024;
const PIDR2_GICV3 = 3;
/** GITS_BASER<n> at reset: Page_Size = 64 KB (see the module comment). */
const BASER_RESET_PAGE_SIZE = 2;
const BASER_RO = GITS_BASER.mask('Type') | GITS_BASER.mask('Entry_Size');

/**
 * The EventIDs a host device the VM owns signals, each with the host LPI reserved for it on the
 * injected path (consecutive from `firstHostLpi`, in the configuration's order; -1 on the direct
 * path). No per-event record when the EventIDs are 0, 1, 2... in order (the common case).
 */
export class OwnedEvents {
  /** EventID -> its position in the configuration, when the EventIDs are not 0, 1, 2... */
  private readonly index: Map<number, number> | null;
  readonly size: number;

  constructor(
    eventIds: readonly number[],
    /** The first event's host LPI (-1: direct path, none). */
    readonly firstHostLpi: number,
  ) {
    this.size = eventIds.length;
    this.index = eventIds.every((e, k) => e === k) ? null : new Map(eventIds.map((e, k) => [e, k] as const));
  }

  /** The host LPI reserved for `eventId` (-1 on the direct path), or undefined when the device does not signal it. */
  get(eventId: number): number | undefined {
    const k = this.index === null ? (eventId >= 0 && eventId < this.size ? eventId : -1) : (this.index.get(eventId) ?? -1);
    if (k < 0) return undefined;
    return this.firstHostLpi < 0 ? -1 : this.firstHostLpi + k;
  }
}

/** A host device the VM owns, as its emulated ITS knows it (from `VmConfig.devices`). */
export interface OwnedDevice {
  /** Host DeviceID (what the physical ITS and the device's MSIs carry). */
  readonly hostId: number;
  /** The DeviceID the guest names it by. */
  readonly guestId: number;
  /** EventIDs the device can signal; on the injected path each with its reserved host LPI (else -1). */
  readonly events: OwnedEvents;
}

/**
 * A guest event the VM's own device signals, forwarded to the physical ITS: the host mapping
 * (host DeviceID and EventID) and where it goes now (a host LPI routed to `vcpu` on the
 * injected path; a VMAPTI to `vcpu`'s vPE on the direct path). A view of the ITE store's record
 * (ite-store.ts), made when asked for: `vcpu` reads and writes the record while the event stays
 * forwarded; afterwards it keeps the last value, as a detached record object did.
 */
export class ForwardedEvent {
  constructor(
    private readonly its: VirtualIts,
    private readonly slot: number,
    private readonly seq: number,
    /** Host DeviceID. */
    readonly deviceId: number,
    readonly eventId: number,
    /** The guest LPI (the ITE's pINTID). */
    readonly vintid: number,
    /** Host LPI (injected path), -1 on the direct path. */
    readonly hostLpi: number,
    private last: Vcpu,
  ) {}

  private get live(): boolean {
    const ites = this.its.ites;
    return ites.isForwarded(this.slot) && ites.seq(this.slot) === this.seq;
  }

  get vcpu(): Vcpu {
    return this.live ? this.its.vm.vcpus[this.its.ites.target(this.slot)]! : this.last;
  }

  set vcpu(v: Vcpu) {
    this.last = v;
    if (this.live) this.its.ites.retarget(this.slot, v.index);
  }
}

/** Every event forwarded to the physical ITS now, in the order they were forwarded (as a Set of them iterates). */
export class ForwardedEvents implements Iterable<ForwardedEvent> {
  constructor(private readonly its: VirtualIts) {}

  get size(): number {
    return this.its.ites.forwardedCount;
  }

  *[Symbol.iterator](): Iterator<ForwardedEvent> {
    const ites = this.its.ites;
    for (let s = ites.firstForwarded(); s >= 0; ) {
      const seq = ites.seq(s);
      yield this.its.forwardedEvent(s);
      s = ites.nextForwarded(s, seq);
    }
  }
}

/** One mapped guest device (MAPD V = 1): its ITT geometry and its ITEs (in the VM's ITE store). */
export class GuestDevice {
  /** Its ITEs, in the order they were mapped (ite-store.ts). */
  readonly ites: IteList = { head: -1, size: 0 };

  constructor(
    readonly id: number,
    /** MAPD Size: EventID bits - 1. */
    readonly size: number,
    /** ITT_addr as the guest gave it: each ITE's place in it must be in the VM's RAM, but nothing is written there (the ITEs are in hypervisor memory). */
    readonly ittAddr: number,
    /** The host device behind it, or null: a DeviceID the VM does not own resolves to no host device. */
    readonly owned: OwnedDevice | null,
  ) {}

  get eventCount(): number {
    return 2 ** (this.size + 1);
  }
}

export class VitsStats {
  /** Guest commands processed (any outcome). */
  commands = 0;
  /** Commands sent to the physical ITS on the guest's behalf. */
  hostCommands = 0;
  /** GITS_TRANSLATER writes by the guest (ignored). */
  translaterWrites = 0;
  /** Accesses of a width or alignment a GITS register does not accept (RAZ/WI). */
  badAccesses = 0;
}

export class VirtualIts {
  readonly block: RegisterBlock;
  enabled = false;
  /** GITS_CBASER as written (RES0 bits cleared). */
  cbaser = 0n;
  /** Byte offsets of the queue (multiples of 32). */
  creadr = 0;
  cwriter = 0;
  stalled = false;
  /** A core is processing commands (under `lock`). */
  busy = false;
  /** Incremented at every GITS_CBASER write: a processing core notices the queue changed under it. */
  queueGeneration = 0;
  readonly baser: bigint[];
  /** The command being processed, as read from the queue (commands.ts; under `lock`). */
  readonly words: bigint[] = [0n, 0n, 0n, 0n];
  readonly deviceTable = new TableGeometry(VITS_TABLE_ENTRY_BYTES, 2 ** GUEST_DEVICE_ID_BITS);
  readonly collectionTable = new TableGeometry(VITS_TABLE_ENTRY_BYTES, VITS_COLLECTION_IDS);
  /** Mapped devices by guest DeviceID. */
  readonly devices = new Map<number, GuestDevice>();
  /** The ITEs of all devices (their count is bounded: commands.ts). */
  readonly ites: IteStore;
  /** Mapped collections: ICID -> vCPU index (the RDbase processor number). */
  readonly collections = new Map<number, number>();
  /** The VM's own devices, by guest DeviceID. */
  readonly owned = new Map<number, OwnedDevice>();
  /** Every event forwarded to the physical ITS now. */
  readonly forwarded = new ForwardedEvents(this);
  readonly stats = new VitsStats();
  /** Recent command errors, oldest first. */
  readonly errors: ItsErrorRecord[] = [];
  lastError: ItsErrorRecord | null = null;
  errorCount = 0;

  constructor(
    readonly vm: Vm,
    /** The command lock (KVM's its->cmd_lock), in the hypervisor's memory. */
    readonly lock: Spinlock,
    owned: readonly OwnedDevice[],
  ) {
    for (const d of owned) this.owned.set(d.guestId, d);
    this.ites = new IteStore(vm.vcpus.length);
    this.baser = [BaserType.Devices, BaserType.Collections].map((t) => GITS_BASER.encode({ Type: t, Entry_Size: VITS_TABLE_ENTRY_BYTES - 1, Page_Size: BASER_RESET_PAGE_SIZE }));
    this.block = new RegisterBlock(`${vm.config.name}.vgits`, GITS_SIZE, this.regions());
    this.block.onBadAccess = () => void this.stats.badAccesses++;
  }

  /** The queue's guest-physical base and length. */
  get queueBase(): number {
    return GITS_CBASER.get(this.cbaser, 'PA') * 0x1000;
  }

  get queueBytes(): number {
    return queueBytes(GITS_CBASER.get(this.cbaser, 'Size'));
  }

  /** Commands wait to be processed (the ITS enabled, the queue not stalled, CREADR behind CWRITER). */
  get hasWork(): boolean {
    return this.enabled && !this.stalled && this.creadr !== this.cwriter;
  }

  /** The vCPU collection `icid` is mapped to, or null. */
  collectionTarget(icid: number): Vcpu | null {
    const i = this.collections.get(icid);
    return i === undefined ? null : this.vm.vcpus[i]!;
  }

  /** A view of forwarded ITE `s` (it must be forwarded now). */
  forwardedEvent(s: number): ForwardedEvent {
    const ites = this.ites;
    // (`owned`, not the device record: a MAPD may have removed that while it unmaps the ITEs.)
    const owned = this.owned.get(ites.deviceId(s))!;
    const eventId = ites.eventId(s);
    return new ForwardedEvent(this, s, ites.seq(s), owned.hostId, eventId, ites.intid(s), owned.events.get(eventId)!, this.vm.vcpus[ites.target(s)]!);
  }

  /** Records a command error (the log keeps the last ERROR_LOG_LIMIT). */
  record(rec: ItsErrorRecord): void {
    if (this.errors.length >= ERROR_LOG_LIMIT) this.errors.shift();
    this.errors.push(rec);
    this.lastError = rec;
    this.errorCount++;
  }

  // ------------------------------------------------------------------ registers

  private regions(): RegisterRegion[] {
    const wide = W32 | W64;
    const typer = GITS_TYPER.encode({ Physical: 1, ITT_entry_size: VITS_ITE_BYTES - 1, ID_bits: VITS_EVENT_ID_BITS - 1, Devbits: GUEST_DEVICE_ID_BITS - 1 });
    return [
      {
        name: 'GITS_CTLR',
        offset: GITS.CTLR,
        length: 4,
        widths: W32,
        read: () => GITS_CTLR.encode({ Enabled: this.enabled ? 1 : 0, Quiescent: !this.enabled && !this.busy ? 1 : 0 }),
        write: (_o, _s, v) => this.writeCtlr(toNum(v)),
      },
      constReg('GITS_IIDR', GITS.IIDR, GITS_IIDR.encode({ Implementer: 0x43b, ProductID: 0x56 })),
      constReg('GITS_TYPER', GITS.TYPER, BigInt(typer), wide, 8),
      {
        name: 'GITS_CBASER',
        offset: GITS.CBASER,
        length: 8,
        widths: wide,
        regSize: 8,
        read: () => this.cbaser,
        write: (_o, _s, v) => this.writeCbaser(toBig(v)),
      },
      {
        name: 'GITS_CWRITER',
        offset: GITS.CWRITER,
        length: 8,
        widths: wide,
        regSize: 8,
        read: () => BigInt(GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES })),
        write: (_o, _s, v) => this.writeCwriter(toNum(toBig(v) & 0xfffffn)),
      },
      { name: 'GITS_CREADR', offset: GITS.CREADR, length: 8, widths: wide, regSize: 8, read: () => BigInt(GITS_CREADR.encode({ Stalled: this.stalled ? 1 : 0, Offset: this.creadr / COMMAND_BYTES })) },
      {
        name: 'GITS_BASER',
        offset: GITS.BASER,
        length: 0x40,
        widths: wide,
        regSize: 8,
        read: (o) => this.baser[o >>> 3] ?? 0n,
        write: (o, _s, v) => this.writeBaser(o >>> 3, toBig(v)),
      },
      constReg('GITS_PIDR2', GITS.PIDR2, GITS_PIDR2.encode({ ArchRev: PIDR2_GICV3 })),
      {
        name: 'GITS_TRANSLATER',
        offset: GITS.TRANSLATER,
        length: 4,
        widths: W16 | W32,
        write: () => void this.stats.translaterWrites++,
      },
    ];
  }

  private writeCtlr(v: number): void {
    const on = GITS_CTLR.get(v, 'Enabled') === 1;
    if (on && !this.enabled) {
      const valid = GITS_CBASER.get(this.cbaser, 'Valid') === 1 && this.baser.every((b) => GITS_BASER.get(b, 'Valid') === 1);
      if (!valid) return;
    }
    this.enabled = on;
  }

  private writeCbaser(v: bigint): void {
    if (this.enabled) return;
    // Keep the named fields only: RES0 bits read as zero whatever was written.
    this.cbaser = GITS_CBASER.encode(GITS_CBASER.decode(v));
    this.creadr = 0;
    this.cwriter = 0;
    this.stalled = false;
    this.queueGeneration++;
  }

  private writeCwriter(v: number): void {
    const offset = GITS_CWRITER.get(v, 'Offset') * COMMAND_BYTES;
    if (offset >= this.queueBytes) return;
    this.cwriter = offset;
    if (GITS_CWRITER.get(v, 'Retry') === 1) this.stalled = false;
  }

  private writeBaser(n: number, v: bigint): void {
    if (n > 1 || this.enabled) return;
    const nv = (v & ~BASER_RO) | (this.baser[n]! & BASER_RO);
    this.baser[n] = nv;
    (n === 0 ? this.deviceTable : this.collectionTable).configure(nv);
  }
}
