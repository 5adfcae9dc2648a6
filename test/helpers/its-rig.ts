/**
 * A test rig for the ITS: a machine with an `Its` wired to recording fake ports (its-fakes.ts),
 * programs that run on a PE at EL2 (VA = PA), and the RAM layout the ITS tests inspect. The
 * software on the rig is the driver library's `ItsDriver` (drivers/its.ts), as everywhere else:
 * `rigDriver` builds one with a heap away from the tests' tables, and `layout` gives its `init`
 * the fixed table and queue addresses (explicit `tables`, `queue`, `queueBytes`) that the tests
 * peek at.
 */
import { Machine, type MachineConfig } from '../../core/machine.js';
import type { Program } from '../../core/ops.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver, type ItsInitOptions, type TableSpec } from '../../drivers/its.js';
import { gicConfig, type GicConfig, type ItsConfig } from '../../gic/config.js';
import { Its } from '../../gic/its/its.js';
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
/** What the driver allocates (a table the layout leaves to it, level-2 pages, ITTs), away from the above. */
export const DRIVER_HEAP = 0x5000_0000;
export const DRIVER_HEAP_SIZE = 0x0800_0000;
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

/** The library's ITS driver for the rig's ITS, sending from one core (no lock), allocating from DRIVER_HEAP. */
export function rigDriver(rig: ItsRig): ItsDriver {
  return new ItsDriver(rig.base, new PhysHeap(DRIVER_HEAP, DRIVER_HEAP_SIZE));
}

export interface LayoutOptions {
  /** The device table (default one 4 KB page at DEV_TABLE: 512 DeviceIDs). */
  devices?: TableSpec;
  /** The collection table (default one 4 KB page at COLL_TABLE: 512 collections). */
  collections?: TableSpec;
  /** The vPE table (default: left to the driver, which allocates one when GITS_TYPER.Virtual = 1). */
  vpes?: TableSpec;
  /** Command queue pages of 4 KB at CMDQ (default 1: 128 slots). */
  queuePages?: number;
  /** Set GITS_CTLR.Enabled at the end of `init` (default true). */
  enable?: boolean;
}

/** `ItsDriver.init` options for the tests' fixed layout. */
export function layout(o: LayoutOptions = {}): ItsInitOptions {
  return {
    tables: { devices: o.devices ?? { base: DEV_TABLE }, collections: o.collections ?? { base: COLL_TABLE }, vpes: o.vpes },
    queue: CMDQ,
    queueBytes: (o.queuePages ?? 1) * 0x1000,
    enable: o.enable,
  };
}

let nextEntry = 0x7000_0000;

/**
 * Runs `fn` as a program on PE `pe` at EL2 until it ends (it is followed by PSCI CPU_OFF), then
 * returns. Throws if it did not end within `limit` cycles.
 */
export function run(rig: { readonly m: Machine }, fn: () => Program<unknown>, opts: { pe?: number; limit?: number } = {}): void {
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

/** Reads the 8-byte little-endian word at `pa` from RAM (test inspection of ITS tables). */
export function peek64(rig: ItsRig, pa: number): bigint {
  return rig.m.bus.memory.read64(pa);
}
