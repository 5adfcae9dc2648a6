/**
 * The guest's EL1 physical timer (CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0; its interrupt is
 * PPI 30), trapped and emulated: KVM's "emulated timer" (arch/arm64/kvm/arch_timer.c).
 *
 * CHOICE: trap-and-emulate, not save/restore. Why:
 * - This machine is the one on which KVM emulates it: no VHE (HCR_EL2.E2H = 0) and no FEAT_ECV.
 *   KVM's `get_timer_map` gives a non-VHE host a direct (context-switched) virtual timer and an
 *   emulated physical timer, and `__timer_enable_traps` clears CNTHCTL_EL2.EL1PCEN for the guest;
 *   context-switching the physical timer as a direct timer is its VHE path.
 * - The interrupt is level-sensitive, and with the registers trapped every change of its level
 *   passes through EL2: the rise at CVAL through the hypervisor's own deadline, every fall through
 *   the trapped write that masks, disables or reprograms the timer. So the guest's PPI 30 is
 *   pending exactly while the timer condition holds, as on bare metal: reprogramming a timer whose
 *   interrupt is pending (IRQs masked) withdraws it (ICC_HPPIR1_EL1 stops naming it). Forwarded
 *   through an HW = 1 list register, as the virtual timer is, such an interrupt stays pending in
 *   its LR after the line dropped, and the guest takes it with ISTATUS clear: KVM resamples a
 *   mapped level interrupt at the next exit (vgic_v3_fold_lr_state), this hypervisor's fold not at
 *   all (test/timer/stages.test.ts runs the virtual timer without that stage).
 * - The state lives in the vCPU record (vm.ts): nothing is added to the world switch of VMs that
 *   never touch the timer, and a vCPU that moves to another core takes its timer along.
 * The price: every CNTP_* access is an exit (EC 0x18), as under KVM without VHE, and an interrupt
 * the guest deactivates while the timer condition still holds costs an EOI maintenance exit.
 *
 * How:
 * - Every core runs guests with CNTHCTL_EL2 = EL1PCTEN (`ptimerTrapsInit`, at boot): the physical
 *   counter stays direct (the guest's physical counter is the machine's, no offset, as KVM leaves it
 *   when the VM's physical offset is 0), and EL1 accesses to CNTP_* trap to EL2 (EL0 ones too, once
 *   CNTKCTL_EL1.EL0PTEN lets them past EL1). CHOICE: set once per core, not on every guest entry
 *   as KVM's nVHE switch does: nothing runs at EL1 here but guests.
 * - `ptimerAccess` emulates them on the vCPU's saved CTL (ENABLE, IMASK) and CVAL and the physical
 *   counter read at EL2 (Arm ARM DDI 0487, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0): CTL.ISTATUS
 *   reads ENABLE && CNTPCT >= CVAL (unsigned); a TVAL read returns (CVAL - CNTPCT)[31:0], bits
 *   [63:32] zero; a TVAL write sets CVAL = CNTPCT + SignExtend(TVAL[31:0]), a 64-bit sum; CVAL
 *   values keep their low 53 bits, as the hardware model's do (core/timer.ts cvalFromTval).
 * - The output line (ENABLE && !IMASK && ISTATUS) is evaluated after each write, when the vCPU is
 *   loaded on a core, when it executes a trapped WFI, and at its deadline (`ptimerEval`). A fall
 *   withdraws a vPPI 30 the guest has not acknowledged; while the line is high, each entry makes
 *   vPPI 30 pending again unless it is pending or active (`ptimerResample`, run before the LRs are
 *   flushed), KVM's line_level.
 * - Deadlines: the running vCPU's CVAL is one of the deadlines the EL2 timer (CNTHP, PPI 26) is
 *   programmed with (run-loop.ts), as KVM arms an hrtimer for an emulated timer; a vCPU blocked in
 *   WFI sleeps until the earlier of its two timers' CVAL (traps.ts, the sleepers of host-irq.ts),
 *   KVM's background timer; a runnable vCPU waiting for a core needs none: its line is evaluated
 *   when it is loaded, on whichever core.
 * - Resampling at deactivation: while the line is high, vPPI 30's list register is written with
 *   EOI = 1 (VIrq.eoiMaintenance), as KVM's vgic writes level-sensitive HW = 0 interrupts, so a
 *   guest that deactivates it without masking the timer exits (ICH_MISR_EL2.EOI) and takes it again.
 *   Written Active+Pending instead, the LR would re-present it only if no acknowledge happened
 *   between two flushes.
 */
import { lo32, toNum } from '../core/bits.js';
import { mrs, msr, work, type Program } from '../core/ops.js';
import { CNTHCTL, CNTHCTL_EL2, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0, CNTPCT_EL0, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS, cvalFromTval, TIMER_PHYS, TIMER_PPI } from '../core/timer.js';
import type { SysReg } from '../core/sysreg.js';
import { inject } from './host-irq.js';
import type { Hypervisor } from './hypervisor.js';
import type { PerCpu, Vcpu } from './vm.js';

declare module '../core/trace.js' {
  interface TraceKinds {
    /** A guest access to its emulated EL1 physical timer (trapped by CNTHCTL_EL2.EL1PCEN = 0); `value` read or written. */
    'ptimer-access': { vm: number; vcpu: number; reg: 'ctl' | 'cval' | 'tval'; write: boolean; value: number };
    /** The output of a vCPU's emulated EL1 physical timer changed level; `cval` in counter ticks. */
    'ptimer-level': { vm: number; vcpu: number; level: boolean; cval: number };
  }
}

/** The guest's EL1 physical timer interrupt (the Arm Base System Architecture's PPI 30). */
export const PPI_PTIMER = TIMER_PPI[TIMER_PHYS];

/** CNTHCTL_EL2 while guests run: the physical counter direct, the EL1 physical timer trapped. */
export const GUEST_CNTHCTL = CNTHCTL.encode({ EL1PCTEN: 1, EL1PCEN: 0 });

const CTL_RW = CTL_ENABLE | CTL_IMASK;

/** Per-core set-up: CNTHCTL_EL2 as guests run under it (see the top of this file). */
export function* ptimerTrapsInit(): Program {
  yield msr(CNTHCTL_EL2, GUEST_CNTHCTL, 1);
}

/** The counter value at which `v`'s physical timer output rises, or Infinity (disabled, masked, or already high). */
export function ptimerDeadline(v: Vcpu): number {
  return (v.ptimerCtl & CTL_RW) === CTL_ENABLE && !v.ptimerLine ? v.ptimerCval : Infinity;
}

/**
 * Evaluates `v`'s timer output at counter value `now`. A rise is left to `ptimerResample` (the
 * next entry); a fall withdraws a vPPI 30 that is pending and not in a list register (the exit
 * folded them), as a level-sensitive interrupt stops being pending when its line drops.
 */
export function ptimerEval(h: Hypervisor, pcpu: PerCpu, v: Vcpu, now: number): void {
  const level = (v.ptimerCtl & CTL_RW) === CTL_ENABLE && now >= v.ptimerCval;
  if (level === v.ptimerLine) return;
  v.ptimerLine = level;
  const irq = v.ptimerIrq;
  irq.eoiMaintenance = level;
  if (!level && irq.pending && irq.lr < 0) irq.pending = false;
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'ptimer-level', vm: v.vm.index, vcpu: v.index, level, cval: v.ptimerCval });
}

/**
 * Reads the counter and evaluates `v`'s timer if it is armed (the world switch, a trapped WFI).
 * Returns whether its output is high.
 */
export function* ptimerPoll(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program<boolean> {
  if (ptimerPollNeeded(v)) {
    const now: number = yield mrs(CNTPCT_EL0, 9);
    ptimerEval(h, pcpu, v, now);
  }
  return v.ptimerLine;
}

/**
 * Whether `ptimerPoll` reads the counter (the timer is armed and its line low); otherwise it only
 * returns `v.ptimerLine`, and hot callers skip it.
 */
export function ptimerPollNeeded(v: Vcpu): boolean {
  return ptimerDeadline(v) !== Infinity;
}

/** Before an entry: the line is high and vPPI 30 is neither pending nor active, so it is pending again. */
export function* ptimerResample(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  const irq = v.ptimerIrq;
  if (!v.ptimerLine || irq.pending || irq.active || irq.lr >= 0) return;
  yield* inject(h, pcpu, v, irq, PPI_PTIMER);
}

/** The trapped access's fields (ISS of EC 0x18, core/esr.ts ISS_SYS64). */
export interface SysregAccess {
  readonly Op0: number;
  readonly Op1: number;
  readonly CRn: number;
  readonly CRm: number;
  readonly Op2: number;
  readonly Rt: number;
  readonly Direction: number;
}

function names(s: SysregAccess, r: SysReg): boolean {
  return s.Op0 === r.op0 && s.Op1 === r.op1 && s.CRn === r.crn && s.CRm === r.crm && s.Op2 === r.op2;
}

/**
 * Emulates a trapped MRS/MSR of CNTP_CTL_EL0, CNTP_CVAL_EL0 or CNTP_TVAL_EL0 (ELR advanced past
 * it). Returns false, doing nothing, for any other register.
 */
export function* ptimerAccess(h: Hypervisor, pcpu: PerCpu, v: Vcpu, s: SysregAccess): Program<boolean> {
  const reg = names(s, CNTP_CTL_EL0) ? 'ctl' : names(s, CNTP_CVAL_EL0) ? 'cval' : names(s, CNTP_TVAL_EL0) ? 'tval' : null;
  if (reg === null) return false;
  // CHOICE: charged as an MMIO emulation (decode, dispatch, the emulated register's update).
  yield work(h.cfg.bookkeeping.mmioEmulation);
  const read = s.Direction === 1;
  // CVAL is the only one whose access does not depend on the counter.
  const now: number = reg === 'cval' ? 0 : yield mrs(CNTPCT_EL0, 9);
  let value: number;
  if (read) {
    if (reg === 'ctl') value = v.ptimerCtl | ((v.ptimerCtl & CTL_ENABLE) !== 0 && now >= v.ptimerCval ? CTL_ISTATUS : 0);
    else if (reg === 'cval') value = v.ptimerCval;
    // (CVAL - CNTPCT)[31:0]; UNKNOWN when ENABLE = 0, this value then too.
    else value = (v.ptimerCval - now) >>> 0;
    if (s.Rt !== 31) v.gprs[s.Rt] = value;
  } else {
    const x = s.Rt === 31 ? 0 : v.gprs[s.Rt]!;
    if (reg === 'ctl') {
      value = lo32(x) & CTL_RW;
      v.ptimerCtl = value;
    } else if (reg === 'cval') {
      value = toNum(x);
      v.ptimerCval = value;
    } else {
      value = lo32(x);
      v.ptimerCval = cvalFromTval(now, value);
    }
    if (reg !== 'cval') ptimerEval(h, pcpu, v, now);
    // A CVAL write can change the line only of an enabled, unmasked timer (a high line implies one).
    else if ((v.ptimerCtl & CTL_RW) === CTL_ENABLE) ptimerEval(h, pcpu, v, yield mrs(CNTPCT_EL0, 9));
  }
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'ptimer-access', vm: v.vm.index, vcpu: v.index, reg, write: !read, value });
  v.elr += 4;
  return true;
}
