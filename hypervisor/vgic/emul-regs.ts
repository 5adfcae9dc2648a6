/**
 * The guest's GICv3 distributor and redistributors, emulated: register blocks (the same
 * `RegisterBlock` the hardware model uses) whose handlers update the virtual GIC state. The
 * guest reaches them through stage-2 faults on unmapped IPAs (see mmio.ts).
 *
 * What a guest sees: a GICv3 (PIDR2.ArchRev 3) with affinity routing always on, one security
 * state, the SPIs its configuration gives it (VmConfig.spis, none by default: vgic/spi.ts), 16 INTID bits, LPIs
 * (mapped by the guest through its emulated ITS at GUEST_GITS, hypervisor/vits/), and
 * GICR_CTLR.IR = 1 without DirectLPI: GICR_INVLPIR, GICR_INVALLR and GICR_SYNCR are implemented
 * (the guest's way to make a configuration change seen), GICR_SETLPIR/CLRLPIR are not, as KVM
 * presents its emulated redistributors. Group 0 is not supported (IGROUPR RAO/WI, GICD_CTLR.EnableGrp0 RAZ/WI).
 *
 * Handlers are plain functions; the few accesses that make the hypervisor read guest memory
 * (enabling LPIs, GICR_INVLPIR, GICR_INVALLR) leave a `GuestLpiAction` that the trap handler
 * then carries out as a program, so its memory reads are charged like any other.
 */
import { toBig, toNum, type Word } from '../../core/bits.js';
import { constReg, RegisterBlock, W32, W64, W8, type RegisterRegion } from '../../core/regions.js';
import { byteRegion } from '../../gic/bit-registers.js';
import { GICD_CTLR, GICD_IROUTER, GICD_TYPER, GICD_TYPER2, GICR_CTLR, GICR_PENDBASER, GICR_PROPBASER, GICR_TYPER, GICR_WAKER, IIDR_VALUE } from '../../gic/gic-registers.js';
import { GICD, GICR, GICR_SGI, GICR_SGI_BASE } from '../../gic/mmio-offsets.js';
import { FIRST_LPI, MAX_SPIS } from '../config.js';
import type { Vcpu, Vm } from '../vm.js';
import { lrChanged } from './lr-sync.js';
import { FIRST_SPI, type VmSpis } from './spi.js';
import type { VIrq } from './virq.js';

/**
 * Work the trap handler must finish after an access (reading the guest's LPI tables), left for
 * the core whose trap made the access (`core`), which carries it out before the guest resumes:
 * so a guest that polls GICR_SYNCR after GICR_INVLPIR finds the invalidation done.
 */
export type ReadConfigAction = { readonly kind: 'read-config'; readonly vcpu: Vcpu; readonly intid: number | 'all'; readonly pending: boolean; readonly core: number };
/**
 * GICv4.1 direct vSGIs (hypervisor/direct-vsgi.ts): GICD_CTLR.nASSGIreq changed ('mode'), or a
 * guest write to an SGI that is a vSGI: its configuration ('config', `intid` -1: all 16), made
 * pending ('pend'), cleared ('clear').
 */
export type VsgiAction = { readonly kind: 'vsgi'; readonly vcpu: Vcpu; readonly what: 'mode' | 'config' | 'pend' | 'clear'; readonly intid: number; readonly core: number };
export type GuestLpiAction = ReadConfigAction | VsgiAction;

/** Where the actions an access leaves go: the trapping core's list (the access's requester is that core). */
export type ActionLists = (core: number) => GuestLpiAction[];

/** Priority bits the virtual CPU interface implements (low bits of IPRIORITYR RAZ/WI). */
export interface EmulOptions {
  readonly priorityMask: number;
  readonly idBits: number;
}

const PIDR2_GICV3 = 0x30;

/**
 * The emulated distributor of one VM: GICD_CTLR/TYPER/IIDR, and the SPI registers over the VM's
 * vSPIs (vgic/spi.ts has their semantics). With affinity routing the registers' entries for INTIDs
 * 0-31 are RAZ/WI, as are the entries of SPIs the VM does not have. GICD_TYPER: ITLinesNumber
 * from the VM's SPI count, MBIS = 1 when it has SPIs (GICD_SETSPI_NSR/CLRSPI_NSR), No1N = 1
 * (GICD_IROUTER.Interrupt_Routing_Mode is RAZ/WI, as KVM makes it). Group 0 is not offered:
 * GICD_IGROUPR reads 1 for every implemented SPI and ignores writes.
 */
export function guestDistributor(vm: Vm, o: EmulOptions, spis: VmSpis, actions?: ActionLists): RegisterBlock {
  const typer = GICD_TYPER.encode({ ITLinesNumber: Math.ceil(spis.count / 32), MBIS: spis.count > 0 ? 1 : 0, LPIS: 1, IDbits: o.idBits - 1, No1N: 1 });
  /** Register n of a bit family: bit b for SPI 32n + b, if the VM has it. */
  const word = (n: number, get: (v: VIrq) => boolean): number => {
    let x = 0;
    if (n === 0) return 0;
    for (let b = 0; b < 32; b++) {
      const v = spis.irq(32 * n + b);
      if (v !== undefined && get(v)) x |= 1 << b;
    }
    return x >>> 0;
  };
  /** A bit family of 32 registers (IHI 0069, GICD_ISENABLER<n> ... GICD_ICACTIVER<n>): `set` for each SPI whose bit is written 1. */
  const bits = (name: string, offset: number, get: (v: VIrq) => boolean, set: ((v: VIrq, core: number) => void) | null): RegisterRegion => ({
    name,
    offset,
    length: 0x80,
    widths: W32,
    read: (off) => word(off >>> 2, get),
    write: (off, _s, val, attrs) => {
      const n = off >>> 2;
      const x = toNum(val) >>> 0;
      if (n === 0 || set === null || x === 0) return;
      for (let b = 0; b < 32; b++) {
        if (((x >>> b) & 1) === 0) continue;
        const v = spis.irq(32 * n + b);
        if (v !== undefined) set(v, attrs.id);
      }
    },
  });
  const message = (name: string, offset: number, f: (v: VIrq, core: number) => void): RegisterRegion => ({
    name,
    offset,
    length: 4,
    widths: W32,
    // CHOICE: the whole 32-bit value names the SPI; one the VM does not have is ignored.
    write: (_o, _s, val, attrs) => {
      const v = spis.irq(toNum(val) >>> 0);
      if (v !== undefined) f(v, attrs.id);
    },
  });
  const regions: RegisterRegion[] = [
    {
      name: 'GICD_CTLR',
      offset: GICD.CTLR,
      length: 4,
      widths: W32,
      read: () => GICD_CTLR.encode({ ARE: 1, DS: 1, EnableGrp1: vm.distEnabled ? 1 : 0, nASSGIreq: vm.nassgi ? 1 : 0 }),
      write: (_o, _s, v, attrs) => {
        const was = vm.distEnabled;
        vm.distEnabled = GICD_CTLR.get(toNum(v), 'EnableGrp1') === 1;
        // nASSGIreq (GICv4.1 vSGIs, hypervisor/direct-vsgi.ts): RAZ/WI unless nASSGIcap; read-only
        // while the distributor stays enabled (KVM's vgic_mmio_write_v3_misc).
        if (vm.vsgiCap && !(was && vm.distEnabled)) {
          const req = GICD_CTLR.get(toNum(v), 'nASSGIreq') === 1;
          if (req !== vm.nassgi && actions !== undefined && vm.vcpus.length > 0) {
            vm.nassgi = req;
            actions(attrs.id).push({ kind: 'vsgi', vcpu: vm.vcpus[0]!, what: 'mode', intid: -1, core: attrs.id });
          }
        }
        if (!was && vm.distEnabled) spis.distributorEnabled(attrs.id);
      },
    },
    constReg('GICD_TYPER', GICD.TYPER, typer),
    constReg('GICD_IIDR', GICD.IIDR, IIDR_VALUE),
    // nASSGIcap = 1 for a VM whose SGIs can be direct vSGIs (GICv4.1, direct-v41 path).
    { name: 'GICD_TYPER2', offset: GICD.TYPER2, length: 4, widths: W32, read: () => GICD_TYPER2.encode({ nASSGIcap: vm.vsgiCap ? 1 : 0 }) },
    message('GICD_SETSPI_NSR', GICD.SETSPI_NSR, (v, core) => spis.messageSet(v, core)),
    message('GICD_CLRSPI_NSR', GICD.CLRSPI_NSR, (v, core) => spis.messageClear(v, core)),
    bits('GICD_IGROUPR', GICD.IGROUPR, () => true, null),
    bits('GICD_ISENABLER', GICD.ISENABLER, (v) => v.enabled, (v, core) => spis.setEnabled(v, true, core)),
    bits('GICD_ICENABLER', GICD.ICENABLER, (v) => v.enabled, (v, core) => spis.setEnabled(v, false, core)),
    bits('GICD_ISPENDR', GICD.ISPENDR, (v) => spis.pendingBit(v), (v, core) => spis.setPendingBit(v, core)),
    bits('GICD_ICPENDR', GICD.ICPENDR, (v) => spis.pendingBit(v), (v, core) => spis.clearPendingBit(v, core)),
    bits('GICD_ISACTIVER', GICD.ISACTIVER, (v) => v.active, (v, core) => spis.setActiveBit(v, true, core)),
    bits('GICD_ICACTIVER', GICD.ICACTIVER, (v) => v.active, (v, core) => spis.setActiveBit(v, false, core)),
    byteRegion('GICD_IPRIORITYR', GICD.IPRIORITYR, 1020, {
      read: (i) => spis.irq(i)?.priority ?? 0,
      write: (i, b) => {
        const v = spis.irq(i);
        if (v !== undefined) spis.setPriority(v, b);
      },
    }),
    {
      name: 'GICD_ICFGR',
      offset: GICD.ICFGR,
      length: 0x100,
      widths: W32,
      // Register n covers INTIDs 16n .. 16n + 15: bit 2k + 1 = 1 edge-triggered, bit 2k RES0.
      read: (off) => {
        const first = 16 * (off >>> 2);
        let x = 0;
        for (let k = 0; k < 16; k++) {
          const v = spis.irq(first + k);
          if (v !== undefined && !v.line!.level) x |= 2 << (2 * k);
        }
        return x >>> 0;
      },
      write: (off, _s, val) => {
        const first = 16 * (off >>> 2);
        const x = toNum(val) >>> 0;
        for (let k = 0; k < 16; k++) {
          const v = spis.irq(first + k);
          if (v !== undefined) spis.setEdge(v, ((x >>> (2 * k + 1)) & 1) === 1);
        }
      },
    },
    {
      name: 'GICD_IROUTER',
      // IROUTER<n> for the SPIs, n = 32..1019 (the SGI/PPI entries are reserved with ARE = 1).
      offset: GICD.IROUTER + 8 * FIRST_SPI,
      length: 8 * MAX_SPIS,
      widths: W32 | W64,
      regSize: 8,
      read: (off): Word => {
        const v = spis.irq(FIRST_SPI + (off >>> 3));
        return v === undefined ? 0n : BigInt(spis.routeOf(v));
      },
      write: (off, _s, val, attrs) => {
        const v = spis.irq(FIRST_SPI + (off >>> 3));
        if (v === undefined) return;
        const f = GICD_IROUTER.decode(toNum(toBig(val) & 0xff_ffffn));
        spis.setRoute(v, f.Aff2 * 65536 + f.Aff1 * 256 + f.Aff0, attrs.id);
      },
    },
    constReg('GICD_PIDR2', GICD.PIDR2, PIDR2_GICV3),
  ];
  return new RegisterBlock(`${vm.config.name}.vgicd`, 0x10000, regions);
}

/**
 * A 32-bit set or clear register over the private interrupts (GICR_IS/ICENABLER0, IS/ICPENDR0,
 * IS/ICACTIVER0): reads one bit per interrupt from `get`, a write calls `set` for each bit at 1.
 */
function bitsReg(name: string, offset: number, get: (i: number) => boolean, set: (i: number, core: number) => void): RegisterRegion {
  return {
    name,
    offset,
    length: 4,
    widths: W32,
    read: () => {
      let v = 0;
      for (let i = 0; i < 32; i++) if (get(i)) v |= 1 << i;
      return v >>> 0;
    },
    write: (_o, _s, v, attrs) => {
      const x = toNum(v) >>> 0;
      for (let i = 0; i < 32; i++) if ((x >>> i) & 1) set(i, attrs.id);
    },
  };
}

/** The emulated redistributor (RD_base + SGI_base) of one vCPU. */
export function guestRedistributor(vcpu: Vcpu, last: boolean, o: EmulOptions, actions: ActionLists): RegisterBlock {
  const g = vcpu.vgic;
  const p = g.private;
  // CHOICE: DirectLPI = 0 with GICR_CTLR.IR = 1, as KVM presents its redistributors: IR says
  // GICR_INVLPIR/INVALLR/SYNCR work (IHI 0069, GICR_CTLR.IR), which is all a guest needs to make an
  // LPI configuration change seen (Linux's has_direct_lpi takes DirectLPI or IR), while DirectLPI
  // would also promise GICR_SETLPIR/CLRLPIR, which are not emulated: a guest's LPIs come from its
  // devices through the (virtual) ITS, and on the direct path a SETLPIR would have to become an
  // INT of whatever host event backs that vINTID, if any.
  const typer = GICR_TYPER.encode({ PLPIS: 1, Last: last ? 1 : 0, Processor_Number: vcpu.index, Aff0: vcpu.index % 16, Aff1: Math.floor(vcpu.index / 16) });
  const sgi = GICR_SGI_BASE;
  const regions: RegisterRegion[] = [
    {
      name: 'GICR_CTLR',
      offset: GICR.CTLR,
      length: 4,
      widths: W32,
      read: () => GICR_CTLR.encode({ EnableLPIs: g.enableLpis ? 1 : 0, IR: 1 }),
      write: (_o, _s, v, attrs) => {
        // CHOICE: once set, EnableLPIs cannot be cleared (allowed: IMPLEMENTATION DEFINED).
        if (!g.enableLpis && GICR_CTLR.get(toNum(v), 'EnableLPIs') === 1) {
          g.enableLpis = true;
          actions(attrs.id).push({ kind: 'read-config', vcpu, intid: 'all', pending: true, core: attrs.id });
        }
      },
    },
    constReg('GICR_IIDR', GICR.IIDR, IIDR_VALUE),
    constReg('GICR_TYPER', GICR.TYPER, typer, W32 | W64, 8),
    {
      name: 'GICR_WAKER',
      offset: GICR.WAKER,
      length: 4,
      widths: W32,
      read: () => GICR_WAKER.encode({ ProcessorSleep: g.processorSleep ? 1 : 0, ChildrenAsleep: g.processorSleep ? 1 : 0 }),
      write: (_o, _s, v) => {
        g.processorSleep = GICR_WAKER.get(toNum(v), 'ProcessorSleep') === 1;
      },
    },
    {
      name: 'GICR_PROPBASER',
      offset: GICR.PROPBASER,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      read: () => g.propbaser,
      write: (_o, _s, v) => {
        if (!g.enableLpis) g.propbaser = toBig(v) & GICR_PROPBASER.encode({ IDbits: 31, PA: 2 ** 40 - 1, InnerCache: 7, Shareability: 3, OuterCache: 7 });
      },
    },
    {
      name: 'GICR_PENDBASER',
      offset: GICR.PENDBASER,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      // PTZ is write-only: it reads as 0.
      read: () => GICR_PENDBASER.set(g.pendbaser, 'PTZ', 0),
      write: (_o, _s, v) => {
        if (!g.enableLpis) g.pendbaser = toBig(v);
      },
    },
    {
      name: 'GICR_INVLPIR',
      offset: GICR.INVLPIR,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      write: (_o, _s, v, attrs) => {
        const intid = toNum(v) % 2 ** 32;
        if (intid >= FIRST_LPI) actions(attrs.id).push({ kind: 'read-config', vcpu, intid, pending: false, core: attrs.id });
      },
    },
    {
      name: 'GICR_INVALLR',
      offset: GICR.INVALLR,
      length: 8,
      widths: W32 | W64,
      regSize: 8,
      write: (_o, _s, _v, attrs) => void actions(attrs.id).push({ kind: 'read-config', vcpu, intid: 'all', pending: false, core: attrs.id }),
    },
    constReg('GICR_SYNCR', GICR.SYNCR, 0),
    constReg('GICR_PIDR2', GICR.PIDR2, PIDR2_GICV3),
    // SGI_base frame.
    { name: 'GICR_IGROUPR0', offset: sgi + GICR_SGI.IGROUPR0, length: 4, widths: W32, read: () => 0xffffffff },
    bitsReg('GICR_ISENABLER0', sgi + GICR_SGI.ISENABLER0, (i) => p[i]!.enabled, (i, core) => {
      setEnabled(vcpu, i, true);
      if (i < 16 && g.hwSgis) vsgiConfigAction(actions(core), vcpu, i, core);
    }),
    bitsReg('GICR_ICENABLER0', sgi + GICR_SGI.ICENABLER0, (i) => p[i]!.enabled, (i, core) => {
      setEnabled(vcpu, i, false);
      if (i < 16 && g.hwSgis) vsgiConfigAction(actions(core), vcpu, i, core);
    }),
    bitsReg('GICR_ISPENDR0', sgi + GICR_SGI.ISPENDR0, (i) => p[i]!.pending, (i, core) => {
      // A vSGI is made pending in the GIC (GITS_SGIR).
      if (i < 16 && g.hwSgis) return void actions(core).push({ kind: 'vsgi', vcpu, what: 'pend', intid: i, core });
      // A level PPI the host drives (vgic/spi.ts): its latch, which the fold keeps pending.
      const l = p[i]!.line;
      if (l !== null && l.level) l.latch = true;
      void g.setPending(p[i]!);
    }),
    bitsReg('GICR_ICPENDR0', sgi + GICR_SGI.ICPENDR0, (i) => p[i]!.pending, (i, core) => {
      if (i < 16 && g.hwSgis) return void actions(core).push({ kind: 'vsgi', vcpu, what: 'clear', intid: i, core });
      const l = p[i]!.line;
      if (l !== null && l.level) l.latch = false;
      // A level line still high keeps it pending.
      p[i]!.pending = l !== null && l.level && l.high;
      p[i]!.repend = false;
    }),
    // A vSGI has no active state: its bit reads 0 and writes are ignored (direct-vsgi.ts).
    bitsReg('GICR_ISACTIVER0', sgi + GICR_SGI.ISACTIVER0, (i) => p[i]!.active, (i) => {
      if (i < 16 && g.hwSgis) return;
      p[i]!.active = true;
      g.queueIfDeliverable(p[i]!);
    }),
    bitsReg('GICR_ICACTIVER0', sgi + GICR_SGI.ICACTIVER0, (i) => p[i]!.active, (i) => {
      if (!(i < 16 && g.hwSgis)) p[i]!.active = false;
    }),
    {
      name: 'GICR_IPRIORITYR',
      offset: sgi + GICR_SGI.IPRIORITYR,
      length: 32,
      widths: W8 | W32,
      regSize: 1,
      read: (off, size) => {
        let v = 0;
        for (let b = size - 1; b >= 0; b--) v = v * 256 + p[off + b]!.priority;
        return v >>> 0;
      },
      write: (off, size, val, attrs) => {
        let x = toNum(val);
        for (let b = 0; b < size; b++) {
          const irq = p[off + b]!;
          irq.priority = (x & 0xff) & o.priorityMask;
          lrChanged(irq);
          x = Math.floor(x / 256);
          if (off + b < 16 && g.hwSgis) vsgiConfigAction(actions(attrs.id), vcpu, off + b, attrs.id);
        }
        g.touched();
      },
    },
    // SGIs are edge-triggered (RAO pattern); PPI configuration is stored.
    constReg('GICR_ICFGR0', sgi + GICR_SGI.ICFGR0, 0xaaaaaaaa),
    {
      name: 'GICR_ICFGR1',
      offset: sgi + GICR_SGI.ICFGR1,
      length: 4,
      widths: W32,
      read: () => g.icfgr1,
      write: (_o, _s, v) => void (g.icfgr1 = toNum(v) & 0xaaaaaaaa),
    },
  ];
  return new RegisterBlock(`${vcpu}.vgicr`, 0x20000, regions);
}

/**
 * Leaves a VSGI re-configuration of SGI `intid` of `vcpu` (direct-vsgi.ts); one register write
 * that changes several SGIs leaves one action for all 16 (one batch of VSGI commands).
 */
function vsgiConfigAction(list: GuestLpiAction[], vcpu: Vcpu, intid: number, core: number): void {
  const last = list.length > 0 ? list[list.length - 1]! : null;
  if (last !== null && last.kind === 'vsgi' && last.what === 'config' && last.vcpu === vcpu) {
    if (last.intid !== intid) list[list.length - 1] = { kind: 'vsgi', vcpu, what: 'config', intid: -1, core };
    return;
  }
  list.push({ kind: 'vsgi', vcpu, what: 'config', intid, core });
}

function setEnabled(vcpu: Vcpu, intid: number, on: boolean): void {
  const irq = vcpu.vgic.private[intid]!;
  irq.enabled = on;
  vcpu.vgic.touched();
  if (on) vcpu.vgic.queueIfDeliverable(irq);
}
