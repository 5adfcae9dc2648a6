/**
 * The machine: PEs, the bus and memory, the event queue, the code map, the system register
 * registry, the firmware, the trace and the seeded random source, and the loop that runs them.
 *
 * Time: each PE has a local cycle clock. The loop always advances whichever is earliest, an
 * event or a PE, with a fixed tie-break (events before PEs, then lower PE index), so one seed
 * and one configuration give one trace. A PE runs a slice of ops until it passes the next
 * event or the next PE's clock; sleeping and powered-off PEs are skipped, so idle time costs
 * nothing to simulate.
 */
import { doubleField } from './double-field.js';
import type { Word } from './bits.js';
import { Bus } from './bus.js';
import { CodeMap } from './code.js';
import { DEFAULT_COSTS, type CostTable } from './costs.js';
import { EventQueue } from './events.js';
import { ExclusiveMonitors } from './exclusive-monitor.js';
import { idSource, type IdSource } from './ids.js';
import { PE, PeState } from './pe.js';
import { defineCoreSysregs } from './pe-sysregs.js';
import { Firmware, mpidrAffinity } from './psci.js';
import { Random } from './random.js';
import { SysRegRegistry } from './sysreg.js';
import { ThreadTable } from './threads.js';
import { GenericTimer, defineTimerSysregs } from './timer.js';
import { Trace } from './trace.js';

export interface RamRange {
  readonly name?: string;
  readonly base: number;
  readonly size: number;
}

export interface MachineConfig {
  /** Number of PEs (default 1). */
  cores?: number;
  /** Core clock in Hz (default 2 GHz). */
  clockHz?: number;
  /** System counter frequency, CNTFRQ_EL0 (default 1 GHz, the Armv8.6 fixed frequency). */
  cntfrqHz?: number;
  /** Seed of the machine's random source (default 1). */
  seed?: number;
  /** Overrides of the cost table. */
  costs?: Partial<CostTable>;
  /** Record the trace (default false). */
  trace?: boolean;
  /** RAM ranges (default 2 GiB at 0x4000_0000). */
  ram?: readonly RamRange[];
}

/** Receives PPI levels from per-PE sources (timers, the virtual CPU interface) and SPI levels from wired devices. */
export interface InterruptController {
  setPpiLevel(pe: number, intid: number, level: boolean): void;
  /** The level of SPI `intid`'s input line (a device's wired interrupt, core/line-device.ts); optional for controllers without SPIs. */
  setSpiLevel?(intid: number, level: boolean): void;
}

/**
 * Why `run` returned:
 * - 'until': simulated time reached `until` (the next event or op lies beyond it);
 * - 'idle': the machine is quiescent (`quiescent`): no event is queued and every PE is off or
 *   asleep in WFI/WFE with nothing pending that would wake it, so nothing can ever happen again
 *   without a change from outside the loop (a test arming a device, powering a PE on). With a
 *   finite `until`, `run` moves time on to `until` and reports 'until' instead, as callers
 *   stepping time expect; `lastRunQuiescent` and `runUntilQuiescent` tell the two apart;
 * - 'halted': SYSTEM_OFF (`halt`);
 * - 'stopped': `stop()` was called.
 */
export type RunEnd = 'until' | 'idle' | 'halted' | 'stopped';

/** What `runUntilQuiescent` saw. */
export interface QuiescentRun {
  /** True when the machine became quiescent; false when the limit came first (or it halted or was stopped). */
  readonly quiescent: boolean;
  /** Simulated time at which it stopped: when it became quiescent, or the limit. */
  readonly at: number;
  /** How the run ended ('idle' when quiescent; 'until' at the limit). */
  readonly end: RunEnd;
}

export class Machine {
  readonly cores: number;
  readonly clockHz: number;
  readonly cntfrq: number;
  readonly costs: CostTable;
  readonly bus = new Bus();
  readonly events = new EventQueue();
  readonly trace: Trace;
  readonly rng: Random;
  readonly ids: IdSource;
  readonly code = new CodeMap();
  readonly threads = new ThreadTable();
  readonly sysregs = new SysRegRegistry();
  readonly firmware: Firmware;
  /** The local and global exclusive monitors of every PE (LDXR/STXR; B2.9). */
  readonly monitors: ExclusiveMonitors;
  readonly pes: PE[];
  /** MIDR_EL1: Arm Neoverse N1 r3p1 (implementer 0x41, part 0xD0C). */
  readonly midr = 0x413fd0c1;
  /** ID_AA64PFR0_EL1.GIC: 1 once a GICv3/v4 system register interface is attached. */
  gicSysregInterface = 0;
  interruptController: InterruptController | null = null;

  /** Time of the entity being executed (an event, or the PE op in progress). */
  now = 0;
  /** The running PE stops its slice before this time. */
  sliceLimit = Infinity;
  /** Sequence number of the last op consumed (op-protocol check). */
  lastOpSeq = 0;
  private halted = false;
  private stopRequested = false;
  /**
   * Whether the last `run` ended because the machine was quiescent ('idle' before `run` turned
   * it into 'until' for a finite `until`), with time then moved on to `until`.
   */
  lastRunQuiescent = false;
  haltReason = '';
  private readonly cntNum: number;
  private readonly cntDen: number;

  constructor(cfg: MachineConfig = {}) {
    doubleField(this, 'now');
    this.cores = cfg.cores ?? 1;
    if (!Number.isInteger(this.cores) || this.cores < 1 || this.cores > 256) throw new Error(`cores: expected an integer from 1 to 256, got ${cfg.cores}`);
    this.clockHz = cfg.clockHz ?? 2e9;
    this.cntfrq = cfg.cntfrqHz ?? 1e9;
    const g = gcd(this.cntfrq, this.clockHz);
    this.cntNum = this.cntfrq / g;
    this.cntDen = this.clockHz / g;
    this.costs = Object.freeze({ ...DEFAULT_COSTS, ...cfg.costs });
    this.trace = new Trace(cfg.trace ?? false);
    this.rng = new Random(cfg.seed ?? 1);
    this.ids = idSource(this.rng.fork());
    this.firmware = new Firmware(this);
    for (const r of cfg.ram ?? [{ name: 'ram', base: 0x4000_0000, size: 0x8000_0000 }]) this.bus.addRam(r.name ?? 'ram', r.base, r.size);
    this.events.onArm = (t) => {
      if (t < this.sliceLimit) this.sliceLimit = t;
    };
    this.monitors = new ExclusiveMonitors(this.cores, (i) => this.monitorCleared(i));
    this.bus.watch(this.monitors);
    this.pes = [];
    for (let i = 0; i < this.cores; i++) {
      const pe = new PE(this, i);
      pe.timer = new GenericTimer(this, pe);
      this.pes.push(pe);
    }
    defineCoreSysregs(this.sysregs, this.costs, () => this.gicSysregInterface);
    defineTimerSysregs(this.sysregs, this);
  }

  /** Powers on PE 0 (or every PE) at `entry` in EL `el`. */
  boot(entry: number, opts: { el?: 1 | 2; all?: boolean; x0?: Word } = {}): void {
    const el = opts.el ?? 2;
    for (const pe of opts.all === true ? this.pes : this.pes.slice(0, 1)) pe.powerOn(entry, el, this.now, opts.x0 ?? 0);
  }

  /**
   * Runs until simulated time `until` (cycles), SYSTEM_OFF, `stop()`, or nothing left to do
   * (see RunEnd). With a finite `until`, time ends at `until` also when the machine went
   * quiescent earlier; `lastRunQuiescent` says whether it did.
   */
  run(until: number): RunEnd {
    let end = this.loop(until);
    this.lastRunQuiescent = end === 'idle' && this.quiescent;
    if (end === 'until' && until !== Infinity && this.now < until) this.now = until;
    if (end === 'idle' && until !== Infinity && this.now < until) {
      this.now = until;
      end = 'until';
    }
    return end;
  }

  /**
   * Runs until the machine is quiescent (RunEnd 'idle': no event queued, every PE off or asleep
   * with nothing to wake it) or `limit` more cycles have passed, and says which. When quiescent,
   * time stays where activity stopped (the end of the last op or event), not at the limit, so
   * `at` measures how long the work took; at the limit, time is `now + limit` as with `runFor`.
   */
  runUntilQuiescent(limit: number): QuiescentRun {
    if (!(limit >= 0)) throw new Error(`runUntilQuiescent: expected a number of cycles >= 0, got ${limit}`);
    const until = this.now + limit;
    const end = this.loop(until);
    // The loop's 'idle' (no event, no PE running) and the full condition (no sleeping PE with
    // a wake-up pending) agree unless a model failed to wake a PE: then this says "not quiescent".
    const quiescent = end === 'idle' && this.quiescent;
    this.lastRunQuiescent = quiescent;
    if (end === 'idle') {
      // Activity ended with the last op, whose cost was charged to its PE's clock after `now`
      // was set to the op's start.
      for (const p of this.pes) if (p.now > this.now) this.now = p.now;
    } else if (end === 'until' && until !== Infinity && this.now < until) this.now = until;
    return { quiescent, at: this.now, end };
  }

  /**
   * Whether nothing can happen any more without a change from outside the loop: no event queued,
   * and every PE powered off or asleep in WFI/WFE with no wake-up pending (for WFE, also no
   * event register set). What `run` reports as 'idle'.
   */
  get quiescent(): boolean {
    if (this.events.size !== 0) return false;
    for (const p of this.pes) {
      if (p.state === PeState.Off) continue;
      if (p.state === PeState.Run) return false;
      if (p.wakeupPending() || (p.state === PeState.Wfe && p.eventRegister)) return false;
    }
    return true;
  }

  /** The scheduling loop of `run`: returns 'idle' as such and leaves time where it stopped. */
  private loop(until: number): RunEnd {
    const pes = this.pes;
    const n = pes.length;
    const ev = this.events;
    this.stopRequested = false;
    let end: RunEnd = 'idle';
    for (;;) {
      if (this.halted) {
        end = 'halted';
        break;
      }
      if (this.stopRequested) {
        end = 'stopped';
        break;
      }
      const te = ev.nextTime();
      let best: PE | undefined;
      let bt = Infinity;
      let second = Infinity;
      let secondIdx = -1;
      for (let i = 0; i < n; i++) {
        const p = pes[i]!;
        // PeState.Run as a literal (see the note on literals in pe.ts).
        if (p.state !== 1 /* PeState.Run */) continue;
        if (p.now < bt) {
          second = bt;
          secondIdx = best === undefined ? -1 : best.index;
          bt = p.now;
          best = p;
        } else if (p.now < second) {
          second = p.now;
          secondIdx = i;
        }
      }
      if (te <= bt) {
        if (te === Infinity) break;
        if (te > until) {
          end = 'until';
          break;
        }
        this.now = te;
        ev.fireNext();
        continue;
      }
      if (best === undefined) break;
      if (bt > until) {
        end = 'until';
        break;
      }
      // Events first at equal times; between PEs the lower index first.
      const peLimit = second === Infinity ? Infinity : second + (secondIdx > best.index ? 0.5 : 0);
      this.sliceLimit = Math.min(te, peLimit, until + 0.5);
      best.runSlice();
    }
    this.sliceLimit = Infinity;
    return end;
  }

  /** Runs for `cycles` more cycles. */
  runFor(cycles: number): RunEnd {
    return this.run(this.now + cycles);
  }

  /** Asks the loop to return at the next decision point (from an event or a model). */
  stop(): void {
    this.stopRequested = true;
    this.sliceLimit = -Infinity;
  }

  /** SYSTEM_OFF: nothing runs any more. */
  halt(reason: string): void {
    this.halted = true;
    this.haltReason = reason;
    this.sliceLimit = -Infinity;
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** A PE became runnable at its `now`: the running slice must end so the loop re-decides. */
  peWoken(pe: PE): void {
    if (pe.now < this.sliceLimit) this.sliceLimit = pe.now;
  }

  /** SEV: sets every PE's event register and wakes PEs in WFE. */
  sendEvent(): void {
    for (const p of this.pes) {
      p.eventRegister = true;
      if (p.state === PeState.Wfe) {
        p.eventRegister = false;
        p.wake('event');
      }
    }
  }

  /**
   * Another requester's write cleared PE `i`'s global exclusive-monitor mark: a WFE wake-up
   * event for that PE (Arm ARM D1.6: the Event Register is set when the global monitor for the
   * PE is cleared), so a PE waiting in WFE for a lock word it loaded exclusively wakes.
   */
  private monitorCleared(i: number): void {
    const p = this.pes[i]!;
    p.eventRegister = true;
    if (p.state === PeState.Wfe) {
      p.eventRegister = false;
      p.wake('monitor');
    }
  }

  /** A PPI level from a per-PE source, forwarded to the interrupt controller if one is attached. */
  ppi(pe: number, intid: number, level: boolean): void {
    this.interruptController?.setPpiLevel(pe, intid, level);
  }

  /** An SPI input line level from a wired device, forwarded to the interrupt controller if one is attached. */
  spi(intid: number, level: boolean): void {
    this.interruptController?.setSpiLevel?.(intid, level);
  }

  peByMpidr(mpidr: number): PE | undefined {
    const a = mpidrAffinity(mpidr);
    return this.pes.find((p) => mpidrAffinity(p.mpidr) === a);
  }

  /** System counter value at cycle `t`. */
  counterAt(t: number): number {
    return Math.floor((t * this.cntNum) / this.cntDen);
  }

  /** First cycle at which the system counter reaches `count`. */
  cycleOfCount(count: number): number {
    return Math.ceil((count * this.cntDen) / this.cntNum);
  }

  cyclesToUs(c: number): number {
    return (c / this.clockHz) * 1e6;
  }

  usToCycles(us: number): number {
    return Math.round((us * this.clockHz) / 1e6);
  }
}

function gcd(a: number, b: number): number {
  a = Math.round(a);
  b = Math.round(b);
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
