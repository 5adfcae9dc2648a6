/**
 * GIC bring-up, as programs of ops: the distributor once, then on each CPU its redistributor
 * (found by affinity and woken), its SGIs and PPIs and its CPU interface — through MMIO and the
 * ICC_* system registers only, in the order Linux's irq-gic-v3.c uses (gic_dist_init,
 * gic_populate_rdist, gic_enable_redist, gic_cpu_config, gic_cpu_sys_reg_init). Software on
 * both sides runs them: a hypervisor for the physical GIC, a guest kernel for its virtual one
 * (the hypervisor's emulated distributor and redistributors and the ICV_* registers, which the
 * same ICC_* encodings reach when HCR_EL2.IMO/FMO = 1), a bare-metal test for the physical GIC.
 *
 * Registers as in IHI 0069 (GIC architecture specification), chapter "Programmers' model":
 * GICD_CTLR/TYPER/IGROUPR/ICENABLER/ICPENDR/ICACTIVER/IPRIORITYR/IROUTER, GICR_TYPER/WAKER and
 * the SGI_base frame, ICC_PMR_EL1/BPR1_EL1/CTLR_EL1/IGRPEN<n>_EL1/SGI1R_EL1.
 */
import { isb, ldr, mrs, msr, str, work, type Op, type Program } from '../core/ops.js';
import { MPIDR_EL1 } from '../core/sysregs.js';
import { redistributorSize } from '../gic/config.js';
import { GICD_CTLR, GICD_TYPER, GICD_TYPER2, GICR_TYPER, GICR_WAKER, ICC_CTLR, ICC_SGIR } from '../gic/gic-registers.js';
import { GICD, GICR, GICR_SGI, GICR_SGI_BASE } from '../gic/mmio-offsets.js';
import { ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, ICC_SGI1R_EL1 } from '../gic/sysregs.js';

/** Linux's default priority mask and interrupt priority (irq-gic-v3.c: DEFAULT_PMR_VALUE, GICD_INT_DEF_PRI). */
export const DEFAULT_PMR = 0xf0;
export const DEFAULT_PRIORITY = 0xa0;

/** Transfer register of the MMIO accesses (the ISS.SRT a trapping access reports). */
const RT = 1;

export interface DistributorOptions {
  /** Priority of every SPI (default DEFAULT_PRIORITY). */
  readonly priority?: number;
  /** Also deactivate and clear the pending state of every SPI (GICD_ICACTIVER, GICD_ICPENDR), for a distributor that is not fresh from reset. */
  readonly clear?: boolean;
  /** Route every SPI to this affinity (Aff2.Aff1.Aff0) through GICD_IROUTER<n>, as Linux routes them to the boot CPU; default: leave IROUTER as it is. */
  readonly routeTo?: number;
  /** Enable Group 0 too (GICD_CTLR.EnableGrp0). */
  readonly group0?: boolean;
  /**
   * Ask for SGIs without an active state (GICD_CTLR.nASSGIreq, GICv4.1) when GICD_TYPER2.nASSGIcap
   * says the GIC can (Linux's gic_dist_init). Default false: GICD_TYPER2 is not read.
   */
  readonly nassgi?: boolean;
}

/**
 * Distributor set-up, once, by the boot CPU: disabled, every SPI Group 1, disabled, default
 * priority; then ARE + EnableGrp1. Returns the number of SPI INTIDs GICD_TYPER.ITLinesNumber
 * gives (32 per line beyond the first).
 */
export function* initDistributor(gicd: number, o: DistributorOptions = {}): Program<number> {
  yield str(gicd + GICD.CTLR, 0, 4, RT);
  const typer: number = yield ldr(gicd + GICD.TYPER, 4, RT);
  const lines = GICD_TYPER.get(typer, 'ITLinesNumber');
  const priority = o.priority ?? DEFAULT_PRIORITY;
  for (let n = 1; n <= lines; n++) {
    yield str(gicd + GICD.IGROUPR + 4 * n, 0xffffffff, 4, RT);
    yield str(gicd + GICD.ICENABLER + 4 * n, 0xffffffff, 4, RT);
    if (o.clear === true) {
      yield str(gicd + GICD.ICACTIVER + 4 * n, 0xffffffff, 4, RT);
      yield str(gicd + GICD.ICPENDR + 4 * n, 0xffffffff, 4, RT);
    }
    for (let b = 0; b < 8; b++) yield str(gicd + GICD.IPRIORITYR + 32 * n + 4 * b, priority * 0x01010101, 4, RT);
  }
  if (o.routeTo !== undefined) {
    // GICD_IROUTER<n>: Aff3 in [39:32], Aff2.Aff1.Aff0 in [23:0], Interrupt_Routing_Mode [31] = 0.
    for (let intid = 32; intid < 32 * (lines + 1); intid++) yield str(gicd + GICD.IROUTER + 8 * intid, BigInt(o.routeTo), 8, RT);
  }
  let nassgi = 0;
  if (o.nassgi === true) nassgi = GICD_TYPER2.get((yield ldr(gicd + GICD.TYPER2, 4, RT)) as number, 'nASSGIcap');
  yield str(gicd + GICD.CTLR, GICD_CTLR.encode({ ARE: 1, EnableGrp1: 1, EnableGrp0: o.group0 === true ? 1 : 0, nASSGIreq: nassgi }), 4, RT);
  return lines * 32;
}

/** GICD_CTLR.nASSGIreq as the distributor reads back: the SGIs have no active state. */
export function* sgisWithoutActiveState(gicd: number): Program<boolean> {
  return GICD_CTLR.get((yield ldr(gicd + GICD.CTLR, 4, RT)) as number, 'nASSGIreq') === 1;
}

/**
 * Finds the redistributor whose GICR_TYPER.Affinity matches this CPU's MPIDR_EL1, walking the
 * frames as Linux does (128 KB each, 256 KB when VLPIS = 1, until Last). Returns its base or -1.
 */
export function* findRedistributor(gicr: number): Program<number> {
  const mpidr: number = yield mrs(MPIDR_EL1, RT);
  const aff = mpidr % 2 ** 24; // Aff2.Aff1.Aff0 (Aff3 is 0 on these machines)
  let rd = gicr;
  for (let i = 0; i < 4096; i++) {
    const typer: bigint = yield ldr(rd + GICR.TYPER, 8, RT);
    const t = GICR_TYPER.decode(typer);
    if (t.Aff0 + t.Aff1 * 256 + t.Aff2 * 65536 === aff) return rd;
    if (t.Last === 1) return -1;
    rd += redistributorSize(t.VLPIS === 1 ? 4 : 3);
  }
  return -1;
}

/** GICR_WAKER handshake: clear ProcessorSleep, wait for ChildrenAsleep to read 0. Returns false if it never did. */
export function* wakeRedistributor(rd: number): Program<boolean> {
  yield str(rd + GICR.WAKER, GICR_WAKER.encode({ ProcessorSleep: 0 }), 4, RT);
  for (let i = 0; i < 1000; i++) {
    const w: number = yield ldr(rd + GICR.WAKER, 4, RT);
    if (GICR_WAKER.get(w, 'ChildrenAsleep') === 0) return true;
    yield work(50);
  }
  return false;
}

/** SGIs and PPIs: Group 1, priority `priority` (default 0xa0); SGIs enabled, PPIs disabled except `ppis`. */
export function* initPrivateInterrupts(rd: number, ppis: readonly number[] = [], priority = DEFAULT_PRIORITY): Program {
  const sgi = rd + GICR_SGI_BASE;
  yield str(sgi + GICR_SGI.IGROUPR0, 0xffffffff, 4, RT);
  yield str(sgi + GICR_SGI.ICENABLER0, 0xffff0000, 4, RT);
  for (let b = 0; b < 8; b++) yield str(sgi + GICR_SGI.IPRIORITYR + 4 * b, priority * 0x01010101, 4, RT);
  let enable = 0xffff;
  for (const p of ppis) enable |= 1 << p;
  yield str(sgi + GICR_SGI.ISENABLER0, enable >>> 0, 4, RT);
}

/** The redistributor of this CPU found, woken and its SGIs/PPIs configured (gic_cpu_init); returns its RD_base or -1. */
export function* initRedistributor(gicr: number, ppis: readonly number[] = [], priority = DEFAULT_PRIORITY): Program<number> {
  const rd: number = yield* findRedistributor(gicr);
  if (rd < 0) return rd;
  yield* wakeRedistributor(rd);
  yield* initPrivateInterrupts(rd, ppis, priority);
  return rd;
}

export interface CpuInterfaceOptions {
  /** ICC_CTLR_EL1.EOImode: 0, EOIR drops priority and deactivates; 1, EOIR drops priority and DIR deactivates. */
  readonly eoiMode?: 0 | 1;
  /** ICC_PMR_EL1 (default DEFAULT_PMR). */
  readonly pmr?: number;
  /**
   * ICC_BPR1_EL1 (default 0: below the minimum, so the minimum, and every implemented priority
   * bit is a preemption level; IHI 0069, ICC_BPR1_EL1). Larger values group priorities so that
   * an interrupt preempts only one of a higher group priority.
   */
  readonly bpr1?: number;
  /** Enable Group 0 as well (ICC_IGRPEN0_EL1). */
  readonly group0?: boolean;
}

/** The CPU interface: priority mask, binary point (default 0), EOImode, Group 1 on (gic_cpu_sys_reg_init). */
export function* initCpuInterface(o: CpuInterfaceOptions = {}): Program {
  yield msr(ICC_PMR_EL1, o.pmr ?? DEFAULT_PMR, RT);
  yield msr(ICC_BPR1_EL1, o.bpr1 ?? 0, RT);
  yield msr(ICC_CTLR_EL1, ICC_CTLR.encode({ EOImode: o.eoiMode ?? 0 }), RT);
  yield msr(ICC_IGRPEN1_EL1, 1, RT);
  if (o.group0 === true) yield msr(ICC_IGRPEN0_EL1, 1, RT);
  yield isb();
}

/**
 * ICC_SGI1R_EL1 for `intid`: to the CPU of affinity `targets` (Aff2.Aff1.Aff0, or an MPIDR), to
 * each CPU of a list, or to all but self (IRM = 1).
 */
export function* sendSgi(intid: number, targets: number | readonly number[] | 'others'): Program {
  if (targets === 'others') {
    yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: intid, IRM: 1 }), RT);
    return;
  }
  if (typeof targets === 'number') {
    yield msr(ICC_SGI1R_EL1, sgiWord(intid, Math.floor(targets / 256), 1 << (targets % 16)), RT);
  } else {
    // One write per Aff3.Aff2.Aff1 cluster, TargetList bits for Aff0 (RS = 0: Aff0 < 16).
    const byCluster = new Map<number, number>();
    for (const aff of targets) {
      const cluster = Math.floor(aff / 256);
      byCluster.set(cluster, (byCluster.get(cluster) ?? 0) | (1 << (aff % 16)));
    }
    for (const [cluster, list] of byCluster) yield msr(ICC_SGI1R_EL1, sgiWord(intid, cluster, list), RT);
  }
  yield isb();
}

/** ICC_SGI1R_EL1 for `intid` to the CPUs of TargetList `list` in cluster Aff2.Aff1 = `cluster`. */
function sgiWord(intid: number, cluster: number, list: number): bigint {
  return ICC_SGIR.encode({ INTID: intid, TargetList: list, Aff1: cluster % 256, Aff2: Math.floor(cluster / 256) % 256 });
}

export interface SpiOptions {
  /** GICD_ICFGR<n>: edge-triggered (true) or level-sensitive (false); default: leave it. */
  readonly edge?: boolean;
  /** GICD_IPRIORITYR<n> (default: leave it). */
  readonly priority?: number;
  /** GICD_IROUTER<n>: route to the PE of this affinity (Aff2.Aff1.Aff0, Interrupt_Routing_Mode = 0); default: leave it. */
  readonly affinity?: number;
  /** GICD_ISENABLER<n> (true) or GICD_ICENABLER<n> (false); default: leave it. */
  readonly enable?: boolean;
}

/**
 * One SPI configured, in the order Linux's gic_set_type / gic_irq_set_prio / gic_set_affinity /
 * gic_unmask_irq use, each step only when asked: trigger (a read-modify-write of its two bits of
 * GICD_ICFGR<n>; the low bit is RES0), priority (its byte of GICD_IPRIORITYR), routing
 * (GICD_IROUTER<n>, 64-bit) and enable last (IHI 0069, those registers).
 */
export function* configureSpi(gicd: number, intid: number, o: SpiOptions): Program {
  if (o.edge !== undefined) {
    const reg = gicd + GICD.ICFGR + 4 * Math.floor(intid / 16);
    const bit = 2 * (intid % 16) + 1;
    const cur: number = yield ldr(reg, 4, RT);
    const next = o.edge ? (cur | (1 << bit)) >>> 0 : (cur & ~(1 << bit)) >>> 0;
    if (next !== cur) yield str(reg, next, 4, RT);
  }
  if (o.priority !== undefined) yield str(gicd + GICD.IPRIORITYR + intid, o.priority, 1, RT);
  if (o.affinity !== undefined) yield str(gicd + GICD.IROUTER + 8 * intid, BigInt(o.affinity), 8, RT);
  if (o.enable !== undefined) yield* writeIntidBit(gicd, o.enable ? GICD.ISENABLER : GICD.ICENABLER, intid);
}

/**
 * Writes 1 to `intid`'s bit of a one-bit-per-INTID distributor register family (`reg`: the
 * family's offset, GICD.ISENABLER ... GICD.ICACTIVER): set or clear its enable, pending or active
 * state. Zero bits are ignored by those registers, so nothing else changes.
 */
export function* writeIntidBit(gicd: number, reg: number, intid: number): Program {
  yield str(gicd + reg + 4 * Math.floor(intid / 32), (1 << (intid % 32)) >>> 0, 4, RT);
}

/** Reads `intid`'s bit of a one-bit-per-INTID distributor register family (GICD_ISENABLER, GICD_ISPENDR, GICD_ISACTIVER...). */
export function* readIntidBit(gicd: number, reg: number, intid: number): Program<boolean> {
  const v: number = yield ldr(gicd + reg + 4 * Math.floor(intid / 32), 4, RT);
  return ((v >>> (intid % 32)) & 1) === 1;
}

/** A message-based SPI (IHI 0069, GICD_SETSPI_NSR / GICD_CLRSPI_NSR): sets `intid` pending (asserts it), or clears it. */
export function* messageSpi(gicd: number, intid: number, set = true): Program {
  yield str(gicd + (set ? GICD.SETSPI_NSR : GICD.CLRSPI_NSR), intid, 4, RT);
}

/** Whether private interrupt `intid` (SGI or PPI) is active at `rd`; if so, deactivates it (GICR_ICACTIVER0). For a vCPU put that saves a PPI's active state. */
export function* takeActivePrivate(rd: number, intid: number): Program<boolean> {
  const act: number = yield ldr(rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, 4, RT);
  const active = ((act >>> intid) & 1) === 1;
  if (active) yield str(rd + GICR_SGI_BASE + GICR_SGI.ICACTIVER0, (1 << intid) >>> 0, 4, RT);
  return active;
}

/** Makes private interrupt `intid` active at `rd` (GICR_ISACTIVER0): the restore half of `takeActivePrivate`. */
export function* setActivePrivate(rd: number, intid: number): Program {
  yield str(rd + GICR_SGI_BASE + GICR_SGI.ISACTIVER0, (1 << intid) >>> 0, 4, RT);
}

// ---- Taking interrupts, and the per-INTID registers of any INTID (irq-gic-v3.c gic_read_iar,
// gic_write_eoir, gic_write_dir, gic_irq_set_prio).

/** Transfer register of the acknowledge/EOI/DIR accesses (an IRQ entry has saved x0-x30 first). */
const RT_IRQ = 0;

/** MRS ICC_IAR1_EL1: acknowledge the highest-priority pending Group 1 interrupt (the op yields the value; INTID in [23:0], 1023 when none). */
export function readIar1(): Op {
  return mrs(ICC_IAR1_EL1, RT_IRQ);
}

/** MSR ICC_EOIR1_EL1: priority drop of `intid`, and its deactivation when ICC_CTLR_EL1.EOImode = 0 (IHI 0069, ICC_EOIR1_EL1). */
export function writeEoir1(intid: number): Op {
  return msr(ICC_EOIR1_EL1, intid, RT_IRQ);
}

/** MSR ICC_DIR_EL1: deactivation of `intid` when ICC_CTLR_EL1.EOImode = 1 (IHI 0069, ICC_DIR_EL1). */
export function writeDir(intid: number): Op {
  return msr(ICC_DIR_EL1, intid, RT_IRQ);
}

/**
 * The frame holding the per-INTID registers of `intid`: the redistributor's SGI_base for SGIs and
 * PPIs (`rd` is its RD_base), the distributor for SPIs. The SGI_base frame has the distributor's
 * offsets for INTIDs 0-31, so `writeIntidBit` / `readIntidBit` work on either (IHI 0069, "The GIC
 * Redistributor register map").
 */
export function irqFrame(gicd: number, rd: number, intid: number): number {
  return intid < 32 ? rd + GICR_SGI_BASE : gicd;
}

/** GICD/GICR_IPRIORITYR<n>: the priority byte of `intid` (a byte access; unimplemented low bits are RAZ/WI). */
export function setIrqPriority(gicd: number, rd: number, intid: number, priority: number): Op {
  return str(irqFrame(gicd, rd, intid) + GICD.IPRIORITYR + intid, priority, 1, RT);
}

