/**
 * One virtual interrupt of one vCPU, as the hypervisor's virtual GIC tracks it (KVM's
 * `struct vgic_irq`): its configuration (priority, enable, HW linkage) and its state (pending,
 * active). While it sits in a list register the LR is the truth; `repend` records a new
 * pending edge that arrived meanwhile, merged back when the LR is folded.
 */
export class VIrq {
  pending = false;
  active = false;
  /** A new pending edge arrived while the interrupt was in a list register. */
  repend = false;
  /** Queued on the vCPU's active/pending list. */
  queued = false;
  /** List register holding it while its vCPU runs, or -1. */
  lr = -1;
  /** HW = 1 linkage to a physical interrupt (the virtual timer). */
  hw = false;
  pintid = 0;
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
 * Order of the active/pending list: active interrupts first (the guest must find them in a
 * list register to deactivate them), then pending ones by priority, then INTID.
 */
export function compareVirq(a: VIrq, b: VIrq): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.intid - b.intid;
}
