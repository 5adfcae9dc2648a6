/**
 * The guest side of the KVM selftests arch_timer and arch_timer_edge_cases
 * (tools/testing/selftests/kvm/arm64/) as a kernel of the framework: every CPU runs timer
 * "stages" on the EL1 physical timer (CNTP_*, PPI 30) or the virtual timer (CNTV_*, PPI 27). A
 * stage programs the timer, waits for its interrupt (WFI with IRQs masked, then unmasked to take
 * it, as the selftest's `wfi` wait; or polling the counter), and the handler checks the timer
 * condition (CTL.ENABLE and ISTATUS set, the counter at or past CVAL), masks the timer (CTL =
 * IMASK, as the selftest's handler does before its EOI) and counts. Whatever the guest sees that
 * the architecture forbids is recorded in `errors` with its CPU, round and stage (the selftest's
 * GUEST_ASSERT), and every counter read is checked against the CPU's previous one: CNTPCT_EL0 and
 * CNTVCT_EL0 never go backwards, whichever physical core the CPU runs on.
 *
 * Stages (Arm ARM DDI 0487, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTP_TVAL_EL0; the same for CNTV_*):
 * - `cval`: CVAL = now + delta, ENABLE: one interrupt, at or after CVAL;
 * - `tval`: TVAL = delta (CVAL reads back as the counter at the write plus delta; TVAL counts down
 *   while enabled, and reads zero or negative, as a signed 32-bit value, in the handler);
 * - `past`: CVAL already behind the counter, then ENABLE: one interrupt at once;
 * - `reprogram`: with IRQs masked, CVAL = now + delta / 2 and ENABLE; once the counter has passed
 *   it (CTL.ISTATUS reads 1) and ICC_HPPIR1_EL1 names the interrupt (pending at the CPU
 *   interface), CVAL is moved delta ahead: a level interrupt whose condition no longer holds is no
 *   longer pending (ICC_HPPIR1_EL1 stops naming it), so unmasking takes nothing, and the one
 *   interrupt comes at the new CVAL;
 * - `imask`: ENABLE | IMASK with CVAL soon: the condition comes to hold (ISTATUS = 1) and nothing is
 *   taken; clearing IMASK then delivers one interrupt at once.
 * The same image runs on bare metal at EL1 and in a VM, on the injected and the direct path.
 */
import { daifclr, daifset, DAIF_I, isb, mrs, msr, wfi, work, type Program } from '../core/ops.js';
import {
  CNTP_CTL_EL0,
  CNTP_CVAL_EL0,
  CNTP_TVAL_EL0,
  CNTPCT_EL0,
  CNTV_CTL_EL0,
  CNTV_CVAL_EL0,
  CNTV_TVAL_EL0,
  CNTVCT_EL0,
  CTL_ENABLE,
  CTL_IMASK,
  CTL_ISTATUS,
  TIMER_PHYS,
  TIMER_PPI,
  TIMER_VIRT,
} from '../core/timer.js';
import { ICC_HPPIR1_EL1 } from '../gic/sysregs.js';
import { Kernel, type KernelConfig, type KernelCpu } from './kernel.js';

export type TimerStage = 'cval' | 'tval' | 'past' | 'reprogram' | 'imask';
export const TIMER_STAGES: readonly TimerStage[] = ['cval', 'tval', 'past', 'reprogram', 'imask'];

export interface ArchTimerOptions {
  /** Which timer: 'phys' (CNTP_*, PPI 30, default) or 'virt' (CNTV_*, PPI 27). */
  readonly timer?: 'phys' | 'virt';
  /** The stages each CPU runs, in order, every round (default all of TIMER_STAGES). */
  readonly stages?: readonly TimerStage[];
  /** How many times each CPU runs its stages (default 1). */
  readonly rounds?: number;
  /** Counter ticks from programming the timer to its expiry (default 20,000). */
  readonly delta?: number;
  /** How a CPU waits for its interrupt: 'wfi' (default) or 'poll' (reading the counter: the CPU stays busy). */
  readonly wait?: 'wfi' | 'poll';
}

/** One interrupt as the guest saw it. */
export interface TimerIrq {
  readonly round: number;
  readonly stage: TimerStage;
  /** Counter ticks from the moment the interrupt was due (CVAL, or the write that unmasked or enabled a timer already past it) to the handler's first counter read, right after its acknowledge. */
  readonly latency: number;
}

/** What one CPU of the kernel saw. */
export class TimerCpuLog {
  /** Timer interrupts its handler took. */
  fired = 0;
  /** Stages that ended with their interrupt taken. */
  stagesDone = 0;
  readonly irqs: TimerIrq[] = [];
  /** Counter reads, each checked against the previous read of the same counter. */
  counterReads = 0;
  /** The stages ran to the end (every round). */
  finished = false;
  // The stage in progress, for the handler.
  armed = false;
  round = 0;
  stage: TimerStage = 'cval';
  cval = 0;
  since = 0;
  lastPct = 0;
  lastVct = 0;
}

const REGS = {
  phys: { ctl: CNTP_CTL_EL0, cval: CNTP_CVAL_EL0, tval: CNTP_TVAL_EL0, count: CNTPCT_EL0, ppi: TIMER_PPI[TIMER_PHYS] },
  virt: { ctl: CNTV_CTL_EL0, cval: CNTV_CVAL_EL0, tval: CNTV_TVAL_EL0, count: CNTVCT_EL0, ppi: TIMER_PPI[TIMER_VIRT] },
} as const;

export class ArchTimerKernel extends Kernel {
  readonly log: TimerCpuLog[];
  /** What the guest found wrong, as "cpu N round R stage S: what". */
  readonly errors: string[] = [];
  readonly ppi: number;

  constructor(
    cfg: KernelConfig,
    readonly opts: ArchTimerOptions = {},
  ) {
    const ppi = REGS[opts.timer ?? 'phys'].ppi;
    super({ ...cfg, ppis: [...(cfg.ppis ?? []), ppi] });
    this.ppi = ppi;
    this.log = Array.from({ length: cfg.cpus }, () => new TimerCpuLog());
  }

  /** Stages each CPU runs (each expects one interrupt). */
  get stagesPerCpu(): number {
    return (this.opts.stages ?? TIMER_STAGES).length * (this.opts.rounds ?? 1);
  }
}

/** A kernel whose CPUs run the arch_timer stages (see the top of this file). */
export function archTimerKernel(cfg: KernelConfig, opts: ArchTimerOptions = {}): ArchTimerKernel {
  const k = new ArchTimerKernel(cfg, opts);
  const R = REGS[opts.timer ?? 'phys'];
  const delta = opts.delta ?? 20_000;
  const stages = opts.stages ?? TIMER_STAGES;
  const rounds = opts.rounds ?? 1;
  const poll = opts.wait === 'poll';

  const fail = (cpu: KernelCpu, what: string): void => {
    const l = k.log[cpu.index]!;
    k.errors.push(`cpu ${cpu.index} round ${l.round} stage ${l.stage}: ${what}`);
  };

  /** Reads `reg` (CNTPCT_EL0 or CNTVCT_EL0) and checks it did not go backwards. */
  function* counter(cpu: KernelCpu, reg: typeof CNTPCT_EL0): Program<number> {
    const l = k.log[cpu.index]!;
    const phys = reg === CNTPCT_EL0;
    // The last value stored before this read was issued was read before it. (The interrupt
    // handler may run between the read and the lines after it, and store a later value.)
    const last = phys ? l.lastPct : l.lastVct;
    const t: number = yield mrs(reg, 2);
    if (t < last) fail(cpu, `${reg.name} went backwards: ${t} after ${last}`);
    if (phys) l.lastPct = Math.max(l.lastPct, t);
    else l.lastVct = Math.max(l.lastVct, t);
    l.counterReads++;
    return t;
  }
  /** The timer's own counter. */
  const now = (cpu: KernelCpu): Program<number> => counter(cpu, R.count);

  k.onIrq(R.ppi, function* (cpu: KernelCpu): Program {
    const l = k.log[cpu.index]!;
    const t: number = yield* now(cpu);
    const ctl: number = yield mrs(R.ctl, 1);
    if (!l.armed) {
      fail(cpu, `a timer interrupt with no interrupt due (CTL ${ctl}, counter ${t}, CVAL ${l.cval})`);
    } else {
      if ((ctl & (CTL_ENABLE | CTL_ISTATUS)) !== (CTL_ENABLE | CTL_ISTATUS)) fail(cpu, `CTL reads ${ctl} in the handler: the timer condition does not hold`);
      if (t < l.cval) fail(cpu, `the interrupt came at ${t}, before CVAL ${l.cval}`);
      if (l.stage === 'tval') {
        const tv: number = yield mrs(R.tval, 1);
        if ((tv | 0) > 0) fail(cpu, `TVAL reads ${tv | 0} in the handler: it should be zero or negative`);
      }
      l.irqs.push({ round: l.round, stage: l.stage, latency: t - l.since });
    }
    // Mask and disable before the EOI, as the selftest's handler does (timer_set_ctl(CTL_IMASK)).
    yield msr(R.ctl, CTL_IMASK, 1);
    l.armed = false;
    l.fired++;
  });

  /** Waits until the handler has counted one more interrupt than `before`. */
  function* waitIrq(cpu: KernelCpu, before: number): Program {
    const l = k.log[cpu.index]!;
    if (poll) {
      // Give up long after the interrupt was due: the stage then ends without it.
      while (l.fired === before) {
        yield work(200);
        const t: number = yield* now(cpu);
        if (t > l.since + 1000 * delta) {
          fail(cpu, `no interrupt ${1000 * delta} ticks after it was due`);
          return;
        }
      }
    } else {
      // WFI with IRQs masked wakes on a pending interrupt; unmasking takes it (no lost wake-up).
      yield daifset(DAIF_I);
      while (l.fired === before) {
        yield wfi();
        yield daifclr(DAIF_I);
        yield isb();
        yield daifset(DAIF_I);
      }
      yield daifclr(DAIF_I);
    }
    if (l.fired !== before + 1) fail(cpu, `${l.fired - before} interrupts for one expiry`);
    else l.stagesDone++;
  }

  /** The interrupt is due from counter value `since` on (for CVAL `cval`). */
  const arm = (l: TimerCpuLog, cval: number, since: number): void => {
    l.cval = cval;
    l.since = Math.max(cval, since);
    l.armed = true;
  };

  function* spinUntil(cpu: KernelCpu, t: number): Program {
    while ((yield* now(cpu)) < t) yield work(100);
  }

  function* stage(cpu: KernelCpu, s: TimerStage): Program {
    const l = k.log[cpu.index]!;
    l.stage = s;
    // Both counters, every stage: neither goes backwards.
    yield* counter(cpu, R.count === CNTPCT_EL0 ? CNTVCT_EL0 : CNTPCT_EL0);
    const before = l.fired;
    switch (s) {
      case 'cval': {
        const t0: number = yield* now(cpu);
        yield msr(R.cval, t0 + delta, 1);
        arm(l, t0 + delta, t0);
        yield msr(R.ctl, CTL_ENABLE, 1);
        break;
      }
      case 'tval': {
        const t0: number = yield* now(cpu);
        yield msr(R.tval, delta, 1);
        const t1: number = yield* now(cpu);
        const cval: number = yield mrs(R.cval, 1);
        if (cval < t0 + delta || cval > t1 + delta) fail(cpu, `CVAL reads ${cval} after TVAL = ${delta} written between counter ${t0} and ${t1}`);
        arm(l, cval, t1);
        yield msr(R.ctl, CTL_ENABLE, 1);
        const tb: number = yield* now(cpu);
        const tv: number = yield mrs(R.tval, 1);
        const ta: number = yield* now(cpu);
        // Enabled (unless the interrupt came meanwhile): TVAL = CVAL - the counter at the read.
        if (l.fired === before && ((tv | 0) > cval - tb || (tv | 0) < cval - ta)) fail(cpu, `TVAL reads ${tv | 0} between counter ${tb} and ${ta} with CVAL ${cval}`);
        break;
      }
      case 'past': {
        const t0: number = yield* now(cpu);
        const cval = Math.max(0, t0 - delta);
        yield msr(R.cval, cval, 1);
        const t1: number = yield* now(cpu);
        arm(l, cval, t1);
        yield msr(R.ctl, CTL_ENABLE, 1);
        break;
      }
      case 'reprogram': {
        yield daifset(DAIF_I);
        const t0: number = yield* now(cpu);
        const first = t0 + Math.floor(delta / 2);
        yield msr(R.cval, first, 1);
        yield msr(R.ctl, CTL_ENABLE, 1);
        yield* spinUntil(cpu, first);
        const ctl: number = yield mrs(R.ctl, 1);
        if ((ctl & CTL_ISTATUS) === 0) fail(cpu, `CTL reads ${ctl} past CVAL ${first}: ISTATUS should be 1`);
        // Until the CPU interface has it as the highest-priority pending interrupt (IRQs masked).
        let pending = false;
        for (let i = 0; i < 200 && !pending; i++) {
          const hppir: number = yield mrs(ICC_HPPIR1_EL1, 1);
          pending = (hppir & 0xffffff) === R.ppi;
          if (!pending) yield work(100);
        }
        if (!pending) fail(cpu, 'ICC_HPPIR1_EL1 never names the timer interrupt while the condition holds');
        // Moving CVAL ahead ends the condition: a level interrupt is then no longer pending.
        const t1: number = yield* now(cpu);
        yield msr(R.cval, t1 + delta, 1);
        arm(l, t1 + delta, t1);
        const hppir: number = yield mrs(ICC_HPPIR1_EL1, 1);
        if ((hppir & 0xffffff) === R.ppi) fail(cpu, 'ICC_HPPIR1_EL1 still names the timer interrupt after CVAL moved ahead');
        yield daifclr(DAIF_I);
        yield isb();
        // A stale interrupt would have been taken here, before the new CVAL (the handler says so).
        break;
      }
      case 'imask': {
        const t0: number = yield* now(cpu);
        const cval = t0 + Math.floor(delta / 2);
        yield msr(R.cval, cval, 1);
        yield msr(R.ctl, CTL_ENABLE | CTL_IMASK, 1);
        yield* spinUntil(cpu, cval + Math.floor(delta / 2));
        const ctl: number = yield mrs(R.ctl, 1);
        if ((ctl & (CTL_ENABLE | CTL_IMASK | CTL_ISTATUS)) !== (CTL_ENABLE | CTL_IMASK | CTL_ISTATUS)) fail(cpu, `CTL reads ${ctl} past CVAL with IMASK: ENABLE, IMASK and ISTATUS should be 1`);
        if (l.fired !== before) fail(cpu, 'an interrupt was taken while IMASK = 1');
        const t1: number = yield* now(cpu);
        arm(l, cval, t1);
        yield msr(R.ctl, CTL_ENABLE, 1);
        break;
      }
    }
    yield* waitIrq(cpu, before);
  }

  k.main = function* (cpu: KernelCpu): Program {
    const l = k.log[cpu.index]!;
    for (let r = 0; r < rounds; r++) {
      l.round = r;
      for (const s of stages) yield* stage(cpu, s);
    }
    // A little longer with IRQs unmasked: a late duplicate would still be seen by the handler.
    yield* spinUntil(cpu, (yield* now(cpu)) + 2 * delta);
    l.finished = true;
    // Returning powers the CPU off (the framework's PSCI CPU_OFF).
  };
  return k;
}
