/**
 * A small guest kernel framework. A `Kernel` is one kernel image: its code (entry points and
 * per-CPU EL1 vector tables), the GIC layout it expects (its "device tree"), the LPIs it
 * configures, and the records it keeps. Install it at the physical address where its image
 * sits (`install`); it runs unchanged on bare metal at EL1 (PSCI through SMC, the physical
 * GIC) and inside a VM (PSCI through HVC, the hypervisor's emulated distributor and
 * redistributors, the ICV_* registers).
 *
 * Boot: CPU 0 starts at `base` (entry), sets VBAR_EL1, brings up the distributor, starts the
 * other CPUs with PSCI CPU_ON at `base + 0x100` (context id = CPU number), and every CPU wakes
 * its redistributor, configures SGIs/PPIs, the CPU interface and LPIs, unmasks IRQs and runs
 * its main loop (idle in WFI, compute, or send IPIs).
 *
 * IRQ entry (per-CPU vectors at `base + 0x1000 + 0x800 * cpu`, so each CPU's handler knows its
 * per-CPU data): save x0-x30, read ICC_IAR1_EL1, dispatch to the registered handler, write
 * ICC_EOIR1_EL1, restore, ERET.
 */
import type { Word } from '../core/bits.js';
import type { CodeMap } from '../core/code.js';
import { daifclr, DAIF_I, dsb, eret, getx, hvc, ldadd, ldr, mrs, msr, ORD_RELEASE, restorex, savex, smc, str, wfi, type EntryFn, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { ELR_EL1, ESR_EL1, FAR_EL1, TPIDR_EL1, VBAR_EL1 } from '../core/sysregs.js';
import { INTID_SPECIAL, INTID_SPURIOUS, LPI_BASE } from '../gic/gic-registers.js';
import { ICC_EOIR1_EL1, ICC_IAR1_EL1 } from '../gic/sysregs.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { initCpuInterface, initDistributor, initRedistributor } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { allocLpiTables, allocPendingTable, configureLpi, enableLpis, hasDirectLpi, invalidateLpi, markLpiPending, type LpiTables } from '../drivers/lpi.js';
import { HVC_SET_AFFINITY } from '../core/smccc.js';

export interface KernelLpi {
  readonly intid: number;
  readonly priority: number;
  /** Configured enabled at boot (default true). */
  readonly enabled?: boolean;
}

export interface KernelConfig {
  readonly name: string;
  /** CPUs to bring up. */
  readonly cpus: number;
  /** PSCI conduit: 'hvc' inside a VM, 'smc' on bare metal. */
  readonly psci: 'hvc' | 'smc';
  /** Where the kernel finds its distributor and first redistributor (addresses it sees). */
  readonly gicd: number;
  readonly gicr: number;
  /** The kernel's RAM (addresses it sees): the image at `base`, its heap from `base + 1 MiB`. */
  readonly ramBase: number;
  readonly ramSize: number;
  /** LPIs the kernel configures in its own configuration table. */
  readonly lpis?: readonly KernelLpi[];
  /** INTID bits of its LPI tables (default 16). */
  readonly lpiIdBits?: number;
  /** PPIs to enable at every CPU (e.g. 27 for the virtual timer). */
  readonly ppis?: readonly number[];
  /**
   * LPIs already pending when a CPU enables LPIs, as a kernel handed its tables across kexec
   * would find them: the kernel sets their bits in that CPU's pending table and enables LPIs
   * with PENDBASER.PTZ = 0, so the redistributor reads them.
   */
  readonly inheritedPending?: readonly { readonly cpu: number; readonly intid: number }[];
}

export type IrqHandler = (cpu: KernelCpu, intid: number) => Program;
export type MainLoop = (cpu: KernelCpu) => Program;

/** Per-CPU state of the kernel (its memory, in the model). */
export class KernelCpu {
  /** Saved x0-x30 of the interrupted context. */
  readonly regs: Word[] = new Array<Word>(31).fill(0);
  /** This CPU's redistributor (address the kernel sees), -1 if none was found. */
  rd = -1;
  /** Its redistributor takes GICR_INVLPIR (GICR_TYPER.DirectLPI or GICR_CTLR.IR): how a configuration change is made seen. */
  directLpi = false;
  irqs = 0;
  spurious = 0;
  unhandled = 0;
  booted = false;
  /** Synchronous exceptions the kernel did not expect (ESR_EL1, FAR_EL1, ELR_EL1), before it stopped. */
  readonly faults: { esr: number; far: number; elr: number }[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly index: number,
  ) {}
}

const ENTRY_OFFSET = 0x0;
const SECONDARY_OFFSET = 0x100;
/**
 * Offset in the kernel's RAM of its readiness word: every CPU adds 1 to it (LDADDL, a release)
 * once it has booted and unmasked interrupts, so the word holds the number of CPUs up. The
 * platform reads it (a mailbox in guest memory, as firmware would use one) to know when the
 * guest can take its devices' interrupts.
 */
export const KERNEL_READY_OFFSET = 0x200;
const VECTORS_OFFSET = 0x1000;
const VECTORS_STRIDE = 0x800;
const HEAP_OFFSET = 0x10_0000;
const TABLE_ALIGN = 0x1_0000;

/** Where the heap starts in the kernel's RAM: at 1 MiB, or after the per-CPU vector tables if they need more. */
function heapOffset(cpus: number): number {
  return Math.max(HEAP_OFFSET, Math.ceil((VECTORS_OFFSET + VECTORS_STRIDE * cpus) / TABLE_ALIGN) * TABLE_ALIGN);
}

/**
 * Bytes of RAM a kernel with `cpus` CPUs needs: its image and vector tables, and, when it has
 * LPIs (`lpiIdBits` not null), the LPI configuration table and one pending table per CPU,
 * allocated as `boot` allocates them (64 KB aligned). The platform's validation refuses a VM
 * whose RAM is smaller, before anything runs.
 */
export function kernelRamNeeded(cpus: number, lpiIdBits: number | null): number {
  const heap = new PhysHeap(heapOffset(cpus), Number.MAX_SAFE_INTEGER);
  if (lpiIdBits !== null) {
    allocLpiTables(heap, lpiIdBits);
    for (let i = 0; i < cpus; i++) allocPendingTable(heap, lpiIdBits);
  }
  return heap.base + heap.used;
}

export class Kernel {
  readonly cpus: KernelCpu[];
  readonly handlers = new Map<number, IrqHandler>();
  /** The main loop every CPU runs after boot (default: idle in WFI). */
  main: MainLoop = idleLoop;
  /** LPI tables, once CPU 0 set them up. */
  lpiTables: LpiTables | null = null;
  spis = 0;
  /** The kernel's heap (its own RAM; fresh RAM reads as zero). */
  readonly heap: PhysHeap;

  constructor(readonly config: KernelConfig) {
    if (config.cpus < 1) throw new Error(`${config.name}: cpus must be at least 1`);
    const need = kernelRamNeeded(config.cpus, config.lpis !== undefined && config.lpis.length > 0 ? (config.lpiIdBits ?? 16) : null);
    if (need > config.ramSize) throw new Error(`${config.name}: ${config.cpus} CPUs need ${Math.ceil(need / 0x10_0000)} MiB of RAM (vector tables and LPI tables), it has ${config.ramSize / 0x10_0000} MiB`);
    this.cpus = Array.from({ length: config.cpus }, (_, i) => new KernelCpu(this, i));
    const heapBase = config.ramBase + heapOffset(config.cpus);
    this.heap = new PhysHeap(heapBase, config.ramBase + config.ramSize - heapBase);
  }

  /** Address (as the kernel sees it) of the boot entry. */
  get entry(): number {
    return this.config.ramBase + ENTRY_OFFSET;
  }

  /** Registers `h` for `intid` (SGI, PPI, SPI or LPI). */
  onIrq(intid: number, h: IrqHandler): this {
    this.handlers.set(intid, h);
    return this;
  }

  /** Places the image in the code map at physical address `pa` (where `ramBase` is backed). */
  install(code: CodeMap, pa: number): void {
    code.install(pa + ENTRY_OFFSET, () => this.boot(0), `${this.config.name}.entry`);
    code.install(pa + SECONDARY_OFFSET, () => this.secondary(), `${this.config.name}.secondary`);
    for (const cpu of this.cpus) {
      const irq: EntryFn = () => this.irqEntry(cpu);
      const bad: EntryFn = () => this.unexpected(cpu);
      code.installVectors(pa + VECTORS_OFFSET + VECTORS_STRIDE * cpu.index, { curSpx: { irq, sync: bad, fiq: bad, serror: bad }, curSp0: { irq, sync: bad, fiq: bad, serror: bad }, lower64: { irq, sync: bad, fiq: bad, serror: bad } }, `${this.config.name}.cpu${cpu.index}`);
    }
  }

  private *secondary(): Program {
    const i: number = yield getx(0);
    yield* this.boot(i);
  }

  private *boot(i: number): Program {
    const cfg = this.config;
    const cpu = this.cpus[i];
    if (cpu === undefined) {
      yield* this.psciCall(PSCI.CPU_OFF);
      return;
    }
    yield msr(VBAR_EL1, cfg.ramBase + VECTORS_OFFSET + VECTORS_STRIDE * i, 1);
    yield msr(TPIDR_EL1, i, 1);
    if (i === 0) {
      this.spis = yield* initDistributor(cfg.gicd);
      if (cfg.lpis !== undefined && cfg.lpis.length > 0) {
        const idBits = cfg.lpiIdBits ?? 16;
        const tables = allocLpiTables(this.heap, idBits);
        for (const l of cfg.lpis) yield* configureLpi(tables, l.intid, l.priority, l.enabled ?? true);
        this.lpiTables = tables;
      }
      for (let j = 1; j < cfg.cpus; j++) yield* this.psciCall(PSCI.CPU_ON, cpuAffinity(j), cfg.ramBase + SECONDARY_OFFSET, j);
    }
    cpu.rd = yield* initRedistributor(cfg.gicr, cfg.ppis ?? []);
    if (cpu.rd >= 0 && this.lpiTables !== null) {
      cpu.directLpi = yield* hasDirectLpi(cpu.rd);
      yield* this.enableLpisAt(cpu, this.lpiTables);
    }
    yield* initCpuInterface();
    cpu.booted = true;
    yield daifclr(DAIF_I);
    yield ldadd(cfg.ramBase + KERNEL_READY_OFFSET, 1, 4, ORD_RELEASE, 1);
    yield* this.main(cpu);
    // A main loop that returns leaves the CPU powered off.
    yield* this.psciCall(PSCI.CPU_OFF);
  }

  private *enableLpisAt(cpu: KernelCpu, tables: LpiTables): Program {
    const pend = allocPendingTable(this.heap, tables.idBits);
    const inherited = (this.config.inheritedPending ?? []).filter((p) => p.cpu === cpu.index);
    for (const { intid } of inherited) yield* markLpiPending(pend, intid);
    yield* enableLpis(cpu.rd, tables, pend, inherited.length === 0);
  }

  /** A PSCI call through the configured conduit; returns x0. */
  *psciCall(fn: number, a1: Word = 0, a2: Word = 0, a3: Word = 0): Program<Word> {
    return this.config.psci === 'hvc' ? yield hvc(0, fn, a1, a2, a3) : yield smc(0, fn, a1, a2, a3);
  }

  /** Asks the hypervisor to deliver LPI `intid` to CPU `cpu` from now on (SET_AFFINITY). Returns x0. */
  *setAffinity(intid: number, cpu: number): Program<Word> {
    return yield hvc(0, HVC_SET_AFFINITY, intid, cpuAffinity(cpu));
  }

  /** Enables or disables LPI `intid` in the kernel's configuration table and invalidates it at `cpu`'s redistributor. */
  *setLpiEnabled(cpu: KernelCpu, intid: number, enabled: boolean): Program {
    const l = this.config.lpis?.find((x) => x.intid === intid);
    if (this.lpiTables === null || l === undefined || cpu.rd < 0) return;
    yield* configureLpi(this.lpiTables, intid, l.priority, enabled);
    yield dsb();
    // Without direct invalidation (and with no ITS of its own) the change is seen whenever the
    // redistributor next reads the table: Linux would send the ITS an INV.
    if (cpu.directLpi) yield* invalidateLpi(cpu.rd, intid);
  }

  private *irqEntry(cpu: KernelCpu): Program {
    yield savex(cpu.regs);
    const iar: number = yield mrs(ICC_IAR1_EL1, 0);
    const intid = iar & 0xffffff;
    if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) {
      cpu.spurious++;
    } else {
      cpu.irqs++;
      const h = this.handlers.get(intid);
      if (h !== undefined) yield* h(cpu, intid);
      else cpu.unhandled++;
      yield msr(ICC_EOIR1_EL1, intid, 0);
    }
    yield restorex(cpu.regs);
    yield eret();
  }

  /** An exception the kernel does not expect: it records the syndrome and stops this CPU (a kernel panic). */
  private *unexpected(cpu: KernelCpu): Program {
    const esr: number = yield mrs(ESR_EL1, 1);
    const far: number = yield mrs(FAR_EL1, 1);
    const elr: number = yield mrs(ELR_EL1, 1);
    cpu.faults.push({ esr, far, elr });
    cpu.booted = false;
    yield* this.psciCall(PSCI.CPU_OFF);
  }
}

/** The idle loop: WFI with IRQs unmasked, forever. */
export function* idleLoop(): Program {
  for (;;) yield wfi();
}
