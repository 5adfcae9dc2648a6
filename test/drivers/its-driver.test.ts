/**
 * The driver library's ITS driver (drivers/its.ts) on a real board: what `init` programs and
 * allocates (page size and two-level layout learnt from GITS_BASER read-back; level-2 pages made
 * when a command first names an ID), the command queue across its wrap, senders on two cores
 * under the ITS lock, and a stalled queue mended with Retry. Everything is checked where a user
 * sees it: the GITS registers, the tables in memory, the ITS's own record of what it executed.
 */
import test from 'ava';
import type { Machine } from '../../core/machine.js';
import { ldr, type Program } from '../../core/ops.js';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver } from '../../drivers/its.js';
import { LockStats, Spinlock } from '../../drivers/spinlock.js';
import { createBoard, type Board } from '../../gic/board.js';
import { redistributorSize } from '../../gic/config.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { BaserType, GITS, GITS_BASER } from '../../gic/its/its-registers.js';
import { ITS_L1E } from '../../gic/its/tables.js';
import { cpuOff } from '../helpers/harness.js';
import { run } from '../helpers/its-rig.js';

const HEAP = 0x4800_0000;
/** An address no RAM decodes. */
const NOWHERE = 0x1_0000_0000;

function board(cores = 1): { b: Board; heap: PhysHeap } {
  return { b: createBoard({ cores, trace: true }), heap: new PhysHeap(HEAP, 0x800_0000) };
}

function* readBaser(b: Board, n: number): Program<bigint> {
  return (yield ldr(b.config.itsBase + GITS.BASER + 8 * n, 8)) as bigint;
}

test('init: 64 KB pages and two-level device and vPE tables, as the ITS accepts them; a flat collection table', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  const baser: bigint[] = [];
  run(b, function* () {
    yield* its.init({ deviceIdBits: 16, vpeIdBits: 16 });
    for (let n = 0; n < 3; n++) baser.push(yield* readBaser(b, n));
  });
  const dev = GITS_BASER.decode(baser[0]!);
  t.is(dev.Valid, 1);
  t.is(dev.Type, BaserType.Devices);
  t.is(dev.Page_Size, 2, '64 KB pages');
  t.is(dev.Indirect, 1, 'two levels: 2^16 DeviceIDs of 8 bytes would be 512 KB flat');
  t.is(dev.Size, 0, 'one level-1 page: 8 entries of 8 KB-ID pages cover 2^16 IDs');
  t.is(GITS_BASER.decode(baser[1]!).Indirect, 0, 'collections stay flat');
  t.is(GITS_BASER.decode(baser[2]!).Type, BaserType.VPEs);
  t.is(GITS_BASER.decode(baser[2]!).Indirect, 1);
  t.deepEqual([...its.tables.keys()].sort(), [BaserType.Devices, BaserType.VPEs, BaserType.Collections].sort());
  t.is(its.tables.get(BaserType.Devices)!.ids, 2 ** 16);
  t.is(its.deviceIdBits, 16);
});

test('twoLevel: false and a 4 KB page preference give a flat table of the size the IDs need', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  let dev = 0n;
  run(b, function* () {
    yield* its.init({ deviceIdBits: 12, twoLevel: false, pageBytes: 0x1000 });
    dev = yield* readBaser(b, 0);
  });
  const d = GITS_BASER.decode(dev);
  t.is(d.Indirect, 0);
  t.is(d.Page_Size, 0);
  t.is(d.Size + 1, (2 ** 12 * 8) / 0x1000, '4096 DeviceIDs x 8 bytes = 8 pages of 4 KB');
  t.is(its.tables.get(BaserType.Devices)!.ids, 2 ** 12);
});

test('a two-level table gets the level-2 page of a DeviceID when MAPD first names it, and its level-1 entry in memory', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  const rd = b.config.gicrBase;
  run(b, function* () {
    yield* its.init({ deviceIdBits: 16 });
    const cmds = [yield* its.mapDevice(5, 4), yield* its.mapDevice(6, 4), yield* its.mapDevice(9000, 4)];
    yield* its.send(0, [...cmds, ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd), V: 1 }), ItsCmd.MAPTI({ DeviceID: 9000, EventID: 3, pINTID: 8200, ICID: 0 })]);
  });
  const dt = its.tables.get(BaserType.Devices)!;
  const perPage = dt.pageBytes / dt.entryBytes; // 8192 DeviceIDs per 64 KB level-2 page
  const mem = b.m.bus.memory;
  const l1 = (i: number) => ITS_L1E.decode(mem.read64(dt.base + 8 * i));
  t.is(l1(0).Valid, 1, 'DeviceIDs 5 and 6 share the first level-2 page');
  t.is(l1(Math.floor(9000 / perPage)).Valid, 1, 'DeviceID 9000 has its own');
  t.is(l1(2).Valid, 0, 'no page for IDs no command named');
  t.not(l1(0).PA, l1(1).PA);
  // The ITS wrote the DTE of DeviceID 9000 into that page, and it executed everything.
  const dte = mem.read64(l1(1).PA * 0x1000 + (9000 % perPage) * dt.entryBytes);
  t.is(Number(dte & 1n), 1, 'DTE Valid');
  t.is(b.gic.its.errorCount, 0);
  t.is(b.gic.its.commandsExecuted, 5);
});

test('commands fill the queue and wrap around it: every one executed, in order, none lost', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  const rd = b.config.gicrBase;
  // A 4 KB queue holds 127 commands (one slot stays free); send 3 x 100.
  run(b, function* () {
    yield* its.init({ queueBytes: 0x1000 });
    yield* its.send(0, [yield* its.mapDevice(1, 8), ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd), V: 1 })]);
    for (let batch = 0; batch < 3; batch++) {
      yield* its.send(0, Array.from({ length: 100 }, (_, i) => ItsCmd.MAPTI({ DeviceID: 1, EventID: i, pINTID: 8192 + batch * 100 + i, ICID: 0 })));
    }
  });
  t.is(b.gic.its.commandsExecuted, 302);
  t.is(b.gic.its.errorCount, 0);
  t.is(its.commands, 302);
  t.is(its.writeOffset, (302 * 32) % 0x1000, 'the write offset wrapped twice');
  // The last batch's mappings are in place: EventID 99 translates to the last LPI.
  const maptis = b.m.trace.of('its-command').filter((x) => x.command === 'MAPTI');
  t.is(maptis.length, 300);
  t.deepEqual(maptis.slice(-1).map((x) => x.fields['pINTID']), [8192 + 299]);
});

/** Cores 0 and 1 each send 20 batches of 5 MAPTIs for their own device at once; returns what the ITS executed. */
function twoSenders(withLock: boolean): { b: Board; its: ItsDriver; stats: LockStats; done: number } {
  const { b, heap } = board(2);
  const m: Machine = b.m;
  const stats = new LockStats();
  const lock = withLock ? Spinlock.alloc(heap, 'its', stats, { trace: m.trace, now: () => m.now }) : null;
  const its = new ItsDriver(b.config.itsBase, heap, lock);
  const rd = (c: number) => b.config.gicrBase + c * redistributorSize(b.config.version);
  run(b, function* () {
    yield* its.init({ queueBytes: 0x1000 });
    yield* its.send(0, [yield* its.mapDevice(1, 8), yield* its.mapDevice(2, 8), ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd(0)), V: 1 }), ItsCmd.MAPC({ ICID: 1, RDbase: its.rdbase(1, rd(1)), V: 1 })]);
  });
  const r = { b, its, stats, done: 0 };
  for (const core of [0, 1]) {
    const entry = 0x7100_0000 + core * 0x1000;
    m.code.install(entry, function* () {
      for (let k = 0; k < 20; k++) {
        yield* its.send(core, Array.from({ length: 5 }, (_, i) => ItsCmd.MAPTI({ DeviceID: core + 1, EventID: k * 5 + i, pINTID: 8192 + core * 1000 + k * 5 + i, ICID: core })));
      }
      r.done++;
      yield* cpuOff();
    });
    m.pes[core]!.powerOn(entry, 2, m.now);
  }
  m.runUntilQuiescent(1e10);
  return r;
}

const maptisOf = (b: Board, d: number) => b.m.trace.of('its-command').filter((x) => x.command === 'MAPTI' && x.fields['DeviceID'] === d).length;

test('two cores sending at once under the ITS lock: every command executed once', (t) => {
  const { b, stats, done } = twoSenders(true);
  t.is(done, 2);
  t.is(b.gic.its.commandsExecuted, 4 + 200);
  t.is(b.gic.its.errorCount, 0);
  t.is(maptisOf(b, 1), 100);
  t.is(maptisOf(b, 2), 100);
  t.is(stats.acquisitions, 41);
});

test('a command the ITS stalls on (a table fault) is replaced with a SYNC and the queue resumed with Retry: later commands run', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  const rd = b.config.gicrBase;
  run(b, function* () {
    yield* its.init();
    yield* its.send(0, [
      ItsCmd.MAPD({ DeviceID: 7, Size: 3, ITT_addr: NOWHERE, V: 1 }), // an ITT no RAM decodes
      ItsCmd.MAPC({ ICID: 0, RDbase: its.rdbase(0, rd), V: 1 }),
      ItsCmd.MAPTI({ DeviceID: 7, EventID: 1, pINTID: 8300, ICID: 0 }), // writing its ITE faults: the queue stalls
      yield* its.mapDevice(2, 4),
      ItsCmd.MAPTI({ DeviceID: 2, EventID: 1, pINTID: 8301, ICID: 0 }),
    ]);
  });
  t.is(its.stalls, 1);
  const e = b.gic.its.errors;
  t.is(e.length, 1);
  t.is(e[0]!.command, 'MAPTI');
  t.false(b.gic.its.queue.stalled);
  const cmds = b.m.trace.of('its-command').map((x) => `${x.command} ${x.result}`);
  t.deepEqual(cmds, ['MAPD done', 'MAPC done', 'MAPTI stalled', 'SYNC done', 'MAPD done', 'MAPTI done']);
});

test('mapDevice refuses what the ITS would refuse: a DeviceID beyond the table, more EventID bits than GITS_TYPER gives', (t) => {
  const { b, heap } = board();
  const its = new ItsDriver(b.config.itsBase, heap);
  run(b, function* () {
    yield* its.init({ deviceIdBits: 8 });
  });
  t.throws(() => run(b, function* () {
    yield* its.mapDevice(256, 4);
  }), { message: /DeviceID 256 is beyond the device table/ });
  t.throws(() => run(b, function* () {
    yield* its.mapDevice(1, its.eventIdBits + 1);
  }), { message: /EventID bits/ });
});
