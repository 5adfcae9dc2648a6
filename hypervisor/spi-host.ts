/**
 * The host side of virtual SPIs: the host distributor's SPIs the hypervisor takes at EL2, and the
 * work a vSPI change leaves for the core that made it (vgic/spi.ts has the per-VM state).
 *
 * - Boot (core 0, after the VMs' stage 2): each wired device's host SPI configured through the
 *   driver library (`configureSpi`: trigger as the device signals, PRIO_DEVICE, routed to its
 *   host core, enabled) and its register frame mapped into its VM's stage 2 as a device page; the
 *   VMM's request SPI edge-triggered at PRIO_CONTROL, routed to core 0 (requests.ts).
 * - A wired host SPI taken at EL2 (acknowledged, priority dropped: the host runs EOImode 1, so it
 *   stays active): its vSPI made pending (an edge; `lineEdge`) and the vCPU it goes to told (a kick
 *   if it runs on another core, a wake-up if blocked), as KVM's VFIO platform path and arch timer
 *   forward a mapped interrupt (kvm_vgic_map_phys_irq, HW = 1). No DIR here: the list register's
 *   HW bit makes the guest's deactivation deactivate the host SPI, and a level line still high
 *   then re-pends at the host distributor, which is the resampling. Any other host SPI is
 *   deactivated at once and counted spurious.
 * - After a trapped access to a VM's emulated distributor: `runActions` carries out what the
 *   register writes left on this core's list (`SpiAction`): writes to the host distributor for
 *   HW = 1 vSPIs (a guest's ISPENDR/ICPENDR/IS/ICACTIVER mirrored on the host SPI), and vCPUs to
 *   kick or wake.
 * - `settle`: SPIs whose GICD_IROUTER changed while they could not move (active, or in a list
 *   register of a vCPU running elsewhere) are moved to their new target's list once they can,
 *   checked whenever a core takes host interrupts at EL2 (the routing change kicked the owner, so
 *   its exit comes through here after its fold).
 */
import { msr, work, type Program } from '../core/ops.js';
import { s2Map } from '../core/stage2-tables.js';
import { S2_READ, S2_WRITE } from '../core/stage2.js';
import { ICC_DIR_EL1 } from '../gic/sysregs.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { configureSpi, writeIntidBit } from '../drivers/gic-init.js';
import type { WiredSpi } from './config.js';
import { deliver } from './host-irq.js';
import type { Hypervisor } from './hypervisor.js';
import { PRIO_CONTROL, PRIO_DEVICE } from './layout.js';
import { serveRequests } from './requests.js';
import { lineEdge, migrate, VmSpis, type SpiAction, type SpiSink } from './vgic/spi.js';
import type { VIrq } from './vgic/virq.js';
import type { PerCpu, Vcpu, Vm } from './vm.js';

declare module '../core/trace.js' {
  interface TraceKinds {
    /** A host SPI taken at EL2: forwarded to `vm`'s vSPI `vintid` (HW = 1), the VMM's request doorbell (`vm` -1, `vintid` 0), or spurious (both -1). */
    'host-spi': { intid: number; vm: number; vintid: number };
    /** A vSPI moved to another vCPU's list after its GICD_IROUTER changed. */
    'vspi-move': { vm: number; vintid: number; from: number; to: number };
  }
}

/** Counters of the host side of SPIs. */
export class SpiHostStats {
  /** Wired host SPIs taken and forwarded. */
  forwarded = 0;
  /** Host SPIs taken that nothing is wired to (deactivated). */
  spurious = 0;
  /** Request doorbells taken, and requests carried out (requests.ts). */
  doorbells = 0;
  requests = 0;
  /** Writes to the host distributor mirroring a guest's write to an HW = 1 vSPI. */
  physWrites = 0;
}

interface WiredRoute {
  readonly spis: VmSpis;
  readonly virq: VIrq;
}

export class SpiHost implements SpiSink {
  /** Per VM. */
  readonly vms: VmSpis[] = [];
  readonly stats = new SpiHostStats();
  /** Host SPI -> the vSPI it is forwarded to. */
  private readonly wired = new Map<number, WiredRoute>();
  private readonly actionLists: SpiAction[][];
  /** SPIs on a list other than their target's, to be moved (settle). */
  private readonly moving: VIrq[] = [];
  /** Per core: the vCPUs a settle must tell, gathered before it tells them. */
  private readonly scratch: Vcpu[][];
  /** Consumer index of the request ring (requests.ts): requests carried out so far. */
  requestTail = 0;

  constructor(private readonly h: Hypervisor) {
    this.actionLists = Array.from({ length: h.cores }, () => []);
    this.scratch = Array.from({ length: h.cores }, () => []);
  }

  /** The SPIs of a VM, with its wired devices forwarded (at construction). */
  addVm(vm: Vm, priorityMask: number): VmSpis {
    const c = vm.config;
    const s = new VmSpis(vm, c.spis ?? 0, priorityMask, this);
    for (const w of c.wired ?? []) {
      const v = s.irq(w.vintid)!;
      s.wire(v, w.hostSpi, w.trigger === 'edge');
      this.wired.set(w.hostSpi, { spis: s, virq: v });
    }
    this.vms.push(s);
    return s;
  }

  /** SPIs waiting to move to their new target (settle has work). */
  get moves(): number {
    return this.moving.length;
  }

  actions(core: number): SpiAction[] {
    return this.actionLists[core]!;
  }

  move(v: VIrq): void {
    if (v.line!.moving) return;
    v.line!.moving = true;
    this.moving.push(v);
  }

  moved(v: VIrq, from: Vcpu, core: number): void {
    const l = v.line!;
    this.vms[l.vm.index]!.stats.migrations++;
    const env = this.h.env;
    if (env.trace.on) env.trace.emit({ t: env.now(), core, el: 2, kind: 'vspi-move', vm: l.vm.index, vintid: v.intid, from: from.index, to: l.target?.index ?? -1 });
  }

  /** The core a wired device's host SPI is routed to. */
  private hostCore(vm: Vm, w: WiredSpi): number {
    return w.hostCore ?? this.h.homeCore(vm.vcpus[0]!);
  }

  /** Boot, on core 0 after every VM's stage 2 exists: host SPIs, device frames (see the top). */
  *boot(): Program {
    const h = this.h;
    const gicd = h.cfg.gic.gicdBase;
    for (const vm of h.vms) {
      for (const w of vm.config.wired ?? []) {
        const core = this.hostCore(vm, w);
        yield* configureSpi(gicd, w.hostSpi, { edge: w.trigger === 'edge', priority: PRIO_DEVICE, affinity: cpuAffinity(core), enable: true });
        if (w.frame !== undefined) yield* s2Map(vm.s2root, w.frame.ipa, w.frame.pa, 4096, S2_READ | S2_WRITE, () => h.heap.alloc(4096, 4096), true);
      }
    }
    const req = h.cfg.requestSpi ?? null;
    if (req !== null) yield* configureSpi(gicd, req, { edge: true, priority: PRIO_CONTROL, affinity: cpuAffinity(0), enable: true });
  }

  /**
   * Host SPI `intid` was acknowledged on this core (priority dropped, still active): forwarded,
   * the request doorbell, or spurious (see the top).
   */
  *hostSpi(pcpu: PerCpu, intid: number): Program {
    const h = this.h;
    const env = h.env;
    const route = this.wired.get(intid);
    if (route !== undefined) {
      yield work(h.cfg.bookkeeping.inject);
      const v = route.virq;
      const stats = route.spis.stats;
      const merged = stats.merged;
      const to = lineEdge(v, stats);
      this.stats.forwarded++;
      h.stats.injected++;
      if (stats.merged !== merged) h.stats.coalesced++;
      const at = to ?? (v.queued ? v.line!.owner : v.line!.target);
      if (at !== null) at.counters.injected++;
      if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'host-spi', intid, vm: route.spis.vm.index, vintid: v.intid });
      if (to !== null) yield* deliver(h, pcpu, to);
      return;
    }
    yield msr(ICC_DIR_EL1, intid, 9);
    if (intid === (h.cfg.requestSpi ?? -1)) {
      // Deactivated first: a request written after the ring is read rings the doorbell again.
      this.stats.doorbells++;
      if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'host-spi', intid, vm: -1, vintid: 0 });
      yield* serveRequests(h, pcpu);
      return;
    }
    this.stats.spurious++;
    if (env.trace.on) env.trace.emit({ t: env.now(), core: pcpu.index, el: 2, kind: 'host-spi', intid, vm: -1, vintid: -1 });
  }

  /** Carries out what this core's trapped distributor accesses left (see the top). */
  *runActions(pcpu: PerCpu): Program {
    const list = this.actionLists[pcpu.index]!;
    if (list.length === 0) return;
    const h = this.h;
    const gicd = h.cfg.gic.gicdBase;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (a.kind === 'phys') {
        this.stats.physWrites++;
        yield* writeIntidBit(gicd, a.reg, a.intid);
      } else if (a.vcpu !== pcpu.current && a.vcpu.state !== 'off') {
        yield* deliver(h, pcpu, a.vcpu);
      }
    }
    list.length = 0;
  }

  /** Tells `v` it has something new (kick or wake), unless it is this core's own vCPU. */
  *tell(pcpu: PerCpu, v: Vcpu | null): Program {
    if (v !== null && v !== pcpu.current && v.state !== 'off') yield* deliver(this.h, pcpu, v);
  }

  /** Moves the SPIs whose routing changed to their new targets, those that can move now (see the top). */
  *settle(pcpu: PerCpu): Program {
    const list = this.moving;
    if (list.length === 0) return;
    // Every list change happens in this loop, with no op in it: atomic against the other cores.
    const tell = this.scratch[pcpu.index]!;
    let w = 0;
    for (let r = 0; r < list.length; r++) {
      const v = list[r]!;
      const l = v.line!;
      const from = l.owner;
      if (!v.queued || from === l.target) {
        l.moving = false;
        continue;
      }
      const to = migrate(v, pcpu.index);
      if (to === undefined) {
        // Not yet: a pending one whose owner runs elsewhere is kicked out of the guest to fold it.
        list[w++] = v;
        if (!v.active && from !== null && from.state === 'running' && from.core !== pcpu.index) tell.push(from);
        continue;
      }
      l.moving = false;
      this.moved(v, from!, pcpu.index);
      if (to !== null) tell.push(to);
    }
    list.length = w;
    for (let i = 0; i < tell.length; i++) yield* this.tell(pcpu, tell[i]!);
    tell.length = 0;
  }
}
