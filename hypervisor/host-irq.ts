/**
 * Physical interrupts taken at EL2, and what the hypervisor does with them: acknowledge
 * (ICC_IAR1_EL1), priority drop (ICC_EOIR1_EL1; EOImode = 1), then
 * - an LPI of an assigned device: make the guest LPI pending on its vCPU (injected path) and
 *   get it delivered: nothing more if the vCPU runs here (the flush before entry writes the
 *   LR), a kick SGI to the core running it, or a wake-up if it is blocked;
 * - the virtual timer PPI 27: forward it to the loaded vCPU as an HW = 1 virtual interrupt,
 *   left active so that the guest's deactivation deactivates it;
 * - the EL2 timer PPI 26: end of slice, the deadline of the running vCPU's emulated physical
 *   timer (ptimer.ts), and wake-ups of blocked vCPUs whose timer expired;
 * - the maintenance PPI 25 and the kick SGI 0: nothing to do beyond deactivating them (the
 *   exit itself makes the LRs refilled and the pending work visible);
 * - an SPI (spi-host.ts): a wired device's line, forwarded to its VM's vSPI with HW = 1 and left
 *   active for the guest's deactivation; the VMM's request doorbell (requests.ts); else spurious.
 */
import { call, mrs, msr, work, type Program } from '../core/ops.js';
import { CNTHP_CTL_EL2, CNTPCT_EL0 } from '../core/timer.js';
import { INTID_SPECIAL, INTID_SPURIOUS } from '../gic/gic-registers.js';
import { ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../gic/sysregs.js';
import { FIRST_LPI } from './config.js';
import { kickCore } from './host-gic.js';
import type { Hypervisor } from './hypervisor.js';
import { PPI_HYP_TIMER, PPI_VTIMER, SGI_KICK } from './layout.js';
import { ptimerDeadline, ptimerEval } from './ptimer.js';
import type { WakeReason } from './sched/policy.js';
import { FIRST_SPI } from './vgic/spi.js';
import type { VIrq } from './vgic/virq.js';
import type { PerCpu, Vcpu } from './vm.js';

/** Host interrupts one exit handles at most; reaching the bound with more pending is a storm (run-loop.ts). */
export const HOST_IRQ_BURST = 16;

/**
 * Handles the pending physical interrupts, at most HOST_IRQ_BURST of them. Returns true when the
 * current vCPU's slice ended; sets `pcpu.storm` when the bound was reached with more pending.
 */
export function* handleHostIrqs(h: Hypervisor, pcpu: PerCpu): Program<boolean> {
  let sliceEnded = false;
  pcpu.storm = false;
  let i = 0;
  for (; i < HOST_IRQ_BURST; i++) {
    const iar: number = yield mrs(ICC_IAR1_EL1, 9);
    const intid = iar & 0xffffff;
    if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) break;
    yield msr(ICC_EOIR1_EL1, intid, 9);
    h.stats.hostIrqs++;
    if (pcpu.current !== null) pcpu.current.counters.hostIrqs++;
    if (intid >= FIRST_LPI) {
      // hostLpi, written out (one sub-program level less for every op of the injection)
      const route = h.lpiRoute[intid - FIRST_LPI];
      if (route === undefined) h.stats.spuriousLpis++;
      else if (route.kind === 'guest') {
        // inject, written out (one sub-program level and one generator less per injection)
        yield work(h.cfg.bookkeeping.inject);
        if (markPending(h, pcpu, route.vcpu, route.virq, intid)) yield* deliver(h, pcpu, route.vcpu);
      }
      else yield call(h.doorbell(pcpu, route.vcpu));
      continue;
    }
    if (intid >= FIRST_SPI && intid < INTID_SPECIAL) {
      // An SPI: a wired device's line forwarded with HW = 1 (left active), or the VMM's request doorbell.
      yield* h.spiHost.hostSpi(pcpu, intid);
      continue;
    }
    if (intid === PPI_VTIMER) {
      // Stays active: the guest's EOI/DIR of the HW = 1 LR deactivates it.
      const v = pcpu.loaded;
      if (v !== null) yield* inject(h, pcpu, v, v.vtimer, PPI_VTIMER);
      else yield msr(ICC_DIR_EL1, intid, 9);
      continue;
    }
    if (intid === PPI_HYP_TIMER) sliceEnded = (yield* hypTimerFired(h, pcpu)) || sliceEnded;
    else if (intid === SGI_KICK) h.stats.kicksReceived++;
    yield msr(ICC_DIR_EL1, intid, 9);
  }
  if (i === HOST_IRQ_BURST) pcpu.storm = true;
  // vSPIs whose GICD_IROUTER changed and that could not move then (spi-host.ts): this core's
  // vCPU has been folded, so those it held may move now.
  if (h.spiHost.moves > 0) yield* h.spiHost.settle(pcpu);
  return sliceEnded;
}

/** Makes `virq` pending on `v` and gets it delivered (kick or wake-up as needed). */
export function* inject(h: Hypervisor, pcpu: PerCpu, v: Vcpu, virq: VIrq, source: number): Program {
  yield work(h.cfg.bookkeeping.inject);
  if (markPending(h, pcpu, v, virq, source)) yield* deliver(h, pcpu, v);
}

/**
 * What `inject` does after its bookkeeping op, besides delivering (no ops): makes `virq` pending on
 * `v` and returns whether `deliver` has something to do (a kick or a wake-up).
 */
function markPending(h: Hypervisor, pcpu: PerCpu, v: Vcpu, virq: VIrq, source: number): boolean {
  const env = h.env;
  if (virq.intid >= FIRST_LPI && !v.vgic.enableLpis) {
    // The guest's redistributor has LPIs disabled: the interrupt is dropped.
    h.stats.droppedLpis++;
    return false;
  }
  // An edge on an interrupt still pending merges with it (LPIs are edge-triggered).
  if (virq.pending || virq.repend) h.stats.coalesced++;
  const fresh = v.vgic.setPending(virq);
  h.stats.injected++;
  v.counters.injected++;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'virq-inject', vm: v.vm.index, vcpu: v.index, vintid: virq.intid, source });
  return fresh && deliveryNeeded(pcpu, v);
}

/** Whether `deliver` has anything to do for `v` (a kick or a wake-up); callers skip it otherwise. */
export function deliveryNeeded(pcpu: PerCpu, v: Vcpu): boolean {
  return (v.state === 'running' && v.core !== pcpu.index && v.core >= 0) || v.state === 'blocked';
}

/** Something new is deliverable to `v`: make sure it will see it. */
export function* deliver(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  if (v.state === 'running' && v.core !== pcpu.index && v.core >= 0) yield* kick(h, pcpu, v.core, v);
  else if (v.state === 'blocked') yield* wake(h, pcpu, v, 'interrupt');
}

export function* kick(h: Hypervisor, pcpu: PerCpu, core: number, v: Vcpu | null): Program {
  h.stats.kicksSent++;
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'hyp-kick', target: core, vcpu: v?.id ?? -1 });
  yield* kickCore(core);
}

/** A blocked vCPU becomes runnable; an idle core the policy chooses is kicked to run it. */
export function* wake(h: Hypervisor, pcpu: PerCpu, v: Vcpu, reason: WakeReason): Program {
  if (v.state !== 'blocked') return;
  h.makeRunnable(v);
  v.timerDeadline = Infinity;
  // Indexed, not for-of: no array iterator allocated in this generator per wake-up.
  const pcpus = h.pcpus;
  for (let i = 0; i < pcpus.length; i++) pcpus[i]!.sleepers.delete(v);
  h.sched.event({ kind: 'woken', vcpu: v.id, reason, at: h.env.now() });
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-wake', vm: v.vm.index, vcpu: v.index, reason });
  yield* placeRunnable(h, pcpu, v);
}

/**
 * Kicks the idle core the policy picks for a newly runnable vCPU (unless it is this one); with no
 * idle core taken, asks the policy whether it preempts a running vCPU, and kicks that core (its
 * vCPU leaves at the exit the kick causes: run-loop.ts).
 */
export function* placeRunnable(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program {
  const idle = h.idleCores();
  const target = h.sched.place(v.id, idle);
  if (target !== null) {
    // The core is claimed until it asks the policy again (its reschedule loop sets `idle` anew
    // before it picks): the next vCPU made runnable before then goes to another idle core. Left
    // idle, every placement of a burst (the boot's first vCPUs, a wake-up storm) chose the same
    // core, and the other idle cores slept on while vCPUs waited (wfi-native: half the cores).
    h.pcpus[target]!.idle = false;
    if (target !== pcpu.index) yield* kick(h, pcpu, target, v);
    return;
  }
  if (h.sched.policy.preempt === undefined) return;
  const core = h.sched.preempt(v.id, h.runningVcpus(), pcpu.index);
  if (core === null) return;
  const p = h.pcpus[core]!;
  p.preempt = true;
  p.preemptBy = v.id;
  if (core !== pcpu.index) yield* kick(h, pcpu, core, v);
}

/**
 * The EL2 timer fired: slice end for the current vCPU, its emulated physical timer's deadline
 * (ptimer.ts: the line rises, the entry makes vPPI 30 pending), and expired timers of blocked vCPUs.
 */
function* hypTimerFired(h: Hypervisor, pcpu: PerCpu): Program<boolean> {
  const now: number = yield mrs(CNTPCT_EL0, 9);
  // The timer output is a level: switch it off; the next entry or idle reprograms it.
  yield msr(CNTHP_CTL_EL2, 0, 9);
  pcpu.hypTimer = Infinity;
  if (now >= pcpu.throttleEnd) pcpu.throttleEnd = Infinity;
  const cur = pcpu.current;
  if (cur !== null && ptimerDeadline(cur) <= now) ptimerEval(h, pcpu, cur, now);
  for (const v of [...pcpu.sleepers]) {
    if (v.timerDeadline > now) continue;
    // Its timer is due: it leaves the sleepers whether or not it still waits (a level timer
    // left armed for a vCPU no longer blocked would fire again at once, forever).
    pcpu.sleepers.delete(v);
    yield* wake(h, pcpu, v, 'timer');
  }
  return pcpu.current !== null && now >= pcpu.sliceEnd;
}
