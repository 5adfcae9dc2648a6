/**
 * The virtual GIC state of one vCPU (KVM's `vgic_cpu`): its private interrupts (SGIs, PPIs),
 * its guest LPIs, the list of interrupts that are pending or active (the "ap_list"), what each
 * list register holds while the vCPU runs, and the state of its emulated redistributor
 * (GICR_CTLR.EnableLPIs, PROPBASER, PENDBASER, WAKER, the SGI_base registers).
 */
import { compareVirq, VIrq } from './virq.js';

export const DEFAULT_VIRQ_PRIORITY = 0xa0;

export class VcpuVgic {
  /** INTIDs 0-31. */
  readonly private: VIrq[];
  /** Guest LPIs routed to this vCPU. */
  readonly lpis = new Map<number, VIrq>();
  /** Interrupts pending or active, in delivery order once sorted. */
  readonly ap: VIrq[] = [];
  private sorted = true;
  /** What list register n holds while the vCPU is loaded. */
  readonly lrs: (VIrq | null)[];
  /** List registers written at the last flush. */
  usedLrs = 0;
  /** The LR values read back at the last fold (scratch, so a fold allocates nothing). */
  readonly lrValues: bigint[];
  /**
   * The active interrupts the last flush left outside the list registers, in list order
   * (priority order): those an ICH_HCR_EL2.EOIcount at the next fold deactivates, from the head
   * (KVM's overflow_ap_list). Interrupts made pending while the vCPU runs never join it.
   */
  readonly overflow: VIrq[] = [];
  /** Deactivations of interrupts outside the list registers: by EOIcount at a fold, by a trapped ICV_DIR_EL1 (ICH_HCR_EL2.TDIR). */
  eoicountDeactivations = 0;
  dirTraps = 0;

  // Emulated redistributor.
  enableLpis = false;
  /** GICv4.1: SGIs 0-15 are direct vSGIs of the vCPU's vPE (hypervisor/direct-vsgi.ts), not list-register interrupts. */
  hwSgis = false;
  propbaser = 0n;
  pendbaser = 0n;
  processorSleep = true;
  icfgr1 = 0;

  /** Virtual CPU interface state saved while not loaded (ICH_VMCR_EL2, ICH_AP0R/AP1R<n>_EL2: drivers/list-registers.ts VirtualInterfaceState). */
  vmcr = 0;
  readonly ap0r: number[];
  readonly ap1r: number[];

  constructor(listRegs: number, aprs: number) {
    this.private = Array.from({ length: 32 }, (_, i) => new VIrq(i, DEFAULT_VIRQ_PRIORITY, i < 16));
    this.lrs = new Array<VIrq | null>(listRegs).fill(null);
    this.lrValues = new Array<bigint>(listRegs).fill(0n);
    this.ap0r = new Array<number>(aprs).fill(0);
    this.ap1r = new Array<number>(aprs).fill(0);
  }

  /**
   * Makes `v` pending. Returns true when the vCPU now has something new to deliver (so a
   * running vCPU should be kicked and a blocked one woken).
   */
  setPending(v: VIrq): boolean {
    if (v.lr >= 0) {
      v.repend = true;
      return true;
    }
    v.pending = true;
    return this.queueIfDeliverable(v);
  }

  /** Puts `v` on the list if it should be delivered and is not there yet. */
  queueIfDeliverable(v: VIrq): boolean {
    if (!v.deliverable) return false;
    if (!v.queued) {
      v.queued = true;
      this.ap.push(v);
      this.sorted = false;
    }
    return true;
  }

  /** Drops from the list what is neither pending nor active (after a fold), and re-sorts. */
  prune(): void {
    let w = 0;
    for (let r = 0; r < this.ap.length; r++) {
      const v = this.ap[r]!;
      if (v.pending || v.active) this.ap[w++] = v;
      else v.queued = false;
    }
    if (w !== this.ap.length) this.ap.length = w;
    this.sorted = false;
  }

  /** Sorts the list (insertion sort: it is short and mostly sorted). */
  sort(): void {
    if (this.sorted) return;
    const a = this.ap;
    for (let i = 1; i < a.length; i++) {
      const x = a[i]!;
      let j = i - 1;
      while (j >= 0 && compareVirq(a[j]!, x) > 0) {
        a[j + 1] = a[j]!;
        j--;
      }
      a[j + 1] = x;
    }
    this.sorted = true;
  }

  /**
   * True when something is pending and enabled (the vCPU has an interrupt to take: a trapped WFI
   * must not block; KVM's vgic_pending_irq). An interrupt that is only active is not: a guest
   * that dropped its priority (EOImode 1) and waits in WFI before its DIR blocks.
   */
  hasDeliverable(): boolean {
    for (const v of this.ap) if ((v.pending && v.enabled) || v.repend) return true;
    return false;
  }

  /** Called when a priority or enable changed. */
  touched(): void {
    this.sorted = false;
  }
}
