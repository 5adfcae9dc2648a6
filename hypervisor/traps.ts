/**
 * Synchronous exits from a guest, by exception class (ESR_EL2.EC; Arm ARM DDI 0487, ESR_EL2):
 * - HVC: PSCI (CPU_ON, CPU_OFF, AFFINITY_INFO, SYSTEM_OFF, VERSION, FEATURES), the yield call,
 *   anything else SMCCC NOT_SUPPORTED (-1 in x0). SMC trapped by HCR_EL2.TSC: the same, with
 *   ELR advanced past the SMC; an SMC with a nonzero immediate gets NOT_SUPPORTED (as KVM).
 * - WFI (HCR_EL2.TWI): ELR + 4; the vCPU blocks unless an interrupt is already deliverable to
 *   it (list-register interrupts, directly injected vLPIs, or its timer condition).
 * - MSR/MRS trap: ICC_SGI1R_EL1 writes become virtual SGIs; ICC_DIR_EL1 writes (trapped by
 *   ICH_HCR_EL2.TDIR while active interrupts wait outside the list registers, vgic/lr-sync.ts)
 *   are emulated: ELR + 4; so are CNTP_CTL/CVAL/TVAL_EL0 (CNTHCTL_EL2.EL1PCEN = 0: the emulated
 *   physical timer, ptimer.ts); other trapped registers are UNDEFINED for the guest.
 * - Data abort from stage 2 (ISV = 1) on the emulated GIC (its ITS included): emulated, ELR + 4. Anywhere else:
 *   a synchronous external abort injected into the guest, as hardware would raise for an
 *   access nothing decodes.
 * - Anything else: an UNDEFINED exception injected into the guest.
 * Returns true when the vCPU stopped running here (blocked, off, yielded).
 */
import { toBig, toNum } from '../core/bits.js';
import { EC, ESR, esrOf, FSC, ISS_DABT, ISS_IMM16, ISS_SYS64 } from '../core/esr.js';
import { call, mrs, msr, work, type Program } from '../core/ops.js';
import type { RegisterBlock } from '../core/regions.js';
import { PSCI, PSCI_RET, PSCI_VERSION_1_0 } from '../core/psci.js';
import { MODE, PSR_DAIF, PSR_NZCV } from '../core/pstate.js';
import { ESR_EL1, ESR_EL2, ELR_EL1, FAR_EL1, FAR_EL2, HPFAR_EL2, SPSR_EL1, VBAR_EL1 } from '../core/sysregs.js';
import { CNTV_CTL_EL0, CNTV_CVAL_EL0, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS } from '../core/timer.js';
import { ICC_SGIR } from '../gic/gic-registers.js';
import { ICH_VMCR } from '../gic/ich-registers.js';
import { ICC_DIR_EL1, ICC_SGI1R_EL1, ICH_VMCR_EL2 } from '../gic/sysregs.js';
import { deliver, kick, placeRunnable } from './host-irq.js';
import type { Hypervisor } from './hypervisor.js';
import { GUEST_GICD, GUEST_GICR, GUEST_GICR_STRIDE, GUEST_GITS, GUEST_GITS_SIZE, HVC_SET_AFFINITY, HVC_YIELD, SMCCC_NOT_SUPPORTED } from './layout.js';
import { ptimerAccess, ptimerDeadline, ptimerPoll, ptimerPollNeeded, ptimerResample } from './ptimer.js';
import { retarget } from './retarget.js';
import { readGuestLpis } from './vgic/guest-lpis.js';
import { foldLine } from './vgic/spi.js';
import type { PerCpu, Vcpu } from './vm.js';

export function* handleTrap(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program<boolean> {
  const esr: number = yield mrs(ESR_EL2, 9);
  const ec = ESR.get(esr, 'EC');
  const iss = ESR.get(esr, 'ISS');
  h.stats.exitsByEc[ec] = (h.stats.exitsByEc[ec] ?? 0) + 1;
  v.counters.exitsByEc[ec]!++;
  switch (ec) {
    case EC.HVC64:
      return yield* hypercall(h, pcpu, v);
    case EC.SMC64:
      v.elr += 4;
      // SMCCC (DEN0028 2.9): a nonzero SMC immediate is reserved; KVM's handle_smc answers
      // NOT_SUPPORTED without looking at the function ID.
      if (ISS_IMM16.get(iss, 'imm16') !== 0) {
        v.gprs[0] = SMCCC_NOT_SUPPORTED;
        return false;
      }
      return yield* hypercall(h, pcpu, v);
    case EC.WFX:
      v.elr += 4;
      return yield call(wfiTrap(h, pcpu, v));
    case EC.SYS64:
      yield* sysregTrap(h, pcpu, v, iss);
      return false;
    case EC.DABT_LOW:
      yield* dataAbort(h, pcpu, v, iss);
      return false;
    case EC.IABT_LOW: {
      const far: number = yield mrs(FAR_EL2, 9);
      yield* injectSync(h, pcpu, v, EC.IABT_CUR, FSC.SYNC_EXTERNAL, far);
      return false;
    }
    default:
      yield* injectSync(h, pcpu, v, EC.UNKNOWN, 0, -1);
      return false;
  }
}

function* hypercall(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program<boolean> {
  yield work(h.cfg.bookkeeping.hypercall);
  const fn = toNum(v.gprs[0]!) >>> 0;
  let ret = SMCCC_NOT_SUPPORTED;
  let stopped = false;
  switch (fn) {
    case PSCI.VERSION:
      ret = PSCI_VERSION_1_0;
      break;
    case PSCI.FEATURES: {
      const q = toNum(v.gprs[1]!) >>> 0;
      ret = [PSCI.VERSION, PSCI.CPU_ON, PSCI.CPU_OFF, PSCI.AFFINITY_INFO, PSCI.SYSTEM_OFF, PSCI.FEATURES].includes(q as never) ? 0 : PSCI_RET.NOT_SUPPORTED;
      break;
    }
    case PSCI.CPU_ON:
      ret = yield* cpuOn(h, pcpu, v);
      break;
    case PSCI.AFFINITY_INFO: {
      const t = v.vm.vcpuByAffinity(toNum(v.gprs[1]!) % 2 ** 24);
      ret = t === undefined ? PSCI_RET.INVALID_PARAMETERS : t.state === 'off' ? 1 : 0;
      break;
    }
    case PSCI.CPU_OFF:
      stopVcpu(h, v);
      stopped = true;
      break;
    case PSCI.SYSTEM_OFF:
      for (const other of v.vm.vcpus) {
        // Running vCPUs on other cores notice at their next exit (state 'off').
        if (other !== v && other.state !== 'off') {
          const core = other.core;
          stopVcpu(h, other);
          if (core >= 0 && core !== pcpu.index) yield* kick(h, pcpu, core, other);
        }
      }
      v.vm.stopped = true;
      stopVcpu(h, v);
      stopped = true;
      break;
    case HVC_SET_AFFINITY: {
      const target = v.vm.vcpuByAffinity(toNum(v.gprs[2]!) % 2 ** 24);
      ret = target === undefined ? PSCI_RET.INVALID_PARAMETERS : yield* retarget(h, pcpu, v.vm, toNum(v.gprs[1]!), target);
      break;
    }
    case HVC_YIELD:
      ret = 0;
      h.sched.event({ kind: 'yielded', vcpu: v.id, core: pcpu.index, at: h.env.now() });
      h.makeRunnable(v);
      stopped = true;
      break;
  }
  if (!stopped || fn === HVC_YIELD) v.gprs[0] = ret;
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'hypercall', vm: v.vm.index, vcpu: v.index, fn, ret });
  return stopped;
}

/** `v` is off (PSCI CPU_OFF, or SYSTEM_OFF of its VM): it no longer waits for its timer anywhere. */
function stopVcpu(h: Hypervisor, v: Vcpu): void {
  v.state = 'off';
  v.timerDeadline = Infinity;
  for (const p of h.pcpus) p.sleepers.delete(v);
  h.sched.event({ kind: 'off', vcpu: v.id, at: h.env.now() });
}

/** PSCI CPU_ON for a vCPU of the same VM: it starts at x2 with x0 = x3, EL1h, DAIF masked. */
function* cpuOn(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program<number> {
  const target = v.vm.vcpuByAffinity(toNum(v.gprs[1]!) % 2 ** 24);
  if (target === undefined) return PSCI_RET.INVALID_PARAMETERS;
  if (target.state !== 'off') return PSCI_RET.ALREADY_ON;
  target.gprs.fill(0);
  target.gprs[0] = v.gprs[3]!;
  target.elr = toNum(v.gprs[2]!);
  target.spsr = MODE.EL1h | PSR_DAIF;
  h.makeRunnable(target);
  h.sched.event({ kind: 'runnable', vcpu: target.id, at: h.env.now() });
  yield* placeRunnable(h, pcpu, target);
  return PSCI_RET.SUCCESS;
}

function* wfiTrap(h: Hypervisor, pcpu: PerCpu, v: Vcpu): Program<boolean> {
  if (v.vgic.hasDeliverable()) {
    h.stats.wfiNoBlock++;
    return false;
  }
  // kvm_vcpu_check_block: a timer that has fired but is not forwarded yet must not be lost.
  const ctl: number = yield mrs(CNTV_CTL_EL0, 9);
  if ((ctl & (CTL_ENABLE | CTL_IMASK | CTL_ISTATUS)) === (CTL_ENABLE | CTL_ISTATUS)) {
    h.stats.wfiNoBlock++;
    return false;
  }
  // The emulated physical timer (ptimer.ts) likewise: due now, its vPPI 30 is made pending here.
  const line = ptimerPollNeeded(v) ? ((yield* ptimerPoll(h, pcpu, v)) as boolean) : v.ptimerLine;
  if (line) {
    yield* ptimerResample(h, pcpu, v);
    if (v.vgic.hasDeliverable()) {
      h.stats.wfiNoBlock++;
      return false;
    }
  }
  // Direct injection: the vPE leaves the core with its doorbell armed; PendingLast = 1 means a
  // vLPI is already pending for it, so it must not block.
  if (h.direct.handles(v) && ((yield call(h.direct.block(pcpu, v))) as boolean)) {
    h.stats.wfiNoBlock++;
    return false;
  }
  let deadline = Infinity;
  if ((ctl & (CTL_ENABLE | CTL_IMASK)) === CTL_ENABLE) {
    const cval: number = yield mrs(CNTV_CVAL_EL0, 9);
    deadline = cval + v.vm.cntvoff;
  }
  deadline = Math.min(deadline, ptimerDeadline(v));
  // The last look and the state change in one step, with no op between them: an interrupt
  // injected from another core before it is seen here; one injected after it finds the vCPU
  // blocked and wakes it; a doorbell that rang meanwhile (it is one-shot) keeps it from blocking.
  if (v.vgic.hasDeliverable() || h.direct.rang(v)) {
    h.stats.wfiNoBlock++;
    return false;
  }
  if (deadline !== Infinity) {
    v.timerDeadline = deadline;
    pcpu.sleepers.add(v);
  }
  v.state = 'blocked';
  v.counters.blocks++;
  h.sched.event({ kind: 'blocked', vcpu: v.id, core: pcpu.index, at: h.env.now() });
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vcpu-block', vm: v.vm.index, vcpu: v.index });
  return true;
}

/** MSR/MRS traps: the guest's SGI generation (ICC_SGI1R_EL1) and ICC_DIR_EL1 writes are emulated; the rest is UNDEFINED. */
function* sysregTrap(h: Hypervisor, pcpu: PerCpu, v: Vcpu, iss: number): Program {
  const s = ISS_SYS64.decode(iss);
  const r = ICC_SGI1R_EL1;
  if (s.Direction === 0 && s.Op0 === r.op0 && s.Op1 === r.op1 && s.CRn === r.crn && s.CRm === r.crm && s.Op2 === r.op2) {
    yield* guestSgi(h, pcpu, v, toBig(s.Rt === 31 ? 0 : v.gprs[s.Rt]!));
    v.elr += 4;
    return;
  }
  const d = ICC_DIR_EL1;
  if (s.Direction === 0 && s.Op0 === d.op0 && s.Op1 === d.op1 && s.CRn === d.crn && s.CRm === d.crm && s.Op2 === d.op2) {
    yield* guestDir(h, v, s.Rt === 31 ? 0 : toNum(v.gprs[s.Rt]!) % 2 ** 24);
    v.elr += 4;
    return;
  }
  // CNTP_CTL/CVAL/TVAL_EL0, trapped by CNTHCTL_EL2.EL1PCEN = 0: the emulated physical timer.
  if (yield* ptimerAccess(h, pcpu, v, s)) return;
  yield* injectSync(h, pcpu, v, EC.UNKNOWN, 0, -1);
}

/**
 * A guest's ICV_DIR_EL1 write trapped by ICH_HCR_EL2.TDIR (KVM's vgic_v3_deactivate), emulated on
 * the state the exit's fold left in the hypervisor's memory, so it does not matter whether the
 * interrupt was in a list register or outside them (IHI 0069, ICV_DIR_EL1):
 * - EOImode 0 (ICH_VMCR_EL2.VEOIM, read back now: the guest sets it without an exit): ignored;
 * - LPIs and the special and reserved INTIDs 1020-8191: no effect;
 * - an SGI or PPI of this vCPU that is active: deactivated (HW = 1, the virtual timer: the
 *   physical INTID too, with ICC_DIR_EL1 at EL2, the host running EOImode 1); not active: no effect.
 * The next entry's flush presents what the deactivation let through.
 */
function* guestDir(h: Hypervisor, v: Vcpu, intid: number): Program {
  yield work(h.cfg.bookkeeping.inject);
  const vmcr: number = yield mrs(ICH_VMCR_EL2, 9);
  v.vgic.dirTraps++;
  if (ICH_VMCR.get(vmcr, 'VEOIM') === 0) return;
  // INTIDs 32-1019: the VM's vSPIs (vgic/spi.ts; one it does not have: no effect).
  const irq = intid < 32 ? v.vgic.private[intid]! : h.spiHost.vms[v.vm.index]!.irq(intid);
  if (irq === undefined || !irq.active) return;
  irq.active = false;
  // A level-sensitive vSPI or host-driven PPI is resampled: pending again if its line is high.
  if (irq.line !== null) foldLine(irq, 0);
  v.vgic.touched();
  if (irq.hw) yield msr(ICC_DIR_EL1, irq.pintid, 9);
}

/** A guest's ICC_SGI1R_EL1 write: the SGI is made pending on each target vCPU of its VM. */
function* guestSgi(h: Hypervisor, pcpu: PerCpu, v: Vcpu, value: bigint): Program {
  const f = ICC_SGIR.decode(value);
  const targets: Vcpu[] = [];
  if (f.IRM === 1) {
    for (const o of v.vm.vcpus) if (o !== v) targets.push(o);
  } else if (f.Aff3 === 0) {
    // IRM = 0: the targets are Aff3.Aff2.Aff1.<RS * 16 + n> for each TargetList bit n
    // (IHI 0069, ICC_SGI1R_EL1.RS); no vCPU has Aff3 != 0 or Aff0 >= 16.
    const cluster = f.Aff1 * 256 + f.Aff2 * 65536;
    for (let n = 0; n < 16; n++) {
      if (((f.TargetList >>> n) & 1) === 0) continue;
      const t = v.vm.vcpuByAffinity(cluster + f.RS * 16 + n);
      if (t !== undefined) targets.push(t);
    }
  }
  h.stats.guestSgis++;
  for (const t of targets) {
    yield work(h.cfg.bookkeeping.inject);
    if (t.state === 'off') continue;
    // GICv4.1 direct vSGIs (direct-vsgi.ts): a GITS_SGIR write; the GIC delivers it.
    if (t.vgic.hwSgis) {
      yield* h.direct.sendVsgi(t, f.INTID);
      continue;
    }
    if (t.vgic.setPending(t.vgic.private[f.INTID]!)) yield* deliver(h, pcpu, t);
  }
}

function* dataAbort(h: Hypervisor, pcpu: PerCpu, v: Vcpu, iss: number): Program {
  const d = ISS_DABT.decode(iss);
  const far: number = yield mrs(FAR_EL2, 9);
  const hpfar: number = yield mrs(HPFAR_EL2, 9);
  const ipa = (hpfar - (hpfar % 16)) * 256 + (far % 4096);
  const target = emulated(h, v, ipa);
  if (d.ISV === 0 || target === null) {
    yield* injectSync(h, pcpu, v, EC.DABT_CUR, FSC.SYNC_EXTERNAL, far, d.WnR === 1);
    return;
  }
  yield work(h.cfg.bookkeeping.mmioEmulation);
  const size = 1 << d.SAS;
  const attrs = pcpu.attrs;
  let value = 0;
  if (d.WnR === 1) {
    const raw = d.SRT === 31 ? 0 : v.gprs[d.SRT]!;
    const masked = size === 8 ? toBig(raw) : toNum(raw) % 2 ** (8 * size);
    target.block.write(target.offset, size, masked, attrs);
    value = toNum(masked);
  } else {
    const r = target.block.read(target.offset, size, attrs);
    if (d.SRT !== 31) v.gprs[d.SRT] = r;
    value = toNum(r);
  }
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'hyp-mmio', vm: v.vm.index, vcpu: v.index, ipa, write: d.WnR === 1, value });
  // Accesses that make the hypervisor read the guest's LPI tables.
  while (pcpu.lpiActions.length > 0) {
    const act = pcpu.lpiActions.shift()!;
    const deliverable: boolean = h.direct.handles(act.vcpu) || act.kind === 'vsgi' ? yield* h.direct.mirror(act) : yield* readGuestLpis(act);
    if (deliverable) yield* deliver(h, pcpu, act.vcpu);
  }
  // Accesses to the VM's SPIs: host distributor writes for HW = 1 vSPIs, vCPUs to tell (spi-host.ts).
  if (h.spiHost.actions(pcpu.index).length > 0) yield* h.spiHost.runActions(pcpu);
  // Commands the write queued in the VM's emulated ITS, processed now (vits/commands.ts).
  if (d.WnR === 1) yield* h.afterGuestWrite(pcpu, v);
  // Enabling, making pending or activating an SGI/PPI may have made something deliverable.
  for (const o of v.vm.vcpus) if (o !== v && o.state !== 'off' && o.vgic.hasDeliverable()) yield* deliver(h, pcpu, o);
  v.elr += 4;
}

function emulated(h: Hypervisor, v: Vcpu, ipa: number): { block: RegisterBlock; offset: number } | null {
  const vm = v.vm;
  if (ipa >= GUEST_GICD && ipa < GUEST_GICD + 0x10000) return { block: h.vgicd[vm.index]!, offset: ipa - GUEST_GICD };
  const rel = ipa - GUEST_GICR;
  if (rel >= 0 && rel < GUEST_GICR_STRIDE * vm.vcpus.length) {
    const i = Math.floor(rel / GUEST_GICR_STRIDE);
    return { block: h.vgicr[vm.index]![i]!, offset: rel % GUEST_GICR_STRIDE };
  }
  if (ipa >= GUEST_GITS && ipa < GUEST_GITS + GUEST_GITS_SIZE) return { block: h.vits[vm.index]!.block, offset: ipa - GUEST_GITS };
  return null;
}

/**
 * Injects a synchronous exception into the guest at EL1, as hardware would have taken it
 * (KVM's enter_exception64): ESR_EL1, FAR_EL1, ELR_EL1 <- the faulting PC, SPSR_EL1 <- the
 * guest's PSTATE, and the guest resumes at its VBAR_EL1 vector with DAIF masked.
 */
export function* injectSync(h: Hypervisor, pcpu: PerCpu, v: Vcpu, ec: number, iss: number, far: number, write = false): Program {
  const fromEl = (v.spsr >>> 2) & 3;
  const cls = ec === EC.DABT_CUR || ec === EC.IABT_CUR ? (fromEl === 0 ? ec - 1 : ec) : ec;
  const fullIss = cls === EC.DABT_CUR || cls === EC.DABT_LOW ? ISS_DABT.encode({ DFSC: iss, WnR: write ? 1 : 0 }) : iss;
  const vbar: number = yield mrs(VBAR_EL1, 9);
  yield msr(ESR_EL1, esrOf(cls, fullIss), 9);
  if (far >= 0) yield msr(FAR_EL1, far, 9);
  yield msr(ELR_EL1, v.elr, 9);
  yield msr(SPSR_EL1, v.spsr, 9);
  const offset = fromEl === 0 ? 0x400 : (v.spsr & 1) === 1 ? 0x200 : 0x000;
  v.elr = vbar + offset;
  // Exception entry leaves PSTATE.NZCV as it was (KVM's enter_exception64 copies it too).
  v.spsr = ((v.spsr & PSR_NZCV) >>> 0) + (MODE.EL1h | PSR_DAIF);
  h.stats.guestExceptions++;
  const env = h.env;
  if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'guest-exception', vm: v.vm.index, vcpu: v.index, ec: cls, far });
}
