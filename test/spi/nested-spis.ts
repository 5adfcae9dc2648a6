/**
 * 31 vSPIs each preempting the last, the shape of the KVM selftest vgic_irq's
 * test_inject_preemption on its SPI range (MIN_SPI, 31 of them), with the guest's own
 * GICD_ISPENDR writes as the injection (its KVM_WRITE_ISPENDR case) or the host's KVM_IRQ_LINE:
 * IRQs masked, SPI 32 + i gets priority (30 - i) * 8 so that each can preempt the one before; the
 * guest makes each pending and waits for it with WFI and ICC_IAR1_EL1 (it must read exactly that
 * INTID), then EOIs them all from the last (highest priority) and, in EOImode 1, deactivates them
 * with ICC_DIR_EL1 in acknowledge order. At the end: nothing active (GICD_ISACTIVER), no active
 * priority (ICC_AP1R0_EL1 = 0), nothing pending (ICC_IAR1_EL1 reads 1023).
 *
 * With 1 and 4 list registers there are more actives than LRs: the vgic's overflow handling
 * (KVM's 2025 rework, vgic/lr-sync.ts: EOIcount in EOImode 0, the trapped ICV_DIR_EL1 in EOImode 1).
 * `runNestedSpis` is exported for other tests of it.
 */
import { daifset, DAIF_I, ldr, mrs, msr, str, wfi, type Program } from '../../core/ops.js';
import { ICC_CTLR } from '../../gic/gic-registers.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { ICC_AP1R_EL1, ICC_CTLR_EL1, ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_PMR_EL1 } from '../../gic/sysregs.js';
import { configureSpi, writeIntidBit } from '../../drivers/gic-init.js';
import { Kernel, idleLoop, type KernelCpu } from '../../guests/kernel.js';
import { bootGuests, buildPlatform, irqLine, type Platform } from '../../scenarios/platform.js';

export const NESTED_SPIS = Array.from({ length: 31 }, (_, i) => 32 + i);

export class NestedKernel extends Kernel {
  /** What each wait for link i read from ICC_IAR1_EL1 (-1: it gave up). */
  readonly acked: number[] = [];
  /** ICC_AP1R0_EL1, GICD_ISACTIVER1 and ICC_IAR1_EL1 after the chain has unwound. */
  end: { ap1r0: number; active: number; iar: number } | null = null;
}

export interface NestedOptions {
  readonly listRegs: number;
  readonly eoiMode: 0 | 1;
  /** 'ispendr': the guest raises each link (GICD_ISPENDR); 'irq-line': the host does (KVM_IRQ_LINE), when the guest asks. */
  readonly inject: 'ispendr' | 'irq-line';
  readonly spis?: readonly number[];
}

/** Offset in the guest's RAM of the link the guest waits for (host injection): the test raises it. */
const WANT = 0x500;

/** Runs the chain in a one-vCPU VM; returns the guest's records. */
export function runNestedSpis(o: NestedOptions): { p: Platform; k: NestedKernel } {
  const spis = o.spis ?? NESTED_SPIS;
  const p = buildPlatform({
    cores: 1,
    vmm: o.inject === 'irq-line',
    gic: { listRegs: o.listRegs },
    vms: [
      {
        name: 'vm',
        vcpus: 1,
        spis: 64,
        kernel: (c) => {
          const k = new NestedKernel(c);
          k.main = function* (cpu: KernelCpu): Program {
            if (cpu.index !== 0) return yield* idleLoop();
            yield daifset(DAIF_I);
            yield msr(ICC_CTLR_EL1, ICC_CTLR.encode({ EOImode: o.eoiMode }), 1);
            yield msr(ICC_PMR_EL1, 0xf8, 1);
            for (let i = 0; i < spis.length; i++) yield* configureSpi(c.gicd, spis[i]!, { edge: true, priority: (spis.length - 1 - i) * 8, affinity: 0, enable: true });
            for (let i = 0; i < spis.length; i++) {
              if (o.inject === 'ispendr') yield* writeIntidBit(c.gicd, GICD.ISPENDR, spis[i]!);
              else yield str(c.ramBase + WANT, i + 1, 4, 1);
              let got = -1;
              for (let tries = 0; tries < 200 && got < 0; tries++) {
                yield wfi();
                const iar: number = yield mrs(ICC_IAR1_EL1, 1);
                if ((iar & 0xffffff) < 1020) got = iar & 0xffffff;
              }
              k.acked.push(got);
            }
            for (let i = spis.length - 1; i >= 0; i--) yield msr(ICC_EOIR1_EL1, spis[i]!, 1);
            if (o.eoiMode === 1) for (const s of spis) yield msr(ICC_DIR_EL1, s, 1);
            const ap1r0: number = yield mrs(ICC_AP1R_EL1[0]!, 1);
            const active: number = yield ldr(c.gicd + GICD.ISACTIVER + 4, 4, 1);
            const iar: number = yield mrs(ICC_IAR1_EL1, 1);
            k.end = { ap1r0, active, iar: iar & 0xffffff };
            yield* idleLoop();
          };
          return k;
        },
      },
    ],
  });
  bootGuests(p);
  const k = p.kernels[0] as NestedKernel;
  const want = (): number => p.m.bus.memory.read32(p.vmRamPa[0]! + WANT);
  for (let step = 0; step < 4000 && k.end === null; step++) {
    if (o.inject === 'irq-line' && want() > 0) {
      irqLine(p, 0, spis[want() - 1]!, true);
      p.m.bus.memory.write32(p.vmRamPa[0]! + WANT, 0);
    }
    p.m.runFor(p.m.usToCycles(1));
  }
  return { p, k };
}
