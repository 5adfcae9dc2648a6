/**
 * The hypervisor's run loop, per core, as exception handlers at EL2:
 *
 * - guest exit (lower-EL vectors): save the guest's general registers and ELR/SPSR, fold the
 *   list registers, handle the exit (trap or physical interrupts), then either resume the same
 *   vCPU or reschedule;
 * - reschedule: the policy picks a vCPU for this core; entering a different vCPU puts the old
 *   one and loads the new one (world switch); nothing to run means the idle loop;
 * - enter: flush the list registers, program the EL2 timer for the slice, restore ELR/SPSR and
 *   the general registers, ERET;
 * - idle: WFI at EL2 with IRQs masked, then unmask so the pending interrupt is taken (at the
 *   current-EL vector, handled by `hostIrqAtEl2`) and look for work again. Checking with IRQs
 *   masked before WFI closes the lost-wake-up window.
 * - interrupt storms: an exit handles at most HOST_IRQ_BURST host interrupts. When it reaches
 *   that bound with more pending, device interrupts arrive faster than the hypervisor takes
 *   them, and entering the guest would only take the next one at its first instruction: the
 *   guest would never run. So the next entry holds device interrupts back for a short quantum
 *   (ICC_PMR_EL1 = PRIO_DEVICE: the hypervisor's own kick, timer and maintenance interrupts sit
 *   above it and still get through) and arms the EL2 timer to end it; the next exit restores
 *   the mask. Meanwhile the device's LPIs stay pending at the redistributor, where further MSIs
 *   merge with them (one pending bit per LPI), as the architecture allows; the guest runs and
 *   latency grows instead.
 */
import { call, daifclr, daifset, DAIF_I, eret, mrs, msr, restorex, savex, wfi, work, type Program } from '../core/ops.js';
import { PSR_I } from '../core/pstate.js';
import { ELR_EL2, SPSR_EL2 } from '../core/sysregs.js';
import { ICC_PMR_EL1 } from '../gic/sysregs.js';
import { CNTHP_CTL_EL2, CNTHP_CVAL_EL2, CNTPCT_EL0 } from '../core/timer.js';
import { handleHostIrqs } from './host-irq.js';
import type { Hypervisor } from './hypervisor.js';
import { PMR_ALL, PRIO_DEVICE } from './layout.js';
import { ptimerDeadline, ptimerResample } from './ptimer.js';
import { handleTrap } from './traps.js';
import { endMaintenance, flushLrs, flushNeeded, foldLrs, foldNeeded, maintenanceArmed, maintenanceRaised } from './vgic/lr-sync.js';
import type { PerCpu, Vcpu } from './vm.js';
import { loadVcpu, putVcpu } from './world-switch.js';

/**
 * Counted, not an op: the cycles this core has spent at EL2 so far (VcpuCounters.el2Cycles are
 * differences of it), from the environment's observation of the PE; simulated time without one.
 * Time asleep in WFE (a lock wait) or WFI is no EL2 work and is not counted, as in the run's EL2
 * figures.
 */
function el2Clock(h: Hypervisor, pcpu: PerCpu): number {
  const c = h.env.el2Cycles;
  return c === undefined ? h.env.now() : c(pcpu.index);
}

/** Lower-EL exception: a guest exit. */
export function* guestExit(h: Hypervisor, pcpu: PerCpu, kind: 'sync' | 'irq'): Program {
  const v = pcpu.current;
  if (v === null) {
    // An exception from EL1 with no vCPU running here cannot happen; stop this core loudly.
    yield* h.panic(pcpu, 'exit with no current vCPU');
    return;
  }
  yield savex(v.gprs);
  // Counted, not an op: when this exit's handling started (VcpuCounters.el2Cycles).
  const exitAt = el2Clock(h, pcpu);
  if (pcpu.throttleEnd !== Infinity) {
    // The storm quantum is over (or the guest exited first): device interrupts through again.
    yield msr(ICC_PMR_EL1, PMR_ALL, 9);
    pcpu.throttleEnd = Infinity;
  }
  v.elr = yield mrs(ELR_EL2, 9);
  v.spsr = yield mrs(SPSR_EL2, 9);
  v.counters.exits++;
  if (kind === 'irq') v.counters.irqExits++;
  h.stats.exits++;
  // The software of every exit besides its cause's handler (cost profile: KVM's run-loop iteration).
  if (h.cfg.bookkeeping.exit > 0) yield work(h.cfg.bookkeeping.exit);
  const env = h.env;
  // Each sub-program runs only when it has something to do (the same tests it makes first).
  const lrFile = pcpu.lrFile;
  const armed = maintenanceArmed(lrFile);
  if (armed && kind === 'irq' && (yield* maintenanceRaised(lrFile))) {
    h.stats.maintenance++;
    v.counters.maintenance++;
  }
  if (foldNeeded(v.vgic, lrFile)) yield* foldLrs(v.vgic, lrFile);
  if (armed) yield* endMaintenance(lrFile);
  // Residency on every exit and entry (HypervisorConfig.residency 'entry-exit', KVM before 5.5).
  if (h.cfg.residency === 'entry-exit') yield* h.direct.put(pcpu, v);
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-exit', vm: v.vm.index, vcpu: v.index, reason: kind });
  let stopped: boolean;
  if (kind === 'sync') {
    stopped = yield call(handleTrap(h, pcpu, v));
  } else {
    const sliceEnded: boolean = yield* handleHostIrqs(h, pcpu);
    stopped = false;
    if (sliceEnded && v.state === 'running') {
      h.makeRunnable(v);
      h.sched.event({ kind: 'slice-expired', vcpu: v.id, core: pcpu.index, at: env.now() });
      stopped = true;
    }
  }
  // Preempted (the policy chose this vCPU to make room: scheduler `preempt`, host-irq.ts).
  if (pcpu.preempt) {
    pcpu.preempt = false;
    if (!stopped && v.state === 'running') {
      h.makeRunnable(v);
      h.sched.event({ kind: 'preempted', vcpu: v.id, core: pcpu.index, by: pcpu.preemptBy, at: env.now() });
      stopped = true;
    }
  }
  // Stopped by someone else (PSCI SYSTEM_OFF from another vCPU of its VM).
  if (v.state === 'off') stopped = true;
  const exitEnd = el2Clock(h, pcpu);
  v.counters.el2Cycles += exitEnd - exitAt;
  if (!stopped) {
    if (!plainReentry(h, pcpu, v)) {
      yield call(enter(h, pcpu, v));
      return;
    }
    // `enter` written out for a re-entry with none of its sub-programs but the flush and the
    // CNTHP update (`plainReentry`): the same ops in the same order, one generator level less.
    // No op since `exitEnd`: the clock reads the same (one call of the environment's clock less).
    const enterAt = exitEnd;
    v.core = pcpu.index;
    pcpu.idle = false;
    if (flushNeeded(v.vgic, lrFile)) v.counters.lrWrites += yield* flushLrs(v.vgic, lrFile, h.listRegs);
    if (hypTimerDeadline(pcpu) !== pcpu.hypTimer) yield* programHypTimer(pcpu);
    if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-enter', vm: v.vm.index, vcpu: v.index, switched: false });
    yield msr(ELR_EL2, v.elr, 9);
    yield msr(SPSR_EL2, v.spsr, 9);
    yield restorex(v.gprs);
    v.counters.el2Cycles += el2Clock(h, pcpu) - enterAt;
    yield eret();
    return;
  }
  yield call(reschedule(h, pcpu));
}

/**
 * Whether `enter(h, pcpu, v)` right after an exit of `v` would do nothing besides its state
 * updates (already true here), the LR flush, the CNTHP update, the trace record and the return
 * sequence: `v` still loaded, running and current here, no residency change, no emulated
 * physical timer line, no new slice or storm quantum, no VPT-parse wait before entry.
 */
function plainReentry(h: Hypervisor, pcpu: PerCpu, v: Vcpu): boolean {
  // A resident vPE (`entryNeeded` false) has no deferred VPT-parse wait either: `commit` would
  // do nothing, whichever `vptParseWait`.
  return (
    pcpu.loaded === v && pcpu.current === v && v.state === 'running' && v.core === pcpu.index && !pcpu.idle &&
    !h.direct.entryNeeded(v) && !v.ptimerLine &&
    pcpu.sliceTicks <= 0 && !pcpu.storm
  );
}

/**
 * Physical interrupt taken at EL2 (the idle loop's window with IRQs unmasked). It returns with
 * IRQs masked (SPSR_EL2.I = 1), so the idle loop goes back to the scheduler instead of taking the
 * next interrupt at once: under an interrupt storm the next one is always pending, and the
 * scheduler would never run (as an interrupt return that finds work reschedules instead of
 * resuming the idle task, in Linux).
 */
export function* hostIrqAtEl2(h: Hypervisor, pcpu: PerCpu): Program {
  yield savex(pcpu.hostRegs);
  const elr: number = yield mrs(ELR_EL2, 9);
  const spsr: number = yield mrs(SPSR_EL2, 9);
  yield call(handleHostIrqs(h, pcpu));
  yield msr(ELR_EL2, elr, 9);
  yield msr(SPSR_EL2, spsr | PSR_I, 9);
  yield restorex(pcpu.hostRegs);
  yield eret();
}

/** Picks what this core runs next and enters it, idling until there is something. */
export function* reschedule(h: Hypervisor, pcpu: PerCpu): Program {
  const old = pcpu.current;
  if (old !== null && old.state === 'running') h.makeRunnable(old);
  pcpu.current = null;
  // A preemption decided for the vCPU that just left is moot: the core picks anew.
  pcpu.preempt = false;
  for (;;) {
    yield work(h.cfg.bookkeeping.schedule);
    // Idle from before the policy is asked: a vCPU made runnable for this core after the answer
    // below finds the core idle and kicks it, so the kick wakes the WFI ahead (a lost wake-up
    // otherwise: placed on no core, while this core sleeps with nothing to run).
    pcpu.idle = true;
    const d = h.sched.pick(pcpu.index);
    if (d.vcpu !== null) {
      pcpu.idle = false;
      const v = h.vcpus[d.vcpu]!;
      // The slice starts when the guest does: `enter` sets its end once the world switch and
      // the residency change are done, so a slice shorter than they are still runs the guest.
      pcpu.sliceTicks = Math.max(1, Math.round(d.slice / h.cfg.cyclesPerTick));
      yield call(enter(h, pcpu, v));
      return;
    }
    yield call(idle(h, pcpu));
  }
}

/**
 * Enters `v` on this core (world switch if another vCPU was loaded). Does not return. (A plain
 * re-entry after an exit is written out in `guestExit`: keep the two in step.)
 */
export function* enter(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  const enterAt = el2Clock(h, pcpu);
  const switching = pcpu.loaded !== v;
  if (switching) {
    if (pcpu.loaded !== null) yield call(putVcpu(h, pcpu, pcpu.loaded));
    // Another core may still be saving this vCPU (it just stopped there): wait for its put.
    while (v.loadedOn >= 0 && v.loadedOn !== pcpu.index) yield work(50);
    // Linux 5.11+ makes the vPE resident first thing in vcpu_load (vgic_v4_load) and waits for
    // the parse only before entry (`commit` below): the rest of the load overlaps the parse.
    if (h.cfg.vptParseWait !== 'at-schedule') yield call(h.direct.enter(pcpu, v));
    yield call(loadVcpu(h, pcpu, v));
    h.stats.switches++;
  }
  if (v.state === 'runnable') {
    const wait = h.env.now() - v.runnableSince;
    const st = h.stats;
    st.runQueueWait += wait;
    st.runQueueWaits++;
    if (wait > st.runQueueWaitMax) st.runQueueWaitMax = wait;
    v.counters.runQueueWaits++;
    v.counters.runQueueWaitCycles += wait;
  }
  v.state = 'running';
  v.core = pcpu.index;
  pcpu.current = v;
  pcpu.idle = false;
  if (h.direct.entryNeeded(v)) yield call(h.direct.enter(pcpu, v));
  // The emulated physical timer's line still high: its vPPI 30 pending again (ptimer.ts).
  if (v.ptimerLine) yield* ptimerResample(h, pcpu, v);
  if (flushNeeded(v.vgic, pcpu.lrFile)) v.counters.lrWrites += yield* flushLrs(v.vgic, pcpu.lrFile, h.listRegs);
  if (pcpu.sliceTicks > 0 || pcpu.storm) {
    const now: number = yield mrs(CNTPCT_EL0, 9);
    if (pcpu.sliceTicks > 0) {
      pcpu.sliceEnd = now + pcpu.sliceTicks;
      pcpu.sliceStart = now;
      pcpu.sliceTicks = 0;
    }
    if (pcpu.storm) {
      // An interrupt storm: run the guest for a quantum with device interrupts held back (see above).
      pcpu.storm = false;
      pcpu.throttleEnd = now + Math.max(1, Math.round(h.cfg.stormQuantumCycles / h.cfg.cyclesPerTick));
      h.stats.throttles++;
      yield msr(ICC_PMR_EL1, PRIO_DEVICE, 9);
    }
  }
  if (hypTimerDeadline(pcpu) !== pcpu.hypTimer) yield* programHypTimer(pcpu);
  // The last step before entry: the VPT-parse wait when it is taken here (vptParseWait 'before-entry', the default).
  if (h.cfg.vptParseWait !== 'at-schedule' && h.direct.commitNeeded(v)) yield call(h.direct.commit(pcpu, v));
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-enter', vm: v.vm.index, vcpu: v.index, switched: switching });
  yield msr(ELR_EL2, v.elr, 9);
  yield msr(SPSR_EL2, v.spsr, 9);
  yield restorex(v.gprs);
  // Counted before the ERET (its cost is charged as it executes: the last few cycles go uncounted).
  v.counters.el2Cycles += el2Clock(h, pcpu) - enterAt;
  yield eret();
}

function* idle(h: Hypervisor, pcpu: PerCpu): Program {
  if (pcpu.loaded !== null) {
    const v = pcpu.loaded;
    yield call(putVcpu(h, pcpu, v));
    if (v.state !== 'running') v.core = -1;
  }
  h.sched.event({ kind: 'core-idle', core: pcpu.index, at: h.env.now() });
  if (hypTimerDeadline(pcpu) !== pcpu.hypTimer) yield* programHypTimer(pcpu);
  yield wfi();
  yield daifclr(DAIF_I);
  yield daifset(DAIF_I);
}

/** The CNTHP deadline `programHypTimer` programs (callers skip it when CNTHP already holds it). */
function hypTimerDeadline(pcpu: PerCpu): number {
  const v = pcpu.current;
  let deadline = v !== null ? Math.min(pcpu.sliceEnd, pcpu.throttleEnd, ptimerDeadline(v)) : Infinity;
  for (const s of pcpu.sleepers) if (s.timerDeadline < deadline) deadline = s.timerDeadline;
  return deadline;
}

/**
 * Programs CNTHP for the earliest of: the slice end, the storm quantum's and the emulated physical
 * timer's (ptimer.ts) of the running vCPU, and blocked vCPUs' timers.
 */
function* programHypTimer(pcpu: PerCpu): Program {
  const deadline = hypTimerDeadline(pcpu);
  if (deadline === pcpu.hypTimer) return;
  pcpu.hypTimer = deadline;
  if (deadline === Infinity) {
    yield msr(CNTHP_CTL_EL2, 0, 9);
    return;
  }
  yield msr(CNTHP_CVAL_EL2, deadline, 9);
  yield msr(CNTHP_CTL_EL2, 1, 9);
}
