/**
 * A device with a wired interrupt line to an SPI of the interrupt controller, the counterpart of
 * the message-signalled `MsiDevice`: it drives its line through the machine's
 * `InterruptController` (`Machine.spi`) and knows nothing of what answers there. Whether the GIC
 * latches an edge or follows the level is the GIC's configuration (IHI 0069, GICD_ICFGR<n>);
 * the device only decides how its line moves:
 * - 'level': `assert()` raises the line and it stays high until the device is acknowledged, by
 *   software writing its ACK register or by `deassert()`; an assertion while the line is already
 *   high merges with it (counted in `merged`);
 * - 'edge': `assert()` is a pulse, the line rises and falls at once.
 *
 * Its register frame (4 KB, 32-bit accesses only; other widths and offsets are RAZ/WI), for the
 * software that drives the device (a guest driver reaches it through stage 2, mapped as a device
 * page):
 *   0x0 STATUS (RO)  bit 0: the line is high
 *   0x4 ACK    (WO)  writing 1 in bit 0 lowers the line (acknowledges the device)
 *   0x8 COUNT  (RO)  assertions so far, modulo 2^32
 *
 * Traffic: `assert()` one at a time (a test, a device model), or a seeded pattern (periodic or
 * Poisson gaps from a generator forked from the machine's at construction when there is a
 * pattern, so one seed gives one trace), one re-armed SimEvent, stopping after `count` assertions
 * or at `until`.
 */
import { SimEvent } from './events.js';
import type { Machine } from './machine.js';
import type { Random } from './random.js';
import { RegisterBlock, W32 } from './regions.js';

declare module './trace.js' {
  interface TraceKinds {
    /** A wired device's interrupt line changed level (`spi`: the INTID it drives). A device is not a PE: `core` and `el` are -1. */
    'line-level': { device: string; spi: number; level: boolean };
  }
}

export type LineMode = 'level' | 'edge';

export type LinePattern = { readonly kind: 'periodic'; readonly period: number } | { readonly kind: 'poisson'; readonly mean: number };

export interface LineDeviceConfig {
  readonly name?: string;
  /** The SPI INTID (32-1019) its line is wired to. */
  readonly spi: number;
  readonly mode: LineMode;
  /** Physical address of its 4 KB register frame (4 KB aligned); none: no registers on the bus. */
  readonly frame?: number;
  /** Assertions generated over time; none: only `assert()` asserts. */
  readonly pattern?: LinePattern;
  /** Stop the pattern after this many assertions (all assertions count). */
  readonly count?: number;
  /** Stop the pattern before this time. */
  readonly until?: number;
}

/** Offsets of the register frame. */
export const LINE_DEV = { STATUS: 0x0, ACK: 0x4, COUNT: 0x8 } as const;
export const LINE_DEV_FRAME = 0x1000;

export class WiredLineDevice {
  readonly name: string;
  /** Registers (when the configuration gives a frame address, mapped on the bus there). */
  readonly block: RegisterBlock;
  private line = false;
  /** Assertions (`assert()` calls and pattern events). */
  asserted = 0;
  /** Level mode: assertions that found the line already high. */
  merged = 0;
  /** Writes of 1 to ACK (by software). */
  acks = 0;
  /** Forked only for a pattern, so a device without one leaves the machine's random stream as it was. */
  private readonly rng: Random | null;
  private readonly ev: SimEvent;
  private running = false;

  constructor(
    private readonly m: Machine,
    readonly cfg: LineDeviceConfig,
  ) {
    if (!Number.isInteger(cfg.spi) || cfg.spi < 32 || cfg.spi > 1019) throw new Error(`WiredLineDevice: an SPI INTID is an integer from 32 to 1019, got ${cfg.spi}`);
    const p = cfg.pattern;
    if (p !== undefined) {
      const x = p.kind === 'periodic' ? p.period : p.mean;
      if (!(x > 0) || !Number.isFinite(x)) throw new Error(`WiredLineDevice ${p.kind}: expected a positive number of cycles, got ${x}`);
    }
    this.name = cfg.name ?? `line-dev-spi${cfg.spi}`;
    this.rng = p !== undefined ? m.rng.fork() : null;
    this.ev = new SimEvent(this.name, 30, () => this.fire());
    this.block = new RegisterBlock(this.name, LINE_DEV_FRAME, [
      { name: 'STATUS', offset: LINE_DEV.STATUS, length: 4, widths: W32, read: () => (this.line ? 1 : 0) },
      {
        name: 'ACK',
        offset: LINE_DEV.ACK,
        length: 4,
        widths: W32,
        write: (_o, _s, v) => {
          if ((Number(v) & 1) === 0) return;
          this.acks++;
          this.setLine(false);
        },
      },
      { name: 'COUNT', offset: LINE_DEV.COUNT, length: 4, widths: W32, read: () => this.asserted % 2 ** 32 },
    ]);
    if (cfg.frame !== undefined) {
      if (cfg.frame % LINE_DEV_FRAME !== 0) throw new Error(`WiredLineDevice ${this.name}: the register frame must be 4 KB aligned, got 0x${cfg.frame.toString(16)}`);
      m.bus.addMmio(this.name, cfg.frame, LINE_DEV_FRAME, this.block);
    }
  }

  /** Whether the line is high now. */
  get high(): boolean {
    return this.line;
  }

  /** Asserts the interrupt: raises the line (level) or pulses it (edge). */
  assert(): void {
    this.asserted++;
    if (this.cfg.mode === 'edge') {
      this.setLine(true);
      this.setLine(false);
      return;
    }
    if (this.line) this.merged++;
    else this.setLine(true);
  }

  /** Lowers the line (the device stops requesting; a level device's state once acknowledged). */
  deassert(): void {
    this.setLine(false);
  }

  /** Starts the pattern (an error without one). */
  start(): void {
    if (this.cfg.pattern === undefined) throw new Error(`WiredLineDevice ${this.name}: start() needs a pattern (assert the line with assert())`);
    if (this.running) return;
    this.running = true;
    this.arm(this.m.now + this.gap());
  }

  stop(): void {
    this.running = false;
    this.m.events.cancel(this.ev);
  }

  private setLine(level: boolean): void {
    if (this.line === level && this.cfg.mode === 'level') return;
    this.line = level;
    const m = this.m;
    if (m.trace.on) m.trace.emit({ t: m.now, core: -1, el: -1, kind: 'line-level', device: this.name, spi: this.cfg.spi, level });
    m.spi(this.cfg.spi, level);
  }

  private gap(): number {
    const p = this.cfg.pattern!;
    const g = p.kind === 'periodic' ? p.period : this.rng!.exponential(p.mean);
    return Math.max(1, Math.round(g));
  }

  private arm(t: number): void {
    const c = this.cfg;
    if ((c.count !== undefined && this.asserted >= c.count) || (c.until !== undefined && t >= c.until)) {
      this.running = false;
      return;
    }
    this.m.events.schedule(this.ev, t);
  }

  private fire(): void {
    this.assert();
    if (this.running) this.arm(this.m.now + this.gap());
  }
}
