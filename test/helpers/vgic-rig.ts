/**
 * A bare-metal rig for virtual CPU interface tests: one machine with a VirtualCpuInterface per
 * PE, the GIC system registers defined over it (gic/cpuif-regs.ts), a fake recording physical
 * GIC (PhysicalGicPort) and stub physical CPU interfaces. Code runs as on hardware: an EL2
 * program writes ICH_* registers and ERETs to an EL1 guest (HCR_EL2.IMO/FMO = 1), whose
 * vectors use the ICC_* encodings (redirected to ICV_*). The guest reaches EL2 with HVC; the
 * rig's EL2 sync vector runs the test's `hvc` program and returns to the guest.
 */
import type { Word } from '../../core/bits.js';
import type { VectorTable } from '../../core/code.js';
import { EC, ESR } from '../../core/esr.js';
import { HCR_FMO, HCR_IMO, HCR_RW } from '../../core/hcr.js';
import type { Machine, MachineConfig } from '../../core/machine.js';
import { eret, mrs, msr, wfi, type EntryFn, type Program } from '../../core/ops.js';
import type { PE } from '../../core/pe.js';
import { spsrFor } from '../../core/pstate.js';
import { ELR_EL1, ELR_EL2, ESR_EL2, SPSR_EL1, SPSR_EL2 } from '../../core/sysregs.js';
import { gicConfig, type GicConfig } from '../../gic/config.js';
import { defineGicSysregs } from '../../gic/cpuif-regs.js';
import { encodeLr, LrState, type LrFields } from '../../gic/ich-registers.js';
import { CpuReg, type CpuInterfacePort, type PhysicalGicPort, type VlpiSource } from '../../gic/ports.js';
import { ICC_EOIR0_EL1, ICC_EOIR1_EL1, ICC_IAR0_EL1, ICC_IAR1_EL1 } from '../../gic/sysregs.js';
import { VirtualCpuInterface } from '../../gic/virtual-cpu-interface.js';
import { cpuOff, setup } from './harness.js';

export const GUEST = 0x4003_0000;

/** A PhysicalGicPort that records what the virtual CPU interface asked of it. */
export class FakePhysicalGic implements PhysicalGicPort {
  readonly ppiLog: { pe: number; intid: number; level: boolean }[] = [];
  readonly deactivated: { pe: number; intid: number }[] = [];

  setPpiLevel(pe: number, intid: number, level: boolean): void {
    this.ppiLog.push({ pe, intid, level });
  }

  deactivatePhysical(pe: number, intid: number): void {
    this.deactivated.push({ pe, intid });
  }

  /** The level last driven on (pe, intid); false if never driven. */
  level(pe: number, intid: number): boolean {
    for (let i = this.ppiLog.length - 1; i >= 0; i--) {
      const e = this.ppiLog[i]!;
      if (e.pe === pe && e.intid === intid) return e.level;
    }
    return false;
  }

  /** The sequence of levels driven on (pe, intid). */
  levels(pe: number, intid: number): boolean[] {
    return this.ppiLog.filter((e) => e.pe === pe && e.intid === intid).map((e) => e.level);
  }
}

/** A physical ICC_* interface that only records accesses (IAR reads return 1023). */
export class StubCpuInterface implements CpuInterfacePort {
  readonly accesses: string[] = [];

  read(reg: CpuReg, _pe: PE): Word {
    this.accesses.push(`read ${reg}`);
    return reg === CpuReg.IAR0 || reg === CpuReg.IAR1 || reg === CpuReg.HPPIR0 || reg === CpuReg.HPPIR1 ? 1023 : 0;
  }

  write(reg: CpuReg, _pe: PE, v: Word): void {
    this.accesses.push(`write ${reg} ${v}`);
  }
}

/** A redistributor stand-in holding one pending vLPI of the resident vPE. */
export class FakeVlpiSource implements VlpiSource {
  private value = -1;
  readonly acknowledged: number[] = [];

  constructor(private readonly virt: VirtualCpuInterface) {}

  /** Makes `vintid` at `priority` the best pending vLPI and tells the virtual CPU interface. */
  set(priority: number, vintid: number): void {
    this.value = priority * 2 ** 24 + vintid;
    this.virt.vlpiChanged();
  }

  best(): number {
    return this.value;
  }

  acknowledge(vintid: number): void {
    this.acknowledged.push(vintid);
    if (this.value >= 0 && this.value % 2 ** 24 === vintid) {
      this.value = -1;
      this.virt.vlpiChanged();
    }
  }
}

export interface RigOptions {
  gic?: Parameters<typeof gicConfig>[0];
  /** HCR_EL2 while EL2 main runs and for the guest (default RW | IMO | FMO). */
  hcr?: number;
  /** EL2 code run after boot; usually writes ICH_* and ends with `yield* enterGuest()`. */
  el2: () => Program;
  /** Guest code at GUEST (EL1). Default: WFI forever. */
  guest?: EntryFn;
  /** EL1 vectors of the guest. */
  guestVectors?: VectorTable;
  /** EL2 code for a guest HVC #imm (the rig returns to the guest afterwards). */
  hvc?: (imm: number) => Program;
  /**
   * EL2 code for any other synchronous exception from the guest (ESR_EL2 given). When present
   * the rig then skips the trapped instruction (ELR_EL2 + 4) and returns; when absent the PE
   * powers off.
   */
  trap?: (esr: number) => Program;
  machine?: MachineConfig;
}

export interface Rig {
  m: Machine;
  cfg: GicConfig;
  virt: VirtualCpuInterface[];
  phys: FakePhysicalGic;
  icc: StubCpuInterface[];
  /** ESR_EL2 of every synchronous exception taken to EL2 that was not an HVC. */
  el2Traps: number[];
}

export function vgicRig(o: RigOptions): Rig {
  const el2Traps: number[] = [];
  const m = setup({
    el: 2,
    hcr: o.hcr ?? HCR_RW + HCR_IMO + HCR_FMO,
    main: o.el2,
    el1Vectors: o.guestVectors,
    el2Vectors: {
      lower64: {
        sync: function* (): Program {
          const esr: number = yield mrs(ESR_EL2, 9);
          if (ESR.get(esr, 'EC') !== EC.HVC64) {
            el2Traps.push(esr);
            if (!o.trap) {
              yield* cpuOff();
              return;
            }
            yield* o.trap(esr);
            const elr: number = yield mrs(ELR_EL2, 9);
            yield msr(ELR_EL2, elr + 4, 9);
            yield eret();
            return;
          }
          if (o.hvc) yield* o.hvc(ESR.get(esr, 'ISS') & 0xffff);
          yield eret();
        },
      },
    },
    machine: o.machine,
  });
  m.code.install(
    GUEST,
    o.guest ??
      function* (): Program {
        for (;;) yield wfi();
      },
    'guest',
  );
  const cfg = gicConfig(o.gic ?? {});
  const phys = new FakePhysicalGic();
  const icc = m.pes.map(() => new StubCpuInterface());
  const virt = m.pes.map((pe) => new VirtualCpuInterface(m, cfg, pe, phys));
  defineGicSysregs(m, cfg, icc, virt);
  return { m, cfg, virt, phys, icc, el2Traps };
}

/** ERET from EL2 to the guest at EL1h with PSTATE.DAIF = `daif` (PSR_* bits). */
export function* enterGuest(entry = GUEST, daif = 0): Program {
  yield msr(SPSR_EL2, spsrFor(1, daif), 9);
  yield msr(ELR_EL2, entry, 9);
  yield eret();
}

/** An ICH_LR<n>_EL2 value: Pending, Group 1 unless stated. */
export function lr(f: { vintid: number; priority: number; group?: number; state?: number; hw?: boolean; pintid?: number; eoi?: boolean }): bigint {
  const fields: Partial<LrFields> = {
    vINTID: f.vintid,
    Priority: f.priority,
    Group: f.group ?? 1,
    State: f.state ?? LrState.Pending,
    HW: f.hw === true ? 1 : 0,
    pINTID: f.pintid ?? 0,
    EOI: f.eoi === true ? 1 : 0,
  };
  return encodeLr(fields);
}

/**
 * A guest IRQ (or FIQ, `group` 0) vector that acknowledges with ICV_IAR<g>, logs the INTID,
 * runs `body` (which may HVC or unmask), and writes ICV_EOIR<g> unless `eoi` is false.
 * ELR_EL1/SPSR_EL1 are saved and restored so that the handler may nest.
 */
export function ackHandler(log: (string | number)[], opts: { group?: 0 | 1; eoi?: boolean; body?: (intid: number) => Program } = {}): EntryFn {
  const g = opts.group ?? 1;
  return function* (): Program {
    const elr: number = yield mrs(ELR_EL1, 10);
    const spsr: number = yield mrs(SPSR_EL1, 11);
    const intid: number = yield mrs(g === 1 ? ICC_IAR1_EL1 : ICC_IAR0_EL1, 0);
    log.push(intid);
    if (opts.body) yield* opts.body(intid);
    if (opts.eoi !== false && intid !== 1023) yield msr(g === 1 ? ICC_EOIR1_EL1 : ICC_EOIR0_EL1, intid, 0);
    yield msr(ELR_EL1, elr, 10);
    yield msr(SPSR_EL1, spsr, 11);
    yield eret();
  };
}

/** LR state (bits [63:62]) of an ICH_LR<n>_EL2 value: the driver library's decoder. */
export { lrState } from '../../drivers/list-registers.js';
