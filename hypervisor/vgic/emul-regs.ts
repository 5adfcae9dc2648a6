/**
 * The guest's GICv3 distributor and redistributors, emulated: register blocks (the same
 * `RegisterBlock` the hardware model uses) whose handlers update the virtual GIC state. The
 * guest reaches them through stage-2 faults on unmapped IPAs (see mmio.ts).
 *
 * What a guest sees: a GICv3 (PIDR2.ArchRev 3) with affinity routing always on, one security
 * state, no SPIs (ITLinesNumber 0: its devices' interrupts are LPIs), 16 INTID bits, LPIs
 * without an ITS (its assigned events are mapped by the hypervisor's configuration), and
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
import { GICD_CTLR, GICD_TYPER, GICR_CTLR, GICR_PENDBASER, GICR_PROPBASER, GICR_TYPER, GICR_WAKER, IIDR_VALUE } from '../../gic/gic-registers.js';
import { GICD, GICR, GICR_SGI, GICR_SGI_BASE } from '../../gic/mmio-offsets.js';
import { FIRST_LPI } from '../config.js';
import type { Vcpu, Vm } from '../vm.js';
import { lrChanged } from './lr-sync.js';

/**
 * Work the trap handler must finish after an access (reading the guest's LPI tables), left for
 * the core whose trap made the access (`core`), which carries it out before the guest resumes:
 * so a guest that polls GICR_SYNCR after GICR_INVLPIR finds the invalidation done.
 */
export type GuestLpiAction = { readonly kind: 'read-config'; readonly vcpu: Vcpu; readonly intid: number | 'all'; readonly pending: boolean; readonly core: number };

/** Where the actions an access leaves go: the trapping core's list (the access's requester is that core). */
export type ActionLists = (core: number) => GuestLpiAction[];

/** Priority bits the virtual CPU interface implements (low bits of IPRIORITYR RAZ/WI). */
export interface EmulOptions {
  readonly priorityMask: number;
  readonly idBits: number;
}

const PIDR2_GICV3 = 0x30;

/** The emulated distributor of one VM. */
export function guestDistributor(vm: Vm, o: EmulOptions): RegisterBlock {
  const typer = GICD_TYPER.encode({ ITLinesNumber: 0, LPIS: 1, IDbits: o.idBits - 1 });
  const regions: RegisterRegion[] = [
    {
      name: 'GICD_CTLR',
      offset: GICD.CTLR,
      length: 4,
      widths: W32,
      read: () => GICD_CTLR.encode({ ARE: 1, DS: 1, EnableGrp1: vm.distEnabled ? 1 : 0 }),
      write: (_o, _s, v) => {
        vm.distEnabled = GICD_CTLR.get(toNum(v), 'EnableGrp1') === 1;
      },
    },
    constReg('GICD_TYPER', GICD.TYPER, typer),
    constReg('GICD_IIDR', GICD.IIDR, IIDR_VALUE),
    constReg('GICD_TYPER2', GICD.TYPER2, 0),
    constReg('GICD_PIDR2', GICD.PIDR2, PIDR2_GICV3),
  ];
  return new RegisterBlock(`${vm.config.name}.vgicd`, 0x10000, regions);
}

/**
 * A 32-bit set or clear register over the private interrupts (GICR_IS/ICENABLER0, IS/ICPENDR0,
 * IS/ICACTIVER0): reads one bit per interrupt from `get`, a write calls `set` for each bit at 1.
 */
function bitsReg(name: string, offset: number, get: (i: number) => boolean, set: (i: number) => void): RegisterRegion {
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
    write: (_o, _s, v) => {
      const x = toNum(v) >>> 0;
      for (let i = 0; i < 32; i++) if ((x >>> i) & 1) set(i);
    },
  };
}

/** The emulated redistributor (RD_base + SGI_base) of one vCPU. */
export function guestRedistributor(vcpu: Vcpu, last: boolean, o: EmulOptions, actions: ActionLists): RegisterBlock {
  const g = vcpu.vgic;
  const p = g.private;
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
    bitsReg('GICR_ISENABLER0', sgi + GICR_SGI.ISENABLER0, (i) => p[i]!.enabled, (i) => setEnabled(vcpu, i, true)),
    bitsReg('GICR_ICENABLER0', sgi + GICR_SGI.ICENABLER0, (i) => p[i]!.enabled, (i) => setEnabled(vcpu, i, false)),
    bitsReg('GICR_ISPENDR0', sgi + GICR_SGI.ISPENDR0, (i) => p[i]!.pending, (i) => void g.setPending(p[i]!)),
    bitsReg('GICR_ICPENDR0', sgi + GICR_SGI.ICPENDR0, (i) => p[i]!.pending, (i) => {
      p[i]!.pending = false;
      p[i]!.repend = false;
    }),
    bitsReg('GICR_ISACTIVER0', sgi + GICR_SGI.ISACTIVER0, (i) => p[i]!.active, (i) => {
      p[i]!.active = true;
      g.queueIfDeliverable(p[i]!);
    }),
    bitsReg('GICR_ICACTIVER0', sgi + GICR_SGI.ICACTIVER0, (i) => p[i]!.active, (i) => void (p[i]!.active = false)),
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
      write: (off, size, val) => {
        let x = toNum(val);
        for (let b = 0; b < size; b++) {
          const irq = p[off + b]!;
          irq.priority = (x & 0xff) & o.priorityMask;
          lrChanged(irq);
          x = Math.floor(x / 256);
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

function setEnabled(vcpu: Vcpu, intid: number, on: boolean): void {
  const irq = vcpu.vgic.private[intid]!;
  irq.enabled = on;
  vcpu.vgic.touched();
  if (on) vcpu.vgic.queueIfDeliverable(irq);
}
