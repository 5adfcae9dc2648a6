/**
 * Encodings of the GIC system registers (IHI 0069, the ICC_* and ICH_* register descriptions; as
 * in QEMU's register tables, hw/intc/arm_gicv3_cpuif.c).
 * The ICV_* registers share the ICC_* encodings: an EL1 access is redirected to the virtual
 * CPU interface by HCR_EL2.IMO/FMO (see cpuif-regs.ts).
 */
import { sysreg, type SysReg } from '../core/sysreg.js';

export const ICC_PMR_EL1 = sysreg('ICC_PMR_EL1', 3, 0, 4, 6, 0);
export const ICC_IAR0_EL1 = sysreg('ICC_IAR0_EL1', 3, 0, 12, 8, 0);
export const ICC_EOIR0_EL1 = sysreg('ICC_EOIR0_EL1', 3, 0, 12, 8, 1);
export const ICC_HPPIR0_EL1 = sysreg('ICC_HPPIR0_EL1', 3, 0, 12, 8, 2);
export const ICC_BPR0_EL1 = sysreg('ICC_BPR0_EL1', 3, 0, 12, 8, 3);
export const ICC_AP0R_EL1: readonly SysReg[] = [0, 1, 2, 3].map((n) => sysreg(`ICC_AP0R${n}_EL1`, 3, 0, 12, 8, 4 + n));
export const ICC_AP1R_EL1: readonly SysReg[] = [0, 1, 2, 3].map((n) => sysreg(`ICC_AP1R${n}_EL1`, 3, 0, 12, 9, n));
export const ICC_DIR_EL1 = sysreg('ICC_DIR_EL1', 3, 0, 12, 11, 1);
export const ICC_RPR_EL1 = sysreg('ICC_RPR_EL1', 3, 0, 12, 11, 3);
export const ICC_SGI1R_EL1 = sysreg('ICC_SGI1R_EL1', 3, 0, 12, 11, 5);
export const ICC_ASGI1R_EL1 = sysreg('ICC_ASGI1R_EL1', 3, 0, 12, 11, 6);
export const ICC_SGI0R_EL1 = sysreg('ICC_SGI0R_EL1', 3, 0, 12, 11, 7);
export const ICC_IAR1_EL1 = sysreg('ICC_IAR1_EL1', 3, 0, 12, 12, 0);
export const ICC_EOIR1_EL1 = sysreg('ICC_EOIR1_EL1', 3, 0, 12, 12, 1);
export const ICC_HPPIR1_EL1 = sysreg('ICC_HPPIR1_EL1', 3, 0, 12, 12, 2);
export const ICC_BPR1_EL1 = sysreg('ICC_BPR1_EL1', 3, 0, 12, 12, 3);
export const ICC_CTLR_EL1 = sysreg('ICC_CTLR_EL1', 3, 0, 12, 12, 4);
export const ICC_SRE_EL1 = sysreg('ICC_SRE_EL1', 3, 0, 12, 12, 5);
export const ICC_IGRPEN0_EL1 = sysreg('ICC_IGRPEN0_EL1', 3, 0, 12, 12, 6);
export const ICC_IGRPEN1_EL1 = sysreg('ICC_IGRPEN1_EL1', 3, 0, 12, 12, 7);
export const ICC_SRE_EL2 = sysreg('ICC_SRE_EL2', 3, 4, 12, 9, 5);

export const ICH_AP0R_EL2: readonly SysReg[] = [0, 1, 2, 3].map((n) => sysreg(`ICH_AP0R${n}_EL2`, 3, 4, 12, 8, n));
export const ICH_AP1R_EL2: readonly SysReg[] = [0, 1, 2, 3].map((n) => sysreg(`ICH_AP1R${n}_EL2`, 3, 4, 12, 9, n));
export const ICH_HCR_EL2 = sysreg('ICH_HCR_EL2', 3, 4, 12, 11, 0);
export const ICH_VTR_EL2 = sysreg('ICH_VTR_EL2', 3, 4, 12, 11, 1);
export const ICH_MISR_EL2 = sysreg('ICH_MISR_EL2', 3, 4, 12, 11, 2);
export const ICH_EISR_EL2 = sysreg('ICH_EISR_EL2', 3, 4, 12, 11, 3);
export const ICH_ELRSR_EL2 = sysreg('ICH_ELRSR_EL2', 3, 4, 12, 11, 5);
export const ICH_VMCR_EL2 = sysreg('ICH_VMCR_EL2', 3, 4, 12, 11, 7);
/** ICH_LR<n>_EL2, n = 0..15: op2 = n & 7, CRm = 12 + (n >> 3). */
export const ICH_LR_EL2: readonly SysReg[] = Array.from({ length: 16 }, (_, n) => sysreg(`ICH_LR${n}_EL2`, 3, 4, 12, 12 + (n >> 3), n & 7));

/** ICV_* names for readability: the same encodings as ICC_*. */
export const ICV_IAR1_EL1 = ICC_IAR1_EL1;
export const ICV_EOIR1_EL1 = ICC_EOIR1_EL1;
export const ICV_HPPIR1_EL1 = ICC_HPPIR1_EL1;
export const ICV_DIR_EL1 = ICC_DIR_EL1;
export const ICV_PMR_EL1 = ICC_PMR_EL1;
export const ICV_BPR1_EL1 = ICC_BPR1_EL1;
export const ICV_RPR_EL1 = ICC_RPR_EL1;
export const ICV_CTLR_EL1 = ICC_CTLR_EL1;
export const ICV_IGRPEN1_EL1 = ICC_IGRPEN1_EL1;
export const ICV_AP1R_EL1 = ICC_AP1R_EL1;
