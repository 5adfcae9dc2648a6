/**
 * The GIC system register interface: who handles an MRS/MSR of an ICC_*, ICV_* or ICH_*
 * encoding, and when it traps (Arm ARM DDI 0487, HCR_EL2.IMO/FMO; IHI 0069, the ICC_*, ICV_*
 * and ICH_HCR_EL2 register descriptions).
 *
 * - EL0: every ICC_* access is UNDEFINED.
 * - EL1 with HCR_EL2.IMO = 1: Group-1 registers (IAR1, EOIR1, HPPIR1, BPR1, AP1Rn, IGRPEN1) go
 *   to the virtual CPU interface (ICV_*); with FMO = 1 the Group-0 ones; with IMO or FMO the
 *   common ones (CTLR, DIR, PMR, RPR). SGI generation registers trap to EL2 (EC 0x18) when
 *   IMO or FMO is set. ICH_HCR_EL2.TC/TALL0/TALL1/TDIR trap the classes they name.
 * - EL2 (and EL1 without the routing bits): the physical CPU interface.
 * - ICH_* registers exist at EL2 only; at EL1 they are UNDEFINED (no nested virtualization).
 * - ICC_SRE_EL1/EL2 are RAO/WI: the system register interface is always enabled.
 */
import type { Word } from '../core/bits.js';
import { HCR_FMO, HCR_IMO } from '../core/hcr.js';
import type { Machine } from '../core/machine.js';
import type { PE } from '../core/pe.js';
import { Access, type SysReg, type SysRegHandler } from '../core/sysreg.js';
import type { GicConfig } from './config.js';
import { CpuReg, IchReg, type CpuInterfacePort, type VirtualCpuInterfacePort } from './ports.js';
import * as S from './sysregs.js';

const GROUP0 = 0;
const GROUP1 = 1;
const COMMON = 2;
const SGI = 3;

interface CpuRegSpec {
  reg: SysReg;
  id: CpuReg;
  cls: number;
  ro?: boolean;
  wo?: boolean;
  wide?: boolean;
  /** AP register index: exists only if the implemented priority/preemption bits need it. */
  apIndex?: number;
}

const CPU_REGS: readonly CpuRegSpec[] = [
  { reg: S.ICC_IAR0_EL1, id: CpuReg.IAR0, cls: GROUP0, ro: true },
  { reg: S.ICC_IAR1_EL1, id: CpuReg.IAR1, cls: GROUP1, ro: true },
  { reg: S.ICC_EOIR0_EL1, id: CpuReg.EOIR0, cls: GROUP0, wo: true },
  { reg: S.ICC_EOIR1_EL1, id: CpuReg.EOIR1, cls: GROUP1, wo: true },
  { reg: S.ICC_HPPIR0_EL1, id: CpuReg.HPPIR0, cls: GROUP0, ro: true },
  { reg: S.ICC_HPPIR1_EL1, id: CpuReg.HPPIR1, cls: GROUP1, ro: true },
  { reg: S.ICC_BPR0_EL1, id: CpuReg.BPR0, cls: GROUP0 },
  { reg: S.ICC_BPR1_EL1, id: CpuReg.BPR1, cls: GROUP1 },
  ...[0, 1, 2, 3].map((n) => ({ reg: S.ICC_AP0R_EL1[n]!, id: (CpuReg.AP0R0 + n) as CpuReg, cls: GROUP0, apIndex: n })),
  ...[0, 1, 2, 3].map((n) => ({ reg: S.ICC_AP1R_EL1[n]!, id: (CpuReg.AP1R0 + n) as CpuReg, cls: GROUP1, apIndex: n })),
  { reg: S.ICC_DIR_EL1, id: CpuReg.DIR, cls: COMMON, wo: true },
  { reg: S.ICC_RPR_EL1, id: CpuReg.RPR, cls: COMMON, ro: true },
  { reg: S.ICC_PMR_EL1, id: CpuReg.PMR, cls: COMMON },
  { reg: S.ICC_CTLR_EL1, id: CpuReg.CTLR, cls: COMMON },
  { reg: S.ICC_IGRPEN0_EL1, id: CpuReg.IGRPEN0, cls: GROUP0 },
  { reg: S.ICC_IGRPEN1_EL1, id: CpuReg.IGRPEN1, cls: GROUP1 },
  { reg: S.ICC_SGI1R_EL1, id: CpuReg.SGI1R, cls: SGI, wo: true, wide: true },
  { reg: S.ICC_ASGI1R_EL1, id: CpuReg.ASGI1R, cls: SGI, wo: true, wide: true },
  { reg: S.ICC_SGI0R_EL1, id: CpuReg.SGI0R, cls: SGI, wo: true, wide: true },
];

/** Number of APRs per group for `bits` priority (or preemption) bits: 1, 2 (6 bits) or 4 (7 bits). */
export function aprCount(bits: number): number {
  return bits >= 7 ? 4 : bits === 6 ? 2 : 1;
}

/** Whether an EL1 access to a register of class `cls` goes to the virtual CPU interface. */
function virtualAtEl1(cls: number, hcr: number): boolean {
  if (cls === GROUP1) return (hcr & HCR_IMO) !== 0;
  if (cls === GROUP0) return (hcr & HCR_FMO) !== 0;
  return (hcr & (HCR_IMO | HCR_FMO)) !== 0;
}

export function defineGicSysregs(
  m: Machine,
  cfg: GicConfig,
  phys: readonly CpuInterfacePort[],
  virt: readonly VirtualCpuInterfacePort[],
): void {
  const c = m.costs;
  const physAprs = aprCount(Math.min(cfg.priorityBits, 7));
  const virtAprs = aprCount(cfg.preemptionBits);
  for (const spec of CPU_REGS) {
    const cost = spec.id === CpuReg.IAR0 || spec.id === CpuReg.IAR1 ? c.iccAck : spec.id === CpuReg.EOIR0 || spec.id === CpuReg.EOIR1 || spec.id === CpuReg.DIR ? c.iccEoi : c.iccOther;
    // The spec's optional fields as plain captured values: the specs have several shapes, and
    // the handlers share one compiled `access`, where reading them from `spec` would be a
    // megamorphic property load on every ICC_*/ICV_* access.
    const { cls, id } = spec;
    const ro = spec.ro === true;
    const wo = spec.wo === true;
    const apIndex = spec.apIndex ?? -1;
    const h: SysRegHandler = {
      reg: spec.reg,
      wide: spec.wide ?? false,
      readCost: cost,
      writeCost: cost,
      access(pe: PE, read: boolean): Access {
        if (pe.el === 0) return Access.Undefined;
        if (read ? wo : ro) return Access.Undefined;
        if (pe.el === 1) {
          const routed = (pe.hcr & (HCR_IMO | HCR_FMO)) !== 0;
          if (cls === SGI && routed) return Access.TrapEl2;
          const isVirt = virtualAtEl1(cls, pe.hcr);
          if (apIndex >= 0 && apIndex >= (isVirt ? virtAprs : physAprs)) return Access.Undefined;
          // ICH_HCR_EL2.TC/TALL0/TALL1/TDIR trap EL1 accesses to ICC_* and ICV_* alike.
          if (virt[pe.index]!.trapsEl1(id, read)) return Access.TrapEl2;
          return Access.Ok;
        }
        if (apIndex >= 0 && apIndex >= physAprs) return Access.Undefined;
        return Access.Ok;
      },
      read(pe: PE): Word {
        if (pe.el === 1 && virtualAtEl1(cls, pe.hcr)) return virt[pe.index]!.read(id, pe);
        return phys[pe.index]!.read(id, pe);
      },
      write(pe: PE, v: Word): void {
        if (pe.el === 1 && virtualAtEl1(cls, pe.hcr)) virt[pe.index]!.write(id, pe, v);
        else phys[pe.index]!.write(id, pe, v);
      },
    };
    m.sysregs.define(h);
  }
  // System register interface always on: SRE, DFB, DIB (and Enable at EL2) read as one.
  m.sysregs.define(fixed(S.ICC_SRE_EL1, 1, 0x7, c.iccOther));
  m.sysregs.define(fixed(S.ICC_SRE_EL2, 2, 0xf, c.iccOther));

  const ich = (reg: SysReg, which: IchReg, n: number, ro: boolean, exists: boolean, wide = false): void => {
    m.sysregs.define({
      reg,
      wide,
      readCost: c.ichAccess,
      writeCost: c.ichAccess,
      access: (pe, read) => (pe.el < 2 || !exists || (!read && ro) ? Access.Undefined : Access.Ok),
      read: (pe) => virt[pe.index]!.readIch(which, n, pe),
      write: (pe, v) => virt[pe.index]!.writeIch(which, n, pe, v),
    });
  };
  ich(S.ICH_HCR_EL2, IchReg.HCR, 0, false, true);
  ich(S.ICH_VTR_EL2, IchReg.VTR, 0, true, true);
  ich(S.ICH_MISR_EL2, IchReg.MISR, 0, true, true);
  ich(S.ICH_EISR_EL2, IchReg.EISR, 0, true, true);
  ich(S.ICH_ELRSR_EL2, IchReg.ELRSR, 0, true, true);
  ich(S.ICH_VMCR_EL2, IchReg.VMCR, 0, false, true);
  for (let n = 0; n < 4; n++) {
    ich(S.ICH_AP0R_EL2[n]!, IchReg.AP0R, n, false, n < virtAprs);
    ich(S.ICH_AP1R_EL2[n]!, IchReg.AP1R, n, false, n < virtAprs);
  }
  for (let n = 0; n < 16; n++) ich(S.ICH_LR_EL2[n]!, IchReg.LR, n, false, n < cfg.listRegs, true);
  m.gicSysregInterface = 1;
}

function fixed(reg: SysReg, minEl: number, value: number, cost: number): SysRegHandler {
  return {
    reg,
    wide: false,
    readCost: cost,
    writeCost: cost,
    access: (pe) => (pe.el < minEl ? Access.Undefined : Access.Ok),
    read: () => value,
    write: () => {},
  };
}
