/**
 * A bare-metal machine with the GIC for tests in the style of kvm-unit-tests `arm/gic.c`: N PEs
 * and the whole GIC (gic/board.ts `createBoard`: physical GIC, virtual CPU interfaces, ITS; the
 * virtual interfaces stay unused while HCR_EL2.IMO/FMO are 0), per-PE EL1 vector tables, flags
 * between PEs and address helpers. The programs bring the GIC up with the driver library
 * (drivers/gic-init.ts, drivers/lpi.ts), as every other program does.
 */
import { HCR_RW } from '../../core/hcr.js';
import type { CostTable } from '../../core/costs.js';
import type { Machine } from '../../core/machine.js';
import { eret, ldr, msr, str, wfi, work, type EntryFn, type Program } from '../../core/ops.js';
import { PSR_DAIF, spsrFor } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL1, VBAR_EL2 } from '../../core/sysregs.js';
import type { DistributorOptions } from '../../drivers/gic-init.js';
import { createBoard, type Board } from '../../gic/board.js';
import { redistributorSize, type GicConfig, type GicOverrides } from '../../gic/config.js';
import type { Its } from '../../gic/its/its.js';
import type { PhysicalGic } from '../../gic/physical-gic.js';
import { CpuReg } from '../../gic/ports.js';

export const VEC_EL2 = 0x4000_0000;
export const VEC_EL1 = 0x4010_0000;
export const BOOT = 0x4020_0000;
export const MAIN = 0x4030_0000;
/** Shared RAM for flags between PEs. */
export const FLAGS = 0x4800_0000;
/** Free RAM for tables (LPI configuration and pending tables). */
export const TABLES = 0x4900_0000;

/**
 * How the tests bring the distributor up (`initDistributor(cfg.gicdBase, DIST_OPTIONS)`): every
 * SPI's active and pending state cleared and routed to PE 0 (affinity 0), Group 0 enabled as
 * well as Group 1 (the SGI and SPI tests use both).
 */
export const DIST_OPTIONS: DistributorOptions = { clear: true, routeTo: 0, group0: true };

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

/**
 * Idles in WFI for ever: the machine's run ends once every PE sleeps and no event is queued.
 * (Prefer this to long WORK on several PEs at once, which the machine must interleave finely.)
 */
export function* idle(): Program {
  for (;;) yield wfi();
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
