/**
 * The hypervisor: software that boots at EL2 on every core and runs VMs.
 *
 * Boot (core 0): EL2 vectors, the host GIC (distributor, LPI tables), the ITS (tables, queue,
 * one collection per core), then each VM: stage-2 tables mapping its RAM, and each host device
 * it owns mapped on the physical ITS (MAPD, with its host LPIs reserved and enabled on the
 * injected path; VMAPP of the VM's vPEs on the direct path, hypervisor/direct.ts). Which guest
 * LPI and vCPU each event becomes is the guest's to say, through the VM's emulated ITS
 * (hypervisor/vits/), whose mappings the hypervisor forwards to the physical ITS (MAPTI to the
 * event's host LPI, or VMAPTI to a vPE). It starts the other cores with
 * PSCI CPU_ON, makes every VM's vCPU 0 runnable and enters the scheduler. Other cores set up
 * their redistributor and CPU interface and enter the scheduler too.
 *
 * After boot everything happens in exception handlers at EL2 (run-loop.ts): guest exits,
 * physical interrupts, and the idle loop. The hypervisor's data structures (VMs, vCPUs,
 * virtual GIC state, scheduler state) are its memory; it reaches the machine only through ops.
 */
import type { CodeMap } from '../core/code.js';
import { HCR_AMO, HCR_FMO, HCR_IMO, HCR_RW, HCR_TSC, HCR_TWI, HCR_VM } from '../core/hcr.js';
import { call, getx, ldadd, ldaxr, msr, ORD_RELEASE, sevl, smc, wfe, work, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import type { RegisterBlock } from '../core/regions.js';
import { S2_EXEC, S2_READ, S2_WRITE, VTTBR } from '../core/stage2.js';
import { s2Map, S2_VTCR } from '../core/stage2-tables.js';
import { HCR_EL2, TPIDR_EL2, VBAR_EL2, VTCR_EL2 } from '../core/sysregs.js';
import type { Trace } from '../core/trace.js';
import { aprCount } from '../gic/cpuif-regs.js';
import { itsBaseOf, redistributorSize } from '../gic/config.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { PhysHeap } from '../drivers/heap.js';
import { ItsDriver } from '../drivers/its.js';
import { ItsRoutes } from './its-route.js';
import { allocLpiTables, allocPendingTable, configureLpi, type LpiTables } from '../drivers/lpi.js';
import { LockStats, Spinlock, type DriverEnv } from '../drivers/spinlock.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { checkConfig, eventBitsOf, FIRST_LPI, GUEST_INTID_BITS, type HypervisorConfig } from './config.js';
import { DirectInjector } from './direct.js';
import { NO_DIRECT, type DirectInjection } from './direct-port.js';
import { hostCpuInit, hostDistributorInit } from './host-gic.js';
import { inheritVpeTable } from '../drivers/residency-v41.js';
import { GICR_VLPI_BASE } from '../gic/mmio-offsets.js';
import { placeRunnable, wake } from './host-irq.js';
import { ptimerTrapsInit } from './ptimer.js';
import { HYP_ENTRY, HYP_SECONDARY, HYP_VECTOR_STRIDE, HYP_VECTORS, PRIO_DEVICE } from './layout.js';
import { guestExit, hostIrqAtEl2, reschedule } from './run-loop.js';
import { Scheduler } from './scheduler.js';
import { SpiHost } from './spi-host.js';
import type { RunningVcpu, VcpuInfo } from './sched/policy.js';
import { guestDistributor, guestRedistributor } from './vgic/emul-regs.js';
import { processCommands } from './vits/commands.js';
import type { VIrq } from './vgic/virq.js';
import { OwnedEvents, VirtualIts, type ForwardedEvent, type OwnedDevice } from './vits/vits.js';
import { PerCpu, Vcpu, Vm } from './vm.js';
import './trace-kinds.js';

/** Observation only: where the hypervisor's trace records go, and the simulated time to stamp them with (the driver library's environment). */
export interface HypEnv extends DriverEnv {
  /** Observation only: the cycles core `core` has been charged at EL2 (its PE's counter), for the per-vCPU EL2 cycles; simulated time when absent. */
  readonly el2Cycles?: (core: number) => number;
}

export type LpiRoute = { readonly kind: 'guest'; readonly vcpu: Vcpu; readonly virq: VIrq } | { readonly kind: 'doorbell'; readonly vcpu: Vcpu };

/**
 * An assigned event as the hypervisor tracks it once its guest has mapped it (vits/forward.ts):
 * host DeviceID and EventID, where it goes now, and its host LPI (injected path; -1 direct).
 */
export type AssignedEventState = ForwardedEvent;

export class HypervisorStats {
  exits = 0;
  readonly exitsByEc: Record<number, number> = {};
  hostIrqs = 0;
  injected = 0;
  /** Injections that found the interrupt still pending (merged into one delivery). */
  coalesced = 0;
  droppedLpis = 0;
  spuriousLpis = 0;
  maintenance = 0;
  kicksSent = 0;
  kicksReceived = 0;
  switches = 0;
  guestSgis = 0;
  guestExceptions = 0;
  wfiNoBlock = 0;
  doorbells = 0;
  /** Guest entries made with device interrupts held back after an interrupt storm (run-loop.ts). */
  throttles = 0;
  /** Cycles vCPUs spent runnable before running, and how many waits that was. */
  runQueueWait = 0;
  runQueueWaits = 0;
  runQueueWaitMax = 0;
  panics = 0;
}

/** Statistics of each class of the hypervisor's locks (spinlock.ts). */
export interface LockClasses {
  /** The ITS command queue (`its->lock`). */
  readonly its: LockStats;
  /** VMOVP serialisation: one global lock or one per VM (`HypervisorConfig.vmovpLock`). */
  readonly vmovp: LockStats;
  /** One per vPE: its residency, doorbell and RD (Linux's `vpe_lock`). */
  readonly vpe: LockStats;
}

export class Hypervisor {
  readonly heap: PhysHeap;
  /** The driver of ITS 0 (the only ITS unless gic.itsCount > 1). */
  readonly its: ItsDriver;
  /** One driver per ITS, and where each command goes (its-route.ts). */
  readonly itsRoutes: ItsRoutes;
  readonly locks: LockClasses = { its: new LockStats(), vmovp: new LockStats(), vpe: new LockStats() };
  readonly sched: Scheduler;
  readonly vms: Vm[] = [];
  /** All vCPUs, by global id. */
  readonly vcpus: Vcpu[] = [];
  readonly pcpus: PerCpu[];
  /** Host LPI (INTID - FIRST_LPI) -> what it stands for. */
  readonly lpiRoute: (LpiRoute | undefined)[] = [];
  /** `guestRoute`'s objects, by virtual interrupt (weak: a retargeted LPI's old one goes with it). */
  private readonly guestRoutes = new WeakMap<VIrq, LpiRoute>();
  readonly vgicd: RegisterBlock[] = [];
  readonly vgicr: RegisterBlock[][] = [];
  /** Per VM: its emulated ITS (vits/). */
  readonly vits: VirtualIts[] = [];
  /** Statistics of the VMs' ITS command locks (KVM's its->cmd_lock), one per VM. */
  readonly vitsLocks = new LockStats();
  readonly stats = new HypervisorStats();
  readonly listRegs: number;
  /** Virtual SPIs, wired devices' host SPIs and the VMM's requests (spi-host.ts, requests.ts). */
  readonly spiHost: SpiHost;
  /** Direct injection (GICv4) hooks; set by hypervisor/direct.ts when a VM uses it. */
  direct: DirectInjection = NO_DIRECT;
  lpiTables: LpiTables | null = null;
  /** The boot word: secondary cores set up so far (a 64-byte granule of its own). */
  private readonly bootBarrier: number;
  private pendTables: number[] = [];
  nextHostLpi = FIRST_LPI;

  constructor(
    readonly cfg: HypervisorConfig,
    readonly cores: number,
    readonly env: HypEnv,
  ) {
    // Refuse what the GIC cannot carry out before anything is allocated (config.ts).
    checkConfig(cfg);
    this.heap = new PhysHeap(cfg.heapPa, cfg.heapSize);
    const drivers = Array.from({ length: cfg.gic.itsCount ?? 1 }, (_, n) => new ItsDriver(itsBaseOf(cfg.gic, n), this.heap, Spinlock.alloc(this.heap, n === 0 ? 'its' : `its ${n}`, this.locks.its, env), n));
    this.its = drivers[0]!;
    this.itsRoutes = new ItsRoutes(cfg, drivers);
    this.bootBarrier = this.heap.alloc(64, 64);
    this.listRegs = cfg.gic.listRegs;
    const aprs = aprCount(cfg.gic.preemptionBits);
    this.pcpus = Array.from({ length: cores }, (_, i) => new PerCpu(i));
    const infos: VcpuInfo[] = [];
    const emul = { priorityMask: (0xff << (8 - cfg.gic.priorityBits)) & 0xff, idBits: GUEST_INTID_BITS };
    this.spiHost = new SpiHost(this);
    cfg.vms.forEach((vc, i) => {
      const vm = new Vm(i, vc, i + 1);
      this.vms.push(vm);
      const blocks: RegisterBlock[] = [];
      for (let j = 0; j < vc.vcpus; j++) {
        const v = new Vcpu(vm, j, this.vcpus.length, this.listRegs, aprs);
        vm.vcpus.push(v);
        this.vcpus.push(v);
        infos.push({ id: v.id, vm: i, index: j, priority: vc.priority, pinned: vc.pinned?.[j] ?? null });
        blocks.push(guestRedistributor(v, j === vc.vcpus - 1, emul, (core) => this.pcpus[core]!.lpiActions));
      }
      // Its SPIs (vgic/spi.ts) and wired devices (spi-host.ts).
      for (const w of vc.wired ?? []) if (w.hostCore !== undefined && !(Number.isInteger(w.hostCore) && w.hostCore >= 0 && w.hostCore < cores)) throw new Error(`vm '${vc.name}': wired device on host SPI ${w.hostSpi}: hostCore ${w.hostCore} is not one of the ${cores} cores`);
      this.vgicd.push(guestDistributor(vm, emul, this.spiHost.addVm(vm, emul.priorityMask), (core) => this.pcpus[core]!.lpiActions));
      this.vgicr.push(blocks);
    });
    this.sched = new Scheduler(cfg.policy, { cores, vcpus: infos, slice: cfg.sliceCycles }, env.trace, () => env.now());
    const direct = this.vms.filter((vm) => vm.config.injection === 'direct');
    if (direct.length > 0) {
      if (cfg.gic.version !== 4) throw new Error(`direct injection needs a GICv4 (gic.version is ${cfg.gic.version}): VM ${direct[0]!.config.name}`);
      const d = new DirectInjector(this);
      for (const vm of direct) d.allocate(vm, () => this.allocHostLpi());
      this.direct = d;
    }
    // Each VM's emulated ITS, knowing the devices the VM owns. On the injected path each of
    // their events has a host LPI reserved now, after the doorbells (checkConfig's order): what a
    // guest maps can only ever use its own devices' LPIs.
    for (const vm of this.vms) {
      const injected = vm.config.injection !== 'direct';
      const owned: OwnedDevice[] = vm.config.devices.map((d) => {
        // Consecutive host LPIs, one per event in the configuration's order (OwnedEvents).
        const first = injected && d.events.length > 0 ? this.allocHostLpi() : -1;
        if (injected) for (let k = 1; k < d.events.length; k++) this.allocHostLpi();
        return { hostId: d.deviceId, guestId: d.guestDeviceId ?? d.deviceId, events: new OwnedEvents(d.events.map((e) => e.eventId), first) };
      });
      this.vits.push(new VirtualIts(vm, Spinlock.alloc(this.heap, `vits ${vm.config.name}`, this.vitsLocks, env), owned));
    }
  }

  /** Places the hypervisor image at `cfg.codePa`: boot entry, secondary entry, per-core EL2 vectors. */
  install(code: CodeMap): void {
    const pa = this.cfg.codePa;
    code.install(pa + HYP_ENTRY, () => this.boot(), 'hyp.boot');
    code.install(pa + HYP_SECONDARY, () => this.secondary(), 'hyp.secondary');
    for (const pcpu of this.pcpus) {
      const sync = () => guestExit(this, pcpu, 'sync');
      const irq = () => guestExit(this, pcpu, 'irq');
      const host = () => hostIrqAtEl2(this, pcpu);
      const bad = () => this.panic(pcpu, 'unexpected exception at EL2');
      code.installVectors(this.vectors(pcpu.index), { lower64: { sync, irq, fiq: irq, serror: sync }, curSpx: { irq: host, fiq: host, sync: bad, serror: bad }, curSp0: { irq: host, fiq: host, sync: bad, serror: bad } }, `hyp.cpu${pcpu.index}`);
    }
  }

  vectors(core: number): number {
    return this.cfg.codePa + HYP_VECTORS + HYP_VECTOR_STRIDE * core;
  }

  /** `v` becomes runnable now (the run-queue wait is measured from here). */
  makeRunnable(v: Vcpu): void {
    v.state = 'runnable';
    v.runnableSince = this.env.now();
  }

  /** The forwarded event behind guest LPI `vintid` of `vm` (the first forwarded, if the guest mapped several to it): a lookup (vits/ite-store.ts). */
  eventOf(vm: Vm, vintid: number): AssignedEventState | undefined {
    const its = this.vits[vm.index]!;
    const s = its.ites.firstForwardedOf(vintid);
    return s < 0 ? undefined : its.forwardedEvent(s);
  }

  /** Every event of `vm`'s own devices its guest has mapped (forwarded to the physical ITS now), by guest LPI (the first of each, in forwarding order). */
  eventsOf(vm: Vm): ReadonlyMap<number, AssignedEventState> {
    const its = this.vits[vm.index]!;
    return new Map(its.ites.firstForwardedByLpi().map(([vintid, s]) => [vintid, its.forwardedEvent(s)] as const));
  }

  /**
   * The route of a host LPI that feeds `v`'s virtual interrupt `virq`: one object per virtual
   * interrupt, shared by every event mapped to it (read-only), not one per event.
   */
  guestRoute(v: Vcpu, virq: VIrq): LpiRoute {
    let r = this.guestRoutes.get(virq);
    if (r === undefined || r.vcpu !== v) this.guestRoutes.set(virq, (r = { kind: 'guest', vcpu: v, virq }));
    return r;
  }

  /**
   * After a guest's write to its emulated GIC: commands its ITS has queued (a GITS_CWRITER
   * write, or enabling it with commands waiting) are processed now, on this trap, before the
   * guest resumes (vits/commands.ts).
   */
  *afterGuestWrite(pcpu: PerCpu, v: Vcpu): Program {
    const its = this.vits[v.vm.index]!;
    if (its.hasWork) yield* processCommands(this, pcpu, its);
  }

  /** The vCPUs running now, for the policy's `preempt` (cycles each has run of its slice). */
  runningVcpus(): RunningVcpu[] {
    const out: RunningVcpu[] = [];
    const now = this.env.now() / this.cfg.cyclesPerTick;
    for (const p of this.pcpus) {
      const v = p.current;
      if (v === null || v.state !== 'running' || p.preempt) continue;
      out.push({ core: p.index, vcpu: v.id, ran: Math.max(0, (now - p.sliceStart) * this.cfg.cyclesPerTick) });
    }
    return out;
  }

  idleCores(): number[] {
    const out: number[] = [];
    for (const p of this.pcpus) if (p.idle) out.push(p.index);
    return out;
  }

  /** A doorbell LPI for `v` (GICv4): disable it (one-shot) and wake `v` if it is blocked. */
  *doorbell(pcpu: PerCpu, v: Vcpu): Program {
    this.stats.doorbells++;
    v.counters.doorbells++;
    yield call(this.direct.doorbellFired(pcpu.index, v));
    if (v.state === 'blocked') yield call(wake(this, pcpu, v, 'doorbell'));
  }

  /** A hypervisor bug: record it and park this core (never reached by guest behaviour). */
  *panic(pcpu: PerCpu, why: string): Program {
    this.stats.panics++;
    if (this.env.trace.on) this.env.trace.emit({ t: this.env.now(), core: pcpu.index, el: 2, kind: 'cpu-off', reason: `hypervisor panic: ${why}` });
    yield smc(0, PSCI.CPU_OFF);
  }

  private *cpuSetup(core: number): Program {
    const pcpu = this.pcpus[core]!;
    yield msr(VBAR_EL2, this.vectors(core), 1);
    yield msr(TPIDR_EL2, core, 1);
    yield msr(VTCR_EL2, S2_VTCR, 1);
    // Physical interrupts always come to EL2 (IMO/FMO/AMO), whoever runs below.
    yield msr(HCR_EL2, HCR_RW | HCR_IMO | HCR_FMO | HCR_AMO, 1);
    // Guests' EL1 physical timer accesses trap (CNTHCTL_EL2.EL1PCEN = 0): ptimer.ts emulates it.
    yield* ptimerTrapsInit();
    pcpu.rd = yield* hostCpuInit(this.cfg.gic.gicrBase, this.lpiTables, this.pendTables[core] ?? 0);
    // GICv4.1: this redistributor shares the ITS's vPE table (inherit_vpe_l1_table_from_its).
    if (this.cfg.gic.version === 4 && this.cfg.gic.v41 && pcpu.rd >= 0) yield* inheritVpeTable(this.cfg.gic.itsBase, pcpu.rd + GICR_VLPI_BASE);
  }

  private *boot(): Program {
    const g = this.cfg.gic;
    yield msr(VBAR_EL2, this.vectors(0), 1);
    yield msr(TPIDR_EL2, 0, 1);
    yield* hostDistributorInit(g.gicdBase);
    const idBits = g.idBits;
    this.lpiTables = allocLpiTables(this.heap, idBits);
    this.pendTables = this.pcpus.map(() => allocPendingTable(this.heap, idBits));
    // One collection per core on every ITS, targeting its redistributor.
    for (const its of this.itsRoutes.drivers) {
      yield* its.init({ deviceIdBits: g.its.deviceIdBits, vpeIdBits: g.its.vpeIdBits });
      yield* its.send(0, Array.from({ length: this.cores }, (_, c) => ItsCmd.MAPC({ ICID: c, RDbase: this.rdbaseOf(c), V: 1 })));
    }
    for (const vm of this.vms) yield* this.createVm(vm);
    // Host SPIs: wired devices' lines and the VMM's request doorbell (spi-host.ts).
    yield* this.spiHost.boot();
    yield* this.cpuSetup(0);
    for (let c = 1; c < this.cores; c++) yield smc(0, PSCI.CPU_ON, cpuAffinity(c), this.cfg.codePa + HYP_SECONDARY, c);
    // No guest runs before every core's redistributor takes LPIs: an MSI to the collection of a
    // core still booting would be dropped (GICR_CTLR.EnableLPIs = 0). Each secondary adds itself
    // to the boot word once set up; wait for all of them in WFE (their LDADDL clears our mark).
    const barrier = this.bootBarrier;
    yield sevl();
    for (;;) {
      yield wfe();
      const up: number = yield ldaxr(barrier, 4, 10);
      if (up >= this.cores - 1) break;
    }
    const pcpu = this.pcpus[0]!;
    for (const vm of this.vms) {
      const v0 = vm.vcpus[0]!;
      v0.elr = vm.config.entry;
      this.makeRunnable(v0);
      this.sched.event({ kind: 'runnable', vcpu: v0.id, at: this.env.now() });
      yield* placeRunnable(this, pcpu, v0);
    }
    yield* reschedule(this, pcpu);
  }

  private *secondary(): Program {
    const core: number = yield getx(0);
    yield* this.cpuSetup(core);
    yield ldadd(this.bootBarrier, 1, 4, ORD_RELEASE, 10);
    yield* reschedule(this, this.pcpus[core]!);
  }

  /**
   * Physical address of core `c`'s redistributor. Redistributors are contiguous and in core
   * order on this platform, as its firmware tables say (each core also finds its own by
   * walking GICR_TYPER at boot).
   */
  redistributorOf(c: number): number {
    return this.cfg.gic.gicrBase + c * redistributorSize(this.cfg.gic.version);
  }

  /** The RDbase field value that names core `c`'s redistributor in ITS commands (MAPC, VMAPP, VMOVP). */
  rdbaseOf(c: number): number {
    return this.its.rdbase(c, this.redistributorOf(c));
  }

  /** Stage 2, HCR, and the host side of the VM's own devices (mapped on the physical ITS). */
  private *createVm(vm: Vm): Program {
    const c = vm.config;
    vm.s2root = this.heap.alloc(4096, 4096);
    yield* s2Map(vm.s2root, c.ramIpa, c.ramPa, c.ramSize, S2_READ | S2_WRITE | S2_EXEC, () => this.heap.alloc(4096, 4096));
    vm.vttbr = VTTBR.encode({ VMID: vm.vmid, BADDR: vm.s2root / 2 });
    // The world switch loads this into HCR_EL2 for each of the VM's vCPUs (world-switch.ts).
    vm.hcr = HCR_RW | HCR_VM | HCR_IMO | HCR_FMO | HCR_AMO | HCR_TSC | ((c.trapWfi ?? this.cfg.trapWfi) ? HCR_TWI : 0);
    if (c.injection === 'direct') {
      yield* (this.direct as DirectInjector).setupVm(vm);
      return;
    }
    // The VM's devices: MAPD with an ITT for each, and their reserved host LPIs configured
    // (enabled: one becomes pending only once the guest's mapping has made a host MAPTI of it).
    const cmds: CommandWords[] = [];
    for (const d of this.vits[vm.index]!.owned.values()) {
      cmds.push(yield* this.itsRoutes.drivers[this.itsRoutes.itsOf(d.hostId)]!.mapDevice(d.hostId, eventBitsOf(c.devices.find((x) => x.deviceId === d.hostId)!)));
      for (let k = 0; k < d.events.size; k++) {
        yield* configureLpi(this.lpiTables!, d.events.firstHostLpi + k, PRIO_DEVICE, true);
        yield work(10);
      }
    }
    yield* this.itsRoutes.send(0, cmds);
  }

  /** The next free host LPI (checkConfig has made sure there are enough). */
  private allocHostLpi(): number {
    if (this.nextHostLpi >= 2 ** this.cfg.gic.idBits) throw new Error(`out of host LPIs: gic.idBits = ${this.cfg.gic.idBits} allows ${2 ** this.cfg.gic.idBits - FIRST_LPI}`);
    return this.nextHostLpi++;
  }

  /** The core a vCPU's host LPIs are routed to: its pinned core, else id mod cores. */
  homeCore(v: Vcpu): number {
    return v.vm.config.pinned?.[v.index] ?? v.id % this.cores;
  }
}
