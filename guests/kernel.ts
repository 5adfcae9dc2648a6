/**
 * A small guest kernel framework. A `Kernel` is one kernel image: its code (entry points and
 * per-CPU EL1 vector tables), the GIC layout it expects (its "device tree"), the LPIs it
 * configures, the devices it maps through its ITS, and the records it keeps. Install it at the
 * physical address where its image sits (`install`); it runs unchanged on bare metal at EL1
 * (PSCI through SMC, the physical GIC and ITS) and inside a VM (PSCI through HVC, the
 * hypervisor's emulated distributor, redistributors and ITS, the ICV_* registers).
 *
 * Boot: CPU 0 starts at `base` (entry), sets VBAR_EL1, brings up the distributor, configures its
 * LPIs, sets up its ITS and maps its devices (MAPD, MAPTI: `KernelConfig.its`, `devices`), starts
 * the other CPUs with PSCI CPU_ON at `base + 0x100` (context id = CPU number), and every CPU
 * wakes its redistributor, configures SGIs/PPIs, maps its ITS collection (MAPC), enables LPIs,
 * invalidates its collection's LPIs (INVALL), brings up the CPU interface, unmasks IRQs and runs
 * its main loop (idle in WFI, compute, or send IPIs).
 *
 * IRQ entry (per-CPU vectors at `base + 0x1000 + 0x800 * cpu`, so each CPU's handler knows its
 * per-CPU data): save x0-x30, read ICC_IAR1_EL1, dispatch to the registered handler, write
 * ICC_EOIR1_EL1 (and ICC_DIR_EL1 in EOImode 1), restore, ERET.
 *
 * What a kernel controls of its CPU interface (its interrupt-handling choices, as Linux makes
 * them in irq-gic-v3.c): EOImode, the priority mask and the binary point (`KernelConfig.eoiMode`,
 * `pmr`, `bpr1`); per handler (`onIrq` options) whether the framework ends the interrupt or the
 * handler does it itself, when it wants (`Kernel.eoi`, `Kernel.deactivate`: ICC_EOIR1_EL1 and
 * ICC_DIR_EL1), and whether the handler runs with IRQs unmasked so that a higher-priority
 * interrupt preempts it (each nesting level then saves its own x0-x30, ELR_EL1 and SPSR_EL1);
 * and the IRQ vector entry itself (`onIrqEntry`), which may use `acknowledge`, `dispatch` and
 * `endIrq`. Bare metal (the physical ICC_* registers) and a VM (the ICV_* registers) run the same
 * code.
 */
import type { Word } from '../core/bits.js';
import type { CodeMap } from '../core/code.js';
import { daifclr, daifset, DAIF_I, dsb, eret, getx, hvc, ldadd, ldr, mrs, msr, ORD_RELEASE, restorex, savex, smc, str, wfi, type EntryFn, type Op, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { ELR_EL1, ESR_EL1, FAR_EL1, SPSR_EL1, TPIDR_EL1, VBAR_EL1 } from '../core/sysregs.js';
import { INTID_SPECIAL, INTID_SPURIOUS, LPI_BASE } from '../gic/gic-registers.js';
import { cpuAffinity } from '../drivers/affinity.js';
import { initCpuInterface, initDistributor, initRedistributor, readIar1, sgisWithoutActiveState, writeDir, writeEoir1 } from '../drivers/gic-init.js';
import { PhysHeap } from '../drivers/heap.js';
import { allocLpiTables, allocPendingTable, configureLpi, enableLpis, hasDirectLpi, invalidateLpi, markLpiPending, type LpiTables } from '../drivers/lpi.js';
import { ItsDriver } from '../drivers/its.js';
import { LockStats, Spinlock, type DriverEnv } from '../drivers/spinlock.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { GICR_TYPER } from '../gic/gic-registers.js';
import { GICR } from '../gic/mmio-offsets.js';
import { Trace } from '../core/trace.js';
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
  /**
   * The ITS the kernel finds its devices behind (its ITS_base, as the kernel sees it), or absent:
   * no ITS. With one, CPU 0 sets it up with the driver library's `ItsDriver` at boot (tables and
   * command queue from the kernel's heap) and maps `devices`, and every CPU maps its own
   * collection (ICID = its CPU number), as Linux's ITS driver does.
   */
  readonly its?: number;
  /** The kernel's devices behind its ITS (its "device tree"): DeviceID, and each event's INTID and target CPU. */
  readonly devices?: readonly KernelDevice[];
  /** Where the kernel's lock statistics read the time (observation only; default: none, spins count 0 cycles). */
  readonly env?: DriverEnv;
  // ---- The CPU interface as the kernel programs it at every CPU (drivers/gic-init.ts initCpuInterface).
  /** ICC_CTLR_EL1.EOImode (default 0): 1 splits the priority drop (ICC_EOIR1_EL1) from the deactivation (ICC_DIR_EL1). */
  readonly eoiMode?: 0 | 1;
  /** ICC_PMR_EL1 (default 0xf0, Linux's DEFAULT_PMR_VALUE): only priorities strictly below it are signalled. */
  readonly pmr?: number;
  /** ICC_BPR1_EL1 (default 0, the minimum: every implemented priority bit is a preemption level). */
  readonly bpr1?: number;
  /**
   * Ask for SGIs without an active state when the distributor offers them (GICD_TYPER2.nASSGIcap:
   * GICD_CTLR.nASSGIreq, as Linux's gic_dist_init does on a GICv4.1): on a GICv4.1 hypervisor the
   * SGIs then become direct vSGIs. Default false.
   */
  readonly nassgi?: boolean;
}

/** A device the kernel maps through its ITS. */
export interface KernelDevice {
  /** Its DeviceID as the kernel's ITS knows it. */
  readonly deviceId: number;
  /** Each event (EventID) becomes LPI `intid`, delivered to CPU `cpu` (that CPU's collection). */
  readonly events: readonly { readonly eventId: number; readonly intid: number; readonly cpu: number }[];
}

export type IrqHandler = (cpu: KernelCpu, intid: number) => Program;

/** How the framework's IRQ entry runs a handler (`Kernel.onIrq`). */
export interface IrqOptions {
  /**
   * Who ends the interrupt: 'framework' (default) writes ICC_EOIR1_EL1 after the handler returns,
   * and ICC_DIR_EL1 after it in EOImode 1; 'self': the handler does, when it wants, with
   * `Kernel.eoi` (priority drop; also the deactivation in EOImode 0) and `Kernel.deactivate`
   * (EOImode 1), even after its handler has returned.
   */
  readonly eoi?: 'framework' | 'self';
  /**
   * Run the handler with IRQs unmasked (PSTATE.I = 0), so that an interrupt of a higher group
   * priority preempts it: the entry saves ELR_EL1 and SPSR_EL1 first and masks IRQs again
   * before restoring them; each nesting level saves x0-x30 in its own area.
   */
  readonly nested?: boolean;
}

interface HandlerEntry {
  readonly handler: IrqHandler;
  readonly self: boolean;
  readonly nested: boolean;
}

/** What one level of interrupt nesting saves: x0-x30 of the interrupted context, and ELR_EL1/SPSR_EL1 when its handler unmasks IRQs. */
export class IrqFrame {
  readonly regs: Word[] = new Array<Word>(31).fill(0);
  elr = 0;
  spsr = 0;
}
export type MainLoop = (cpu: KernelCpu) => Program;

/** Per-CPU state of the kernel (its memory, in the model). */
export class KernelCpu {
  /** Saved x0-x30 of the interrupted context (the outermost IRQ level's). */
  readonly regs: Word[];
  /** One save area per IRQ nesting level, created as deep nesting first needs it. */
  readonly frames: IrqFrame[] = [new IrqFrame()];
  /** IRQ nesting depth now, and the deepest seen. */
  depth = 0;
  maxDepth = 0;
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
  ) {
    this.regs = this.frames[0]!.regs;
  }

  /** Enters one more IRQ level; returns its save area. */
  enterIrq(): IrqFrame {
    const d = this.depth++;
    if (this.depth > this.maxDepth) this.maxDepth = this.depth;
    return this.frames[d] ?? (this.frames[d] = new IrqFrame());
  }

  /** Leaves the current IRQ level. */
  leaveIrq(): void {
    this.depth--;
  }
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

/** ITS memory the kernel allocates at most besides its devices: device, collection and vPE table (one 64 KB page each with the library driver's two-level tables), and the 64 KB command queue. */
const ITS_FIXED_BYTES = 4 * 0x1_0000;
/** ITT entry bytes to plan for (the largest of an ITS's GITS_TYPER.ITT_entry_size + 1 in this model: the physical ITS's 12). */
const ITS_PLAN_ITE_BYTES = 12;
/** Device table entries per 64 KB level-2 page (8-byte entries, GITS_BASER0.Entry_Size = 7, on both ITSs of this model). */
const DEVICES_PER_L2_PAGE = 0x1_0000 / 8;

/** A device as `kernelRamNeeded` plans for it: its DeviceID and how many EventIDs it has. */
export interface ItsDevicePlan {
  readonly deviceId: number;
  readonly events: number;
}

/**
 * Bytes of RAM a kernel with `cpus` CPUs needs: its image and vector tables, and, when it has
 * LPIs (`lpiIdBits` not null), the LPI configuration table and one pending table per CPU,
 * allocated as `boot` allocates them (64 KB aligned); with an ITS (`itsDevices` not null), its
 * tables and queue and, for its devices, the level-2 device table pages their DeviceIDs fall in
 * and an ITT each (an upper bound). The platform's validation refuses a VM whose RAM is smaller,
 * before anything runs.
 */
export function kernelRamNeeded(cpus: number, lpiIdBits: number | null, itsDevices: readonly ItsDevicePlan[] | null = null): number {
  const heap = new PhysHeap(heapOffset(cpus), Number.MAX_SAFE_INTEGER);
  if (lpiIdBits !== null) allocLpiTables(heap, lpiIdBits);
  if (itsDevices !== null) {
    heap.alloc(ITS_FIXED_BYTES, 0x1_0000);
    const l2Pages = new Set(itsDevices.map((d) => Math.floor(d.deviceId / DEVICES_PER_L2_PAGE)));
    heap.alloc(l2Pages.size * 0x1_0000, 0x1_0000);
    for (const d of itsDevices) heap.alloc(Math.max(256, 2 ** idBitsOf(Math.max(0, d.events - 1)) * ITS_PLAN_ITE_BYTES), 256);
    heap.alloc(64 * (cpus + 1), 64);
  }
  if (lpiIdBits !== null) for (let i = 0; i < cpus; i++) allocPendingTable(heap, lpiIdBits);
  return heap.base + heap.used;
}

/** Bits an ID field needs to hold `id` (at least 1: MAPD's Size field is bits - 1). */
function idBitsOf(id: number): number {
  let bits = 1;
  while (2 ** bits <= id) bits++;
  return bits;
}

export class Kernel {
  readonly cpus: KernelCpu[];
  readonly handlers = new Map<number, HandlerEntry>();
  /** An IRQ vector entry the kernel installs instead of the framework's (`onIrqEntry`). */
  private irqVector: ((cpu: KernelCpu) => Program) | null = null;
  /** The main loop every CPU runs after boot (default: idle in WFI). */
  main: MainLoop = idleLoop;
  /** LPI tables, once CPU 0 set them up. */
  lpiTables: LpiTables | null = null;
  spis = 0;
  /** The distributor accepted nASSGIreq: this kernel's SGIs have no active state (Linux logs "SGIs without active state"). */
  sgisWithoutActive = false;
  /** The kernel's heap (its own RAM; fresh RAM reads as zero). */
  readonly heap: PhysHeap;
  /** Its ITS driver (the driver library's), once CPU 0 set it up (`KernelConfig.its`), else null. */
  its: ItsDriver | null = null;
  /** Statistics of the kernel's ITS lock (its CPUs send commands under it). */
  readonly itsLock = new LockStats();
  private readonly env: DriverEnv;

  constructor(readonly config: KernelConfig) {
    if (config.cpus < 1) throw new Error(`${config.name}: cpus must be at least 1`);
    const itsDevices = config.its === undefined ? null : (config.devices ?? []).map((d) => ({ deviceId: d.deviceId, events: d.events.reduce((a, e) => Math.max(a, e.eventId + 1), 1) }));
    const need = kernelRamNeeded(config.cpus, config.lpis !== undefined && config.lpis.length > 0 ? (config.lpiIdBits ?? 16) : null, itsDevices);
    if (need > config.ramSize) throw new Error(`${config.name}: ${config.cpus} CPUs need ${Math.ceil(need / 0x10_0000)} MiB of RAM (vector tables, LPI tables${itsDevices !== null ? ' and ITS tables' : ''}), it has ${config.ramSize / 0x10_0000} MiB`);
    this.cpus = Array.from({ length: config.cpus }, (_, i) => new KernelCpu(this, i));
    const heapBase = config.ramBase + heapOffset(config.cpus);
    this.heap = new PhysHeap(heapBase, config.ramBase + config.ramSize - heapBase);
    this.env = config.env ?? { trace: new Trace(false), now: () => 0 };
  }

  /** Address (as the kernel sees it) of the boot entry. */
  get entry(): number {
    return this.config.ramBase + ENTRY_OFFSET;
  }

  /** Registers `h` for `intid` (SGI, PPI, SPI or LPI), run as `o` says (default: the framework ends the interrupt, IRQs stay masked). */
  onIrq(intid: number, h: IrqHandler, o: IrqOptions = {}): this {
    this.handlers.set(intid, { handler: h, self: o.eoi === 'self', nested: o.nested === true });
    return this;
  }

  /**
   * Installs `entry` as every CPU's IRQ vector (VBAR_EL1 + 0x280, and 0x080 and 0x480) in place of
   * the framework's; call before `install`. It is the exception handler: it saves what it
   * uses and ends with ERET. `acknowledge`, `dispatch` and `endIrq` are the framework's pieces.
   */
  onIrqEntry(entry: (cpu: KernelCpu) => Program): this {
    this.irqVector = entry;
    return this;
  }

  /** The EOImode this kernel runs its CPU interface with. */
  get eoiMode(): 0 | 1 {
    return this.config.eoiMode ?? 0;
  }

  /** Places the image in the code map at physical address `pa` (where `ramBase` is backed). */
  install(code: CodeMap, pa: number): void {
    code.install(pa + ENTRY_OFFSET, () => this.boot(0), `${this.config.name}.entry`);
    code.install(pa + SECONDARY_OFFSET, () => this.secondary(), `${this.config.name}.secondary`);
    for (const cpu of this.cpus) {
      const irq: EntryFn = () => (this.irqVector !== null ? this.irqVector(cpu) : this.irqEntry(cpu));
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
      this.spis = yield* initDistributor(cfg.gicd, { nassgi: cfg.nassgi === true });
      if (cfg.nassgi === true) this.sgisWithoutActive = yield* sgisWithoutActiveState(cfg.gicd);
      if (cfg.lpis !== undefined && cfg.lpis.length > 0) {
        const idBits = cfg.lpiIdBits ?? 16;
        const tables = allocLpiTables(this.heap, idBits);
        for (const l of cfg.lpis) yield* configureLpi(tables, l.intid, l.priority, l.enabled ?? true);
        this.lpiTables = tables;
      }
      if (cfg.its !== undefined) yield* this.initIts(cfg.its);
      for (let j = 1; j < cfg.cpus; j++) yield* this.psciCall(PSCI.CPU_ON, cpuAffinity(j), cfg.ramBase + SECONDARY_OFFSET, j);
    }
    cpu.rd = yield* initRedistributor(cfg.gicr, cfg.ppis ?? []);
    // This CPU's collection, before it enables LPIs: a pending LPI its redistributor finds then
    // (PENDBASER.PTZ = 0) already has a mapping behind it.
    const rdbase: number = this.its !== null && cpu.rd >= 0 ? yield* this.mapCollection(cpu) : -1;
    if (cpu.rd >= 0 && this.lpiTables !== null) {
      cpu.directLpi = yield* hasDirectLpi(cpu.rd);
      yield* this.enableLpisAt(cpu, this.lpiTables);
    }
    // Its LPIs' configuration, as the redistributor is to use it (Linux's its_cpu_init_collection).
    if (rdbase >= 0) yield* this.its!.send(cpu.index, [ItsCmd.INVALL({ ICID: cpu.index }), ItsCmd.SYNC({ RDbase: rdbase })]);
    yield* initCpuInterface({ eoiMode: cfg.eoiMode ?? 0, pmr: cfg.pmr, bpr1: cfg.bpr1 });
    cpu.booted = true;
    yield daifclr(DAIF_I);
    yield ldadd(cfg.ramBase + KERNEL_READY_OFFSET, 1, 4, ORD_RELEASE, 1);
    yield* this.main(cpu);
    // A main loop that returns leaves the CPU powered off.
    yield* this.psciCall(PSCI.CPU_OFF);
  }

  /**
   * Sets up the ITS at `base` (GITS_TYPER, the tables, the command queue: `ItsDriver.init`, its
   * memory from the kernel's heap, its lock a spinlock in the kernel's RAM) and maps every device
   * of the configuration: MAPD with an ITT for its highest EventID, and MAPTI of each event to its
   * INTID in the collection of its target CPU (ICID = the CPU number; each CPU maps its own
   * collection as it boots).
   */
  private *initIts(base: number): Program {
    const its = new ItsDriver(base, this.heap, Spinlock.alloc(this.heap, `${this.config.name} its`, this.itsLock, this.env, 1));
    yield* its.init();
    this.its = its;
    for (const d of this.config.devices ?? []) {
      const bits = idBitsOf(d.events.reduce((a, e) => Math.max(a, e.eventId), 0));
      const cmds: CommandWords[] = [yield* its.mapDevice(d.deviceId, bits)];
      for (const e of d.events) cmds.push(ItsCmd.MAPTI({ DeviceID: d.deviceId, EventID: e.eventId, pINTID: e.intid, ICID: e.cpu }));
      yield* its.send(0, cmds);
    }
  }

  /** MAPC of `cpu`'s collection (ICID = its CPU number) to its redistributor; returns the RDbase that names it. */
  private *mapCollection(cpu: KernelCpu): Program<number> {
    const its = this.its!;
    const typer: bigint = yield ldr(cpu.rd + GICR.TYPER, 8, 1);
    const rdbase = its.rdbase(GICR_TYPER.get(typer, 'Processor_Number'), cpu.rd);
    yield* its.send(cpu.index, [ItsCmd.MAPC({ ICID: cpu.index, RDbase: rdbase, V: 1 })]);
    return rdbase;
  }

  /** Sends `cmds` to the kernel's ITS from `cpu`, under its lock, and returns once they are executed. */
  *itsSend(cpu: KernelCpu, cmds: readonly CommandWords[]): Program {
    if (this.its === null) throw new Error(`${this.config.name}: no ITS (KernelConfig.its)`);
    yield* this.its.send(cpu.index, cmds);
  }

  /** The (DeviceID, EventID) the configuration maps to LPI `intid`, or undefined. */
  eventOf(intid: number): { deviceId: number; eventId: number } | undefined {
    for (const d of this.config.devices ?? []) for (const e of d.events) if (e.intid === intid) return { deviceId: d.deviceId, eventId: e.eventId };
    return undefined;
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
    // Linux's lpi_update_config: direct invalidation at the redistributor when it has it, else
    // an INV through the ITS for the event behind the LPI. Without either the change is seen
    // whenever the redistributor next reads the table.
    if (cpu.directLpi) yield* invalidateLpi(cpu.rd, intid);
    else {
      const ev = this.eventOf(intid);
      if (this.its !== null && ev !== undefined) yield* this.its.send(cpu.index, [ItsCmd.INV({ DeviceID: ev.deviceId, EventID: ev.eventId })]);
    }
  }

  /** The framework's IRQ vector entry: one nesting level per exception taken (see the top of this file). */
  //
  // `acknowledge`, `dispatch` and `endIrq` are written out in it (the same ops in the same order):
  // every sub-program level costs each op inside it a generator resumption more.
  private *irqEntry(cpu: KernelCpu): Program {
    const frame = cpu.enterIrq();
    yield savex(frame.regs);
    // acknowledge
    const iar: number = yield readIar1();
    const intid = iar & 0xffffff;
    if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) cpu.spurious++;
    else {
      cpu.irqs++;
      // dispatch
      const e = this.handlers.get(intid);
      if (e === undefined) cpu.unhandled++;
      else {
        if (e.nested) {
          frame.elr = yield mrs(ELR_EL1, 1);
          frame.spsr = yield mrs(SPSR_EL1, 1);
          yield daifclr(DAIF_I);
        }
        yield* e.handler(cpu, intid);
        if (e.nested) {
          yield daifset(DAIF_I);
          yield msr(ELR_EL1, frame.elr, 1);
          yield msr(SPSR_EL1, frame.spsr, 1);
        }
      }
      // endIrq, unless the handler ends its interrupt itself
      if (e === undefined || !e.self) {
        yield writeEoir1(intid);
        if (this.eoiMode === 1) yield writeDir(intid);
      }
    }
    yield restorex(frame.regs);
    cpu.leaveIrq();
    yield eret();
  }

  /** Reads ICC_IAR1_EL1 and counts what it returned; returns the INTID, or 1023 for any special INTID (nothing to handle). */
  *acknowledge(cpu: KernelCpu): Program<number> {
    const iar: number = yield readIar1();
    const intid = iar & 0xffffff;
    if (intid >= INTID_SPECIAL && intid <= INTID_SPURIOUS) {
      cpu.spurious++;
      return INTID_SPURIOUS;
    }
    cpu.irqs++;
    return intid;
  }

  /**
   * (irqEntry writes this out.) Runs the handler of the acknowledged `intid` as it was registered (`onIrq`): IRQs unmasked
   * around it for a nested one (ELR_EL1/SPSR_EL1 saved in `frame` first), then the end of the
   * interrupt unless the handler ends it itself. No handler: counted, and ended.
   */
  *dispatch(cpu: KernelCpu, intid: number, frame: IrqFrame): Program {
    const e = this.handlers.get(intid);
    if (e === undefined) {
      cpu.unhandled++;
      yield* this.endIrq(intid);
      return;
    }
    if (e.nested) {
      frame.elr = yield mrs(ELR_EL1, 1);
      frame.spsr = yield mrs(SPSR_EL1, 1);
      yield daifclr(DAIF_I);
    }
    yield* e.handler(cpu, intid);
    if (e.nested) {
      yield daifset(DAIF_I);
      yield msr(ELR_EL1, frame.elr, 1);
      yield msr(SPSR_EL1, frame.spsr, 1);
    }
    if (!e.self) yield* this.endIrq(intid);
  }

  /** Ends `intid` as the kernel's EOImode says: ICC_EOIR1_EL1, and ICC_DIR_EL1 after it in EOImode 1. */
  *endIrq(intid: number): Program {
    yield writeEoir1(intid);
    if (this.eoiMode === 1) yield writeDir(intid);
  }

  /** ICC_EOIR1_EL1 for `intid`: its priority drop (and its deactivation in EOImode 0), for a handler that ends its interrupt itself. */
  eoi(intid: number): Op {
    return writeEoir1(intid);
  }

  /** ICC_DIR_EL1 for `intid`: its deactivation in EOImode 1 (ignored in EOImode 0). */
  deactivate(intid: number): Op {
    return writeDir(intid);
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
