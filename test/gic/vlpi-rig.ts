/**
 * A rig for the redistributors' side of direct injection (GICv4.0): a machine with the whole GIC
 * (gic/board.ts `createBoard`: physical GIC, virtual CPU interfaces, ITS), where each PE boots at
 * EL2 with HCR_EL2 = RW | IMO | FMO and runs a test program, the tables' addresses, and entry into
 * an EL1 guest. What a hypervisor does at EL2 (make a vPE resident or not, enable the virtual CPU
 * interface, write configuration bytes) the programs do with the driver library
 * (drivers/residency.ts, drivers/list-registers.ts, drivers/lpi.ts), through MMIO and system
 * registers only.
 */
import type { VectorTable } from '../../core/code.js';
import type { CostTable } from '../../core/costs.js';
import { HCR_FMO, HCR_IMO, HCR_RW } from '../../core/hcr.js';
import type { Machine } from '../../core/machine.js';
import { eret, mrs, msr, type EntryFn, type Program } from '../../core/ops.js';
import { spsrFor } from '../../core/pstate.js';
import { ELR_EL2, ESR_EL2, HCR_EL2, SPSR_EL2, VBAR_EL1, VBAR_EL2 } from '../../core/sysregs.js';
import type { LpiTables } from '../../drivers/lpi.js';
import type { VpeTables } from '../../drivers/residency.js';
import { createBoard } from '../../gic/board.js';
import { redistributorSize, type GicConfig, type GicOverrides } from '../../gic/config.js';
import type { Gic } from '../../gic/gic.js';
import { GICR_VLPI_BASE } from '../../gic/mmio-offsets.js';

/** The VM's vLPI configuration table (4 KB aligned, 16 vINTID bits). */
export const VPROP = 0x4900_0000;
/** Two virtual pending tables (64 KB aligned, 16 vINTID bits = 8 KB each). */
export const VPT_A = 0x4a00_0000;
export const VPT_B = 0x4a01_0000;
/** Host (physical) LPI configuration table and one pending table per redistributor. */
export const HOST_PROP = 0x4b00_0000;
export const hostPend = (rd: number): number => 0x4c00_0000 + rd * 0x10000;
/** Shared flags between PEs. */
export const FLAGS = 0x4e00_0000;
export const ID_BITS = 16;
/** The VM's vLPI configuration table as the driver library names it (`configureLpi(VPROP_TABLES, ...)`). */
export const VPROP_TABLES: LpiTables = { prop: VPROP, idBits: ID_BITS };

/** The tables of the vPE whose VPT is at `vpt`, with the VM's configuration table (`makeResident(frame, vpe(VPT_A), ...)`). */
export function vpe(vpt: number, idBits = ID_BITS, vprop = VPROP): VpeTables {
  return { vprop, idBits, vpt };
}

const VEC_EL2 = 0x4000_0000;
const VEC_EL1 = 0x4010_0000;
const BOOT = 0x4020_0000;
const GUEST = 0x4030_0000;

export interface VlpiRig {
  readonly m: Machine;
  readonly cfg: GicConfig;
  readonly gic: Gic;
}

/** A board with 1 PE (default) and the trace on (default). */
export function vlpiRig(o: { cores?: number; costs?: Partial<CostTable>; trace?: boolean; gic?: GicOverrides } = {}): VlpiRig {
  const b = createBoard({ cores: o.cores ?? 1, trace: o.trace ?? true, costs: o.costs, gic: o.gic });
  return { m: b.m, cfg: b.config, gic: b.gic };
}

/** Base of PE `pe`'s redistributor (RD_base). */
export function rdBase(r: VlpiRig, pe: number): number {
  return r.cfg.gicrBase + pe * redistributorSize(r.cfg.version);
}

/** Base of PE `pe`'s VLPI_base frame. */
export function vlpiBase(r: VlpiRig, pe: number): number {
  return rdBase(r, pe) + GICR_VLPI_BASE;
}

export interface PeProgram {
  /** EL2 code after boot (VBARs and HCR_EL2 set); usually ends by entering the guest. */
  el2: () => Program;
  /** The EL1 guest's code (entered with `enterGuest(pe)`). */
  guest?: EntryFn;
  /** The guest's EL1 vectors. */
  guestVectors?: VectorTable;
  /** EL2 code for a physical IRQ taken from the guest (IMO = 1); the rig ERETs afterwards. */
  el2Irq?: () => Program;
  /** EL2 code for a guest HVC #imm; the rig ERETs afterwards. */
  hvc?: (imm: number) => Program;
}

/** Powers PE `pe` on at EL2 running `p.el2`. */
export function startPe(r: VlpiRig, pe: number, p: PeProgram): void {
  const m = r.m;
  const vec2 = VEC_EL2 + pe * 0x1000;
  const vec1 = VEC_EL1 + pe * 0x1000;
  m.code.installVectors(
    vec2,
    {
      lower64: {
        irq: function* (): Program {
          if (p.el2Irq) yield* p.el2Irq();
          yield eret();
        },
        sync: function* (): Program {
          const esr: number = yield mrs(ESR_EL2, 9);
          if (p.hvc) yield* p.hvc(esr & 0xffff);
          yield eret();
        },
      },
    },
    `pe${pe}.el2`,
  );
  if (p.guestVectors) m.code.installVectors(vec1, p.guestVectors, `pe${pe}.el1`);
  if (p.guest) m.code.install(GUEST + pe * 0x1000, p.guest, `pe${pe}.guest`);
  m.code.install(
    BOOT + pe * 0x1000,
    function* (): Program {
      yield msr(VBAR_EL2, vec2);
      yield msr(VBAR_EL1, vec1);
      yield msr(HCR_EL2, HCR_RW + HCR_IMO + HCR_FMO);
      yield* p.el2();
    },
    `pe${pe}.boot`,
  );
  m.pes[pe]!.powerOn(BOOT + pe * 0x1000, 2, m.now);
}

/** ERET from EL2 to PE `pe`'s guest at EL1h with PSTATE.DAIF = `daif`. */
export function* enterGuest(pe: number, daif = 0): Program {
  yield msr(SPSR_EL2, spsrFor(1, daif), 9);
  yield msr(ELR_EL2, GUEST + pe * 0x1000, 9);
  yield eret();
}

/** Whether `intid`'s bit is set in the pending table at `table`, read from RAM. */
export function pendingBit(r: VlpiRig, table: number, intid: number): boolean {
  return (r.m.bus.memory.read8(table + (intid >>> 3)) & (1 << (intid & 7))) !== 0;
}
