/**
 * The hypervisor's ITS driver (the host side of Linux's irq-gic-v3-its.c): it sizes and
 * allocates the device, collection and (GICv4) vPE tables from GITS_TYPER and the read-only
 * GITS_BASER fields, the command queue, and each device's ITT; it writes commands with the
 * shared encoders (gic/its/commands.ts) into the queue in memory, advances GITS_CWRITER and
 * waits for them by polling GITS_CREADR — every step an MMIO access or a store on a PE.
 *
 * Several cores send commands, so the queue is shared state that a sequence of ops keeps
 * consistent (the slot the next command goes into, CWRITER): it is serialised by the ITS lock
 * (spinlock.ts), the way Linux serialises it with `its->lock` (BUILD_SINGLE_CMD_FUNC): under the
 * lock a sender waits for room, writes its commands, samples GITS_CREADR and publishes them with
 * GITS_CWRITER; it then releases the lock and waits, outside it, until GITS_CREADR has moved past
 * its commands (its_wait_for_range_completion: progress measured from the sampled origin, so a
 * read pointer that wrapped the ring is accounted for). Without the lock two cores write the same
 * slot and one command is lost (a VMOVP, say: its vPE's vLPIs then go where it is not resident).
 *
 * A stalled queue (GITS_CREADR.Stalled: a command the ITS refused on a memory fault) is mended
 * under the lock: the command at GITS_CREADR is replaced with a SYNC and the queue resumed with
 * GITS_CWRITER.Retry = 1, and the count kept in `stalls` (Linux does not expect stalls at all).
 */
import { toNum } from '../core/bits.js';
import { dsb, ldr, str, work, type Program } from '../core/ops.js';
import { ItsCmd, writeCommand, type CommandWords } from '../gic/its/commands.js';
import { BaserType, COMMAND_BYTES, GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER, GITS_TYPER } from '../gic/its/its-registers.js';
import type { PhysHeap } from './heap.js';
import type { Spinlock } from './spinlock.js';

const QUEUE_BYTES = 0x10000;
const PAGE_64K = 0x10000;
/** Polls of GITS_CREADR before a sender gives up waiting (Linux: about one second). */
const WAIT_POLLS = 1_000_000;

/** A sender's view of the ITS's progress: GITS_CREADR when first read, when last read, and bytes consumed since the first read. */
interface Progress {
  first: number;
  prev: number;
  linear: number;
}

/** Takes a GITS_CREADR offset read into `p` (the first read sets the origin). */
function advance(p: Progress, rd: number): void {
  if (p.first < 0) {
    p.first = p.prev = rd;
    return;
  }
  p.linear += rd >= p.prev ? rd - p.prev : rd + QUEUE_BYTES - p.prev;
  p.prev = rd;
}

export class HostIts {
  queue = 0;
  /** Byte offset of the next free slot (what GITS_CWRITER will say); the lock's. */
  private cwriter = 0;
  /** GITS_CREADR offset as last read under the lock (to know when the queue is full). */
  private creadr = 0;
  ittEntryBytes = 8;
  pta = false;
  /** EventID bits (GITS_TYPER.ID_bits + 1) and DeviceID bits of the device table allocated (at most Devbits + 1), read at init. */
  eventIdBits = 0;
  deviceIdBits = 0;
  private devbits = 0;
  commands = 0;
  stalls = 0;

  constructor(
    readonly base: number,
    private readonly heap: PhysHeap,
    /** The ITS lock (`its->lock`). */
    readonly lock: Spinlock,
  ) {}

  /** Discovers the ITS, allocates its tables and queue, and enables it. */
  *init(deviceIdBits: number, vpeIdBits: number): Program {
    const typer: bigint = yield ldr(this.base + GITS.TYPER, 8, 9);
    const t = GITS_TYPER.decode(toNum(typer));
    this.ittEntryBytes = t.ITT_entry_size + 1;
    this.pta = t.PTA === 1;
    const devBits = Math.min(deviceIdBits, t.Devbits + 1);
    this.eventIdBits = t.ID_bits + 1;
    this.deviceIdBits = devBits;
    this.devbits = t.Devbits;
    for (let n = 0; n < 8; n++) {
      const at = this.base + GITS.BASER + 8 * n;
      const b: bigint = yield ldr(at, 8, 9);
      const type = GITS_BASER.get(b, 'Type');
      const esz = GITS_BASER.get(b, 'Entry_Size') + 1;
      let ids = 0;
      if (type === BaserType.Devices) ids = 2 ** devBits;
      else if (type === BaserType.Collections) ids = 256;
      else if (type === BaserType.VPEs) ids = 2 ** vpeIdBits;
      else continue;
      const bytes = Math.max(PAGE_64K, Math.ceil((ids * esz) / PAGE_64K) * PAGE_64K);
      const pa = this.heap.alloc(bytes, PAGE_64K);
      // 64 KB pages: the PA field holds PA[47:16] in bits [47:16] (PA[51:48] are 0 here).
      yield str(at, GITS_BASER.encode({ Valid: 1, Type: type, Entry_Size: esz - 1, Page_Size: 2, Size: bytes / PAGE_64K - 1, PA: pa / 0x1000, Shareability: 1, InnerCache: 7 }), 8, 9);
    }
    this.queue = this.heap.alloc(QUEUE_BYTES, PAGE_64K);
    yield str(this.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: QUEUE_BYTES / 0x1000 - 1, PA: this.queue / 0x1000, Shareability: 1, InnerCache: 7 }), 8, 9);
    yield str(this.base + GITS.CWRITER, 0, 8, 9);
    yield str(this.base + GITS.CTLR, GITS_CTLR.encode({ Enabled: 1 }), 4, 9);
  }

  /** RDbase field value naming redistributor `i` at physical address `rdPa`. */
  rdbase(i: number, rdPa: number): number {
    return this.pta ? Math.floor(rdPa / 0x10000) : i;
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
    yield* this.lock.acquire(core);
    const start = this.cwriter;
    // GITS_CREADR as sampled before our first publication, and the ITS's progress from there.
    const p: Progress = { first: -1, prev: -1, linear: 0 };
    for (const words of cmds) {
      for (;;) {
        const next = (this.cwriter + COMMAND_BYTES) % QUEUE_BYTES;
        if (next !== this.creadr) break;
        // Full: publish what is written, then wait for the ITS to make room.
        if (p.first < 0) advance(p, yield* this.readCreadr());
        yield* this.publish();
        this.creadr = yield* this.readCreadr();
        advance(p, this.creadr);
        if ((this.cwriter + COMMAND_BYTES) % QUEUE_BYTES === this.creadr) yield work(100);
      }
      yield* writeCommand(this.queue, this.cwriter / COMMAND_BYTES, words);
      this.cwriter = (this.cwriter + COMMAND_BYTES) % QUEUE_BYTES;
      this.commands++;
    }
    if (p.first < 0) {
      this.creadr = yield* this.readCreadr();
      advance(p, this.creadr);
    }
    yield* this.publish();
    yield* this.lock.release();
    // Our commands sit from `start` on; the ITS was at `p.first` before them.
    yield* this.waitRange(core, p, ((start - p.first + QUEUE_BYTES) % QUEUE_BYTES) + cmds.length * COMMAND_BYTES);
  }

  /** GITS_CWRITER <- the next free slot: the ITS may run everything written so far. */
  private *publish(): Program {
    yield dsb();
    yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES }), 8, 9);
  }

  /** GITS_CREADR's offset in bytes; a stalled queue is mended first (under the lock: the caller holds it). */
  private *readCreadr(): Program<number> {
    for (;;) {
      const r = toNum((yield ldr(this.base + GITS.CREADR, 8, 9)) as bigint);
      const offset = GITS_CREADR.get(r, 'Offset') * COMMAND_BYTES;
      if (GITS_CREADR.get(r, 'Stalled') === 0) return offset;
      yield* this.mend(offset);
    }
  }

  /** The ITS stalled on the command at `offset` (a driver bug): replace it with a SYNC and resume. */
  private *mend(offset: number): Program {
    this.stalls++;
    yield* writeCommand(this.queue, offset / COMMAND_BYTES, ItsCmd.SYNC({ RDbase: 0 }));
    yield dsb();
    yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES, Retry: 1 }), 8, 9);
  }

  /**
   * Polls GITS_CREADR until the ITS has consumed `to` bytes of commands since `p.first`, as
   * its_wait_for_range_completion does: progress is summed from each read to the next, so a read
   * pointer that wrapped the ring is accounted for.
   */
  private *waitRange(core: number, p: Progress, to: number): Program {
    for (let i = 0; i < WAIT_POLLS && p.linear < to; i++) {
      const r = toNum((yield ldr(this.base + GITS.CREADR, 8, 9)) as bigint);
      if (GITS_CREADR.get(r, 'Stalled') === 1) {
        // Mend it under the lock, unless another sender already has.
        yield* this.lock.acquire(core);
        yield* this.readCreadr();
        yield* this.lock.release();
        continue;
      }
      advance(p, GITS_CREADR.get(r, 'Offset') * COMMAND_BYTES);
      if (p.linear < to) yield work(100);
    }
  }

  /**
   * MAPD with a fresh ITT for 2^eventBits events (the command to send). A DeviceID or ITT size
   * beyond what GITS_TYPER advertised (and the device table holds) would be refused by the ITS
   * (DEVICE_OOR, ITTSIZE_OOR) and every later command for the device with it: refuse it here
   * instead. (The hypervisor checks its configuration against the same limits before boot,
   * config.ts; this catches a GIC whose registers advertise less than its description says.)
   */
  mapDevice(deviceId: number, eventBits: number): CommandWords {
    const bits = Math.max(1, eventBits);
    if (deviceId >= 2 ** this.deviceIdBits) throw new Error(`ITS: DeviceID ${deviceId} is beyond the device table, which holds ${this.deviceIdBits}-bit DeviceIDs (GITS_TYPER.Devbits = ${this.devbits})`);
    if (bits > this.eventIdBits) throw new Error(`ITS: device ${deviceId} needs ${bits} EventID bits, the ITS supports ${this.eventIdBits} (GITS_TYPER.ID_bits = ${this.eventIdBits - 1})`);
    const itt = this.heap.alloc(Math.max(256, 2 ** bits * this.ittEntryBytes), 256);
    return ItsCmd.MAPD({ DeviceID: deviceId, Size: bits - 1, ITT_addr: itt, V: 1 });
  }
}
