/**
 * GIC driver routines: programs that bring up the distributor, find and wake a CPU's
 * redistributor, configure SGIs/PPIs and the CPU interface, and set up LPI tables — through
 * MMIO and the ICC_* registers only, in the order Linux's irq-gic-v3.c uses. Software on both
 * sides uses them: the hypervisor for the host GIC, guest kernels for theirs (on bare metal the
 * physical GIC, inside a VM the hypervisor's emulated distributor and redistributors and the
 * ICV_* registers). Like `its/commands.ts`, this is the software half of an architected
 * format kept beside its codec.
 */
import { dsb, isb, ldr, mrs, msr, str, work, type Program } from '../core/ops.js';
import { MPIDR_EL1 } from '../core/sysregs.js';
import { redistributorSize } from './config.js';
import { GICD_CTLR, GICD_TYPER, GICR_CTLR, GICR_PENDBASER, GICR_PROPBASER, GICR_SYNCR, GICR_TYPER, GICR_WAKER, ICC_CTLR, ICC_SGIR, LPI_BASE, LPI_CONFIG } from './gic-registers.js';
import { GICD, GICR, GICR_SGI, GICR_SGI_BASE } from './mmio-offsets.js';
import { ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, ICC_SGI1R_EL1 } from './sysregs.js';

/** Linux's default priority mask and interrupt priority (irq-gic-v3.c: DEFAULT_PMR_VALUE, GICD_INT_DEF_PRI). */
export const DEFAULT_PMR = 0xf0;
export const DEFAULT_PRIORITY = 0xa0;

/** Distributor set-up, once, by the boot CPU: Group 1, disabled, default priority; then ARE + EnableGrp1. */
export function* initDistributor(gicd: number): Program<number> {
  yield str(gicd + GICD.CTLR, 0, 4, 1);
  const typer: number = yield ldr(gicd + GICD.TYPER, 4, 1);
  const lines = GICD_TYPER.get(typer, 'ITLinesNumber');
  for (let n = 1; n <= lines; n++) {
    yield str(gicd + GICD.IGROUPR + 4 * n, 0xffffffff, 4, 1);
    yield str(gicd + GICD.ICENABLER + 4 * n, 0xffffffff, 4, 1);
    for (let b = 0; b < 8; b++) yield str(gicd + GICD.IPRIORITYR + 32 * n + 4 * b, DEFAULT_PRIORITY * 0x01010101, 4, 1);
  }
  yield str(gicd + GICD.CTLR, GICD_CTLR.encode({ ARE: 1, EnableGrp1: 1 }), 4, 1);
  return lines * 32;
}

/**
 * Finds the redistributor whose GICR_TYPER.Affinity matches this CPU's MPIDR_EL1, walking the
 * frames as Linux does (128 KB each, 256 KB when VLPIS = 1, until Last). Returns its base or -1.
 */
export function* findRedistributor(gicr: number): Program<number> {
  const mpidr: number = yield mrs(MPIDR_EL1, 1);
  const aff = mpidr % 2 ** 24; // Aff2.Aff1.Aff0 (Aff3 is 0 on these machines)
  let rd = gicr;
  for (let i = 0; i < 4096; i++) {
    const typer: bigint = yield ldr(rd + GICR.TYPER, 8, 1);
    const t = GICR_TYPER.decode(typer);
    if (t.Aff0 + t.Aff1 * 256 + t.Aff2 * 65536 === aff) return rd;
    if (t.Last === 1) return -1;
    rd += redistributorSize(t.VLPIS === 1 ? 4 : 3);
  }
  return -1;
}

/** GICR_WAKER handshake: clear ProcessorSleep, wait for ChildrenAsleep to read 0. */
export function* wakeRedistributor(rd: number): Program {
  yield str(rd + GICR.WAKER, GICR_WAKER.encode({ ProcessorSleep: 0 }), 4, 1);
  for (let i = 0; i < 1000; i++) {
    const w: number = yield ldr(rd + GICR.WAKER, 4, 1);
    if (GICR_WAKER.get(w, 'ChildrenAsleep') === 0) return;
    yield work(50);
  }
}

/** SGIs and PPIs: Group 1, priority `priority` (default 0xa0); SGIs enabled, PPIs disabled except `ppis`. */
export function* initPrivateInterrupts(rd: number, ppis: readonly number[], priority = DEFAULT_PRIORITY): Program {
  const sgi = rd + GICR_SGI_BASE;
  yield str(sgi + GICR_SGI.IGROUPR0, 0xffffffff, 4, 1);
  yield str(sgi + GICR_SGI.ICENABLER0, 0xffff0000, 4, 1);
  for (let b = 0; b < 8; b++) yield str(sgi + GICR_SGI.IPRIORITYR + 4 * b, priority * 0x01010101, 4, 1);
  let enable = 0xffff;
  for (const p of ppis) enable |= 1 << p;
  yield str(sgi + GICR_SGI.ISENABLER0, enable >>> 0, 4, 1);
}

/** The CPU interface: priority mask, binary point 0, EOImode (0: EOIR deactivates; 1: split), Group 1 on. */
export function* initCpuInterface(eoiMode: 0 | 1 = 0, pmr = DEFAULT_PMR): Program {
  yield msr(ICC_PMR_EL1, pmr, 1);
  yield msr(ICC_BPR1_EL1, 0, 1);
  yield msr(ICC_CTLR_EL1, ICC_CTLR.encode({ EOImode: eoiMode }), 1);
  yield msr(ICC_IGRPEN1_EL1, 1, 1);
  yield isb();
}

export interface LpiTables {
  /** Configuration table (one byte per LPI), shared by every CPU. */
  readonly prop: number;
  /** INTID bits of the tables (PROPBASER.IDbits + 1). */
  readonly idBits: number;
}

/** Writes the configuration byte of `intid`: priority, Group1 (RES1) and enable (gic-facts §3). */
export function* configureLpi(tables: LpiTables, intid: number, priority: number, enabled: boolean): Program {
  yield str(tables.prop + (intid - LPI_BASE), LPI_CONFIG.encode({ Priority: priority >> 2, Group1: 1, Enable: enabled ? 1 : 0 }), 1, 1);
}

/**
 * Points this CPU's redistributor at the tables and enables LPIs. `pend` is a 64 KB-aligned
 * pending table; with `zeroed` (the usual case) PENDBASER.PTZ tells the redistributor it is all
 * zero, otherwise the redistributor reads the pending bits it holds.
 */
export function* enableLpis(rd: number, tables: LpiTables, pend: number, zeroed = true): Program {
  yield dsb();
  yield str(rd + GICR.PROPBASER, GICR_PROPBASER.encode({ PA: tables.prop / 4096, IDbits: tables.idBits - 1, Shareability: 1, InnerCache: 7 }), 8, 1);
  yield str(rd + GICR.PENDBASER, GICR_PENDBASER.encode({ PA: pend / 65536, PTZ: zeroed ? 1 : 0, Shareability: 1, InnerCache: 7 }), 8, 1);
  yield str(rd + GICR.CTLR, GICR_CTLR.encode({ EnableLPIs: 1 }), 4, 1);
  yield dsb();
}

/** GICR_INVLPIR: make the redistributor re-read the configuration of `intid`, then wait for GICR_SYNCR. */
export function* invalidateLpi(rd: number, intid: number): Program {
  yield str(rd + GICR.INVLPIR, intid, 8, 1);
  for (let i = 0; i < 1000; i++) {
    const busy: number = yield ldr(rd + GICR.SYNCR, 4, 1);
    if (GICR_SYNCR.get(busy, 'Busy') === 0) return;
  }
}

/** ICC_SGI1R_EL1 for `intid` to the CPUs of `targets` (MPIDR affinities), or to all but self. */
export function* sendSgi(intid: number, targets: readonly number[] | 'others'): Program {
  if (targets === 'others') {
    yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: intid, IRM: 1 }), 1);
    return;
  }
  // One write per Aff3.Aff2.Aff1 cluster, TargetList bits for Aff0 (RS = 0: Aff0 < 16).
  const byCluster = new Map<number, number>();
  for (const aff of targets) {
    const cluster = Math.floor(aff / 256);
    byCluster.set(cluster, (byCluster.get(cluster) ?? 0) | (1 << (aff % 16)));
  }
  for (const [cluster, list] of byCluster) {
    yield msr(ICC_SGI1R_EL1, ICC_SGIR.encode({ INTID: intid, TargetList: list, Aff1: cluster % 256, Aff2: Math.floor(cluster / 256) % 256 }), 1);
  }
  yield isb();
}

/** Affinity (Aff2.Aff1.Aff0) of CPU `i` as the platform numbers them: Aff1 = i / 16, Aff0 = i % 16. */
export function cpuAffinity(i: number): number {
  return Math.floor(i / 16) * 256 + (i % 16);
}

/** The CPU number of affinity `aff` (Aff2.Aff1.Aff0, or an MPIDR) as `cpuAffinity` numbers CPUs, or -1 if it numbers none. */
export function cpuOfAffinity(aff: number): number {
  const aff0 = aff % 256;
  const aff1 = Math.floor(aff / 256) % 256;
  const aff2 = Math.floor(aff / 65536) % 256;
  return aff0 < 16 && aff2 === 0 ? aff1 * 16 + aff0 : -1;
}
