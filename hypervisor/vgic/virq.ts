/**
 * One virtual interrupt of one vCPU, as the hypervisor's virtual GIC tracks it (KVM's
 * `struct vgic_irq`): its configuration (priority, enable, HW linkage) and its state (pending,
 * active). While it sits in a list register the LR is the truth; `repend` records a new
 * pending edge that arrived meanwhile, merged back when the LR is folded.
 */
import type { IrqLine } from './spi.js';

export class VIrq {
  pending = false;
  active = false;
  /** A new pending edge arrived while the interrupt was in a list register. */
  repend = false;
  /** Queued on the vCPU's active/pending list. */
  queued = false;
  /** List register holding it while its vCPU runs, or -1. */
  lr = -1;
  /** Trigger, input line and routing of an SPI or host-driven PPI (vgic/spi.ts), or null. */
  line: IrqLine | null = null;
  /** HW = 1 linkage to a physical interrupt (the virtual timer). */
  hw = false;
  pintid = 0;
  /**
   * Level-sensitive, HW = 0, its line asserted (the emulated physical timer, hypervisor/ptimer.ts):
   * its LR is written with EOI = 1, so the guest's deactivation raises an EOI maintenance interrupt
   * and the hypervisor resamples the line, as KVM's vgic writes level-sensitive HW = 0 interrupts
   * (vgic_v3_populate_lr). Never with HW = 1.
   */
  eoiMaintenance = false;
  /**
   * ICH_LR<n>_EL2 values of this interrupt, built when first needed: index State (0-3) plus 4
   * when EOI = 1. Kept so that a flush writes an existing bigint instead of allocating one.
   */
  lrValues: (bigint | undefined)[] | null = null;

  constructor(
    readonly intid: number,
    public priority: number,
    public enabled: boolean,
  ) {}

  /** Belongs in a list register: active, or pending and enabled. */
  get deliverable(): boolean {
    return this.active || (this.pending && this.enabled);
  }
}

/**
 * Order of the active/pending list, as KVM's vgic_irq_cmp orders it since its 2025 rework of LR
 * overflow: interrupts pending and not active first, by priority (so the next interrupt the
 * guest can take always gets a list register, however many it has acknowledged and not yet
 * deactivated), then active ones (active+pending with them) by priority: the highest-priority
 * actives are the ones the guest deactivates first (IHI 0069, ICV_EOIR1_EL1: with EOImode 0 a
 * guest that nests by preemption EOIs in reverse acknowledge order, which is priority order),
 * so they keep the list registers and the ones outside are deactivated through
 * ICH_HCR_EL2.EOIcount from the head of the overflow (lr-sync.ts). Ties by INTID.
 */
export function compareVirq(a: VIrq, b: VIrq): number {
  const pa = a.active ? 1 : 0;
  const pb = b.active ? 1 : 0;
  if (pa !== pb) return pa - pb;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.intid - b.intid;
}
