/**
 * The Arm generic timer of one PE: the system counter (CNTPCT at CNTFRQ, derived from the
 * machine's cycle clock), the EL1 physical timer (CNTP_*, PPI 30), the EL1 virtual timer
 * (CNTV_*, counting CNTVCT = CNTPCT - CNTVOFF_EL2, PPI 27) and the EL2 physical timer
 * (CNTHP_*, PPI 26). Each timer's output is a level, ENABLE && !IMASK && ISTATUS, handed to
 * whatever interrupt controller the machine has; an event is armed for the cycle at which the
 * counter reaches CVAL, so nothing polls.
 *
 * Access rules: CNTHCTL_EL2.EL1PCTEN/EL1PCEN (bits 0/1) trap EL0 and EL1 use of the physical
 * counter and timer to EL2; CNTKCTL_EL1 gates EL0 first: an EL0 access it does not allow traps to EL1 with
 * EC 0x18 (CNTKCTL_EL1.EL0PCTEN/EL0VCTEN/EL0VTEN/EL0PTEN; an EL0 read of CNTFRQ_EL0 needs
 * EL0PCTEN or EL0VCTEN).
 */
import { defineReg, toNum, type Word } from './bits.js';
import { SimEvent } from './events.js';
import type { Machine } from './machine.js';
import type { PE } from './pe.js';
import { Access, handler, sysreg, type SysRegRegistry } from './sysreg.js';

export const CNTFRQ_EL0 = sysreg('CNTFRQ_EL0', 3, 3, 14, 0, 0);
export const CNTPCT_EL0 = sysreg('CNTPCT_EL0', 3, 3, 14, 0, 1);
export const CNTVCT_EL0 = sysreg('CNTVCT_EL0', 3, 3, 14, 0, 2);
export const CNTP_TVAL_EL0 = sysreg('CNTP_TVAL_EL0', 3, 3, 14, 2, 0);
export const CNTP_CTL_EL0 = sysreg('CNTP_CTL_EL0', 3, 3, 14, 2, 1);
export const CNTP_CVAL_EL0 = sysreg('CNTP_CVAL_EL0', 3, 3, 14, 2, 2);
export const CNTV_TVAL_EL0 = sysreg('CNTV_TVAL_EL0', 3, 3, 14, 3, 0);
export const CNTV_CTL_EL0 = sysreg('CNTV_CTL_EL0', 3, 3, 14, 3, 1);
export const CNTV_CVAL_EL0 = sysreg('CNTV_CVAL_EL0', 3, 3, 14, 3, 2);
export const CNTKCTL_EL1 = sysreg('CNTKCTL_EL1', 3, 0, 14, 1, 0);
export const CNTVOFF_EL2 = sysreg('CNTVOFF_EL2', 3, 4, 14, 0, 3);
export const CNTHCTL_EL2 = sysreg('CNTHCTL_EL2', 3, 4, 14, 1, 0);
export const CNTHP_TVAL_EL2 = sysreg('CNTHP_TVAL_EL2', 3, 4, 14, 2, 0);
export const CNTHP_CTL_EL2 = sysreg('CNTHP_CTL_EL2', 3, 4, 14, 2, 1);
export const CNTHP_CVAL_EL2 = sysreg('CNTHP_CVAL_EL2', 3, 4, 14, 2, 2);

/**
 * CNTHCTL_EL2 with HCR_EL2.E2H = 0 (Arm ARM DDI 0487, CNTHCTL_EL2): EL1PCTEN = 0 traps EL0 and EL1
 * reads of CNTPCT_EL0 to EL2, EL1PCEN = 0 traps EL0 and EL1 accesses to CNTP_CTL_EL0,
 * CNTP_CVAL_EL0 and CNTP_TVAL_EL0 to EL2 (EC 0x18); an EL0 access CNTKCTL_EL1 forbids traps to
 * EL1 first. The event stream fields are stored, not acted on; no FEAT_ECV fields.
 */
export const CNTHCTL = defineReg('CNTHCTL_EL2', { EVNTI: [7, 4], EVNTDIR: [3, 3], EVNTEN: [2, 2], EL1PCEN: [1, 1], EL1PCTEN: [0, 0] });
const CNTHCTL_EL1PCTEN = CNTHCTL.mask('EL1PCTEN');
const CNTHCTL_EL1PCEN = CNTHCTL.mask('EL1PCEN');

/** CNTx_CTL bits. */
export const CTL_ENABLE = 1;
export const CTL_IMASK = 2;
export const CTL_ISTATUS = 4;

/**
 * The CVAL a TVAL write sets (Arm ARM DDI 0487, CNTP_TVAL_EL0): the counter plus TimerValue, bits
 * [31:0] of the written value taken as a signed 32-bit integer, a 64-bit sum; kept to its low 53
 * bits as every CVAL here is, so a sum below zero (a negative TimerValue larger than the count)
 * is a compare value far in the future, not one in the past.
 */
export function cvalFromTval(count: number, tval: number): number {
  const x = count + (tval | 0);
  return x < 0 ? x + 2 ** 53 : x;
}

/** Timer index and its PPI (the Arm Base System Architecture, DEN 0094, PPI assignments; QEMU include/hw/arm/bsa.h). */
export const TIMER_PHYS = 0;
export const TIMER_VIRT = 1;
export const TIMER_HYP = 2;
export const TIMER_PPI = [30, 27, 26] as const;
const TIMER_NAMES = ['phys', 'virt', 'hyp-phys'] as const;

export class GenericTimer {
  readonly ctl = [0, 0, 0];
  readonly cval = [0, 0, 0];
  readonly level = [false, false, false];
  private readonly events: SimEvent[];
  cntvoff = 0;
  /** EL1PCTEN | EL1PCEN set: EL1 may use the physical counter and timer. */
  cnthctl = 3;
  cntkctl = 0;

  constructor(
    private readonly m: Machine,
    private readonly pe: PE,
  ) {
    this.events = [0, 1, 2].map((i) => new SimEvent(`pe${pe.index}.timer.${TIMER_NAMES[i]}`, 10, () => this.update(i)));
  }

  /** CNTPCT at the current machine time. */
  count(): number {
    return this.m.counterAt(this.m.now);
  }

  private countFor(i: number): number {
    return i === TIMER_VIRT ? this.count() - this.cntvoff : this.count();
  }

  /** Re-evaluates timer `i`: drives its output and arms the event for CVAL. */
  update(i: number): void {
    const ctl = this.ctl[i]!;
    const now = this.countFor(i);
    const cval = this.cval[i]!;
    const enabled = (ctl & CTL_ENABLE) !== 0;
    const istatus = enabled && now >= cval;
    this.ctl[i] = istatus ? ctl | CTL_ISTATUS : ctl & ~CTL_ISTATUS;
    const out = istatus && (ctl & CTL_IMASK) === 0;
    if (out !== this.level[i]) {
      this.level[i] = out;
      const m = this.m;
      if (m.trace.on) m.trace.emit({ t: m.now, core: this.pe.index, el: this.pe.el, kind: 'timer', timer: TIMER_NAMES[i]!, ppi: TIMER_PPI[i]!, level: out });
      m.ppi(this.pe.index, TIMER_PPI[i]!, out);
    }
    const ev = this.events[i]!;
    if (enabled && !istatus) {
      const target = cval + (i === TIMER_VIRT ? this.cntvoff : 0);
      this.m.events.schedule(ev, Math.max(this.m.cycleOfCount(target), this.m.now));
    } else {
      this.m.events.cancel(ev);
    }
  }

  readTval(i: number): number {
    return (this.cval[i]! - this.countFor(i)) >>> 0;
  }

  writeTval(i: number, v: number): void {
    this.cval[i] = cvalFromTval(this.countFor(i), v);
    this.update(i);
  }

  writeCval(i: number, v: number): void {
    this.cval[i] = v;
    this.update(i);
  }

  writeCtl(i: number, v: number): void {
    this.ctl[i] = (this.ctl[i]! & CTL_ISTATUS) | (v & (CTL_ENABLE | CTL_IMASK));
    this.update(i);
  }

  readCtl(i: number): number {
    this.update(i);
    return this.ctl[i]!;
  }
}

/** EL0 access needs one of the CNTKCTL_EL1 bits in `bits`; otherwise it traps to EL1 (EC 0x18). */
function el0Gate(bits: number) {
  return (pe: PE): Access => (pe.el === 0 && (pe.timer.cntkctl & bits) === 0 ? Access.TrapEl1 : Access.Ok);
}

function el1PhysGate(bit: number, el0bit: number) {
  return (pe: PE): Access => {
    // The EL1 control (CNTKCTL_EL1) is checked before the EL2 one (CNTHCTL_EL2).
    if (pe.el === 0 && (pe.timer.cntkctl & el0bit) === 0) return Access.TrapEl1;
    if (pe.el < 2 && (pe.timer.cnthctl & bit) === 0) return Access.TrapEl2;
    return Access.Ok;
  };
}

export function defineTimerSysregs(reg: SysRegRegistry, m: Machine): void {
  const rc = m.costs.sysregRead;
  const wc = m.costs.sysregWrite;
  const n = (v: Word): number => toNum(v);
  // CNTFRQ_EL0 is writable only at the highest EL (EL2 here, writes ignored); an EL0 read
  // needs CNTKCTL_EL1.EL0PCTEN or EL0VCTEN.
  const frqEl0 = el0Gate(3);
  reg.define(handler({ reg: CNTFRQ_EL0, minEl: 0, readCost: rc, writeCost: wc, trap: (pe, read) => (!read && pe.el < 2 ? Access.Undefined : frqEl0(pe)), read: () => m.cntfrq, write: () => {} }));
  // CNTKCTL_EL1.EL0PCTEN (bit 0) for EL0, then CNTHCTL_EL2.EL1PCTEN.
  reg.define(handler({ reg: CNTPCT_EL0, minEl: 0, ro: true, readCost: rc, trap: el1PhysGate(CNTHCTL_EL1PCTEN, 1), read: (pe) => pe.timer.count() }));
  reg.define(handler({ reg: CNTVCT_EL0, minEl: 0, ro: true, readCost: rc, trap: el0Gate(2), read: (pe) => pe.timer.count() - pe.timer.cntvoff }));
  const timerRegs = (i: number, tval: typeof CNTP_TVAL_EL0, ctl: typeof CNTP_CTL_EL0, cval: typeof CNTP_CVAL_EL0, minEl: 0 | 2, trap?: (pe: PE) => Access): void => {
    reg.define(handler({ reg: tval, minEl, readCost: rc, writeCost: wc, trap, read: (pe) => pe.timer.readTval(i), write: (pe, v) => pe.timer.writeTval(i, n(v)) }));
    reg.define(handler({ reg: ctl, minEl, readCost: rc, writeCost: wc, trap, read: (pe) => pe.timer.readCtl(i), write: (pe, v) => pe.timer.writeCtl(i, n(v)) }));
    reg.define(handler({ reg: cval, minEl, readCost: rc, writeCost: wc, trap, read: (pe) => pe.timer.cval[i]!, write: (pe, v) => pe.timer.writeCval(i, n(v)) }));
  };
  // CNTKCTL_EL1.EL0PTEN (bit 9) for EL0, then CNTHCTL_EL2.EL1PCEN.
  timerRegs(TIMER_PHYS, CNTP_TVAL_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0, 0, el1PhysGate(CNTHCTL_EL1PCEN, 0x200));
  timerRegs(TIMER_VIRT, CNTV_TVAL_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0, 0, el0Gate(0x100));
  timerRegs(TIMER_HYP, CNTHP_TVAL_EL2, CNTHP_CTL_EL2, CNTHP_CVAL_EL2, 2);
  reg.define(handler({ reg: CNTKCTL_EL1, minEl: 1, readCost: rc, writeCost: wc, read: (pe) => pe.timer.cntkctl, write: (pe, v) => (pe.timer.cntkctl = n(v) & 0x3ff) }));
  reg.define(handler({ reg: CNTHCTL_EL2, minEl: 2, readCost: rc, writeCost: wc, read: (pe) => pe.timer.cnthctl, write: (pe, v) => (pe.timer.cnthctl = n(v) & 0xff) }));
  reg.define(
    handler({
      reg: CNTVOFF_EL2,
      minEl: 2,
      readCost: rc,
      writeCost: wc,
      read: (pe) => pe.timer.cntvoff,
      write: (pe, v) => {
        pe.timer.cntvoff = n(v);
        pe.timer.update(TIMER_VIRT);
      },
    }),
  );
}
