/**
 * Encodings (op0, op1, CRn, CRm, op2) of the core's own system registers, from the Arm
 * A-profile system register pages. GIC registers are declared in gic/, timer registers in
 * timer.ts.
 */
import { sysreg } from './sysreg.js';
import { CNTKCTL_EL1 } from './timer.js';

export const MIDR_EL1 = sysreg('MIDR_EL1', 3, 0, 0, 0, 0);
export const MPIDR_EL1 = sysreg('MPIDR_EL1', 3, 0, 0, 0, 5);
export const ID_AA64PFR0_EL1 = sysreg('ID_AA64PFR0_EL1', 3, 0, 0, 4, 0);
export const SCTLR_EL1 = sysreg('SCTLR_EL1', 3, 0, 1, 0, 0);
export const CPACR_EL1 = sysreg('CPACR_EL1', 3, 0, 1, 0, 2);
export const TTBR0_EL1 = sysreg('TTBR0_EL1', 3, 0, 2, 0, 0);
export const TTBR1_EL1 = sysreg('TTBR1_EL1', 3, 0, 2, 0, 1);
export const TCR_EL1 = sysreg('TCR_EL1', 3, 0, 2, 0, 2);
export const SPSR_EL1 = sysreg('SPSR_EL1', 3, 0, 4, 0, 0);
export const ELR_EL1 = sysreg('ELR_EL1', 3, 0, 4, 0, 1);
export const SP_EL0 = sysreg('SP_EL0', 3, 0, 4, 1, 0);
export const SPSEL = sysreg('SPSel', 3, 0, 4, 2, 0);
export const CURRENT_EL = sysreg('CurrentEL', 3, 0, 4, 2, 2);
export const DAIF = sysreg('DAIF', 3, 3, 4, 2, 1);
export const NZCV = sysreg('NZCV', 3, 3, 4, 2, 0);
export const AFSR0_EL1 = sysreg('AFSR0_EL1', 3, 0, 5, 1, 0);
export const AFSR1_EL1 = sysreg('AFSR1_EL1', 3, 0, 5, 1, 1);
export const ESR_EL1 = sysreg('ESR_EL1', 3, 0, 5, 2, 0);
export const FAR_EL1 = sysreg('FAR_EL1', 3, 0, 6, 0, 0);
export const PAR_EL1 = sysreg('PAR_EL1', 3, 0, 7, 4, 0);
export const MAIR_EL1 = sysreg('MAIR_EL1', 3, 0, 10, 2, 0);
export const AMAIR_EL1 = sysreg('AMAIR_EL1', 3, 0, 10, 3, 0);
export const VBAR_EL1 = sysreg('VBAR_EL1', 3, 0, 12, 0, 0);
export const CONTEXTIDR_EL1 = sysreg('CONTEXTIDR_EL1', 3, 0, 13, 0, 1);
export const TPIDR_EL1 = sysreg('TPIDR_EL1', 3, 0, 13, 0, 4);
export const TPIDR_EL0 = sysreg('TPIDR_EL0', 3, 3, 13, 0, 2);
export const TPIDRRO_EL0 = sysreg('TPIDRRO_EL0', 3, 3, 13, 0, 3);
export const VPIDR_EL2 = sysreg('VPIDR_EL2', 3, 4, 0, 0, 0);
export const VMPIDR_EL2 = sysreg('VMPIDR_EL2', 3, 4, 0, 0, 5);
export const SCTLR_EL2 = sysreg('SCTLR_EL2', 3, 4, 1, 0, 0);
export const HCR_EL2 = sysreg('HCR_EL2', 3, 4, 1, 1, 0);
export const CPTR_EL2 = sysreg('CPTR_EL2', 3, 4, 1, 1, 2);
export const HSTR_EL2 = sysreg('HSTR_EL2', 3, 4, 1, 1, 3);
export const TTBR0_EL2 = sysreg('TTBR0_EL2', 3, 4, 2, 0, 0);
export const TCR_EL2 = sysreg('TCR_EL2', 3, 4, 2, 0, 2);
export const VTTBR_EL2 = sysreg('VTTBR_EL2', 3, 4, 2, 1, 0);
export const VTCR_EL2 = sysreg('VTCR_EL2', 3, 4, 2, 1, 2);
export const SPSR_EL2 = sysreg('SPSR_EL2', 3, 4, 4, 0, 0);
export const ELR_EL2 = sysreg('ELR_EL2', 3, 4, 4, 0, 1);
export const SP_EL1 = sysreg('SP_EL1', 3, 4, 4, 1, 0);
export const ESR_EL2 = sysreg('ESR_EL2', 3, 4, 5, 2, 0);
export const FAR_EL2 = sysreg('FAR_EL2', 3, 4, 6, 0, 0);
export const HPFAR_EL2 = sysreg('HPFAR_EL2', 3, 4, 6, 0, 4);
export const MAIR_EL2 = sysreg('MAIR_EL2', 3, 4, 10, 2, 0);
export const VBAR_EL2 = sysreg('VBAR_EL2', 3, 4, 12, 0, 0);
export const TPIDR_EL2 = sysreg('TPIDR_EL2', 3, 4, 13, 0, 2);

/**
 * The EL1 context a hypervisor saves and restores on a vCPU switch (the registers KVM's
 * `__sysreg_save_el1_state` covers that exist here), in a fixed order.
 */
export const EL1_CONTEXT = [
  SCTLR_EL1, CPACR_EL1, TTBR0_EL1, TTBR1_EL1, TCR_EL1, ESR_EL1, AFSR0_EL1, AFSR1_EL1, FAR_EL1, MAIR_EL1,
  VBAR_EL1, CONTEXTIDR_EL1, AMAIR_EL1, CNTKCTL_EL1, PAR_EL1, TPIDR_EL1, SP_EL1, ELR_EL1, SPSR_EL1, SP_EL0, TPIDR_EL0, TPIDRRO_EL0,
] as const;
