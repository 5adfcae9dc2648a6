/**
 * A bare-metal machine with the GIC for tests in the style of kvm-unit-tests `arm/gic.c`: N PEs
 * and the whole GIC (gic/board.ts `createBoard`: physical GIC, virtual CPU interfaces, ITS; the
 * virtual interfaces stay unused while HCR_EL2.IMO/FMO are 0), per-PE EL1 vector tables, and
 * Linux-like GIC initialisation routines that programs run through MMIO and ICC_* only.
 */
import { HCR_RW } from '../../core/hcr.js';
import type { CostTable } from '../../core/costs.js';
import type { Machine } from '../../core/machine.js';
import { eret, isb, ldr, msr, str, wfi, work, type EntryFn, type Program } from '../../core/ops.js';
import { PSR_DAIF, spsrFor } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL1, VBAR_EL2 } from '../../core/sysregs.js';
import { createBoard, type Board } from '../../gic/board.js';
import { redistributorSize, type GicConfig, type GicOverrides } from '../../gic/config.js';
import { GICD_CTLR, GICR_CTLR, GICR_PENDBASER, GICR_PROPBASER, GICR_SYNCR, GICR_WAKER, ICC_CTLR } from '../../gic/gic-registers.js';
import type { Its } from '../../gic/its/its.js';
import type { PhysicalGic } from '../../gic/physical-gic.js';
import { CpuReg } from '../../gic/ports.js';
import { ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1 } from '../../gic/sysregs.js';

export const VEC_EL2 = 0x4000_0000;
export const VEC_EL1 = 0x4010_0000;
export const BOOT = 0x4020_0000;
export const MAIN = 0x4030_0000;
/** Shared RAM for flags between PEs. */
export const FLAGS = 0x4800_0000;
/** Free RAM for tables (LPI configuration and pending tables). */
export const TABLES = 0x4900_0000;

export interface GicMachineOptions {
  cores?: number;
  gic?: GicOverrides;
  trace?: boolean;
  costs?: Partial<CostTable>;
}

export interface GicMachine {
  m: Machine;
  /** The physical GIC (distributor, redistributors, CPU interfaces). */
  gic: PhysicalGic;
  cfg: GicConfig;
  /** The ITS, at `cfg.itsBase`. */
  its: Its;
  /** The whole board (virtual CPU interfaces included). */
  board: Board;
}

/** A board with 4 PEs (default) and the trace on (default), built by `createBoard`. */
export function buildGicMachine(opts: GicMachineOptions = {}): GicMachine {
  const board = createBoard({ cores: opts.cores ?? 4, trace: opts.trace ?? true, costs: opts.costs, gic: opts.gic });
  return { m: board.m, gic: board.gic.physical, cfg: board.config, its: board.gic.its, board };
}

/** Address of a GICD register. */
export function gicd(cfg: GicConfig, off: number): number {
  return cfg.gicdBase + off;
}

/** Address of a register in PE `pe`'s RD_base frame. */
export function gicr(cfg: GicConfig, pe: number, off: number): number {
  return cfg.gicrBase + pe * redistributorSize(cfg.version) + off;
}

/** Address of a register in PE `pe`'s SGI_base frame. */
export function gicrSgi(cfg: GicConfig, pe: number, off: number): number {
  return gicr(cfg, pe, 0x10000 + off);
}

export interface PeCode {
  main: EntryFn;
  irq?: EntryFn;
  fiq?: EntryFn;
}

/**
 * Powers every PE on at an EL2 stub that sets its own VBAR_EL1, HCR_EL2 = RW (IMO = FMO = 0:
 * bare metal, physical interrupts to EL1) and ERETs to its `main` at EL1h with DAIF masked.
 */
export function bootEl1(g: GicMachine, code: (pe: number) => PeCode): void {
  const m = g.m;
  for (let pe = 0; pe < m.cores; pe++) {
    const c = code(pe);
    const vec = VEC_EL1 + pe * 0x800;
    const main = MAIN + pe * 0x100;
    const boot = BOOT + pe * 0x100;
    const unexpected: EntryFn = function* () {
      throw new Error(`PE${pe}: unexpected exception`);
    };
    m.code.installVectors(vec, { curSpx: { sync: unexpected, irq: c.irq ?? unexpected, fiq: c.fiq ?? unexpected, serror: unexpected } }, `pe${pe}.el1`);
    m.code.install(main, c.main, `pe${pe}.main`);
    m.code.install(
      boot,
      function* (): Program {
        yield msr(VBAR_EL2, VEC_EL2);
        yield msr(VBAR_EL1, vec);
        yield msr(HCR_EL2, HCR_RW);
        yield msr(SPSR_EL2, spsrFor(1, PSR_DAIF));
        yield msr(ELR_EL2, main);
        yield eret();
      },
      `pe${pe}.boot`,
    );
    m.pes[pe]!.powerOn(boot, 2, 0);
  }
}

// ---------------------------------------------------------------- Linux-like GIC bring-up

/** Distributor init on the boot PE (like gic_dist_init): all SPIs Group 1, disabled, priority `prio`, routed to PE 0. */
export function* distInit(cfg: GicConfig, prio = 0xa0): Program {
  yield str(gicd(cfg, 0x0000), 0);
  const words = (32 + cfg.spis) / 32;
  for (let n = 1; n < words; n++) {
    yield str(gicd(cfg, 0x0080 + 4 * n), 0xffffffff);
    yield str(gicd(cfg, 0x0180 + 4 * n), 0xffffffff);
    yield str(gicd(cfg, 0x0380 + 4 * n), 0xffffffff);
    yield str(gicd(cfg, 0x0280 + 4 * n), 0xffffffff);
  }
  for (let i = 32; i < 32 + cfg.spis; i += 4) yield str(gicd(cfg, 0x0400 + i), prio * 0x01010101);
  for (let i = 32; i < 32 + cfg.spis; i++) yield str(gicd(cfg, 0x6000 + 8 * i), 0n, 8);
  yield str(gicd(cfg, 0x0000), GICD_CTLR.encode({ ARE: 1, EnableGrp0: 1, EnableGrp1: 1 }));
}

/** Redistributor init on PE `pe` (like gic_cpu_init): wake handshake, SGIs/PPIs Group 1, SGIs enabled, priority `prio`. */
export function* redistInit(cfg: GicConfig, pe: number, prio = 0xa0): Program {
  const waker = gicr(cfg, pe, 0x0014);
  const w: number = yield ldr(waker);
  yield str(waker, GICR_WAKER.set(w, 'ProcessorSleep', 0));
  for (;;) {
    const v: number = yield ldr(waker);
    if (GICR_WAKER.get(v, 'ChildrenAsleep') === 0) break;
    yield work(10);
  }
  yield str(gicrSgi(cfg, pe, 0x0080), 0xffffffff);
  yield str(gicrSgi(cfg, pe, 0x0180), 0xffff0000);
  yield str(gicrSgi(cfg, pe, 0x0100), 0x0000ffff);
  for (let i = 0; i < 32; i += 4) yield str(gicrSgi(cfg, pe, 0x0400 + i), prio * 0x01010101);
}

/** CPU interface init (like gic_cpu_sys_reg_init): PMR, BPR1 = 0, EOImode, Group 1 enabled. */
export function* cpuifInit(opts: { pmr?: number; eoiMode?: boolean; group0?: boolean } = {}): Program {
  yield msr(ICC_PMR_EL1, opts.pmr ?? 0xf0);
  yield msr(ICC_BPR1_EL1, 0);
  yield msr(ICC_CTLR_EL1, ICC_CTLR.encode({ EOImode: opts.eoiMode === true ? 1 : 0 }));
  yield msr(ICC_IGRPEN1_EL1, 1);
  if (opts.group0 === true) yield msr(ICC_IGRPEN0_EL1, 1);
  yield isb();
}

/**
 * Idles in WFI for ever: the machine's run ends once every PE sleeps and no event is queued.
 * (Prefer this to long WORK on several PEs at once, which the machine must interleave finely.)
 */
export function* idle(): Program {
  for (;;) yield wfi();
}

export interface LpiTablesSetup {
  /** Physical address of the LPI configuration table (4 KB aligned). */
  prop: number;
  /** Physical address of this redistributor's pending table (64 KB aligned). */
  pend: number;
  /** INTID bits the tables cover (PROPBASER.IDbits + 1). */
  idBits: number;
  /** PENDBASER.PTZ: the pending table is known to be zero. */
  ptz?: boolean;
}

/** LPI bring-up on PE `pe` (like its_cpu_init_lpis): PROPBASER, PENDBASER, then EnableLPIs. */
export function* lpiInit(cfg: GicConfig, pe: number, t: LpiTablesSetup): Program {
  yield str(gicr(cfg, pe, 0x0070), GICR_PROPBASER.encode({ PA: t.prop / 4096, IDbits: t.idBits - 1, Shareability: 1, InnerCache: 7 }), 8);
  yield str(gicr(cfg, pe, 0x0078), GICR_PENDBASER.encode({ PA: t.pend / 65536, PTZ: t.ptz === true ? 1 : 0, Shareability: 1, InnerCache: 7 }), 8);
  yield str(gicr(cfg, pe, 0x0000), GICR_CTLR.encode({ EnableLPIs: 1 }));
}

/** GICR_INVLPIR (or INVALLR when `intid` is undefined) on PE `pe`'s redistributor, then polls GICR_SYNCR until not busy. */
export function* invalidateLpi(cfg: GicConfig, pe: number, intid?: number): Program {
  if (intid === undefined) yield str(gicr(cfg, pe, 0x00b0), 0n, 8);
  else yield str(gicr(cfg, pe, 0x00a0), BigInt(intid), 8);
  for (;;) {
    const busy: number = yield ldr(gicr(cfg, pe, 0x00c0));
    if (GICR_SYNCR.get(busy, 'Busy') === 0) return;
  }
}

/** Sets a 32-bit flag in shared RAM. */
export function* setFlag(addr: number, v = 1): Program {
  yield str(addr, v);
}

/** Polls a 32-bit flag in shared RAM until it reads `v`. */
export function* waitFlag(addr: number, v = 1): Program {
  for (;;) {
    const x: number = yield ldr(addr);
    if (x === v) return;
    yield work(50);
  }
}

/** Waits until every PE has set its "ready" flag at FLAGS + 4 * pe. */
export function* waitAllReady(cores: number): Program {
  for (let p = 0; p < cores; p++) yield* waitFlag(FLAGS + 4 * p);
}

export { CpuReg };
