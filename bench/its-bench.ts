/**
 * ITS command throughput: a long stream of MAPTI / INT / DISCARD triples (map an event to an
 * LPI, make it pending, unmap it and clear it), over `EVENTS` events of one device, on a real
 * GIC (a 1-PE board from gic/board.ts: distributor, redistributor with LPIs enabled, ITS) set up
 * by the hypervisor's own host GIC and ITS drivers running on PE 0 at EL2.
 *
 * Two ways of feeding the stream:
 * - "engine": the host writes each batch of commands straight into the command queue in
 *   simulated RAM and advances GITS_CWRITER through the bus; only `m.run` (the ITS fetching,
 *   decoding, executing and retiring the commands) is timed;
 * - "driver": a program on PE 0 (the driver library's `ItsDriver`, drivers/its.ts) writes each command with four
 *   8-byte STRs, advances GITS_CWRITER when the queue is full and polls GITS_CREADR, as the
 *   hypervisor does at boot; the whole program is timed.
 */
import { type AccessAttrs } from '../core/bus.js';
import type { Machine } from '../core/machine.js';
import { smc, type Program } from '../core/ops.js';
import { PSCI } from '../core/psci.js';
import { createBoard } from '../gic/board.js';
import type { GicConfig } from '../gic/config.js';
import { allocLpiTables, configureLpi } from '../drivers/lpi.js';
import type { Gic } from '../gic/gic.js';
import { ItsCmd, type CommandWords } from '../gic/its/commands.js';
import { COMMAND_BYTES, GITS, GITS_CWRITER } from '../gic/its/its-registers.js';
import { PhysHeap } from '../drivers/heap.js';
import { hostCpuInit, hostDistributorInit } from '../hypervisor/host-gic.js';
import { ItsDriver } from '../drivers/its.js';
import { LockStats, Spinlock } from '../drivers/spinlock.js';
import { load1 } from './host.js';
import { fastest } from './stats.js';

export type ItsFeed = 'engine' | 'driver';

/** Events the stream cycles over (one device, 2^10 events, LPIs 8192..9215 enabled). */
const EVENTS = 1024;
const EVENT_BITS = 10;
const DEVICE = 1;
const HEAP_PA = 0x4100_0000;
const HEAP_SIZE = 0x0f00_0000;
/** The hypervisor driver's queue is 64 KB: 2048 slots, one kept free. */
const QUEUE_SLOTS = 2048;
const PE_ATTRS: AccessAttrs = { requester: 'pe', id: 0 };

export interface ItsSample {
  readonly commands: number;
  readonly hostMs: number;
  readonly cycles: number;
}

export interface ItsResult {
  readonly feed: ItsFeed;
  readonly commands: number;
  readonly samples: readonly ItsSample[];
  readonly commandsPerSec: number;
  readonly nsPerCommand: number;
  /** Simulated cycles per command (ITS latency: itsCommand + table accesses, and the driver's polling). */
  readonly cyclesPerCommand: number;
  readonly errors: number;
  readonly load: readonly [number, number];
}

interface Rig {
  readonly m: Machine;
  readonly cfg: GicConfig;
  readonly gic: Gic;
  readonly its: ItsDriver;
}

let nextEntry = 0x7000_0000;

/** Runs `fn` on PE 0 at EL2 until it powers the PE off; returns the host ms it took. */
function runOnPe0(m: Machine, fn: () => Program): number {
  const entry = nextEntry;
  nextEntry += 0x1000;
  m.code.install(entry, function* (): Program {
    yield* fn();
    yield smc(0, PSCI.CPU_OFF);
  });
  m.pes[0]!.powerOn(entry, 2, m.now);
  const t0 = performance.now();
  m.run(Infinity);
  return performance.now() - t0;
}

function makeRig(): Rig {
  const { m, config: cfg, gic } = createBoard({ cores: 1, gic: { version: 4, idBits: 16 } });
  const heap = new PhysHeap(HEAP_PA, HEAP_SIZE);
  const its = new ItsDriver(cfg.itsBase, heap, Spinlock.alloc(heap, 'its', new LockStats(), { trace: m.trace, now: () => m.now }));
  const tables = allocLpiTables(heap, cfg.idBits);
  const pend = heap.alloc(2 ** cfg.idBits / 8, 0x10000);
  runOnPe0(m, function* (): Program {
    yield* hostDistributorInit(cfg.gicdBase);
    yield* hostCpuInit(cfg.gicrBase, tables, pend);
    yield* its.init({ deviceIdBits: cfg.its.deviceIdBits, vpeIdBits: cfg.its.vpeIdBits });
    for (let e = 0; e < EVENTS; e++) yield* configureLpi(tables, 8192 + e, 0xa0, true);
    yield* its.send(0, [ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, cfg.gicrBase), V: 1 }), yield* its.mapDevice(DEVICE, EVENT_BITS)]);
  });
  if (gic.its.errorCount > 0) throw new Error(`ITS rig: ${gic.its.errorCount} command errors during set-up`);
  return { m, cfg, gic, its };
}

/** Command `i` of the stream. */
function command(i: number): CommandWords {
  const triple = Math.floor(i / 3);
  const e = triple % EVENTS;
  switch (i % 3) {
    case 0:
      return ItsCmd.MAPTI({ DeviceID: DEVICE, EventID: e, pINTID: 8192 + e, ICID: 0 });
    case 1:
      return ItsCmd.INT({ DeviceID: DEVICE, EventID: e });
    default:
      return ItsCmd.DISCARD({ DeviceID: DEVICE, EventID: e });
  }
}

/** The stream pre-encoded once (encoding is the driver's cost, not the ITS's, in the engine feed). */
function encodedStream(n: number): CommandWords[] {
  const out: CommandWords[] = [];
  for (let i = 0; i < Math.min(n, 3 * EVENTS); i++) out.push(command(i));
  return out;
}

function engineRep(rig: Rig, stream: readonly CommandWords[], n: number): ItsSample {
  const { m, gic, its } = rig;
  const mem = m.bus.memory;
  const q = gic.its.queue;
  const cwriterPa = rig.cfg.itsBase + GITS.CWRITER;
  let hostMs = 0;
  const c0 = m.now;
  for (let done = 0; done < n; ) {
    const batch = Math.min(QUEUE_SLOTS - 1, n - done);
    let off = q.cwriter;
    for (let i = 0; i < batch; i++) {
      const w = stream[(done + i) % stream.length]!;
      const pa = its.queue + off;
      mem.write64(pa, w[0]);
      mem.write64(pa + 8, w[1]);
      mem.write64(pa + 16, w[2]);
      mem.write64(pa + 24, w[3]);
      off = (off + COMMAND_BYTES) % (QUEUE_SLOTS * COMMAND_BYTES);
    }
    const t0 = performance.now();
    m.bus.write(cwriterPa, 8, GITS_CWRITER.encode({ Offset: off / COMMAND_BYTES }), PE_ATTRS);
    m.run(Infinity);
    hostMs += performance.now() - t0;
    if (q.creadr !== off || q.stalled) throw new Error(`ITS engine: queue did not drain (CREADR ${q.creadr}, CWRITER ${off}, stalled ${q.stalled})`);
    done += batch;
  }
  return { commands: n, hostMs, cycles: m.now - c0 };
}

function driverRep(rig: Rig, n: number): ItsSample {
  const { m, its } = rig;
  const c0 = m.now;
  const hostMs = runOnPe0(m, function* (): Program {
    // One send per queue's worth: the driver fills the queue under its lock, publishes, waits.
    for (let i = 0; i < n; i += QUEUE_SLOTS - 1) yield* its.send(0, Array.from({ length: Math.min(QUEUE_SLOTS - 1, n - i) }, (_, k) => command(i + k)));
  });
  return { commands: n, hostMs, cycles: m.now - c0 };
}

/** `reps` streams of `commands` commands each (a multiple of 3), fed the `feed` way; the best rep counts. */
export function runIts(feed: ItsFeed, commands: number, reps: number, around?: (measure: () => void) => void): ItsResult {
  const l0 = load1();
  const n = Math.max(3, Math.round(commands / 3) * 3);
  const rig = makeRig();
  const stream = encodedStream(n);
  // Warm-up: one short stream.
  if (feed === 'engine') engineRep(rig, stream, Math.min(n, 3 * EVENTS));
  else driverRep(rig, Math.min(n, 3 * EVENTS));
  const samples: ItsSample[] = [];
  const measure = (): void => {
    for (let r = 0; r < reps; r++) samples.push(feed === 'engine' ? engineRep(rig, stream, n) : driverRep(rig, n));
  };
  if (around !== undefined) around(measure);
  else measure();
  const best = fastest(samples, (s) => s.hostMs);
  return {
    feed,
    commands: n,
    samples,
    commandsPerSec: (best.commands / best.hostMs) * 1000,
    nsPerCommand: (best.hostMs * 1e6) / best.commands,
    cyclesPerCommand: best.cycles / best.commands,
    errors: rig.gic.its.errorCount,
    load: [l0, load1()],
  };
}
