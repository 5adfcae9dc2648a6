/**
 * The hypervisor's records of VMs and vCPUs (its own memory): the saved context of each vCPU
 * (general registers, EL2 return state, EL1 system registers, timer, virtual GIC), its
 * scheduling state, and each VM's stage-2 context and emulated distributor.
 */
import type { Word } from '../core/bits.js';
import type { AccessAttrs } from '../core/bus.js';
import { MODE, PSR_DAIF } from '../core/pstate.js';
import { EL1_CONTEXT, SCTLR_EL1 } from '../core/sysregs.js';
import { TIMER_PHYS, TIMER_PPI } from '../core/timer.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { sumCounters, VcpuCounters } from './counters.js';
import type { VmConfig } from './config.js';
import { VcpuVgic } from './vgic/vcpu-vgic.js';
import type { GuestLpiAction } from './vgic/emul-regs.js';
import type { VIrq } from './vgic/virq.js';
import { PPI_VTIMER } from './layout.js';

export type VcpuState = 'off' | 'runnable' | 'running' | 'blocked';

export class Vcpu {
  readonly gprs: Word[] = new Array<Word>(31).fill(0);
  elr = 0;
  spsr = MODE.EL1h | PSR_DAIF;
  readonly el1: Word[] = EL1_CONTEXT.map((r) => (r === SCTLR_EL1 ? 0x30d00800 : 0));
  timerCtl = 0;
  timerCval = 0;
  /** The physical virtual-timer PPI was active (forwarded, not yet deactivated) when put. */
  timerActive = false;
  state: VcpuState = 'off';
  /** Core running it, or -1. */
  core = -1;
  /** Core whose hardware holds its EL1/timer/vGIC state (loaded), or -1. */
  loadedOn = -1;
  readonly vgic: VcpuVgic;
  readonly vtimer: VIrq;
  /** Counter value at which its virtual or physical timer fires while it is blocked (Infinity: none). */
  timerDeadline = Infinity;
  /**
   * Its emulated EL1 physical timer (hypervisor/ptimer.ts): CNTP_CTL_EL0.ENABLE and IMASK as the
   * guest wrote them, CNTP_CVAL_EL0, the timer's output level as last evaluated, and vPPI 30.
   */
  ptimerCtl = 0;
  ptimerCval = 0;
  ptimerLine = false;
  readonly ptimerIrq: VIrq;
  /** What it cost the hypervisor (counters.ts). */
  readonly counters = new VcpuCounters();
  /** Simulated time it last became runnable (statistics only). */
  runnableSince = 0;

  constructor(
    readonly vm: Vm,
    readonly index: number,
    /** Global vCPU number (the scheduler's id). */
    readonly id: number,
    listRegs: number,
    aprs: number,
  ) {
    this.vgic = new VcpuVgic(listRegs, aprs);
    this.vtimer = this.vgic.private[PPI_VTIMER]!;
    this.vtimer.hw = true;
    this.vtimer.pintid = PPI_VTIMER;
    this.ptimerIrq = this.vgic.private[TIMER_PPI[TIMER_PHYS]]!;
  }

  /** MPIDR the guest sees (VMPIDR_EL2): RES1 bit 31, and the affinity of CPU `index` as the platform numbers CPUs. */
  get mpidr(): number {
    return 0x80000000 + this.affinity;
  }

  /** Aff1 = index / 16, Aff0 = index % 16 (drivers/affinity.ts `cpuAffinity`). */
  get affinity(): number {
    return cpuAffinity(this.index);
  }

  toString(): string {
    return `${this.vm.config.name}.vcpu${this.index}`;
  }
}

export class Vm {
  readonly vcpus: Vcpu[] = [];
  /** Stage-2 level-1 table. */
  s2root = 0;
  /** VTTBR_EL2 value (VMID and table base). */
  vttbr = 0n;
  /** HCR_EL2 while its vCPUs run. */
  hcr = 0;
  cntvoff = 0;
  /** Emulated GICD_CTLR.EnableGrp1. */
  distEnabled = false;
  /** GICv4.1 direct-v41 VM: GICD_TYPER2.nASSGIcap = 1 (hypervisor/direct-vsgi.ts). */
  vsgiCap = false;
  /** Emulated GICD_CTLR.nASSGIreq: the VM's SGIs are direct vSGIs. */
  nassgi = false;
  stopped = false;

  constructor(
    readonly index: number,
    readonly config: VmConfig,
    readonly vmid: number,
  ) {}

  /** PA backing guest IPA `ipa` in RAM, or -1. */
  ramPa(ipa: number): number {
    const c = this.config;
    return ipa >= c.ramIpa && ipa < c.ramIpa + c.ramSize ? c.ramPa + (ipa - c.ramIpa) : -1;
  }

  vcpuByAffinity(aff: number): Vcpu | undefined {
    return this.vcpus.find((v) => v.affinity === aff);
  }

  /** What the VM cost the hypervisor: its vCPUs' counters summed. */
  counters(): VcpuCounters {
    return sumCounters(this.vcpus.map((v) => v.counters));
  }
}

/** What the hypervisor knows about one physical core. */
export class PerCpu {
  /** The vCPU this core runs (or is about to enter), or null. */
  current: Vcpu | null = null;
  /** The vCPU whose state is in this core's registers, or null. */
  loaded: Vcpu | null = null;
  /** In the idle loop. */
  idle = false;
  /** Counter value at which the current slice ends. */
  sliceEnd = Infinity;
  /** Length of a slice the scheduler just granted, in counter ticks, until `enter` starts it (0: none pending). */
  sliceTicks = 0;
  /** Counter value at which the current slice began. */
  sliceStart = 0;
  /** The policy chose the running vCPU to be preempted: it leaves at its next exit (the kick's). */
  preempt = false;
  /** The vCPU it is preempted for. */
  preemptBy = -1;
  /** The last host-interrupt handling reached its bound with more pending: an interrupt storm (run-loop.ts). */
  storm = false;
  /** Device interrupts are held back by ICC_PMR_EL1 while the guest runs, until this counter value (Infinity: not). */
  throttleEnd = Infinity;
  /** Counter value CNTHP_CVAL_EL2 holds (Infinity: timer off). */
  hypTimer = Infinity;
  /** Scratch register file for interrupts taken at EL2 (idle loop). */
  readonly hostRegs: Word[] = new Array<Word>(31).fill(0);
  /** vCPUs blocked on this core with an armed virtual timer. */
  readonly sleepers = new Set<Vcpu>();
  /** The list registers of this core, as last written. */
  readonly lrFile = { dirty: 0, hcr: -1 };
  /** Bus attributes of this core's accesses to emulated devices. */
  readonly attrs: AccessAttrs;
  /** Physical address of this core's redistributor (RD_base), found at boot. */
  rd = -1;
  /** Guest-table reads this core's trapped accesses left, carried out before the guest resumes (vgic/emul-regs.ts). */
  readonly lpiActions: GuestLpiAction[] = [];

  constructor(readonly index: number) {
    this.attrs = { requester: 'pe', id: index };
  }
}
