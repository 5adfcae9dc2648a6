/**
 * SMC Calling Convention function IDs of minivisor's hypervisor-specific calls (the SMCCC
 * "vendor specific hypervisor service" range, 0xC600_0000-0xC600_FFFF for SMC64/HVC64), the
 * ABI between guest kernels and the hypervisor, like PSCI's IDs in psci.ts.
 */

/** Give up the CPU (the vCPU stays runnable). */
export const HVC_YIELD = 0xc6000001;
/**
 * Route my interrupt to another vCPU: x1 = guest LPI, x2 = target vCPU's MPIDR affinity. The
 * guest's way to change an interrupt's affinity, as a MOVI on its own ITS would; the hypervisor
 * moves the event (VMOVI on the direct path).
 */
export const HVC_SET_AFFINITY = 0xc6000002;
/** Return value of an unknown function. */
export const SMCCC_NOT_SUPPORTED = -1;
