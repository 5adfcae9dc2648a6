/**
 * How the platform numbers CPUs by affinity (MPIDR_EL1.Aff2.Aff1.Aff0, Arm ARM DDI 0487,
 * MPIDR_EL1): CPU i has Aff1 = i / 16 and Aff0 = i % 16, so that one ICC_SGI1R_EL1 TargetList
 * (16 bits, RS = 0) reaches a cluster of 16 CPUs.
 */

/** Affinity (Aff2.Aff1.Aff0) of CPU `i`. */
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
