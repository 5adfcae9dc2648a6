/**
 * The command queue mechanics: GITS_CBASER, GITS_CWRITER, GITS_CREADR (IHI 0069, the
 * descriptions of those three registers).
 *
 * How it works: the queue is a ring of 32-byte commands at CBASER.PA, (Size + 1) × 4 KB long.
 * Whenever the ITS is enabled, CBASER is valid, the queue is not stalled and CREADR != CWRITER,
 * the ITS takes the command at CREADR. Each command completes in simulated time, with one
 * re-armed SimEvent:
 *   t0                      fetch starts
 *   t0 + itsCommand         the 32 bytes are read, decoded and executed: tables are read and
 *                           written, redistributors are told (effects are visible from here)
 *   ... + n × itsTableAccess the command retires: CREADR advances past it (n = table entries
 *                           the command read or wrote), and the next command starts
 * so a driver sees CREADR move only after a command's effects are visible, and SYNC/VSYNC,
 * which follow everything before them, complete after those effects. A command that fails
 * with a memory fault stalls instead: GITS_CREADR.Stalled = 1 and CREADR stays at it until
 * software writes GITS_CWRITER with Retry = 1.
 *
 * CHOICEs (the architecture leaves them open or UNPREDICTABLE):
 * - GITS_CBASER is read-only while GITS_CTLR.Enabled = 1 or a command is in flight (as QEMU
 *   and KVM); writing it resets CREADR to 0 (IHI 0069, GITS_CREADR: reset when GITS_CBASER is
 *   written) and clears Stalled. CWRITER, whose value the architecture leaves UNKNOWN after
 *   such a write, is reset to CREADR as KVM's vgic_mmio_write_its_cbaser does: the queue starts
 *   empty. (Keeping it would leave CWRITER beyond the end of a queue that shrank, and the ITS
 *   would run round the ring forever: CREADR never meets it.)
 * - A GITS_CWRITER write whose Offset is beyond the queue is ignored (as KVM).
 * - Retry = 1 while the queue is not stalled has no effect; CWRITER.Retry reads as 0.
 * - Clearing GITS_CTLR.Enabled lets the command in flight complete; no further command starts
 *   until Enabled is set again, which resumes processing of whatever is queued.
 * - CBASER.Valid = 0: nothing is read from the queue (CWRITER still updates).
 */
import { field32 } from '../../core/bits.js';
import type { Machine } from '../../core/machine.js';
import { SimEvent } from '../../core/events.js';
import { GIC_EVENT_PRIORITY } from '../latency-fifo.js';
import { COMMAND_BYTES, GITS_CBASER, GITS_CREADR, GITS_CWRITER, queueBytes } from './its-registers.js';
import { ITS_CORE } from './its-trace.js';

export interface CommandExecutor {
  /**
   * Executes the command at physical address `pa` (queue offset `offset`). Returns the number
   * of table entries it read or wrote, or -1 when the queue must stall on it.
   */
  execute(pa: number, offset: number): number;
}

// GITS_CWRITER/GITS_CREADR are polled and written around every command software issues: their
// fields go through positions resolved once, not `Layout.get`/`encode` (a by-name lookup or a
// record per access).
const CWRITER_OFFSET = GITS_CWRITER.field('Offset');
const CWRITER_RETRY = GITS_CWRITER.field('Retry');
const CREADR_OFFSET = GITS_CREADR.field('Offset');
const CREADR_STALLED = GITS_CREADR.field('Stalled');

/** `x` placed in a field of a 32-bit register (truncated to the field's width). */
function inField(x: number, f: { lsb: number; mask: number }): number {
  return ((x << f.lsb) & f.mask) >>> 0;
}

const FETCH = 0;
const RETIRE = 1;

export class CommandQueue {
  /** GITS_CBASER as written, RES0 bits cleared. */
  cbaser = 0n;
  /** Byte offsets (multiples of 32). */
  creadr = 0;
  cwriter = 0;
  stalled = false;
  /** A command is in flight (fetching/executing or retiring). */
  busy = false;
  /** Mirrors GITS_CTLR.Enabled. */
  enabled = false;
  /** Commands retired (done or skipped). */
  completed = 0;

  private base = 0;
  private bytes = 0x1000;
  private valid = false;
  private phase = FETCH;
  private readonly ev: SimEvent;

  constructor(
    private readonly m: Machine,
    private readonly exec: CommandExecutor,
  ) {
    this.ev = new SimEvent('its.command', GIC_EVENT_PRIORITY, () => this.fire());
  }

  /** Queue length in bytes ((CBASER.Size + 1) × 4 KB). */
  get length(): number {
    return this.bytes;
  }

  writeCbaser(v: bigint): void {
    if (this.enabled || this.busy) return;
    // Bits [62], [58:56], [52] and [9:8] are RES0 (Arm GITS_CBASER field descriptions): keep
    // only the named fields, so a read returns them as zero whatever was written.
    const d = GITS_CBASER.decode(v);
    this.cbaser = GITS_CBASER.encode(d);
    this.valid = d.Valid === 1;
    this.base = d.PA * 0x1000;
    this.bytes = queueBytes(d.Size);
    this.creadr = 0;
    this.cwriter = this.creadr;
    this.stalled = false;
  }

  writeCwriter(v: number): void {
    const offset = field32(v, CWRITER_OFFSET.lsb, CWRITER_OFFSET.width) * COMMAND_BYTES;
    if (offset >= this.bytes) return;
    this.cwriter = offset;
    if (field32(v, CWRITER_RETRY.lsb, CWRITER_RETRY.width) === 1 && this.stalled) {
      this.stalled = false;
      const m = this.m;
      if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-queue', state: 'resumed', offset: this.creadr });
    }
    this.kick();
  }

  readCwriter(): number {
    return inField(this.cwriter / COMMAND_BYTES, CWRITER_OFFSET);
  }

  readCreadr(): number {
    return (inField(this.stalled ? 1 : 0, CREADR_STALLED) | inField(this.creadr / COMMAND_BYTES, CREADR_OFFSET)) >>> 0;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.kick();
  }

  /** Starts the next command if the queue may run and holds one. */
  kick(): void {
    if (!this.enabled || !this.valid || this.stalled || this.busy || this.creadr === this.cwriter) return;
    this.busy = true;
    this.phase = FETCH;
    this.m.events.schedule(this.ev, this.m.now + this.m.costs.itsCommand);
  }

  private fire(): void {
    const m = this.m;
    if (this.phase === FETCH) {
      const n = this.exec.execute(this.base + this.creadr, this.creadr);
      if (n < 0) {
        this.busy = false;
        this.stalled = true;
        if (m.trace.on) m.trace.emit({ t: m.now, core: ITS_CORE, el: ITS_CORE, kind: 'its-queue', state: 'stalled', offset: this.creadr });
        return;
      }
      if (n > 0) {
        this.phase = RETIRE;
        m.events.schedule(this.ev, m.now + n * m.costs.itsTableAccess);
        return;
      }
    }
    this.creadr = (this.creadr + COMMAND_BYTES) % this.bytes;
    this.completed++;
    this.busy = false;
    this.kick();
  }
}
