/**
 * The physical CPU interface of one PE: the ICC_* system registers (IHI 0069) and the
 * IRQ/FIQ lines of the PE.
 *
 * How it works
 * - `update()` is the one idempotent recomputation: it asks the PE's redistributor (SGIs, PPIs,
 *   LPIs) and the distributor (SPIs routed to this PE) for their best candidate, keeps the
 *   highest-priority pending interrupt (HPPI: lowest `priority * 2^24 + INTID`, so the lowest
 *   INTID wins a tie) and drives the lines. It runs after every change that can move the HPPI or
 *   the signalling condition (pending, enable, active, group, priority, routing, PMR, BPR, APR,
 *   group enables, GICR_WAKER). Nothing is sorted: each source answers from bit masks or a heap.
 * - Candidates are pending, enabled, not active, and of a group enabled both in GICD_CTLR and in
 *   this interface's ICC_IGRPEN<n>. CHOICE: a group disabled at the CPU interface is excluded
 *   from the HPPI choice (the CPU interface reports its group enables to its redistributor), so a
 *   disabled Group 0 interrupt does not hide a pending Group 1 one. LPIs are Group 1.
 * - Signalling: the HPPI is signalled iff priority < ICC_PMR_EL1 (strict) and no interrupt is
 *   active or its group priority (priority & the BPR mask of its group) is strictly below the
 *   running priority. Group 0 -> FIQ, Group 1 -> IRQ. A rising line reaches the PE after
 *   `signalLatency` cycles (one re-armed event); a line falls at once.
 * - Acknowledge (IAR): sets the APR bit of the group priority, raises the running priority,
 *   and moves the interrupt to active (an LPI's pending bit is cleared, it has no active state).
 *   EOIR drops the priority (clears the lowest set APR bit) and, with EOImode = 0, deactivates;
 *   with EOImode = 1 only ICC_DIR_EL1 deactivates. Neither has any effect on an LPI's state.
 * - Preemption bits = min(priority bits, 7): minimum BPR0 = 7 - that, minimum BPR1 = BPR0 min + 1,
 *   APR bit = group priority >> (8 - preemption bits), RPR = lowest set APR bit << (8 - bits).
 */
import { lo32, toBig, type Word } from '../core/bits.js';
import { SimEvent } from '../core/events.js';
import type { Machine } from '../core/machine.js';
import { LINE_FIQ, LINE_IRQ, type PE } from '../core/pe.js';
import { priorityMask, type GicConfig } from './config.js';
import { aprCount } from './cpuif-regs.js';
import { lowestBit } from './bit-registers.js';
import { GIC_EVENT_PRIORITY } from './latency-fifo.js';
import { ICC_BPR, ICC_CTLR, ICC_IGRPEN, ICC_INTID, ICC_PRIORITY, INTID_SPECIAL, INTID_SPURIOUS, KEY_PRIORITY_UNIT, LPI_BASE } from './gic-registers.js';
import { CpuReg, type CpuInterfacePort } from './ports.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const UNIT = KEY_PRIORITY_UNIT;
/**
 * INTID bits of a key (keys are below 2^32, so a bitwise AND is exact): keys above 2^31 are
 * doubles, where a remainder by UNIT would be a floating-point remainder, a runtime call.
 */
const INTID_OF_KEY = UNIT - 1;
const LPI_FIRST = LPI_BASE;
const SPECIAL_FIRST = INTID_SPECIAL;
const SPURIOUS = INTID_SPURIOUS;
const IRQ = LINE_IRQ;
const FIQ = LINE_FIQ;
const Reg = CpuReg;
const lsb1 = lowestBit;
const low32 = lo32;
const INTID_FIELD = ICC_INTID.field('INTID');
const INTID_LSB = INTID_FIELD.lsb;
const INTID_MASK = 2 ** INTID_FIELD.width - 1;

/** What a CPU interface needs from its redistributor and the distributor. */
export interface CpuInterfaceLink {
  /** GICD_CTLR group enables: bit 0 = EnableGrp0, bit 1 = EnableGrp1. */
  distributorGroupEnables(): number;
  /** The redistributor is awake (GICR_WAKER.ProcessorSleep = 0): only then does it signal. */
  awake(): boolean;
  /** Best ready SGI/PPI (`priority * 2^24 + INTID`) or -1. */
  bestPrivate(grp0: boolean, grp1: boolean): number;
  /** Best ready SPI routed to this PE, or -1. */
  bestSpi(grp0: boolean, grp1: boolean): number;
  /** Best pending enabled LPI, or -1. */
  bestLpi(): number;
  groupOf(intid: number): number;
  /** True for an INTID this GIC implements (SGI/PPI, an implemented SPI, an LPI in range). */
  implemented(intid: number): boolean;
  /** Acknowledge `intid`: pending -> active (LPI: pending cleared). Does not call back `update`. */
  activate(intid: number): void;
  /** Deactivate `intid` (no effect on LPIs). Returns whether it was active. */
  deactivate(intid: number): boolean;
  /** ICC_SGI0R_EL1 (group 0) / ICC_SGI1R_EL1 (group 1) write. */
  generateSgi(value: bigint, group: number): void;
  /** ICC_IGRPEN<n> changed (1-of-N participation). */
  groupEnablesChanged(): void;
}

export class CpuInterface implements CpuInterfacePort {
  pmr = 0;
  bpr0: number;
  bpr1: number;
  cbpr = false;
  eoiMode = false;
  igrpen0 = 0;
  igrpen1 = 0;
  /** ICC_AP0R<n> and ICC_AP1R<n>. */
  readonly apr: readonly [Uint32Array, Uint32Array] = [new Uint32Array(4), new Uint32Array(4)];
  /** Running priority (ICC_RPR_EL1), 0xFF when idle. */
  rpr = 0xff;

  /** Preemption bits of the physical interface. */
  readonly preemptionBits: number;
  readonly minBpr0: number;
  readonly aprs: number;
  private readonly priorityMask: number;
  private readonly ctlrRo: number;

  /** HPPI as `priority * 2^24 + INTID`, -1 for none; and its group. */
  private hppi = -1;
  private hppiGroup = 0;
  /** Lines the HPPI calls for, and lines this interface asserts now. */
  private want = 0;
  private asserted = 0;
  private readonly raiseEvent: SimEvent;
  private readonly pe: PE;

  constructor(
    private readonly m: Machine,
    cfg: GicConfig,
    readonly index: number,
    private readonly link: CpuInterfaceLink,
  ) {
    this.pe = m.pes[index]!;
    this.preemptionBits = Math.min(cfg.priorityBits, 7);
    this.minBpr0 = 7 - this.preemptionBits;
    this.bpr0 = this.minBpr0;
    this.bpr1 = this.minBpr0 + 1;
    this.aprs = aprCount(this.preemptionBits);
    this.priorityMask = priorityMask(cfg.priorityBits);
    // RO fields: PRIbits, IDbits (0 = 16, 1 = 24 bits; CHOICE: 24 whenever the GIC has more than 16),
    // A3V = 1 (Aff3 may be non-zero in SGI targets). PMHE, SEIS, RSS, ExtRange read 0.
    this.ctlrRo = ICC_CTLR.encode({ PRIbits: cfg.priorityBits - 1, IDbits: cfg.idBits > 16 ? 1 : 0, A3V: 1 });
    this.raiseEvent = new SimEvent(`gic.cpuif${index}.signal`, GIC_EVENT_PRIORITY, () => this.raise());
  }

  // ---------------------------------------------------------------- HPPI and lines

  /** Recomputes the HPPI and drives IRQ/FIQ. Idempotent. */
  update(): void {
    const link = this.link;
    const ge = link.distributorGroupEnables();
    const g0 = (ge & 1) !== 0 && this.igrpen0 !== 0;
    const g1 = (ge & 2) !== 0 && this.igrpen1 !== 0;
    let best = -1;
    if ((g0 || g1) && link.awake()) {
      best = link.bestPrivate(g0, g1);
      const s = link.bestSpi(g0, g1);
      if (s >= 0 && (best < 0 || s < best)) best = s;
      if (g1) {
        const l = link.bestLpi();
        if (l >= 0 && (best < 0 || l < best)) best = l;
      }
    }
    this.hppi = best;
    let want = 0;
    if (best >= 0) {
      const intid = best & INTID_OF_KEY;
      const group = link.groupOf(intid);
      this.hppiGroup = group;
      if (this.canSignal((best - intid) / UNIT, group)) want = group === 0 ? FIQ : IRQ;
    }
    this.drive(want);
  }

  /** The INTID of the HPPI (1023 when none), for tests and the assembly. */
  get highestPending(): number {
    return this.hppi < 0 ? SPURIOUS : (this.hppi & INTID_OF_KEY);
  }

  private drive(want: number): void {
    this.want = want;
    const drop = this.asserted & ~want;
    if (drop !== 0) {
      this.asserted &= ~drop;
      if ((drop & IRQ) !== 0) this.pe.setLine(IRQ, false);
      if ((drop & FIQ) !== 0) this.pe.setLine(FIQ, false);
    }
    if ((want & ~this.asserted) !== 0) {
      const lat = this.m.costs.signalLatency;
      if (lat <= 0) this.raise();
      else if (!this.raiseEvent.queued) this.m.events.schedule(this.raiseEvent, this.m.now + lat);
    }
  }

  private raise(): void {
    const r = this.want & ~this.asserted;
    if (r === 0) return;
    this.asserted |= r;
    if ((r & IRQ) !== 0) this.pe.setLine(IRQ, true);
    if ((r & FIQ) !== 0) this.pe.setLine(FIQ, true);
  }

  /** Group-priority mask of `group` (GroupBits): Group 0 uses BPR0 + 1, Group 1 BPR1 (or BPR0 + 1 with CBPR). */
  groupMask(group: number): number {
    const shift = group === 0 || this.cbpr ? this.bpr0 + 1 : this.bpr1;
    return (0xff << shift) & 0xff;
  }

  private canSignal(prio: number, group: number): boolean {
    if (prio >= this.pmr) return false;
    if (this.rpr === 0xff) return true;
    const gm = this.groupMask(group);
    return (prio & gm) < (this.rpr & gm);
  }

  // ---------------------------------------------------------------- acknowledge, EOI, deactivate

  private acknowledge(group: number): number {
    const k = this.hppi;
    if (k < 0 || this.hppiGroup !== group) return SPURIOUS;
    const intid = k & INTID_OF_KEY;
    const prio = (k - intid) / UNIT;
    if (!this.canSignal(prio, group)) return SPURIOUS;
    const bit = (prio & this.groupMask(group)) >>> (8 - this.preemptionBits);
    const a = this.apr[group]!;
    a[bit >>> 5] = (a[bit >>> 5]! | (1 << (bit & 31))) >>> 0;
    this.recomputeRpr();
    this.link.activate(intid);
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.pe.el, kind: 'gic-ack', intid, pe: this.index, group, priority: prio });
    this.update();
    return intid;
  }

  private eoi(group: number, value: number): void {
    const intid = (value >>> INTID_LSB) & INTID_MASK;
    // Writes of the special INTIDs are ignored; so (UNPREDICTABLE, CHOICE) are INTIDs the GIC does not implement.
    if ((intid >= SPECIAL_FIRST && intid <= SPURIOUS) || !this.link.implemented(intid)) {
      if (this.m.trace.on) this.ignored(`EOIR${group} of INTID ${intid}`, value);
      return;
    }
    // CHOICE (UNPREDICTABLE): an EOI whose group is not that of the highest active priority is ignored.
    if (this.highestActiveGroup() !== group) {
      if (this.m.trace.on) this.ignored(`EOIR${group} with no active Group ${group} priority`, value);
      return;
    }
    const dropped = this.rpr;
    this.dropPriority(group);
    const deactivated = !this.eoiMode && intid < LPI_FIRST && this.link.deactivate(intid);
    const m = this.m;
    if (m.trace.on) {
      m.trace.emit({ t: m.now, core: this.index, el: this.pe.el, kind: 'gic-eoi', intid, pe: this.index, group, dropped, deactivated });
      if (deactivated) m.trace.emit({ t: m.now, core: this.index, el: this.pe.el, kind: 'gic-deactivate', intid, pe: this.index, by: 'eoir' });
    }
    this.update();
  }

  private dir(value: number): void {
    const intid = (value >>> INTID_LSB) & INTID_MASK;
    // Ignored with EOImode = 0; no effect on special INTIDs and LPIs.
    if (!this.eoiMode || intid >= SPECIAL_FIRST || !this.link.implemented(intid)) {
      if (this.m.trace.on) this.ignored(`DIR of INTID ${intid}`, value);
      return;
    }
    if (this.link.deactivate(intid)) {
      const m = this.m;
      if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.pe.el, kind: 'gic-deactivate', intid, pe: this.index, by: 'dir' });
    }
    this.update();
  }

  private highestActiveGroup(): number {
    for (let i = 0; i < this.aprs; i++) {
      const a0 = this.apr[0][i]!;
      const a1 = this.apr[1][i]!;
      if ((a0 | a1) === 0) continue;
      const c0 = a0 === 0 ? 32 : lsb1(a0);
      const c1 = a1 === 0 ? 32 : lsb1(a1);
      return c1 < c0 ? 1 : 0;
    }
    return -1;
  }

  private dropPriority(group: number): void {
    const a = this.apr[group]!;
    for (let i = 0; i < this.aprs; i++) {
      const x = a[i]!;
      if (x === 0) continue;
      a[i] = (x & (x - 1)) >>> 0;
      break;
    }
    this.recomputeRpr();
  }

  private recomputeRpr(): void {
    for (let i = 0; i < this.aprs; i++) {
      const x = this.apr[0][i]! | this.apr[1][i]!;
      if (x !== 0) {
        this.rpr = ((i * 32 + lsb1(x)) << (8 - this.preemptionBits)) & 0xff;
        return;
      }
    }
    this.rpr = 0xff;
  }

  private ignored(what: string, value: number): void {
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: this.index, el: this.pe.el, kind: 'gic-ignored', block: `ICC${this.index}`, what, value });
  }

  // ---------------------------------------------------------------- registers

  read(reg: CpuReg, _pe: PE): Word {
    switch (reg) {
      case Reg.IAR0:
        return this.acknowledge(0);
      case Reg.IAR1:
        return this.acknowledge(1);
      case Reg.HPPIR0:
      case Reg.HPPIR1: {
        const g = reg === Reg.HPPIR0 ? 0 : 1;
        return this.hppi < 0 || this.hppiGroup !== g ? SPURIOUS : (this.hppi & INTID_OF_KEY);
      }
      case Reg.BPR0:
        return ICC_BPR.encode({ BinaryPoint: this.bpr0 });
      case Reg.BPR1:
        // With CBPR = 1, BPR1 reads as BPR0 + 1 (saturated at 7) and writes are ignored.
        return ICC_BPR.encode({ BinaryPoint: this.cbpr ? Math.min(this.bpr0 + 1, 7) : this.bpr1 });
      case Reg.AP0R0:
      case Reg.AP0R1:
      case Reg.AP0R2:
      case Reg.AP0R3:
        return this.apr[0][reg - Reg.AP0R0]!;
      case Reg.AP1R0:
      case Reg.AP1R1:
      case Reg.AP1R2:
      case Reg.AP1R3:
        return this.apr[1][reg - Reg.AP1R0]!;
      case Reg.RPR:
        return ICC_PRIORITY.encode({ Priority: this.rpr });
      case Reg.PMR:
        return ICC_PRIORITY.encode({ Priority: this.pmr });
      case Reg.CTLR:
        return this.ctlrRo + ICC_CTLR.encode({ CBPR: this.cbpr ? 1 : 0, EOImode: this.eoiMode ? 1 : 0 });
      case Reg.SRE:
        return 0x7;
      case Reg.IGRPEN0:
        return ICC_IGRPEN.encode({ Enable: this.igrpen0 });
      case Reg.IGRPEN1:
        return ICC_IGRPEN.encode({ Enable: this.igrpen1 });
      default:
        return 0;
    }
  }

  write(reg: CpuReg, _pe: PE, value: Word): void {
    switch (reg) {
      case Reg.EOIR0:
        this.eoi(0, low32(value));
        return;
      case Reg.EOIR1:
        this.eoi(1, low32(value));
        return;
      case Reg.DIR:
        this.dir(low32(value));
        return;
      case Reg.BPR0:
        this.bpr0 = Math.max(ICC_BPR.get(low32(value), 'BinaryPoint'), this.minBpr0);
        break;
      case Reg.BPR1:
        if (this.cbpr) {
          this.ignored('BPR1 write with CBPR=1', low32(value));
          return;
        }
        this.bpr1 = Math.max(ICC_BPR.get(low32(value), 'BinaryPoint'), this.minBpr0 + 1);
        break;
      case Reg.AP0R0:
      case Reg.AP0R1:
      case Reg.AP0R2:
      case Reg.AP0R3:
        this.apr[0][reg - Reg.AP0R0] = low32(value);
        this.recomputeRpr();
        break;
      case Reg.AP1R0:
      case Reg.AP1R1:
      case Reg.AP1R2:
      case Reg.AP1R3:
        this.apr[1][reg - Reg.AP1R0] = low32(value);
        this.recomputeRpr();
        break;
      case Reg.PMR:
        // Unimplemented low priority bits are RAZ/WI.
        this.pmr = ICC_PRIORITY.get(low32(value), 'Priority') & this.priorityMask;
        break;
      case Reg.CTLR: {
        // Only CBPR and EOImode are writable (PMHE RAZ/WI: no priority-based 1-of-N routing).
        const d = ICC_CTLR.decode(low32(value));
        this.cbpr = d.CBPR === 1;
        this.eoiMode = d.EOImode === 1;
        break;
      }
      case Reg.IGRPEN0:
        this.igrpen0 = ICC_IGRPEN.get(low32(value), 'Enable');
        this.link.groupEnablesChanged();
        break;
      case Reg.IGRPEN1:
        this.igrpen1 = ICC_IGRPEN.get(low32(value), 'Enable');
        this.link.groupEnablesChanged();
        break;
      case Reg.SGI1R:
        this.link.generateSgi(toBig(value), 1);
        return;
      case Reg.SGI0R:
        this.link.generateSgi(toBig(value), 0);
        return;
      case Reg.ASGI1R:
        // CHOICE: with a single Security state there is no "other" Security state whose Group 1
        // SGIs ASGI1R could generate: the write is ignored.
        this.ignored('ASGI1R with a single Security state', low32(value));
        return;
      default:
        return;
    }
    this.update();
  }
}
