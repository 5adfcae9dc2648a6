/**
 * The hypervisor's ITS driver (the host side of Linux's irq-gic-v3-its.c): it sizes and
 * allocates the device, collection and (GICv4) vPE tables from GITS_TYPER and the read-only
 * GITS_BASER fields, the command queue, and each device's ITT; it writes commands with the
 * shared encoders (gic/its/commands.ts) into the queue in memory, advances GITS_CWRITER and
 * waits for them by polling GITS_CREADR — every step an MMIO access or a store on a PE.
 */
import { toNum } from '../core/bits.js';
import { dsb, ldr, str, work, type Program } from '../core/ops.js';
import { ItsCmd, writeCommand, type CommandWords } from '../gic/its/commands.js';
import { BaserType, COMMAND_BYTES, GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CTLR, GITS_CWRITER, GITS_TYPER } from '../gic/its/its-registers.js';
import type { PhysHeap } from './heap.js';

const QUEUE_BYTES = 0x10000;
const PAGE_64K = 0x10000;

export class HostIts {
  queue = 0;
  /** Byte offset of the next free slot (what GITS_CWRITER will say). */
  private cwriter = 0;
  /** Last GITS_CREADR offset read. */
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

  /** Queues one command (waiting for room if the queue is full); call `sync` to make the ITS run them. */
  *submit(words: CommandWords): Program {
    const next = (this.cwriter + COMMAND_BYTES) % QUEUE_BYTES;
    if (next === this.creadr) {
      // Full: let the ITS drain what is queued (the queue keeps one slot free).
      yield* this.kick();
      yield* this.wait();
    }
    yield* writeCommand(this.queue, this.cwriter / COMMAND_BYTES, words);
    this.cwriter = next;
    this.commands++;
  }

  /** Publishes queued commands (GITS_CWRITER). */
  *kick(): Program {
    yield dsb();
    yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES }), 8, 9);
  }

  /** Polls GITS_CREADR until the ITS has consumed everything up to GITS_CWRITER. */
  *wait(): Program {
    for (let i = 0; i < 1_000_000; i++) {
      const r = toNum((yield ldr(this.base + GITS.CREADR, 8, 9)) as bigint);
      this.creadr = GITS_CREADR.get(r, 'Offset') * COMMAND_BYTES;
      if (GITS_CREADR.get(r, 'Stalled') === 1) {
        // The ITS stalled on a command it refused (a driver bug): replace it with a SYNC and retry.
        this.stalls++;
        yield* writeCommand(this.queue, this.creadr / COMMAND_BYTES, ItsCmd.SYNC({ RDbase: 0 }));
        yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / COMMAND_BYTES, Retry: 1 }), 8, 9);
        continue;
      }
      if (this.creadr === this.cwriter) return;
      yield work(100);
    }
  }

  /** Submits and waits for everything queued. */
  *sync(): Program {
    yield* this.kick();
    yield* this.wait();
  }

  /**
   * MAPD with a fresh ITT for 2^eventBits events. A DeviceID or ITT size beyond what
   * GITS_TYPER advertised (and the device table holds) would be refused by the ITS (DEVICE_OOR,
   * ITTSIZE_OOR) and every later command for the device with it: refuse it here instead. (The
   * hypervisor checks its configuration against the same limits before boot, config.ts; this
   * catches a GIC whose registers advertise less than its description says.)
   */
  *mapDevice(deviceId: number, eventBits: number): Program {
    const bits = Math.max(1, eventBits);
    if (deviceId >= 2 ** this.deviceIdBits) throw new Error(`ITS: DeviceID ${deviceId} is beyond the device table, which holds ${this.deviceIdBits}-bit DeviceIDs (GITS_TYPER.Devbits = ${this.devbits})`);
    if (bits > this.eventIdBits) throw new Error(`ITS: device ${deviceId} needs ${bits} EventID bits, the ITS supports ${this.eventIdBits} (GITS_TYPER.ID_bits = ${this.eventIdBits - 1})`);
    const itt = this.heap.alloc(Math.max(256, 2 ** bits * this.ittEntryBytes), 256);
    yield* this.submit(ItsCmd.MAPD({ DeviceID: deviceId, Size: bits - 1, ITT_addr: itt, V: 1 }));
  }

  *mapCollection(icid: number, rdbase: number): Program {
    yield* this.submit(ItsCmd.MAPC({ ICID: icid, RDbase: rdbase, V: 1 }));
  }
}
