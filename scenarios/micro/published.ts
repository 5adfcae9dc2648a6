/**
 * Published figures the micro-benchmarks are compared with, each with its source, the machine,
 * and the kvm-unit-tests timing era it was measured in (the suite timed each iteration with two
 * ISBs and a counter read around it until kvm-unit-tests 8074c5c2, 2023-11; since then it times
 * the whole loop, as the harness here does). A figure that set a cost of the profile (`setsCost`)
 * is shown but not compared: comparing a model with the number it was built from proves nothing.
 * None of the others was used to set any cost (core/cost-profiles/).
 */
export interface Published {
  readonly ns: number;
  readonly source: string;
  /** Set a cost of the profile: shown, not counted as a validation point. */
  readonly setsCost?: boolean;
}

const ALTRA = 'Ampere Altra, Linux v6.12-rc1, whole-loop era (R. R. Ananta, kvm list, "Re: [PATCH v2] KVM: arm64: Get rid of userspace_irqchip_in_use", 2024-10-29)';
const N1 = 'a Neoverse N1, Spectre-BHB mitigation off, per-iteration era (R. Koller, kvmarm list, "Spectre - BHB", 2022-03-17)';
const KUNPENG = 'Kunpeng 920, after the whole-loop change (heqiong, kvm list, "[kvm-unit-tests 1/1] arm64: microbench: Move the read of the count register and the ISB operation out of the while loop", 2023-11-01)';

/** Per profile, per figure name: the published figures (several sources may be listed). */
export const PUBLISHED: Readonly<Record<string, Readonly<Record<string, readonly Published[]>>>> = {
  'n1-altra-kvm': {
    hvc: [{ ns: 306, source: ALTRA }, { ns: 292, source: N1 }],
    mmio_read_vgic: [{ ns: 451, source: ALTRA }, { ns: 419, source: N1 }],
    eoi: [{ ns: 14, source: ALTRA, setsCost: true }, { ns: 29, source: N1 }],
    ipi: [{ ns: 1926, source: ALTRA }, { ns: 1509, source: N1 }],
    lpi: [{ ns: 2179, source: ALTRA }, { ns: 1643, source: N1 }],
    timer_10ms: [{ ns: 902, source: ALTRA }, { ns: 798, source: N1 }],
  },
  'kunpeng920-kvm': {
    hvc: [{ ns: 407, source: KUNPENG }],
    mmio_read_vgic: [{ ns: 638, source: KUNPENG }],
    eoi: [{ ns: 16, source: KUNPENG, setsCost: true }],
    ipi: [{ ns: 1618, source: KUNPENG }],
    lpi: [{ ns: 2162, source: KUNPENG }],
    timer_10ms: [{ ns: 1839, source: KUNPENG }],
    vcpu_load_to_entry: [
      {
        ns: 2550,
        source: 'Kunpeng 920 (GICv4.0), vcpu_load() to __guest_enter(), "not first run && the VPT is empty", average (Shenming Lu, v1 of "KVM: arm64: ... delay ... its_wait_vpt_parse_complete", 2020-09-23, quoted in the review of 2020-11-27)',
      },
    ],
  },
  // a53-thin: no kvm-unit-tests or per-figure interrupt-latency result of a thin hypervisor on a
  // Cortex-A53 could be read here (the RTAS 2023 and NG-RES 2020 result figures were not
  // retrieved); its table has no published column.
};

/** The relative error of `model` against `published`, (model - published) / published. */
export function relativeError(model: number, published: number): number {
  return (model - published) / published;
}
