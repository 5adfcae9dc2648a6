/**
 * The ITS driver (drivers/its.ts) on a machine with several ITSs: each driver sets up its own
 * ITS (its own tables and queue, at its own frames), learns GITS_TYPER.VMOVP, and on a GICv4.1
 * ITS reads its ITSList number from GITS_CTLR.ITS_Number; commands sent through one driver are
 * executed by that ITS only.
 */
import test from 'ava';
import { PhysHeap } from '../../drivers/heap.js';
import { ItsDriver } from '../../drivers/its.js';
import { createBoard } from '../../gic/board.js';
import { itsBaseOf } from '../../gic/config.js';
import { ItsCmd } from '../../gic/its/commands.js';
import { run } from '../helpers/its-rig.js';

test('three drivers for three ITSs: each its own queue and number; GITS_TYPER.VMOVP read back', (t) => {
  for (const [v41, vmovp] of [[true, false], [false, true]] as const) {
    const b = createBoard({ gic: { itsCount: 3, v41, its: { vmovp } } });
    const heap = new PhysHeap(0x4800_0000, 0x800_0000);
    // The platform's numbering (7 + n: wrong on purpose) is replaced by GITS_CTLR.ITS_Number on GICv4.1.
    const drivers = [0, 1, 2].map((n) => new ItsDriver(itsBaseOf(b.config, n), heap, null, 7 + n));
    run(b, function* () {
      for (const d of drivers) yield* d.init({ deviceIdBits: 8, vpeIdBits: 8 });
      yield* drivers[2]!.send(0, [yield* drivers[2]!.mapDevice(3, 2), ItsCmd.SYNC({ RDbase: 0 })]);
    });
    t.deepEqual(drivers.map((d) => d.number), v41 ? [0, 1, 2] : [7, 8, 9]);
    t.true(drivers.every((d) => d.vmovpOne === vmovp));
    t.deepEqual(new Set(drivers.map((d) => d.queue)).size, 3);
    t.deepEqual(b.gic.itsList.map((i) => i.commandsExecuted), [0, 0, 2]);
    t.deepEqual(b.gic.itsList.map((i) => i.errorCount), [0, 0, 0]);
  }
});
