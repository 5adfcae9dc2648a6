/**
 * Direct injection of vLPIs (GICv4.0; IHI 0069H §7.2 "Direct injection of virtual interrupts"),
 * the way Linux/KVM drive it (drivers/irqchip/irq-gic-v3-its.c, arch/arm64/kvm/vgic/vgic-v4.c):
 *
 * - VM creation: a vPE per vCPU (vPEID, a 64 KB-aligned virtual pending table, a doorbell host
 *   LPI), VMAPP to its home redistributor; the VM's vLPI configuration table (a host-owned
 *   mirror of the guest's own LPI configuration); MAPD of every host device the VM owns; VSYNC.
 * - The guest maps its devices' events with its own ITS (vits/): each MAPTI of an event of its
 *   own device becomes VMAPTI (host DeviceID/EventID, the guest INTID as vINTID, the target
 *   vCPU's vPE, its doorbell), and its later commands VMOVI, INV, VINVALL, INT, CLEAR, DISCARD
 *   (vits/forward.ts), as KVM's kvm_vgic_v4_set_forwarding and its_map_vlpi do.
 * - Entry: the vPE is made resident on this core's redistributor — VMOVP first if the vCPU
 *   last ran elsewhere — by writing GICR_VPROPBASER and GICR_VPENDBASER.Valid = 1 and polling
 *   Dirty until the redistributor has parsed the VPT. Leaving (vcpu put): Valid = 0, poll
 *   Dirty, read PendingLast.
 * - Doorbells, v4.0 style (KVM before the 2019 load/put rework kept the doorbell IRQ disabled
 *   except while blocking): the doorbell LPI's enable bit in the host configuration table is
 *   set only while the vCPU is blocked in WFI (plus GICR_INVLPIR so the redistributor sees it).
 *   It is one-shot, as KVM's GICv4.0 doorbell handler makes it (vgic_v4_doorbell_handler calls
 *   disable_irq_nosync): the handler disables it as soon as it has fired, so a vCPU that is
 *   already runnable takes no further doorbell for every vLPI that arrives before it runs; it is
 *   armed again only when the vCPU next blocks. A doorbell that became pending again before the
 *   disable took effect is cleared when the vCPU is entered (GICR_CLRLPIR, as vgic_v4_load
 *   clears a stale pending doorbell).
 * - Guest configuration changes (its GICR_INVLPIR/INVALLR, EnableLPIs) are copied into the vLPI
 *   configuration table and made visible with ITS INV (one event) or VINVALL (the vPE).
 * Every step is an MMIO access, a store, or an ITS command on a PE.
 *
 * GICv4.1 (`gic.v41`), as KVM drives such hardware (vgic-v4.c `vgic_v4_load`/`vgic_v4_put`,
 * irq-gic-v3-its.c `its_vpe_4_1_schedule`/`its_vpe_4_1_deschedule`, `its_build_vmapp_cmd`):
 * each core's GICR_VPROPBASER shares the ITS's vPE table (hypervisor.ts at core set-up); VMAPP
 * carries the VM's vLPI configuration table (VConf_addr, 64 KB aligned) and the vPE's doorbell
 * as its default doorbell, which stays enabled in the host configuration table; the vPE is made
 * resident by vPEID (VGrp1En = 1), and it leaves with DB = 1, PendingLast = 0 only when the
 * vCPU blocks (the GIC then rings the doorbell at most once for the blocking period, so nothing
 * is enabled, disabled or cleared around it), with DB = 0, PendingLast = 1 when it is put;
 * no VMOVP is ever issued: every redistributor shares the vPE table (one sharing domain), and
 * Linux skips VMOVP inside a sharing domain (its_vpe_set_affinity), so a vPE keeps its home RD
 * (and its doorbell arrives there) wherever it runs; the GIC finds where it is resident.
 *
 * Several ITSs (gic.itsCount; docs/several-itss.md): each device's commands go to its own ITS
 * (its-route.ts); a VM's vPEs are mapped on every ITS of its devices (`vmIts`), and a move is a
 * VMOVP on each of them with one SequenceNumber and their ITSList when GITS_TYPER.VMOVP = 0 (then
 * under one VMOVP lock for the machine), on one of them when VMOVP = 1 (`vmovp`).
 *
 * Locks (drivers/spinlock.ts), since several cores act on one vPE: its vCPU's core makes it resident,
 * moves it (VMOVP) and arms its doorbell, while the core its doorbell arrives at disables it.
 * A vPE's lock (Linux's `vpe_lock`, vpe_to_cpuid_lock) covers its RD, its doorbell's state and
 * the doorbell's configuration change (a store, GICR_INVLPIR and the GICR_SYNCR wait, at the
 * vPE's RD); VMOVP also holds the VMOVP lock, one per VM or one for the machine
 * (`HypervisorConfig.vmovpLock`), across the command and the wait for the ITS to execute it, and
 * the ITS lock (drivers/its.ts) while it writes the queue. Order: vPE, then VMOVP, then ITS.
 * Residency (GICR_VPENDBASER) needs no lock: only the vCPU's own core changes it.
 */
import { call, ldr, mrs, work, type Program } from '../core/ops.js';
import { CNTPCT_EL0 } from '../core/timer.js';
import { clrlpirStore, configureLpi, invalidateLpi, lpiConfigStore } from '../drivers/lpi.js';
import { makeNonResident, makeResident, vpendIdai, vpendPendingLast, waitVpendClean, type VpeTables } from '../drivers/residency.js';
import { makeNonResidentV41, makeResidentV41 } from '../drivers/residency-v41.js';
import { Spinlock } from '../drivers/spinlock.js';
import { LPI_CONFIG } from '../gic/gic-registers.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { GICR_VLPI_BASE } from '../gic/mmio-offsets.js';
import { eventBitsOf, FIRST_LPI, GUEST_INTID_BITS } from './config.js';
import type { DirectInjection, DirectStats } from './direct-port.js';
import type { Hypervisor } from './hypervisor.js';
import { PRIO_DEVICE } from './layout.js';
import type { GuestLpiAction } from './vgic/emul-regs.js';
import { guestConfigBytePa, guestPendingBytePa, readGuestLpis } from './vgic/guest-lpis.js';
import type { PerCpu, Vcpu, Vm } from './vm.js';
import { forwardSgi, vsgiAction } from './direct-vsgi.js';

/** vINTID bits of every VPT and vLPI configuration table (the guests' 16-bit INTID space). */
export const VPT_ID_BITS = GUEST_INTID_BITS;
const VPROP_BYTES = 2 ** VPT_ID_BITS - FIRST_LPI;
const VPT_BYTES = 2 ** VPT_ID_BITS / 8;

/** The hypervisor's record of one vPE (with the tables residency names: drivers/residency.ts). */
export class Vpe implements VpeTables {
  /** Core whose redistributor the vPE table names (VMAPP/VMOVP). */
  rd: number;
  resident = false;
  /** GICR_VPENDBASER.PendingLast read at the last deschedule (1 until then: "may have pending"). */
  pendingLast = true;
  idai = 0;
  /** The doorbell LPI is enabled (the vCPU is blocked). */
  armed = false;
  /** The doorbell fired and was disabled since the vCPU last entered: it may be pending again. */
  fired = false;
  /** PendingLast said a vLPI is pending: wait for the VPT parse at the next entry whatever the configuration. */
  waitParse = false;
  /** Made resident with the wait for the VPT parse left to `commit`, the last step before entry. */
  parseWaitDeferred = false;
  readonly idBits = VPT_ID_BITS;

  constructor(
    readonly id: number,
    readonly vpt: number,
    /** Its VM's vLPI configuration table. */
    readonly vprop: number,
    readonly doorbell: number,
    home: number,
    /** Covers `rd`, `armed`, `fired` and the doorbell's configuration (see the module comment). */
    readonly lock: Spinlock,
  ) {
    this.rd = home;
  }
}

/**
 * vPEs by vCPU id. vCPU ids are dense (`Hypervisor.vcpus` index), so an array holds them; the
 * Map it replaces cost a hash lookup at each of the several lookups per exit and doorbell.
 */
class VpesById {
  private readonly byId: (Vpe | undefined)[] = [];
  get(id: number): Vpe | undefined {
    return this.byId[id];
  }
  has(id: number): boolean {
    return this.byId[id] !== undefined;
  }
  set(id: number, vpe: Vpe): void {
    while (this.byId.length < id) this.byId.push(undefined);
    this.byId[id] = vpe;
  }
}

export class DirectInjector implements DirectInjection {
  readonly stats: DirectStats = { residencyChanges: 0, residencyCycles: 0, dirtyPolls: 0, vmovps: 0, vmovpCommands: 0, doorbellsArmed: 0 };
  /** The vPE of each vCPU, by vCPU id (`Hypervisor.vcpus` index): looked up several times per exit and doorbell. */
  private readonly vpes = new VpesById();
  private nextVpeId = 0;
  /** The VMOVP lock of each VM (the same lock for all with `vmovpLock: 'global'`). */
  private readonly vmovpLocks: Spinlock[] = [];
  private globalVmovp: Spinlock | null = null;
  /** Per VM: the ITSs its vPEs are mapped on (its-route.ts `vmIts`). */
  private readonly vmIts: number[][] = [];
  /** The next VMOVP SequenceNumber (GITS_TYPER.VMOVP = 0), used under the VMOVP lock. */
  private vmovpSeq = 0;
  /** The GIC is a GICv4.1: residency by vPEID, default doorbells (see the module comment). */
  private readonly v41: boolean;

  constructor(private readonly h: Hypervisor) {
    this.v41 = h.cfg.gic.version === 4 && h.cfg.gic.v41;
  }

  vpe(v: Vcpu): Vpe | undefined {
    return this.vpes.get(v.id);
  }

  handles(v: Vcpu): boolean {
    return this.vpes.has(v.id);
  }

  /**
   * Allocates vPE IDs for a VM's vCPUs (at configuration time). Running out of vPE IDs is a
   * configuration error that names the limit.
   */
  allocate(vm: Vm, allocLpi: () => number): void {
    // GICv4.1: VMAPP's VConf_addr is PA[51:16], so the table is 64 KB aligned.
    const vprop = this.h.heap.alloc(VPROP_BYTES, this.v41 ? 0x10000 : 0x1000);
    const limit = 2 ** this.h.cfg.gic.its.vpeIdBits;
    // GICv4.1: the VM is offered SGIs without an active state (GICD_TYPER2.nASSGIcap; direct-vsgi.ts).
    vm.vsgiCap = this.v41;
    for (const v of vm.vcpus) {
      if (this.nextVpeId >= limit) {
        throw new Error(`out of vPE IDs: ${vm.config.name} vCPU ${v.index} needs vPE ID ${this.nextVpeId}, but gic.its.vpeIdBits = ${this.h.cfg.gic.its.vpeIdBits} allows ${limit}`);
      }
      const h = this.h;
      const id = this.nextVpeId++;
      const vpe = new Vpe(id, h.heap.alloc(Math.max(VPT_BYTES, 0x10000), 0x10000), vprop, allocLpi(), h.homeCore(v), Spinlock.alloc(h.heap, `vpe ${id}`, h.locks.vpe, h.env));
      this.vpes.set(v.id, vpe);
      h.lpiRoute[vpe.doorbell - FIRST_LPI] = { kind: 'doorbell', vcpu: v };
    }
    const h = this.h;
    this.vmIts[vm.index] = h.itsRoutes.vmIts(vm.config, this.v41);
    for (const v of vm.vcpus) h.itsRoutes.vpeIts.set(this.vpes.get(v.id)!.id, this.vmIts[vm.index]![0]!);
    // With ITSList (GITS_TYPER.VMOVP = 0, several ITSs) every ITS must see every VMOVP in the same
    // order: one lock and one sequence number for the machine (Linux's vmovp_lock), whatever
    // `vmovpLock` says.
    const itsList = !h.cfg.gic.its.vmovp && (h.cfg.gic.itsCount ?? 1) > 1;
    if (h.cfg.vmovpLock === 'global' || itsList) this.vmovpLocks[vm.index] = this.globalVmovp ??= Spinlock.alloc(h.heap, 'vmovp', h.locks.vmovp, h.env);
    else this.vmovpLocks[vm.index] = Spinlock.alloc(h.heap, `vmovp ${vm.config.name}`, h.locks.vmovp, h.env);
  }

  /**
   * VMAPP every vPE on each ITS of the VM (its-route.ts `vmIts`), MAPD the VM's own devices on
   * theirs, VSYNC (at boot, on core 0); the guest's MAPTIs become VMAPTIs later (vits/forward.ts).
   */
  *setupVm(vm: Vm): Program {
    const h = this.h;
    const routes = h.itsRoutes;
    const itsList = this.vmIts[vm.index]!;
    for (const v of vm.vcpus) {
      // GICv4.0: the doorbell starts disabled, armed only while the vCPU blocks. GICv4.1: it stays
      // enabled; the GIC rings it only when asked at deschedule (GICR_VPENDBASER.DB).
      yield* configureLpi(h.lpiTables!, this.vpes.get(v.id)!.doorbell, PRIO_DEVICE, this.v41);
    }
    for (const n of itsList) {
      const its = routes.drivers[n]!;
      const cmds: CommandWords[] = [];
      for (const v of vm.vcpus) {
        const vpe = this.vpes.get(v.id)!;
        cmds.push(yield* its.mapVpe(vpe.id, h.rdbaseOf(vpe.rd), vpe.vpt, VPT_ID_BITS, this.v41 ? { vconf: vpe.vprop, doorbell: vpe.doorbell } : undefined));
      }
      for (const d of vm.config.devices) {
        if ((d.its ?? 0) !== n) continue;
        cmds.push(yield* its.mapDevice(d.deviceId, eventBitsOf(d)));
        yield work(10);
      }
      for (const v of vm.vcpus) cmds.push(ItsCmd.VSYNC({ vPEID: this.vpes.get(v.id)!.id }));
      yield* its.send(0, cmds);
    }
  }

  /**
   * The ITSs VMOVP of a vPE of `vm` is issued on: with GITS_TYPER.VMOVP = 0 every ITS that maps
   * it (IHI 0069, VMOVP; Linux's its_send_vmovp walks every ITS the VM has vLPIs on), with
   * VMOVP = 1 one of them (the GIC moves it on the others).
   */
  vmovpTargets(vm: Vm): readonly number[] {
    const list = this.vmIts[vm.index]!;
    return this.h.its.vmovpOne ? list.slice(0, 1) : list;
  }

  /**
   * VMOVP of `vpe` to core `core`'s redistributor, under the VMOVP lock (held by the caller): on
   * each ITS of `vmovpTargets`, one after another, each followed by VSYNC and waited for; with
   * GITS_TYPER.VMOVP = 0 every one carries the same SequenceNumber (one per move, as Linux's
   * vmovp_seq_num) and the ITSList of the ITSs that map the vPE (bit = the ITS's number).
   */
  private *vmovp(core: number, vm: Vm, vpe: Vpe): Program {
    const h = this.h;
    const drivers = h.itsRoutes.drivers;
    let list = 0;
    for (const n of this.vmIts[vm.index]!) list |= 2 ** drivers[n]!.number;
    const one = h.its.vmovpOne;
    const seq = one ? 0 : this.vmovpSeq;
    if (!one) this.vmovpSeq = (this.vmovpSeq + 1) & 0xffff;
    for (const n of this.vmovpTargets(vm)) {
      const vmovp = one ? ItsCmd.VMOVP({ vPEID: vpe.id, RDbase: h.rdbaseOf(core) }) : ItsCmd.VMOVP({ vPEID: vpe.id, RDbase: h.rdbaseOf(core), SequenceNumber: seq, ITSList: list });
      yield* drivers[n]!.send(core, [vmovp, ItsCmd.VSYNC({ vPEID: vpe.id })]);
      this.stats.vmovpCommands++;
    }
  }

  /** Whether `enter` has anything to do for `v` (its vPE exists and is not resident); the entry path skips it otherwise. */
  entryNeeded(v: Vcpu): boolean {
    const vpe = this.vpes.get(v.id);
    return vpe !== undefined && !vpe.resident;
  }

  /** Before entering `v`: its vPE resident on this core (VMOVP if it moved), doorbell disarmed. */
  *enter(pcpu: PerCpu, v: Vcpu): Program {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined || vpe.resident) return;
    const h = this.h;
    const t0: number = yield mrs(CNTPCT_EL0, 9);
    // Only this core sets `armed` and changes `rd`, so reading them first is safe; `fired` set
    // meanwhile by the doorbell's core only leaves a stale doorbell to take later.
    // GICv4.1: every redistributor shares the ITS's vPE table (one sharing domain:
    // GICR_TYPER.CommonLPIAff = 0, GITS_TYPER.SVPET = 1), so the vPE keeps the RD its vPE table
    // entry names and no VMOVP is needed wherever it runs (Linux's its_vpe_set_affinity keeps
    // the old CPU when it shares the new one's vPE table); the GIC finds where it is resident.
    const moved = !this.v41 && vpe.rd !== pcpu.index;
    if (this.v41) {
      // Nothing to disarm: a requested default doorbell ends with the non-resident period.
      vpe.armed = false;
      vpe.fired = false;
    }
    if (vpe.armed || vpe.fired || moved) {
      const core = pcpu.index;
      yield* vpe.lock.acquire(core);
      if (vpe.armed) yield* this.disarm(vpe);
      if (vpe.fired) yield* this.clearDoorbell(vpe);
      if (moved) {
        const lk = this.vmovpLocks[v.vm.index]!;
        yield* lk.acquire(core);
        yield* this.vmovp(core, v.vm, vpe);
        yield* lk.release();
        vpe.rd = core;
        this.stats.vmovps++;
        v.counters.vmovps++;
      }
      yield* vpe.lock.release();
    }
    // PendingLast = 1 on the way in ("may have pending": Linux always writes 1), IDAI as saved.
    // Linux waits for the VPT parse before entering (its_wait_vpt_parse_complete); not waiting
    // enters sooner, and a quick exit then waits for it on the way out.
    // A vPE known to have a vLPI pending is always waited for: entering before the parse shows
    // it would let the guest WFI again at once (the wfi-churn hard case, which would never end).
    // Where the wait is taken (HypervisorConfig.vptParseWait): here, at once (its_vpe_schedule
    // before Linux 5.11), or at the last step before entry, overlapped with the rest (`commit`).
    const wait = h.cfg.waitDirtyOnEntry || vpe.waitParse;
    const defer = wait && h.cfg.vptParseWait !== 'at-schedule';
    if (this.v41) yield call(makeResidentV41(pcpu.rd + GICR_VLPI_BASE, vpe.id, wait && !defer, true, false, this.stats));
    else yield call(makeResident(pcpu.rd + GICR_VLPI_BASE, vpe, wait && !defer, vpe.idai, this.stats));
    vpe.parseWaitDeferred = defer;
    vpe.waitParse = false;
    vpe.resident = true;
    const t1: number = yield mrs(CNTPCT_EL0, 9);
    const cycles = this.residencyChanged(v, t0, t1);
    const env = h.env;
    if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vpe-schedule', vm: v.vm.index, vcpu: v.index, vpe: vpe.id, vmovp: moved, cycles });
  }

  /** Whether `commit` has anything to do for `v` (a deferred VPT-parse wait); the entry path skips it otherwise. */
  commitNeeded(v: Vcpu): boolean {
    const vpe = this.vpes.get(v.id);
    return vpe !== undefined && vpe.parseWaitDeferred;
  }

  /** Last step before entry: the deferred wait for the VPT parse (Linux 5.11+, vgic_v4_commit). */
  *commit(pcpu: PerCpu, v: Vcpu): Program {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined || !vpe.parseWaitDeferred) return;
    vpe.parseWaitDeferred = false;
    const t0: number = yield mrs(CNTPCT_EL0, 9);
    yield call(waitVpendClean(pcpu.rd + GICR_VLPI_BASE, this.stats));
    // Counted with the residency change it completes (not as another one).
    const t1: number = yield mrs(CNTPCT_EL0, 9);
    this.stats.residencyCycles += (t1 - t0) * this.h.cfg.cyclesPerTick;
  }

  /** vcpu put: the vPE leaves the core (no doorbell). */
  *put(pcpu: PerCpu, v: Vcpu): Program {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined || !vpe.resident) return;
    yield call(this.deschedule(pcpu, v, vpe, false));
  }

  /**
   * The vCPU is about to block in WFI: arm its doorbell (if the policy wants one) and make its
   * vPE non-resident. Returns true when PendingLast says a vLPI is pending and enabled: the
   * vCPU must not block.
   */
  *block(pcpu: PerCpu, v: Vcpu): Program<boolean> {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined) return false;
    const db = this.h.sched.doorbell(v.id);
    if (db) {
      // GICv4.1: nothing to enable, but `armed` is set before the vPE leaves: its doorbell may
      // ring on another core (the vPE's home RD) as soon as the flush completes, and that core
      // must see it armed to record it (`fired`, `rang`) while this one is still blocking.
      yield* vpe.lock.acquire(pcpu.index);
      if (this.v41) {
        vpe.armed = true;
        this.stats.doorbellsArmed++;
      } else yield call(this.arm(vpe));
      yield* vpe.lock.release();
    }
    if (vpe.resident) yield call(this.deschedule(pcpu, v, vpe, db));
    return vpe.pendingLast;
  }

  /** Makes `vpe` non-resident; `blocking` (GICv4.1): ask for its default doorbell (DB = 1, PendingLast = 0). */
  private *deschedule(pcpu: PerCpu, v: Vcpu, vpe: Vpe, blocking: boolean): Program {
    const t0: number = yield mrs(CNTPCT_EL0, 9);
    // its_clear_vpend_valid: wait for Dirty = 0, clear Valid, wait for Dirty = 0, read PendingLast/IDAI.
    const frame = pcpu.rd + GICR_VLPI_BASE;
    const after: bigint = this.v41 ? yield call(makeNonResidentV41(frame, blocking, this.stats)) : yield call(makeNonResident(frame, this.stats));
    // (GICv4.1: PendingLast as read is the GIC's answer whatever was written with Valid = 0.)
    vpe.pendingLast = vpendPendingLast(after);
    // A vPE that leaves with a vLPI pending is waited for at its next entry (see `enter`),
    // however it left: blocking or put at the end of a slice.
    if (vpe.pendingLast) vpe.waitParse = true;
    if (!this.v41) vpe.idai = vpendIdai(after);
    vpe.resident = false;
    const t1: number = yield mrs(CNTPCT_EL0, 9);
    const cycles = this.residencyChanged(v, t0, t1);
    const env = this.h.env;
    if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'vpe-deschedule', vm: v.vm.index, vcpu: v.index, vpe: vpe.id, pendingLast: vpe.pendingLast, doorbell: vpe.armed, cycles });
  }

  /**
   * Counts a residency change of `v`'s vPE that began at counter value `t0` and ended at `t1`
   * (the caller's CNTPCT_EL0 reads); returns its cycles. A plain function, not a sub-program
   * around the second read: one generator less per residency change on the doorbell path.
   */
  private residencyChanged(v: Vcpu, t0: number, t1: number): number {
    this.stats.residencyChanges++;
    v.counters.residencyChanges++;
    const cycles = (t1 - t0) * this.h.cfg.cyclesPerTick;
    this.stats.residencyCycles += cycles;
    return cycles;
  }

  /** Enables the doorbell LPI (host configuration table) and makes its redistributor re-read it. */
  private *arm(vpe: Vpe): Program {
    yield lpiConfigStore(this.h.lpiTables!, vpe.doorbell, PRIO_DEVICE, true);
    yield* invalidateLpi(this.h.redistributorOf(vpe.rd), vpe.doorbell);
    vpe.armed = true;
    this.stats.doorbellsArmed++;
  }

  /** Disables the doorbell and clears a stale pending one (v4.0 vgic_v4_load). */
  private *disarm(vpe: Vpe): Program {
    yield* this.disable(vpe);
    yield* this.clearDoorbell(vpe);
  }

  /** Disables the doorbell LPI (host configuration table, then GICR_INVLPIR). */
  private *disable(vpe: Vpe): Program {
    yield lpiConfigStore(this.h.lpiTables!, vpe.doorbell, PRIO_DEVICE, false);
    yield* invalidateLpi(this.h.redistributorOf(vpe.rd), vpe.doorbell);
    vpe.armed = false;
  }

  /** Clears a doorbell that may be pending again (GICR_CLRLPIR). */
  private *clearDoorbell(vpe: Vpe): Program {
    yield clrlpirStore(this.h.redistributorOf(vpe.rd), vpe.doorbell);
    vpe.fired = false;
  }

  /** GICv4.1: SGI `intid` for `t` as a direct vSGI (direct-vsgi.ts). */
  *sendVsgi(t: Vcpu, intid: number): Program {
    const vpe = this.vpes.get(t.id);
    if (vpe !== undefined) yield* forwardSgi(this.h, vpe, intid);
  }

  rang(v: Vcpu): boolean {
    return this.vpes.get(v.id)?.fired ?? false;
  }

  /**
   * `v`'s doorbell was taken (acknowledged) at EL2 on core `core`: it is disabled until the vCPU
   * next blocks, as KVM's GICv4.0 handler does, so it fires once per blocking period.
   */
  *doorbellFired(core: number, v: Vcpu): Program {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined) return;
    yield* vpe.lock.acquire(core);
    if (vpe.armed) {
      // GICv4.1: the GIC rings a default doorbell once per blocking period: nothing to disable.
      if (!this.v41) yield call(this.disable(vpe));
      vpe.fired = true;
    }
    yield* vpe.lock.release();
  }

  /**
   * Copies guest LPI `vintid`'s configuration byte from `v`'s guest configuration table into the
   * VM's vLPI configuration table (the GIC sees it after an INV or VINVALL). Returns whether the
   * vLPI is enabled.
   */
  *mirrorConfig(v: Vcpu, vintid: number): Program<boolean> {
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined) return false;
    // Only bytes in the VM's own RAM are read (guest-lpis.ts): anything else reads as disabled.
    const configPa = v.vgic.enableLpis ? guestConfigBytePa(v, vintid) : -1;
    let byte = 0;
    if (configPa >= 0) byte = yield ldr(configPa, 1, 9);
    const enabled = LPI_CONFIG.get(byte, 'Enable') === 1;
    yield* configureLpi({ prop: vpe.vprop, idBits: VPT_ID_BITS }, vintid, LPI_CONFIG.get(byte, 'Priority') << 2, enabled);
    return enabled;
  }

  /**
   * After an invalidation that enabled a vLPI of `v`: whether `v` must be woken. A vLPI that was
   * pending (in the VPT) while disabled rang no doorbell for its enabling, and the hypervisor
   * must not read the VPT while the GIC owns it, so a blocked vCPU is woken to make its vPE
   * resident, where the redistributor finds it (it blocks again if nothing was pending).
   * CHOICE: KVM's GICv4.0 path leaves such a vLPI for the vCPU's next wake-up.
   */
  mustWake(v: Vcpu, enabled: boolean): boolean {
    return enabled && v.state === 'blocked' && this.vpes.has(v.id);
  }

  /**
   * The guest changed its LPI configuration (or enabled LPIs) at its redistributor: copy the
   * bytes of its forwarded vLPIs into the VM's vLPI configuration table and make the GIC re-read
   * them (INV per event, VINVALL); the LPIs it keeps in software (vits/forward.ts) are re-read
   * as on the injected path. Returns true when one of those became deliverable.
   */
  *mirror(act: GuestLpiAction): Program<boolean> {
    if (act.kind === 'vsgi') return yield* vsgiAction(this.h, (o) => this.vpes.get(o.id), act);
    const v = act.vcpu;
    const vpe = this.vpes.get(v.id);
    if (vpe === undefined) return false;
    const h = this.h;
    const forwarded = h.vits[v.vm.index]!.forwarded;
    const cmds: CommandWords[] = [];
    let enabled = false;
    if (act.intid === 'all') {
      for (const ev of forwarded) if (ev.vcpu === v && (yield* this.mirrorConfig(v, ev.vintid))) enabled = true;
      cmds.push(ItsCmd.VINVALL({ vPEID: vpe.id }));
    } else {
      let mirrored = false;
      for (const ev of forwarded) {
        if (ev.vcpu !== v || ev.vintid !== act.intid) continue;
        if (!mirrored) enabled = yield* this.mirrorConfig(v, act.intid);
        mirrored = true;
        cmds.push(ItsCmd.INV({ DeviceID: ev.deviceId, EventID: ev.eventId }));
      }
    }
    if (act.pending) yield* this.importPending(v, cmds);
    yield* h.itsRoutes.send(act.core, cmds);
    // Pending vLPIs are the GIC's to deliver from the VPT: nothing for the list registers, but a
    // blocked vCPU may have to be woken for one (mustWake); the LPIs kept in software are re-read.
    const soft: boolean = yield* readGuestLpis(act);
    return soft || this.mustWake(v, enabled);
  }

  /**
   * The guest enabled LPIs with PENDBASER.PTZ = 0: its pending table may hold LPIs already
   * pending. Directly injected vLPIs live in the VPT the hypervisor allocated, so each set bit
   * of a mapped event becomes an INT on the host ITS, which makes the vLPI pending there
   * (IHI 0069, the INT command: a GITS_TRANSLATER write by command), the way KVM hands a pending
   * state over when it forwards an event.
   */
  private *importPending(v: Vcpu, cmds: CommandWords[]): Program {
    for (const ev of this.h.vits[v.vm.index]!.forwarded) {
      if (ev.vcpu !== v) continue;
      const vintid = ev.vintid;
      const pendingPa = guestPendingBytePa(v, vintid);
      if (pendingPa < 0) continue;
      const byte: number = yield ldr(pendingPa, 1, 9);
      if (((byte >> (vintid & 7)) & 1) === 1) cmds.push(ItsCmd.INT({ DeviceID: ev.deviceId, EventID: ev.eventId }));
    }
  }
}
