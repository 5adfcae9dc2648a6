/**
 * A guest kernel that takes a chain of interrupts each preempting the last (the shape of the KVM
 * selftest vgic_irq's test_inject_preemption), written on the guest kernel framework so that the
 * same code runs in a VM (ICV_* registers, the hypervisor's emulated GIC) and on bare metal at
 * EL1 (the physical ICC_* registers and GIC).
 *
 * CPU 0 gives link i of the chain its priority (each strictly higher than the one before, so
 * lower in value), enables it (SPIs also routed to itself), then raises link 0 itself: an SGI
 * through ICC_SGI1R_EL1 to its own affinity, a PPI or an SPI through GICR/GICD_ISPENDR<n>. Two
 * styles:
 * - 'preempt': link i's handler runs with IRQs unmasked (`onIrq` option `nested`) and raises
 *   link i + 1, which preempts it at once; it waits (bounded) for that one to finish, then ends
 *   its own interrupt itself (option `eoi: 'self'`): ICC_EOIR1_EL1, and in EOImode 1
 *   ICC_DIR_EL1 right after (`dir: 'nested'`) or, once the whole chain has unwound, in
 *   acknowledge order from the main loop (`dir: 'ack-order'`, as the selftest does since KVM's
 *   2025 rework);
 * - 'poll': IRQs masked, main raises each link and acknowledges it by polling ICC_IAR1_EL1,
 *   then EOIs them all in reverse order and, in EOImode 1, DIRs them in acknowledge order (the
 *   selftest's loop).
 * At the end CPU 0 reads back ICC_RPR_EL1, ICC_HPPIR1_EL1 and GICR/GICD_ISACTIVER<n> (what a
 * guest can see of its own CPU interface and GIC), records them, and powers itself off.
 */
import { HCR_RW } from '../../core/hcr.js';
import { Machine } from '../../core/machine.js';
import { daifclr, daifset, DAIF_I, eret, mrs, msr, work, type Program } from '../../core/ops.js';
import { MODE, PSR_DAIF } from '../../core/pstate.js';
import { ELR_EL2, HCR_EL2, SPSR_EL2 } from '../../core/sysregs.js';
import { gicConfig } from '../../gic/config.js';
import { createGic } from '../../gic/gic.js';
import { bootGuests, buildPlatform, type Platform } from '../../scenarios/platform.js';
import { cpuAffinity } from '../../drivers/affinity.js';
import { configureSpi, irqFrame, readIar1, readIntidBit, sendSgi, setIrqPriority, writeIntidBit } from '../../drivers/gic-init.js';
import { GICD } from '../../gic/mmio-offsets.js';
import { INTID_SPECIAL, INTID_SPURIOUS } from '../../gic/gic-registers.js';
import { ICC_HPPIR1_EL1, ICC_RPR_EL1 } from '../../gic/sysregs.js';
import { Kernel, type KernelConfig, type KernelCpu } from '../../guests/kernel.js';

export interface ChainLink {
  readonly intid: number;
  readonly priority: number;
}

export interface ChainOptions {
  /** The interrupts in the order they are raised; each must preempt the one before. */
  readonly links: readonly ChainLink[];
  readonly eoiMode: 0 | 1;
  readonly style?: 'preempt' | 'poll';
  /** EOImode 1, 'preempt' style: when each interrupt is deactivated (default 'ack-order'). */
  readonly dir?: 'ack-order' | 'nested';
  /** ICC_PMR_EL1 (default 0xf8: every priority the 5 implemented bits give is signalled). */
  readonly pmr?: number;
  /** ICC_BPR1_EL1 (default 0: the minimum). */
  readonly bpr1?: number;
}

/** What the guest saw: each acknowledge with its nesting depth (1 = not nested), and the state it read at the end. */
export interface ChainAck {
  readonly intid: number;
  readonly depth: number;
}

export interface ChainEnd {
  /** ICC_RPR_EL1: 0xff when nothing is active any more. */
  readonly rpr: number;
  /** ICC_HPPIR1_EL1: 1023 when nothing is pending. */
  readonly hppir: number;
  /** How many of the chain's INTIDs GICR/GICD_ISACTIVER<n> say are active: 0 at the end. */
  readonly active: number;
}

/** How long a handler or the poll loop waits for an interrupt it raised (iterations of 20 cycles). */
const WAIT_LIMIT = 5000;

export class ChainKernel extends Kernel {
  readonly acks: ChainAck[] = [];
  /** Preempt style: 'ack N' when link N's handler starts, 'eoi N' just before it writes ICC_EOIR1_EL1. */
  readonly events: string[] = [];
  end: ChainEnd | null = null;
  /** Links whose handler has finished (preempt style). */
  readonly done: boolean[];
  /** EOImode 1, deactivations from the main loop: after each ICC_DIR_EL1, the links still active. */
  readonly activeAfterDir: number[][] = [];
  /** Waits that ran out: a raised interrupt that never came. */
  timeouts = 0;
  constructor(
    cfg: KernelConfig,
    readonly chain: ChainOptions,
  ) {
    super(cfg);
    this.done = chain.links.map(() => false);
  }
}

export function chainKernel(cfg: KernelConfig, o: ChainOptions): ChainKernel {
  const k = new ChainKernel({ ...cfg, eoiMode: o.eoiMode, pmr: o.pmr ?? 0xf8, bpr1: o.bpr1 ?? 0 }, o);
  const links = o.links;
  const style = o.style ?? 'preempt';
  const dirLater = o.eoiMode === 1 && (style === 'poll' || (o.dir ?? 'ack-order') === 'ack-order');

  const raise = function* (cpu: KernelCpu, intid: number): Program {
    if (intid < 16) yield* sendSgi(intid, cpuAffinity(cpu.index));
    else yield* writeIntidBit(irqFrame(k.config.gicd, cpu.rd, intid), GICD.ISPENDR, intid);
  };

  if (style === 'preempt') {
    links.forEach((link, i) => {
      k.onIrq(
        link.intid,
        function* (cpu: KernelCpu, intid: number): Program {
          k.acks.push({ intid, depth: cpu.depth });
          k.events.push(`ack ${intid}`);
          const next = links[i + 1];
          if (next !== undefined) {
            yield* raise(cpu, next.intid);
            let n = 0;
            while (!k.done[i + 1] && n++ < WAIT_LIMIT) yield work(20);
            if (!k.done[i + 1]) k.timeouts++;
          }
          k.events.push(`eoi ${intid}`);
          yield k.eoi(intid);
          if (o.eoiMode === 1 && !dirLater) yield k.deactivate(intid);
          k.done[i] = true;
        },
        { nested: true, eoi: 'self' },
      );
    });
  }

  k.main = function* (cpu: KernelCpu): Program {
    if (cpu.index !== 0) return;
    const gicd = k.config.gicd;
    for (const l of links) {
      yield setIrqPriority(gicd, cpu.rd, l.intid, l.priority);
      if (l.intid >= 32) yield* configureSpi(gicd, l.intid, { affinity: cpuAffinity(cpu.index) });
      if (l.intid >= 16) yield* writeIntidBit(irqFrame(gicd, cpu.rd, l.intid), GICD.ISENABLER, l.intid);
    }
    if (style === 'preempt') {
      if (links.length > 0) {
        yield* raise(cpu, links[0]!.intid);
        let n = 0;
        while (!k.done[0] && n++ < WAIT_LIMIT * links.length) yield work(20);
        if (!k.done[0]) k.timeouts++;
      }
    } else {
      yield daifset(DAIF_I);
      for (const l of links) {
        yield* raise(cpu, l.intid);
        // Polling ICC_IAR1_EL1 with IRQs masked: 1023 only says "not yet".
        let got: number = INTID_SPURIOUS;
        for (let n = 0; n < WAIT_LIMIT && got === INTID_SPURIOUS; n++) {
          const iar: number = yield readIar1();
          got = iar & 0xffffff;
          if (got >= INTID_SPECIAL && got <= INTID_SPURIOUS) {
            got = INTID_SPURIOUS;
            yield work(20);
          }
        }
        if (got === INTID_SPURIOUS) k.timeouts++;
        else k.acks.push({ intid: got, depth: k.acks.length + 1 });
      }
      for (let i = links.length - 1; i >= 0; i--) yield k.eoi(links[i]!.intid);
    }
    if (dirLater) {
      // Each DIR, then which links the GIC still says are active (GICR/GICD_ISACTIVER<n>).
      for (const l of links) {
        yield k.deactivate(l.intid);
        const still: number[] = [];
        for (const m of links) if (yield* readIntidBit(irqFrame(gicd, cpu.rd, m.intid), GICD.ISACTIVER, m.intid)) still.push(m.intid);
        k.activeAfterDir.push(still);
      }
    }
    if (style === 'poll') yield daifclr(DAIF_I);
    const rpr: number = yield mrs(ICC_RPR_EL1, 1);
    const hppir: number = yield mrs(ICC_HPPIR1_EL1, 1);
    let active = 0;
    for (const l of links) if (yield* readIntidBit(irqFrame(gicd, cpu.rd, l.intid), GICD.ISACTIVER, l.intid)) active++;
    k.end = { rpr, hppir: hppir & 0xffffff, active };
    // Returning powers this CPU off (PSCI CPU_OFF): a VM's vCPU exits, and the hypervisor folds
    // its list registers one last time.
  };
  return k;
}

/** `n` links of INTIDs `intids`, priorities from `(n - 1) * 8` down to 0: each preempts the one before. */
export function descending(intids: readonly number[]): ChainLink[] {
  return intids.map((intid, i) => ({ intid, priority: (intids.length - 1 - i) * 8 }));
}

/** The 16 SGIs, the 12 PPIs no timer or the GIC itself drives (as the selftest excludes timer-controlled ones: 25 maintenance, 26 EL2 timer, 27 virtual timer, 30 EL1 physical timer), and 31 SPIs. */
export const SGIS = Array.from({ length: 16 }, (_, i) => i);
export const PPIS = [16, 17, 18, 19, 20, 21, 22, 23, 24, 28, 29, 31];
export const SPIS = Array.from({ length: 31 }, (_, i) => 32 + i);

/** Guest kernels' RAM base on bare metal (the kernel sees physical addresses). */
export const BARE_KBASE = 0x4000_0000;

/** Builds a one-VM, one-vCPU, one-core platform around `build`'s kernel and boots it (the guest's main loop starts). */
export function inVm<K extends Kernel>(listRegs: number, build: (cfg: KernelConfig) => K, spis = 0): { p: Platform; k: K } {
  const p = buildPlatform({ cores: 1, gic: { listRegs }, vms: [{ name: 'vm', vcpus: 1, kernel: build, spis }] });
  bootGuests(p);
  return { p, k: p.kernels[0] as K };
}

/** Runs `build`'s kernel on bare metal at EL1, one core (the set-up of test/guests/bare-metal.test.ts). */
export function onBareMetal<K extends Kernel>(build: (cfg: KernelConfig) => K): { m: Machine; k: K } {
  const m = new Machine({ cores: 1 });
  const gcfg = gicConfig({ version: 4 });
  createGic(m, gcfg);
  const k = build({ name: 'k', cpus: 1, psci: 'smc', gicd: gcfg.gicdBase, gicr: gcfg.gicrBase, ramBase: BARE_KBASE, ramSize: 0x100_0000 });
  k.install(m.code, BARE_KBASE);
  // A firmware stub at EL2 drops to the kernel at EL1 (HCR_EL2.IMO = 0: bare metal).
  m.code.install(0x7000_0000, function* (): Program {
    yield msr(HCR_EL2, HCR_RW);
    yield msr(SPSR_EL2, MODE.EL1h | PSR_DAIF);
    yield msr(ELR_EL2, BARE_KBASE);
    yield eret();
  });
  m.boot(0x7000_0000);
  return { m, k };
}

/** A chain in a VM with `listRegs` LRs, run until the guest has read its end state and powered off; with the hypervisor's vCPU. */
export function runChainInVm(listRegs: number, o: ChainOptions, spis = 0) {
  const { p, k } = inVm(listRegs, (c) => chainKernel(c, o), spis);
  for (let i = 0; i < 200 && k.end === null; i++) p.m.runFor(20_000);
  p.m.runFor(20_000); // CPU_OFF: the last exit and fold
  return { p, k, v: p.hyp.vcpus[0]! };
}

/** The same chain on bare metal at EL1. */
export function runChainBareMetal(o: ChainOptions) {
  const { m, k } = onBareMetal((c) => chainKernel(c, o));
  for (let i = 0; i < 200 && k.end === null; i++) m.runFor(20_000);
  return { m, k };
}
