/**
 * A test rig for the ITS: a machine with an `Its` wired to recording fake ports, and a small
 * ITS driver that runs as a program on a PE at EL2 (VA = PA) and talks to the ITS only
 * through memory and GITS registers, as a real driver does: it allocates the tables in RAM,
 * programs GITS_BASER<n> and GITS_CBASER, writes commands into the queue with 8-byte STRs,
 * advances GITS_CWRITER and polls GITS_CREADR.
 */
import { Machine, type MachineConfig } from '../../core/machine.js';
import { ldr, str, type Program } from '../../core/ops.js';
import { gicConfig, type GicConfig, type ItsConfig } from '../../gic/config.js';
import { writeCommand, type CommandWords } from '../../gic/its/commands.js';
import { Its } from '../../gic/its/its.js';
import { GITS, GITS_BASER, GITS_CBASER, GITS_CREADR, GITS_CWRITER } from '../../gic/its/its-registers.js';
import { FakeLpis, FakeVlpis } from './its-fakes.js';
import { cpuOff } from './harness.js';

/** RAM layout the tests use (all inside the default 2 GiB at 0x4000_0000). */
export const CMDQ = 0x4800_0000;
export const DEV_TABLE = 0x4810_0000;
export const COLL_TABLE = 0x4820_0000;
export const VPE_TABLE = 0x4830_0000;
export const L2_PAGES = 0x4840_0000;
export const ITT_AREA = 0x4900_0000;
export const VPT_AREA = 0x4a00_0000;
/** An address no region decodes (for memory-fault tests). */
export const NOWHERE = 0x1_0000_0000;

export interface ItsRig {
  readonly m: Machine;
  readonly cfg: GicConfig;
  readonly its: Its;
  readonly lpis: FakeLpis;
  readonly vlpis: FakeVlpis | null;
  readonly base: number;
}

export interface RigOptions {
  cores?: number;
  version?: 3 | 4;
  its?: Partial<ItsConfig>;
  /** Give the ITS a fake VlpiPort (default: when version is 4). */
  vlpis?: boolean;
  machine?: MachineConfig;
}

export function makeRig(o: RigOptions = {}): ItsRig {
  const m = new Machine({ cores: o.cores ?? 2, trace: true, ...o.machine });
  const cfg = gicConfig({ version: o.version ?? 4, its: o.its ?? {} });
  const lpis = new FakeLpis(m, m.cores, cfg);
  const vlpis = (o.vlpis ?? cfg.version === 4) ? new FakeVlpis(m) : null;
  const its = new Its(m, cfg, lpis, vlpis);
  return { m, cfg, its, lpis, vlpis, base: cfg.itsBase };
}

let nextEntry = 0x7000_0000;

/**
 * Runs `fn` as a program on PE `pe` at EL2 until it ends (it is followed by PSCI CPU_OFF), then
 * returns. Throws if it did not end within `limit` cycles.
 */
export function run(rig: ItsRig, fn: () => Program<unknown>, opts: { pe?: number; limit?: number } = {}): void {
  const m = rig.m;
  const entry = nextEntry;
  nextEntry += 0x1000;
  let done = false;
  m.code.install(entry, function* () {
    yield* fn();
    done = true;
    m.stop();
    yield* cpuOff();
  });
  m.pes[opts.pe ?? 0]!.powerOn(entry, 2, m.now);
  m.run(m.now + (opts.limit ?? 5e7));
  if (!done) throw new Error('driver program did not finish');
}

export interface TableSpec {
  base: number;
  /** Number of pages - 1. */
  size?: number;
  /** 0 = 4 KB, 1 = 16 KB, 2 = 64 KB. */
  pageSize?: number;
  indirect?: boolean;
}

/** A GITS_BASER value for a table of `type` (Entry_Size and Type are RO: the ITS keeps its own). */
export function baserValue(t: TableSpec): bigint {
  const page = t.pageSize ?? 0;
  const pa = page === 2 ? Math.floor(t.base / 0x10000) * 16 + Math.floor(t.base / 2 ** 48) : t.base / 0x1000;
  return GITS_BASER.encode({ Valid: 1, Indirect: t.indirect === true ? 1 : 0, Page_Size: page, Size: t.size ?? 0, PA: pa, Shareability: 1 });
}

/** The software side of the ITS: a driver's view of the queue. */
export class ItsDriver {
  /** Software's write offset (what it last wrote to GITS_CWRITER). */
  cwriter = 0;
  /** GITS_CREADR as last read. */
  creadr = 0;
  readonly queueBytes: number;

  constructor(
    readonly base: number,
    readonly queue = CMDQ,
    readonly queuePages = 1,
  ) {
    this.queueBytes = queuePages * 0x1000;
  }

  /** Programs GITS_BASER0/1(/2), GITS_CBASER and GITS_CWRITER, then sets GITS_CTLR.Enabled. */
  *init(t: { devices?: TableSpec; collections?: TableSpec; vpes?: TableSpec; enable?: boolean } = {}): Program {
    const d = t.devices ?? { base: DEV_TABLE, size: 0 };
    const c = t.collections ?? { base: COLL_TABLE, size: 0 };
    yield str(this.base + GITS.BASER + 0, baserValue(d), 8);
    yield str(this.base + GITS.BASER + 8, baserValue(c), 8);
    if (t.vpes !== undefined) yield str(this.base + GITS.BASER + 16, baserValue(t.vpes), 8);
    yield str(this.base + GITS.CBASER, GITS_CBASER.encode({ Valid: 1, Size: this.queuePages - 1, PA: this.queue / 0x1000 }), 8);
    yield str(this.base + GITS.CWRITER, 0n, 8);
    this.cwriter = 0;
    if (t.enable !== false) yield str(this.base + GITS.CTLR, 1, 4);
  }

  /** Writes commands at the software write offset (no CWRITER write). */
  *put(cmds: readonly CommandWords[]): Program {
    for (const c of cmds) {
      yield* writeCommand(this.queue, this.cwriter / 32, c);
      this.cwriter = (this.cwriter + 32) % this.queueBytes;
    }
  }

  /** Advances GITS_CWRITER to the software write offset (optionally with Retry). */
  *kick(retry = false): Program {
    yield str(this.base + GITS.CWRITER, GITS_CWRITER.encode({ Offset: this.cwriter / 32, Retry: retry ? 1 : 0 }), 4);
  }

  /** Polls GITS_CREADR until the queue is drained or stalled; returns the CREADR value. */
  *wait(maxPolls = 100_000): Program<number> {
    for (let i = 0; i < maxPolls; i++) {
      const v: number = yield ldr(this.base + GITS.CREADR, 4);
      this.creadr = v;
      if (GITS_CREADR.get(v, 'Stalled') === 1) return v;
      if (GITS_CREADR.get(v, 'Offset') * 32 === this.cwriter) return v;
    }
    throw new Error('ITS queue did not drain');
  }

  /** Writes commands, advances CWRITER and waits until they are all done (or the queue stalls). */
  *submit(...cmds: CommandWords[]): Program<number> {
    yield* this.put(cmds);
    yield* this.kick();
    return yield* this.wait();
  }

  /** Reads a 64-bit GITS register. */
  *read64(offset: number): Program<bigint> {
    const v: bigint = yield ldr(this.base + offset, 8);
    return v;
  }

  *read32(offset: number): Program<number> {
    const v: number = yield ldr(this.base + offset, 4);
    return v;
  }
}

/** Reads the 8-byte little-endian word at `pa` from RAM (test inspection of ITS tables). */
export function peek64(rig: ItsRig, pa: number): bigint {
  return rig.m.bus.memory.read64(pa);
}
