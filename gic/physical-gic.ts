/**
 * The physical half of the GIC: the distributor, one redistributor per PE and one physical CPU
 * interface per PE, wired together and mapped on the bus (IHI 0069: the ICC_*, GICD_* and
 * GICR_* register descriptions; IHI 0069H §5.1 "LPIs").
 *
 * Software reaches it only through MMIO (the GICD frame at `cfg.gicdBase`, one GICR region per
 * PE at `cfg.gicrBase + i * redistributorSize(cfg.version)`) and the ICC_* system registers
 * (`cpuInterfaces`, given to `defineGicSysregs`). Devices drive SPIs with `setSpiLevel` /
 * `pulseSpi`; per-PE sources (timers, the maintenance interrupt) drive PPIs with `setPpiLevel`
 * (this is the machine's `InterruptController`); the ITS hands LPIs over through `LpiPort` and, on
 * GICv4, vLPIs through `VlpiPort` (each call goes to the VLPI_base frame of redistributor `rd`,
 * vlpi-frame.ts; on GICv3 there are none and the calls do nothing); the virtual CPU interface
 * deactivates HW-linked interrupts through `PhysicalGicPort`.
 *
 * Internal latencies: SGIs reach their targets `sgiLatency` cycles after the ICC_SGI*R write,
 * and an LPI whose configuration byte is not cached becomes a candidate `lpiConfigFetch` cycles
 * after it becomes pending; both travel through a `LatencyFifo` (one re-armed event each).
 * MMIO latencies are the bus costs `gicdRead/gicdWrite` and `gicrRead/gicrWrite`.
 */
import { fieldOfPair, hi32, lo32 } from '../core/bits.js';
import type { InterruptController, Machine } from '../core/machine.js';
import { RegisterBlock } from '../core/regions.js';
import { redistributorSize, type GicConfig } from './config.js';
import { lowestBit } from './bit-registers.js';
import { CpuInterface, type CpuInterfaceLink } from './cpu-interface.js';
import { Distributor, GICD_FRAME_SIZE } from './distributor.js';
import { ICC_SGIR, LPI_BASE, PRIVATE_COUNT } from './gic-registers.js';
import { LatencyFifo } from './latency-fifo.js';
import { GICR_SGI_BASE, GICR_VLPI_BASE } from './mmio-offsets.js';
import type { LpiPort, PhysicalGicPort, VlpiPort, VlpiSource } from './ports.js';
import { Redistributor, RD_FRAME_SIZE } from './redistributor.js';
import { VlpiFrame, VLPI_FRAME_SIZE } from './vlpi-frame.js';
import { DefaultDoorbells, SharedResidency } from './vlpi-v41.js';
import { VsgiState } from './vsgi.js';
import './physical-trace.js';

// Module-local copies of imported constants used per interrupt: under the project's TypeScript
// loader an imported binding is read through a getter call, which showed up in profiles.
const LPI_FIRST = LPI_BASE;
const PRIVATE = PRIVATE_COUNT;
const lsb1 = lowestBit;
const SGIR_TARGETS = ICC_SGIR.field('TargetList');
const SGIR_AFF1 = ICC_SGIR.field('Aff1');
const SGIR_INTID = ICC_SGIR.field('INTID');
const SGIR_AFF2 = ICC_SGIR.field('Aff2');
const SGIR_IRM = ICC_SGIR.field('IRM');
const SGIR_RS = ICC_SGIR.field('RS');
const SGIR_AFF3 = ICC_SGIR.field('Aff3');

/** A redistributor's side of direct injection when the GIC has none (GICv3). */
const NO_VLPIS: VlpiSource = { best: () => -1, acknowledge: () => {} };

export class PhysicalGic implements InterruptController, LpiPort, VlpiPort, PhysicalGicPort {
  readonly distributor: Distributor;
  readonly redistributors: readonly Redistributor[];
  /** One per PE (index = PE index): the ICC_* registers, for `defineGicSysregs`. */
  readonly cpuInterfaces: readonly CpuInterface[];
  /** GICv4: the VLPI_base frame of each redistributor (empty on GICv3). */
  readonly vlpiFrames: readonly VlpiFrame[];
  /** GICv4.1: every vPE's default doorbell (armed at deschedule with DB = 1), shared by the redistributors; null on GICv4.0. */
  readonly defaultDoorbells: DefaultDoorbells | null;
  /** GICv4.1: where each vPE is resident in the (one) vPE-table sharing domain; null on GICv4.0. */
  readonly sharedResidency: SharedResidency | null;
  /** GICv4.1: every vPE's vSGI configuration and pending state (vsgi.ts); null otherwise. */
  readonly vsgis: VsgiState | null;
  /** One per PE: the resident vPE's vLPIs, for the virtual CPU interface. */
  readonly vlpiSources: readonly VlpiSource[];
  readonly rdCount: number;
  /** Bytes between consecutive redistributors. */
  readonly rdStride: number;

  private readonly sgis: LatencyFifo;
  private readonly fills: LatencyFifo;
  /** PE index by affinity (Aff3 << 24 | Aff2 << 16 | Aff1 << 8 | Aff0). */
  private readonly byAffinity = new Map<number, number>();
  /** PE index by SGI "cluster" (Aff3.Aff2.Aff1) then Aff0 (-1: none). */
  private readonly clusters = new Map<number, Int16Array>();
  private readonly sgiTargets: Int32Array;

  constructor(
    private readonly m: Machine,
    readonly cfg: GicConfig,
  ) {
    const n = m.cores;
    this.rdCount = n;
    this.rdStride = redistributorSize(cfg.version);
    this.sgiTargets = new Int32Array(n);
    const rds: Redistributor[] = [];
    const cpuifs: CpuInterface[] = [];
    this.redistributors = rds;
    this.cpuInterfaces = cpuifs;
    this.sgis = new LatencyFifo(m, 'gic.sgi', m.costs.sgiLatency, (pe, b) => this.deliverSgi(pe, b & 15, b >>> 4));
    this.fills = new LatencyFifo(m, 'gic.lpi-fill', m.costs.lpiConfigFetch, (rd, intid) => rds[rd]!.completeLpiFill(intid));

    for (let i = 0; i < n; i++) {
      const rd = new Redistributor(m, cfg, i, m.pes[i]!.mpidr, i === n - 1, {
        changed: () => cpuifs[i]?.update(),
        requestFill: (r, intid) => this.fills.push(r, intid),
        wakerChanged: () => this.distributor.retargetOneOfN(),
        // GICv4.1 GICR_INVLPIR/INVALLR with V = 1: the vPE named by vPEID, if resident here.
        invalidateVlpi: (r, vpeid, intid) => {
          const f = this.vlpiFrames[this.vpeRd(r, vpeid)];
          if (f === undefined) return;
          if (intid < 0) f.invalidateAllVlpis(-1, vpeid);
          else f.invalidateVlpi(-1, intid, vpeid);
        },
      });
      rds.push(rd);
      this.byAffinity.set(rd.affinity, i);
      const cluster = Math.floor(rd.affinity / 256);
      let c = this.clusters.get(cluster);
      if (c === undefined) {
        c = new Int16Array(256).fill(-1);
        this.clusters.set(cluster, c);
      }
      c[rd.affinity % 256] = i;
    }
    this.distributor = new Distributor(m, cfg, {
      changed: (pe) => this.updateCpuInterfaces(pe),
      peByAffinity: (aff) => this.byAffinity.get(aff) ?? -1,
      chooseOneOfN: (group) => this.chooseOneOfN(group),
    });
    for (let i = 0; i < n; i++) cpuifs.push(new CpuInterface(m, cfg, i, this.link(i)));

    const frames: VlpiFrame[] = [];
    const v41 = cfg.version === 4 && cfg.v41;
    this.defaultDoorbells = v41 ? new DefaultDoorbells(2 ** cfg.its.vpeIdBits, m.bus, { requester: 'gic', id: 0x200 }) : null;
    this.sharedResidency = v41 ? new SharedResidency(2 ** cfg.its.vpeIdBits) : null;
    this.vsgis = v41 ? new VsgiState(2 ** cfg.its.vpeIdBits) : null;
    if (cfg.version === 4) for (let i = 0; i < n; i++) frames.push(new VlpiFrame(m, cfg, i, (intid) => rds[i]!.setLpiPending(intid), this.defaultDoorbells, this.sharedResidency, this.vsgis));
    this.vlpiFrames = frames;
    this.vlpiSources = cfg.version === 4 ? frames : rds.map(() => NO_VLPIS);

    this.map();
  }

  /** Physical address of redistributor `i`'s RD_base frame. */
  redistributorBase(i: number): number {
    return this.cfg.gicrBase + i * this.rdStride;
  }

  // ---------------------------------------------------------------- device and PE inputs

  /** A level-sensitive (or edge-detected) SPI input. */
  setSpiLevel(intid: number, level: boolean): void {
    this.distributor.setLevel(intid, level);
  }

  /** An edge on an SPI input: the line rises and falls (latched if the SPI is edge-triggered). */
  pulseSpi(intid: number): void {
    this.distributor.setLevel(intid, true);
    this.distributor.setLevel(intid, false);
  }

  /** A PPI input of PE `pe` (timers 26/27/30, maintenance interrupt 25) as a level. */
  setPpiLevel(pe: number, intid: number, level: boolean): void {
    this.redistributors[pe]?.setPpiLevel(intid, level);
  }

  /** HW = 1 linkage: the guest deactivated a vINTID whose list register names physical `intid`. */
  deactivatePhysical(pe: number, intid: number): void {
    const rd = this.redistributors[pe];
    if (rd === undefined || intid >= LPI_FIRST) return;
    const done = intid < PRIVATE ? rd.deactivate(intid) : this.distributor.deactivate(intid);
    const m = this.m;
    if (done && m.trace.on) m.trace.emit({ t: m.now, core: pe, el: m.pes[pe]!.el, kind: 'gic-deactivate', intid, pe, by: 'hw' });
  }

  // ---------------------------------------------------------------- LpiPort (for the ITS)

  rdFromRdbase(rdbase: number, pta: boolean): number {
    if (!pta) return Number.isInteger(rdbase) && rdbase >= 0 && rdbase < this.rdCount ? rdbase : -1;
    const off = rdbase * 65536 - this.cfg.gicrBase;
    if (off < 0 || off % this.rdStride !== 0) return -1;
    const i = off / this.rdStride;
    return i < this.rdCount ? i : -1;
  }

  setLpiPending(rd: number, intid: number): boolean {
    return this.redistributors[rd]?.setLpiPending(intid) ?? false;
  }

  clearLpiPending(rd: number, intid: number): void {
    this.redistributors[rd]?.clearLpiPending(intid);
  }

  isLpiPending(rd: number, intid: number): boolean {
    return this.redistributors[rd]?.lpis.isPending(intid) ?? false;
  }

  invalidateLpi(rd: number, intid: number): void {
    this.redistributors[rd]?.invalidateLpi(intid);
  }

  invalidateAllLpis(rd: number): void {
    this.redistributors[rd]?.invalidateAllLpis();
  }

  moveAllPending(from: number, to: number): void {
    const src = this.redistributors[from];
    const dst = this.redistributors[to];
    if (src === undefined || dst === undefined || from === to) return;
    let moved = 0;
    src.lpis.forEachPending((intid) => {
      src.lpis.clearPending(intid);
      dst.setLpiPending(intid);
      moved++;
    });
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: from, el: m.pes[from]!.el, kind: 'gic-lpi', intid: -1, pe: to, what: 'moved', detail: moved });
    this.cpuInterfaces[from]!.update();
  }

  // ---------------------------------------------------------------- VlpiPort (for the ITS, GICv4)

  /**
   * GICv4.1: the redistributor of the sharing domain where vPE `vpeid` is resident, else `rd`
   * (the one its vPE table entry names). GICv4.0: `rd`.
   */
  private vpeRd(rd: number, vpeid: number): number {
    const r = this.sharedResidency;
    if (r === null) return rd;
    const at = r.of(vpeid);
    return at >= 0 ? at : rd;
  }

  setVlpiPending(rd: number, vpt: number, vptIdBits: number, vintid: number, doorbell: number, vpeid = -1): void {
    const f = this.vlpiFrames[this.vpeRd(rd, vpeid)];
    if (f === undefined) return;
    // GICv4.0: the vPE resident on another RD than the vPE table names (vlpi-frame.ts `lostToResidentRd`).
    if (this.sharedResidency === null && !f.holdsVpt(vpt) && this.residentElsewhere(vpt)) return f.lostToResidentRd(vpt, vintid);
    f.setVlpiPending(vpt, vptIdBits, vintid, doorbell, vpeid);
  }

  /** GICv4.0: some redistributor holds the vPE whose VPT is at `vpt` resident. */
  private residentElsewhere(vpt: number): boolean {
    const frames = this.vlpiFrames;
    for (let i = 0; i < frames.length; i++) if (frames[i]!.holdsVpt(vpt)) return true;
    return false;
  }

  /** vLPIs lost at a redistributor while their vPE was resident on another (all redistributors). */
  get vlpisLostElsewhere(): number {
    let n = 0;
    for (const f of this.vlpiFrames) n += f.vlpisLostElsewhere;
    return n;
  }

  clearVlpiPending(rd: number, vpt: number, vintid: number, vpeid = -1): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.clearVlpiPending(vpt, vintid, vpeid);
  }

  isVlpiPending(rd: number, vpt: number, vintid: number): boolean {
    return this.vlpiFrames[rd]?.isVlpiPending(vpt, vintid) ?? false;
  }

  invalidateVlpi(rd: number, vpt: number, vintid: number, vpeid = -1): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.invalidateVlpi(vpt, vintid, vpeid);
  }

  invalidateAllVlpis(rd: number, vpt: number, vpeid = -1): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.invalidateAllVlpis(vpt, vpeid);
  }

  vpeMapped(rd: number, vpt: number, vptIdBits: number): void {
    this.vlpiFrames[rd]?.vpeMapped(vpt, vptIdBits);
  }

  vpeUnmapped(rd: number, vpt: number): void {
    this.vlpiFrames[rd]?.vpeUnmapped(vpt);
  }

  setVsgiPending(rd: number, vpeid: number, vintid: number, doorbell: number): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.setVsgiPending(vpeid, vintid, doorbell);
  }

  configureVsgi(rd: number, vpeid: number, vintid: number, priority: number, group: number, enable: number): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.configureVsgi(vpeid, vintid, priority, group, enable);
  }

  clearVsgi(rd: number, vpeid: number, vintid: number): void {
    this.vlpiFrames[this.vpeRd(rd, vpeid)]?.clearVsgi(vpeid, vintid);
  }

  // ---------------------------------------------------------------- internals

  private link(i: number): CpuInterfaceLink {
    const rd = this.redistributors[i]!;
    const dist = this.distributor;
    const lpiLimit = 2 ** this.cfg.idBits;
    return {
      distributorGroupEnables: () => (dist.enableGrp0 ? 1 : 0) | (dist.enableGrp1 ? 2 : 0),
      awake: () => !rd.asleep,
      bestPrivate: (g0, g1) => rd.best(g0, g1),
      bestSpi: (g0, g1) => dist.best(i, g0, g1),
      bestLpi: () => rd.bestLpi(),
      groupOf: (intid) => (intid < PRIVATE ? rd.groupOf(intid) : intid < LPI_FIRST ? dist.groupOf(intid) : 1),
      implemented: (intid) => intid < PRIVATE || dist.isSpi(intid) || (intid >= LPI_FIRST && intid < lpiLimit),
      activate: (intid) => {
        if (intid < PRIVATE) rd.activate(intid);
        else if (intid < LPI_FIRST) dist.activate(intid);
        else rd.acknowledgeLpi(intid);
      },
      deactivate: (intid) => (intid < PRIVATE ? rd.deactivate(intid) : dist.deactivate(intid)),
      generateSgi: (value, group) => this.generateSgi(i, value, group),
      groupEnablesChanged: () => dist.retargetOneOfN(),
    };
  }

  private updateCpuInterfaces(pe: number): void {
    const c = this.cpuInterfaces;
    if (pe >= 0) c[pe]?.update();
    else if (pe === -1) for (let i = 0; i < c.length; i++) c[i]!.update();
  }

  /** 1-of-N choice (see distributor.ts): lowest participating PE, else lowest awake PE, else PE 0. */
  private chooseOneOfN(group: number): number {
    const rds = this.redistributors;
    const cpuifs = this.cpuInterfaces;
    let awake = -1;
    for (let i = 0; i < rds.length; i++) {
      if (rds[i]!.asleep) continue;
      if (awake < 0) awake = i;
      const c = cpuifs[i];
      if (c !== undefined && (group === 0 ? c.igrpen0 : c.igrpen1) !== 0) return i;
    }
    return awake >= 0 ? awake : 0;
  }

  /**
   * ICC_SGI0R/SGI1R (IHI 0069, ICC_SGI1R_EL1): IRM = 1 targets every PE but the sender; IRM = 0
   * targets Aff3.Aff2.Aff1.(RS * 16 + n) for each set bit n of TargetList. No PE has Aff0 above
   * 15 (GICD_TYPER.RSS = 0), so a non-zero RS names nobody.
   */
  private generateSgi(sender: number, value: bigint, group: number): void {
    const lo = lo32(value);
    const hi = hi32(value);
    const intid = fieldOfPair(lo, hi, SGIR_INTID.lsb, SGIR_INTID.width);
    const targets = this.sgiTargets;
    let count = 0;
    if (fieldOfPair(lo, hi, SGIR_IRM.lsb, SGIR_IRM.width) === 1) {
      for (let p = 0; p < this.rdCount; p++) if (p !== sender) targets[count++] = p;
    } else {
      const cluster =
        fieldOfPair(lo, hi, SGIR_AFF3.lsb, SGIR_AFF3.width) * 65536 +
        fieldOfPair(lo, hi, SGIR_AFF2.lsb, SGIR_AFF2.width) * 256 +
        fieldOfPair(lo, hi, SGIR_AFF1.lsb, SGIR_AFF1.width);
      const c = this.clusters.get(cluster);
      const rs = fieldOfPair(lo, hi, SGIR_RS.lsb, SGIR_RS.width);
      let list = fieldOfPair(lo, hi, SGIR_TARGETS.lsb, SGIR_TARGETS.width);
      while (c !== undefined && list !== 0) {
        const b = lsb1(list);
        list &= list - 1;
        const pe = c[rs * 16 + b] ?? -1;
        if (pe >= 0) targets[count++] = pe;
      }
    }
    for (let k = 0; k < count; k++) this.sgis.push(targets[k]!, intid | (group << 4));
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: sender, el: m.pes[sender]!.el, kind: 'gic-sgi', intid, pe: sender, group, targets: Array.from(targets.subarray(0, count)) });
  }

  private deliverSgi(pe: number, intid: number, group: number): void {
    if (this.redistributors[pe]!.receiveSgi(intid, group)) return;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: pe, el: m.pes[pe]!.el, kind: 'gic-ignored', block: `GICR${pe}`, what: `SGI ${intid} of Group ${group} is configured in the other group`, value: intid });
  }

  private map(): void {
    const m = this.m;
    const c = m.costs;
    const bus = m.bus;
    const report = (b: RegisterBlock): RegisterBlock => {
      b.onBadAccess = (a) => {
        if (m.trace.on) m.trace.emit({ t: m.now, core: -1, el: -1, kind: 'gic-ignored', block: a.block, what: `${a.write ? 'write' : 'read'} of ${a.size} bytes at 0x${a.offset.toString(16)}: ${a.reason}`, value: a.offset });
      };
      return b;
    };
    bus.addMmio('gicd', this.cfg.gicdBase, GICD_FRAME_SIZE, report(this.distributor.block), c.gicdRead, c.gicdWrite);
    for (let i = 0; i < this.rdCount; i++) {
      const rd = this.redistributors[i]!;
      const base = this.redistributorBase(i);
      bus.addMmio(`gicr${i}.rd`, base, RD_FRAME_SIZE, report(rd.rdBlock), c.gicrRead, c.gicrWrite);
      bus.addMmio(`gicr${i}.sgi`, base + GICR_SGI_BASE, RD_FRAME_SIZE, report(rd.sgiBlock), c.gicrRead, c.gicrWrite);
      const frame = this.vlpiFrames[i];
      if (frame !== undefined) {
        bus.addMmio(`gicr${i}.vlpi`, base + GICR_VLPI_BASE, VLPI_FRAME_SIZE, report(frame.block), c.gicrRead, c.gicrWrite);
        // The fourth 64 KB frame of a GICv4 redistributor is reserved: RAZ/WI.
        const reserved = new RegisterBlock(`GICR${i}.reserved`, RD_FRAME_SIZE, []);
        bus.addMmio(`gicr${i}.reserved`, base + GICR_VLPI_BASE + VLPI_FRAME_SIZE, RD_FRAME_SIZE, report(reserved), c.gicrRead, c.gicrWrite);
      }
    }
  }
}
