/**
 * Handlers for the core's system registers: per-EL access rules, the HCR_EL2.TVM/TRVM traps
 * of the EL1 virtual-memory controls, and the virtualised ID registers (an EL1 read of MIDR_EL1
 * or MPIDR_EL1 returns VPIDR_EL2 / VMPIDR_EL2 while EL2 is enabled).
 */
import { toNum, type Word } from './bits.js';
import type { CostTable } from './costs.js';
import { HCR_TRVM, HCR_TVM } from './hcr.js';
import type { PE } from './pe.js';
import { plainSlot } from './plain-sysregs.js';
import { PSR_DAIF, PSR_NZCV } from './pstate.js';
import { Access, handler, type SysReg, type SysRegRegistry } from './sysreg.js';
import * as R from './sysregs.js';

/** TVM traps EL1 writes, TRVM EL1 reads, of the EL1 virtual-memory control registers. */
const TVM_REGS = new Set<SysReg>([R.SCTLR_EL1, R.TTBR0_EL1, R.TTBR1_EL1, R.TCR_EL1, R.ESR_EL1, R.FAR_EL1, R.AFSR0_EL1, R.AFSR1_EL1, R.MAIR_EL1, R.AMAIR_EL1, R.CONTEXTIDR_EL1]);

function tvmTrap(pe: PE, read: boolean): Access {
  if (pe.el !== 1) return Access.Ok;
  return (pe.hcr & (read ? HCR_TRVM : HCR_TVM)) !== 0 ? Access.TrapEl2 : Access.Ok;
}

export function defineCoreSysregs(reg: SysRegRegistry, costs: CostTable, idGic: () => number): void {
  const rc = costs.sysregRead;
  const wc = costs.sysregWrite;
  const plain = (r: SysReg, minEl: 0 | 1 | 2, opts: { ro?: boolean; reset?: Word } = {}): void => {
    const slot = plainSlot(r.name);
    const reset = opts.reset ?? 0;
    reg.define(
      handler({
        reg: r,
        minEl,
        ro: opts.ro,
        readCost: rc,
        writeCost: wc,
        trap: TVM_REGS.has(r) ? tvmTrap : undefined,
        slot,
        reset,
      }),
    );
  };
  const field = (r: SysReg, minEl: 0 | 1 | 2, get: (pe: PE) => number, set: (pe: PE, v: number) => void, trap?: (pe: PE, read: boolean) => Access): void => {
    reg.define(handler({ reg: r, minEl, readCost: rc, writeCost: wc, trap, read: get, write: (pe, v) => set(pe, toNum(v)) }));
  };

  // Identification. EL1 sees the virtualisation values EL2 programmed.
  reg.define(handler({ reg: R.MIDR_EL1, minEl: 1, ro: true, readCost: rc, read: (pe) => (pe.el === 1 ? pe.vpidr : pe.m.midr) }));
  reg.define(handler({ reg: R.MPIDR_EL1, minEl: 1, ro: true, readCost: rc, read: (pe) => (pe.el === 1 ? pe.vmpidr : pe.mpidr) }));
  // EL0/EL1/EL2 AArch64 only, no EL3, no FP/AdvSIMD, GIC field from the attached interrupt controller.
  reg.define(handler({ reg: R.ID_AA64PFR0_EL1, minEl: 1, ro: true, readCost: rc, read: () => 0x00ff0111 + idGic() * 0x1000000 }));
  field(R.VPIDR_EL2, 2, (pe) => pe.vpidr, (pe, v) => (pe.vpidr = v >>> 0));
  field(R.VMPIDR_EL2, 2, (pe) => pe.vmpidr, (pe, v) => (pe.vmpidr = v));

  // EL1 state.
  for (const r of [R.SCTLR_EL1, R.CPACR_EL1, R.TTBR0_EL1, R.TTBR1_EL1, R.TCR_EL1, R.AFSR0_EL1, R.AFSR1_EL1, R.PAR_EL1, R.MAIR_EL1, R.AMAIR_EL1, R.CONTEXTIDR_EL1, R.TPIDR_EL1, R.SP_EL0]) {
    plain(r, 1, r === R.SCTLR_EL1 ? { reset: 0x30d00800 } : {});
  }
  plain(R.TPIDR_EL0, 0);
  const TPIDRRO = plainSlot('TPIDRRO_EL0');
  reg.define(handler({ reg: R.TPIDRRO_EL0, minEl: 0, readCost: rc, writeCost: wc, trap: (pe, read) => (pe.el === 0 && !read ? Access.Undefined : Access.Ok), slot: TPIDRRO, reset: 0 }));
  field(R.ELR_EL1, 1, (pe) => pe.elr1, (pe, v) => (pe.elr1 = v));
  field(R.SPSR_EL1, 1, (pe) => pe.spsr1, (pe, v) => (pe.spsr1 = v >>> 0));
  field(R.ESR_EL1, 1, (pe) => pe.esr1, (pe, v) => (pe.esr1 = v >>> 0), tvmTrap);
  field(R.FAR_EL1, 1, (pe) => pe.far1, (pe, v) => (pe.far1 = v), tvmTrap);
  field(R.VBAR_EL1, 1, (pe) => pe.vbar1, (pe, v) => (pe.vbar1 = v - (v % 2048)));

  // PSTATE views.
  reg.define(handler({ reg: R.CURRENT_EL, minEl: 1, ro: true, readCost: rc, read: (pe) => pe.el << 2 }));
  field(R.SPSEL, 1, (pe) => pe.spsel, (pe, v) => (pe.spsel = v & 1));
  // PSTATE.NZCV: saved to SPSR_ELx on exception entry and restored by ERET (pe.ts).
  reg.define(handler({ reg: R.NZCV, minEl: 0, readCost: rc, writeCost: wc, read: (pe) => pe.nzcv, write: (pe, v) => (pe.nzcv = (toNum(v) & PSR_NZCV) >>> 0) }));
  reg.define(
    handler({
      reg: R.DAIF,
      minEl: 0,
      readCost: rc,
      writeCost: wc,
      // EL0 access needs SCTLR_EL1.UMA (bit 9); without it MRS/MSR DAIF trap to EL1 with
      // EC 0x18 (SCTLR_EL1.UMA), as MSR DAIFSet/DAIFClr do (pe.ts execDaif).
      trap: (pe) => (pe.el0DaifTraps() ? Access.TrapEl1 : Access.Ok),
      read: (pe) => pe.daif,
      write: (pe, v) => {
        pe.daif = toNum(v) & PSR_DAIF;
        pe.updateTakeable();
      },
    }),
  );

  // EL2 state.
  for (const r of [R.SCTLR_EL2, R.CPTR_EL2, R.HSTR_EL2, R.TTBR0_EL2, R.TCR_EL2, R.MAIR_EL2, R.TPIDR_EL2, R.SP_EL1]) plain(r, 2);
  field(R.HCR_EL2, 2, (pe) => pe.hcr, (pe, v) => {
    pe.hcr = v;
    pe.updateTakeable();
  });
  reg.define(handler({ reg: R.VTTBR_EL2, minEl: 2, wide: true, readCost: rc, writeCost: wc, read: (pe) => BigInt.asUintN(64, typeof pe.vttbr === 'bigint' ? pe.vttbr : BigInt(pe.vttbr)), write: (pe, v) => {
    pe.vttbr = v;
    pe.mmu.setContext(pe.vttbr, pe.vtcr);
  } }));
  field(R.VTCR_EL2, 2, (pe) => pe.vtcr, (pe, v) => {
    pe.vtcr = v >>> 0;
    pe.mmu.setContext(pe.vttbr, pe.vtcr);
  });
  field(R.ELR_EL2, 2, (pe) => pe.elr2, (pe, v) => (pe.elr2 = v));
  field(R.SPSR_EL2, 2, (pe) => pe.spsr2, (pe, v) => (pe.spsr2 = v >>> 0));
  field(R.ESR_EL2, 2, (pe) => pe.esr2, (pe, v) => (pe.esr2 = v >>> 0));
  field(R.FAR_EL2, 2, (pe) => pe.far2, (pe, v) => (pe.far2 = v));
  field(R.HPFAR_EL2, 2, (pe) => pe.hpfar2, (pe, v) => (pe.hpfar2 = v));
  field(R.VBAR_EL2, 2, (pe) => pe.vbar2, (pe, v) => (pe.vbar2 = v - (v % 2048)));
}
