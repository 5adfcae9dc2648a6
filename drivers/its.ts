/**
 * The ITS driver (the software side of IHI 0069, chapter "Locality-specific Peripheral Interrupts
 * and the ITS": the ITS tables, the command queue, the commands), as Linux's irq-gic-v3-its.c and
 * kvm-unit-tests' lib/arm64/gic-v3-its.c drive an ITS. Every step is an MMIO access or a store on
 * a PE.
 *
 * Set-up (`init`): GITS_TYPER gives the ITT entry size, the EventID and DeviceID widths, PTA and
 * whether the ITS is virtual-capable; each GITS_BASER<n> gives its table's Type and Entry_Size
 * (read-only). For each table the driver asks for its preferred page size (64 KB, as Linux) and
 * for a two-level layout (device and vPE tables, as Linux), reading the register back to learn
 * what the ITS accepted (an ITS may support only some page sizes, and only flat tables: Indirect
 * is then RAZ/WI); it then sizes the table for the IDs it needs, allocates it (fresh memory is
 * zero: every entry invalid) and writes the register with Valid = 1. A two-level table gets its
 * level-1 table only; the level-2 page that holds an ID is allocated when a command first names
 * it (`mapDevice`, `mapVpe`: its_alloc_table_entry), and its level-1 entry written before the
 * command. Then GITS_CBASER (a 64 KB queue by default), GITS_CWRITER = 0, GITS_CTLR.Enabled.
 *
 * Commands (`send`): several cores send commands, so the queue is shared state that a sequence
 * of ops keeps consistent (the next free slot, GITS_CWRITER): it is serialised by the ITS lock,
 * as Linux serialises it with `its->lock` (BUILD_SINGLE_CMD_FUNC): under the lock a sender waits
 * for room, writes its commands with the shared encoders (gic/its/commands.ts), samples
 * GITS_CREADR and publishes them with GITS_CWRITER; it then releases the lock and waits, outside
 * it, until GITS_CREADR has moved past its commands (its_wait_for_range_completion: progress
 * measured from the sampled origin, so a read pointer that wrapped the ring is accounted for).
 * Without the lock two cores write the same slot and one command is lost.
 *
 * A stalled queue (GITS_CREADR.Stalled: a command the ITS refused on a memory fault, see the ITS
 * model's errors.ts) is mended under the lock: the command at GITS_CREADR is replaced with a SYNC
 * and the queue resumed with GITS_CWRITER.Retry = 1, counted in `stalls` (Linux does not expect
 * stalls at all). Tests that want to see the stall itself use the raw primitives (`write`,
 * `publish`, `drain`, `submit`), which neither lock nor mend.
 */
import { toNum } from '../core/bits.js';
import { dsb, ldr, str, work, type Program } from '../core/ops.js';
import { ItsCmd, writeCommand, type CommandWords } from '../gic/its/commands.js';
import { BaserType, COMMAND_BYTES, GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER, GITS_TYPER, baserPageBytes, baserPageSizeField, baserPaField } from '../gic/its/its-registers.js';
import { ITS_L1E } from '../gic/its/tables.js';
import type { PhysHeap } from './heap.js';
import type { Spinlock } from './spinlock.js';

/** Transfer register of the MMIO accesses. */
const RT = 9;
const PAGE_64K = 0x10000;
/** Level-1 entries of a two-level table are 8 bytes (IHI 0069, GITS_BASER<n>.Indirect). */
const L1E_BYTES = 8;
/** GITS_BASER<n>.Size is 8 bits: at most 256 pages. */
const MAX_PAGES = 256;
/** Polls of GITS_CREADR before a sender gives up waiting (Linux: about one second). */
const WAIT_POLLS = 1_000_000;

/** The GICv4.1 fields of a VMAPP (GITS_TYPER.VMAPP = 1): the VM's vLPI configuration table (64 KB aligned) and the vPE's default doorbell LPI (1023: none). */
export interface VmappV41 {
  readonly vconf: number;
  readonly doorbell: number;
}

/** An explicit table layout (tests that want a table at a known address or of a given shape). */
export interface TableSpec {
  readonly base: number;
  /** GITS_BASER.Size: number of pages - 1 (default 0). */
  readonly size?: number;
  /** GITS_BASER.Page_Size: 0 = 4 KB (default), 1 = 16 KB, 2 = 64 KB. */
  readonly pageSize?: number;
  readonly indirect?: boolean;
}

/** The GITS_BASER value of an explicit layout, Valid = 1 (Entry_Size and Type are RO: the ITS keeps its own). */
export function baserValue(t: TableSpec): bigint {
  const page = t.pageSize ?? 0;
  return GITS_BASER.encode({ Valid: 1, Indirect: t.indirect === true ? 1 : 0, Page_Size: page, Size: t.size ?? 0, PA: baserPaField(t.base, baserPageBytes(page)), Shareability: 1, InnerCache: 7 });
}

/** One table as the driver set it up. */
export interface ItsTable {
  /** GITS_BASER<n> index. */
  readonly n: number;
  readonly type: BaserType;
  readonly base: number;
  readonly pageBytes: number;
  readonly pages: number;
  /** Bytes per entry (GITS_BASER.Entry_Size + 1). */
  readonly entryBytes: number;
  readonly indirect: boolean;
  /** IDs the table holds. */
  readonly ids: number;
}

export interface ItsInitOptions {
  /** DeviceID bits the device table must hold (default and at most GITS_TYPER.Devbits + 1). */
  readonly deviceIdBits?: number;
  /** vPE IDs bits the vPE table must hold (default 16). */
  readonly vpeIdBits?: number;
  /** Collections the collection table must hold (default 256). */
  readonly collections?: number;
  /** Command queue bytes, a multiple of 4 KB (default 64 KB, Linux's ITS_CMD_QUEUE_SZ). */
  readonly queueBytes?: number;
  /** The command queue's address (default: allocated, 64 KB aligned). */
  readonly queue?: number;
  /** Preferred table page size in bytes (default 64 KB; the driver takes what the ITS accepts). */
  readonly pageBytes?: number;
  /** Two-level device and vPE tables when the ITS supports them (default true, as Linux). */
  readonly twoLevel?: boolean;
  /** Explicit layouts instead of sized and allocated ones, written as given. */
  readonly tables?: { readonly devices?: TableSpec; readonly collections?: TableSpec; readonly vpes?: TableSpec };
  /** Set GITS_CTLR.Enabled at the end (default true). */
  readonly enable?: boolean;
}

/** A sender's view of the ITS's progress: GITS_CREADR when first read, when last read, and bytes consumed since the first read. */
interface Progress {
  first: number;
  prev: number;
  linear: number;
}

export class ItsDriver {
  /** The command queue's address and size. */
  queue = 0;
  queueBytes = 0;
  /** Byte offset of the next free slot (what GITS_CWRITER will say); the lock's. */
  private cwriter = 0;
  /** GITS_CREADR offset as last read under the lock (to know when the queue is full). */
  private creadr = 0;
  /** From GITS_TYPER at `init`: ITT entry bytes, PTA, GICv4 support, EventID bits, DeviceID bits the device table holds. */
  ittEntryBytes = 8;
  pta = false;
  virtual = false;
  eventIdBits = 0;
  deviceIdBits = 0;
  private devbits = 0;
  /** The tables set up, by type. */
  readonly tables = new Map<BaserType, ItsTable>();
  /** Commands written, and stalls mended. */
  commands = 0;
  stalls = 0;

  constructor(
    /** ITS_base (the control frame). */
    readonly base: number,
    /** Where tables, level-2 pages and ITTs come from. */
    private readonly heap: PhysHeap,
    /** The ITS lock (`its->lock`); null for software that sends from one core only. */
    readonly lock: Spinlock | null = null,
    /**
     * The ITS's number, its bit in a VMOVP ITSList, as the platform gives it; on a GICv4.1 ITS
     * `init` reads it from GITS_CTLR.ITS_Number (Linux's its_compute_its_list_map reads it back).
     */
    public number = 0,
  ) {}

  /** From GITS_TYPER at `init`: VMOVP = 1 (issue VMOVP on one ITS only; 0: on every ITS with ITSList). */
  vmovpOne = true;

  /** Discovers the ITS, sets up its tables and queue, and (by default) enables it. */
  *init(o: ItsInitOptions = {}): Program {
    const typer = toNum((yield ldr(this.base + GITS.TYPER, 8, RT)) as bigint);
    const t = GITS_TYPER.decode(typer);
    this.ittEntryBytes = t.ITT_entry_size + 1;
    this.pta = t.PTA === 1;
    this.virtual = t.Virtual === 1;
    this.vmovpOne = t.VMOVP === 1;
    if (t.VMAPP === 1) this.number = GITS_CTLR.get(toNum((yield ldr(this.base + GITS.CTLR, 4, RT)) as number), 'ITS_Number');
    this.eventIdBits = t.ID_bits + 1;
    this.devbits = t.Devbits;
    const devBits = Math.min(o.deviceIdBits ?? t.Devbits + 1, t.Devbits + 1);
    for (let n = 0; n < 8; n++) {
      const at = this.base + GITS.BASER + 8 * n;
      const b: bigint = yield ldr(at, 8, RT);
      const type = GITS_BASER.get(b, 'Type') as BaserType;
      const esz = GITS_BASER.get(b, 'Entry_Size') + 1;
      let ids: number;
      let spec: TableSpec | undefined;
      if (type === BaserType.Devices) [ids, spec] = [2 ** devBits, o.tables?.devices];
      else if (type === BaserType.Collections) [ids, spec] = [o.collections ?? 256, o.tables?.collections];
      else if (type === BaserType.VPEs) [ids, spec] = [2 ** (o.vpeIdBits ?? 16), o.tables?.vpes];
      else continue;
      const table = spec !== undefined ? yield* this.writeSpec(n, type, esz, spec) : yield* this.setUpTable(n, type, esz, ids, type !== BaserType.Collections && o.twoLevel !== false, o.pageBytes ?? PAGE_64K);
      this.tables.set(type, table);
      if (type === BaserType.Devices) this.deviceIdBits = Math.min(devBits, Math.floor(Math.log2(table.ids)));
    }
    this.queueBytes = o.queueBytes ?? PAGE_64K;
    this.queue = o.queue ?? this.heap.alloc(this.queueBytes, PAGE_64K);
    yield str(this.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: this.queueBytes / 0x1000 - 1, PA: this.queue / 0x1000, Shareability: 1, InnerCache: 7 }), 8, RT);
    yield str(this.base + GITS.CWRITER, 0, 8, RT);
    this.cwriter = this.creadr = 0;
    if (o.enable !== false) yield* this.enable();
  }

  /** GITS_CTLR.Enabled = 1. */
  *enable(): Program {
    yield str(this.base + GITS.CTLR, GITS_CTLR.encode({ Enabled: 1 }), 4, RT);
  }

  /** Writes an explicit layout to GITS_BASER<n>. */
  private *writeSpec(n: number, type: BaserType, esz: number, spec: TableSpec): Program<ItsTable> {
    yield str(this.base + GITS.BASER + 8 * n, baserValue(spec), 8, RT);
    const pageBytes = baserPageBytes(spec.pageSize ?? 0);
    const pages = (spec.size ?? 0) + 1;
    const indirect = spec.indirect === true;
    const ids = indirect ? ((pages * pageBytes) / L1E_BYTES) * Math.floor(pageBytes / esz) : Math.floor((pages * pageBytes) / esz);
    return { n, type, base: spec.base, pageBytes, pages, entryBytes: esz, indirect, ids };
  }

  /**
   * Sizes, allocates and programs one table (its_setup_baser): the page size and Indirect the
   * ITS accepts are learnt by writing them (Valid = 0) and reading the register back.
   */
  private *setUpTable(n: number, type: BaserType, esz: number, ids: number, wantIndirect: boolean, pageBytes: number): Program<ItsTable> {
    const at = this.base + GITS.BASER + 8 * n;
    yield str(at, GITS_BASER.encode({ Page_Size: baserPageSizeField(pageBytes), Indirect: wantIndirect ? 1 : 0 }), 8, RT);
    const probe: bigint = yield ldr(at, 8, RT);
    const psz = baserPageBytes(GITS_BASER.get(probe, 'Page_Size'));
    const perPage = Math.floor(psz / esz);
    // Linux uses two levels whenever the ITS offers them; a table that fits one page gains nothing but costs nothing either.
    const indirect = wantIndirect && GITS_BASER.get(probe, 'Indirect') === 1;
    const bytes = indirect ? Math.ceil(ids / perPage) * L1E_BYTES : ids * esz;
    const pages = Math.min(MAX_PAGES, Math.max(1, Math.ceil(bytes / psz)));
    const base = this.heap.alloc(pages * psz, Math.max(psz, 0x1000));
    yield str(at, GITS_BASER.encode({ Valid: 1, Indirect: indirect ? 1 : 0, Page_Size: baserPageSizeField(psz), Size: pages - 1, PA: baserPaField(base, psz), Shareability: 1, InnerCache: 7 }), 8, RT);
    const held = indirect ? ((pages * psz) / L1E_BYTES) * perPage : Math.floor((pages * psz) / esz);
    return { n, type, base, pageBytes: psz, pages, entryBytes: esz, indirect, ids: Math.min(ids, held) };
  }

  /**
   * Makes the entry of `id` in table `type` exist: for a two-level table, allocates the level-2
   * page that holds it and writes its level-1 entry (Valid, PA), unless the entry (read from
   * memory, as Linux reads it) is valid already. Returns false when the table cannot hold `id`.
   */
  *ensureEntry(type: BaserType, id: number): Program<boolean> {
    const t = this.tables.get(type);
    if (t === undefined || id >= t.ids) return false;
    if (!t.indirect) return true;
    const l1 = t.base + Math.floor(id / Math.floor(t.pageBytes / t.entryBytes)) * L1E_BYTES;
    const e: bigint = yield ldr(l1, 8, RT);
    if (ITS_L1E.get(e, 'Valid') === 1) return true;
    const page = this.heap.alloc(t.pageBytes, t.pageBytes);
    yield str(l1, ITS_L1E.encode({ Valid: 1, PA: page / 0x1000 }), 8, RT);
    yield dsb();
    return true;
  }

  /** RDbase field value naming the redistributor with GICR_TYPER.Processor_Number `processor` at physical address `rdPa`. */
  rdbase(processor: number, rdPa: number): number {
    return this.pta ? Math.floor(rdPa / PAGE_64K) : processor;
  }

  /**
   * MAPD with a fresh ITT for 2^eventBits events (the command to send; on a two-level device
   * table the device's level-2 page is made first). A DeviceID or ITT size beyond what GITS_TYPER
   * advertised (and the device table holds) would be refused by the ITS (DEVICE_OOR,
   * ITTSIZE_OOR) and every later command for the device with it: refuse it here instead.
   */
  *mapDevice(deviceId: number, eventBits: number): Program<CommandWords> {
    const bits = Math.max(1, eventBits);
    if (deviceId >= 2 ** this.deviceIdBits) throw new Error(`ITS: DeviceID ${deviceId} is beyond the device table, which holds ${this.deviceIdBits}-bit DeviceIDs (GITS_TYPER.Devbits = ${this.devbits})`);
    if (bits > this.eventIdBits) throw new Error(`ITS: device ${deviceId} needs ${bits} EventID bits, the ITS supports ${this.eventIdBits} (GITS_TYPER.ID_bits = ${this.eventIdBits - 1})`);
    yield* this.ensureEntry(BaserType.Devices, deviceId);
    const itt = this.heap.alloc(Math.max(256, 2 ** bits * this.ittEntryBytes), 256);
    return ItsCmd.MAPD({ DeviceID: deviceId, Size: bits - 1, ITT_addr: itt, V: 1 });
  }

  /** VMAPP of vPE `vpeId` (VPT at `vpt`, `vptBits` vINTID bits) to the redistributor `rdbase` names; on a two-level vPE table its level-2 page is made first. */
  *mapVpe(vpeId: number, rdbase: number, vpt: number, vptBits: number, v41?: VmappV41): Program<CommandWords> {
    const t = this.tables.get(BaserType.VPEs);
    if (t === undefined) throw new Error('ITS: no vPE table (GITS_TYPER.Virtual = 0, or init did not set one up)');
    if (vpeId >= t.ids) throw new Error(`ITS: vPE ID ${vpeId} is beyond the vPE table, which holds ${t.ids}`);
    yield* this.ensureEntry(BaserType.VPEs, vpeId);
    if (v41 === undefined) return ItsCmd.VMAPP({ vPEID: vpeId, RDbase: rdbase, VPT_addr: vpt, VPT_size: vptBits - 1, V: 1 });
    // GICv4.1 (its_build_vmapp_cmd): Alloc = first map of the vPE, PTZ = 0 (Linux never sets it), the VM's
    // vLPI configuration table and the vPE's default doorbell.
    return ItsCmd.VMAPP({ vPEID: vpeId, RDbase: rdbase, VPT_addr: vpt, VPT_size: vptBits - 1, V: 1, Alloc: 1, PTZ: 0, VConf_addr: v41.vconf, Default_Doorbell: v41.doorbell });
  }

  /**
   * Sends `cmds` from core `core` and returns once the ITS has executed them: under the ITS lock,
   * each is written into the next free slot, GITS_CREADR is sampled and GITS_CWRITER moved past
   * them; then, with the lock released, this core polls GITS_CREADR until it has gone past them
   * too. When the queue is full (it keeps one slot free) the commands written so far are
   * published and the sender waits for room, still holding the lock (its_allocate_entry).
   */
  *send(core: number, cmds: readonly CommandWords[]): Program {
    if (cmds.length === 0) return;
    const lock = this.lock;
    if (lock !== null) yield* lock.acquire(core);
    const start = this.cwriter;
    const size = this.queueBytes;
    // GITS_CREADR as sampled before our first publication, and the ITS's progress from there.
    const p: Progress = { first: -1, prev: -1, linear: 0 };
    for (const words of cmds) {
      for (;;) {
        const next = (this.cwriter + COMMAND_BYTES) % size;
        if (next !== this.creadr) break;
        // Full: publish what is written, then wait for the ITS to make room.
        if (p.first < 0) this.advance(p, yield* this.readCreadr());
        yield* this.publish();
        this.creadr = yield* this.readCreadr();
        this.advance(p, this.creadr);
        if ((this.cwriter + COMMAND_BYTES) % size === this.creadr) yield work(100);
      }
      yield* this.writeSlot(words);
    }
    if (p.first < 0) {
      this.creadr = yield* this.readCreadr();
      this.advance(p, this.creadr);
    }
    yield* this.publish();
    if (lock !== null) yield* lock.release();
    // Our commands sit from `start` on; the ITS was at `p.first` before them.
    yield* this.waitRange(core, p, ((start - p.first + size) % size) + cmds.length * COMMAND_BYTES);
  }

  /** Takes a GITS_CREADR offset read into `p` (the first read sets the origin). */
  private advance(p: Progress, rd: number): void {
    if (p.first < 0) {
      p.first = p.prev = rd;
      return;
    }
    p.linear += rd >= p.prev ? rd - p.prev : rd + this.queueBytes - p.prev;
    p.prev = rd;
  }

  /** Writes one command into the next free slot (no publication). */
  private *writeSlot(words: CommandWords): Program {
    yield* writeCommand(this.queue, this.cwriter / COMMAND_BYTES, words);
    this.cwriter = (this.cwriter + COMMAND_BYTES) % this.queueBytes;
    this.commands++;
  }

  /** GITS_CWRITER <- the next free slot: the ITS may run everything written so far (with Retry = 1, a stalled ITS resumes). */
  *publish(retry = false): Program {
    yield dsb();
    yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES, Retry: retry ? 1 : 0 }), 8, RT);
  }

  /** GITS_CREADR's offset in bytes; a stalled queue is mended first (under the lock: the caller holds it). */
  private *readCreadr(): Program<number> {
    for (;;) {
      const r = toNum((yield ldr(this.base + GITS.CREADR, 8, RT)) as bigint);
      const offset = GITS_CREADR.get(r, 'Offset') * COMMAND_BYTES;
      if (GITS_CREADR.get(r, 'Stalled') === 0) return offset;
      yield* this.mend(offset);
    }
  }

  /** The ITS stalled on the command at `offset` (a driver bug): replace it with a SYNC and resume. */
  private *mend(offset: number): Program {
    this.stalls++;
    yield* writeCommand(this.queue, offset / COMMAND_BYTES, ItsCmd.SYNC({ RDbase: 0 }));
    yield* this.publish(true);
  }

  /**
   * Polls GITS_CREADR until the ITS has consumed `to` bytes of commands since `p.first`, as
   * its_wait_for_range_completion does: progress is summed from each read to the next, so a read
   * pointer that wrapped the ring is accounted for.
   */
  private *waitRange(core: number, p: Progress, to: number): Program {
    for (let i = 0; i < WAIT_POLLS && p.linear < to; i++) {
      const r = toNum((yield ldr(this.base + GITS.CREADR, 8, RT)) as bigint);
      if (GITS_CREADR.get(r, 'Stalled') === 1) {
        // Mend it under the lock, unless another sender already has.
        if (this.lock !== null) yield* this.lock.acquire(core);
        yield* this.readCreadr();
        if (this.lock !== null) yield* this.lock.release();
        continue;
      }
      this.advance(p, GITS_CREADR.get(r, 'Offset') * COMMAND_BYTES);
      if (p.linear < to) yield work(100);
    }
  }

  // ------------------------------------------------------------ raw queue access (tests)

  /** Writes commands at the next free slots, without publishing them, locking or waiting for room. */
  *write(cmds: readonly CommandWords[]): Program {
    for (const c of cmds) yield* this.writeSlot(c);
  }

  /** Polls GITS_CREADR until the ITS has read every published command or stalled; returns the raw GITS_CREADR value. */
  *drain(maxPolls = 100_000): Program<number> {
    for (let i = 0; i < maxPolls; i++) {
      const v = toNum((yield ldr(this.base + GITS.CREADR, 8, RT)) as bigint);
      if (GITS_CREADR.get(v, 'Stalled') === 1 || GITS_CREADR.get(v, 'Offset') * COMMAND_BYTES === this.cwriter) return v;
    }
    throw new Error('ITS queue did not drain');
  }

  /** Writes `cmds`, publishes them and waits until the ITS has read them all or stalled (no lock, no mending); returns GITS_CREADR. */
  *submit(...cmds: CommandWords[]): Program<number> {
    yield* this.write(cmds);
    yield* this.publish();
    return yield* this.drain();
  }

  /** The byte offset of the next free slot (what GITS_CWRITER says once published). */
  get writeOffset(): number {
    return this.cwriter;
  }
}
